//! `fstest enospc DIR`: fills the filesystem holding DIR and frees it again. First one file
//! written in 1 MiB chunks until ENOSPC (statfs must then show little free space, fsync must
//! work, the data must be intact, and unlinking the file must give all the space back), then
//! small files until ENOSPC (blocks or inodes), removed again. One `name: ok|FAIL` line per
//! check on stdout, the numbers (which differ between filesystems) on stderr.

use crate::sys::{self, Errno, Res};
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::{Duration, Instant};

const MIB: u64 = 1 << 20;
/// At most this many small files, in case the filesystem never runs out of inodes.
const SMALL_FILES_MAX: u64 = 2_000_000;
/// Small files per subdirectory.
const PER_DIR: u64 = 1000;

/// Free space and inodes, in bytes and inodes.
#[derive(Clone, Copy, Debug)]
struct Space {
    total: u64,
    free: u64,
    files: u64,
    ffree: u64,
}

fn space(root: &File) -> Res<Space> {
    sys::syncfs(root)?;
    let st = sys::fstatfs(root)?;
    let bs = st.f_frsize as u64;
    Ok(Space {
        total: st.f_blocks * bs,
        free: st.f_bfree * bs,
        files: st.f_files,
        ffree: st.f_ffree,
    })
}

/// Whether `a` and `b` are within 1% of `total` of each other.
fn close(a: u64, b: u64, total: u64) -> bool {
    a.abs_diff(b) <= total / 100
}

