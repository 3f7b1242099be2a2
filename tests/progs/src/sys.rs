//! Thin wrappers of the system calls the probes make, returning the errno as an [`Errno`] so that
//! each result can be printed by name. Calls that `std` makes well are left to `std` and their
//! `io::Error` converted; the rest are made here through `libc`, each `unsafe` block with its
//! reason.

use std::ffi::{CStr, CString};
use std::fmt;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// An errno value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Errno(pub i32);

/// The result of a system call.
pub type Res<T> = Result<T, Errno>;

impl Errno {
    /// The calling thread's errno, right after a failed call.
    pub fn last() -> Self {
        Errno(
            io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EIO),
        )
    }

    /// The symbolic name (`ENOENT`), or `E<number>` for one this table lacks.
    pub fn name(self) -> String {
        let name = match self.0 {
            libc::EPERM => "EPERM",
            libc::ENOENT => "ENOENT",
            libc::EIO => "EIO",
            libc::ENXIO => "ENXIO",
            libc::E2BIG => "E2BIG",
            libc::EBADF => "EBADF",
            libc::EAGAIN => "EAGAIN",
            libc::ENOMEM => "ENOMEM",
            libc::EACCES => "EACCES",
            libc::EFAULT => "EFAULT",
            libc::EBUSY => "EBUSY",
            libc::EEXIST => "EEXIST",
            libc::EXDEV => "EXDEV",
            libc::ENODEV => "ENODEV",
            libc::ENOTDIR => "ENOTDIR",
            libc::EISDIR => "EISDIR",
            libc::EINVAL => "EINVAL",
            libc::ENFILE => "ENFILE",
            libc::EMFILE => "EMFILE",
            libc::ETXTBSY => "ETXTBSY",
            libc::EFBIG => "EFBIG",
            libc::ENOSPC => "ENOSPC",
            libc::ESPIPE => "ESPIPE",
            libc::EROFS => "EROFS",
            libc::EMLINK => "EMLINK",
            libc::ERANGE => "ERANGE",
            libc::ENAMETOOLONG => "ENAMETOOLONG",
            libc::ENOSYS => "ENOSYS",
            libc::ENOTEMPTY => "ENOTEMPTY",
            libc::ELOOP => "ELOOP",
            libc::ENODATA => "ENODATA",
            libc::EOVERFLOW => "EOVERFLOW",
            libc::EOPNOTSUPP => "EOPNOTSUPP",
            libc::EDQUOT => "EDQUOT",
            libc::EUCLEAN => "EUCLEAN",
            libc::ESTALE => "ESTALE",
            n => return format!("E{n}"),
        };
        name.to_string()
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl From<io::Error> for Errno {
    fn from(e: io::Error) -> Self {
        Errno(e.raw_os_error().unwrap_or(libc::EIO))
    }
}

/// Turns a libc return value into a result: -1 means errno.
fn check<T: Copy + PartialEq + From<i8>>(rc: T) -> Res<T> {
    if rc == T::from(-1) {
        Err(Errno::last())
    } else {
        Ok(rc)
    }
}

/// A path as a C string (paths with a NUL byte cannot name anything: `EINVAL`).
pub fn cpath(p: impl AsRef<Path>) -> Res<CString> {
    CString::new(p.as_ref().as_os_str().as_bytes()).map_err(|_| Errno(libc::EINVAL))
}

/// `open(2)`.
pub fn open(p: impl AsRef<Path>, flags: i32, mode: u32) -> Res<File> {
    let c = cpath(p)?;
    // SAFETY: `c` is NUL-terminated; `open` takes no other pointer.
    let fd = check(unsafe { libc::open(c.as_ptr(), flags | libc::O_CLOEXEC, mode) })?;
    // SAFETY: `open` returned a new descriptor that nothing else owns.
    Ok(File::from(unsafe { OwnedFd::from_raw_fd(fd) }))
}

/// `lstat(2)`: the file itself, symlinks not followed.
pub fn lstat(p: impl AsRef<Path>) -> Res<libc::stat> {
    let c = cpath(p)?;
    let mut st = std::mem::MaybeUninit::<libc::stat>::zeroed();
    // SAFETY: `c` is NUL-terminated and `st` is valid for writing one `stat`.
    check(unsafe { libc::lstat(c.as_ptr(), st.as_mut_ptr()) })?;
    // SAFETY: `lstat` succeeded, so it filled `st`.
    Ok(unsafe { st.assume_init() })
}

/// `fstat(2)`.
pub fn fstat(f: &impl AsRawFd) -> Res<libc::stat> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::zeroed();
    // SAFETY: `st` is valid for writing one `stat`.
    check(unsafe { libc::fstat(f.as_raw_fd(), st.as_mut_ptr()) })?;
    // SAFETY: `fstat` succeeded, so it filled `st`.
    Ok(unsafe { st.assume_init() })
}

