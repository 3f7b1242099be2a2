//! `fstest ops DIR`: a fixed scenario of namespace and file operations in `DIR/ops`, one line per
//! step with its exact outcome. Nothing printed depends on the filesystem's own choices (inode
//! numbers, block counts, directory sizes, absolute times), so the output of ferrite and of
//! ext4 -o dax must be identical.

use crate::report::Report;
use crate::sys::{self, Errno, Res};
use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;
const GIB: u64 = 1024 * MIB;

/// A file time: seconds and nanoseconds since the epoch.
type Time = (i64, i64);

/// A time long ago that files are set back to before an operation, so that any update of their
/// times shows.
const PAST: Time = (1_000_000_000, 0);
/// Longer than a tick of the kernel's coarse clock (1 jiffy), which stamps file times.
const TICK: Duration = Duration::from_millis(30);

/// The printable form of a stat: what must agree between filesystems.
fn describe(st: &libc::stat) -> String {
    let kind = match st.st_mode & libc::S_IFMT {
        libc::S_IFREG => "reg",
        libc::S_IFDIR => "dir",
        libc::S_IFLNK => "lnk",
        libc::S_IFIFO => "fifo",
        libc::S_IFCHR => "chr",
        libc::S_IFBLK => "blk",
        libc::S_IFSOCK => "sock",
        _ => "unknown",
    };
    let size = if kind == "dir" {
        String::new()
    } else {
        format!(" size={}", st.st_size)
    };
    format!(
        "{kind} {:04o} nlink={} uid={} gid={}{size} rdev={}:{}",
        st.st_mode & 0o7777,
        st.st_nlink,
        st.st_uid,
        st.st_gid,
        libc::major(st.st_rdev),
        libc::minor(st.st_rdev)
    )
}

/// The expected [`describe`] of a file owned by root (no device number).
fn want(kind: &str, mode: u32, nlink: u64, size: Option<u64>) -> String {
    want_ids(kind, mode, nlink, 0, 0, size)
}

/// The expected [`describe`] of a file with the given owner.
fn want_ids(kind: &str, mode: u32, nlink: u64, uid: u32, gid: u32, size: Option<u64>) -> String {
    let size = size.map(|s| format!(" size={s}")).unwrap_or_default();
    format!("{kind} {mode:04o} nlink={nlink} uid={uid} gid={gid}{size} rdev=0:0")
}

/// `describe(lstat(p))`, or the errno.
fn stat_line(p: &Path) -> String {
    match sys::lstat(p) {
        Ok(st) => describe(&st),
        Err(e) => e.name(),
    }
}

fn nlink(p: &Path) -> String {
    match sys::lstat(p) {
        Ok(st) => st.st_nlink.to_string(),
        Err(e) => e.name(),
    }
}

fn ino(p: &Path) -> Res<u64> {
    Ok(sys::lstat(p)?.st_ino)
}

fn create(p: &Path, data: &[u8]) -> Res<()> {
    let mut f = sys::open(p, libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY, 0o644)?;
    f.write_all(data)?;
    Ok(())
}

fn content_is(p: &Path, want: &[u8]) -> Res<bool> {
    Ok(std::fs::read(p)? == want)
}

fn read_at(f: &File, off: u64, len: usize) -> Res<Vec<u8>> {
    let mut buf = vec![0u8; len];
    let mut done = 0;
    while done < len {
        let n = f.read_at(&mut buf[done..], off + done as u64)?;
        if n == 0 {
            break;
        }
        done += n;
    }
    buf.truncate(done);
    Ok(buf)
}

/// Whether bytes `off..off + len` of `f` all are `byte` (and all exist).
fn range_is(f: &File, off: u64, len: u64, byte: u8) -> Res<bool> {
    let b = read_at(f, off, len as usize)?;
    Ok(b.len() as u64 == len && b.iter().all(|&x| x == byte))
}

fn size_of(p: &Path) -> String {
    match sys::lstat(p) {
        Ok(st) => st.st_size.to_string(),
        Err(e) => e.name(),
    }
}

/// The space a file holds, in 512-byte units (`st_blocks`).
fn blocks_of(p: &Path) -> String {
    match sys::lstat(p) {
        Ok(st) => st.st_blocks.to_string(),
        Err(e) => e.name(),
    }
}

/// A deterministic byte pattern that differs from block to block.
fn pattern(len: usize, salt: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[3] ^ salt)
        .collect()
}

/// The times of files, set back to [`PAST`] before an operation.
struct Aged(Vec<(PathBuf, Time)>);

/// A file outside the scenario's tree whose ctime tells what time the kernel stamps now.
static CLOCK: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// Sets the atime and mtime of each path to [`PAST`], notes its ctime (just set to now), and
/// waits until the clock that stamps file times has moved past the latest of them, so that the
/// next operation's time updates are visible. A sleep alone is not enough: under emulation the
/// coarse clock can lag behind the timer that ends the sleep by more than a tick.
fn age(paths: &[&Path]) -> Res<Aged> {
    let mut v = Vec::new();
    let mut latest = PAST;
    for p in paths {
        sys::set_times(p, Some(PAST), Some(PAST))?;
        let st = sys::lstat(p)?;
        let c = (st.st_ctime, st.st_ctime_nsec);
        latest = latest.max(c);
        v.push((p.to_path_buf(), c));
    }
    std::thread::sleep(TICK);
    if let Some(clock) = CLOCK.get() {
        // Bounded: 200 ticks; past that the steps report the times as they are.
        for _ in 0..200 {
            sys::touch_now(clock)?;
            let st = sys::lstat(clock)?;
            if (st.st_ctime, st.st_ctime_nsec) > latest {
                break;
            }
            std::thread::sleep(TICK);
        }
    }
    Ok(Aged(v))
}

impl Aged {
    /// `atime advanced: yes, mtime advanced: yes, ctime advanced: no` for path `i`.
    fn report(&self, i: usize, with_atime: bool) -> String {
        match self.0.get(i) {
            Some((p, _)) => self.report_at(i, p, with_atime),
            None => "no such path".into(),
        }
    }

    /// [`Aged::report`] of path `i`, now named `p` (renamed since).
    fn report_at(&self, i: usize, p: &Path, with_atime: bool) -> String {
        let Some(&(_, ctime)) = self.0.get(i) else {
            return "no such path".into();
        };
        let st = match sys::lstat(p) {
            Ok(st) => st,
            Err(e) => return e.name(),
        };
        let adv = |t: Time, since: Time| crate::report::yn(t > since);
        let mut s = String::new();
        if with_atime {
            s += &format!(
                "atime advanced: {}, ",
                adv((st.st_atime, st.st_atime_nsec), PAST)
            );
        }
        s + &format!(
            "mtime advanced: {}, ctime advanced: {}",
            adv((st.st_mtime, st.st_mtime_nsec), PAST),
            adv((st.st_ctime, st.st_ctime_nsec), ctime)
        )
    }
}

const MC: &str = "mtime advanced: yes, ctime advanced: yes";
const C_ONLY: &str = "mtime advanced: no, ctime advanced: yes";

/// Runs the scenario in `dir/ops`. Returns the report; an error only when the scenario could
/// not be set up at all.
pub fn run(dir: &Path) -> Result<Report, String> {
    // SAFETY: umask only sets the process's file creation mask.
    unsafe { libc::umask(0o022) };
    let b = dir.join("ops");
    std::fs::create_dir(&b).map_err(|e| format!("mkdir {}: {e}", b.display()))?;
    let clock = dir.join("ops-clock");
    File::create(&clock).map_err(|e| format!("create {}: {e}", clock.display()))?;
    let _ = CLOCK.set(clock);
    let mut r = Report::default();
    type Group = fn(&mut Report, &Path) -> Res<()>;
    let groups: [(&str, Group); 22] = [
        ("create-open", create_open),
        ("mkdir-rmdir", mkdir_rmdir),
        ("links", links),
        ("symlinks", symlinks),
        ("special-files", special_files),
        ("rename", rename),
        ("rename-flags", rename_flags),
        ("names", names),
        ("tmpfile", tmpfile),
        ("readdir", readdir),
        ("attributes", attributes),
        ("truncate", truncate),
        ("read-write", read_write),
        ("seek", seek),
        ("fallocate", fallocate),
        ("fiemap", fiemap),
        ("sync", sync),
        ("ownership", ownership),
        ("xattrs", xattrs),
        ("acls", acls),
        ("flags", flags),
        ("handles", handles),
    ];
    for (i, (name, f)) in groups.into_iter().enumerate() {
        let sub = b.join(format!("s{i:02}"));
        if let Err(e) = sys::mkdir(&sub).and_then(|()| f(&mut r, &sub)) {
            // A step the rest of the group depends on failed: say so, go on with the next group.
            r.value(&format!("{name}-group-aborted"), e, "ok");
        }
    }
    Ok(r)
}

fn create_open(r: &mut Report, b: &Path) -> Res<()> {
    let f = b.join("file");
    let aged = age(&[b])?;
    r.step(
        "create",
        sys::open(&f, libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY, 0o644),
        "ok",
    );
    r.value("create-parent-times", aged.report(0, false), MC);
    r.value("create-stat", stat_line(&f), want("reg", 0o644, 1, Some(0)));
    r.step(
        "create-excl-again",
        sys::open(&f, libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY, 0o644),
        "EEXIST",
    );
    r.step(
        "create-existing",
        sys::open(&f, libc::O_CREAT | libc::O_WRONLY, 0o600),
        "ok",
    );
    r.value(
        "create-existing-mode-kept",
        stat_line(&f),
        want("reg", 0o644, 1, Some(0)),
    );
    r.step(
        "open-missing",
        sys::open(b.join("missing"), libc::O_RDONLY, 0),
        "ENOENT",
    );
    r.step(
        "create-in-missing-dir",
        sys::open(b.join("nodir/x"), libc::O_CREAT | libc::O_WRONLY, 0o644),
        "ENOENT",
    );
    r.step(
        "open-file-slash",
        sys::open(b.join("file/"), libc::O_RDONLY, 0),
        "ENOTDIR",
    );
    r.step(
        "open-file-o-directory",
        sys::open(&f, libc::O_RDONLY | libc::O_DIRECTORY, 0),
        "ENOTDIR",
    );
    r.step(
        "open-dir-for-write",
        sys::open(b, libc::O_WRONLY, 0),
        "EISDIR",
    );
    r.step("open-dir-read", sys::open(b, libc::O_RDONLY, 0), "ok");
    std::fs::write(&f, b"0123456789")?;
    r.step(
        "open-trunc",
        sys::open(&f, libc::O_WRONLY | libc::O_TRUNC, 0),
        "ok",
    );
    r.value("open-trunc-size", size_of(&f), 0);
    r.step(
        "mode-0",
        sys::open(b.join("m0"), libc::O_CREAT | libc::O_WRONLY, 0),
        "ok",
    );
    r.value(
        "mode-0-stat",
        stat_line(&b.join("m0")),
        want("reg", 0, 1, Some(0)),
    );
    r.step(
        "mode-umask",
        sys::open(b.join("m777"), libc::O_CREAT | libc::O_WRONLY, 0o777),
        "ok",
    );
    r.value(
        "mode-umask-stat",
        stat_line(&b.join("m777")),
        want("reg", 0o755, 1, Some(0)),
    );
    Ok(())
}

