// SPDX-License-Identifier: GPL-2.0

//! ferrite's filesystem operations (create, link, rename, block allocation, freeing, ...), on
//! any [`BlockIo`].
//!
//! This module sits on top of the on-media format (`super::format`) and is compiled, like it,
//! into both the kernel module (as `crate::fs::ops`) and the userspace crate `ferrite-format`
//! (as `ferrite_format::ops`), so the tools and the kernel run the same code. Same rules as the
//! format code: `core` only, no `alloc`, no `unsafe`, no panics on any input.
//!
//! # Transactions
//!
//! The kernel runs each call in one journal transaction: its [`BlockIo`] captures every write and
//! allocates tree nodes from the block bitmap through itself. After an error the kernel drops the
//! transaction, so an operation does not undo partial work. It still checks what it can (names,
//! existence, types, emptiness) before its first write, so that a refused call changes nothing
//! also where no transaction protects it (the tools). Every call writes a bounded number of
//! distinct blocks: bulk freeing ([`Ctx::punch`], [`Ctx::free_inode`]) takes a budget of extents
//! per call and reports whether it finished.
//!
//! # Accounting
//!
//! `DiskInode::blocks` counts data blocks and tree nodes, exactly (fsck checks it). Tree nodes
//! allocated and freed by a format call are counted by wrapping the io in [`Counting`] rather
//! than by walking trees.
//!
//! # Bitmap disagreements
//!
//! A data block or inode that the bitmap shows in the wrong state (freeing a free block,
//! allocating a used one) is corruption. The format has no dedicated [`Corrupt`] variant for it;
//! as the kernel's metadata allocator does, blocks report [`Corrupt::BlockOutOfRange`] and inodes
//! [`Corrupt::InodeOutOfRange`], naming the first block or the inode.

mod file;
#[cfg(feature = "mkfs")]
mod mkfs;
mod namei;
mod shift;
mod xattr;

#[cfg(feature = "mkfs")]
pub use mkfs::{mkfs, MkfsParams};
pub use xattr::XattrMode;

use super::format::{
    bitmap_get, dir_lookup, inode_location, Bitmap, Block, BlockIo, Corrupt, DirEntry, DirRoot,
    DiskInode, DiskSuperblock, Error, InlineXattrs, InodeData, Scratch, Timespec,
    BITS_PER_BITMAP_BLOCK, INODE_SIZE, S_IFDIR,
};

/// Attributes of a new inode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NewInodeAttrs {
    /// Type and permission bits.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Device number (character and block devices; ignored for other types).
    pub rdev: u32,
    /// Every timestamp of the new inode, and the change time of its directory.
    pub now: Timespec,
    /// Generation, for NFS-style handles.
    pub generation: u32,
}

/// A rename request.
///
/// `exchange`: `RENAME_EXCHANGE` (both names must exist; they are swapped). `whiteout`:
/// `RENAME_WHITEOUT` (after the move, a new character device 0:0 inode described by it is linked
/// at the old name). `RENAME_NOREPLACE` is checked by the VFS; without `exchange` an existing
/// target is replaced.
#[derive(Clone, Copy, Debug)]
pub struct Rename<'n> {
    /// The directory holding the old name.
    pub old_dir: u64,
    /// The old name.
    pub old_name: &'n [u8],
    /// The directory that receives the new name.
    pub new_dir: u64,
    /// The new name.
    pub new_name: &'n [u8],
    /// Swap the two names (both must exist).
    pub exchange: bool,
    /// Leave a whiteout at the old name.
    pub whiteout: Option<NewInodeAttrs>,
    /// Change time of the inodes, modification and change time of the directories.
    pub now: Timespec,
}

