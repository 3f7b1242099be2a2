// SPDX-License-Identifier: GPL-2.0

//! Making an empty filesystem: what `mkfs.ferrite` writes, on any [`BlockIo`].

use super::super::format::{
    bitmap_block_init, bitmap_seal, bitmap_set, inode_location, Bitmap, BitmapKind, Block, BlockIo,
    DirRoot, DiskInode, DiskSuperblock, Error, InlineXattrs, InodeData, JournalHeader, Layout,
    Timespec, BITS_PER_BITMAP_BLOCK, INODE_SIZE, LABEL_MAX, ROOT_INO, STATE_CLEAN, S_IFDIR,
    VERSION,
};

/// What [`mkfs`] writes besides the layout's fixed structures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MkfsParams {
    /// Where everything goes (from [`Layout::compute`]).
    pub layout: Layout,
    /// Random bytes; [`mkfs`] sets the version 4 and variant 1 bits.
    pub uuid: [u8; 16],
    /// Key of the directory name hash: random bytes.
    pub hash_seed: [u8; 16],
    /// Label, NUL-padded.
    pub label: [u8; LABEL_MAX],
    /// Seed of the journal's record checksums: random.
    pub journal_nonce: u64,
    /// Creation time (of the root directory and the filesystem).
    pub now: Timespec,
    /// Whether the inode table already reads as zeros (a fresh image file; mkfs.ferrite zeroes
    /// it itself, skipping blocks that are already zero to keep images sparse). When `false`,
    /// [`mkfs`] writes zeros over the whole table.
    pub inode_table_zeroed: bool,
    /// Read-only-compatible features (`RO_COMPAT_*`) of the new filesystem.
    pub ro_compat: u64,
}

/// Sets bits `first..end` of bitmap block `index` (the part of them inside this block).
fn set_bits(buf: &mut Block, index: u64, first: u64, end: u64) {
    let base = index.saturating_mul(BITS_PER_BITMAP_BLOCK);
    let from = first.max(base);
    let to = end.min(base.saturating_add(BITS_PER_BITMAP_BLOCK));
    for n in from..to {
        bitmap_set(buf, n.saturating_sub(base), true);
    }
}

/// Writes an empty filesystem of `p.layout` to `io`: the journal header, both bitmaps (fixed
/// metadata, the backup superblock, inode 0 and the root marked in use, bits past the end set),
/// the inode table unless `p.inode_table_zeroed`, the root directory, then the backup superblock,
/// `flush`, the primary superblock and `flush` again, so that a primary superblock is only ever
/// found on a complete filesystem. Data blocks are not touched. Returns the superblock written.
/// `Invalid` if the layout is inconsistent or larger than `io`.
pub fn mkfs<I: BlockIo>(
    io: &mut I,
    p: &MkfsParams,
    buf: &mut Block,
    flush: &mut dyn FnMut(&mut I) -> Result<(), I::Error>,
) -> Result<DiskSuperblock, Error<I::Error>> {
    let l = p.layout;
    if l.check().is_err() || l.block_count > io.block_count() {
        return Err(Error::Invalid);
    }

    buf.fill(0);
    JournalHeader::new(&l, p.journal_nonce).encode(buf);
    io.write(l.journal_start, buf).map_err(Error::Io)?;

    let ibm = Bitmap::inodes(&l);
    for index in 0..ibm.blocks {
        bitmap_block_init(buf, BitmapKind::Inode, index);
        set_bits(buf, index, 0, ROOT_INO.saturating_add(1));
        set_bits(buf, index, ibm.nbits, u64::MAX);
        bitmap_seal(buf);
        io.write(ibm.start.saturating_add(index), buf)
            .map_err(Error::Io)?;
    }
    let bbm = Bitmap::blocks(&l);
    for index in 0..bbm.blocks {
        bitmap_block_init(buf, BitmapKind::Block, index);
        set_bits(buf, index, 0, l.data_start);
        set_bits(buf, index, l.backup_sb, u64::MAX);
        bitmap_seal(buf);
        io.write(bbm.start.saturating_add(index), buf)
            .map_err(Error::Io)?;
    }

    if !p.inode_table_zeroed {
        buf.fill(0);
        for i in 0..l.inode_table_blocks {
            io.write(l.inode_table_start.saturating_add(i), buf)
                .map_err(Error::Io)?;
        }
    }
    let mut root = DiskInode::new(ROOT_INO, S_IFDIR | 0o755, p.now);
    root.nlink = 2;
    root.data = InodeData::Dir(DirRoot::empty(ROOT_INO));
    let (blk, off) = inode_location(&l, ROOT_INO)?;
    io.read(blk, buf).map_err(Error::Io)?;
    // With no attributes in its record, whatever the table held.
    root.encode_with_xattrs(
        &InlineXattrs::default(),
        buf.get_mut(off..off.saturating_add(INODE_SIZE))
            .unwrap_or(&mut []),
    );
    io.write(blk, buf).map_err(Error::Io)?;

    let mut uuid = p.uuid;
    if let Some(b) = uuid.get_mut(6) {
        *b = (*b & 0x0f) | 0x40;
    }
    if let Some(b) = uuid.get_mut(8) {
        *b = (*b & 0x3f) | 0x80;
    }
    let secs = u64::try_from(p.now.sec).unwrap_or(0);
    let sb = DiskSuperblock {
        version: VERSION,
        compat: 0,
        incompat: 0,
        ro_compat: p.ro_compat,
        uuid,
        hash_seed: p.hash_seed,
        label: p.label,
        layout: l,
        root_ino: ROOT_INO,
        free_blocks: l.backup_sb.saturating_sub(l.data_start),
        free_inodes: l.inode_count.saturating_sub(2),
        state: STATE_CLEAN,
        mount_count: 0,
        mkfs_time: secs,
        mkfs_nsec: p.now.nsec,
        write_time: secs,
    };
    sb.encode(buf);
    io.write(l.backup_sb, buf).map_err(Error::Io)?;
    flush(io).map_err(Error::Io)?;
    io.write(0, buf).map_err(Error::Io)?;
    flush(io).map_err(Error::Io)?;
    Ok(sb)
}
