// SPDX-License-Identifier: GPL-2.0

//! The superblock (block 0, backup in the last block) and the layout it describes.

use super::bitmap::BITS_PER_BITMAP_BLOCK;
use super::bytes::{get_array, get_u32, get_u64, put_bytes, put_u32, put_u64};
use super::inode::INODES_PER_BLOCK;
use super::{block_crc_ok, block_seal, Block, Corrupt, BLOCK_SIZE, ROOT_INO};

/// Superblock magic, at offset 0.
pub const MAGIC: [u8; 8] = *b"FERRITFS";
/// The format version this code reads and writes.
pub const VERSION: u32 = 1;
/// Label length limit in bytes (NUL-padded on the media).
pub const LABEL_MAX: usize = 64;
/// Incompatible features this code knows (none yet): any other bit refuses the filesystem.
pub const INCOMPAT_SUPPORTED: u64 = 0;
/// Read-only-compatible feature: inodes may have extended attributes (their `xattr` field points
/// at an xattr block). Without it every inode's `xattr` is 0. A reader that does not know it may
/// read, but not write: it would not free an xattr block with its inode.
pub const RO_COMPAT_XATTR: u64 = 1;
/// Read-only-compatible features this code knows: any other bit allows read-only use.
pub const RO_COMPAT_SUPPORTED: u64 = RO_COMPAT_XATTR;
/// State bit: the filesystem was unmounted cleanly (the free counts are exact).
pub const STATE_CLEAN: u32 = 1;
/// State bit: an error was found while mounted; fsck should run.
pub const STATE_ERROR: u32 = 2;

/// Smallest filesystem: 4 MiB.
pub const MIN_BLOCKS: u64 = 1024;
/// Largest filesystem: 2^40 blocks (4 PiB).
pub const MAX_BLOCKS: u64 = 1 << 40;
/// Smallest journal, in blocks (header included).
pub const MIN_JOURNAL_BLOCKS: u64 = 16;
/// Largest inode count (inode numbers fit in 32 bits).
pub const MAX_INODES: u64 = 1 << 32;

// Byte offsets of the superblock fields (see docs/FORMAT.md).
const O_MAGIC: usize = 0;
const O_VERSION: usize = 8;
const O_BLOCK_SIZE: usize = 12;
const O_COMPAT: usize = 16;
const O_INCOMPAT: usize = 24;
const O_RO_COMPAT: usize = 32;
const O_UUID: usize = 40;
const O_HASH_SEED: usize = 56;
const O_LABEL: usize = 72;
const O_BLOCK_COUNT: usize = 136;
const O_INODE_COUNT: usize = 144;
const O_JOURNAL_START: usize = 152;
const O_JOURNAL_BLOCKS: usize = 160;
const O_IBITMAP_START: usize = 168;
const O_IBITMAP_BLOCKS: usize = 176;
const O_BBITMAP_START: usize = 184;
const O_BBITMAP_BLOCKS: usize = 192;
const O_ITABLE_START: usize = 200;
const O_ITABLE_BLOCKS: usize = 208;
const O_DATA_START: usize = 216;
const O_BACKUP_SB: usize = 224;
const O_ROOT_INO: usize = 232;
const O_FREE_BLOCKS: usize = 240;
const O_FREE_INODES: usize = 248;
const O_STATE: usize = 256;
const O_MOUNT_COUNT: usize = 260;
const O_MKFS_TIME: usize = 264;
const O_MKFS_NSEC: usize = 272;
const O_WRITE_TIME: usize = 280;

/// Why a label is not one ferrite accepts ([`label_check`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BadLabel {
    /// Longer than [`LABEL_MAX`] bytes.
    TooLong,
    /// Not valid UTF-8.
    NotUtf8,
    /// Holds a control character (Unicode `Cc`: NUL, newline, escape, DEL, the C1 controls).
    ControlChar,
}

impl core::fmt::Display for BadLabel {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // A predicate: "label 'x' <this>".
        match self {
            BadLabel::TooLong => write!(f, "is longer than {LABEL_MAX} bytes"),
            BadLabel::NotUtf8 => f.write_str("is not valid UTF-8"),
            BadLabel::ControlChar => f.write_str("contains a control character"),
        }
    }
}

