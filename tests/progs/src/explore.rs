//! Workloads of the crash-state explorer (`scripts/crash-explore`), run on the trace build of
//! ferrite.
//!
//! `fstest explore setup NAME DIR` prepares what a workload starts from (untraced, on a mounted
//! filesystem); `fstest explore run NAME DEV MNT CTL` then mounts DEV on MNT itself, runs the
//! workload's system calls and unmounts, marking each call in the persistence trace through the
//! trace build's control file CTL: `B <n> <name>` before the call, `E <n> <ret>` after it. Every
//! call must have the outcome the workload expects (most succeed; some are expected to fail):
//! a workload whose calls went wrong explores nothing, so that is an error.
//!
//! Together the workloads cover every persistent path of ferrite: see [`WORKLOADS`].

use crate::mmap::Map;
use crate::sys::{self, Errno, Res};
use ferrite_explore::snapshot::{pattern_word, save_image};
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// Every workload, with what it covers. The two with the most crash states come first, so that
/// the host explores them while the guest records the others.
pub const WORKLOADS: &[(&str, &str)] = &[
    (
        "bigdir",
        "a directory grown past one block until its tree splits, then shrunk",
    ),
    ("journal", "a small journal filled until it checkpoints"),
    (
        "create",
        "creat, mknod (fifo, character device), mkdir, a file in a subdirectory",
    ),
    (
        "dirs",
        "mkdir, nested mkdir, rmdir, a directory renamed into another",
    ),
    (
        "symlink",
        "symlinks with an inline and a block target, and their unlink",
    ),
    (
        "link",
        "link, unlink of one link and of the last one (freeing the blocks)",
    ),
    (
        "rename",
        "rename over an existing name, across directories, RENAME_EXCHANGE, RENAME_WHITEOUT, \
         RENAME_NOREPLACE",
    ),
    (
        "tmpfile",
        "O_TMPFILE then linkat, unlink of an open file then close",
    ),
    (
        "truncate",
        "truncate down inside a block, up, to zero, up again",
    ),
    (
        "fallocate",
        "fallocate: allocate, KEEP_SIZE, PUNCH_HOLE, ZERO_RANGE, COLLAPSE_RANGE, INSERT_RANGE",
    ),
    (
        "write",
        "writes that extend a file, into holes, over data, O_APPEND, a new file, fsync",
    ),
    (
        "mmap",
        "write faults that allocate through a mapping: PTE, PMD, MAP_SYNC, msync",
    ),
    (
        "attrs",
        "chmod, chown, utimes, chattr (flags), FS_IOC_SETFSLABEL (both superblocks)",
    ),
    (
        "xattr",
        "setxattr (in the inode record, new block, added, a value in value blocks, replaced, \
         moved from the record to a block and back), removexattr (the last one frees the block), \
         an access ACL (with the mode), a default ACL inherited on create, unlink of a file with \
         attributes",
    ),
    (
        "recovery",
        "mount after an unclean unmount: journal replay and orphan cleanup",
    ),
    ("remount", "remount read-only and back"),
];

/// The marker of one workload run.
struct Marks {
    ctl: File,
    n: u64,
}

impl Marks {
    fn ctl(&mut self, cmd: &str) -> Result<(), String> {
        // One write(2) per command: the control file takes one command per write.
        self.ctl
            .write(cmd.as_bytes())
            .map_err(|e| format!("trace control: {cmd}: {e}"))
            .map(|_| ())
    }

    /// Runs `f` as system call `name` between its two marks and returns its result.
    fn call<T>(&mut self, name: &str, f: impl FnOnce() -> Res<T>) -> Result<Res<T>, String> {
        self.marked("B", name, f)
    }

    /// [`call`](Self::call) for a call ferrite makes in steps, not atomically: one that stores
    /// file data (`write`, a store through a mapping) or `fallocate`. Its start mark is `S`.
    fn step<T>(&mut self, name: &str, f: impl FnOnce() -> Res<T>) -> Result<T, String> {
        self.marked("S", name, f)?
            .map_err(|e| format!("{name}: {e}"))
    }

