// SPDX-License-Identifier: GPL-2.0

//! Inodes: 256-byte records, 16 per block, in the inode table.

use super::bytes::{copy_bytes, get_i64, get_u32, get_u64, put_i64, put_u32, put_u64};
use super::crc::crc32c;
use super::dir::DirRoot;
use super::extent::ExtentRoot;
use super::xattr::InlineXattrs;
use super::{Corrupt, Layout, BLOCK_SIZE, MAX_FILE_SIZE};

/// Size of an inode record.
pub const INODE_SIZE: usize = 256;
/// Inode records per block.
pub const INODES_PER_BLOCK: u64 = (BLOCK_SIZE / INODE_SIZE) as u64;
/// Bytes of the inline data area (extent root, directory root or short symlink target).
pub const INLINE_DATA_MAX: usize = 140;
/// Bytes of the data area an extent root takes.
const EXTENT_ROOT_BYTES: usize = 128;
/// Bytes of the data area a directory root takes.
const DIR_ROOT_BYTES: usize = 32;
/// Inode flag: the data area holds the file's bytes (short symlinks).
pub const INODE_FLAG_INLINE: u32 = 1;
/// Inode flag (`chattr +S`): writes are synchronous (ferrite's always are).
pub const INODE_FLAG_SYNC: u32 = 0x08;
/// Inode flag (`chattr +i`): the file cannot be changed, linked, renamed or removed.
pub const INODE_FLAG_IMMUTABLE: u32 = 0x10;
/// Inode flag (`chattr +a`): the file can only be appended to.
pub const INODE_FLAG_APPEND: u32 = 0x20;
/// Inode flag (`chattr +d`): dump(8) skips the file.
pub const INODE_FLAG_NODUMP: u32 = 0x40;
/// Inode flag (`chattr +A`): reads do not update the access time.
pub const INODE_FLAG_NOATIME: u32 = 0x80;
/// The flags users set (`FS_IOC_SETFLAGS`); their values are Linux's `FS_*_FL`.
pub const INODE_FLAGS_USER: u32 = INODE_FLAG_SYNC
    | INODE_FLAG_IMMUTABLE
    | INODE_FLAG_APPEND
    | INODE_FLAG_NODUMP
    | INODE_FLAG_NOATIME;
/// The user flags an inode other than a regular file or directory may have (as ext4).
pub const INODE_FLAGS_OTHER: u32 = INODE_FLAG_NODUMP | INODE_FLAG_NOATIME;
/// The user flags a new inode takes from its directory (as ext4).
pub const INODE_FLAGS_INHERITED: u32 = INODE_FLAG_SYNC | INODE_FLAG_NODUMP | INODE_FLAG_NOATIME;

/// The user flags an inode of `mode` may have.
pub fn user_flags_for(mode: u32) -> u32 {
    match mode & S_IFMT {
        S_IFREG | S_IFDIR => INODE_FLAGS_USER,
        _ => INODE_FLAGS_OTHER,
    }
}

/// File type mask of `mode`.
pub const S_IFMT: u32 = 0o170000;
/// Socket.
pub const S_IFSOCK: u32 = 0o140000;
/// Symbolic link.
pub const S_IFLNK: u32 = 0o120000;
/// Regular file.
pub const S_IFREG: u32 = 0o100000;
/// Block device.
pub const S_IFBLK: u32 = 0o060000;
/// Directory.
pub const S_IFDIR: u32 = 0o040000;
/// Character device.
pub const S_IFCHR: u32 = 0o020000;
/// FIFO.
pub const S_IFIFO: u32 = 0o010000;

/// Directory entry file types (the values of Linux's `DT_*`).
pub const FT_FIFO: u8 = 1;
/// Character device.
pub const FT_CHR: u8 = 2;
/// Directory.
pub const FT_DIR: u8 = 4;
/// Block device.
pub const FT_BLK: u8 = 6;
/// Regular file.
pub const FT_REG: u8 = 8;
/// Symbolic link.
pub const FT_LNK: u8 = 10;
/// Socket.
pub const FT_SOCK: u8 = 12;