/// The inodes [`Ctx::rename`] reads, changes and writes: before it, a place to read them into (the
/// caller's, so that the kernel can keep these 1.6 KiB off its stack); after it, as written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Renamed {
    /// The old directory.
    pub old_dir: DiskInode,
    /// The new directory, when it is another one (see [`new_dir`](Self::new_dir)).
    pub other_dir: Option<DiskInode>,
    /// The inode that moved (the old name's).
    pub moved: DiskInode,
    /// The replaced target (its link count already decremented; 0 for an emptied directory) or,
    /// with `exchange`, the other inode.
    pub other: Option<DiskInode>,
    /// The whiteout inode, if one was asked for.
    pub whiteout: Option<DiskInode>,
}

impl Renamed {
    /// The directory that received the new name (`old_dir` when the directories are the same).
    pub fn new_dir(&self) -> &DiskInode {
        self.other_dir.as_ref().unwrap_or(&self.old_dir)
    }
}

/// Operations on a filesystem through a [`BlockIo`].
///
/// A `Ctx` lives for one operation (in the kernel, one transaction): it keeps no state of its own
/// besides the borrowed io, superblock and working buffers.
pub struct Ctx<'a, I: BlockIo> {
    /// The storage.
    pub io: &'a mut I,
    /// The mounted superblock (its layout and hash seed).
    pub sb: &'a DiskSuperblock,
    /// Working memory (no operation puts a block on its own stack).
    pub scratch: &'a mut Scratch,
    /// What the data allocations of this context did (for the mount's counters).
    pub allocs: AllocEvents,
}

/// Counts of the data allocations ([`Ctx::alloc`]) a context made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AllocEvents {
    /// Extents allocated.
    pub extents: u64,
    /// Of those, whole aligned 2 MiB extents (a PMD fault can map them).
    pub huge: u64,
    /// Allocations that looked for a whole aligned 2 MiB extent, found none free and took a
    /// smaller one.
    pub huge_fallbacks: u64,
}

/// A [`BlockIo`] that forwards to another and counts the tree nodes allocated and freed through
/// it, so that an operation can keep `DiskInode::blocks` exact.
pub struct Counting<'b, I: BlockIo> {
    io: &'b mut I,
    /// Tree nodes allocated.
    pub allocated: u64,
    /// Tree nodes freed.
    pub freed: u64,
}

impl<'b, I: BlockIo> Counting<'b, I> {
    /// Starts counting on `io`.
    pub fn new(io: &'b mut I) -> Self {
        Counting {
            io,
            allocated: 0,
            freed: 0,
        }
    }

    /// `blocks` adjusted by the nodes allocated and freed so far.
    pub fn adjust(&self, blocks: u64) -> u64 {
        blocks
            .saturating_add(self.allocated)
            .saturating_sub(self.freed)
    }
}

impl<I: BlockIo> BlockIo for Counting<'_, I> {
    type Error = I::Error;

    fn block_count(&self) -> u64 {
        self.io.block_count()
    }

    fn read(&self, blk: u64, buf: &mut Block) -> Result<(), I::Error> {
        self.io.read(blk, buf)
    }

    fn write(&mut self, blk: u64, buf: &Block) -> Result<(), I::Error> {
        self.io.write(blk, buf)
    }

    fn alloc_meta_block(&mut self, hint: u64) -> Result<Option<u64>, I::Error> {
        let b = self.io.alloc_meta_block(hint)?;
        if b.is_some() {
            self.allocated = self.allocated.saturating_add(1);
        }
        Ok(b)
    }

    fn free_meta_block(&mut self, blk: u64) -> Result<(), I::Error> {
        self.io.free_meta_block(blk)?;
        self.freed = self.freed.saturating_add(1);
        Ok(())
    }
}

/// The directory root of `dir`, or `Invalid` if it is not a directory.
fn dir_root<E>(dir: &DiskInode) -> Result<DirRoot, Error<E>> {
    match dir.data {
        InodeData::Dir(r) if dir.kind() == S_IFDIR => Ok(r),
        _ => Err(Error::Invalid),
    }
}