/// Checks a new label, as `FS_IOC_SETFSLABEL`, mkfs and ferrite-tune take it: at most
/// [`LABEL_MAX`] bytes of valid UTF-8 without control characters (NUL among them: on the media
/// the label ends at the first NUL). The empty label (no label) is valid.
pub fn label_check(label: &[u8]) -> Result<(), BadLabel> {
    if label.len() > LABEL_MAX {
        return Err(BadLabel::TooLong);
    }
    match core::str::from_utf8(label) {
        Ok(s) if s.chars().any(char::is_control) => Err(BadLabel::ControlChar),
        Ok(_) => Ok(()),
        Err(_) => Err(BadLabel::NotUtf8),
    }
}

/// Whether `label` may be written as a filesystem's label ([`label_check`]).
pub fn label_is_valid(label: &[u8]) -> bool {
    label_check(label).is_ok()
}

/// Why a layout cannot be computed for a size.
#[cfg(feature = "mkfs")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayoutError {
    /// Fewer than [`MIN_BLOCKS`] blocks.
    TooSmall,
    /// More than [`MAX_BLOCKS`] blocks.
    TooBig,
    /// The requested inode count or journal size does not fit.
    BadParameter,
}

/// Where everything is. All numbers are blocks except `inode_count`.
///
/// # Invariants
///
/// A `Layout` returned by [`Layout::compute`] or [`DiskSuperblock::decode`] has its regions in this
/// order, contiguous, inside the filesystem: superblock (block 0), journal, inode bitmap, block
/// bitmap, inode table, data area, backup superblock (last block); the bitmaps have exactly the
/// blocks their bit counts need.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Total blocks.
    pub block_count: u64,
    /// Inodes in the table (a multiple of 16).
    pub inode_count: u64,
    /// First journal block (the journal header).
    pub journal_start: u64,
    /// Journal blocks, header included.
    pub journal_blocks: u64,
    /// First inode bitmap block.
    pub inode_bitmap_start: u64,
    /// Inode bitmap blocks.
    pub inode_bitmap_blocks: u64,
    /// First block bitmap block.
    pub block_bitmap_start: u64,
    /// Block bitmap blocks.
    pub block_bitmap_blocks: u64,
    /// First inode table block.
    pub inode_table_start: u64,
    /// Inode table blocks.
    pub inode_table_blocks: u64,
    /// First block of the data area (file data, tree nodes).
    pub data_start: u64,
    /// The backup superblock (the last block).
    pub backup_sb: u64,
}

fn div_ceil(a: u64, b: u64) -> u64 {
    match a.checked_div(b) {
        Some(q) => {
            if a.checked_rem(b).unwrap_or(0) != 0 {
                q.saturating_add(1)
            } else {
                q
            }
        }
        None => 0,
    }
}

impl Layout {
    /// The layout mkfs uses for `block_count` blocks. `inodes` and `journal_blocks` override the
    /// defaults (one inode per 16 KiB, journal of 1/64 of the blocks clamped to 64..16384).
    #[cfg(feature = "mkfs")]
    pub fn compute(
        block_count: u64,
        inodes: Option<u64>,
        journal_blocks: Option<u64>,
    ) -> Result<Layout, LayoutError> {
        if block_count < MIN_BLOCKS {
            return Err(LayoutError::TooSmall);
        }
        if block_count > MAX_BLOCKS {
            return Err(LayoutError::TooBig);
        }
        let jb = match journal_blocks {
            Some(j) => j,
            None => Self::default_journal_blocks(block_count),
        };
        let want_inodes = match inodes {
            Some(n) => n,
            None => block_count / 4,
        };
        let inode_count = div_ceil(want_inodes.max(INODES_PER_BLOCK), INODES_PER_BLOCK)
            .saturating_mul(INODES_PER_BLOCK)
            .min(MAX_INODES);
        let ibb = div_ceil(inode_count, BITS_PER_BITMAP_BLOCK);
        let bbb = div_ceil(block_count, BITS_PER_BITMAP_BLOCK);
        let itb = inode_count / INODES_PER_BLOCK;
        let l = Layout {
            block_count,
            inode_count,
            journal_start: 1,
            journal_blocks: jb,
            inode_bitmap_start: 1u64.saturating_add(jb),
            inode_bitmap_blocks: ibb,
            block_bitmap_start: 1u64.saturating_add(jb).saturating_add(ibb),
            block_bitmap_blocks: bbb,
            inode_table_start: 1u64
                .saturating_add(jb)
                .saturating_add(ibb)
                .saturating_add(bbb),
            inode_table_blocks: itb,
            data_start: 1u64
                .saturating_add(jb)
                .saturating_add(ibb)
                .saturating_add(bbb)
                .saturating_add(itb),
            backup_sb: block_count.saturating_sub(1),
        };
        match l.check() {
            Ok(()) => Ok(l),
            Err(_) => Err(LayoutError::BadParameter),
        }
    }