/// The directory entry type (`FT_*`) of a mode, or `None` for an unknown file type.
pub fn file_type(mode: u32) -> Option<u8> {
    Some(match mode & S_IFMT {
        S_IFREG => FT_REG,
        S_IFDIR => FT_DIR,
        S_IFLNK => FT_LNK,
        S_IFCHR => FT_CHR,
        S_IFBLK => FT_BLK,
        S_IFIFO => FT_FIFO,
        S_IFSOCK => FT_SOCK,
        _ => return None,
    })
}

const O_MODE: usize = 0;
const O_UID: usize = 4;
const O_GID: usize = 8;
const O_NLINK: usize = 12;
const O_SIZE: usize = 16;
const O_BLOCKS: usize = 24;
const O_ATIME: usize = 32;
const O_MTIME: usize = 40;
const O_CTIME: usize = 48;
const O_BTIME: usize = 56;
const O_ATIME_NS: usize = 64;
const O_MTIME_NS: usize = 68;
const O_CTIME_NS: usize = 72;
const O_BTIME_NS: usize = 76;
const O_FLAGS: usize = 80;
const O_GENERATION: usize = 84;
const O_INO: usize = 88;
const O_XATTR: usize = 96;
const O_RDEV: usize = 104;
const O_DATA: usize = 112;
const O_CRC: usize = 252;

/// A timestamp: seconds since the epoch and nanoseconds (below 10^9).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timespec {
    /// Seconds since the epoch (may be negative).
    pub sec: i64,
    /// Nanoseconds, `0..1_000_000_000`.
    pub nsec: u32,
}

/// What the inode's 140-byte data area holds, by file type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum InodeData {
    /// Regular files and long symlinks: the root of the extent tree.
    Extents(ExtentRoot),
    /// Directories: the root of the name-hash tree.
    Dir(DirRoot),
    /// Short symlinks: the target, `size` bytes of it.
    Inline([u8; INLINE_DATA_MAX]),
    /// Devices, FIFOs, sockets: nothing.
    #[default]
    Special,
}

/// An inode, validated.
///
/// Its `Default` is all zeros (inode 0, which no record has): a place for a value to be read into,
/// never a record to write.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DiskInode {
    /// Its inode number (checked against the record's).
    pub ino: u64,
    /// Type and permission bits.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Hard links (directories: 2 + subdirectories).
    pub nlink: u32,
    /// Size in bytes.
    pub size: u64,
    /// Allocated blocks (data and tree nodes), for `st_blocks`.
    pub blocks: u64,
    /// Access time.
    pub atime: Timespec,
    /// Modification time.
    pub mtime: Timespec,
    /// Change time.
    pub ctime: Timespec,
    /// Birth time.
    pub btime: Timespec,
    /// `INODE_FLAG_*` bits.
    pub flags: u32,
    /// Generation, for NFS-style handles.
    pub generation: u32,
    /// Device number of device files (Linux `new_encode_dev`).
    pub rdev: u32,
    /// Extended attribute block (0: none; reserved in version 1).
    pub xattr: u64,
    /// The data area. Its part that the file type leaves free holds the inode's inline
    /// extended attributes, which are not part of this value: [`decode`](Self::decode) checks
    /// them, [`decode_with_xattrs`](Self::decode_with_xattrs) returns them,
    /// [`encode`](Self::encode) leaves them as they are in the record and
    /// [`encode_with_xattrs`](Self::encode_with_xattrs) replaces them. (An inode value stays as
    /// small as the records it is copied between; only the xattr operations carry them.)
    pub data: InodeData,
}

