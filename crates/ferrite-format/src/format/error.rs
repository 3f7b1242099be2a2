// SPDX-License-Identifier: GPL-2.0

//! Errors of the format code: one [`Corrupt`] variant per kind of corruption, and [`Error`] for
//! everything an operation can fail with.

use core::fmt;

/// A kind of corruption found in what was read from the media.
///
/// Every validation failure has its own variant, so that a message (and a test) can say exactly
/// what was wrong. Block and inode numbers say where.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Corrupt {
    /// The superblock does not start with ferrite's magic.
    BadMagic,
    /// The superblock's crc32c does not match its contents.
    BadSuperblockCrc,
    /// The format version is not one this code understands.
    UnsupportedVersion(u32),
    /// The block size is not 4096.
    BadBlockSize(u32),
    /// An incompatible feature this code does not know is set: the filesystem must not be used.
    UnknownIncompat(u64),
    /// A superblock layout field is inconsistent (named).
    BadLayout(&'static str),
    /// The superblock's state field has unknown bits.
    BadState(u32),
    /// The free block or inode count is larger than the filesystem.
    BadFreeCount,
    /// The root inode number is out of range.
    BadRootInode(u64),
    /// A block number read from the media is outside the filesystem or inside its fixed metadata.
    BlockOutOfRange(u64),
    /// An inode number read from the media is outside the inode table.
    InodeOutOfRange(u64),
    /// An inode the inode bitmap marks free has a record in use (free records are all zero).
    FreeInodeInUse(u64),
    /// A directory (inode number) has an entry whose key is not its name's hash: readdir would
    /// show a name that lookup cannot find.
    DirKeyNotHash(u64),
    /// A directory entry names an inode whose link count is 0.
    NamedButUnlinked(u64),
    /// A file's extent (inode number) maps a block another file, or another offset of this one,
    /// has mapped.
    BlockOfAnotherFile(u64),
    /// An inode record's crc32c does not match.
    BadInodeCrc(u64),
    /// An inode record carries another inode's number.
    BadInodeNumber(u64),
    /// An inode's mode has an unknown file type, or bits above the 16 of a Linux mode.
    BadInodeMode(u64),
    /// An inode timestamp has nanoseconds of a second or more.
    BadTimestamp(u64),
    /// An inode's inline data (short symlink) is longer than the inline area.
    BadInlineSize(u64),
    /// An inode's size is larger than the largest file (`MAX_FILE_SIZE`).
    BadInodeSize(u64),
    /// An inode's owner or group is `u32::MAX`, which Linux reserves for "no id".
    BadInodeOwner(u64),
    /// An inode's extent root (inline count, depth) is invalid.
    BadExtentRoot(u64),
    /// A directory inode's tree root is invalid.
    BadDirRoot(u64),
    /// A bitmap block has a bad magic or index.
    BadBitmapHeader(u64),
    /// A bitmap block's crc32c does not match.
    BadBitmapCrc(u64),
    /// A tree node has the wrong magic.
    BadTreeNodeMagic(u64),
    /// A tree node's crc32c does not match.
    BadTreeNodeCrc(u64),
    /// A tree node is not at the level its parent expects.
    BadTreeNodeLevel(u64),
    /// A tree node belongs to another inode.
    BadTreeNodeOwner(u64),
    /// A tree node's entry count (or used bytes) is out of range.
    BadTreeNodeCount(u64),
    /// The keys of a tree node are not strictly increasing.
    KeysOutOfOrder(u64),
    /// A tree node's first key differs from the key its parent has for it.
    BadTreeKey(u64),
    /// A tree is deeper than the format allows.
    TreeTooDeep,
    /// An extent has length 0, ends past the maximum file size, or overlaps its neighbour.
    BadExtent(u64),
    /// A directory entry is malformed (name length, file type, inode 0, or crosses the node end).
    BadDirEntry(u64),
    /// The journal header has a bad magic.
    BadJournalMagic,
    /// The journal header's crc32c does not match.
    BadJournalCrc,
    /// The journal header's positions are out of range.
    BadJournalHeader,
    /// An xattr block (its number): bad magic, owner, or entries.
    BadXattrBlock(u64),
    /// An xattr block (its number): bad checksum.
    BadXattrCrc(u64),
    /// An inode (its number): an extended attribute's value blocks do not match its checksum,
    /// or the inode has an xattr block on a filesystem without the feature.
    BadXattr(u64),
    /// An inode (its number): the attributes in its record are malformed, or it has some on a
    /// filesystem without the feature.
    BadInlineXattr(u64),
}

