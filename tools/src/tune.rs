// SPDX-License-Identifier: GPL-2.0

//! ferrite-tune: shows the superblock of a ferrite filesystem and changes what a user may change
//! of it, the label and the UUID, as tune2fs and xfs_admin do for theirs.
//!
//! # Offline changes
//!
//! An unmounted filesystem is changed by one journal transaction, the way the kernel changes its
//! label (`Ctx::set_label` in one transaction): the new primary and backup superblocks are
//! written to the log as DATA records and committed, then in place, then the journal header is
//! advanced past the transaction (a checkpoint), each step durable (fsync) before the next
//! ([`commit_superblocks`]). A crash before the commit is durable leaves both superblocks as they
//! were (recovery discards the transaction); one after it leaves a transaction that mount and
//! fsck replay, so that both superblocks get the new values whatever of the in-place writes was
//! done or torn (a torn primary is read through the journal: `read_superblock`). Of each block
//! only the changed field and the write time are rewritten: every other byte, reserved ones
//! included, stays as it is.
//!
//! A filesystem not in the state an unmount leaves is refused ([`prepare`]): the clean flag off or
//! the error flag on, committed transactions in the journal, an invalid primary or backup
//! superblock or journal header, a backup that disagrees with the primary, features this version
//! does not know. `fsck.ferrite -y`, or a mount and unmount, brings it to that state.
//!
//! # Mounted filesystems
//!
//! Nothing is written to a mounted device. The label of a mounted ferrite is set by the kernel,
//! through `FS_IOC_SETFSLABEL` on its mount point; a new UUID is refused (the kernel reads it
//! once, at mount). Mounted means listed in `/proc/self/mountinfo` ([`find_mount`]: a block device
//! by its device number, an image file by its path or by the loop device it backs); a block
//! device is also opened exclusively (`O_EXCL`) for an offline change, which the kernel refuses
//! while it is mounted in any namespace, and which keeps it from being mounted while it is open.
//!
//! # The UUID
//!
//! Nothing on the media is derived from the UUID or checksummed with it: metadata blocks and
//! inode records carry a plain crc32c, journal records are seeded with the journal header's own
//! nonce, directory keys are hashed with the superblock's separate hash seed. A new UUID changes
//! the two superblocks and nothing else. The kernel hands it to the VFS at mount (`s_uuid`, what
//! `FS_IOC_GETFSUUID` returns; statfs's `f_fsid` is derived from it), so anything that recorded
//! those (NFS exports by fsid, for one) sees another filesystem afterwards.

use crate::image::{Dry, Image};
use ferrite_format::*;
use std::io::Write;
use std::path::{Path, PathBuf};

/// What ferrite-tune is asked to do.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TuneOptions {
    /// `-l`: show the superblock (after the changes, if any).
    pub list: bool,
    /// `-L`: the new label, as given (checked with [`label_check`]).
    pub label: Option<Vec<u8>>,
    /// `-U`: the new UUID.
    pub uuid: Option<UuidArg>,
}

/// The argument of `-U`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UuidArg {
    /// This UUID.
    Set([u8; 16]),
    /// A new random one (version 4).
    Random,
    /// The nil UUID (all zeros).
    Clear,
}

impl UuidArg {
    /// Parses `UUID`, `random` or `clear`.
    pub fn parse(s: &str) -> Option<UuidArg> {
        match s {
            "random" => Some(UuidArg::Random),
            "clear" => Some(UuidArg::Clear),
            _ => crate::parse_uuid(s).map(UuidArg::Set),
        }
    }
}

/// A change of the superblocks, with every value decided.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Change {
    /// The new label (valid: [`label_check`]).
    pub label: Option<Vec<u8>>,
    /// The new UUID.
    pub uuid: Option<[u8; 16]>,
}

/// One line of `/proc/self/mountinfo`: a mount.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MountEntry {
    /// The device number (major, minor) of the mounted filesystem.
    pub dev: (u32, u32),
    /// Where it is mounted.
    pub mount_point: PathBuf,
    /// The filesystem type.
    pub fstype: String,
    /// What was mounted (a device path, as given to mount).
    pub source: String,
    /// Mounted read-only (the mount or the superblock).
    pub read_only: bool,
}