    fn marked<T>(
        &mut self,
        start: &str,
        name: &str,
        f: impl FnOnce() -> Res<T>,
    ) -> Result<Res<T>, String> {
        self.n += 1;
        let n = self.n;
        self.ctl(&format!("mark {start} {n} {name}"))?;
        let r = f();
        let ret = match &r {
            Ok(_) => 0,
            Err(e) => -e.0,
        };
        self.ctl(&format!("mark E {n} {ret}"))?;
        Ok(r)
    }

    /// A call that must succeed.
    fn ok<T>(&mut self, name: &str, f: impl FnOnce() -> Res<T>) -> Result<T, String> {
        self.call(name, f)?.map_err(|e| format!("{name}: {e}"))
    }

    /// A call that must fail with `want`.
    fn fails<T>(
        &mut self,
        name: &str,
        want: i32,
        f: impl FnOnce() -> Res<T>,
    ) -> Result<(), String> {
        match self.call(name, f)? {
            Err(e) if e.0 == want => Ok(()),
            Err(e) => Err(format!("{name}: {e}, expected {}", Errno(want))),
            Ok(_) => Err(format!("{name}: succeeded, expected {}", Errno(want))),
        }
    }
}

fn creat(p: &Path) -> Res<File> {
    sys::open(p, libc::O_CREAT | libc::O_WRONLY | libc::O_EXCL, 0o644)
}

fn rw(p: &Path) -> Res<File> {
    sys::open(p, libc::O_RDWR, 0)
}

fn pwrite(f: &File, data: &[u8], off: u64) -> Res<()> {
    f.write_all_at(data, off).map_err(Errno::from)
}

/// A file of `len` bytes of `byte`, written and closed.
fn file_with(p: &Path, byte: u8, len: usize) -> Res<()> {
    let f = creat(p)?;
    pwrite(&f, &vec![byte; len], 0)
}

fn ftruncate(f: &File, len: u64) -> Res<()> {
    f.set_len(len).map_err(Errno::from)
}

fn mount(dev: &Path, mnt: &Path, flags: libc::c_ulong) -> Res<()> {
    sys::mount(dev, mnt, c"ferrite", flags, c"dax")
}

use sys::umount;

/// The untraced part: what workload `name` starts from, made in `dir` (the mounted root).
pub fn setup(name: &str, dir: &Path) -> Result<bool, String> {
    let p = |s: &str| dir.join(s);
    let e = |what: &str, r: Res<()>| r.map_err(|e| format!("setup {name}: {what}: {e}"));
    match name {
        "dirs" => {
            e("mkdir a", sys::mkdir(p("a")))?;
            e("mkdir a/b", sys::mkdir(p("a/b")))?;
            e("mkdir t", sys::mkdir(p("t")))?;
            e("file a/f", file_with(&p("a/f"), 0x11, 100))?;
        }
        "link" => {
            e("file f", file_with(&p("f"), 0x22, 8192))?;
            e("mkdir d", sys::mkdir(p("d")))?;
        }
        "rename" => {
            for f in ["a", "b", "c"] {
                e(f, file_with(&p(f), 0x33, 3000))?;
            }
            e("mkdir d1", sys::mkdir(p("d1")))?;
            e("mkdir d2", sys::mkdir(p("d2")))?;
            e("file d1/x", file_with(&p("d1/x"), 0x34, 10))?;
            e("mkdir d1/sub", sys::mkdir(p("d1/sub")))?;
        }
        "truncate" | "fallocate" => e("file f", file_with(&p("f"), 0x5a, 3 * 4096 + 100))?,
        "write" => {
            e("file f", file_with(&p("f"), 0x44, 4 * 4096))?;
            e(
                "sparse",
                creat(&p("sparse")).and_then(|f| ftruncate(&f, 1 << 20)),
            )?;
        }
        "mmap" => {
            e(
                "pte",
                creat(&p("pte")).and_then(|f| ftruncate(&f, 64 << 10)),
            )?;
            e("pmd", creat(&p("pmd")).and_then(|f| ftruncate(&f, 4 << 20)))?;
        }
        "attrs" => {
            e("file f", file_with(&p("f"), 0x55, 10))?;
            e("mkdir d", sys::mkdir(p("d")))?;
        }
        "xattr" => {
            e("file f", file_with(&p("f"), 0x66, 10))?;
            e("file g", file_with(&p("g"), 0x67, 10))?;
            e(
                "g user.keep",
                sys::lsetxattr(p("g"), "user.keep", &[0x68; 3000], 0),
            )?;
            e("mkdir d", sys::mkdir(p("d")))?;
        }
        "bigdir" => e("mkdir big", sys::mkdir(p("big")))?,
        "create" | "symlink" | "tmpfile" | "journal" | "recovery" | "remount" => {}
        _ => return Err(format!("unknown workload {name} (known: {})", names())),
    }
    Ok(true)
}