impl<'a, I: BlockIo> Ctx<'a, I> {
    /// Operations on `io`, whose filesystem has superblock `sb`, working in `scratch`.
    pub fn new(io: &'a mut I, sb: &'a DiskSuperblock, scratch: &'a mut Scratch) -> Self {
        Ctx {
            io,
            sb,
            scratch,
            allocs: AllocEvents::default(),
        }
    }

    /// Reads and validates inode `ino` (`Corrupt` for a bad record, including a free one, which
    /// is zeroed).
    pub fn read_inode(&mut self, ino: u64) -> Result<DiskInode, Error<I::Error>> {
        let rec = self.read_record(ino)?;
        Ok(DiskInode::decode(&rec, ino)?)
    }

    /// Reads and checks inode `ino` with the extended attributes its record holds.
    pub fn read_inode_xattrs(
        &mut self,
        ino: u64,
    ) -> Result<(DiskInode, InlineXattrs), Error<I::Error>> {
        let rec = self.read_record(ino)?;
        Ok(DiskInode::decode_with_xattrs(&rec, ino)?)
    }

    /// The record of inode `ino` (pmem: only its 256 bytes are read, not the block).
    fn read_record(&mut self, ino: u64) -> Result<[u8; INODE_SIZE], Error<I::Error>> {
        let (blk, off) = inode_location(&self.sb.layout, ino)?;
        if off.saturating_add(INODE_SIZE) > super::format::BLOCK_SIZE {
            return Err(Corrupt::InodeOutOfRange(ino).into());
        }
        let mut rec = [0u8; INODE_SIZE];
        self.io
            .read_part(blk, off, &mut rec, &mut self.scratch.a)
            .map_err(Error::Io)?;
        Ok(rec)
    }

    /// Writes inode `i` to its record (the extended attributes the record holds stay).
    pub fn write_inode(&mut self, i: &DiskInode) -> Result<(), Error<I::Error>> {
        self.write_record(i, None)
    }

    /// Writes inode `i` to its record, with `ixattrs` as the attributes the record holds.
    pub fn write_inode_xattrs(
        &mut self,
        i: &DiskInode,
        ixattrs: &InlineXattrs,
    ) -> Result<(), Error<I::Error>> {
        self.write_record(i, Some(ixattrs))
    }

    fn write_record(
        &mut self,
        i: &DiskInode,
        ixattrs: Option<&InlineXattrs>,
    ) -> Result<(), Error<I::Error>> {
        let (blk, off) = inode_location(&self.sb.layout, i.ino)?;
        self.io.read(blk, &mut self.scratch.a).map_err(Error::Io)?;
        let rec = self
            .scratch
            .a
            .get_mut(off..off.saturating_add(INODE_SIZE))
            .ok_or(Corrupt::InodeOutOfRange(i.ino))?;
        match ixattrs {
            Some(x) => i.encode_with_xattrs(x, rec),
            None => i.encode(rec),
        }
        self.io.write(blk, &self.scratch.a).map_err(Error::Io)
    }

    /// Zeroes the record of inode `ino` (a free inode's record).
    fn clear_inode(&mut self, ino: u64) -> Result<(), Error<I::Error>> {
        let (blk, off) = inode_location(&self.sb.layout, ino)?;
        self.io.read(blk, &mut self.scratch.a).map_err(Error::Io)?;
        self.scratch
            .a
            .get_mut(off..off.saturating_add(INODE_SIZE))
            .ok_or(Corrupt::InodeOutOfRange(ino))?
            .fill(0);
        self.io.write(blk, &self.scratch.a).map_err(Error::Io)
    }

    /// Looks `name` up in directory `dir`.
    pub fn lookup(&mut self, dir: u64, name: &[u8]) -> Result<Option<DirEntry>, Error<I::Error>> {
        let d = self.read_inode(dir)?;
        self.lookup_in(&d, name)
    }

    /// Looks `name` up in the directory whose inode is `dir`.
    fn lookup_in(
        &mut self,
        dir: &DiskInode,
        name: &[u8],
    ) -> Result<Option<DirEntry>, Error<I::Error>> {
        let root = dir_root(dir)?;
        dir_lookup(
            &*self.io,
            dir.ino,
            &self.sb.hash_seed,
            &root,
            name,
            &mut self.scratch.a,
        )
    }