impl fmt::Display for Corrupt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Corrupt::BadMagic => write!(f, "bad superblock magic"),
            Corrupt::BadSuperblockCrc => write!(f, "bad superblock checksum"),
            Corrupt::UnsupportedVersion(v) => write!(f, "unsupported format version {v}"),
            Corrupt::BadBlockSize(v) => write!(f, "unsupported block size {v}"),
            Corrupt::UnknownIncompat(v) => write!(f, "unknown incompatible features {v:#x}"),
            Corrupt::BadLayout(what) => write!(f, "bad superblock layout: {what}"),
            Corrupt::BadState(v) => write!(f, "bad superblock state {v:#x}"),
            Corrupt::BadFreeCount => write!(f, "free counts exceed the filesystem size"),
            Corrupt::BadRootInode(i) => write!(f, "bad root inode number {i}"),
            Corrupt::BlockOutOfRange(b) => write!(f, "block number {b} out of range"),
            Corrupt::InodeOutOfRange(i) => write!(f, "inode number {i} out of range"),
            Corrupt::NamedButUnlinked(i) => write!(f, "inode {i} is named but has no links"),
            Corrupt::BlockOfAnotherFile(i) => {
                write!(
                    f,
                    "inode {i} maps a block another file or offset has mapped"
                )
            }
            Corrupt::DirKeyNotHash(i) => {
                write!(f, "directory {i}: an entry's key is not its name's hash")
            }
            Corrupt::FreeInodeInUse(i) => {
                write!(
                    f,
                    "inode {i} is free in the inode bitmap but its record is in use"
                )
            }
            Corrupt::BadInodeCrc(i) => write!(f, "inode {i}: bad checksum"),
            Corrupt::BadInodeNumber(i) => write!(f, "inode {i}: record carries another number"),
            Corrupt::BadInodeMode(i) => write!(f, "inode {i}: unknown file type or bits in mode"),
            Corrupt::BadTimestamp(i) => write!(f, "inode {i}: timestamp nanoseconds out of range"),
            Corrupt::BadInlineSize(i) => write!(f, "inode {i}: inline data too long"),
            Corrupt::BadInodeSize(i) => write!(f, "inode {i}: size beyond the largest file"),
            Corrupt::BadInodeOwner(i) => write!(f, "inode {i}: owner or group is the invalid id"),
            Corrupt::BadExtentRoot(i) => write!(f, "inode {i}: bad extent root"),
            Corrupt::BadDirRoot(i) => write!(f, "inode {i}: bad directory root"),
            Corrupt::BadBitmapHeader(b) => write!(f, "bitmap block {b}: bad header"),
            Corrupt::BadBitmapCrc(b) => write!(f, "bitmap block {b}: bad checksum"),
            Corrupt::BadTreeNodeMagic(b) => write!(f, "tree node {b}: bad magic"),
            Corrupt::BadTreeNodeCrc(b) => write!(f, "tree node {b}: bad checksum"),
            Corrupt::BadTreeNodeLevel(b) => write!(f, "tree node {b}: unexpected level"),
            Corrupt::BadTreeNodeOwner(b) => write!(f, "tree node {b}: belongs to another inode"),
            Corrupt::BadTreeNodeCount(b) => write!(f, "tree node {b}: bad entry count"),
            Corrupt::KeysOutOfOrder(b) => write!(f, "tree node {b}: keys out of order"),
            Corrupt::BadTreeKey(b) => write!(f, "tree node {b}: first key differs from parent's"),
            Corrupt::TreeTooDeep => write!(f, "tree too deep"),
            Corrupt::BadExtent(b) => write!(f, "extent in block {b}: bad extent"),
            Corrupt::BadDirEntry(b) => write!(f, "directory node {b}: bad entry"),
            Corrupt::BadJournalMagic => write!(f, "bad journal header magic"),
            Corrupt::BadJournalCrc => write!(f, "bad journal header checksum"),
            Corrupt::BadJournalHeader => write!(f, "bad journal header positions"),
            Corrupt::BadXattrBlock(b) => write!(f, "xattr block {b}: bad header or entries"),
            Corrupt::BadXattrCrc(b) => write!(f, "xattr block {b}: bad checksum"),
            Corrupt::BadXattr(i) => write!(f, "inode {i}: bad extended attributes"),
            Corrupt::BadInlineXattr(i) => {
                write!(f, "inode {i}: bad extended attributes in the inode record")
            }
        }
    }
}

/// The error of a format operation. `E` is the error type of the [`BlockIo`](super::BlockIo).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error<E> {
    /// The media is corrupt (`EUCLEAN` in the kernel).
    Corrupt(Corrupt),
    /// No free block or inode (`ENOSPC`).
    NoSpace,
    /// The name or key is not there (`ENOENT`).
    NotFound,
    /// The name or range is already there (`EEXIST`).
    Exists,
    /// A name is longer than [`MAX_NAME_LEN`](super::MAX_NAME_LEN) or empty (`ENAMETOOLONG`).
    NameTooLong,
    /// A file offset is past [`MAX_FILE_BLOCKS`](super::MAX_FILE_BLOCKS) (`EFBIG`).
    FileTooBig,
    /// An argument is invalid (zero length, bad file type) (`EINVAL`).
    Invalid,
    /// A directory to remove or replace still has entries (`ENOTEMPTY`).
    NotEmpty,
    /// The block layer failed (`EIO` or what the implementation says).
    Io(E),
}

impl<E> From<Corrupt> for Error<E> {
    fn from(c: Corrupt) -> Self {
        Error::Corrupt(c)
    }
}

impl<E: fmt::Display> fmt::Display for Error<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Corrupt(c) => write!(f, "corrupt filesystem: {c}"),
            Error::NoSpace => write!(f, "no space left"),
            Error::NotFound => write!(f, "not found"),
            Error::Exists => write!(f, "already exists"),
            Error::NameTooLong => write!(f, "name too long"),
            Error::FileTooBig => write!(f, "file too big"),
            Error::Invalid => write!(f, "invalid argument"),
            Error::NotEmpty => write!(f, "directory not empty"),
            Error::Io(e) => write!(f, "I/O error: {e}"),
        }
    }
}

impl core::error::Error for Corrupt {}
