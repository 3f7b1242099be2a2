//! The guest side of `scripts/fuzz-mount`: damaged images mounted, walked, changed, unmounted
//! and checked, many in one process (under TCG every program started costs a tenth of a second
//! or more).
//!
//! `fstest fuzz run SEEDS FIRST COUNT BASE DEV MNT OUT` takes images FIRST.. FIRST+COUNT-1. Image
//! `i` is case `BASE + i` of seed `i mod n` of the `n` seed images in SEEDS (sorted by name),
//! made by the mutator of `ferrite-fuzz` (the image `ferrite-fuzz make` makes) and written to DEV; every 25th image (`i mod 25 = 24`) is instead
//! a seed as it is, the control: it must mount, walk and change without a single error and fsck
//! clean, so that an image that left state behind shows in the next control. Each image:
//! 1. a mark `fuzz-mount: image I: SEED CASE` in the kernel log (the host scans the log of each
//!    image apart) and `I` in `OUT/progress` (the host's watchdog: an image that stops making
//!    progress is a hang);
//! 2. mount read-write, or read-only when that is refused, or neither: refused, which must be
//!    `EUCLEAN` or `EINVAL`;
//! 3. the walk: every name (readdir, `lstat`, `readlink`, reads of every regular file, a read
//!    through a mapping in a child process, which may die of `SIGBUS`), bounded in names, depth
//!    and bytes;
//! 4. read-write mounts: changes (create, write, truncate, rename, unlink, a store through a
//!    mapping, and a rename, truncate and unlink of files the image had);
//! 5. unmount, and `fsck -n` of the device (in this process, through the tools' library).
//!
//! Every system call must succeed or fail with `EUCLEAN` or `EIO` (the changes also with
//! `EROFS` once the filesystem stopped writing, or `ENOSPC`). One line per image goes to
//! `OUT/results.tsv`: index, seed, case, outcome (`refused`, `rw`, `ro`, with `+euclean` when a
//! call met damage), verdict (`ok` or `FAIL: why`), milliseconds, details, and the mutation.

use crate::mmap::Map;
use crate::sys::{self, Errno, Res};
use ferrite_fuzz::catalog::Catalog;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The walk's bounds: names, directory depth, bytes read per file and in all.
const MAX_NAMES: usize = 1000;
const MAX_DEPTH: usize = 64;
const MAX_FILE_BYTES: u64 = 256 << 10;
const MAX_TOTAL_BYTES: u64 = 4 << 20;
/// Every how many images a control comes.
const CONTROL_EVERY: u64 = 25;

/// What the calls on one image met.
#[derive(Default)]
struct Outcome {
    names: usize,
    files: usize,
    bytes: u64,
    sigbus: usize,
    /// Calls that failed with an allowed errno, by errno.
    errors: BTreeMap<String, usize>,
    /// Calls that failed in a way that is a failure of the filesystem.
    bad: Vec<String>,
}

impl Outcome {
    /// Records `r` of call `what`: an allowed error is counted, any other is a failure.
    fn check<T>(&mut self, what: &str, r: Res<T>, allowed: &[i32]) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) if allowed.contains(&e.0) => {
                *self.errors.entry(e.name()).or_default() += 1;
                None
            }
            Err(e) => {
                if self.bad.len() < 5 {
                    self.bad.push(format!("{what}: {e}"));
                }
                None
            }
        }
    }

    fn damaged(&self) -> bool {
        self.errors.contains_key("EUCLEAN") || self.errors.contains_key("EIO") || self.sigbus > 0
    }

    fn errors(&self) -> String {
        if self.errors.is_empty() {
            return "no errors".into();
        }
        let v: Vec<String> = self
            .errors
            .iter()
            .map(|(e, n)| format!("{n} {e}"))
            .collect();
        v.join(" ")
    }
}

/// Errors a damaged filesystem may give a call that reads.
const READ_ERRS: &[i32] = &[libc::EUCLEAN, libc::EIO];
/// And a lookup: the VFS itself refuses a directory entry that names a directory which already
/// has a name elsewhere (`d_splice_alias`), as it would on any filesystem.
const LOOKUP_ERRS: &[i32] = &[libc::EUCLEAN, libc::EIO, libc::ELOOP];
/// And a call that changes it.
const WRITE_ERRS: &[i32] = &[libc::EUCLEAN, libc::EIO, libc::EROFS, libc::ENOSPC];

fn kmsg(line: &str) {
    if let Ok(mut f) = std::fs::OpenOptions::new().write(true).open("/dev/kmsg") {
        let _ = f.write_all(format!("<5>{line}\n").as_bytes());
    }
}