fn mkdir_rmdir(r: &mut Report, b: &Path) -> Res<()> {
    let d = b.join("d");
    let aged = age(&[b])?;
    r.step("mkdir", sys::mkdir(&d), "ok");
    r.value("mkdir-parent-times", aged.report(0, false), MC);
    r.value("mkdir-stat", stat_line(&d), want("dir", 0o755, 2, None));
    r.value("mkdir-parent-nlink", nlink(b), 3);
    r.step("mkdir-existing", sys::mkdir(&d), "EEXIST");
    create(&b.join("file"), b"x")?;
    r.step("mkdir-over-file", sys::mkdir(b.join("file")), "EEXIST");
    r.step("mkdir-under-file", sys::mkdir(b.join("file/x")), "ENOTDIR");
    r.step(
        "mkdir-missing-parent",
        sys::mkdir(b.join("nodir/x")),
        "ENOENT",
    );
    std::fs::create_dir(d.join("a"))?;
    std::fs::create_dir(d.join("b"))?;
    r.value("nlink-after-2-subdirs", nlink(&d), 4);
    std::os::unix::fs::DirBuilderExt::mode(&mut std::fs::DirBuilder::new(), 0o700)
        .create(d.join("m"))?;
    r.value(
        "mkdir-mode-0700",
        stat_line(&d.join("m")),
        want("dir", 0o700, 2, None),
    );
    r.value("nlink-after-3-subdirs", nlink(&d), 5);
    create(&d.join("f"), b"")?;
    r.value("nlink-after-file", nlink(&d), 5);
    r.step("rmdir-nonempty", sys::rmdir(&d), "ENOTEMPTY");
    r.step("rmdir-file", sys::rmdir(d.join("f")), "ENOTDIR");
    r.step("unlink-dir", sys::unlink(d.join("a")), "EISDIR");
    r.step("rmdir-dot", sys::rmdir(d.join("a/.")), "EINVAL");
    r.step("rmdir-missing", sys::rmdir(d.join("zz")), "ENOENT");
    let aged = age(&[&d])?;
    r.step("rmdir", sys::rmdir(d.join("a")), "ok");
    r.value("rmdir-parent-times", aged.report(0, false), MC);
    r.value("nlink-after-rmdir", nlink(&d), 4);
    r.value("rmdir-gone", stat_line(&d.join("a")), "ENOENT");
    std::fs::remove_dir(d.join("b"))?;
    std::fs::remove_dir(d.join("m"))?;
    std::fs::remove_file(d.join("f"))?;
    r.value("nlink-emptied", nlink(&d), 2);
    r.step("rmdir-emptied", sys::rmdir(&d), "ok");
    r.value("parent-nlink-after-rmdir", nlink(b), 2);
    Ok(())
}

fn links(r: &mut Report, b: &Path) -> Res<()> {
    let (a, l) = (b.join("a"), b.join("b"));
    create(&a, b"data")?;
    std::fs::create_dir(b.join("d"))?;
    let aged = age(&[b, &a])?;
    r.step("link", sys::link(&a, &l), "ok");
    r.value("link-dir-times", aged.report(0, false), MC);
    r.value("link-file-times", aged.report(1, false), C_ONLY);
    r.value("link-stat", stat_line(&a), want("reg", 0o644, 2, Some(4)));
    r.yes_res("link-same-inode", Ok(ino(&a)? == ino(&l)?));
    r.yes_res("link-content", content_is(&l, b"data"));
    r.step("link-existing", sys::link(&a, &l), "EEXIST");
    r.step(
        "link-missing",
        sys::link(b.join("zz"), b.join("y")),
        "ENOENT",
    );
    r.step("link-dir", sys::link(b.join("d"), b.join("dd")), "EPERM");
    r.step("link-exdev", sys::link(&a, "/dev/fstest-exdev"), "EXDEV");
    std::fs::hard_link(&a, b.join("d/c"))?;
    r.value("link-third-nlink", nlink(&a), 3);
    let aged = age(&[b, &a])?;
    r.step("unlink", sys::unlink(&l), "ok");
    r.value("unlink-dir-times", aged.report(0, false), MC);
    r.value("unlink-file-times", aged.report(1, false), C_ONLY);
    r.value("unlink-nlink", nlink(&a), 2);
    r.step("unlink-again", sys::unlink(&l), "ENOENT");
    std::fs::remove_file(b.join("d/c"))?;
    r.value("unlink-last-but-one", nlink(&a), 1);
    // The data outlives the last name while a descriptor is open.
    let mut f = sys::open(&a, libc::O_RDONLY, 0)?;
    r.step("unlink-open", sys::unlink(&a), "ok");
    r.value(
        "unlink-open-nlink",
        sys::fstat(&f)
            .map(|s| s.st_nlink.to_string())
            .unwrap_or_else(|e| e.name()),
        0,
    );
    let mut s = String::new();
    f.read_to_string(&mut s)?;
    r.value("unlink-open-read", s, "data");
    Ok(())
}

fn symlinks(r: &mut Report, b: &Path) -> Res<()> {
    let short = "0123456789";
    let long = "abcdefghi/".repeat(300);
    for (name, target) in [("short", short), ("long", long.as_str())] {
        let p = b.join(name);
        r.step(&format!("symlink-{name}"), sys::symlink(target, &p), "ok");
        r.value(
            &format!("symlink-{name}-stat"),
            stat_line(&p),
            want("lnk", 0o777, 1, Some(target.len() as u64)),
        );
        r.yes_res(
            &format!("symlink-{name}-readlink"),
            std::fs::read_link(&p)
                .map(|t| t.as_os_str() == target)
                .map_err(Errno::from),
        );
    }
    r.step(
        "symlink-existing",
        sys::symlink("x", b.join("short")),
        "EEXIST",
    );
    r.step(
        "stat-dangling",
        std::fs::metadata(b.join("short")).map_err(Errno::from),
        "ENOENT",
    );
    create(&b.join("file"), b"through")?;
    std::os::unix::fs::symlink("file", b.join("tofile"))?;
    r.yes_res(
        "read-through-symlink",
        content_is(&b.join("tofile"), b"through"),
    );
    r.step(
        "open-nofollow",
        sys::open(b.join("tofile"), libc::O_RDONLY | libc::O_NOFOLLOW, 0),
        "ELOOP",
    );
    std::os::unix::fs::symlink(".", b.join("dot"))?;
    r.yes_res(
        "symlink-to-dir",
        Ok(ino(&b.join("dot/file"))? == ino(&b.join("file"))?),
    );
    std::os::unix::fs::symlink("loop2", b.join("loop1"))?;
    std::os::unix::fs::symlink("loop1", b.join("loop2"))?;
    r.step(
        "symlink-loop",
        sys::open(b.join("loop1"), libc::O_RDONLY, 0),
        "ELOOP",
    );
    r.step("unlink-symlink", sys::unlink(b.join("tofile")), "ok");
    r.yes_res(
        "unlink-symlink-keeps-target",
        content_is(&b.join("file"), b"through"),
    );
    Ok(())
}

fn special_files(r: &mut Report, b: &Path) -> Res<()> {
    let cases: [(&str, u32, (u32, u32)); 4] = [
        ("fifo", libc::S_IFIFO, (0, 0)),
        ("chr", libc::S_IFCHR, (1, 3)),
        ("blk", libc::S_IFBLK, (7, 0)),
        ("sock", libc::S_IFSOCK, (0, 0)),
    ];
    for (name, kind, (major, minor)) in cases {
        let p = b.join(name);
        r.step(
            &format!("mknod-{name}"),
            sys::mknod(&p, kind | 0o644, major, minor),
            "ok",
        );
        r.value(
            &format!("mknod-{name}-stat"),
            stat_line(&p),
            format!("{name} 0644 nlink=1 uid=0 gid=0 size=0 rdev={major}:{minor}"),
        );
    }
    r.step(
        "mknod-existing",
        sys::mknod(b.join("fifo"), libc::S_IFIFO | 0o644, 0, 0),
        "EEXIST",
    );
    r.step(
        "mknod-regular",
        sys::mknod(b.join("reg"), libc::S_IFREG | 0o600, 0, 0),
        "ok",
    );
    r.value(
        "mknod-regular-stat",
        stat_line(&b.join("reg")),
        want("reg", 0o600, 1, Some(0)),
    );
    r.step("chmod-chr", sys::chmod(b.join("chr"), 0o600), "ok");
    r.value(
        "chmod-chr-stat",
        stat_line(&b.join("chr")),
        "chr 0600 nlink=1 uid=0 gid=0 size=0 rdev=1:3",
    );
    r.step(
        "rename-fifo",
        sys::rename(b.join("fifo"), b.join("fifo2")),
        "ok",
    );
    r.value(
        "rename-fifo-stat",
        stat_line(&b.join("fifo2")),
        "fifo 0644 nlink=1 uid=0 gid=0 size=0 rdev=0:0",
    );
    r.step("link-blk", sys::link(b.join("blk"), b.join("blk2")), "ok");
    r.value("link-blk-nlink", nlink(&b.join("blk")), 2);
    for name in ["fifo2", "chr", "blk", "blk2", "sock", "reg"] {
        r.step(&format!("unlink-{name}"), sys::unlink(b.join(name)), "ok");
    }
    r.value(
        "special-all-gone",
        sys::list(b)
            .map(|v| v.join(","))
            .unwrap_or_else(|e| e.name()),
        "",
    );
    Ok(())
}

fn rename(r: &mut Report, b: &Path) -> Res<()> {
    let (a, x) = (b.join("a"), b.join("b"));
    create(&a, b"A")?;
    let aged = age(&[b, &a])?;
    r.step("rename", sys::rename(&a, &x), "ok");
    r.value("rename-dir-times", aged.report(0, false), MC);
    r.value("rename-file-times", aged.report_at(1, &x, false), C_ONLY);
    r.value("rename-old-gone", stat_line(&a), "ENOENT");
    r.yes_res("rename-new-content", content_is(&x, b"A"));
    create(&b.join("c"), b"C")?;
    r.step("rename-over-file", sys::rename(b.join("c"), &x), "ok");
    r.yes_res("rename-over-file-content", content_is(&x, b"C"));
    r.value(
        "rename-over-file-old-gone",
        stat_line(&b.join("c")),
        "ENOENT",
    );
    // The replaced file lives on through its other link.
    create(&b.join("e"), b"E")?;
    std::fs::hard_link(&x, b.join("keep"))?;
    r.step("rename-over-linked", sys::rename(b.join("e"), &x), "ok");
    r.value(
        "rename-over-linked-survivor",
        stat_line(&b.join("keep")),
        want("reg", 0o644, 1, Some(1)),
    );
    r.yes_res(
        "rename-over-linked-content",
        content_is(&b.join("keep"), b"C"),
    );

    std::fs::create_dir(b.join("sub"))?;
    let aged = age(&[b, &b.join("sub"), &x])?;
    r.step("rename-across-dirs", sys::rename(&x, b.join("sub/b")), "ok");
    r.value("rename-across-old-dir-times", aged.report(0, false), MC);
    r.value("rename-across-new-dir-times", aged.report(1, false), MC);
    r.value(
        "rename-across-file-times",
        aged.report_at(2, &b.join("sub/b"), false),
        C_ONLY,
    );

    // Directories.
    std::fs::create_dir(b.join("d1"))?;
    create(&b.join("d1/child"), b"1")?;
    std::fs::create_dir(b.join("d2"))?;
    r.value("rename-dirs-parent-nlink-before", nlink(b), 5);
    r.step(
        "rename-dir-over-empty-dir",
        sys::rename(b.join("d1"), b.join("d2")),
        "ok",
    );
    r.value(
        "rename-dir-over-empty-old-gone",
        stat_line(&b.join("d1")),
        "ENOENT",
    );
    r.yes_res(
        "rename-dir-over-empty-child",
        content_is(&b.join("d2/child"), b"1"),
    );
    r.value("rename-dir-over-empty-parent-nlink", nlink(b), 4);
    std::fs::create_dir(b.join("d3"))?;
    create(&b.join("d3/child"), b"3")?;
    r.step(
        "rename-dir-over-nonempty-dir",
        sys::rename(b.join("d2"), b.join("d3")),
        "ENOTEMPTY",
    );
    create(&b.join("f"), b"f")?;
    r.step(
        "rename-file-over-dir",
        sys::rename(b.join("f"), b.join("d3")),
        "EISDIR",
    );
    r.step(
        "rename-dir-over-file",
        sys::rename(b.join("d3"), b.join("f")),
        "ENOTDIR",
    );
    std::fs::create_dir(b.join("d2/inner"))?;
    r.step(
        "rename-dir-into-itself",
        sys::rename(b.join("d2"), b.join("d2/inner/x")),
        "EINVAL",
    );
    r.step(
        "rename-missing",
        sys::rename(b.join("zz"), b.join("yy")),
        "ENOENT",
    );
    r.step(
        "rename-exdev",
        sys::rename(b.join("f"), "/dev/fstest-exdev"),
        "EXDEV",
    );
    r.step(
        "rename-to-itself",
        sys::rename(b.join("f"), b.join("f")),
        "ok",
    );
    r.yes_res("rename-to-itself-content", content_is(&b.join("f"), b"f"));
    std::fs::hard_link(b.join("f"), b.join("f2"))?;
    r.step(
        "rename-same-inode",
        sys::rename(b.join("f"), b.join("f2")),
        "ok",
    );
    r.yes(
        "rename-same-inode-both-kept",
        sys::lstat(b.join("f")).is_ok() && sys::lstat(b.join("f2")).is_ok(),
    );
    r.value("rename-same-inode-nlink", nlink(&b.join("f")), 2);

    // A directory moved to another parent: link counts and '..'.
    r.value(
        "rename-dir-move-nlinks-before",
        format!("{} {}", nlink(b), nlink(&b.join("d3"))),
        "5 2",
    );
    r.step(
        "rename-dir-move",
        sys::rename(b.join("d2"), b.join("d3/moved")),
        "ok",
    );
    r.value(
        "rename-dir-move-nlinks-after",
        format!("{} {}", nlink(b), nlink(&b.join("d3"))),
        "4 3",
    );
    r.yes_res(
        "rename-dir-move-dotdot",
        Ok(ino(&b.join("d3/moved/.."))? == ino(&b.join("d3"))?),
    );
    r.yes_res(
        "rename-dir-move-subtree",
        Ok(sys::lstat(b.join("d3/moved/inner")).is_ok()
            && content_is(&b.join("d3/moved/child"), b"1")?),
    );
    Ok(())
}