    /// The journal size mkfs gives `block_count` blocks unless asked for another: 1/64 of the
    /// blocks, clamped to 64..=16384 (never smaller for more blocks).
    #[cfg(feature = "mkfs")]
    pub fn default_journal_blocks(block_count: u64) -> u64 {
        (block_count / 64).clamp(64, 16384)
    }

    /// Validates the invariants of [`Layout`].
    pub fn check(&self) -> Result<(), Corrupt> {
        let bad = Corrupt::BadLayout;
        if self.block_count < MIN_BLOCKS || self.block_count > MAX_BLOCKS {
            return Err(bad("block_count"));
        }
        if self.journal_start != 1 {
            return Err(bad("journal_start"));
        }
        if self.journal_blocks < MIN_JOURNAL_BLOCKS {
            return Err(bad("journal_blocks"));
        }
        let end = |s: u64, n: u64| s.checked_add(n).ok_or(bad("region overflows"));
        if self.inode_bitmap_start != end(self.journal_start, self.journal_blocks)? {
            return Err(bad("inode_bitmap_start"));
        }
        if self.inode_count == 0
            || self.inode_count > MAX_INODES
            || self.inode_count % INODES_PER_BLOCK != 0
        {
            return Err(bad("inode_count"));
        }
        if self.inode_bitmap_blocks != div_ceil(self.inode_count, BITS_PER_BITMAP_BLOCK) {
            return Err(bad("inode_bitmap_blocks"));
        }
        if self.block_bitmap_start != end(self.inode_bitmap_start, self.inode_bitmap_blocks)? {
            return Err(bad("block_bitmap_start"));
        }
        if self.block_bitmap_blocks != div_ceil(self.block_count, BITS_PER_BITMAP_BLOCK) {
            return Err(bad("block_bitmap_blocks"));
        }
        if self.inode_table_start != end(self.block_bitmap_start, self.block_bitmap_blocks)? {
            return Err(bad("inode_table_start"));
        }
        if self.inode_table_blocks != self.inode_count / INODES_PER_BLOCK {
            return Err(bad("inode_table_blocks"));
        }
        if self.data_start != end(self.inode_table_start, self.inode_table_blocks)? {
            return Err(bad("data_start"));
        }
        if self.backup_sb != self.block_count.saturating_sub(1) {
            return Err(bad("backup_sb"));
        }
        // At least 16 data blocks: room for the root directory and a few files.
        if end(self.data_start, 16)? > self.backup_sb {
            return Err(bad("no data area"));
        }
        Ok(())
    }

    /// Whether `blk` may hold file data or a tree node (it is in the data area).
    pub fn in_data_area(&self, blk: u64) -> bool {
        blk >= self.data_start && blk < self.backup_sb
    }

    /// Whether the `len` blocks from `blk` are all in the data area.
    pub fn range_in_data_area(&self, blk: u64, len: u64) -> bool {
        match blk.checked_add(len) {
            Some(e) => len > 0 && blk >= self.data_start && e <= self.backup_sb,
            None => false,
        }
    }
}

/// Whether a filesystem can be used read-write or only read-only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MountMode {
    /// Every feature is known.
    ReadWrite,
    /// An unknown read-only-compatible feature is set: reading is safe, writing is not.
    ReadOnly,
}

/// The superblock, validated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiskSuperblock {
    /// Format version ([`VERSION`]).
    pub version: u32,
    /// Compatible features.
    pub compat: u64,
    /// Incompatible features (only known bits, after [`decode`](Superblock::decode)).
    pub incompat: u64,
    /// Read-only-compatible features.
    pub ro_compat: u64,
    /// Filesystem UUID.
    pub uuid: [u8; 16],
    /// Key of the directory name hash (SipHash-2-4).
    pub hash_seed: [u8; 16],
    /// Label, NUL-padded.
    pub label: [u8; LABEL_MAX],
    /// Where everything is.
    pub layout: Layout,
    /// The root directory.
    pub root_ino: u64,
    /// Free data blocks; exact when `state` has [`STATE_CLEAN`], a hint otherwise.
    pub free_blocks: u64,
    /// Free inodes; exact when `state` has [`STATE_CLEAN`], a hint otherwise.
    pub free_inodes: u64,
    /// [`STATE_CLEAN`], [`STATE_ERROR`] bits.
    pub state: u32,
    /// Mounts since mkfs.
    pub mount_count: u32,
    /// mkfs time, seconds since the epoch.
    pub mkfs_time: u64,
    /// mkfs time, nanoseconds.
    pub mkfs_nsec: u32,
    /// Last time the superblock was written, seconds since the epoch.
    pub write_time: u64,
}