/// Undoes the octal escapes of mountinfo (`\040` for a space, `\011`, `\012`, `\134`).
fn unescape_mountinfo(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let oct = b.get(i + 1..i + 4).filter(|d| {
            b[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)) && d[0] <= b'3'
        });
        match oct {
            Some(d) => {
                out.push((d[0] - b'0') << 6 | (d[1] - b'0') << 3 | (d[2] - b'0'));
                i += 4;
            }
            None => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    out
}

/// The mounts listed in `text`, the contents of a mountinfo file (lines it cannot parse are
/// skipped). Format (proc(5)): `id parent major:minor root mount-point options [optional
/// fields...] - fstype source super-options`.
pub fn parse_mountinfo(text: &str) -> Vec<MountEntry> {
    use std::os::unix::ffi::OsStringExt;
    let mut v = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        let Some(sep) = f.iter().skip(6).position(|&x| x == "-").map(|p| p + 6) else {
            continue;
        };
        let (Some(devno), Some(mp), Some(opts), Some(fstype), Some(source), Some(sopts)) = (
            f.get(2),
            f.get(4),
            f.get(5),
            f.get(sep + 1),
            f.get(sep + 2),
            f.get(sep + 3),
        ) else {
            continue;
        };
        let Some((Ok(major), Ok(minor))) = devno
            .split_once(':')
            .map(|(a, b)| (a.parse::<u32>(), b.parse::<u32>()))
        else {
            continue;
        };
        let ro = |o: &str| o.split(',').any(|x| x == "ro");
        v.push(MountEntry {
            dev: (major, minor),
            mount_point: PathBuf::from(std::ffi::OsString::from_vec(unescape_mountinfo(mp))),
            fstype: String::from_utf8_lossy(&unescape_mountinfo(fstype)).into_owned(),
            source: String::from_utf8_lossy(&unescape_mountinfo(source)).into_owned(),
            read_only: ro(opts) || ro(sopts),
        });
    }
    v
}

/// The (major, minor) of a Linux `dev_t` (glibc's `gnu_dev_major` and `gnu_dev_minor`).
fn dev_numbers(dev: u64) -> (u32, u32) {
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    (major as u32, minor as u32)
}

/// The device numbers of the loop devices whose backing file is `file` (a canonical path).
fn loop_devices_backed_by(file: &Path) -> Vec<(u32, u32)> {
    let mut v = Vec::new();
    let Ok(dir) = std::fs::read_dir("/sys/block") else {
        return v;
    };
    for e in dir.flatten() {
        let p = e.path();
        let Ok(backing) = std::fs::read_to_string(p.join("loop/backing_file")) else {
            continue;
        };
        if Path::new(backing.trim_end_matches('\n')) != file {
            continue;
        }
        let Ok(devno) = std::fs::read_to_string(p.join("dev")) else {
            continue;
        };
        if let Some((Ok(a), Ok(b))) = devno
            .trim()
            .split_once(':')
            .map(|(a, b)| (a.parse(), b.parse()))
        {
            v.push((a, b));
        }
    }
    v
}

/// Where the device or image `path` is mounted, if it is: a block device by its device number,
/// an image file by its path as the mount's source or through a loop device it backs. `Err` when
/// this cannot be told (no `/proc/self/mountinfo`): no offline write must happen then.
pub fn find_mount(path: &Path) -> Result<Option<MountEntry>, String> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let meta =
        std::fs::metadata(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").map_err(|e| {
        format!("cannot read /proc/self/mountinfo to see whether it is mounted: {e}")
    })?;
    let mounts = parse_mountinfo(&mountinfo);
    if meta.file_type().is_block_device() {
        let dev = dev_numbers(meta.rdev());
        return Ok(mounts.into_iter().find(|m| m.dev == dev));
    }
    let canon = std::fs::canonicalize(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let loops = loop_devices_backed_by(&canon);
    Ok(mounts
        .into_iter()
        .find(|m| Path::new(&m.source) == canon || loops.contains(&m.dev)))
}