fn rename_flags(r: &mut Report, b: &Path) -> Res<()> {
    let noreplace = libc::RENAME_NOREPLACE;
    let exchange = libc::RENAME_EXCHANGE;
    let whiteout = libc::RENAME_WHITEOUT;
    create(&b.join("a"), b"a")?;
    create(&b.join("b"), b"b")?;
    r.step(
        "noreplace-existing",
        sys::renameat2(b.join("a"), b.join("b"), noreplace),
        "EEXIST",
    );
    r.yes_res(
        "noreplace-existing-kept",
        Ok(content_is(&b.join("a"), b"a")? && content_is(&b.join("b"), b"b")?),
    );
    r.step(
        "noreplace-new",
        sys::renameat2(b.join("a"), b.join("c"), noreplace),
        "ok",
    );
    r.yes_res(
        "noreplace-new-moved",
        Ok(sys::lstat(b.join("a")).is_err() && content_is(&b.join("c"), b"a")?),
    );

    r.step(
        "exchange-files",
        sys::renameat2(b.join("b"), b.join("c"), exchange),
        "ok",
    );
    r.yes_res(
        "exchange-files-swapped",
        Ok(content_is(&b.join("b"), b"a")? && content_is(&b.join("c"), b"b")?),
    );
    r.step(
        "exchange-missing",
        sys::renameat2(b.join("b"), b.join("zz"), exchange),
        "ENOENT",
    );
    r.step(
        "exchange-noreplace",
        sys::renameat2(b.join("b"), b.join("c"), exchange | noreplace),
        "EINVAL",
    );

    // A file and a directory in different parents trade places.
    let (xa, xb) = (b.join("xa"), b.join("xb"));
    std::fs::create_dir(&xa)?;
    std::fs::create_dir(&xb)?;
    create(&xa.join("f"), b"F")?;
    std::fs::create_dir(xb.join("d"))?;
    create(&xb.join("d/c"), b"c")?;
    r.value(
        "exchange-nlinks-before",
        format!("{} {}", nlink(&xa), nlink(&xb)),
        "2 3",
    );
    r.step(
        "exchange-file-dir",
        sys::renameat2(xa.join("f"), xb.join("d"), exchange),
        "ok",
    );
    r.value(
        "exchange-file-dir-new-dir",
        stat_line(&xa.join("f")),
        want("dir", 0o755, 2, None),
    );
    r.yes_res("exchange-file-dir-child", content_is(&xa.join("f/c"), b"c"));
    r.yes_res(
        "exchange-file-dir-new-file",
        content_is(&xb.join("d"), b"F"),
    );
    r.yes_res(
        "exchange-file-dir-dotdot",
        Ok(ino(&xa.join("f/.."))? == ino(&xa)?),
    );
    r.value(
        "exchange-nlinks-after",
        format!("{} {}", nlink(&xa), nlink(&xb)),
        "3 2",
    );

    create(&b.join("w"), b"W")?;
    r.step(
        "whiteout",
        sys::renameat2(b.join("w"), b.join("w2"), whiteout),
        "ok",
    );
    r.value(
        "whiteout-old",
        stat_line(&b.join("w")),
        "chr 0000 nlink=1 uid=0 gid=0 size=0 rdev=0:0",
    );
    r.yes_res("whiteout-new", content_is(&b.join("w2"), b"W"));
    r.step("whiteout-unlink", sys::unlink(b.join("w")), "ok");
    Ok(())
}

fn names(r: &mut Report, b: &Path) -> Res<()> {
    let n255 = "n".repeat(255);
    let n256 = "n".repeat(256);
    r.step("name-255", create(&b.join(&n255), b"255"), "ok");
    r.value(
        "name-255-stat",
        stat_line(&b.join(&n255)),
        want("reg", 0o644, 1, Some(3)),
    );
    r.yes_res("name-255-listed", sys::list(b).map(|v| v == [n255.clone()]));
    r.step(
        "name-256-create",
        create(&b.join(&n256), b""),
        "ENAMETOOLONG",
    );
    r.step("name-256-stat", sys::lstat(b.join(&n256)), "ENAMETOOLONG");
    r.step("name-256-mkdir", sys::mkdir(b.join(&n256)), "ENAMETOOLONG");
    r.step(
        "name-256-rename",
        sys::rename(b.join(&n255), b.join(&n256)),
        "ENAMETOOLONG",
    );
    let odd = "sp ace\ttab\u{e9}\u{1f980}-";
    r.step("name-odd-bytes", create(&b.join(odd), b"odd"), "ok");
    r.yes_res("name-odd-bytes-content", content_is(&b.join(odd), b"odd"));
    r.step("name-255-unlink", sys::unlink(b.join(&n255)), "ok");
    Ok(())
}

fn tmpfile(r: &mut Report, b: &Path) -> Res<()> {
    let linked = b.join("linked");
    let Some(mut f) = r.step(
        "tmpfile-open",
        sys::open(b, libc::O_TMPFILE | libc::O_RDWR, 0o600),
        "ok",
    ) else {
        return Ok(());
    };
    r.value(
        "tmpfile-fstat",
        sys::fstat(&f)
            .map(|s| describe(&s))
            .unwrap_or_else(|e| e.name()),
        want("reg", 0o600, 0, Some(0)),
    );
    r.value(
        "tmpfile-not-listed",
        sys::list(b).map(|v| v.len()).unwrap_or(usize::MAX),
        0,
    );
    f.write_all(b"tmpdata")?;
    let proc_path = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&f));
    r.step(
        "tmpfile-linkat",
        sys::linkat(&proc_path, &linked, libc::AT_SYMLINK_FOLLOW),
        "ok",
    );
    r.value(
        "tmpfile-linked-stat",
        stat_line(&linked),
        want("reg", 0o600, 1, Some(7)),
    );
    r.yes_res("tmpfile-linked-content", content_is(&linked, b"tmpdata"));
    drop(f);
    r.yes_res(
        "tmpfile-content-after-close",
        content_is(&linked, b"tmpdata"),
    );

    if let Some(f) = r.step(
        "tmpfile-excl-open",
        sys::open(b, libc::O_TMPFILE | libc::O_EXCL | libc::O_RDWR, 0o600),
        "ok",
    ) {
        let proc_path = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&f));
        r.step(
            "tmpfile-excl-linkat",
            sys::linkat(&proc_path, b.join("never"), libc::AT_SYMLINK_FOLLOW),
            "ENOENT",
        );
    }
    // An unlinked tmpfile with data, dropped: its blocks go back (checked by fsck in the VM test).
    if let Ok(f) = sys::open(b, libc::O_TMPFILE | libc::O_RDWR, 0o600) {
        r.step(
            "tmpfile-unlinked-write",
            f.write_all_at(&pattern(256 * 1024, 7), 0)
                .map_err(Errno::from),
            "ok",
        );
    }
    r.step(
        "tmpfile-on-file",
        sys::open(&linked, libc::O_TMPFILE | libc::O_RDWR, 0o600),
        "ENOTDIR",
    );
    Ok(())
}

fn readdir(r: &mut Report, b: &Path) -> Res<()> {
    let mut want = std::collections::BTreeSet::new();
    for i in 0..40 {
        let name = format!("r{i:03}");
        create(&b.join(&name), b"")?;
        want.insert(name);
    }
    for i in 0..5 {
        let name = format!("s{i}");
        std::fs::create_dir(b.join(&name))?;
        want.insert(name);
    }
    for i in (0..40).step_by(3) {
        let name = format!("r{i:03}");
        std::fs::remove_file(b.join(&name))?;
        want.remove(&name);
    }
    std::fs::rename(b.join("r001"), b.join("q001"))?;
    want.remove("r001");
    want.insert("q001".into());
    std::fs::remove_dir(b.join("s2"))?;
    want.remove("s2");
    std::os::unix::fs::symlink("r002", b.join("l0"))?;
    want.insert("l0".into());
    for i in 40..50 {
        let name = format!("r{i:03}");
        create(&b.join(&name), b"")?;
        want.insert(name);
    }
    let entries = sys::Dir::open(b)?.read_all()?;
    let dots = entries
        .iter()
        .filter(|e| e.name == b"." || e.name == b"..")
        .count();
    r.value("readdir-dot-entries", dots, 2);
    let names = sys::list(b)?;
    r.value("readdir-count", names.len(), want.len());
    let expected: Vec<String> = want.into_iter().collect();
    if names == expected {
        r.yes("readdir-names", true);
    } else {
        let missing: Vec<_> = expected.iter().filter(|n| !names.contains(n)).collect();
        let extra: Vec<_> = names.iter().filter(|n| !expected.contains(n)).collect();
        r.value(
            "readdir-names",
            format!("missing {missing:?}, extra {extra:?}"),
            "yes",
        );
    }
    let dtype_ok = entries.iter().all(|e| {
        let name = <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(&e.name);
        let Ok(st) = sys::lstat(b.join(name)) else {
            return false;
        };
        let t = match st.st_mode & libc::S_IFMT {
            libc::S_IFDIR => libc::DT_DIR,
            libc::S_IFREG => libc::DT_REG,
            libc::S_IFLNK => libc::DT_LNK,
            _ => libc::DT_UNKNOWN,
        };
        e.d_type == t || e.d_type == libc::DT_UNKNOWN
    });
    r.yes("readdir-d-type", dtype_ok);
    Ok(())
}

fn attributes(r: &mut Report, b: &Path) -> Res<()> {
    let f = b.join("f");
    create(&f, b"attrs")?;
    let aged = age(&[&f])?;
    r.step("chmod", sys::chmod(&f, 0o640), "ok");
    r.value("chmod-stat", stat_line(&f), want("reg", 0o640, 1, Some(5)));
    r.value("chmod-times", aged.report(0, false), C_ONLY);
    sys::chmod(&f, 0o4755)?;
    r.value(
        "chmod-setuid",
        stat_line(&f),
        want("reg", 0o4755, 1, Some(5)),
    );
    let aged = age(&[&f])?;
    r.step("chown", sys::lchown(&f, Some(1000), Some(1000)), "ok");
    r.value(
        "chown-stat",
        stat_line(&f),
        want_ids("reg", 0o755, 1, 1000, 1000, Some(5)),
    );
    r.value("chown-times", aged.report(0, false), C_ONLY);
    r.step("chown-gid-only", sys::lchown(&f, None, Some(2000)), "ok");
    r.value(
        "chown-gid-only-stat",
        stat_line(&f),
        want_ids("reg", 0o755, 1, 1000, 2000, Some(5)),
    );
    sys::chmod(&f, 0o2755)?;
    sys::lchown(&f, Some(0), Some(0))?;
    r.value(
        "chown-clears-setgid",
        stat_line(&f),
        want("reg", 0o755, 1, Some(5)),
    );
    std::os::unix::fs::symlink("f", b.join("l"))?;
    r.step(
        "lchown-symlink",
        sys::lchown(b.join("l"), Some(3), Some(4)),
        "ok",
    );
    r.value(
        "lchown-symlink-stat",
        stat_line(&b.join("l")),
        want_ids("lnk", 0o777, 1, 3, 4, Some(1)),
    );
    r.value(
        "lchown-symlink-target",
        stat_line(&f),
        want("reg", 0o755, 1, Some(5)),
    );

    let show = |p: &Path| match sys::lstat(p) {
        Ok(st) => format!(
            "atime={}.{:09} mtime={}.{:09}",
            st.st_atime, st.st_atime_nsec, st.st_mtime, st.st_mtime_nsec
        ),
        Err(e) => e.name(),
    };
    let cases: [(&str, Time, Time); 4] = [
        (
            "utimens-ns",
            (1_234_567_890, 123_456_789),
            (1_500_000_000, 987_654_321),
        ),
        ("utimens-before-1970", (-86_400, 5), (-1, 999_999_999)),
        (
            "utimens-year-2200",
            (7_258_118_400, 1),
            (7_258_118_400, 999_999_999),
        ),
        ("utimens-zero", (0, 0), (0, 1)),
    ];
    for (name, a, m) in cases {
        r.step(name, sys::set_times(&f, Some(a), Some(m)), "ok");
        r.value(
            &format!("{name}-stat"),
            show(&f),
            format!("atime={}.{:09} mtime={}.{:09}", a.0, a.1, m.0, m.1),
        );
    }
    sys::set_times(&f, Some((1_234_567_890, 123_456_789)), Some((1, 1)))?;
    r.step(
        "utimens-omit-atime",
        sys::set_times(&f, None, Some((1_600_000_000, 42))),
        "ok",
    );
    r.value(
        "utimens-omit-atime-stat",
        show(&f),
        "atime=1234567890.123456789 mtime=1600000000.000000042",
    );
    r.step(
        "utimens-symlink",
        sys::set_times(b.join("l"), Some((5, 6)), Some((7, 8))),
        "ok",
    );
    r.value(
        "utimens-symlink-stat",
        show(&b.join("l")),
        "atime=5.000000006 mtime=7.000000008",
    );
    let aged = age(&[&f])?;
    r.step("utimens-now", sys::touch_now(&f), "ok");
    r.value(
        "utimens-now-times",
        aged.report(0, true),
        format!("atime advanced: yes, {MC}"),
    );
    Ok(())
}