/// `statx(2)` of `p` itself (symlinks not followed): `stx_attributes` and
/// `stx_attributes_mask`.
pub fn statx_attributes(p: impl AsRef<Path>) -> Res<(u64, u64)> {
    let c = cpath(p)?;
    let mut st = std::mem::MaybeUninit::<libc::statx>::zeroed();
    // SAFETY: `c` is NUL-terminated and `st` is valid for writing one `statx`.
    check(unsafe {
        libc::statx(
            libc::AT_FDCWD,
            c.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
            libc::STATX_BASIC_STATS,
            st.as_mut_ptr(),
        )
    })?;
    // SAFETY: `statx` succeeded, so it filled `st`.
    let st = unsafe { st.assume_init() };
    Ok((st.stx_attributes, st.stx_attributes_mask))
}

/// `mknod(2)` with `makedev(major, minor)`.
pub fn mknod(p: impl AsRef<Path>, mode: u32, major: u32, minor: u32) -> Res<()> {
    let c = cpath(p)?;
    // SAFETY: `c` is NUL-terminated.
    check(unsafe { libc::mknod(c.as_ptr(), mode, libc::makedev(major, minor)) })?;
    Ok(())
}

/// `renameat2(2)` through the raw system call (`RENAME_NOREPLACE`, `RENAME_EXCHANGE`,
/// `RENAME_WHITEOUT`).
pub fn renameat2(from: impl AsRef<Path>, to: impl AsRef<Path>, flags: u32) -> Res<()> {
    let (a, b) = (cpath(from)?, cpath(to)?);
    // SAFETY: both paths are NUL-terminated; the call reads nothing else.
    check(unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            flags,
        )
    })?;
    Ok(())
}

/// `linkat(2)` from the working directory, with `flags` (`AT_SYMLINK_FOLLOW`).
pub fn linkat(from: impl AsRef<Path>, to: impl AsRef<Path>, flags: i32) -> Res<()> {
    let (a, b) = (cpath(from)?, cpath(to)?);
    // SAFETY: both paths are NUL-terminated.
    check(unsafe {
        libc::linkat(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            flags,
        )
    })?;
    Ok(())
}