/// `FS_IOC_GETFSLABEL`: `_IOR(0x94, 49, char[FSLABEL_MAX])`.
const FS_IOC_GETFSLABEL: u32 = 0x8100_9431;
/// `FS_IOC_SETFSLABEL`: `_IOW(0x94, 50, char[FSLABEL_MAX])`.
const FS_IOC_SETFSLABEL: u32 = 0x4100_9432;
/// The label buffer of the label ioctls.
const FSLABEL_MAX: usize = 256;

/// Calls the label ioctl `cmd` on the directory `mount_point` with `buf`.
#[allow(unsafe_code)]
fn label_ioctl(mount_point: &Path, cmd: u32, buf: &mut [u8; FSLABEL_MAX]) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let dir = std::fs::File::open(mount_point)?;
    // SAFETY: `dir` is an open descriptor for the whole call. Both label ioctls copy exactly
    // FSLABEL_MAX bytes between the kernel and their argument, which points at `buf`: FSLABEL_MAX
    // bytes, writable, alive across the call; the kernel keeps no reference to them.
    let r = unsafe { libc::ioctl(dir.as_raw_fd(), cmd as _, buf.as_mut_ptr()) };
    if r < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Sets the label of the filesystem mounted on `mount_point` through the kernel
/// (`FS_IOC_SETFSLABEL`, which needs `CAP_SYS_ADMIN`).
pub fn set_label_mounted(mount_point: &Path, label: &[u8]) -> std::io::Result<()> {
    let mut buf = [0u8; FSLABEL_MAX];
    // The kernel wants a NUL within the buffer.
    buf.get_mut(..label.len())
        .filter(|_| label.len() < FSLABEL_MAX)
        .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::InvalidInput))?
        .copy_from_slice(label);
    label_ioctl(mount_point, FS_IOC_SETFSLABEL, &mut buf)
}

/// The label of the filesystem mounted on `mount_point`, as the kernel has it
/// (`FS_IOC_GETFSLABEL`).
pub fn label_mounted(mount_point: &Path) -> std::io::Result<Vec<u8>> {
    let mut buf = [0u8; FSLABEL_MAX];
    label_ioctl(mount_point, FS_IOC_GETFSLABEL, &mut buf)?;
    let n = buf.iter().position(|&b| b == 0).unwrap_or(FSLABEL_MAX);
    Ok(buf[..n].to_vec())
}

/// An unmounted filesystem checked fit for an offline change by [`prepare`].
pub struct Prepared {
    /// The primary superblock.
    pub sb: DiskSuperblock,
    /// The journal header in force (an empty journal).
    pub header: JournalHeader,
    /// Block 0 as read.
    pub primary: Box<Block>,
    /// The backup superblock's block as read.
    pub backup: Box<Block>,
}

