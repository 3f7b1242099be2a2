//! `fstest bigdir DIR N`: a directory of N empty files. Creates them (`f0000000`, ...), looks
//! each one up in a scattered order, reads the directory whole, then reads it again while
//! deleting every other file (by name order, a little ahead of and behind the reader), and
//! finally unlinks the rest. POSIX readdir under change: an entry neither added nor removed
//! during the reading is returned exactly once; a removed one at most once. Counts go to stdout,
//! the time of each phase to stderr.

use crate::sys::{self, Errno};
use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

fn name(i: u64) -> String {
    format!("f{i:07}")
}

/// The index of a name made by [`name`].
fn index(name: &[u8]) -> Option<u64> {
    std::str::from_utf8(name.strip_prefix(b"f")?)
        .ok()?
        .parse()
        .ok()
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// A step that visits every index of `0..n` once, in a scattered order: `i * step % n`.
fn scatter_step(n: u64) -> u64 {
    let mut step = (n / 2 + 7919).max(1);
    while gcd(step, n) != 1 {
        step += 1;
    }
    step
}

/// Times one phase on stderr.
struct Phase(&'static str, Instant);

impl Phase {
    fn start(what: &'static str) -> Self {
        Phase(what, Instant::now())
    }
}

impl Drop for Phase {
    fn drop(&mut self) {
        eprintln!("bigdir: {}: {:.2}s", self.0, self.1.elapsed().as_secs_f64());
    }
}

pub fn run(dir: &Path, n: u64) -> Result<bool, String> {
    let b = dir.join("bigdir");
    let at = |what: &str, i: u64, e: Errno| format!("{what} {}: {e}", b.join(name(i)).display());
    std::fs::create_dir(&b).map_err(|e| format!("mkdir {}: {e}", b.display()))?;
    let mut ok = true;

    {
        let _t = Phase::start("create");
        for i in 0..n {
            sys::open(
                b.join(name(i)),
                libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY,
                0o644,
            )
            .map_err(|e| at("create", i, e))?;
        }
    }
    println!("created: {n}");

    {
        let _t = Phase::start("lookup");
        let step = scatter_step(n);
        for k in 0..n {
            let i = ((k as u128 * step as u128) % n as u128) as u64;
            let st = sys::lstat(b.join(name(i))).map_err(|e| at("stat", i, e))?;
            if st.st_mode & libc::S_IFMT != libc::S_IFREG || st.st_size != 0 {
                println!("lookup {}: not an empty regular file", name(i));
                ok = false;
            }
        }
        // And some names that are not there.
        for i in (n..n + 100).chain([u64::from(u32::MAX)]) {
            if sys::lstat(b.join(name(i))).err() != Some(Errno(libc::ENOENT)) {
                println!("lookup {}: found, but never created", name(i));
                ok = false;
            }
        }
    }
    println!("looked up: {n}");

    {
        let _t = Phase::start("readdir");
        let mut seen = vec![0u32; n as usize];
        let mut others = 0;
        for e in sys::Dir::open(&b)
            .map_err(|e| format!("opendir: {e}"))?
            .read_all()
            .map_err(|e| format!("readdir: {e}"))?
        {
            match index(&e.name).filter(|&i| i < n) {
                Some(i) => seen[i as usize] += 1,
                None if e.name == b"." || e.name == b".." => {}
                None => others += 1,
            }
        }
        let missing = seen.iter().filter(|&&c| c == 0).count();
        let dup = seen.iter().filter(|&&c| c > 1).count();
        println!(
            "readdir: {} entries, {missing} missing, {dup} returned twice, {others} unknown",
            seen.iter().sum::<u32>()
        );
        ok &= missing == 0 && dup == 0 && others == 0;
    }

    {
        let _t = Phase::start("readdir while deleting");
        // Files with an even index go, one for each entry read, in a scattered order, so that
        // some are removed before the reader reaches them and some after.
        let evens = n.div_ceil(2);
        let step = scatter_step(evens);
        let mut next_delete = 0u64;
        let mut seen: HashMap<u64, u32> = HashMap::new();
        let mut others = 0;
        let mut d = sys::Dir::open(&b).map_err(|e| format!("opendir: {e}"))?;
        while let Some(e) = d.next_entry().map_err(|e| format!("readdir: {e}"))? {
            match index(&e.name).filter(|&i| i < n) {
                Some(i) => *seen.entry(i).or_default() += 1,
                None if e.name == b"." || e.name == b".." => {}
                None => others += 1,
            }
            if next_delete < evens {
                let i = 2 * ((next_delete as u128 * step as u128 % evens as u128) as u64);
                std::fs::remove_file(b.join(name(i))).map_err(|e| at("unlink", i, e.into()))?;
                next_delete += 1;
            }
        }
        drop(d);
        while next_delete < evens {
            let i = 2 * ((next_delete as u128 * step as u128 % evens as u128) as u64);
            std::fs::remove_file(b.join(name(i))).map_err(|e| at("unlink", i, e.into()))?;
            next_delete += 1;
        }
        let count = |i: u64| seen.get(&i).copied().unwrap_or(0);
        let kept_wrong = (0..n).filter(|i| i % 2 == 1 && count(*i) != 1).count();
        let removed_twice = (0..n).filter(|i| i % 2 == 0 && count(*i) > 1).count();
        let removed_seen = (0..n).filter(|i| i % 2 == 0 && count(*i) == 1).count();
        println!(
            "readdir while deleting: kept {} (not returned exactly once: {kept_wrong}), deleted {evens} (returned: {removed_seen}, twice: {removed_twice}), unknown {others}",
            n - evens
        );
        ok &= kept_wrong == 0 && removed_twice == 0 && others == 0;
    }

    {
        let _t = Phase::start("check and unlink");
        let names = sys::list(&b).map_err(|e| format!("readdir: {e}"))?;
        let want: Vec<String> = (0..n).filter(|i| i % 2 == 1).map(name).collect();
        if names != want {
            println!(
                "after deleting: {} names, {} expected",
                names.len(),
                want.len()
            );
            ok = false;
        }
        for i in (1..n).step_by(2) {
            std::fs::remove_file(b.join(name(i))).map_err(|e| at("unlink", i, e.into()))?;
        }
        let left = sys::list(&b).map_err(|e| format!("readdir: {e}"))?;
        if !left.is_empty() {
            println!("after unlinking all: {} names left", left.len());
            ok = false;
        }
        std::fs::remove_dir(&b).map_err(|e| format!("rmdir {}: {e}", b.display()))?;
    }
    println!("unlinked: {n}");
    println!("{}", if ok { "ok" } else { "FAILED" });
    Ok(ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scatter_visits_every_index_once() {
        for n in [1u64, 2, 3, 7919, 10_000, 15_838] {
            let step = scatter_step(n);
            let mut seen = vec![false; n as usize];
            for k in 0..n {
                let i = (k * step % n) as usize;
                assert!(!seen[i], "n={n}: {i} twice");
                seen[i] = true;
            }
        }
    }

    #[test]
    fn names_round_trip() {
        assert_eq!(index(name(42).as_bytes()), Some(42));
        assert_eq!(index(b"."), None);
    }
}