/// Where the inline extended attributes start in the data area: after the extent root, the
/// directory root or the short symlink's target; at its start for devices, FIFOs and sockets.
fn xattr_area_start(data: &InodeData, size: u64) -> usize {
    match data {
        InodeData::Extents(_) => EXTENT_ROOT_BYTES,
        InodeData::Dir(_) => DIR_ROOT_BYTES,
        InodeData::Inline(_) => {
            usize::try_from(size).map_or(INLINE_DATA_MAX, |s| s.min(INLINE_DATA_MAX))
        }
        InodeData::Special => 0,
    }
}

/// The block and byte offset of inode `ino` in the inode table.
pub fn inode_location(layout: &Layout, ino: u64) -> Result<(u64, usize), Corrupt> {
    if ino == 0 || ino >= layout.inode_count {
        return Err(Corrupt::InodeOutOfRange(ino));
    }
    let blk = layout
        .inode_table_start
        .checked_add(ino / INODES_PER_BLOCK)
        .ok_or(Corrupt::InodeOutOfRange(ino))?;
    let off = ((ino % INODES_PER_BLOCK) as usize).saturating_mul(INODE_SIZE);
    Ok((blk, off))
}

impl DiskInode {
    /// A new inode of `mode` with empty data, all times `now`.
    pub fn new(ino: u64, mode: u32, now: Timespec) -> DiskInode {
        let data = match mode & S_IFMT {
            S_IFDIR => InodeData::Dir(DirRoot::empty(0)),
            S_IFREG | S_IFLNK => InodeData::Extents(ExtentRoot::new()),
            _ => InodeData::Special,
        };
        DiskInode {
            ino,
            mode,
            uid: 0,
            gid: 0,
            nlink: 1,
            size: 0,
            blocks: 0,
            atime: now,
            mtime: now,
            ctime: now,
            btime: now,
            flags: 0,
            generation: 0,
            rdev: 0,
            xattr: 0,
            data,
        }
    }

    /// Parses and validates the 256-byte record of inode `ino` (its inline attributes
    /// included).
    pub fn decode(rec: &[u8], ino: u64) -> Result<DiskInode, Corrupt> {
        let (inode, entries) = Self::decode_parts(rec, ino)?;
        entries?;
        Ok(inode)
    }

    /// [`decode`](Self::decode), with the inline extended attributes.
    pub fn decode_with_xattrs(rec: &[u8], ino: u64) -> Result<(DiskInode, InlineXattrs), Corrupt> {
        let (inode, entries) = Self::decode_parts(rec, ino)?;
        Ok((inode, InlineXattrs::from_checked(entries?)))
    }

    /// As [`decode_with_xattrs`](Self::decode_with_xattrs), but a record whose only fault is
    /// its inline extended attributes gives the inode and that fault (fsck drops them).
    #[cfg(feature = "inspect")]
    pub fn decode_salvage(
        rec: &[u8],
        ino: u64,
    ) -> Result<(DiskInode, Result<InlineXattrs, Corrupt>), Corrupt> {
        let (inode, entries) = Self::decode_parts(rec, ino)?;
        Ok((inode, entries.map(InlineXattrs::from_checked)))
    }