/// Reads the filesystem on `img` and checks that it may be changed offline: the state an
/// unmount leaves (see the module documentation). `name` names the device in messages. `img` is
/// limited to the filesystem's blocks.
pub fn prepare(img: &mut Image, name: &str) -> Result<Prepared, String> {
    let fsck = format!("run fsck.ferrite -y {name}, or mount and unmount it, first");
    let io = |e: std::io::Error| format!("cannot read {name}: {e}");
    img.blocks = img.size / BLOCK_SIZE as u64;
    if img.blocks < 2 {
        return Err(format!("{name}: no ferrite filesystem (too small)"));
    }
    let mut primary: Box<Block> = Box::new([0; BLOCK_SIZE]);
    img.read(0, &mut primary).map_err(io)?;
    let sb = match DiskSuperblock::decode(&primary) {
        Ok(sb) => sb,
        Err(Corrupt::BadMagic) => {
            return Err(format!(
                "{name}: no ferrite filesystem (no ferrite magic in block 0)"
            ))
        }
        Err(Corrupt::BadSuperblockCrc) => {
            let mut scratch = Box::new(Scratch::new());
            let mut b: Box<Block> = Box::new([0; BLOCK_SIZE]);
            let why = match read_superblock(&*img, &mut b, &mut scratch) {
                Ok((_, true)) => "its last update, torn by a crash, is in the journal",
                _ => "bad checksum",
            };
            return Err(format!(
                "{name}: the primary superblock is invalid ({why}): {fsck}"
            ));
        }
        Err(c) => {
            return Err(format!(
                "{name}: the primary superblock is invalid ({c}): {fsck}"
            ))
        }
    };
    let l = sb.layout;
    if l.block_count > img.blocks {
        return Err(format!(
            "{name}: the filesystem has {} blocks but the device only {}",
            l.block_count, img.blocks
        ));
    }
    img.blocks = l.block_count;
    img.layout = Some(l);
    if sb.mount_mode() == MountMode::ReadOnly {
        return Err(format!(
            "{name}: the filesystem has read-only-compatible features this version does not know ({:#x}): it is not changed",
            sb.ro_compat & !RO_COMPAT_SUPPORTED
        ));
    }
    let mut b: Box<Block> = Box::new([0; BLOCK_SIZE]);
    img.read(l.journal_start, &mut b).map_err(io)?;
    let header = JournalHeader::decode(&b, &l)
        .map_err(|c| format!("{name}: the journal header is invalid ({c}): {fsck}"))?;
    let pending = replay_dry(img, &header).map_err(|e| format!("{name}: journal: {e}"))?;
    if pending > 0 {
        return Err(format!(
            "{name}: the journal holds {pending} committed transaction(s) not yet in place (the filesystem needs recovery): {fsck}"
        ));
    }
    if sb.state & STATE_ERROR != 0 {
        return Err(format!(
            "{name}: errors were found while the filesystem was mounted (the error flag is set): run fsck.ferrite -y {name} first"
        ));
    }
    if sb.state & STATE_CLEAN == 0 {
        return Err(format!(
            "{name}: the filesystem was not cleanly unmounted (or is in use elsewhere): {fsck}"
        ));
    }
    let mut backup: Box<Block> = Box::new([0; BLOCK_SIZE]);
    img.read(l.backup_sb, &mut backup).map_err(io)?;
    match DiskSuperblock::decode(&backup) {
        Ok(bsb) if crate::fsck::static_fields_equal(&bsb, &sb) => {}
        Ok(_) => {
            return Err(format!(
                "{name}: the backup superblock (block {}) differs from the primary: {fsck}",
                l.backup_sb
            ))
        }
        Err(c) => {
            return Err(format!(
                "{name}: the backup superblock (block {}) is invalid ({c}): {fsck}",
                l.backup_sb
            ))
        }
    }
    Ok(Prepared {
        sb,
        header,
        primary,
        backup,
    })
}

/// The transactions a journal replay would apply to `img` (nothing is written).
fn replay_dry(img: &Image, h: &JournalHeader) -> Result<u64, String> {
    let Some(l) = img.layout else {
        return Err("no layout".into());
    };
    let mut dry = Dry::new(img);
    let mut scratch = Box::new(Scratch::new());
    let r = journal_replay(&mut dry, &l, h, &mut scratch).map_err(|e| e.to_string())?;
    Ok(r.transactions)
}

/// `block`, a valid superblock, with `change` applied and `now` as its write time: those bytes
/// and the crc rewritten, every other byte as it was.
pub fn patched_superblock(block: &Block, change: &Change, now: u64) -> Box<Block> {
    let off = |f| superblock_field_offset(f).unwrap_or(BLOCK_SIZE);
    let mut b = Box::new(*block);
    if let Some(label) = &change.label {
        let o = off("label");
        b[o..o + LABEL_MAX].fill(0);
        b[o..o + label.len()].copy_from_slice(label);
    }
    if let Some(uuid) = &change.uuid {
        let o = off("uuid");
        b[o..o + 16].copy_from_slice(uuid);
    }
    let o = off("write_time");
    b[o..o + 8].copy_from_slice(&now.to_le_bytes());
    block_seal(&mut b);
    b
}