/// `utimensat(2)` without following symlinks; each time is `(seconds, nanoseconds)`, or `None`
/// for `UTIME_OMIT`.
pub fn set_times(
    p: impl AsRef<Path>,
    atime: Option<(i64, i64)>,
    mtime: Option<(i64, i64)>,
) -> Res<()> {
    let c = cpath(p)?;
    let ts = |t: Option<(i64, i64)>| match t {
        Some((s, ns)) => libc::timespec {
            tv_sec: s,
            tv_nsec: ns,
        },
        None => libc::timespec {
            tv_sec: 0,
            tv_nsec: libc::UTIME_OMIT,
        },
    };
    let times = [ts(atime), ts(mtime)];
    // SAFETY: `c` is NUL-terminated and `times` holds the two timespecs utimensat reads.
    check(unsafe {
        libc::utimensat(
            libc::AT_FDCWD,
            c.as_ptr(),
            times.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    })?;
    Ok(())
}

/// `utimensat(2)` with both times set to now.
pub fn touch_now(p: impl AsRef<Path>) -> Res<()> {
    let c = cpath(p)?;
    // SAFETY: `c` is NUL-terminated; a null `times` means "now".
    check(unsafe { libc::utimensat(libc::AT_FDCWD, c.as_ptr(), std::ptr::null(), 0) })?;
    Ok(())
}

/// `lchown(2)`; `None` leaves that id unchanged.
pub fn lchown(p: impl AsRef<Path>, uid: Option<u32>, gid: Option<u32>) -> Res<()> {
    std::os::unix::fs::lchown(p, uid, gid).map_err(Errno::from)
}

/// `chmod(2)` with any mode bits (set-id and sticky included).
pub fn chmod(p: impl AsRef<Path>, mode: u32) -> Res<()> {
    let c = cpath(p)?;
    // SAFETY: `c` is NUL-terminated.
    check(unsafe { libc::chmod(c.as_ptr(), mode) })?;
    Ok(())
}

/// `lseek(2)` with any `whence` (`SEEK_DATA`, `SEEK_HOLE`).
pub fn lseek(f: &File, off: i64, whence: i32) -> Res<i64> {
    // SAFETY: plain system call on an open descriptor.
    check(unsafe { libc::lseek(f.as_raw_fd(), off, whence) })
}

/// `fallocate(2)`.
pub fn fallocate(f: &File, mode: i32, off: i64, len: i64) -> Res<()> {
    // SAFETY: plain system call on an open descriptor.
    check(unsafe { libc::fallocate(f.as_raw_fd(), mode, off, len) })?;
    Ok(())
}

/// `fstatfs(2)` of the filesystem holding `f`.
pub fn fstatfs(f: &impl AsRawFd) -> Res<libc::statfs> {
    let mut st = std::mem::MaybeUninit::<libc::statfs>::zeroed();
    // SAFETY: `st` is valid for writing one `statfs`.
    check(unsafe { libc::fstatfs(f.as_raw_fd(), st.as_mut_ptr()) })?;
    // SAFETY: `fstatfs` succeeded, so it filled `st`.
    Ok(unsafe { st.assume_init() })
}

/// `syncfs(2)` of the filesystem holding `f`.
pub fn syncfs(f: &impl AsRawFd) -> Res<()> {
    // SAFETY: plain system call on an open descriptor.
    check(unsafe { libc::syncfs(f.as_raw_fd()) })?;
    Ok(())
}

/// `fsync(2)` of a directory (or any path opened read-only).
pub fn fsync_path(p: impl AsRef<Path>) -> Res<()> {
    open(p, libc::O_RDONLY | libc::O_DIRECTORY, 0)?
        .sync_all()
        .map_err(Errno::from)
}

/// One extent reported by FIEMAP.
#[derive(Clone, Copy, Debug)]
pub struct FiemapExtent {
    /// Byte offset in the file.
    pub logical: u64,
    /// Length in bytes.
    pub length: u64,
    /// Byte offset on the device.
    pub physical: u64,
    /// `FIEMAP_EXTENT_*` flags.
    pub flags: u32,
}

/// `FIEMAP_EXTENT_LAST` (include/uapi/linux/fiemap.h).
pub const FIEMAP_EXTENT_LAST: u32 = 0x1;
/// `FIEMAP_FLAG_SYNC`.
const FIEMAP_FLAG_SYNC: u32 = 0x1;
/// `FS_IOC_FIEMAP`: `_IOWR('f', 11, struct fiemap)`.
const FS_IOC_FIEMAP: libc::c_ulong = 0xc020_660b;
/// How many extents one FIEMAP call asks for.
const FIEMAP_MAX: usize = 64;

/// `struct fiemap_extent` (include/uapi/linux/fiemap.h).
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct RawFiemapExtent {
    fe_logical: u64,
    fe_physical: u64,
    fe_length: u64,
    fe_reserved64: [u64; 2],
    fe_flags: u32,
    fe_reserved: [u32; 3],
}

/// `struct fiemap` followed by room for [`FIEMAP_MAX`] extents.
#[repr(C)]
struct RawFiemap {
    fm_start: u64,
    fm_length: u64,
    fm_flags: u32,
    fm_mapped_extents: u32,
    fm_extent_count: u32,
    fm_reserved: u32,
    fm_extents: [RawFiemapExtent; FIEMAP_MAX],
}

/// `FIEMAP_FLAG_XATTR`.
const FIEMAP_FLAG_XATTR: u32 = 0x2;

/// The extents of `f` (the first [`FIEMAP_MAX`]), after syncing it.
pub fn fiemap(f: &File) -> Res<Vec<FiemapExtent>> {
    fiemap_flags(f, FIEMAP_FLAG_SYNC)
}

/// The extents that hold the extended attributes of `f` (`FIEMAP_FLAG_XATTR`).
pub fn fiemap_xattr(f: &File) -> Res<Vec<FiemapExtent>> {
    fiemap_flags(f, FIEMAP_FLAG_XATTR)
}

fn fiemap_flags(f: &File, flags: u32) -> Res<Vec<FiemapExtent>> {
    let mut fm = RawFiemap {
        fm_start: 0,
        fm_length: u64::MAX,
        fm_flags: flags,
        fm_mapped_extents: 0,
        fm_extent_count: FIEMAP_MAX as u32,
        fm_reserved: 0,
        fm_extents: [RawFiemapExtent::default(); FIEMAP_MAX],
    };
    // SAFETY: `fm` is a `struct fiemap` with room for `fm_extent_count` extents after it, as
    // FS_IOC_FIEMAP requires; the kernel writes only within it.
    check(unsafe { libc::ioctl(f.as_raw_fd(), FS_IOC_FIEMAP, &mut fm as *mut RawFiemap) })?;
    let n = (fm.fm_mapped_extents as usize).min(FIEMAP_MAX);
    Ok(fm.fm_extents[..n]
        .iter()
        .map(|e| FiemapExtent {
            logical: e.fe_logical,
            length: e.fe_length,
            physical: e.fe_physical,
            flags: e.fe_flags,
        })
        .collect())
}

/// One directory entry as `readdir(3)` returns it.
#[derive(Clone, Debug)]
pub struct DirEntry {
    /// The name, as bytes.
    pub name: Vec<u8>,
    /// `DT_*`.
    pub d_type: u8,
}

/// An open directory stream, read entry by entry (`.` and `..` included), so that callers can
/// change the directory between reads.
pub struct Dir(std::ptr::NonNull<libc::DIR>);

impl Dir {
    /// `opendir(3)`.
    pub fn open(p: impl AsRef<Path>) -> Res<Dir> {
        let c = cpath(p)?;
        // SAFETY: `c` is NUL-terminated.
        let d = unsafe { libc::opendir(c.as_ptr()) };
        std::ptr::NonNull::new(d).map(Dir).ok_or_else(Errno::last)
    }

    /// `readdir(3)`: the next entry, `None` at the end.
    pub fn next_entry(&mut self) -> Res<Option<DirEntry>> {
        // SAFETY: errno is thread-local; readdir leaves it alone at the end of the stream, so it
        // must be cleared first to tell the end from an error.
        unsafe { *libc::__errno_location() = 0 };
        // SAFETY: `self.0` is an open stream (type invariant: opened by `open`, closed in drop).
        let e = unsafe { libc::readdir64(self.0.as_ptr()) };
        if e.is_null() {
            return match Errno::last() {
                Errno(0) => Ok(None),
                err => Err(err),
            };
        }
        // SAFETY: a non-null readdir result points at an entry with a NUL-terminated name that
        // stays valid until the next readdir call on this stream; the name is copied out here.
        let (name, d_type) = unsafe {
            (
                CStr::from_ptr((*e).d_name.as_ptr()).to_bytes().to_vec(),
                (*e).d_type,
            )
        };
        Ok(Some(DirEntry { name, d_type }))
    }

    /// Every remaining entry.
    pub fn read_all(mut self) -> Res<Vec<DirEntry>> {
        let mut v = Vec::new();
        while let Some(e) = self.next_entry()? {
            v.push(e);
        }
        Ok(v)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        // SAFETY: the stream is open and is not used after this.
        unsafe { libc::closedir(self.0.as_ptr()) };
    }
}

/// The names in directory `p` (without `.` and `..`), sorted.
pub fn list(p: impl AsRef<Path>) -> Res<Vec<String>> {
    let mut names: Vec<String> = Dir::open(p)?
        .read_all()?
        .into_iter()
        .map(|e| String::from_utf8_lossy(&e.name).into_owned())
        .filter(|n| n != "." && n != "..")
        .collect();
    names.sort();
    Ok(names)
}

/// Runs `f` in a forked child with the given ids (no supplementary groups) and returns its
/// result: `Ok` when `f` succeeded, else the errno it failed with.
pub fn as_user(uid: u32, gid: u32, f: impl FnOnce() -> Res<()>) -> Res<()> {
    in_child(
        || {
            // SAFETY: in the child; dropping privileges is plain system calls.
            unsafe {
                libc::setgroups(0, std::ptr::null()) == 0
                    && libc::setresgid(gid, gid, gid) == 0
                    && libc::setresuid(uid, uid, uid) == 0
            }
        },
        f,
    )
}

/// Runs `f` in a forked child whose file size limit (`RLIMIT_FSIZE`) is `limit` bytes, with
/// `SIGXFSZ` ignored so that going past it is the errno alone; returns as [`as_user`] does.
pub fn with_fsize_limit(limit: u64, f: impl FnOnce() -> Res<()>) -> Res<()> {
    in_child(
        || {
            let rl = libc::rlimit {
                rlim_cur: limit,
                rlim_max: limit,
            };
            // SAFETY: in the child; `rl` is valid for reading; ignoring a signal is plain
            // system calls.
            unsafe {
                libc::setrlimit(libc::RLIMIT_FSIZE, &rl) == 0
                    && libc::signal(libc::SIGXFSZ, libc::SIG_IGN) != libc::SIG_ERR
            }
        },
        f,
    )
}

/// Runs `setup`, then (if it succeeded) `f`, in a forked child, and returns `f`'s result: `Ok`,
/// else the errno it failed with; `ECHILD` if `setup` failed or the child did not exit.
fn in_child(setup: impl FnOnce() -> bool, f: impl FnOnce() -> Res<()>) -> Res<()> {
    use std::io::Write;
    let _ = io::stdout().flush();
    // SAFETY: the program is single-threaded; the child only makes system calls and exits.
    let pid = check(unsafe { libc::fork() })?;
    if pid == 0 {
        let code = if !setup() {
            255
        } else {
            match f() {
                Ok(()) => 0,
                Err(Errno(e)) => e.clamp(1, 254),
            }
        };
        // SAFETY: leaves the child at once, without running the parent's exit handlers.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: `status` is valid for writing; `pid` is our child.
    check(unsafe { libc::waitpid(pid, &mut status, 0) })?;
    match libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)) {
        Some(0) => Ok(()),
        Some(255) | None => Err(Errno(libc::ECHILD)),
        Some(e) => Err(Errno(e)),
    }
}