/// Polls statfs for a few seconds until free space and inodes are back to `before` (a
/// filesystem may release freed blocks a little after the unlink returns).
fn wait_freed(root: &File, before: Space) -> Res<(bool, Space)> {
    let t = Instant::now();
    loop {
        let now = space(root)?;
        let ok = close(now.free, before.free, before.total)
            && close(now.ffree, before.ffree, before.files);
        if ok || t.elapsed() > Duration::from_secs(10) {
            return Ok((ok, now));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Prints `name: ok` or `name: FAIL (why)`; returns `ok`.
fn report(name: &str, ok: bool, why: impl FnOnce() -> String) -> bool {
    if ok {
        println!("{name}: ok");
    } else {
        println!("{name}: FAIL ({})", why());
    }
    ok
}

/// Writes `buf` at the end of `f` until done or an error; returns the bytes written and the
/// error, if any.
fn write_some(f: &mut File, buf: &[u8]) -> (usize, Option<Errno>) {
    let mut done = 0;
    while done < buf.len() {
        match f.write(&buf[done..]) {
            Ok(0) => return (done, Some(Errno(libc::ENOSPC))),
            Ok(n) => done += n,
            Err(e) => return (done, Some(e.into())),
        }
    }
    (done, None)
}

/// The 1 MiB chunk number `i` of the fill file.
fn chunk(i: u64) -> Vec<u8> {
    vec![(i % 251) as u8 + 1; MIB as usize]
}

fn fill_one_file(b: &Path, root: &File, before: Space) -> Result<bool, String> {
    let p = b.join("fill");
    let mut f = sys::open(&p, libc::O_CREAT | libc::O_WRONLY, 0o644)
        .map_err(|e| format!("create {}: {e}", p.display()))?;
    let t = Instant::now();
    let mut written = 0u64;
    let mut err = None;
    // A filesystem that never says ENOSPC must not make this loop forever.
    let cap = before.total + before.total / 10 + 64 * MIB;
    let mut i = 0;
    while written < cap {
        let (n, e) = write_some(&mut f, &chunk(i));
        written += n as u64;
        i += 1;
        if e.is_some() {
            err = e;
            break;
        }
    }
    eprintln!(
        "enospc: wrote {} MiB in {:.1}s, then {}",
        written / MIB,
        t.elapsed().as_secs_f64(),
        err.map_or("no error".into(), |e| e.name())
    );
    let mut ok = report(
        "fill-until-enospc",
        err == Some(Errno(libc::ENOSPC)),
        || {
            format!(
                "{} after {written} bytes",
                err.map_or("no error".into(), |e| e.name())
            )
        },
    );
    ok &= report(
        "fill-size",
        sys::fstat(&f).is_ok_and(|s| s.st_size as u64 == written),
        || format!("size is not the {written} bytes written"),
    );
    ok &= report("fill-fsync", f.sync_all().is_ok(), || "fsync failed".into());
    let full = space(root).map_err(|e| format!("statfs: {e}"))?;
    eprintln!("enospc: before {before:?}, full {full:?}");
    // ext4 keeps 2% back even from root, and some blocks go to metadata: allow 5%.
    ok &= report(
        "statfs-free-small",
        full.free <= full.total * 5 / 100,
        || format!("{} bytes of {} still free", full.free, full.total),
    );
    let more = sys::open(b.join("more"), libc::O_CREAT | libc::O_WRONLY, 0o644);
    let short = more.map(|mut g| write_some(&mut g, &chunk(0)));
    ok &= report(
        "write-when-full",
        matches!(
            short,
            Err(Errno(libc::ENOSPC)) | Ok((_, Some(Errno(libc::ENOSPC))))
        ),
        || format!("{short:?}"),
    );
    let _ = std::fs::remove_file(b.join("more"));
    // Most of the free space went into the file (some goes to its extent tree, and the last
    // 2 MiB extent may not fit): a fill that stopped early is not a test of a full filesystem.
    ok &= report(
        "fill-wrote-most-free-space",
        written >= before.free / 10 * 8,
        || format!("{written} bytes written of {} free", before.free),
    );
    // Every byte written before ENOSPC reads back: each whole chunk and the partial last one.
    let r = File::open(&p).map_err(|e| format!("open {}: {e}", p.display()))?;
    let mut bad_chunks = Vec::new();
    for c in 0..written.div_ceil(MIB) {
        let len = (written - c * MIB).min(MIB) as usize;
        let mut buf = vec![0u8; len];
        if r.read_exact_at(&mut buf, c * MIB).is_err() || buf[..] != chunk(c)[..len] {
            bad_chunks.push(c);
        }
    }
    ok &= report("fill-data-intact", bad_chunks.is_empty(), || {
        format!(
            "chunks {bad_chunks:?} of {} read back wrong",
            written.div_ceil(MIB)
        )
    });
    drop((f, r));
    std::fs::remove_file(&p).map_err(|e| format!("unlink {}: {e}", p.display()))?;
    let (freed, now) = wait_freed(root, before).map_err(|e| format!("statfs: {e}"))?;
    ok &= report("fill-space-freed", freed, || {
        format!("before {before:?}, after unlink {now:?}")
    });
    Ok(ok)
}

fn small_files(b: &Path, root: &File, before: Space) -> Result<bool, String> {
    let t = Instant::now();
    let data = [0x5au8; 100];
    let mut n = 0u64;
    let mut dirs = 0u64;
    let err = loop {
        if n >= SMALL_FILES_MAX {
            break None;
        }
        if n.is_multiple_of(PER_DIR) {
            if let Err(e) = std::fs::create_dir(b.join(format!("d{dirs}"))) {
                break Some(Errno::from(e));
            }
            dirs += 1;
        }
        let p = b.join(format!("d{}/s{n}", dirs - 1));
        match sys::open(&p, libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY, 0o644) {
            Ok(f) => {
                n += 1;
                if let Err(e) = f.write_all_at(&data, 0) {
                    break Some(e.into());
                }
            }
            Err(e) => break Some(e),
        }
    };
    let full = space(root).map_err(|e| format!("statfs: {e}"))?;
    eprintln!(
        "enospc: {n} small files in {dirs} directories in {:.1}s, then {}; {full:?}",
        t.elapsed().as_secs_f64(),
        err.map_or("no error".into(), |e| e.name())
    );
    let mut ok = report(
        "small-files-until-enospc",
        matches!(err, Some(Errno(libc::ENOSPC | libc::EDQUOT))),
        || {
            format!(
                "{} after {n} files",
                err.map_or("no error".into(), |e| e.name())
            )
        },
    );
    // Each file created took an inode: a run that created none, or a statfs that did not see
    // them, is not a filesystem filled with files.
    ok &= report(
        "small-files-counted",
        n > 0 && before.ffree.saturating_sub(full.ffree) >= n,
        || {
            format!(
                "{n} files created; free inodes {} before, {} after",
                before.ffree, full.ffree
            )
        },
    );
    ok &= report(
        "small-files-exhausted",
        full.ffree <= full.files / 100 || full.free <= full.total * 5 / 100,
        || format!("{full:?}"),
    );
    let t = Instant::now();
    for d in 0..dirs {
        let dir = b.join(format!("d{d}"));
        for i in d * PER_DIR..((d + 1) * PER_DIR).min(n) {
            std::fs::remove_file(dir.join(format!("s{i}"))).map_err(|e| format!("unlink: {e}"))?;
        }
        std::fs::remove_dir(&dir).map_err(|e| format!("rmdir {}: {e}", dir.display()))?;
    }
    eprintln!("enospc: removed them in {:.1}s", t.elapsed().as_secs_f64());
    let (freed, now) = wait_freed(root, before).map_err(|e| format!("statfs: {e}"))?;
    ok &= report("small-files-freed", freed, || {
        format!("before {before:?}, after {now:?}")
    });
    Ok(ok)
}

/// After all that, half the space can be written again.
fn reuse(b: &Path, before: Space) -> Result<bool, String> {
    let p = b.join("again");
    let mut f =
        sys::open(&p, libc::O_CREAT | libc::O_WRONLY, 0o644).map_err(|e| format!("create: {e}"))?;
    let mut err = None;
    for i in 0..before.free / 2 / MIB {
        if let (_, Some(e)) = write_some(&mut f, &chunk(i)) {
            err = Some(e);
            break;
        }
    }
    let ok = report("reuse-half", err.is_none() && f.sync_all().is_ok(), || {
        format!("{err:?}")
    });
    drop(f);
    std::fs::remove_file(&p).map_err(|e| format!("unlink: {e}"))?;
    Ok(ok)
}

pub fn run(dir: &Path) -> Result<bool, String> {
    let b = dir.join("enospc");
    std::fs::create_dir(&b).map_err(|e| format!("mkdir {}: {e}", b.display()))?;
    let root = File::open(dir).map_err(|e| format!("open {}: {e}", dir.display()))?;
    let before = space(&root).map_err(|e| format!("statfs: {e}"))?;
    let mut ok = fill_one_file(&b, &root, before)?;
    ok &= small_files(&b, &root, before)?;
    ok &= reuse(&b, before)?;
    std::fs::remove_dir(&b).map_err(|e| format!("rmdir {}: {e}", b.display()))?;
    let _ = std::io::stdout().flush();
    Ok(ok)
}