fn names() -> String {
    WORKLOADS
        .iter()
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The traced part of workload `name`: mount `dev` on `mnt`, the calls, unmount.
pub fn run(name: &str, dev: &Path, mnt: &Path, ctl: &Path) -> Result<bool, String> {
    if !WORKLOADS.iter().any(|(n, _)| *n == name) {
        return Err(format!("unknown workload {name} (known: {})", names()));
    }
    let ctl = std::fs::OpenOptions::new()
        .write(true)
        .open(ctl)
        .map_err(|e| format!("{}: {e}", ctl.display()))?;
    let mut m = Marks { ctl, n: 0 };
    m.ctl(&format!("mark W {name}"))?;
    m.ok("mount", || mount(dev, mnt, 0))?;
    calls(name, &mut m, dev, mnt)?;
    m.ok("umount", || umount(mnt))?;
    println!("explore: {name}: {} calls marked", m.n);
    Ok(true)
}

fn calls(name: &str, m: &mut Marks, dev: &Path, dir: &Path) -> Result<(), String> {
    let p = |s: &str| -> PathBuf { dir.join(s) };
    match name {
        "create" => {
            m.ok("creat a", || creat(&p("a")).map(drop))?;
            m.ok("creat b", || {
                sys::open(p("b"), libc::O_CREAT | libc::O_EXCL | libc::O_RDWR, 0o600).map(drop)
            })?;
            m.ok("mknod fifo", || {
                sys::mknod(p("fifo"), libc::S_IFIFO | 0o644, 0, 0)
            })?;
            m.ok("mknod chr", || {
                sys::mknod(p("null"), libc::S_IFCHR | 0o666, 1, 3)
            })?;
            m.ok("mkdir d", || sys::mkdir(p("d")))?;
            m.ok("creat d/c", || creat(&p("d/c")).map(drop))?;
            m.fails("creat a again", libc::EEXIST, || creat(&p("a")).map(drop))?;
        }
        "dirs" => {
            m.ok("mkdir x", || sys::mkdir(p("x")))?;
            m.ok("mkdir x/y", || sys::mkdir(p("x/y")))?;
            m.ok("rmdir x/y", || sys::rmdir(p("x/y")))?;
            m.ok("rmdir a/b", || sys::rmdir(p("a/b")))?;
            m.fails("rmdir a (not empty)", libc::ENOTEMPTY, || {
                sys::rmdir(p("a"))
            })?;
            m.ok("rename a x/a", || sys::rename(p("a"), p("x/a")))?;
            m.ok("rename t x/a/t", || sys::rename(p("t"), p("x/a/t")))?;
        }
        "symlink" => {
            m.ok("symlink short", || sys::symlink("target", p("s")))?;
            let long = "l".repeat(3000);
            m.ok("symlink long", || sys::symlink(&long, p("l")))?;
            m.ok("unlink short", || sys::unlink(p("s")))?;
            m.ok("unlink long", || sys::unlink(p("l")))?;
        }
        "link" => {
            m.ok("link f g", || sys::link(p("f"), p("g")))?;
            m.ok("link f d/h", || sys::link(p("f"), p("d/h")))?;
            m.ok("unlink f", || sys::unlink(p("f")))?;
            m.ok("unlink g", || sys::unlink(p("g")))?;
            m.ok("unlink d/h", || sys::unlink(p("d/h")))?;
        }
        "rename" => {
            m.ok("rename a b (over)", || sys::rename(p("a"), p("b")))?;
            m.ok("rename c d2/c", || sys::rename(p("c"), p("d2/c")))?;
            m.ok("rename exchange d2/c d1/x", || {
                sys::renameat2(p("d2/c"), p("d1/x"), libc::RENAME_EXCHANGE)
            })?;
            m.ok("rename exchange d1/sub d2", || {
                sys::renameat2(p("d1/sub"), p("d2"), libc::RENAME_EXCHANGE)
            })?;
            m.ok("rename whiteout b w", || {
                sys::renameat2(p("b"), p("w"), libc::RENAME_WHITEOUT)
            })?;
            m.fails("rename noreplace w d1/x", libc::EEXIST, || {
                sys::renameat2(p("w"), p("d1/x"), libc::RENAME_NOREPLACE)
            })?;
            m.ok("rename noreplace w n", || {
                sys::renameat2(p("w"), p("n"), libc::RENAME_NOREPLACE)
            })?;
            m.ok("rename d2 d1/sub2 (directory across)", || {
                sys::rename(p("d2"), p("d1/sub2"))
            })?;
        }
        "tmpfile" => {
            let t = m.ok("open O_TMPFILE", || {
                sys::open(dir, libc::O_TMPFILE | libc::O_RDWR, 0o600)
            })?;
            m.step("write tmpfile", || pwrite(&t, &[0x66; 100], 0))?;
            let fd = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&t));
            m.ok("linkat tmpfile", || {
                sys::linkat(&fd, p("linked"), libc::AT_SYMLINK_FOLLOW)
            })?;
            m.ok("close tmpfile", || {
                drop(t);
                Ok(())
            })?;
            let f = m.ok("creat g", || creat(&p("g")))?;
            m.step("write g", || pwrite(&f, &[0x67; 6000], 0))?;
            m.ok("unlink g (open)", || sys::unlink(p("g")))?;
            m.step("write g unlinked", || pwrite(&f, &[0x68; 100], 6000))?;
            m.ok("close g (last reference)", || {
                drop(f);
                Ok(())
            })?;
        }
        "truncate" => {
            let f = rw(&p("f")).map_err(|e| format!("open f: {e}"))?;
            m.ok("truncate 5000", || ftruncate(&f, 5000))?;
            m.ok("truncate 20000", || ftruncate(&f, 20000))?;
            m.ok("truncate 0", || ftruncate(&f, 0))?;
            m.ok("truncate 9000", || ftruncate(&f, 9000))?;
        }
        "fallocate" => {
            let f = rw(&p("f")).map_err(|e| format!("open f: {e}"))?;
            m.step("fallocate 64K+64K", || {
                sys::fallocate(&f, 0, 64 << 10, 64 << 10)
            })?;
            m.step("fallocate keep-size", || {
                sys::fallocate(&f, libc::FALLOC_FL_KEEP_SIZE, 128 << 10, 64 << 10)
            })?;
            m.step("fallocate punch", || {
                sys::fallocate(
                    &f,
                    libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
                    4096,
                    8192,
                )
            })?;
            m.step("fallocate zero-range", || {
                sys::fallocate(&f, libc::FALLOC_FL_ZERO_RANGE, 100, 5000)
            })?;
            m.step("fallocate zero-range keep-size", || {
                sys::fallocate(
                    &f,
                    libc::FALLOC_FL_ZERO_RANGE | libc::FALLOC_FL_KEEP_SIZE,
                    200 << 10,
                    8192,
                )
            })?;
            for (what, mode) in [
                ("collapse", libc::FALLOC_FL_COLLAPSE_RANGE),
                ("insert", libc::FALLOC_FL_INSERT_RANGE),
            ] {
                // Made in steps (docs/PERSISTENCE.md): every step's state is consistent.
                m.step(&format!("fallocate {what}"), || {
                    sys::fallocate(&f, mode, 16 << 10, 16 << 10)
                })?;
            }
            // The keep-size blocks are past the end: a truncate to the same size frees them.
            m.ok("truncate to its own size", || {
                let size = sys::fstat(&f)?.st_size as u64;
                ftruncate(&f, size)
            })?;
        }
        "write" => {
            let f = rw(&p("f")).map_err(|e| format!("open f: {e}"))?;
            m.step("pwrite extend", || pwrite(&f, &[0x71; 100], 4 * 4096))?;
            m.step("pwrite over data", || pwrite(&f, &[0x72; 200], 4000))?;
            let s = rw(&p("sparse")).map_err(|e| format!("open sparse: {e}"))?;
            m.step("pwrite into hole", || pwrite(&s, &[0x73; 8192], 512 << 10))?;
            let a = sys::open(p("f"), libc::O_WRONLY | libc::O_APPEND, 0)
                .map_err(|e| format!("open f: {e}"))?;
            m.step("write O_APPEND", || {
                (&a).write_all(&[0x74; 50]).map_err(Errno::from)
            })?;
            let n = m.ok("creat new", || creat(&p("new")))?;
            m.step("write new", || pwrite(&n, &[0x75; 5000], 0))?;
            m.ok("fsync new", || n.sync_all().map_err(Errno::from))?;
        }
        "mmap" => {
            let f = rw(&p("pte")).map_err(|e| format!("open pte: {e}"))?;
            let map = Map::shared(&f, 64 << 10).map_err(|e| format!("mmap pte: {e}"))?;
            m.step("store: PTE write fault", || {
                map.wr(12 << 10, 0x81);
                Ok(())
            })?;
            m.ok("msync", || map.msync(0, 64 << 10, libc::MS_SYNC))?;
            let g = rw(&p("pmd")).map_err(|e| format!("open pmd: {e}"))?;
            let smap =
                Map::shared_sync(&g, 4 << 20).map_err(|e| format!("mmap MAP_SYNC pmd: {e}"))?;
            m.step("store: MAP_SYNC PMD write fault", || {
                smap.wr(2 << 20, 0x82);
                Ok(())
            })?;
            m.step("store: MAP_SYNC write fault in the first 2 MiB", || {
                smap.wr(4096, 0x83);
                Ok(())
            })?;
            drop(smap);
            drop(map);
        }
        "attrs" => {
            m.ok("chmod f", || sys::chmod(p("f"), 0o4750))?;
            m.ok("chown f", || sys::lchown(p("f"), Some(1000), Some(1001)))?;
            m.ok("utimes f", || {
                sys::set_times(p("f"), Some((1_000_000, 5)), Some((2_000_000, 7)))
            })?;
            m.ok("chmod d", || sys::chmod(p("d"), 0o1777))?;
            m.ok("chown d", || sys::lchown(p("d"), None, Some(42)))?;
            m.ok("chattr +ia f", || sys::set_flags(p("f"), 0x10 | 0x20))?;
            m.fails("chmod f (immutable)", libc::EPERM, || {
                sys::chmod(p("f"), 0o600)
            })?;
            m.ok("chattr -i +d f", || sys::set_flags(p("f"), 0x20 | 0x40))?;
            m.ok("set label", || sys::set_label(dir, "explored"))?;
        }
        "xattr" => {
            use crate::ops::{acl, ACCESS, ACL_GROUP_OBJ, ACL_MASK, ACL_OTHER, ACL_UNDEFINED};
            use crate::ops::{ACL_USER, ACL_USER_OBJ, DEFAULT};
            m.ok("setxattr f user.a (in the record)", || {
                sys::lsetxattr(p("f"), "user.a", b"first", 0)
            })?;
            m.ok("setxattr f trusted.b (new block)", || {
                sys::lsetxattr(p("f"), "trusted.b", b"second", 0)
            })?;
            m.ok("setxattr f user.big (value blocks)", || {
                sys::lsetxattr(p("f"), "user.big", &[0x69; 9000], 0)
            })?;
            m.ok("setxattr f user.big (replaced, shorter)", || {
                sys::lsetxattr(p("f"), "user.big", &[0x6a; 500], libc::XATTR_REPLACE)
            })?;
            m.ok("removexattr f user.a", || {
                sys::lremovexattr(p("f"), "user.a")
            })?;
            m.fails("setxattr f user.big XATTR_CREATE", libc::EEXIST, || {
                sys::lsetxattr(p("f"), "user.big", b"x", libc::XATTR_CREATE)
            })?;
            m.ok("removexattr f user.big", || {
                sys::lremovexattr(p("f"), "user.big")
            })?;
            m.ok("removexattr f trusted.b (frees the block)", || {
                sys::lremovexattr(p("f"), "trusted.b")
            })?;
            let access = acl(&[
                (ACL_USER_OBJ, ACL_UNDEFINED, 6),
                (ACL_USER, 1000, 6),
                (ACL_GROUP_OBJ, ACL_UNDEFINED, 4),
                (ACL_MASK, ACL_UNDEFINED, 6),
                (ACL_OTHER, ACL_UNDEFINED, 0),
            ]);
            m.ok("set access ACL f (and the mode)", || {
                sys::lsetxattr(p("f"), ACCESS, &access, 0)
            })?;
            let default = acl(&[
                (ACL_USER_OBJ, ACL_UNDEFINED, 7),
                (ACL_USER, 1000, 7),
                (ACL_GROUP_OBJ, ACL_UNDEFINED, 5),
                (ACL_MASK, ACL_UNDEFINED, 7),
                (ACL_OTHER, ACL_UNDEFINED, 5),
            ]);
            m.ok("set default ACL d", || {
                sys::lsetxattr(p("d"), DEFAULT, &default, 0)
            })?;
            m.ok("setxattr d user.grow (in the record)", || {
                sys::lsetxattr(p("d"), "user.grow", b"small", 0)
            })?;
            m.ok("setxattr d user.grow (grown: to a new block)", || {
                sys::lsetxattr(p("d"), "user.grow", &[0x6b; 200], 0)
            })?;
            m.ok(
                "setxattr d user.grow (shrunk: back, frees the block)",
                || sys::lsetxattr(p("d"), "user.grow", b"tiny", 0),
            )?;
            m.ok("creat d/new (inherits)", || creat(&p("d/new")).map(drop))?;
            m.ok("mkdir d/sub (inherits both)", || sys::mkdir(p("d/sub")))?;
            m.ok(
                "rename whiteout d/new d/moved (the whiteout inherits)",
                || sys::renameat2(p("d/new"), p("d/moved"), libc::RENAME_WHITEOUT),
            )?;
            m.ok("chmod f (the ACL's mask)", || sys::chmod(p("f"), 0o600))?;
            m.ok("unlink g (frees its attributes)", || sys::unlink(p("g")))?;
        }
        "bigdir" => {
            let name = |i: usize| format!("big/{i:03}-{}", "n".repeat(200));
            for i in 0..48 {
                m.ok(&format!("creat big/{i}"), || creat(&p(&name(i))).map(drop))?;
            }
            for i in (0..48).step_by(2) {
                m.ok(&format!("unlink big/{i}"), || sys::unlink(p(&name(i))))?;
            }
        }
        "journal" => {
            for i in 0..24 {
                let f = m.ok(&format!("creat f{i}"), || creat(&p(&format!("f{i}"))))?;
                m.step(&format!("write f{i}"), || pwrite(&f, &[0x90; 100], 0))?;
            }
            for i in 0..8 {
                m.ok(&format!("unlink f{i}"), || sys::unlink(p(&format!("f{i}"))))?;
            }
        }
        "recovery" => {
            let a = m.ok("creat a", || creat(&p("a")))?;
            m.step("write a", || pwrite(&a, &[0xa1; 5000], 0))?;
            drop(a);
            m.ok("mkdir d", || sys::mkdir(p("d")))?;
            let o = m.ok("creat d/orphan", || creat(&p("d/orphan")))?;
            m.step("write d/orphan", || pwrite(&o, &[0xa2; 9000], 0))?;
            m.ok("unlink d/orphan (open)", || sys::unlink(p("d/orphan")))?;
            // Transactions that free nothing leave the journal unemptied: replay has work.
            m.ok("creat e", || creat(&p("e")).map(drop))?;
            // A power cut right after chmod's journal commit: nothing after it reaches the device
            // (the trace build drops it), so its in-place writes are for replay to make, and the
            // unmount leaves the journal and the orphan behind.
            m.ctl("freeze-after-fence 1")?;
            m.ok("chmod a (in place: dropped)", || sys::chmod(p("a"), 0o600))?;
            m.ok("close d/orphan (dropped)", || {
                drop(o);
                Ok(())
            })?;
            m.ok("umount (dropped)", || umount(dir))?;
            m.ctl("thaw")?;
            m.ok("mount: replay and orphan cleanup", || mount(dev, dir, 0))?;
            m.ok("creat b", || creat(&p("b")).map(drop))?;
        }
        "remount" => {
            m.ok("creat a", || creat(&p("a")).map(drop))?;
            m.ok("remount ro", || {
                mount(Path::new("none"), dir, libc::MS_REMOUNT | libc::MS_RDONLY)
            })?;
            m.fails("creat b (read-only)", libc::EROFS, || {
                creat(&p("b")).map(drop)
            })?;
            m.ok("remount rw", || {
                mount(Path::new("none"), dir, libc::MS_REMOUNT)
            })?;
            m.ok("creat b", || creat(&p("b")).map(drop))?;
        }
        _ => return Err(format!("unknown workload {name}")),
    }
    Ok(())
}