/// `mkdir(2)` with mode 0777 (less the umask).
pub fn mkdir(p: impl AsRef<Path>) -> Res<()> {
    std::fs::create_dir(p).map_err(Errno::from)
}

/// `rmdir(2)`.
pub fn rmdir(p: impl AsRef<Path>) -> Res<()> {
    std::fs::remove_dir(p).map_err(Errno::from)
}

/// `unlink(2)`.
pub fn unlink(p: impl AsRef<Path>) -> Res<()> {
    std::fs::remove_file(p).map_err(Errno::from)
}

/// `rename(2)`.
pub fn rename(from: impl AsRef<Path>, to: impl AsRef<Path>) -> Res<()> {
    std::fs::rename(from, to).map_err(Errno::from)
}

/// `link(2)`.
pub fn link(from: impl AsRef<Path>, to: impl AsRef<Path>) -> Res<()> {
    std::fs::hard_link(from, to).map_err(Errno::from)
}

/// `symlink(2)`: a symlink at `p` holding `target`.
pub fn symlink(target: impl AsRef<Path>, p: impl AsRef<Path>) -> Res<()> {
    std::os::unix::fs::symlink(target, p).map_err(Errno::from)
}

/// `mount(2)` of `dev` on `mnt` as a filesystem of type `fs` with data `opts`.
pub fn mount(dev: &Path, mnt: &Path, fs: &CStr, flags: libc::c_ulong, opts: &CStr) -> Res<()> {
    let (d, m) = (cpath(dev)?, cpath(mnt)?);
    // SAFETY: every pointer is a NUL-terminated string that outlives the call.
    let rc = unsafe {
        libc::mount(
            d.as_ptr(),
            m.as_ptr(),
            fs.as_ptr(),
            flags,
            opts.as_ptr().cast(),
        )
    };
    if rc != 0 {
        return Err(Errno::last());
    }
    Ok(())
}