/// Drops the block device's page cache of `dev`: the DAX mount writes the media directly, so
/// what an earlier write through the cache left there is stale.
fn flush_bdev(dev: &Path) -> Result<(), String> {
    let f = File::open(dev).map_err(|e| format!("{}: {e}", dev.display()))?;
    // BLKFLSBUF: _IO(0x12, 97).
    sys::ioctl_none(&f, 0x1261).map_err(|e| format!("BLKFLSBUF {}: {e}", dev.display()))
}

/// Writes `img` at the start of `dev`, bypassing and then dropping the page cache.
fn write_image(dev: &Path, img: &[u8]) -> Result<(), String> {
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(dev)
        .map_err(|e| format!("{}: {e}", dev.display()))?;
    f.write_all_at(img, 0)
        .and_then(|_| f.sync_all())
        .map_err(|e| format!("{}: write: {e}", dev.display()))?;
    flush_bdev(dev)
}

/// Reads up to `n` bytes at `off` of a regular file, in chunks.
fn read_file(o: &mut Outcome, p: &Path, budget: &mut u64) {
    let f = o.check(
        &format!("open {}", p.display()),
        sys::open(p, libc::O_RDONLY | libc::O_NOFOLLOW, 0),
        READ_ERRS,
    );
    let Some(f) = f else { return };
    o.files += 1;
    let mut buf = vec![0u8; 64 << 10];
    let mut off = 0u64;
    while off < MAX_FILE_BYTES && *budget > 0 {
        let r = f.read_at(&mut buf, off).map_err(Errno::from);
        match o.check(&format!("read {} at {off}", p.display()), r, READ_ERRS) {
            Some(0) | None => break,
            Some(n) => {
                off += n as u64;
                o.bytes += n as u64;
                *budget = budget.saturating_sub(n as u64);
            }
        }
    }
}

/// Reads the first pages of `p` through a shared mapping, in a child (a mapping of a damaged
/// file may raise SIGBUS).
fn read_mapped(o: &mut Outcome, p: &Path, size: u64) {
    let Some(f) = o.check(
        &format!("open {}", p.display()),
        sys::open(p, libc::O_RDONLY, 0),
        READ_ERRS,
    ) else {
        return;
    };
    let len = size.clamp(1, 64 << 10) as usize;
    let m = Map::new(&f, len, libc::PROT_READ, libc::MAP_SHARED);
    let Some(m) = o.check(&format!("mmap {}", p.display()), m, READ_ERRS) else {
        return;
    };
    match crate::mmap::in_child(|| {
        let mut sum = 0u32;
        for off in (0..len).step_by(512) {
            sum = sum.wrapping_add(u32::from(m.rd(off)));
        }
        i32::from(sum == u32::MAX)
    }) {
        Ok(crate::mmap::Ended::Exit(_)) => {}
        Ok(crate::mmap::Ended::Signal(libc::SIGBUS)) => o.sigbus += 1,
        Ok(e) => o
            .bad
            .push(format!("read through a mapping of {}: {e}", p.display())),
        Err(e) => o.bad.push(e),
    }
}

/// Walks the tree under `root`, breadth first, within the bounds. Returns some regular files and
/// directories it saw, for the changes.
fn walk(o: &mut Outcome, root: &Path) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let mut budget = MAX_TOTAL_BYTES;
    let mut files = Vec::new();
    let mut dirs = Vec::new();
    let mut queue = std::collections::VecDeque::from([(root.to_path_buf(), 0usize)]);
    let mut mapped = false;
    while let Some((dir, depth)) = queue.pop_front() {
        let d = o.check(
            &format!("opendir {}", dir.display()),
            sys::Dir::open(&dir),
            READ_ERRS,
        );
        let Some(mut d) = d else { continue };
        loop {
            let e = o.check(
                &format!("readdir {}", dir.display()),
                d.next_entry(),
                READ_ERRS,
            );
            let Some(Some(e)) = e else { break };
            if e.name == b"." || e.name == b".." {
                continue;
            }
            o.names += 1;
            if o.names > MAX_NAMES {
                return (files, dirs);
            }
            let p = dir.join(std::ffi::OsStr::from_bytes(&e.name));
            let Some(st) = o.check(
                &format!("lstat {}", p.display()),
                sys::lstat(&p),
                LOOKUP_ERRS,
            ) else {
                continue;
            };
            match st.st_mode & libc::S_IFMT {
                libc::S_IFDIR => {
                    if depth < MAX_DEPTH {
                        queue.push_back((p.clone(), depth + 1));
                    }
                    dirs.push(p);
                }
                libc::S_IFREG => {
                    read_file(o, &p, &mut budget);
                    if !mapped && st.st_size > 0 {
                        mapped = true;
                        read_mapped(o, &p, st.st_size as u64);
                    }
                    files.push(p);
                }
                libc::S_IFLNK => {
                    let r = std::fs::read_link(&p).map_err(Errno::from);
                    o.check(&format!("readlink {}", p.display()), r, READ_ERRS);
                }
                _ => {}
            }
        }
    }
    (files, dirs)
}