fn truncate(r: &mut Report, b: &Path) -> Res<()> {
    let p = b.join("t");
    let f = sys::open(&p, libc::O_CREAT | libc::O_RDWR, 0o644)?;
    f.write_all_at(&[0xaa; 8192], 0)?;
    let aged = age(&[&p])?;
    r.step("truncate-down", f.set_len(5000).map_err(Errno::from), "ok");
    r.value("truncate-down-times", aged.report(0, false), MC);
    r.value("truncate-down-size", size_of(&p), 5000);
    r.step("truncate-up", f.set_len(8192).map_err(Errno::from), "ok");
    r.value("truncate-up-size", size_of(&p), 8192);
    r.yes_res("truncate-kept-bytes", range_is(&f, 0, 5000, 0xaa));
    r.yes_res("truncate-tail-zeroed", range_is(&f, 5000, 3192, 0));
    f.write_all_at(&pattern(3 * 4096 + 100, 1), 100)?;
    r.step(
        "truncate-mid-block",
        f.set_len(6000).map_err(Errno::from),
        "ok",
    );
    f.set_len(5 * 4096)?;
    r.yes_res(
        "truncate-mid-block-zeroed",
        range_is(&f, 6000, 5 * 4096 - 6000, 0),
    );
    r.yes_res(
        "truncate-mid-block-kept",
        read_at(&f, 100, 5900).map(|v| v == pattern(3 * 4096 + 100, 1)[..5900]),
    );
    r.step("truncate-zero", f.set_len(0).map_err(Errno::from), "ok");
    r.value("truncate-zero-size", size_of(&p), 0);
    r.step(
        "truncate-up-1m",
        std::fs::OpenOptions::new()
            .write(true)
            .open(&p)
            .and_then(|f| f.set_len(MIB))
            .map_err(Errno::from),
        "ok",
    );
    r.value("truncate-up-1m-size", size_of(&p), MIB);
    r.yes_res("truncate-up-1m-zeros", range_is(&f, 0, MIB, 0));
    // truncate(2) by path does not ask the filesystem for new times (ftruncate does): ext4 sets
    // them all the same, also for the same size.
    let aged = age(&[&p])?;
    r.step("truncate-path-down", sys::truncate(&p, 4096), "ok");
    r.value("truncate-path-down-times", aged.report(0, false), MC);
    let aged = age(&[&p])?;
    r.step("truncate-path-up", sys::truncate(&p, MIB as i64), "ok");
    r.value("truncate-path-up-times", aged.report(0, false), MC);
    let aged = age(&[&p])?;
    r.step("truncate-path-same", sys::truncate(&p, MIB as i64), "ok");
    r.value("truncate-path-same-size-times", aged.report(0, false), MC);
    let aged = age(&[&p])?;
    f.set_len(MIB)?;
    // POSIX asks for new times only when the size changes; Linux's ftruncate always sets them.
    r.value("ftruncate-same-size-times", aged.report(0, false), MC);
    r.step(
        "truncate-dir",
        std::fs::File::open(b)
            .and_then(|d| d.set_len(0))
            .map_err(Errno::from),
        "EINVAL",
    );
    let c = sys::cpath(b)?;
    // SAFETY: `c` is a NUL-terminated path.
    let rc = unsafe { libc::truncate(c.as_ptr(), 0) };
    r.value(
        "truncate-path-dir",
        if rc == 0 {
            "ok".into()
        } else {
            Errno::last().name()
        },
        "EISDIR",
    );
    let ro = sys::open(&p, libc::O_RDONLY, 0)?;
    r.step(
        "ftruncate-read-only",
        ro.set_len(0).map_err(Errno::from),
        "EINVAL",
    );
    // SAFETY: plain system call on an open descriptor.
    let rc = unsafe { libc::ftruncate(std::os::fd::AsRawFd::as_raw_fd(&f), -1) };
    r.value(
        "ftruncate-negative",
        if rc == 0 {
            "ok".into()
        } else {
            Errno::last().name()
        },
        "EINVAL",
    );
    Ok(())
}

fn read_write(r: &mut Report, b: &Path) -> Res<()> {
    let p = b.join("f");
    let f = sys::open(&p, libc::O_CREAT | libc::O_RDWR, 0o644)?;
    let aged = age(&[&p])?;
    r.step(
        "pwrite-at-10",
        f.write_all_at(b"hello", 10).map_err(Errno::from),
        "ok",
    );
    r.value("pwrite-times", aged.report(0, false), MC);
    r.value("pwrite-size", size_of(&p), 15);
    r.yes_res("pwrite-gap-zeros", range_is(&f, 0, 10, 0));
    r.yes_res("pwrite-data", read_at(&f, 10, 5).map(|v| v == b"hello"));
    f.write_all_at(b"XY", 11)?;
    r.yes_res(
        "overwrite-middle",
        read_at(&f, 10, 100).map(|v| v == b"hXYlo"),
    );
    r.value(
        "read-at-eof",
        read_at(&f, 15, 10).map(|v| v.len()).unwrap_or(usize::MAX),
        0,
    );
    r.value(
        "read-beyond-eof",
        read_at(&f, 1_000_000, 10)
            .map(|v| v.len())
            .unwrap_or(usize::MAX),
        0,
    );
    let aged = age(&[&p])?;
    r.yes_res("read-back", read_at(&f, 0, 15).map(|v| v.len() == 15));
    r.value(
        "read-times",
        aged.report(0, true),
        "atime advanced: yes, mtime advanced: no, ctime advanced: no",
    );

    {
        let mut a = sys::open(&p, libc::O_WRONLY | libc::O_APPEND, 0)?;
        r.step("append-1", a.write_all(b"abc").map_err(Errno::from), "ok");
        r.step("append-2", a.write_all(b"def").map_err(Errno::from), "ok");
    }
    r.value("append-size", size_of(&p), 21);
    r.yes_res("append-data", read_at(&f, 15, 6).map(|v| v == b"abcdef"));

    let h = b.join("hole");
    let hf = sys::open(&h, libc::O_CREAT | libc::O_RDWR, 0o644)?;
    hf.write_all_at(b"abc", 0)?;
    r.step(
        "pwrite-beyond-eof",
        hf.write_all_at(b"xyz", 100_000).map_err(Errno::from),
        "ok",
    );
    r.value("pwrite-beyond-eof-size", size_of(&h), 100_003);
    r.yes_res("hole-reads-zeros", range_is(&hf, 3, 100_000 - 3, 0));
    r.yes_res(
        "hole-data-after",
        read_at(&hf, 100_000, 10).map(|v| v == b"xyz"),
    );

    let u = b.join("unaligned");
    let uf = sys::open(&u, libc::O_CREAT | libc::O_RDWR, 0o644)?;
    let data = pattern(MIB as usize, 3);
    r.step(
        "write-1m-unaligned",
        uf.write_all_at(&data, 4095).map_err(Errno::from),
        "ok",
    );
    r.value("write-1m-unaligned-size", size_of(&u), MIB + 4095);
    r.yes_res(
        "write-1m-unaligned-read",
        read_at(&uf, 4095, MIB as usize).map(|v| v == data),
    );
    r.yes_res("write-1m-unaligned-head", range_is(&uf, 0, 4095, 0));
    let small = pattern(5000, 9);
    uf.write_all_at(&small, 3 * 4096 - 7)?;
    let mut whole = vec![0u8; 4095];
    whole.extend_from_slice(&data);
    whole[3 * 4096 - 7..3 * 4096 - 7 + 5000].copy_from_slice(&small);
    r.yes_res(
        "overwrite-across-blocks",
        read_at(&uf, 0, whole.len() + 10).map(|v| v == whole),
    );

    // A 4 GiB sparse file: one byte at the end.
    let s = b.join("sparse");
    let sf = sys::open(&s, libc::O_CREAT | libc::O_RDWR, 0o644)?;
    r.step(
        "sparse-4g-write",
        sf.write_all_at(b"z", 4 * GIB - 1).map_err(Errno::from),
        "ok",
    );
    r.value("sparse-4g-size", size_of(&s), 4 * GIB);
    let mut x: u64 = 12345;
    let mut zeros = true;
    for _ in 0..32 {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let off = (x >> 16) % (4 * GIB - 4096);
        zeros &= range_is(&sf, off, 4096, 0)?;
    }
    r.yes("sparse-4g-zeros", zeros);
    r.yes_res(
        "sparse-4g-last-byte",
        read_at(&sf, 4 * GIB - 2, 10).map(|v| v == b"\0z"),
    );
    r.step(
        "sparse-4g-truncate",
        sf.set_len(0).map_err(Errno::from),
        "ok",
    );
    Ok(())
}

fn seek(r: &mut Report, b: &Path) -> Res<()> {
    let p = b.join("f");
    let f = sys::open(&p, libc::O_CREAT | libc::O_RDWR, 0o644)?;
    r.step(
        "seek-data-empty",
        sys::lseek(&f, 0, libc::SEEK_DATA),
        "ENXIO",
    );
    // data [0, 2M), hole [2M, 6M), data [6M, 8M): 2 MiB aligned, so that no allocator's
    // granularity blurs the boundaries.
    f.write_all_at(&vec![0x11; 2 * MIB as usize], 0)?;
    f.write_all_at(&vec![0x22; 2 * MIB as usize], 6 * MIB)?;
    let show = |res: Res<i64>| match res {
        Ok(off) => format!("{}", off & !4095),
        Err(e) => e.name(),
    };
    let cases: [(&str, u64, i32, &str); 8] = [
        ("seek-data-0", 0, libc::SEEK_DATA, "0"),
        ("seek-hole-0", 0, libc::SEEK_HOLE, "2097152"),
        ("seek-hole-1m", MIB, libc::SEEK_HOLE, "2097152"),
        ("seek-data-2m", 2 * MIB, libc::SEEK_DATA, "6291456"),
        ("seek-data-3m", 3 * MIB, libc::SEEK_DATA, "6291456"),
        ("seek-hole-6m", 6 * MIB, libc::SEEK_HOLE, "8388608"),
        ("seek-data-eof", 8 * MIB, libc::SEEK_DATA, "ENXIO"),
        ("seek-hole-beyond-eof", 9 * MIB, libc::SEEK_HOLE, "ENXIO"),
    ];
    for (name, off, whence, want) in cases {
        r.value(name, show(sys::lseek(&f, off as i64, whence)), want);
    }
    r.value(
        "seek-end",
        show(sys::lseek(&f, 0, libc::SEEK_END)),
        "8388608",
    );
    r.value(
        "seek-negative",
        show(sys::lseek(&f, -1, libc::SEEK_SET)),
        "EINVAL",
    );
    Ok(())
}