/// `umount(2)`.
pub fn umount(mnt: &Path) -> Res<()> {
    let m = cpath(mnt)?;
    // SAFETY: `m` is NUL-terminated.
    if unsafe { libc::umount(m.as_ptr()) } != 0 {
        return Err(Errno::last());
    }
    Ok(())
}

/// `umount2(MNT_DETACH)`: a lazy unmount, when a plain one failed.
pub fn umount2_detach(mnt: &Path) -> Res<()> {
    let m = cpath(mnt)?;
    // SAFETY: `m` is NUL-terminated.
    if unsafe { libc::umount2(m.as_ptr(), libc::MNT_DETACH) } != 0 {
        return Err(Errno::last());
    }
    Ok(())
}

/// An `ioctl` that takes no argument.
pub fn ioctl_none(f: &File, req: libc::c_ulong) -> Res<()> {
    // SAFETY: `f` is an open descriptor and the request reads or writes no memory of ours.
    if unsafe { libc::ioctl(f.as_raw_fd(), req) } != 0 {
        return Err(Errno::last());
    }
    Ok(())
}

/// `lsetxattr(2)` (`flags`: `XATTR_CREATE`, `XATTR_REPLACE` or 0).
pub fn lsetxattr(p: impl AsRef<Path>, name: &str, value: &[u8], flags: i32) -> Res<()> {
    let (c, n) = (
        cpath(p)?,
        CString::new(name).map_err(|_| Errno(libc::EINVAL))?,
    );
    // SAFETY: both strings are NUL-terminated; `value` is `len` readable bytes.
    check(unsafe {
        libc::lsetxattr(
            c.as_ptr(),
            n.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            flags,
        )
    })?;
    Ok(())
}