/// The changes on a read-write mount.
fn change(o: &mut Outcome, root: &Path, files: &[PathBuf], dirs: &[PathBuf]) {
    let new = root.join("fuzz.new");
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(&new)
        .map_err(Errno::from);
    let made = o.check("create fuzz.new", f, WRITE_ERRS);
    if let Some(f) = &made {
        let r = f.write_all_at(&[0x5a; 9000], 0).map_err(Errno::from);
        o.check("write fuzz.new", r, WRITE_ERRS);
        o.check(
            "truncate fuzz.new",
            f.set_len(3000).map_err(Errno::from),
            WRITE_ERRS,
        );
        o.check(
            "fsync fuzz.new",
            f.sync_all().map_err(Errno::from),
            WRITE_ERRS,
        );
        if let Some(m) = o.check("mmap fuzz.new", Map::shared(f, 4096), WRITE_ERRS) {
            match crate::mmap::in_child(|| {
                m.wr(100, 7);
                0
            }) {
                Ok(crate::mmap::Ended::Exit(0)) => {}
                Ok(crate::mmap::Ended::Signal(libc::SIGBUS)) => o.sigbus += 1,
                Ok(e) => o
                    .bad
                    .push(format!("store through a mapping of fuzz.new: {e}")),
                Err(e) => o.bad.push(e),
            }
        }
    }
    let moved = root.join("fuzz.renamed");
    if made.is_some()
        && o.check("rename fuzz.new", sys::rename(&new, &moved), WRITE_ERRS)
            .is_some()
    {
        o.check("unlink fuzz.renamed", sys::unlink(&moved), WRITE_ERRS);
    }
    // What the image had: a file renamed into the root, truncated, and another unlinked; a file
    // made and removed in one of its directories.
    if let Some(a) = files.first() {
        let to = root.join("fuzz.moved");
        if o.check("rename an old file", sys::rename(a, &to), WRITE_ERRS)
            .is_some()
        {
            let r =
                sys::open(&to, libc::O_WRONLY, 0).and_then(|f| f.set_len(1).map_err(Errno::from));
            o.check("truncate an old file", r, WRITE_ERRS);
        }
    }
    if let Some(b) = files.get(1) {
        o.check("unlink an old file", sys::unlink(b), WRITE_ERRS);
    }
    if let Some(d) = dirs.first() {
        let p = d.join("fuzz.in-dir");
        let r = sys::open(&p, libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY, 0o600);
        if o.check("create in an old directory", r.map(drop), WRITE_ERRS)
            .is_some()
        {
            o.check("unlink in an old directory", sys::unlink(&p), WRITE_ERRS);
        }
    }
}

