//! The host fuzz target: seeded mutations of every seed image, each run through fsck -n,
//! recovery as mount does it, the format code's walks, ferrite-dump, fsck -y and fsck -n
//! (`ferrite_fuzz::check`), with no panic, a bound on the time of each case, and the promises
//! `check` lists. `FERRITE_FUZZ_CASES` sets the cases per seed (default 200, 2,000 in make check-full; a fifth of them for `bigdir`,
//! whose cases take four times as long),
//! `FERRITE_FUZZ_FIRST` the first case number (default 0).

use ferrite_fuzz::catalog::Catalog;
use ferrite_fuzz::check::check;
use ferrite_fuzz::seeds::{build, SEEDS};
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

/// The longest a case may take (a few milliseconds is usual).
const CASE_LIMIT: Duration = Duration::from_secs(1);

fn seed(name: &str) -> Vec<u8> {
    match build(name) {
        Some(Ok(img)) => img,
        Some(Err(e)) => panic!("seed {name}: {e}"),
        None => panic!("no seed {name}"),
    }
}

#[test]
fn seeds_are_deterministic_clean_and_hold_what_they_promise() {
    for name in SEEDS {
        let a = seed(name);
        assert!(a == seed(name), "seed {name} differs between two builds");
        assert!(a.len() <= 4 << 20, "seed {name} is {} bytes", a.len());
        let o = check(&a).unwrap_or_else(|e| panic!("seed {name}: {e}"));
        assert_eq!(o.fsck_n, 0, "seed {name} is not clean");
        assert!(o.mounted && o.walk_problems.is_empty(), "{name}: {o:?}");
        let c = Catalog::of(&a).unwrap();
        assert_eq!(c.name, name);
        match name {
            "tree" => {
                assert!(
                    c.dir_nodes.iter().any(|n| n.level >= 1),
                    "no multi-level directory"
                );
                assert!(c.inodes.len() > 50, "{} inodes", c.inodes.len());
            }
            "files" => {
                assert!(
                    c.ext_nodes.iter().any(|n| n.level >= 1),
                    "no multi-level extent tree"
                );
                assert!(!c.symlink_blocks.is_empty());
                for t in [0o020000, 0o060000, 0o010000, 0o140000] {
                    assert!(!c.inodes_of(t).is_empty(), "no inode of type {t:o}");
                }
            }
            "journal" => {
                assert!(c.replay_seq >= 3, "{} transactions replayed", c.replay_seq);
                // The torn transaction follows what is replayed.
                assert!(c.records.iter().any(|r| r.pos >= c.replay_end));
            }
            "bigdir" => {
                // Internal nodes under an internal root: three levels.
                assert!(
                    c.dir_nodes.iter().any(|n| n.level >= 2),
                    "no three-level directory"
                );
            }
            "orphans" => {
                assert!(c.inodes.iter().filter(|i| i.mode != 0).count() > 4);
                assert!(c.records.iter().any(|r| &r.magic == b"FJRD"));
                assert!(!c.records.iter().any(|r| &r.magic == b"FJRC"));
            }
            "xattrs" => {
                assert_eq!(c.xattr_blocks.len(), 3, "{:?}", c.xattr_blocks);
                assert_eq!(c.inline_xattrs.len(), 3, "{:?}", c.inline_xattrs);
                assert!(c.xattr_blocks.iter().any(|(_, _, v)| v.len() == 3));
            }
            _ => unreachable!(),
        }
    }
}

#[test]
fn the_same_case_is_the_same_image() {
    let s = seed("files");
    for n in [0u64, 1, 17, 999_999] {
        let (a, la) = ferrite_fuzz::case(&s, n).unwrap();
        let (b, lb) = ferrite_fuzz::case(&s, n).unwrap();
        assert!(a == b && la == lb);
        assert!(la.starts_with(&format!("files {n}: ")), "{la}");
        assert!(a != s, "case {n} changed nothing: {la}");
    }
}

struct Failure {
    line: String,
    why: String,
}

type SeedRun = (Vec<Failure>, BTreeMap<String, u64>, (Duration, String));

fn run_seed(name: &str, cases: std::ops::Range<u64>) -> SeedRun {
    let s = seed(name);
    let cat = Catalog::of(&s).unwrap();
    let mut fails = Vec::new();
    let mut stats = BTreeMap::new();
    let mut slowest = (Duration::ZERO, String::new());
    for n in cases {
        let start = Instant::now();
        let (img, line) = ferrite_fuzz::case_of(&cat, &s, n);
        let r = catch_unwind(AssertUnwindSafe(|| check(&img)));
        let took = start.elapsed();
        if took > slowest.0 {
            slowest = (took, line.clone());
        }
        let why = match r {
            Ok(Ok(o)) => {
                *stats
                    .entry(format!(
                        "fsck -n {} / -y {} / {}",
                        o.fsck_n,
                        o.fsck_y,
                        if o.mounted { "mounts" } else { "refused" }
                    ))
                    .or_default() += 1;
                None
            }
            Ok(Err(e)) => Some(e),
            Err(p) => Some(format!(
                "panic: {}",
                p.downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default()
            )),
        };
        let why = why.or_else(|| {
            (took > CASE_LIMIT).then(|| format!("took {took:?}, more than {CASE_LIMIT:?}"))
        });
        if let Some(why) = why {
            fails.push(Failure { line, why });
        }
    }
    (fails, stats, slowest)
}

#[test]
fn mutated_images_break_no_promise() {
    let env = |name: &str, default: u64| -> u64 {
        std::env::var(name)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(default)
    };
    let cases = env("FERRITE_FUZZ_CASES", 200);
    let first = env("FERRITE_FUZZ_FIRST", 0);
    let start = Instant::now();
    // Two threads: the machine has two cores.
    let results: Vec<_> = std::thread::scope(|s| {
        let hs: Vec<_> = [
            &["tree", "journal"][..],
            &["files", "orphans", "bigdir"][..],
        ]
        .into_iter()
        .map(|group| {
            s.spawn(move || {
                group
                    .iter()
                    .map(|name| {
                        let n = if *name == "bigdir" { cases / 5 } else { cases };
                        (*name, run_seed(name, first..first + n))
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
        hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let mut all = Vec::new();
    for (name, (fails, stats, slowest)) in &results {
        eprintln!(
            "{name}: {} cases, slowest {:?} ({}), {stats:?}",
            stats.values().sum::<u64>() + fails.len() as u64,
            slowest.0,
            slowest.1
        );
        all.extend(fails.iter());
    }
    eprintln!(
        "{} cases in {:?}, {} failed",
        results
            .iter()
            .map(|(_, (f, st, _))| st.values().sum::<u64>() + f.len() as u64)
            .sum::<u64>(),
        start.elapsed(),
        all.len()
    );
    let report: Vec<String> = all
        .iter()
        .take(40)
        .map(|f| format!("{}\n    {}", f.line, f.why.replace('\n', "\n    ")))
        .collect();
    assert!(
        all.is_empty(),
        "{} cases failed:\n{}",
        all.len(),
        report.join("\n")
    );
}