/// `lgetxattr(2)` into a buffer of `size` bytes: the bytes returned (for `size` 0, as many zero
/// bytes as the value's length).
pub fn lgetxattr(p: impl AsRef<Path>, name: &str, size: usize) -> Res<Vec<u8>> {
    let (c, n) = (
        cpath(p)?,
        CString::new(name).map_err(|_| Errno(libc::EINVAL))?,
    );
    let mut buf = vec![0u8; size];
    // SAFETY: both strings are NUL-terminated; `buf` is `size` writable bytes (NULL-safe at 0).
    let r = unsafe { libc::lgetxattr(c.as_ptr(), n.as_ptr(), buf.as_mut_ptr().cast(), size) };
    let len = usize::try_from(r).map_err(|_| Errno::last())?;
    buf.resize(len, 0);
    Ok(buf)
}

/// `llistxattr(2)`: the names, sorted (their order is the filesystem's own).
pub fn llistxattr(p: impl AsRef<Path>, size: usize) -> Res<Vec<String>> {
    let c = cpath(p)?;
    let mut buf = vec![0u8; size];
    // SAFETY: `c` is NUL-terminated; `buf` is `size` writable bytes.
    let r = unsafe { libc::llistxattr(c.as_ptr(), buf.as_mut_ptr().cast(), size) };
    let len = usize::try_from(r).map_err(|_| Errno::last())?;
    if size == 0 {
        return Ok(vec![format!("{len} bytes")]);
    }
    let mut v: Vec<String> = buf[..len]
        .split(|&b| b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect();
    v.sort();
    Ok(v)
}

/// `lremovexattr(2)`.
pub fn lremovexattr(p: impl AsRef<Path>, name: &str) -> Res<()> {
    let (c, n) = (
        cpath(p)?,
        CString::new(name).map_err(|_| Errno(libc::EINVAL))?,
    );
    // SAFETY: both strings are NUL-terminated.
    check(unsafe { libc::lremovexattr(c.as_ptr(), n.as_ptr()) })?;
    Ok(())
}

/// `FS_IOC_GETFLAGS`.
pub const FS_IOC_GETFLAGS: libc::c_ulong = 0x8008_6601;
/// `FS_IOC_SETFLAGS`.
pub const FS_IOC_SETFLAGS: libc::c_ulong = 0x4008_6602;
/// `FS_IOC_FSGETXATTR`.
pub const FS_IOC_FSGETXATTR: libc::c_ulong = 0x801c_581f;
/// `FS_IOC_FSSETXATTR`.
pub const FS_IOC_FSSETXATTR: libc::c_ulong = 0x401c_5820;

/// The inode flags of `p` (`FS_IOC_GETFLAGS`, as lsattr reads them).
pub fn get_flags(p: impl AsRef<Path>) -> Res<u32> {
    let f = open(p, libc::O_RDONLY | libc::O_NONBLOCK, 0)?;
    let mut flags: libc::c_int = 0;
    // SAFETY: the ioctl writes one int to `flags`.
    check(unsafe { libc::ioctl(f.as_raw_fd(), FS_IOC_GETFLAGS, &mut flags) })?;
    Ok(flags as u32)
}

/// Sets the inode flags of `p` (`FS_IOC_SETFLAGS`, as chattr does).
pub fn set_flags(p: impl AsRef<Path>, flags: u32) -> Res<()> {
    let f = open(p, libc::O_RDONLY | libc::O_NONBLOCK, 0)?;
    let flags = flags as libc::c_int;
    // SAFETY: the ioctl reads one int from `flags`.
    check(unsafe { libc::ioctl(f.as_raw_fd(), FS_IOC_SETFLAGS, &flags) })?;
    Ok(())
}

/// `struct fsxattr`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct FsXattr {
    pub xflags: u32,
    pub extsize: u32,
    pub nextents: u32,
    pub projid: u32,
    pub cowextsize: u32,
    pub pad: [u8; 8],
}