impl DiskSuperblock {
    /// Parses and validates a superblock block.
    pub fn decode(buf: &Block) -> Result<DiskSuperblock, Corrupt> {
        Self::decode_crc(buf, true)
    }

    /// [`decode`](Self::decode) without the crc check, for a superblock whose in-place update a
    /// crash may have torn: every field is still validated, and the result serves only to find
    /// the journal that holds the superblock's committed update ([`read_superblock`]).
    ///
    /// [`read_superblock`]: super::read_superblock
    pub fn decode_torn(buf: &Block) -> Result<DiskSuperblock, Corrupt> {
        Self::decode_crc(buf, false)
    }

    fn decode_crc(buf: &Block, crc: bool) -> Result<DiskSuperblock, Corrupt> {
        if get_array::<8>(buf, O_MAGIC) != MAGIC {
            return Err(Corrupt::BadMagic);
        }
        if crc && !block_crc_ok(buf) {
            return Err(Corrupt::BadSuperblockCrc);
        }
        let version = get_u32(buf, O_VERSION);
        if version != VERSION {
            return Err(Corrupt::UnsupportedVersion(version));
        }
        let bs = get_u32(buf, O_BLOCK_SIZE);
        if bs as usize != BLOCK_SIZE {
            return Err(Corrupt::BadBlockSize(bs));
        }
        let incompat = get_u64(buf, O_INCOMPAT);
        if incompat & !INCOMPAT_SUPPORTED != 0 {
            return Err(Corrupt::UnknownIncompat(incompat & !INCOMPAT_SUPPORTED));
        }
        let layout = Layout {
            block_count: get_u64(buf, O_BLOCK_COUNT),
            inode_count: get_u64(buf, O_INODE_COUNT),
            journal_start: get_u64(buf, O_JOURNAL_START),
            journal_blocks: get_u64(buf, O_JOURNAL_BLOCKS),
            inode_bitmap_start: get_u64(buf, O_IBITMAP_START),
            inode_bitmap_blocks: get_u64(buf, O_IBITMAP_BLOCKS),
            block_bitmap_start: get_u64(buf, O_BBITMAP_START),
            block_bitmap_blocks: get_u64(buf, O_BBITMAP_BLOCKS),
            inode_table_start: get_u64(buf, O_ITABLE_START),
            inode_table_blocks: get_u64(buf, O_ITABLE_BLOCKS),
            data_start: get_u64(buf, O_DATA_START),
            backup_sb: get_u64(buf, O_BACKUP_SB),
        };
        layout.check()?;
        let state = get_u32(buf, O_STATE);
        if state & !(STATE_CLEAN | STATE_ERROR) != 0 {
            return Err(Corrupt::BadState(state));
        }
        let free_blocks = get_u64(buf, O_FREE_BLOCKS);
        let free_inodes = get_u64(buf, O_FREE_INODES);
        if free_blocks > layout.block_count || free_inodes > layout.inode_count {
            return Err(Corrupt::BadFreeCount);
        }
        let root_ino = get_u64(buf, O_ROOT_INO);
        if root_ino != ROOT_INO {
            return Err(Corrupt::BadRootInode(root_ino));
        }
        Ok(DiskSuperblock {
            version,
            compat: get_u64(buf, O_COMPAT),
            incompat,
            ro_compat: get_u64(buf, O_RO_COMPAT),
            uuid: get_array(buf, O_UUID),
            hash_seed: get_array(buf, O_HASH_SEED),
            label: get_array(buf, O_LABEL),
            layout,
            root_ino,
            free_blocks,
            free_inodes,
            state,
            mount_count: get_u32(buf, O_MOUNT_COUNT),
            mkfs_time: get_u64(buf, O_MKFS_TIME),
            mkfs_nsec: get_u32(buf, O_MKFS_NSEC),
            write_time: get_u64(buf, O_WRITE_TIME),
        })
    }

