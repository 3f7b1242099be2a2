// SPDX-License-Identifier: GPL-2.0

//! A few namespace operations on an unmounted image: make a directory, create a file with data
//! blocks, symlinks and hard links. They are ferrite's own operations
//! ([`ferrite_format::ops`], the code the kernel runs) on an [`Image`], without a journal; the
//! tests use them to build filesystems for fsck.

use crate::image::Image;
use ferrite_format::ops::{Ctx, NewInodeAttrs};
use ferrite_format::*;

/// Errors of these operations.
pub type Result<T> = std::result::Result<T, Error<std::io::Error>>;

/// An open filesystem image with its superblock.
pub struct Fs {
    /// The device.
    pub img: Image,
    /// Its superblock.
    pub sb: DiskSuperblock,
    /// Working buffers.
    pub scratch: Box<Scratch>,
    /// The time given to new and changed inodes; `None`: the current time. A fixed clock makes
    /// images built from the same calls byte-identical.
    pub clock: Option<Timespec>,
}

impl Fs {
    /// The time of an operation: the fixed clock, or now.
    fn time(&self) -> Timespec {
        self.clock.unwrap_or_else(crate::now)
    }

    /// Attributes of a new inode owned by root, created at [`time`](Self::time).
    fn attr(&self, mode: u32) -> NewInodeAttrs {
        NewInodeAttrs {
            mode,
            uid: 0,
            gid: 0,
            rdev: 0,
            now: self.time(),
            generation: 0,
        }
    }
}

impl Fs {
    /// Opens a filesystem made by mkfs.
    pub fn open(path: &std::path::Path) -> Result<Fs> {
        Fs::from_image(Image::open(path, true).map_err(Error::Io)?)
    }

    /// The filesystem on an image already open (a file, or one in memory: [`Image::from_vec`]).
    pub fn from_image(mut img: Image) -> Result<Fs> {
        let mut buf = [0u8; BLOCK_SIZE];
        img.read(0, &mut buf).map_err(Error::Io)?;
        let sb = DiskSuperblock::decode(&buf)?;
        img.blocks = sb.layout.block_count;
        img.layout = Some(sb.layout);
        Ok(Fs {
            img,
            sb,
            scratch: Box::new(Scratch::new()),
            clock: None,
        })
    }

    /// The operations on this image.
    pub fn ctx(&mut self) -> Ctx<'_, Image> {
        Ctx::new(&mut self.img, &self.sb, &mut self.scratch)
    }

    /// Reads inode `ino`.
    pub fn inode(&mut self, ino: u64) -> Result<DiskInode> {
        self.ctx().read_inode(ino)
    }

    /// Writes inode `i`.
    pub fn write_inode(&mut self, i: &DiskInode) -> Result<()> {
        self.ctx().write_inode(i)
    }

    /// Creates a regular file of `blocks` data blocks (size = blocks * 4096) in `dir`, allocated
    /// as the kernel allocates a file written in one go.
    pub fn create_file(&mut self, dir: u64, name: &str, blocks: u64) -> Result<u64> {
        let a = self.attr(S_IFREG | 0o644);
        let mut ctx = self.ctx();
        let (_, mut i) = ctx.create(dir, name.as_bytes(), &a)?;
        let mut lblk = 0;
        while lblk < blocks {
            lblk = ctx.alloc(&mut i, lblk, blocks - lblk, blocks)?.end();
        }
        i.size = blocks * BLOCK_SIZE as u64;
        ctx.write_inode(&i)?;
        Ok(i.ino)
    }

    /// Creates a file whose blocks are `count` separate one-block extents at every other file
    /// block (a fragmented file).
    pub fn create_fragmented(&mut self, dir: u64, name: &str, count: u64) -> Result<u64> {
        let a = self.attr(S_IFREG | 0o644);
        let mut ctx = self.ctx();
        let (_, mut i) = ctx.create(dir, name.as_bytes(), &a)?;
        for k in 0..count {
            ctx.alloc(&mut i, k * 2, 1, k * 2 + 1)?;
        }
        i.size = count * 2 * BLOCK_SIZE as u64;
        ctx.write_inode(&i)?;
        Ok(i.ino)
    }

    /// Creates a symlink.
    pub fn symlink(&mut self, dir: u64, name: &str, target: &str) -> Result<u64> {
        let a = self.attr(S_IFLNK | 0o777);
        let (_, i) = self
            .ctx()
            .symlink(dir, name.as_bytes(), target.as_bytes(), &a)?;
        Ok(i.ino)
    }

    /// Makes a directory.
    pub fn mkdir(&mut self, dir: u64, name: &str) -> Result<u64> {
        let a = self.attr(S_IFDIR | 0o755);
        let (_, i) = self.ctx().create(dir, name.as_bytes(), &a)?;
        Ok(i.ino)
    }

    /// Adds a hard link to a non-directory.
    pub fn link(&mut self, dir: u64, name: &str, ino: u64) -> Result<()> {
        let now = self.time();
        self.ctx().link(dir, name.as_bytes(), ino, now)?;
        Ok(())
    }

    /// Makes a device node, FIFO or socket (`mode` carries the type) with device number `rdev`.
    pub fn mknod(&mut self, dir: u64, name: &str, mode: u32, rdev: u32) -> Result<u64> {
        let mut a = self.attr(mode);
        a.rdev = rdev;
        let (_, i) = self.ctx().create(dir, name.as_bytes(), &a)?;
        Ok(i.ino)
    }

    /// Removes the non-directory `name` from `dir`; the inode is not freed (as when it is still
    /// open): with no link left it is an orphan.
    pub fn unlink(&mut self, dir: u64, name: &str) -> Result<u64> {
        let now = self.time();
        let (_, v) = self.ctx().unlink(dir, name.as_bytes(), now)?;
        Ok(v.ino)
    }

    /// Writes the superblock with exact free counts and the clean state (as an unmount does).
    pub fn finish(&mut self) -> Result<()> {
        (self.sb.free_blocks, self.sb.free_inodes) = self.ctx().free_counts()?;
        self.sb.state = STATE_CLEAN;
        self.sb.encode(&mut self.scratch.a);
        let b = self.scratch.a;
        self.img.write(0, &b).map_err(Error::Io)?;
        self.img
            .write(self.sb.layout.backup_sb, &b)
            .map_err(Error::Io)?;
        self.img.sync().map_err(Error::Io)
    }
}