fn fallocate(r: &mut Report, b: &Path) -> Res<()> {
    let keep = libc::FALLOC_FL_KEEP_SIZE;
    let punch = libc::FALLOC_FL_PUNCH_HOLE;
    let zero = libc::FALLOC_FL_ZERO_RANGE;
    let p = b.join("a");
    let f = sys::open(&p, libc::O_CREAT | libc::O_RDWR, 0o644)?;
    r.step("fallocate-0", sys::fallocate(&f, 0, 0, MIB as i64), "ok");
    r.value("fallocate-0-size", size_of(&p), MIB);
    r.yes_res("fallocate-0-zeros", range_is(&f, 0, MIB, 0));
    r.step(
        "fallocate-keep-size",
        sys::fallocate(&f, keep, MIB as i64, MIB as i64),
        "ok",
    );
    r.value("fallocate-keep-size-size", size_of(&p), MIB);
    f.write_all_at(b"end", MIB + 100)?;
    r.yes_res(
        "fallocate-keep-size-write",
        Ok(range_is(&f, MIB, 100, 0)? && read_at(&f, MIB + 100, 10)? == b"end"),
    );
    r.step("fallocate-len-0", sys::fallocate(&f, 0, 0, 0), "EINVAL");
    r.step(
        "fallocate-punch-without-keep",
        sys::fallocate(&f, punch, 0, 4096),
        "EOPNOTSUPP",
    );

    let q = b.join("b");
    let g = sys::open(&q, libc::O_CREAT | libc::O_RDWR, 0o644)?;
    g.write_all_at(&vec![0xbb; 256 * KIB as usize], 0)?;
    r.step(
        "punch-hole",
        sys::fallocate(&g, punch | keep, 64 * KIB as i64, 64 * KIB as i64),
        "ok",
    );
    r.value("punch-hole-size", size_of(&q), 256 * KIB);
    r.yes_res("punch-hole-zeros", range_is(&g, 64 * KIB, 64 * KIB, 0));
    r.yes_res(
        "punch-hole-rest",
        Ok(range_is(&g, 0, 64 * KIB, 0xbb)? && range_is(&g, 128 * KIB, 128 * KIB, 0xbb)?),
    );
    r.step(
        "punch-hole-unaligned",
        sys::fallocate(&g, punch | keep, 150_000, 10_000),
        "ok",
    );
    r.yes_res(
        "punch-hole-unaligned-data",
        Ok(range_is(&g, 128 * KIB, 150_000 - 128 * KIB, 0xbb)?
            && range_is(&g, 150_000, 10_000, 0)?
            && range_is(&g, 160_000, 256 * KIB - 160_000, 0xbb)?),
    );
    r.step(
        "punch-hole-beyond-eof",
        sys::fallocate(&g, punch | keep, MIB as i64, 4096),
        "ok",
    );
    r.value("punch-hole-beyond-eof-size", size_of(&q), 256 * KIB);
    r.step(
        "zero-range",
        sys::fallocate(&g, zero, 160 * KIB as i64, 32 * KIB as i64),
        "ok",
    );
    r.yes_res(
        "zero-range-data",
        Ok(range_is(&g, 160 * KIB, 32 * KIB, 0)? && range_is(&g, 192 * KIB, 64 * KIB, 0xbb)?),
    );
    r.value("zero-range-size", size_of(&q), 256 * KIB);
    r.step(
        "zero-range-unaligned",
        sys::fallocate(&g, zero, 200_001, 999),
        "ok",
    );
    r.yes_res(
        "zero-range-unaligned-data",
        Ok(range_is(&g, 200_001, 999, 0)?
            && range_is(&g, 192 * KIB, 200_001 - 192 * KIB, 0xbb)?
            && range_is(&g, 201_000, 256 * KIB - 201_000, 0xbb)?),
    );
    r.step(
        "zero-range-extend",
        sys::fallocate(&g, zero, 256 * KIB as i64, 64 * KIB as i64),
        "ok",
    );
    r.value("zero-range-extend-size", size_of(&q), 320 * KIB);
    r.step(
        "zero-range-keep-size",
        sys::fallocate(&g, zero | keep, 320 * KIB as i64, 64 * KIB as i64),
        "ok",
    );
    r.value("zero-range-keep-size-size", size_of(&q), 320 * KIB);
    r.yes_res(
        "zero-range-extend-zeros",
        range_is(&g, 256 * KIB, 64 * KIB, 0),
    );
    // A truncate to the size the file has already frees the blocks allocated past its end, as
    // ext4's and XFS's do.
    let d = b.join("d");
    let k = sys::open(&d, libc::O_CREAT | libc::O_RDWR, 0o644)?;
    k.write_all_at(&[0xdd; 8192], 0)?;
    r.step(
        "keep-size-past-eof",
        sys::fallocate(&k, keep, 8192, (MIB - 8192) as i64),
        "ok",
    );
    r.value("keep-size-past-eof-blocks", blocks_of(&d), MIB / 512);
    r.step("truncate-same-size", sys::truncate(&d, 8192), "ok");
    r.value("truncate-same-size-blocks", blocks_of(&d), 16);
    r.value("truncate-same-size-size", size_of(&d), 8192);
    r.yes_res("truncate-same-size-data", range_is(&k, 0, 8192, 0xdd));
    // Collapse and insert range, with ext4's rules.
    let c = b.join("c");
    let h = sys::open(&c, libc::O_CREAT | libc::O_RDWR, 0o644)?;
    for k in 0..64u64 {
        h.write_all_at(&vec![k as u8 + 1; 4096], k * 4096)?;
    }
    h.write_all_at(b"tail", 64 * 4096)?;
    let layout = |f: &File| -> String {
        // The first byte of every block, then the size: what moved where.
        let mut s = String::new();
        let size = sys::fstat(f).map(|st| st.st_size as u64).unwrap_or(0);
        for k in 0..size.div_ceil(4096) {
            match read_at(f, k * 4096, 1) {
                Ok(v) => s += &format!("{:x}.", v.first().copied().unwrap_or(0)),
                Err(e) => s += &e.name(),
            }
        }
        s + &format!(" size={size}")
    };
    let collapse = libc::FALLOC_FL_COLLAPSE_RANGE;
    let insert = libc::FALLOC_FL_INSERT_RANGE;
    r.step(
        "collapse-unaligned",
        sys::fallocate(&h, collapse, 1000, 4096),
        "EINVAL",
    );
    r.step(
        "collapse-to-eof",
        sys::fallocate(&h, collapse, 60 * 4096, 5 * 4096),
        "EINVAL",
    );
    r.step(
        "collapse-with-keep",
        sys::fallocate(&h, collapse | keep, 0, 4096),
        "EOPNOTSUPP",
    );
    let aged = age(&[&c])?;
    r.step(
        "collapse",
        sys::fallocate(&h, collapse, 8 * 4096, 16 * 4096),
        "ok",
    );
    r.value("collapse-times", aged.report(0, false), MC);
    r.value("collapse-layout", layout(&h), {
        let mut s = String::new();
        for k in (0..8u64).chain(24..64) {
            s += &format!("{:x}.", k + 1);
        }
        s + "74. size=196612"
    });
    r.step(
        "insert-unaligned",
        sys::fallocate(&h, insert, 4096, 100),
        "EINVAL",
    );
    r.step(
        "insert-at-eof",
        sys::fallocate(&h, insert, 196_612, 4096),
        "EINVAL",
    );
    r.step(
        "insert",
        sys::fallocate(&h, insert, 4 * 4096, 2 * 4096),
        "ok",
    );
    r.value("insert-layout", layout(&h), {
        let mut s = String::new();
        for k in (0..4u64)
            .map(|k| k + 1)
            .chain([0, 0])
            .chain((4..8).map(|k| k + 1))
            .chain((24..64).map(|k| k + 1))
        {
            s += &format!("{k:x}.");
        }
        s + "74. size=204804"
    });
    r.step(
        "insert-too-big",
        sys::fallocate(&h, insert, 0, (1i64 << 62) - 4096),
        "EFBIG",
    );
    // A new size past RLIMIT_FSIZE is EFBIG, as for a write; KEEP_SIZE sets no size.
    let p = b.join("fsize-limit");
    let fl = sys::open(&p, libc::O_CREAT | libc::O_RDWR, 0o644)?;
    r.step(
        "fallocate-past-fsize-limit",
        sys::with_fsize_limit(MIB, || sys::fallocate(&fl, 0, 0, 2 * MIB as i64)),
        "EFBIG",
    );
    r.value("fallocate-past-fsize-limit-size", size_of(&p), 0);
    r.step(
        "fallocate-zero-past-fsize-limit",
        sys::with_fsize_limit(MIB, || sys::fallocate(&fl, zero, 0, 2 * MIB as i64)),
        "EFBIG",
    );
    r.step(
        "fallocate-keep-size-past-fsize-limit",
        sys::with_fsize_limit(MIB, || sys::fallocate(&fl, keep, 0, 2 * MIB as i64)),
        "ok",
    );
    r.step(
        "fallocate-within-fsize-limit",
        sys::with_fsize_limit(MIB, || sys::fallocate(&fl, 0, 0, MIB as i64)),
        "ok",
    );
    r.value("fallocate-within-fsize-limit-size", size_of(&p), MIB);
    // Every mode, called by the owner without CAP_FSETID, drops set-user-ID and (with group
    // execute) set-group-ID and updates the times, as a write does (ext4: file_modified).
    for (name, mode, off, len) in [
        ("allocate", 0, 0, 128 * KIB),
        ("keep-size", keep, 64 * KIB, 64 * KIB),
        ("punch", punch | keep, 0, 4096),
        ("zero", zero, 4096, 4096),
        ("collapse", collapse, 4096, 4096),
        ("insert", insert, 4096, 4096),
        ("collapse-unaligned", collapse, 100, 4096),
    ] {
        let p = b.join(format!("privs-{name}"));
        create(&p, &vec![0x5a; 64 * KIB as usize])?;
        sys::lchown(&p, Some(1000), Some(1000))?;
        sys::chmod(&p, 0o6777)?;
        let aged = age(&[&p])?;
        let what = format!("fallocate-{name}-as-owner");
        r.step(
            &what,
            sys::as_user(1000, 1000, || {
                sys::fallocate(
                    &sys::open(&p, libc::O_RDWR, 0)?,
                    mode,
                    off as i64,
                    len as i64,
                )
            }),
            if name == "collapse-unaligned" {
                "EINVAL"
            } else {
                "ok"
            },
        );
        r.value(
            &format!("{what}-mode"),
            format!(
                "{:o}",
                sys::lstat(&p).map(|st| st.st_mode & 0o7777).unwrap_or(0)
            ),
            "777",
        );
        r.value(&format!("{what}-times"), aged.report(0, false), MC);
    }
    Ok(())
}