/// `FS_IOC_FSGETXATTR` (`ioctl` `get` true) or `FS_IOC_FSSETXATTR` of `p`.
pub fn fsxattr(p: impl AsRef<Path>, x: &mut FsXattr, get: bool) -> Res<()> {
    let f = open(p, libc::O_RDONLY | libc::O_NONBLOCK, 0)?;
    let req = if get {
        FS_IOC_FSGETXATTR
    } else {
        FS_IOC_FSSETXATTR
    };
    // SAFETY: the ioctl reads or writes one `struct fsxattr`.
    check(unsafe { libc::ioctl(f.as_raw_fd(), req, x as *mut FsXattr) })?;
    Ok(())
}

/// `truncate(2)`.
pub fn truncate(p: impl AsRef<Path>, len: i64) -> Res<()> {
    let c = cpath(p)?;
    // SAFETY: `c` is NUL-terminated.
    check(unsafe { libc::truncate(c.as_ptr(), len) })?;
    Ok(())
}

/// Maps `len` bytes of `f` shared and writable, and unmaps them again: whether that is allowed.
pub fn mmap_shared_rw(f: &File, len: usize) -> Res<()> {
    // SAFETY: a new mapping at an address of the kernel's choosing; unmapped right after.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            f.as_raw_fd(),
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return Err(Errno::last());
    }
    // SAFETY: `p` is the mapping just made, of `len` bytes.
    unsafe { libc::munmap(p, len) };
    Ok(())
}