/// Writes the superblocks `primary` (to block 0) and `backup` (to `layout.backup_sb`) as one
/// journal transaction on a filesystem whose journal, described by `h`, is empty: the DATA
/// records, `flush`, the COMMIT, `flush`, both blocks in place, `flush`, the journal header of
/// the next generation with the transaction checkpointed, `flush`. A crash anywhere leaves either
/// both old blocks or a committed transaction that recovery completes.
pub fn commit_superblocks<I: BlockIo>(
    io: &mut I,
    layout: &Layout,
    h: &JournalHeader,
    primary: &Block,
    backup: &Block,
    scratch: &mut Scratch,
    flush: &mut dyn FnMut(&mut I) -> Result<(), I::Error>,
) -> Result<(), Error<I::Error>> {
    let blocks = [(0, primary), (layout.backup_sb, backup)];
    // Recovery starts at the tail: the transaction goes there.
    let mut w = JournalWriter::new(layout, &JournalHeader { head: h.tail, ..*h });
    for (blk, data) in blocks {
        w.add(io, blk, 0, data, scratch)?;
    }
    flush(io).map_err(Error::Io)?;
    let seq = w.commit(io, scratch)?;
    flush(io).map_err(Error::Io)?;
    for (blk, data) in blocks {
        io.write(blk, data).map_err(Error::Io)?;
    }
    flush(io).map_err(Error::Io)?;
    // The checkpoint: the next generation's slot, the one in force left as it is.
    let next = h.next(w.head, w.head, seq);
    io.read(layout.journal_start, &mut scratch.a)
        .map_err(Error::Io)?;
    let range = next.encode(&mut scratch.a);
    let slot: Box<[u8]> = scratch.a[range.clone()].into();
    io.write_part(layout.journal_start, range.start, &slot, &mut scratch.b)
        .map_err(Error::Io)?;
    flush(io).map_err(Error::Io)
}

/// Seconds since the epoch, now.
fn now_secs() -> u64 {
    u64::try_from(crate::now().sec).unwrap_or(0)
}

/// Applies `change` to the unmounted filesystem on `path` ([`prepare`], then
/// [`commit_superblocks`]); returns the new primary superblock.
pub fn change_offline(path: &Path, change: &Change) -> Result<DiskSuperblock, String> {
    let name = path.display().to_string();
    let mut img = Image::open_exclusive(path).map_err(|e| format!("cannot open {name}: {e}"))?;
    let p = prepare(&mut img, &name)?;
    let unchanged = change
        .label
        .as_ref()
        .is_none_or(|l| l == p.sb.label_bytes())
        && change.uuid.is_none_or(|u| u == p.sb.uuid);
    if unchanged {
        return Ok(p.sb);
    }
    let now = now_secs();
    let primary = patched_superblock(&p.primary, change, now);
    let backup = patched_superblock(&p.backup, change, now);
    let sb = DiskSuperblock::decode(&primary)
        .map_err(|c| format!("{name}: the new superblock does not check: {c}"))?;
    let mut scratch = Box::new(Scratch::new());
    commit_superblocks(
        &mut img,
        &sb.layout,
        &p.header,
        &primary,
        &backup,
        &mut scratch,
        &mut |img| img.sync(),
    )
    .map_err(|e| format!("write to {name} failed: {e}"))?;
    Ok(sb)
}

/// The names of the features set in `sb`, unknown bits as numbers; `(none)` for none.
pub fn feature_names(sb: &DiskSuperblock) -> String {
    let mut v: Vec<String> = Vec::new();
    if sb.ro_compat & RO_COMPAT_XATTR != 0 {
        v.push("xattr".into());
    }
    for (what, bits) in [
        ("compat", sb.compat),
        ("incompat", sb.incompat & !INCOMPAT_SUPPORTED),
        ("ro_compat", sb.ro_compat & !RO_COMPAT_SUPPORTED),
    ] {
        if bits != 0 {
            v.push(format!("unknown-{what}({bits:#x})"));
        }
    }
    if v.is_empty() {
        "(none)".into()
    } else {
        v.join(" ")
    }
}