    /// The inode without its inline attributes, and the bytes of those attributes, checked (no
    /// copy of them: [`decode`](Self::decode) only checks them).
    fn decode_parts(rec: &[u8], ino: u64) -> Result<(DiskInode, Result<&[u8], Corrupt>), Corrupt> {
        let rec = rec.get(..INODE_SIZE).ok_or(Corrupt::BadInodeCrc(ino))?;
        if crc32c(rec.get(..O_CRC).unwrap_or(&[])) != get_u32(rec, O_CRC) {
            return Err(Corrupt::BadInodeCrc(ino));
        }
        if get_u64(rec, O_INO) != ino {
            return Err(Corrupt::BadInodeNumber(ino));
        }
        let mode = get_u32(rec, O_MODE);
        // Linux modes are 16 bits (`umode_t`): a higher bit would be dropped on the way into
        // the VFS, turning the mode into another.
        if mode > u32::from(u16::MAX) {
            return Err(Corrupt::BadInodeMode(ino));
        }
        // (uid_t)-1 is no id: the VFS would take it as INVALID_UID.
        let (uid, gid) = (get_u32(rec, O_UID), get_u32(rec, O_GID));
        if uid == u32::MAX || gid == u32::MAX {
            return Err(Corrupt::BadInodeOwner(ino));
        }
        let ts = |s: usize, n: usize| -> Result<Timespec, Corrupt> {
            let nsec = get_u32(rec, n);
            if nsec >= 1_000_000_000 {
                return Err(Corrupt::BadTimestamp(ino));
            }
            Ok(Timespec {
                sec: get_i64(rec, s),
                nsec,
            })
        };
        let flags = get_u32(rec, O_FLAGS);
        let size = get_u64(rec, O_SIZE);
        // Past the largest file, a size also goes negative as the VFS's signed `loff_t`.
        if size > MAX_FILE_SIZE {
            return Err(Corrupt::BadInodeSize(ino));
        }
        let area = rec.get(O_DATA..O_CRC).unwrap_or(&[]);
        let data = match mode & S_IFMT {
            S_IFREG => InodeData::Extents(ExtentRoot::decode(area, ino)?),
            S_IFDIR => InodeData::Dir(DirRoot::decode(area, ino)?),
            S_IFLNK if flags & INODE_FLAG_INLINE != 0 => {
                if size == 0 || size > INLINE_DATA_MAX as u64 {
                    return Err(Corrupt::BadInlineSize(ino));
                }
                // The target only: past it are the inline attributes.
                let mut a = [0u8; INLINE_DATA_MAX];
                super::bytes::copy_bytes(&mut a, area.get(..size as usize).unwrap_or(&[]));
                InodeData::Inline(a)
            }
            S_IFLNK => {
                // A target in a block: 1 to 4095 bytes (longer ones are refused, shorter
                // ones are inline).
                if size == 0 || size >= BLOCK_SIZE as u64 {
                    return Err(Corrupt::BadInodeSize(ino));
                }
                // ... mapped by one inline extent of one block at file block 0, as symlink
                // creation makes it and nothing changes it.
                let r = ExtentRoot::decode(area, ino)?;
                let one = r
                    .inline
                    .first()
                    .is_some_and(|e| e.logical == 0 && e.len == 1);
                if r.tree.blk != 0 || r.count != 1 || !one {
                    return Err(Corrupt::BadExtentRoot(ino));
                }
                InodeData::Extents(r)
            }
            S_IFCHR | S_IFBLK | S_IFIFO | S_IFSOCK => InodeData::Special,
            _ => return Err(Corrupt::BadInodeMode(ino)),
        };
        let ixattrs = area
            .get(xattr_area_start(&data, size)..)
            .ok_or(Corrupt::BadInlineXattr(ino))
            .and_then(|tail| {
                let used = InlineXattrs::check(tail, ino)?;
                tail.get(..used).ok_or(Corrupt::BadInlineXattr(ino))
            });
        let inode = DiskInode {
            ino,
            mode,
            uid,
            gid,
            nlink: get_u32(rec, O_NLINK),
            size,
            blocks: get_u64(rec, O_BLOCKS),
            atime: ts(O_ATIME, O_ATIME_NS)?,
            mtime: ts(O_MTIME, O_MTIME_NS)?,
            ctime: ts(O_CTIME, O_CTIME_NS)?,
            btime: ts(O_BTIME, O_BTIME_NS)?,
            flags,
            generation: get_u32(rec, O_GENERATION),
            rdev: get_u32(rec, O_RDEV),
            xattr: get_u64(rec, O_XATTR),
            data,
        };
        Ok((inode, ixattrs))
    }

