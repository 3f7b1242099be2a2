//! `fstest limits DIR [--links]`: limits that legitimately differ between filesystems (largest
//! file, longest symlink, block size; with `--links`, the most hard links a file can have, which
//! takes 130,000 operations), printed for the record rather than compared: `fstest ops` stays
//! clear of them. What holds whatever the limits are is checked, and a line that breaks it is
//! marked `(expected ...)` and fails the run: the size limit is found and exceeds 4 GiB, a
//! one-byte write succeeds exactly below it and fails with `EFBIG` at and above it, names may be
//! 255 bytes, a 4095-byte symlink target is accepted and a 4096-byte one is refused with
//! `ENAMETOOLONG`, and the link probe either finds the limit or runs out of room without an error.

use crate::report::Report;
use crate::sys::{self, Errno, Res};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::Instant;

const TIB: u64 = 1 << 40;
/// Stop adding links here: past ext4's 65000, and cheap enough for a slow guest.
const LINK_PROBE_MAX: u64 = 66_000;

/// The largest size `ftruncate` accepts (the filesystem's `s_maxbytes`), by bisection.
fn max_file_size(f: &std::fs::File) -> Res<u64> {
    let (mut ok, mut too_big) = (0u64, i64::MAX as u64 + 1);
    while too_big - ok > 1 {
        let mid = ok + (too_big - ok) / 2;
        match f.set_len(mid) {
            Ok(()) => ok = mid,
            Err(e)
                if e.raw_os_error() == Some(libc::EFBIG)
                    || e.raw_os_error() == Some(libc::EINVAL) =>
            {
                too_big = mid
            }
            Err(e) => return Err(e.into()),
        }
    }
    f.set_len(0)?;
    Ok(ok)
}

/// How many links a file can have: the link count at which `link` says `EMLINK`, or `None` when
/// it had not by [`LINK_PROBE_MAX`].
fn max_links(dir: &Path) -> Res<Option<u64>> {
    let target = dir.join("target");
    std::fs::write(&target, b"")?;
    let mut n = 1;
    let mut limit = None;
    while n < LINK_PROBE_MAX {
        match std::fs::hard_link(&target, dir.join(format!("l{n}"))) {
            Ok(()) => n += 1,
            Err(e) if e.raw_os_error() == Some(libc::EMLINK) => {
                limit = Some(n);
                break;
            }
            Err(e) => return Err(e.into()),
        }
    }
    for i in 1..n {
        std::fs::remove_file(dir.join(format!("l{i}")))?;
    }
    std::fs::remove_file(&target)?;
    Ok(limit)
}

pub fn run(dir: &Path, links: bool) -> Result<bool, String> {
    let b = dir.join("limits");
    std::fs::create_dir(&b).map_err(|e| format!("mkdir {}: {e}", b.display()))?;
    let err = |e: Errno| format!("{}: {e}", b.display());
    let mut r = Report::default();
    let st = sys::fstatfs(&std::fs::File::open(&b).map_err(|e| err(e.into()))?).map_err(err)?;
    println!("statfs-bsize: {}", st.f_bsize);
    r.value("statfs-namelen", st.f_namelen, 255);

    let p = b.join("big");
    let f = sys::open(&p, libc::O_CREAT | libc::O_RDWR, 0o644).map_err(err)?;
    println!("st-blksize: {}", sys::fstat(&f).map_err(err)?.st_blksize);
    let max = match max_file_size(&f) {
        Ok(n) => {
            if n.abs_diff(16 * TIB) < TIB {
                println!(
                    "max-file-size: {n} (16 TiB {:+})",
                    n as i128 - (16 * TIB) as i128
                );
            } else {
                println!("max-file-size: {n}");
            }
            r.yes("max-file-size-above-4g", n > 4 << 30);
            Some(n)
        }
        Err(e) => {
            r.value("max-file-size", e, "a size");
            None
        }
    };
    for (name, off) in [
        ("16t-4097", 16 * TIB - 4097),
        ("16t-4096", 16 * TIB - 4096),
        ("16t-1", 16 * TIB - 1),
        ("16t", 16 * TIB),
        ("64t", 64 * TIB),
    ] {
        let res = f.write_all_at(b"x", off).map_err(Errno::from);
        let want = match max {
            Some(m) if off < m => "ok",
            Some(_) => "EFBIG",
            None => "ok or EFBIG, by the size limit",
        };
        r.step(&format!("write-1-byte-at-{name}"), res, want);
        f.set_len(0).map_err(|e| err(e.into()))?;
    }
    drop(f);
    std::fs::remove_file(&p).map_err(|e| err(e.into()))?;

    for (len, want) in [(4095, "ok"), (4096, "ENAMETOOLONG")] {
        let q = b.join(format!("sym{len}"));
        let res = std::os::unix::fs::symlink("s".repeat(len), &q).map_err(Errno::from);
        r.step(&format!("symlink-target-{len}"), res, want);
        let _ = std::fs::remove_file(&q);
    }

    if links {
        let t = Instant::now();
        match max_links(&b) {
            Ok(Some(n)) => println!("max-links: {n}"),
            Ok(None) => println!("max-links: at least {LINK_PROBE_MAX}"),
            Err(e) => r.value("max-links", e, "a count"),
        }
        eprintln!(
            "fstest limits: link probe took {:.1}s",
            t.elapsed().as_secs_f64()
        );
    }
    std::fs::remove_dir(&b).map_err(|e| err(e.into()))?;
    let (steps, unexpected) = r.summary();
    if !unexpected.is_empty() {
        eprintln!(
            "fstest limits: {} of {steps} checks unexpected: {}",
            unexpected.len(),
            unexpected.join(", ")
        );
    }
    Ok(unexpected.is_empty())
}
