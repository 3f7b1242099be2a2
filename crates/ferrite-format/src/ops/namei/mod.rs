// SPDX-License-Identifier: GPL-2.0

//! Namespace operations: create (files, directories, devices, FIFOs, sockets), `O_TMPFILE`,
//! symlinks, hard links, unlink, rmdir, rename.
//!
//! Link counts follow fsck's rules: a directory has 2 + its subdirectories, anything else one
//! per name. Every operation first checks what it can without writing (names, existence, types,
//! emptiness), then allocates the inode number it needs (found first, marked after the directory
//! entry is in), then changes the directories, then writes the inodes.
//!
//! The VFS serializes namespace changes and checks what only it can: permissions,
//! `RENAME_NOREPLACE`, the link count limit, and that a directory is not moved below itself.
//!
//! Rename, the longest of them, is in `rename.rs`.

mod rename;

use super::super::format::{
    dir_check_name, dir_insert, dir_remove, extent_insert, file_type, inode_location,
    user_flags_for, Bitmap, BlockIo, Corrupt, DirEntry, DirRoot, DiskInode, Error, Extent,
    ExtentLookup, ExtentRoot, InlineXattrs, InodeData, Timespec, BLOCK_SIZE, FT_LNK,
    INLINE_DATA_MAX, INODE_FLAGS_INHERITED, INODE_FLAG_INLINE, INODE_SIZE, S_IFBLK, S_IFCHR,
    S_IFDIR, S_IFLNK, S_IFMT,
};
use super::{dir_root, Counting, Ctx, NewInodeAttrs};

/// The inode record of a new inode `ino` of `mode` described by `attr`.
fn new_record(ino: u64, attr: &NewInodeAttrs, mode: u32) -> DiskInode {
    let mut i = DiskInode::new(ino, mode, attr.now);
    i.uid = attr.uid;
    i.gid = attr.gid;
    i.generation = attr.generation;
    if matches!(mode & S_IFMT, S_IFCHR | S_IFBLK) {
        i.rdev = attr.rdev;
    }
    i
}

/// Sets the modification and change time of a directory.
fn touch(dir: &mut DiskInode, now: Timespec) {
    dir.mtime = now;
    dir.ctime = now;
}

/// Records `parent` as the parent of directory `dir`.
fn set_parent(dir: &mut DiskInode, parent: u64) {
    if let InodeData::Dir(d) = &mut dir.data {
        d.parent = parent;
    }
}

/// Whether directory inode `dir` has no entries.
fn is_empty_dir<E>(dir: &DiskInode) -> Result<bool, Error<E>> {
    let r = dir_root(dir)?;
    Ok(r.entries == 0 && r.tree.blk == 0)
}

/// The directory entry type of an inode read from the media.
fn ftype_of<E>(i: &DiskInode) -> Result<u8, Error<E>> {
    file_type(i.mode).ok_or(Error::Corrupt(Corrupt::BadInodeMode(i.ino)))
}

/// One more link to a directory (a new subdirectory).
fn inc_nlink<E>(i: &mut DiskInode) -> Result<(), Error<E>> {
    i.nlink = i.nlink.checked_add(1).ok_or(Error::Invalid)?;
    Ok(())
}

/// The new directory of a rename: `nd`, or `od` when both are the same.
fn pick<'x>(od: &'x mut DiskInode, nd: &'x mut Option<DiskInode>) -> &'x mut DiskInode {
    match nd {
        Some(n) => n,
        None => od,
    }
}