    /// Serializes into a 256-byte record (the mirror of [`decode`](Self::decode)), crc
    /// included, leaving the inline extended attributes as `rec` has them. `rec` shorter than
    /// [`INODE_SIZE`] is left untouched.
    pub fn encode(&self, rec: &mut [u8]) {
        let Some(rec) = rec.get_mut(..INODE_SIZE) else {
            return;
        };
        let start = xattr_area_start(&self.data, self.size);
        rec.get_mut(..O_DATA.saturating_add(start))
            .unwrap_or(&mut [])
            .fill(0);
        put_u32(rec, O_MODE, self.mode);
        put_u32(rec, O_UID, self.uid);
        put_u32(rec, O_GID, self.gid);
        put_u32(rec, O_NLINK, self.nlink);
        put_u64(rec, O_SIZE, self.size);
        put_u64(rec, O_BLOCKS, self.blocks);
        put_i64(rec, O_ATIME, self.atime.sec);
        put_i64(rec, O_MTIME, self.mtime.sec);
        put_i64(rec, O_CTIME, self.ctime.sec);
        put_i64(rec, O_BTIME, self.btime.sec);
        put_u32(rec, O_ATIME_NS, self.atime.nsec);
        put_u32(rec, O_MTIME_NS, self.mtime.nsec);
        put_u32(rec, O_CTIME_NS, self.ctime.nsec);
        put_u32(rec, O_BTIME_NS, self.btime.nsec);
        put_u32(rec, O_FLAGS, self.flags);
        put_u32(rec, O_GENERATION, self.generation);
        put_u64(rec, O_INO, self.ino);
        put_u64(rec, O_XATTR, self.xattr);
        put_u32(rec, O_RDEV, self.rdev);
        // The file type's part of the data area only: the rest is the inline attributes'.
        if let Some(area) = rec.get_mut(O_DATA..O_DATA.saturating_add(start)) {
            match &self.data {
                InodeData::Extents(r) => r.encode(area),
                InodeData::Dir(d) => d.encode(area),
                InodeData::Inline(a) => copy_bytes(area, a),
                InodeData::Special => {}
            }
        }
        let c = crc32c(rec.get(..O_CRC).unwrap_or(&[]));
        put_u32(rec, O_CRC, c);
    }

    /// [`encode`](Self::encode), with `ixattrs` as the inline extended attributes (at most
    /// [`xattr_room`](Self::xattr_room) bytes of them are written).
    pub fn encode_with_xattrs(&self, ixattrs: &InlineXattrs, rec: &mut [u8]) {
        let start = xattr_area_start(&self.data, self.size);
        if let Some(tail) = rec.get_mut(O_DATA.saturating_add(start)..O_CRC) {
            tail.fill(0);
            ixattrs.encode(tail);
        }
        self.encode(rec);
    }

    /// Bytes of the data area free for extended attributes: what the file type leaves.
    pub fn xattr_room(&self) -> usize {
        INLINE_DATA_MAX.saturating_sub(xattr_area_start(&self.data, self.size))
    }

    /// The file type bits of `mode`.
    pub fn kind(&self) -> u32 {
        self.mode & S_IFMT
    }

    /// The inline bytes (short symlink target), if the inode has inline data.
    pub fn inline_bytes(&self) -> Option<&[u8]> {
        match &self.data {
            InodeData::Inline(a) => a.get(..usize::try_from(self.size).ok()?),
            _ => None,
        }
    }
}

/// The byte offset of the inode record field named `name` (for tests and tools).
#[cfg(feature = "inspect")]
pub fn inode_field_offset(name: &str) -> Option<usize> {
    Some(match name {
        "mode" => O_MODE,
        "size" => O_SIZE,
        "mtime_nsec" => O_MTIME_NS,
        "ino" => O_INO,
        "flags" => O_FLAGS,
        "data" => O_DATA,
        "crc" => O_CRC,
        _ => return None,
    })
}