/// Fills the first `bytes` bytes of `dev` with the explorer's [`pattern_word`]s (so that stale
/// blocks are recognisable in a crash state) and makes them durable.
pub fn fill(dev: &Path, bytes: u64) -> Result<bool, String> {
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(dev)
        .map_err(|e| format!("{}: {e}", dev.display()))?;
    const CHUNK: u64 = 1 << 20;
    let mut buf = vec![0u8; CHUNK as usize];
    let mut off = 0u64;
    while off < bytes {
        let n = CHUNK.min(bytes - off);
        for (i, w) in buf.chunks_exact_mut(8).enumerate().take((n / 8) as usize) {
            w.copy_from_slice(&pattern_word(off + 8 * i as u64).to_le_bytes());
        }
        f.write_all_at(&buf[..n as usize], off)
            .map_err(|e| format!("{}: write at {off}: {e}", dev.display()))?;
        off += n;
    }
    f.sync_all()
        .map_err(|e| format!("{}: fsync: {e}", dev.display()))?;
    Ok(true)
}

/// Saves the device image of `bytes` bytes read from standard input (`dd iflag=direct`: the
/// block device's page cache may hold what mkfs wrote before the DAX mount's stores) to `out` as
/// its difference from the fill ([`save_image`]): a few hundred blocks instead of the whole
/// device.
pub fn save(bytes: u64, out: &Path) -> Result<bool, String> {
    let mut img = vec![0u8; bytes as usize];
    std::io::Read::read_exact(&mut std::io::stdin().lock(), &mut img)
        .map_err(|e| format!("the image on standard input: {e}"))?;
    std::fs::write(out, save_image(&img)).map_err(|e| format!("{}: {e}", out.display()))?;
    Ok(true)
}