fn fiemap(r: &mut Report, b: &Path) -> Res<()> {
    let p = b.join("f");
    let f = sys::open(&p, libc::O_CREAT | libc::O_RDWR, 0o644)?;
    f.write_all_at(&vec![1; 64 * KIB as usize], 0)?;
    f.write_all_at(&vec![2; 64 * KIB as usize], MIB)?;
    let Some(ext) = r.step("fiemap", sys::fiemap(&f), "ok") else {
        return Ok(());
    };
    r.yes("fiemap-extents", !ext.is_empty());
    let covers = |lo: u64, hi: u64| {
        // Every byte of [lo, hi) lies in some extent.
        let mut at = lo;
        while at < hi {
            match ext
                .iter()
                .find(|e| e.logical <= at && at < e.logical + e.length)
            {
                Some(e) => at = e.logical + e.length,
                None => return false,
            }
        }
        true
    };
    r.yes(
        "fiemap-covers-written",
        covers(0, 64 * KIB) && covers(MIB, MIB + 64 * KIB),
    );
    r.yes(
        "fiemap-last-flag",
        ext.last()
            .is_some_and(|e| e.flags & sys::FIEMAP_EXTENT_LAST != 0),
    );
    // FIBMAP: a device block for a written file block, 0 for a hole; the block FIEMAP names.
    let first = ext.first().map(|e| e.physical / 4096);
    r.value(
        "fibmap-written",
        sys::fibmap(&f, 1).map_or_else(|e| e.name(), |n| crate::report::yn(n != 0).into()),
        "yes",
    );
    r.value(
        "fibmap-agrees-with-fiemap",
        sys::fibmap(&f, 0)
            .map_or_else(|e| e.name(), |n| crate::report::yn(Some(n) == first).into()),
        "yes",
    );
    r.value(
        "fibmap-hole",
        sys::fibmap(&f, 100).map_or_else(|e| e.name(), |n| n.to_string()),
        0,
    );
    r.value(
        "fibmap-past-eof",
        sys::fibmap(&f, 1000).map_or_else(|e| e.name(), |n| n.to_string()),
        0,
    );
    let e = sys::open(b.join("empty"), libc::O_CREAT | libc::O_RDWR, 0o644)?;
    r.value(
        "fiemap-empty",
        sys::fiemap(&e)
            .map(|v| v.len().to_string())
            .unwrap_or_else(|e| e.name()),
        0,
    );
    // FIEMAP_FLAG_XATTR maps the attributes' storage: nothing without attributes; one block for
    // an attribute too large for the inode itself.
    let extents = |f: &File| {
        sys::fiemap_xattr(f).map_or_else(
            |e| e.name(),
            |v| {
                v.iter()
                    .map(|e| format!("{}+{} flags {:#x}", e.logical, e.length, e.flags))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        )
    };
    r.value("fiemap-xattr-none", extents(&e), "");
    sys::lsetxattr(b.join("empty"), "user.big", &[b'v'; 200], 0)?;
    r.value("fiemap-xattr-block", extents(&e), "0+4096 flags 0x1");
    Ok(())
}

fn sync(r: &mut Report, b: &Path) -> Res<()> {
    let p = b.join("f");
    let f = sys::open(&p, libc::O_CREAT | libc::O_RDWR, 0o644)?;
    f.write_all_at(b"sync", 0)?;
    r.step("fsync", f.sync_all().map_err(Errno::from), "ok");
    r.step("fdatasync", f.sync_data().map_err(Errno::from), "ok");
    r.step("fsync-dir", sys::fsync_path(b), "ok");
    r.step("syncfs", sys::syncfs(&f), "ok");
    for (name, flag) in [("o-sync", libc::O_SYNC), ("o-dsync", libc::O_DSYNC)] {
        let q = b.join(name);
        let g = sys::open(&q, libc::O_CREAT | libc::O_RDWR | flag, 0o644)?;
        let data = pattern(10_000, 5);
        r.step(
            &format!("{name}-write"),
            g.write_all_at(&data, 100).map_err(Errno::from),
            "ok",
        );
        r.yes_res(
            &format!("{name}-read"),
            read_at(&g, 100, 10_000).map(|v| v == data),
        );
    }
    let ro = sys::open(&p, libc::O_RDONLY, 0)?;
    r.step("fsync-read-only", ro.sync_all().map_err(Errno::from), "ok");
    Ok(())
}

fn ownership(r: &mut Report, b: &Path) -> Res<()> {
    // setgid directory: new files take its group, new directories its group and the bit.
    let g = b.join("sgid");
    std::fs::create_dir(&g)?;
    sys::lchown(&g, Some(0), Some(1234))?;
    sys::chmod(&g, 0o2775)?;
    r.value(
        "sgid-dir",
        stat_line(&g),
        want_ids("dir", 0o2775, 2, 0, 1234, None),
    );
    create(&g.join("f"), b"")?;
    r.value(
        "sgid-file",
        stat_line(&g.join("f")),
        want_ids("reg", 0o644, 1, 0, 1234, Some(0)),
    );
    std::fs::create_dir(g.join("sub"))?;
    r.value(
        "sgid-subdir",
        stat_line(&g.join("sub")),
        want_ids("dir", 0o2755, 2, 0, 1234, None),
    );
    sys::mknod(g.join("fifo"), libc::S_IFIFO | 0o644, 0, 0)?;
    r.value(
        "sgid-fifo",
        stat_line(&g.join("fifo")),
        "fifo 0644 nlink=1 uid=0 gid=1234 size=0 rdev=0:0",
    );

    // Sticky directory: only a file's owner (or the directory's, or root) may remove it.
    let s = b.join("sticky");
    std::fs::create_dir(&s)?;
    sys::chmod(&s, 0o1777)?;
    r.value("sticky-dir", stat_line(&s), want("dir", 0o1777, 2, None));
    create(&s.join("of1000"), b"x")?;
    sys::lchown(s.join("of1000"), Some(1000), Some(1000))?;
    create(&s.join("ofroot"), b"x")?;
    r.step(
        "sticky-unlink-others",
        sys::as_user(1001, 1001, || sys::unlink(s.join("of1000"))),
        "EPERM",
    );
    r.step(
        "sticky-rename-others",
        sys::as_user(1001, 1001, || sys::rename(s.join("ofroot"), s.join("x"))),
        "EPERM",
    );
    r.step(
        "sticky-create-own",
        sys::as_user(1001, 1001, || create(&s.join("of1001"), b"y")),
        "ok",
    );
    r.value(
        "sticky-create-own-stat",
        stat_line(&s.join("of1001")),
        want_ids("reg", 0o644, 1, 1001, 1001, Some(1)),
    );
    r.step(
        "sticky-unlink-own",
        sys::as_user(1001, 1001, || sys::unlink(s.join("of1001"))),
        "ok",
    );
    r.step(
        "sticky-unlink-owner",
        sys::as_user(1000, 1000, || sys::unlink(s.join("of1000"))),
        "ok",
    );

    // Permission checks.
    let p = b.join("secret");
    create(&p, b"secret")?;
    sys::chmod(&p, 0o600)?;
    r.step(
        "perm-open-0600",
        sys::as_user(1000, 1000, || sys::open(&p, libc::O_RDONLY, 0).map(drop)),
        "EACCES",
    );
    sys::chmod(&p, 0o644)?;
    r.step(
        "perm-read-0644",
        sys::as_user(1000, 1000, || content_is(&p, b"secret").map(drop)),
        "ok",
    );
    r.step(
        "perm-write-0644",
        sys::as_user(1000, 1000, || sys::open(&p, libc::O_WRONLY, 0).map(drop)),
        "EACCES",
    );
    r.step(
        "perm-create-in-0755",
        sys::as_user(1000, 1000, || create(&b.join("mine"), b"")),
        "EACCES",
    );
    let d = b.join("private");
    std::fs::create_dir(&d)?;
    create(&d.join("f"), b"")?;
    sys::chmod(&d, 0o700)?;
    r.step(
        "perm-search-0700",
        sys::as_user(1000, 1000, || sys::lstat(d.join("f")).map(drop)),
        "EACCES",
    );
    r.step(
        "perm-chmod-others",
        sys::as_user(1000, 1000, || sys::chmod(&p, 0o777)),
        "EPERM",
    );
    r.step(
        "perm-chown-others",
        sys::as_user(1000, 1000, || sys::lchown(&p, Some(1000), None)),
        "EPERM",
    );
    Ok(())
}

/// The outcome of a get: the value (as text where it is printable) or the errno.
fn xget(p: &Path, name: &str) -> String {
    match sys::lgetxattr(p, name, 65536) {
        Ok(v) if v.iter().all(|b| b.is_ascii_graphic() || *b == b' ') => {
            format!("{:?}", String::from_utf8_lossy(&v))
        }
        Ok(v) => format!(
            "{} bytes, sum {}",
            v.len(),
            v.iter().map(|&b| u64::from(b)).sum::<u64>()
        ),
        Err(e) => e.name(),
    }
}

/// The outcome of a list: the sorted names, or the errno.
fn xlist(p: &Path) -> String {
    match sys::llistxattr(p, 65536) {
        Ok(v) => v.join(","),
        Err(e) => e.name(),
    }
}

fn xattrs(r: &mut Report, b: &Path) -> Res<()> {
    let f = b.join("f");
    create(&f, b"data")?;
    let aged = age(&[&f])?;
    r.step("set", sys::lsetxattr(&f, "user.a", b"one", 0), "ok");
    r.value("set-times", aged.report(0, false), C_ONLY);
    r.value("get", xget(&f, "user.a"), "\"one\"");
    r.value(
        "get-size",
        sys::lgetxattr(&f, "user.a", 0)
            .map(|v| v.len())
            .map_or_else(|e| e.name(), |n| n.to_string()),
        3,
    );
    r.step(
        "get-short-buffer",
        sys::lgetxattr(&f, "user.a", 2),
        "ERANGE",
    );
    r.value("get-missing", xget(&f, "user.b"), "ENODATA");
    r.step(
        "create-existing",
        sys::lsetxattr(&f, "user.a", b"x", libc::XATTR_CREATE),
        "EEXIST",
    );
    r.step(
        "replace-missing",
        sys::lsetxattr(&f, "user.b", b"x", libc::XATTR_REPLACE),
        "ENODATA",
    );
    r.step(
        "replace",
        sys::lsetxattr(&f, "user.a", b"uno", libc::XATTR_REPLACE),
        "ok",
    );
    r.value("get-replaced", xget(&f, "user.a"), "\"uno\"");
    r.step(
        "set-empty-value",
        sys::lsetxattr(&f, "user.empty", b"", 0),
        "ok",
    );
    r.value("get-empty-value", xget(&f, "user.empty"), "\"\"");
    r.step(
        "set-trusted",
        sys::lsetxattr(&f, "trusted.t", b"root only", 0),
        "ok",
    );
    r.step(
        "set-security",
        sys::lsetxattr(&f, "security.s", b"label", 0),
        "ok",
    );
    let long = format!("user.{}", "n".repeat(250));
    r.step("name-255", sys::lsetxattr(&f, &long, b"v", 0), "ok");
    let too_long = format!("user.{}", "n".repeat(251));
    r.step("name-256", sys::lsetxattr(&f, &too_long, b"v", 0), "ERANGE");
    r.step("name-empty", sys::lsetxattr(&f, "user.", b"v", 0), "EINVAL");
    r.step(
        "namespace-unknown",
        sys::lsetxattr(&f, "other.x", b"v", 0),
        "EOPNOTSUPP",
    );
    r.step(
        "value-64k-plus-1",
        sys::lsetxattr(&f, "user.big", &vec![1u8; 65537], 0),
        "E2BIG",
    );
    let mid = pattern(3000, 7);
    r.step("value-3000", sys::lsetxattr(&f, "user.mid", &mid, 0), "ok");
    r.value(
        "get-3000",
        xget(&f, "user.mid"),
        format!(
            "3000 bytes, sum {}",
            mid.iter().map(|&b| u64::from(b)).sum::<u64>()
        ),
    );
    r.value(
        "list",
        xlist(&f),
        format!("security.s,trusted.t,user.a,user.empty,user.mid,{long}"),
    );
    r.step("list-short-buffer", sys::llistxattr(&f, 10), "ERANGE");
    r.value(
        "list-as-user",
        sys::as_user(1000, 1000, || {
            let names = sys::llistxattr(&f, 65536)?;
            if names.iter().any(|n| n.starts_with("trusted.")) {
                Err(sys::Errno(libc::EEXIST))
            } else {
                Ok(())
            }
        })
        .map_or_else(|e| e.name(), |()| "no trusted names".into()),
        "no trusted names",
    );
    r.step(
        "get-trusted-as-user",
        sys::as_user(1000, 1000, || {
            sys::lgetxattr(&f, "trusted.t", 100).map(drop)
        }),
        "ENODATA",
    );
    sys::chmod(&f, 0o600)?;
    r.step(
        "get-user-0600-as-other",
        sys::as_user(1000, 1000, || sys::lgetxattr(&f, "user.a", 100).map(drop)),
        "EACCES",
    );
    sys::chmod(&f, 0o644)?;
    r.step(
        "set-user-0644-as-other",
        sys::as_user(1000, 1000, || sys::lsetxattr(&f, "user.x", b"v", 0)),
        "EACCES",
    );
    let aged = age(&[&f])?;
    r.step("remove", sys::lremovexattr(&f, "user.a"), "ok");
    r.value("remove-times", aged.report(0, false), C_ONLY);
    r.step("remove-missing", sys::lremovexattr(&f, "user.a"), "ENODATA");
    r.value("get-removed", xget(&f, "user.a"), "ENODATA");
    // On other kinds of file: directories take user attributes, symlinks and FIFOs do not.
    let d = b.join("d");
    std::fs::create_dir(&d)?;
    r.step("set-dir", sys::lsetxattr(&d, "user.d", b"dir", 0), "ok");
    r.value("get-dir", xget(&d, "user.d"), "\"dir\"");
    let l = b.join("l");
    sys::symlink("f", &l)?;
    r.step(
        "set-user-symlink",
        sys::lsetxattr(&l, "user.l", b"v", 0),
        "EPERM",
    );
    r.step(
        "set-trusted-symlink",
        sys::lsetxattr(&l, "trusted.l", b"v", 0),
        "ok",
    );
    r.value("list-symlink", xlist(&l), "trusted.l");
    let fifo = b.join("fifo");
    sys::mknod(&fifo, libc::S_IFIFO | 0o644, 0, 0)?;
    r.step(
        "set-user-fifo",
        sys::lsetxattr(&fifo, "user.x", b"v", 0),
        "EPERM",
    );
    r.step(
        "set-trusted-fifo",
        sys::lsetxattr(&fifo, "trusted.x", b"fifo", 0),
        "ok",
    );
    r.value("get-trusted-fifo", xget(&fifo, "trusted.x"), "\"fifo\"");
    // Many attributes, then all removed; a hard link shares them; rename keeps them.
    let g = b.join("g");
    create(&g, b"")?;
    for i in 0..20 {
        sys::lsetxattr(
            &g,
            &format!("user.k{i:02}"),
            format!("value {i}").as_bytes(),
            0,
        )?;
    }
    r.value("many-list", xlist(&g).split(',').count(), 20);
    sys::link(&g, b.join("g2"))?;
    r.value(
        "link-shares",
        xget(&b.join("g2"), "user.k07"),
        "\"value 7\"",
    );
    sys::rename(&g, b.join("g3"))?;
    r.value(
        "rename-keeps",
        xget(&b.join("g3"), "user.k19"),
        "\"value 19\"",
    );
    for i in 0..20 {
        sys::lremovexattr(b.join("g3"), &format!("user.k{i:02}"))?;
    }
    r.value("all-removed", xlist(&b.join("g3")), "");
    // An open, unlinked file keeps its attributes until closed.
    let u = b.join("u");
    create(&u, b"")?;
    sys::lsetxattr(&u, "user.u", b"gone", 0)?;
    let fd = sys::open(&u, libc::O_RDONLY, 0)?;
    sys::unlink(&u)?;
    r.value("unlinked-open", fxget(&fd, "user.u"), "\"gone\"");
    drop(fd);
    Ok(())
}

/// `fgetxattr` of an open file, as [`xget`] prints it.
fn fxget(f: &File, name: &str) -> String {
    use std::os::fd::AsRawFd;
    let n = std::ffi::CString::new(name).unwrap_or_default();
    let mut buf = vec![0u8; 65536];
    // SAFETY: `n` is NUL-terminated; `buf` is writable for its length.
    let r = unsafe {
        libc::fgetxattr(
            f.as_raw_fd(),
            n.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    match usize::try_from(r) {
        Ok(len) => format!("{:?}", String::from_utf8_lossy(&buf[..len])),
        Err(_) => sys::Errno::last().name(),
    }
}

/// ACL tags (`<linux/posix_acl.h>`).
pub(crate) const ACL_USER_OBJ: u16 = 1;
pub(crate) const ACL_USER: u16 = 2;
pub(crate) const ACL_GROUP_OBJ: u16 = 4;
pub(crate) const ACL_GROUP: u16 = 8;
pub(crate) const ACL_MASK: u16 = 0x10;
pub(crate) const ACL_OTHER: u16 = 0x20;
pub(crate) const ACL_UNDEFINED: u32 = u32::MAX;

/// The xattr form of an ACL given as `(tag, id, perm)` entries (in the sorted order the kernel
/// wants).
pub(crate) fn acl(entries: &[(u16, u32, u16)]) -> Vec<u8> {
    let mut v = 2u32.to_le_bytes().to_vec();
    for &(tag, id, perm) in entries {
        v.extend_from_slice(&tag.to_le_bytes());
        v.extend_from_slice(&perm.to_le_bytes());
        v.extend_from_slice(&id.to_le_bytes());
    }
    v
}

/// An ACL attribute as `getfacl` would print it, on one line (or the errno).
fn acl_text(p: &Path, name: &str) -> String {
    let v = match sys::lgetxattr(p, name, 4096) {
        Ok(v) => v,
        Err(e) => return e.name(),
    };
    if v.len() < 4 || (v.len() - 4) % 8 != 0 {
        return format!("malformed ({} bytes)", v.len());
    }
    let perm = |p: u16| {
        format!(
            "{}{}{}",
            if p & 4 != 0 { 'r' } else { '-' },
            if p & 2 != 0 { 'w' } else { '-' },
            if p & 1 != 0 { 'x' } else { '-' }
        )
    };
    v[4..]
        .chunks(8)
        .map(|e| {
            let tag = u16::from_le_bytes([e[0], e[1]]);
            let p = u16::from_le_bytes([e[2], e[3]]);
            let id = u32::from_le_bytes([e[4], e[5], e[6], e[7]]);
            let t = match tag {
                ACL_USER_OBJ => "u:".to_string(),
                ACL_USER => format!("u:{id}"),
                ACL_GROUP_OBJ => "g:".to_string(),
                ACL_GROUP => format!("g:{id}"),
                ACL_MASK => "m:".to_string(),
                ACL_OTHER => "o:".to_string(),
                t => format!("?{t}:{id}"),
            };
            format!("{t}:{}", perm(p))
        })
        .collect::<Vec<_>>()
        .join(",")
}

pub(crate) const ACCESS: &str = "system.posix_acl_access";
pub(crate) const DEFAULT: &str = "system.posix_acl_default";

fn acls(r: &mut Report, b: &Path) -> Res<()> {
    let f = b.join("f");
    create(&f, b"secret")?;
    sys::chmod(&f, 0o600)?;
    r.value("no-acl", acl_text(&f, ACCESS), "ENODATA");
    let u1000_r = acl(&[
        (ACL_USER_OBJ, ACL_UNDEFINED, 6),
        (ACL_USER, 1000, 4),
        (ACL_GROUP_OBJ, ACL_UNDEFINED, 0),
        (ACL_MASK, ACL_UNDEFINED, 4),
        (ACL_OTHER, ACL_UNDEFINED, 0),
    ]);
    let aged = age(&[&f])?;
    r.step("set-access", sys::lsetxattr(&f, ACCESS, &u1000_r, 0), "ok");
    r.value("set-access-times", aged.report(0, false), C_ONLY);
    r.value(
        "set-access-acl",
        acl_text(&f, ACCESS),
        "u::rw-,u:1000:r--,g::---,m::r--,o::---",
    );
    // The mask shows as the group bits.
    r.value(
        "set-access-mode",
        stat_line(&f),
        want("reg", 0o640, 1, Some(6)),
    );
    r.step(
        "acl-grants-read",
        sys::as_user(1000, 1000, || content_is(&f, b"secret").map(drop)),
        "ok",
    );
    r.step(
        "acl-denies-others",
        sys::as_user(1001, 1001, || sys::open(&f, libc::O_RDONLY, 0).map(drop)),
        "EACCES",
    );
    r.step(
        "acl-denies-write",
        sys::as_user(1000, 1000, || sys::open(&f, libc::O_WRONLY, 0).map(drop)),
        "EACCES",
    );
    // chmod sets the mask.
    sys::chmod(&f, 0o600)?;
    r.value(
        "chmod-acl",
        acl_text(&f, ACCESS),
        "u::rw-,u:1000:r--,g::---,m::---,o::---",
    );
    r.step(
        "chmod-mask-denies",
        sys::as_user(1000, 1000, || sys::open(&f, libc::O_RDONLY, 0).map(drop)),
        "EACCES",
    );
    sys::chmod(&f, 0o640)?;
    r.value("list-with-acl", xlist(&f), ACCESS);
    // An ACL the mode says all of is not stored: the mode changes only.
    let plain = acl(&[
        (ACL_USER_OBJ, ACL_UNDEFINED, 7),
        (ACL_GROUP_OBJ, ACL_UNDEFINED, 5),
        (ACL_OTHER, ACL_UNDEFINED, 1),
    ]);
    let g = b.join("g");
    create(&g, b"")?;
    r.step("set-plain", sys::lsetxattr(&g, ACCESS, &plain, 0), "ok");
    r.value("set-plain-acl", acl_text(&g, ACCESS), "ENODATA");
    r.value(
        "set-plain-mode",
        stat_line(&g),
        want("reg", 0o751, 1, Some(0)),
    );
    r.step(
        "set-invalid",
        sys::lsetxattr(&g, ACCESS, &[2, 0, 0, 0, 1], 0),
        "EINVAL",
    );
    r.step(
        "set-default-on-file",
        sys::lsetxattr(&g, DEFAULT, &plain, 0),
        "EACCES",
    );
    r.step("remove-access", sys::lremovexattr(&f, ACCESS), "ok");
    r.value("removed-acl", acl_text(&f, ACCESS), "ENODATA");
    r.value(
        "removed-mode",
        stat_line(&f),
        want("reg", 0o640, 1, Some(6)),
    );
    // Removing an ACL that is not there succeeds (the VFS asks set_acl to store none).
    r.step("acl-remove-missing", sys::lremovexattr(&f, ACCESS), "ok");

    // Inheritance: a directory's default ACL becomes its new files' access ACL (less what the
    // create mode leaves out) and its new directories' default and access ACLs; the umask is
    // not applied.
    let d = b.join("inherit");
    std::fs::create_dir(&d)?;
    let def = acl(&[
        (ACL_USER_OBJ, ACL_UNDEFINED, 7),
        (ACL_USER, 1000, 7),
        (ACL_GROUP_OBJ, ACL_UNDEFINED, 5),
        (ACL_GROUP, 2000, 6),
        (ACL_MASK, ACL_UNDEFINED, 7),
        (ACL_OTHER, ACL_UNDEFINED, 5),
    ]);
    r.step("set-default", sys::lsetxattr(&d, DEFAULT, &def, 0), "ok");
    r.value(
        "dir-default",
        acl_text(&d, DEFAULT),
        "u::rwx,u:1000:rwx,g::r-x,g:2000:rw-,m::rwx,o::r-x",
    );
    r.value("dir-access", acl_text(&d, ACCESS), "ENODATA");
    r.value("dir-list", xlist(&d), DEFAULT);
    r.step(
        "inherit-create",
        sys::open(d.join("file"), libc::O_CREAT | libc::O_WRONLY, 0o666).map(drop),
        "ok",
    );
    r.value(
        "inherit-file-acl",
        acl_text(&d.join("file"), ACCESS),
        "u::rw-,u:1000:rwx,g::r-x,g:2000:rw-,m::rw-,o::r--",
    );
    r.value(
        "inherit-file-default",
        acl_text(&d.join("file"), DEFAULT),
        "ENODATA",
    );
    r.value(
        "inherit-file-mode",
        stat_line(&d.join("file")),
        want("reg", 0o664, 1, Some(0)),
    );
    std::fs::create_dir(d.join("sub"))?;
    r.value(
        "inherit-dir-default",
        acl_text(&d.join("sub"), DEFAULT),
        "u::rwx,u:1000:rwx,g::r-x,g:2000:rw-,m::rwx,o::r-x",
    );
    r.value(
        "inherit-dir-acl",
        acl_text(&d.join("sub"), ACCESS),
        "u::rwx,u:1000:rwx,g::r-x,g:2000:rw-,m::rwx,o::r-x",
    );
    r.value(
        "inherit-dir-mode",
        stat_line(&d.join("sub")),
        want("dir", 0o775, 2, None),
    );
    sys::mknod(d.join("fifo"), libc::S_IFIFO | 0o600, 0, 0)?;
    r.value(
        "inherit-fifo-acl",
        acl_text(&d.join("fifo"), ACCESS),
        "u::rw-,u:1000:rwx,g::r-x,g:2000:rw-,m::---,o::---",
    );
    sys::symlink("file", d.join("link"))?;
    r.value(
        "inherit-symlink",
        stat_line(&d.join("link")),
        "lnk 0777 nlink=1 uid=0 gid=0 size=4 rdev=0:0",
    );
    // A rename's whiteout is a new inode of the directory as any other (ext4 makes it so): it
    // inherits the default ACL, masked by its mode, 0.
    create(&d.join("moved"), b"")?;
    r.step(
        "inherit-whiteout",
        sys::renameat2(d.join("moved"), d.join("renamed"), libc::RENAME_WHITEOUT),
        "ok",
    );
    r.value(
        "inherit-whiteout-acl",
        acl_text(&d.join("moved"), ACCESS),
        "u::---,u:1000:rwx,g::r-x,g:2000:rw-,m::---,o::---",
    );
    r.value(
        "inherit-whiteout-mode",
        stat_line(&d.join("moved")),
        "chr 0000 nlink=1 uid=0 gid=0 size=0 rdev=0:0",
    );
    // A default ACL that the mode can say entirely: the new file gets no ACL of its own.
    let d2 = b.join("minimal");
    std::fs::create_dir(&d2)?;
    r.step(
        "set-minimal-default",
        sys::lsetxattr(
            &d2,
            DEFAULT,
            &acl(&[
                (ACL_USER_OBJ, ACL_UNDEFINED, 7),
                (ACL_GROUP_OBJ, ACL_UNDEFINED, 7),
                (ACL_OTHER, ACL_UNDEFINED, 7),
            ]),
            0,
        ),
        "ok",
    );
    drop(sys::open(
        d2.join("f"),
        libc::O_CREAT | libc::O_WRONLY,
        0o666,
    )?);
    r.value(
        "minimal-file-acl",
        acl_text(&d2.join("f"), ACCESS),
        "ENODATA",
    );
    r.value(
        "minimal-file-mode",
        stat_line(&d2.join("f")),
        want("reg", 0o666, 1, Some(0)),
    );
    r.step("remove-default", sys::lremovexattr(&d2, DEFAULT), "ok");
    drop(sys::open(
        d2.join("g"),
        libc::O_CREAT | libc::O_WRONLY,
        0o666,
    )?);
    r.value(
        "umask-again",
        stat_line(&d2.join("g")),
        want("reg", 0o644, 1, Some(0)),
    );
    Ok(())
}

/// Flags every filesystem reports alike (others, such as ext4's extents flag and ferrite's
/// DAX flag, are the filesystem's own).
const USER_FLAGS: u32 = 0x08 | 0x10 | 0x20 | 0x40 | 0x80;

/// `lsattr`'s letters of the user flags of `p`, or the errno.
fn attr_letters(p: &Path) -> String {
    match sys::get_flags(p) {
        Ok(f) => [
            (0x08, 'S'),
            (0x10, 'i'),
            (0x20, 'a'),
            (0x40, 'd'),
            (0x80, 'A'),
        ]
        .iter()
        .map(|&(b, c)| if f & USER_FLAGS & b != 0 { c } else { '-' })
        .collect(),
        Err(e) => e.name(),
    }
}

/// The inode flags `statx` reports for `p` (`stx_attributes`) as letters, as [`attr_letters`]
/// names them (`x` for DAX), each only where `stx_attributes_mask` says the filesystem knows it.
fn statx_letters(p: &Path) -> String {
    match sys::statx_attributes(p) {
        Ok((attrs, mask)) => [(0x10u64, 'i'), (0x20, 'a'), (0x40, 'd'), (0x0020_0000, 'x')]
            .iter()
            .map(|&(b, c)| match (mask & b != 0, attrs & b != 0) {
                (true, true) => c,
                (true, false) => '-',
                (false, _) => '?',
            })
            .collect(),
        Err(e) => e.name(),
    }
}

/// `chattr`: the flags of `p` with `set` added and `clear` taken away.
fn chattr(p: &Path, set: u32, clear: u32) -> Res<()> {
    let f = sys::get_flags(p)?;
    sys::set_flags(p, (f | set) & !clear)
}

const IMMUTABLE: u32 = 0x10;
const APPEND: u32 = 0x20;

fn flags(r: &mut Report, b: &Path) -> Res<()> {
    let f = b.join("f");
    create(&f, b"0123456789")?;
    r.value("new-flags", attr_letters(&f), "-----");
    // Opened for writing before it becomes immutable.
    let pre = sys::open(&f, libc::O_RDWR, 0)?;
    let aged = age(&[&f])?;
    r.step("chattr +i", chattr(&f, IMMUTABLE, 0), "ok");
    r.value("chattr-times", aged.report(0, false), C_ONLY);
    r.value("immutable-flags", attr_letters(&f), "-i---");
    let mut x = sys::FsXattr::default();
    r.step("fsgetxattr", sys::fsxattr(&f, &mut x, true), "ok");
    r.value("fsgetxattr-immutable", x.xflags & 0x8, 0x8);
    r.step(
        "immutable-open-write",
        sys::open(&f, libc::O_WRONLY, 0).map(drop),
        "EPERM",
    );
    r.step(
        "immutable-write-open-fd",
        pre.write_at(b"x", 0).map(drop).map_err(sys::Errno::from),
        "EPERM",
    );
    r.step(
        "immutable-fallocate",
        sys::fallocate(&pre, 0, 0, 8192),
        "EPERM",
    );
    r.step(
        "immutable-punch",
        sys::fallocate(
            &pre,
            libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
            0,
            4096,
        ),
        "EPERM",
    );
    r.step("immutable-truncate", sys::truncate(&f, 0), "EPERM");
    r.step("immutable-chmod", sys::chmod(&f, 0o600), "EPERM");
    r.step(
        "immutable-chown",
        sys::lchown(&f, Some(1000), None),
        "EPERM",
    );
    r.step("immutable-unlink", sys::unlink(&f), "EPERM");
    r.step("immutable-rename", sys::rename(&f, b.join("g")), "EPERM");
    r.step("immutable-link", sys::link(&f, b.join("h")), "EPERM");
    r.step(
        "immutable-setxattr",
        sys::lsetxattr(&f, "user.x", b"v", 0),
        "EPERM",
    );
    r.step(
        "immutable-utimes",
        sys::set_times(&f, Some(PAST), Some(PAST)),
        "EPERM",
    );
    r.value(
        "immutable-content",
        content_is(&f, b"0123456789").map_or_else(|e| e.name(), |b| crate::report::yn(b).into()),
        "yes",
    );
    drop(pre);
    // Changing immutable or append-only takes CAP_LINUX_IMMUTABLE, also for the owner.
    let mine = b.join("mine");
    create(&mine, b"")?;
    sys::lchown(&mine, Some(1000), Some(1000))?;
    r.step(
        "chattr-as-owner",
        sys::as_user(1000, 1000, || chattr(&mine, APPEND, 0)),
        "EPERM",
    );
    r.step(
        "chattr-nodump-as-owner",
        sys::as_user(1000, 1000, || chattr(&mine, 0x40, 0)),
        "ok",
    );
    r.value("immutable-statx", statx_letters(&f), "i--x");
    r.step("chattr -i", chattr(&f, 0, IMMUTABLE), "ok");
    r.value("mutable-statx", statx_letters(&f), "---x");
    r.step(
        "mutable-again-write",
        sys::open(&f, libc::O_WRONLY, 0).map(drop),
        "ok",
    );

    let a = b.join("a");
    create(&a, b"log\n")?;
    r.step("chattr +a", chattr(&a, APPEND, 0), "ok");
    r.value("append-flags", attr_letters(&a), "--a--");
    r.value("append-statx", statx_letters(&a), "-a-x");
    r.step(
        "append-open-write",
        sys::open(&a, libc::O_WRONLY, 0).map(drop),
        "EPERM",
    );
    r.step(
        "append-open-trunc",
        sys::open(&a, libc::O_WRONLY | libc::O_APPEND | libc::O_TRUNC, 0).map(drop),
        "EPERM",
    );
    let af = sys::open(&a, libc::O_WRONLY | libc::O_APPEND, 0);
    r.step(
        "append-open-append",
        af.as_ref().map(drop).map_err(|e| *e),
        "ok",
    );
    if let Ok(mut af) = af {
        r.step(
            "append-write",
            af.write_all(b"more\n").map_err(sys::Errno::from),
            "ok",
        );
    }
    r.value(
        "append-content",
        content_is(&a, b"log\nmore\n").map_or_else(|e| e.name(), |b| crate::report::yn(b).into()),
        "yes",
    );
    r.step("append-truncate", sys::truncate(&a, 0), "EPERM");
    r.step("append-unlink", sys::unlink(&a), "EPERM");
    let rw = sys::open(&a, libc::O_RDWR | libc::O_APPEND, 0)?;
    r.step(
        "append-punch",
        sys::fallocate(
            &rw,
            libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
            0,
            4096,
        ),
        "EPERM",
    );
    r.step(
        "append-mmap-shared-write",
        sys::mmap_shared_rw(&rw, 4096),
        "EACCES",
    );
    drop(rw);
    // A directory: immutable refuses new entries, append-only refuses removals; sync, nodump
    // and noatime are inherited by new entries.
    let d = b.join("d");
    std::fs::create_dir(&d)?;
    create(&d.join("old"), b"")?;
    r.step("chattr +SdA dir", chattr(&d, 0x08 | 0x40 | 0x80, 0), "ok");
    create(&d.join("new"), b"")?;
    r.value("inherited-flags", attr_letters(&d.join("new")), "S--dA");
    r.value("nodump-statx", statx_letters(&d.join("new")), "--dx");
    std::fs::create_dir(d.join("sub"))?;
    r.value("inherited-dir-flags", attr_letters(&d.join("sub")), "S--dA");
    r.step("chattr +a dir", chattr(&d, APPEND, 0), "ok");
    r.step("append-dir-create", create(&d.join("c"), b""), "ok");
    r.step("append-dir-unlink", sys::unlink(d.join("old")), "EPERM");
    r.step("chattr +i dir", chattr(&d, IMMUTABLE, APPEND), "ok");
    r.step("immutable-dir-create", create(&d.join("c2"), b""), "EPERM");
    r.step(
        "immutable-dir-rename-in",
        sys::rename(b.join("a"), d.join("a")),
        "EPERM",
    );
    r.step("chattr -i dir", chattr(&d, 0, IMMUTABLE), "ok");
    r.step("unsupported-flag", chattr(&f, 0x0080_0000, 0), "EOPNOTSUPP");
    // Left set on purpose: the remount check sees the flags persist.
    r.step("chattr +d", chattr(&f, 0x40, 0), "ok");
    Ok(())
}

fn handles(r: &mut Report, b: &Path) -> Res<()> {
    let f = b.join("f");
    create(&f, b"by handle")?;
    let Some(h) = r.step("name-to-handle", sys::name_to_handle(&f), "ok") else {
        return Ok(());
    };
    let read = |h: &sys::Handle| -> String {
        match sys::open_by_handle(b, h, libc::O_RDONLY) {
            Ok(mut file) => {
                let mut s = String::new();
                match file.read_to_string(&mut s) {
                    Ok(_) => format!("{s:?}"),
                    Err(e) => sys::Errno::from(e).name(),
                }
            }
            Err(e) => e.name(),
        }
    };
    r.value("open-by-handle", read(&h), "\"by handle\"");
    sys::rename(&f, b.join("g"))?;
    r.value("open-by-handle-renamed", read(&h), "\"by handle\"");
    sys::link(b.join("g"), b.join("h"))?;
    sys::unlink(b.join("g"))?;
    r.value("open-by-handle-other-link", read(&h), "\"by handle\"");
    let d = b.join("d");
    std::fs::create_dir(&d)?;
    create(&d.join("in"), b"")?;
    let Some(dh) = r.step("name-to-handle-dir", sys::name_to_handle(&d), "ok") else {
        return Ok(());
    };
    r.step(
        "open-by-handle-dir",
        sys::open_by_handle(b, &dh, libc::O_RDONLY | libc::O_DIRECTORY).and_then(|df| {
            // The directory is usable: its entry is there.
            use std::os::fd::AsRawFd;
            let c = std::ffi::CString::new("in").unwrap_or_default();
            let mut st = std::mem::MaybeUninit::<libc::stat>::zeroed();
            // SAFETY: `c` is NUL-terminated, `st` writable.
            match unsafe { libc::fstatat(df.as_raw_fd(), c.as_ptr(), st.as_mut_ptr(), 0) } {
                0 => Ok(()),
                _ => Err(sys::Errno::last()),
            }
        }),
        "ok",
    );
    let mut bad = h.clone();
    if let Some(x) = bad.bytes.get_mut(0) {
        *x ^= 0x55;
    }
    r.value("open-by-handle-garbage", read(&bad), "ESTALE");
    // Open, then unlinked: the handle finds the file while it is open, not after.
    let keep = sys::open(b.join("h"), libc::O_RDONLY, 0)?;
    sys::unlink(b.join("h"))?;
    r.value("open-by-handle-unlinked-open", read(&h), "\"by handle\"");
    drop(keep);
    r.value("open-by-handle-deleted", read(&h), "ESTALE");
    // New files may take the inode number again; the generation tells them apart.
    for i in 0..8 {
        create(&b.join(format!("new{i}")), b"")?;
    }
    r.value("open-by-handle-reused", read(&h), "ESTALE");
    Ok(())
}