/// One image, after it was written to `dev`: its outcome word and details, or why it failed.
fn one(dev: &Path, mnt: &Path, control: bool) -> (String, Result<String, String>) {
    let mut o = Outcome::default();
    let t = Instant::now();
    let rw = sys::mount(dev, mnt, c"ferrite", 0, c"dax");
    let mounted = match rw {
        Ok(()) => Some("rw"),
        Err(e) => match sys::mount(dev, mnt, c"ferrite", libc::MS_RDONLY, c"dax") {
            Ok(()) => Some("ro"),
            Err(e2) => {
                if control {
                    return (
                        "refused".into(),
                        Err(format!("the control was refused: {e}")),
                    );
                }
                for x in [e, e2] {
                    if x.0 != libc::EUCLEAN && x.0 != libc::EINVAL {
                        return (
                            "refused".into(),
                            Err(format!("mount refused with {x}, not EUCLEAN or EINVAL")),
                        );
                    }
                }
                None
            }
        },
    };
    let mount_ms = t.elapsed().as_millis();
    let mut detail = String::new();
    let mut word = String::from("refused");
    if let Some(how) = mounted {
        let (files, dirs) = walk(&mut o, mnt);
        if how == "rw" {
            change(&mut o, mnt, &files, &dirs);
        }
        if let Err(e) = sys::umount(mnt) {
            o.bad.push(format!("umount: {e}"));
            // Leaves nothing mounted for the next image, whatever it costs.
            let _ = sys::umount2_detach(mnt);
        }
        word = format!("{how}{}", if o.damaged() { "+euclean" } else { "" });
        detail = format!(
            "{} names, {} files, {} bytes, {}{}",
            o.names,
            o.files,
            o.bytes,
            o.errors(),
            if o.sigbus > 0 {
                format!(", {} SIGBUS", o.sigbus)
            } else {
                String::new()
            }
        );
    }
    if control && (mounted != Some("rw") || !o.errors.is_empty() || o.sigbus > 0) {
        o.bad.push(format!(
            "the control image mounted {word} with {}",
            o.errors()
        ));
    }
    if let Err(e) = flush_bdev(dev) {
        o.bad.push(e);
    }
    // fsck -n: it may find damage (it is damaged), but it must finish and say so.
    let mut out = Vec::new();
    let opts = ferrite_tools::fsck::FsckOptions {
        mode: ferrite_tools::fsck::Mode::Check,
        force: true,
    };
    let t = Instant::now();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        ferrite_tools::fsck::fsck(dev, &opts, &mut out)
    }));
    let fsck_ms = t.elapsed().as_millis();
    match r {
        Ok(rep) => {
            detail.push_str(&format!(
                "; mount: {mount_ms} ms; fsck -n: {fsck_ms} ms, exit {}",
                rep.exit
            ));
            if control && rep.exit != 0 {
                o.bad
                    .push(format!("fsck -n of the control: exit {}", rep.exit));
            }
        }
        Err(_) => o.bad.push("fsck -n panicked".into()),
    }
    if o.bad.is_empty() {
        (word, Ok(detail))
    } else {
        (word, Err(format!("{} ({detail})", o.bad.join("; "))))
    }
}

/// `fstest fuzz run`: see the module's documentation.
pub fn run(
    seeds: &Path,
    first: u64,
    count: u64,
    base: u64,
    dev: &Path,
    mnt: &Path,
    out: &Path,
) -> Result<bool, String> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(seeds)
        .map_err(|e| format!("{}: {e}", seeds.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "img"))
        .collect();
    names.sort();
    if names.is_empty() {
        return Err(format!("no seed images (*.img) in {}", seeds.display()));
    }
    // The seeds are read once, into memory, with the catalog of their structures.
    let mut imgs = Vec::new();
    for p in &names {
        let img = std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?;
        let cat = Catalog::of(&img).map_err(|e| format!("{}: {e}", p.display()))?;
        imgs.push((img, cat));
    }
    std::fs::create_dir_all(mnt).map_err(|e| format!("{}: {e}", mnt.display()))?;
    let mut results = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(out.join("results.tsv"))
        .map_err(|e| format!("results.tsv: {e}"))?;
    let mut all_ok = true;
    for i in first..first.saturating_add(count) {
        let control = i % CONTROL_EVERY == CONTROL_EVERY - 1;
        let k = if control {
            (i / CONTROL_EVERY) as usize % names.len()
        } else {
            i as usize % names.len()
        };
        let seed = names[k]
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let case = if control {
            "control".to_string()
        } else {
            (base + i).to_string()
        };
        std::fs::write(out.join("progress"), format!("{i}\n"))
            .map_err(|e| format!("progress: {e}"))?;
        kmsg(&format!("fuzz-mount: image {i}: {seed} {case}"));
        let t = Instant::now();
        let (seed_img, cat) = &imgs[k];
        let (desc, made) = if control {
            ("the seed as it is".to_string(), write_image(dev, seed_img))
        } else {
            let (img, desc) = ferrite_fuzz::case_of(cat, seed_img, base + i);
            (desc, write_image(dev, &img))
        };
        let (word, verdict) = match made {
            Ok(()) => one(dev, mnt, control),
            Err(e) => ("none".into(), Err(format!("making the image: {e}"))),
        };
        let ms = t.elapsed().as_millis();
        let (v, detail) = match verdict {
            Ok(d) => ("ok".to_string(), d),
            Err(e) => {
                all_ok = false;
                (format!("FAIL: {e}"), String::new())
            }
        };
        let line = format!("{i}\t{seed}\t{case}\t{word}\t{v}\t{ms}\t{detail}\t{desc}\n");
        results
            .write_all(line.as_bytes())
            .map_err(|e| format!("results.tsv: {e}"))?;
        kmsg(&format!("fuzz-mount: image {i} done"));
    }
    Ok(all_ok)
}