impl<I: BlockIo> Ctx<'_, I> {
    /// Reads directory `ino` (`Invalid` if it is not one).
    fn read_dir(&mut self, ino: u64) -> Result<DiskInode, Error<I::Error>> {
        let d = self.read_inode(ino)?;
        dir_root(&d)?;
        Ok(d)
    }

    /// Reads directory `ino` to add a name to it: `NotFound` once it was removed.
    fn live_dir(&mut self, ino: u64) -> Result<DiskInode, Error<I::Error>> {
        let d = self.read_dir(ino)?;
        if d.nlink == 0 {
            return Err(Error::NotFound);
        }
        Ok(d)
    }

    /// Checks that `name` is a valid name not yet in `dir`.
    fn check_absent(&mut self, dir: &DiskInode, name: &[u8]) -> Result<(), Error<I::Error>> {
        dir_check_name::<I::Error>(name)?;
        match self.lookup_in(dir, name)? {
            Some(_) => Err(Error::Exists),
            None => Ok(()),
        }
    }

    /// A free inode number, searching from `goal` (nothing is marked yet: see
    /// [`take_ino`](Self::take_ino)).
    /// Writes the record of a new inode: no extended attributes in it yet, whatever the slot
    /// held.
    fn write_new_inode(&mut self, i: &DiskInode) -> Result<(), Error<I::Error>> {
        self.write_inode_xattrs(i, &InlineXattrs::default())
    }

    fn pick_ino(&mut self, goal: u64) -> Result<u64, Error<I::Error>> {
        let layout = self.sb.layout;
        let ino = Bitmap::inodes(&layout)
            .find_zero(&*self.io, goal, &mut self.scratch.a)?
            .ok_or(Error::NoSpace)?;
        // Inode 0 is marked in use by mkfs: finding it free is corruption.
        if ino == 0 || ino >= layout.inode_count {
            return Err(Corrupt::InodeOutOfRange(ino).into());
        }
        // A free inode's record is all zero (`clear_inode`); one that is not belongs to a live
        // inode the bitmap lost, and must not be given out again.
        let (blk, off) = inode_location(&layout, ino)?;
        self.io.read(blk, &mut self.scratch.a).map_err(Error::Io)?;
        let rec = self.scratch.a.get(off..off.saturating_add(INODE_SIZE));
        if !rec.is_some_and(|r| r.iter().all(|&b| b == 0)) {
            return Err(Corrupt::FreeInodeInUse(ino).into());
        }
        Ok(ino)
    }

    /// Marks inode `ino` in use.
    fn take_ino(&mut self, ino: u64) -> Result<(), Error<I::Error>> {
        let bm = Bitmap::inodes(&self.sb.layout);
        if bm.set_range(self.io, ino, 1, true, &mut self.scratch.a)? != 1 {
            return Err(Corrupt::InodeOutOfRange(ino).into());
        }
        Ok(())
    }

    /// Adds `name → ino` to directory `dir` (in memory: the caller writes `dir`), counting new
    /// tree nodes in `dir.blocks`.
    fn dir_add(
        &mut self,
        dir: &mut DiskInode,
        name: &[u8],
        ino: u64,
        ftype: u8,
    ) -> Result<(), Error<I::Error>> {
        let mut root = dir_root(dir)?;
        let mut c = Counting::new(&mut *self.io);
        dir_insert(
            &mut c,
            dir.ino,
            &self.sb.hash_seed,
            &mut root,
            name,
            ino,
            ftype,
            self.scratch,
        )?;
        dir.blocks = c.adjust(dir.blocks);
        dir.data = InodeData::Dir(root);
        Ok(())
    }

    /// Removes `name` from directory `dir` (in memory: the caller writes `dir`), counting freed
    /// tree nodes in `dir.blocks`.
    fn dir_del(&mut self, dir: &mut DiskInode, name: &[u8]) -> Result<DirEntry, Error<I::Error>> {
        let mut root = dir_root(dir)?;
        let mut c = Counting::new(&mut *self.io);
        let e = dir_remove(
            &mut c,
            dir.ino,
            &self.sb.hash_seed,
            &mut root,
            name,
            self.scratch,
        )?;
        dir.blocks = c.adjust(dir.blocks);
        dir.data = InodeData::Dir(root);
        Ok(e)
    }

    /// Creates `name` in directory `dir`: a regular file, a directory (link count 2, parent
    /// `dir`, which gains a link), a character or block device, a FIFO or a socket, by
    /// `attr.mode` (`Invalid` for a symlink or an unknown type). Allocates the inode, links it,
    /// sets the directory's modification and change times to `attr.now` and counts new tree
    /// nodes in its blocks. Returns (directory, new inode), as written.
    pub fn create(
        &mut self,
        dir: u64,
        name: &[u8],
        attr: &NewInodeAttrs,
    ) -> Result<(DiskInode, DiskInode), Error<I::Error>> {
        let mode = attr.mode;
        let ftype = file_type(mode).ok_or(Error::Invalid)?;
        if mode & S_IFMT == S_IFLNK {
            return Err(Error::Invalid);
        }
        let mut d = self.live_dir(dir)?;
        self.check_absent(&d, name)?;
        let ino = self.pick_ino(dir)?;
        let mut new = new_record(ino, attr, mode);
        new.flags |= d.flags & INODE_FLAGS_INHERITED & user_flags_for(mode);
        if mode & S_IFMT == S_IFDIR {
            new.nlink = 2;
            new.data = InodeData::Dir(DirRoot::empty(dir));
            inc_nlink(&mut d)?;
        }
        self.dir_add(&mut d, name, ino, ftype)?;
        self.take_ino(ino)?;
        self.write_new_inode(&new)?;
        touch(&mut d, attr.now);
        self.write_inode(&d)?;
        Ok((d, new))
    }

    /// Creates an unlinked inode (`O_TMPFILE`): allocated, link count 0, in no directory.
    /// Regular files and special files only (`Invalid` for directories and symlinks). Until it
    /// is linked ([`link`](Self::link)) or freed, [`orphans`](Self::orphans) reports it.
    pub fn create_tmpfile(&mut self, attr: &NewInodeAttrs) -> Result<DiskInode, Error<I::Error>> {
        let mode = attr.mode;
        file_type(mode).ok_or(Error::Invalid)?;
        if matches!(mode & S_IFMT, S_IFDIR | S_IFLNK) {
            return Err(Error::Invalid);
        }
        let ino = self.pick_ino(self.sb.root_ino)?;
        let mut new = new_record(ino, attr, mode);
        new.nlink = 0;
        self.take_ino(ino)?;
        self.write_new_inode(&new)?;
        Ok(new)
    }

    /// Creates symlink `name` in `dir` pointing to `target` (1 to 4095 bytes: `Invalid` when
    /// empty, `NameTooLong` beyond). Targets up to [`INLINE_DATA_MAX`] bytes are kept in the
    /// inode ([`INODE_FLAG_INLINE`]); longer ones in one data block, mapped at file block 0.
    /// `size` is the target's length; the mode's type bits are forced to `S_IFLNK`. Returns
    /// (directory, symlink).
    pub fn symlink(
        &mut self,
        dir: u64,
        name: &[u8],
        target: &[u8],
        attr: &NewInodeAttrs,
    ) -> Result<(DiskInode, DiskInode), Error<I::Error>> {
        if target.is_empty() {
            return Err(Error::Invalid);
        }
        if target.len() >= BLOCK_SIZE {
            return Err(Error::NameTooLong);
        }
        let mode = S_IFLNK | (attr.mode & !S_IFMT);
        let mut d = self.live_dir(dir)?;
        self.check_absent(&d, name)?;
        let ino = self.pick_ino(dir)?;
        let mut new = new_record(ino, attr, mode);
        new.flags |= d.flags & INODE_FLAGS_INHERITED & user_flags_for(mode);
        new.size = target.len() as u64;
        if target.len() <= INLINE_DATA_MAX {
            let mut a = [0u8; INLINE_DATA_MAX];
            super::super::format::copy_bytes(
                a.get_mut(..target.len()).ok_or(Error::Invalid)?,
                target,
            );
            new.flags = INODE_FLAG_INLINE;
            new.data = InodeData::Inline(a);
        } else {
            // The block first: if linking fails below, a leaked block is what is left.
            let goal = self.inode_goal(ino);
            let (blk, _) = self.find_small(goal, 1)?.ok_or(Error::NoSpace)?;
            self.take_blocks(blk, 1)?;
            let b = &mut self.scratch.b;
            b.fill(0);
            super::super::format::copy_bytes(
                b.get_mut(..target.len()).ok_or(Error::Invalid)?,
                target,
            );
            self.io.write(blk, &self.scratch.b).map_err(Error::Io)?;
            let mut root = ExtentRoot::new();
            let e = Extent {
                logical: 0,
                physical: blk,
                len: 1,
            };
            let mut c = Counting::new(&mut *self.io);
            extent_insert(&mut c, ino, &mut root, e, self.scratch)?;
            new.blocks = c.adjust(1);
            new.data = InodeData::Extents(root);
        }
        self.dir_add(&mut d, name, ino, FT_LNK)?;
        self.take_ino(ino)?;
        self.write_new_inode(&new)?;
        touch(&mut d, attr.now);
        self.write_inode(&d)?;
        Ok((d, new))
    }

    /// Copies the target of symlink `inode` into the start of `out` and returns its length
    /// (`Invalid` if `out` is shorter or `inode` is no symlink).
    pub fn read_link(
        &mut self,
        inode: &DiskInode,
        out: &mut [u8],
    ) -> Result<usize, Error<I::Error>> {
        if inode.kind() != S_IFLNK {
            return Err(Error::Invalid);
        }
        if let Some(t) = inode.inline_bytes() {
            super::super::format::copy_bytes(out.get_mut(..t.len()).ok_or(Error::Invalid)?, t);
            return Ok(t.len());
        }
        let bad = Corrupt::BadExtentRoot(inode.ino);
        let len = usize::try_from(inode.size).map_err(|_| bad)?;
        if len == 0 || len >= BLOCK_SIZE {
            return Err(bad.into());
        }
        let dst = out.get_mut(..len).ok_or(Error::Invalid)?;
        let ExtentLookup::Mapped(e) = self.map(inode, 0)? else {
            return Err(bad.into());
        };
        // `e` maps file block 0, so it starts there.
        self.io
            .read(e.physical, &mut self.scratch.a)
            .map_err(Error::Io)?;
        super::super::format::copy_bytes(dst, self.scratch.a.get(..len).ok_or(bad)?);
        Ok(len)
    }

    /// Links the existing non-directory `ino` as `name` in `dir` (`Invalid` for a directory):
    /// its link count goes up by one (also from 0, for `linkat` of an `O_TMPFILE` inode) and its
    /// change time becomes `now`. Returns (directory, inode).
    pub fn link(
        &mut self,
        dir: u64,
        name: &[u8],
        ino: u64,
        now: Timespec,
    ) -> Result<(DiskInode, DiskInode), Error<I::Error>> {
        let mut d = self.live_dir(dir)?;
        let mut i = self.read_inode(ino)?;
        if i.kind() == S_IFDIR {
            return Err(Error::Invalid);
        }
        let ftype = ftype_of(&i)?;
        inc_nlink(&mut i)?;
        self.check_absent(&d, name)?;
        self.dir_add(&mut d, name, ino, ftype)?;
        i.ctime = now;
        self.write_inode(&i)?;
        touch(&mut d, now);
        self.write_inode(&d)?;
        Ok((d, i))
    }

    /// Removes the non-directory name `name` from `dir` (`Invalid` for a directory): the
    /// victim loses a link and gets change time `now`; it is not freed (the kernel frees it when
    /// the last reference goes, with [`free_inode`](Self::free_inode)). Returns (directory,
    /// victim).
    pub fn unlink(
        &mut self,
        dir: u64,
        name: &[u8],
        now: Timespec,
    ) -> Result<(DiskInode, DiskInode), Error<I::Error>> {
        let mut d = self.read_dir(dir)?;
        let e = self.lookup_in(&d, name)?.ok_or(Error::NotFound)?;
        let mut v = self.read_inode(e.ino)?;
        if v.kind() == S_IFDIR {
            return Err(Error::Invalid);
        }
        self.dir_del(&mut d, name)?;
        v.nlink = v.nlink.saturating_sub(1);
        v.ctime = now;
        self.write_inode(&v)?;
        touch(&mut d, now);
        self.write_inode(&d)?;
        Ok((d, v))
    }

    /// Removes the empty directory `name` from `dir` (`NotEmpty` if it has entries, `Invalid`
    /// if it is no directory): its link count becomes 0, `dir` loses a link. The victim is freed
    /// later with [`free_inode`](Self::free_inode). Returns (directory, victim).
    pub fn rmdir(
        &mut self,
        dir: u64,
        name: &[u8],
        now: Timespec,
    ) -> Result<(DiskInode, DiskInode), Error<I::Error>> {
        let mut d = self.read_dir(dir)?;
        let e = self.lookup_in(&d, name)?.ok_or(Error::NotFound)?;
        if e.ino == dir {
            return Err(Corrupt::BadDirRoot(dir).into());
        }
        let mut v = self.read_inode(e.ino)?;
        if !is_empty_dir(&v)? {
            return Err(Error::NotEmpty);
        }
        self.dir_del(&mut d, name)?;
        v.nlink = 0;
        v.ctime = now;
        d.nlink = d.nlink.saturating_sub(1);
        self.write_inode(&v)?;
        touch(&mut d, now);
        self.write_inode(&d)?;
        Ok((d, v))
    }
}