    /// Calls `f(ino)` for every allocated inode with no links (orphans a crash left behind: files
    /// unlinked while open, `O_TMPFILE` files), in increasing order, for mount-time cleanup with
    /// [`free_inode`](Self::free_inode). Reads every allocated inode record.
    pub fn orphans(&mut self, f: &mut dyn FnMut(u64)) -> Result<(), Error<I::Error>> {
        let layout = self.sb.layout;
        let bm = Bitmap::inodes(&layout);
        for index in 0..bm.blocks {
            bm.load(&*self.io, index, &mut self.scratch.b)?;
            let base = index.saturating_mul(BITS_PER_BITMAP_BLOCK);
            let here = bm.nbits.saturating_sub(base).min(BITS_PER_BITMAP_BLOCK);
            let mut table_blk = None;
            let mut bit = 0u64;
            while bit < here {
                let byte_index = usize::try_from(bit / 8).unwrap_or(usize::MAX);
                if bit % 8 == 0 && self.scratch.b.get(byte_index) == Some(&0) {
                    bit = bit.saturating_add(8);
                    continue;
                }
                let used = bitmap_get(&self.scratch.b, bit);
                let ino = base.saturating_add(bit);
                bit = bit.saturating_add(1);
                if !used || ino == 0 {
                    continue;
                }
                let (blk, off) = inode_location(&layout, ino)?;
                if table_blk != Some(blk) {
                    self.io.read(blk, &mut self.scratch.a).map_err(Error::Io)?;
                    table_blk = Some(blk);
                }
                let rec = self
                    .scratch
                    .a
                    .get(off..off.saturating_add(INODE_SIZE))
                    .ok_or(Corrupt::InodeOutOfRange(ino))?;
                if DiskInode::decode(rec, ino)?.nlink == 0 {
                    f(ino);
                }
            }
        }
        Ok(())
    }

    /// Sets the label in both superblocks (one transaction in the kernel): `label` NUL-padded.
    /// Returns the primary superblock as written.
    pub fn set_label(
        &mut self,
        label: &[u8; super::format::LABEL_MAX],
    ) -> Result<DiskSuperblock, Error<I::Error>> {
        let backup = self.sb.layout.backup_sb;
        let mut primary = None;
        for blk in [0, backup] {
            self.io.read(blk, &mut self.scratch.a).map_err(Error::Io)?;
            let mut s = DiskSuperblock::decode(&self.scratch.a)?;
            s.label = *label;
            s.encode(&mut self.scratch.b);
            self.io.write(blk, &self.scratch.b).map_err(Error::Io)?;
            primary.get_or_insert(s);
        }
        primary.ok_or(Error::Invalid)
    }

    /// The record of inode `ino` if the inode is in use (its bitmap bit set; it may have no
    /// links left, while open); `None` for any other number, in range or not (an export handle
    /// of a file that is gone).
    pub fn live_inode(&mut self, ino: u64) -> Result<Option<DiskInode>, Error<I::Error>> {
        if ino == 0 || ino >= self.sb.layout.inode_count {
            return Ok(None);
        }
        let bm = Bitmap::inodes(&self.sb.layout);
        if !bm.get(&*self.io, ino, &mut self.scratch.a)? {
            return Ok(None);
        }
        self.read_inode(ino).map(Some)
    }

    /// (free data blocks, free inodes), counted in the bitmaps.
    pub fn free_counts(&mut self) -> Result<(u64, u64), Error<I::Error>> {
        let layout = self.sb.layout;
        let blocks = Bitmap::blocks(&layout).count_free(&*self.io, &mut self.scratch.a)?;
        let inodes = Bitmap::inodes(&layout).count_free(&*self.io, &mut self.scratch.a)?;
        Ok((blocks, inodes))
    }
}