    /// Serializes the superblock into a whole block (the mirror of [`decode`](Self::decode)),
    /// crc included.
    pub fn encode(&self, buf: &mut Block) {
        buf.fill(0);
        put_bytes(buf, O_MAGIC, &MAGIC);
        put_u32(buf, O_VERSION, self.version);
        put_u32(buf, O_BLOCK_SIZE, BLOCK_SIZE as u32);
        put_u64(buf, O_COMPAT, self.compat);
        put_u64(buf, O_INCOMPAT, self.incompat);
        put_u64(buf, O_RO_COMPAT, self.ro_compat);
        put_bytes(buf, O_UUID, &self.uuid);
        put_bytes(buf, O_HASH_SEED, &self.hash_seed);
        put_bytes(buf, O_LABEL, &self.label);
        let l = &self.layout;
        put_u64(buf, O_BLOCK_COUNT, l.block_count);
        put_u64(buf, O_INODE_COUNT, l.inode_count);
        put_u64(buf, O_JOURNAL_START, l.journal_start);
        put_u64(buf, O_JOURNAL_BLOCKS, l.journal_blocks);
        put_u64(buf, O_IBITMAP_START, l.inode_bitmap_start);
        put_u64(buf, O_IBITMAP_BLOCKS, l.inode_bitmap_blocks);
        put_u64(buf, O_BBITMAP_START, l.block_bitmap_start);
        put_u64(buf, O_BBITMAP_BLOCKS, l.block_bitmap_blocks);
        put_u64(buf, O_ITABLE_START, l.inode_table_start);
        put_u64(buf, O_ITABLE_BLOCKS, l.inode_table_blocks);
        put_u64(buf, O_DATA_START, l.data_start);
        put_u64(buf, O_BACKUP_SB, l.backup_sb);
        put_u64(buf, O_ROOT_INO, self.root_ino);
        put_u64(buf, O_FREE_BLOCKS, self.free_blocks);
        put_u64(buf, O_FREE_INODES, self.free_inodes);
        put_u32(buf, O_STATE, self.state);
        put_u32(buf, O_MOUNT_COUNT, self.mount_count);
        put_u64(buf, O_MKFS_TIME, self.mkfs_time);
        put_u32(buf, O_MKFS_NSEC, self.mkfs_nsec);
        put_u64(buf, O_WRITE_TIME, self.write_time);
        block_seal(buf);
    }

    /// Whether inodes may have extended attributes ([`RO_COMPAT_XATTR`]).
    pub fn has_xattr(&self) -> bool {
        self.ro_compat & RO_COMPAT_XATTR != 0
    }

    /// Read-write, or read-only because of an unknown read-only-compatible feature.
    pub fn mount_mode(&self) -> MountMode {
        if self.ro_compat & !RO_COMPAT_SUPPORTED != 0 {
            MountMode::ReadOnly
        } else {
            MountMode::ReadWrite
        }
    }

    /// The label as bytes, without the NUL padding.
    #[cfg(feature = "inspect")]
    pub fn label_bytes(&self) -> &[u8] {
        let n = self.label.iter().position(|&b| b == 0).unwrap_or(LABEL_MAX);
        self.label.get(..n).unwrap_or(&[])
    }

    /// Sets the label; `Err(())` if longer than [`LABEL_MAX`].
    #[cfg(feature = "mkfs")]
    #[allow(clippy::result_unit_err)]
    pub fn set_label(&mut self, label: &[u8]) -> Result<(), ()> {
        let dst = self.label.get_mut(..label.len()).ok_or(())?;
        super::bytes::copy_bytes(dst, label);
        if let Some(rest) = self.label.get_mut(label.len()..) {
            rest.fill(0);
        }
        Ok(())
    }
}

/// The byte offset of the field named `name` in the superblock block (for tests and tools).
#[cfg(feature = "inspect")]
pub fn superblock_field_offset(name: &str) -> Option<usize> {
    Some(match name {
        "magic" => O_MAGIC,
        "version" => O_VERSION,
        "block_size" => O_BLOCK_SIZE,
        "compat" => O_COMPAT,
        "incompat" => O_INCOMPAT,
        "ro_compat" => O_RO_COMPAT,
        "uuid" => O_UUID,
        "hash_seed" => O_HASH_SEED,
        "label" => O_LABEL,
        "block_count" => O_BLOCK_COUNT,
        "inode_count" => O_INODE_COUNT,
        "data_start" => O_DATA_START,
        "root_ino" => O_ROOT_INO,
        "free_blocks" => O_FREE_BLOCKS,
        "state" => O_STATE,
        "write_time" => O_WRITE_TIME,
        _ => return None,
    })
}