/// `FIBMAP`: the device block (in filesystem blocks) of file block `block`, 0 for a hole.
pub fn fibmap(f: &File, block: u32) -> Res<u64> {
    let mut b = block as libc::c_int;
    // SAFETY: FIBMAP reads and writes one int.
    check(unsafe { libc::ioctl(f.as_raw_fd(), 1, &mut b) })?;
    Ok(b as u32 as u64)
}

/// An export handle (`struct file_handle`): its type and bytes, and the mount id it is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handle {
    pub kind: i32,
    pub bytes: Vec<u8>,
}

/// `name_to_handle_at(AT_FDCWD, p, ..., 0)`.
pub fn name_to_handle(p: impl AsRef<Path>) -> Res<Handle> {
    let c = cpath(p)?;
    // struct file_handle { u32 handle_bytes; int handle_type; unsigned char f_handle[]; }
    let mut buf = vec![0u8; 8 + 128];
    buf[..4].copy_from_slice(&128u32.to_ne_bytes());
    let mut mount_id: libc::c_int = 0;
    // SAFETY: `buf` is a file_handle with room for 128 bytes; `mount_id` is writable.
    check(unsafe {
        libc::syscall(
            libc::SYS_name_to_handle_at,
            libc::AT_FDCWD,
            c.as_ptr(),
            buf.as_mut_ptr(),
            &mut mount_id,
            0,
        ) as libc::c_int
    })?;
    let n = u32::from_ne_bytes(buf[..4].try_into().unwrap_or_default()) as usize;
    let kind = i32::from_ne_bytes(buf[4..8].try_into().unwrap_or_default());
    Ok(Handle {
        kind,
        bytes: buf[8..8 + n.min(128)].to_vec(),
    })
}

/// `open_by_handle_at(mount, h, flags)`, `mount` being any path on the filesystem.
pub fn open_by_handle(mount: impl AsRef<Path>, h: &Handle, flags: i32) -> Res<File> {
    let m = open(mount, libc::O_RDONLY | libc::O_DIRECTORY, 0)?;
    let mut buf = (h.bytes.len() as u32).to_ne_bytes().to_vec();
    buf.extend_from_slice(&h.kind.to_ne_bytes());
    buf.extend_from_slice(&h.bytes);
    // SAFETY: `buf` is a complete file_handle; the result is a new descriptor or -1.
    let fd = check(unsafe {
        libc::syscall(
            libc::SYS_open_by_handle_at,
            m.as_raw_fd(),
            buf.as_ptr(),
            flags | libc::O_CLOEXEC,
        ) as libc::c_int
    })?;
    // SAFETY: a new descriptor nothing else owns.
    Ok(File::from(unsafe { OwnedFd::from_raw_fd(fd) }))
}

/// `FS_IOC_SETFSLABEL` on the filesystem of `p`.
pub fn set_label(p: impl AsRef<Path>, label: &str) -> Res<()> {
    let f = open(p, libc::O_RDONLY, 0)?;
    let mut buf = [0u8; 256];
    let n = label.len().min(255);
    buf[..n].copy_from_slice(&label.as_bytes()[..n]);
    // SAFETY: the ioctl reads 256 bytes from `buf`.
    check(unsafe { libc::ioctl(f.as_raw_fd(), 0x4100_9432, buf.as_ptr()) })?;
    Ok(())
}