/// Seconds since the epoch as a UTC date and time.
pub fn utc(secs: u64) -> String {
    let days = (secs / 86400) as i64;
    let rem = secs % 86400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Writes what `-l` shows of the filesystem on `path` to `out`: the superblock as recovery will
/// leave it (a journal with committed transactions is replayed in memory, and said so). For a
/// mounted ferrite (`mounted`) the label is the kernel's; the other values are read from the
/// device and may be behind it.
pub fn list(path: &Path, mounted: Option<&MountEntry>, out: &mut dyn Write) -> Result<(), String> {
    let name = path.display().to_string();
    let mut img = Image::open(path, false).map_err(|e| format!("cannot open {name}: {e}"))?;
    img.blocks = img.size / BLOCK_SIZE as u64;
    let mut buf: Box<Block> = Box::new([0; BLOCK_SIZE]);
    let mut scratch = Box::new(Scratch::new());
    let (sb, torn) = read_superblock(&img, &mut buf, &mut scratch).map_err(|e| match e {
        Error::Corrupt(Corrupt::BadMagic) => format!("{name}: no ferrite filesystem"),
        e => format!("{name}: the primary superblock: {e} (fsck.ferrite checks it)"),
    })?;
    let l = sb.layout;
    img.blocks = l.block_count.min(img.blocks);
    img.layout = Some(l);
    img.read(l.journal_start, &mut buf)
        .map_err(|e| format!("cannot read {name}: {e}"))?;
    let (sb, journal) = match JournalHeader::decode(&buf, &l) {
        Err(c) => (sb, format!("invalid header ({c})")),
        Ok(h) => {
            let mut dry = Dry::new(&img);
            let r = journal_replay(&mut dry, &l, &h, &mut scratch)
                .map_err(|e| format!("{name}: journal: {e}"))?;
            let replayed = dry
                .overlay
                .get(&0)
                .and_then(|b| DiskSuperblock::decode(b).ok())
                .filter(|s| s.layout == l);
            match r.transactions {
                0 => (sb, "empty".to_string()),
                n => (
                    replayed.unwrap_or(sb),
                    format!("{n} committed transaction(s) to replay (shown as replayed)"),
                ),
            }
        }
    };
    let mut label = sb.label_bytes().to_vec();
    let mut label_note = "";
    if let Some(m) = mounted.filter(|m| m.fstype == "ferrite") {
        if let Ok(k) = label_mounted(&m.mount_point) {
            label = k;
            label_note = " (as the mounted filesystem has it)";
        }
    }
    let shown_label = if label.is_empty() {
        "<none>".to_string()
    } else {
        format!(
            "{}{}",
            crate::escape_text(&label),
            if label_is_valid(&label) {
                ""
            } else {
                " (not a valid label)"
            }
        )
    };
    let bs = BLOCK_SIZE as u64;
    let state = match (sb.state & STATE_CLEAN != 0, sb.state & STATE_ERROR != 0) {
        (true, false) => "clean",
        (true, true) => "clean, with errors",
        (false, false) => "not clean (mounted, or not cleanly unmounted)",
        (false, true) => "not clean, with errors",
    };
    let hint = if sb.state & STATE_CLEAN != 0 {
        ""
    } else {
        " (a hint)"
    };
    let mut lines = vec![
        (
            "filesystem",
            format!("ferrite, format version {}", sb.version),
        ),
        ("label", format!("{shown_label}{label_note}")),
        ("UUID", crate::uuid_string(&sb.uuid)),
        ("features", feature_names(&sb)),
        (
            "feature bits",
            format!(
                "compat {:#x}, incompat {:#x}, ro_compat {:#x}",
                sb.compat, sb.incompat, sb.ro_compat
            ),
        ),
        ("state", state.to_string()),
        ("block size", BLOCK_SIZE.to_string()),
        (
            "block count",
            format!("{} ({})", l.block_count, crate::human(l.block_count * bs)),
        ),
        (
            "free blocks",
            format!(
                "{} ({}){hint}",
                sb.free_blocks,
                crate::human(sb.free_blocks * bs)
            ),
        ),
        ("inode count", l.inode_count.to_string()),
        ("free inodes", format!("{}{hint}", sb.free_inodes)),
        (
            "journal",
            format!(
                "{} blocks ({}..{}), {journal}",
                l.journal_blocks,
                l.journal_start,
                l.journal_start + l.journal_blocks
            ),
        ),
        (
            "data area",
            format!("blocks {}..{}", l.data_start, l.backup_sb),
        ),
        ("backup superblock", format!("block {}", l.backup_sb)),
        ("mount count", sb.mount_count.to_string()),
        ("created", utc(sb.mkfs_time)),
        ("last written", utc(sb.write_time)),
    ];
    if torn {
        lines.push((
            "note",
            "the superblock's in-place copy is torn; shown from the journal".into(),
        ));
    }
    if let Some(m) = mounted {
        lines.push((
            "mounted on",
            format!(
                "{} ({}, {}); values other than the label are read from the device and may be behind",
                crate::escape_text(m.mount_point.as_os_str().as_encoded_bytes()),
                crate::escape_text(m.fstype.as_bytes()),
                if m.read_only { "ro" } else { "rw" }
            ),
        ));
    }
    let text: String = lines
        .into_iter()
        .map(|(k, v)| format!("{:<19}{v}\n", format!("{k}:")))
        .collect();
    match out.write_all(text.as_bytes()) {
        // A reader that has seen enough (`| head`) is not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r.map_err(|e| e.to_string()),
    }
}

/// What `ferrite-tune` does with `opts` on `path`: the changes (offline, or through the kernel
/// when mounted), then the listing. Errors are messages for the user.
pub fn tune(path: &Path, opts: &TuneOptions, out: &mut dyn Write) -> Result<(), String> {
    let name = path.display().to_string();
    if let Some(l) = &opts.label {
        label_check(l).map_err(|why| format!("label \"{}\" {why}", crate::escape_text(l)))?;
    }
    let changes = opts.label.is_some() || opts.uuid.is_some();
    // Not knowing whether it is mounted forbids a change, not a look.
    let mounted = match find_mount(path) {
        Ok(m) => m,
        Err(e) if changes => return Err(e),
        Err(_) => None,
    };
    if changes {
        let uuid = match opts.uuid {
            None => None,
            Some(UuidArg::Set(u)) => Some(u),
            Some(UuidArg::Clear) => Some([0; 16]),
            Some(UuidArg::Random) => {
                Some(crate::random_uuid().map_err(|e| format!("no random bytes: {e}"))?)
            }
        };
        match &mounted {
            Some(m) => {
                let mp = crate::escape_text(m.mount_point.as_os_str().as_encoded_bytes());
                if uuid.is_some() {
                    return Err(format!(
                        "{name} is mounted on {mp}: the UUID is changed only while it is unmounted"
                    ));
                }
                if m.fstype != "ferrite" {
                    return Err(format!(
                        "{name} is mounted on {mp} as {}, not ferrite: nothing is changed",
                        crate::escape_text(m.fstype.as_bytes())
                    ));
                }
                let label = opts.label.as_deref().unwrap_or_default();
                set_label_mounted(&m.mount_point, label).map_err(|e| {
                    let why = match e.raw_os_error() {
                        Some(libc::EPERM) => "permission denied (it needs CAP_SYS_ADMIN)".into(),
                        Some(libc::EROFS) => "it is mounted read-only".into(),
                        Some(libc::ENOTTY) => {
                            "the kernel's ferrite has no FS_IOC_SETFSLABEL".into()
                        }
                        _ => e.to_string(),
                    };
                    format!("{name} is mounted on {mp}; setting its label there failed: {why}")
                })?;
            }
            None => {
                change_offline(
                    path,
                    &Change {
                        label: opts.label.clone(),
                        uuid,
                    },
                )?;
            }
        }
    }
    if opts.list {
        list(path, mounted.as_ref(), out)?;
    }
    Ok(())
}
