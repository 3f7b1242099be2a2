// SPDX-License-Identifier: GPL-2.0

//! A few namespace operations on an unmounted image, built from the format crate: allocate an
//! inode, create a file with data extents, make a directory, link and unlink. The tests use them
//! to build filesystems for fsck; they also show how the kernel drives the format API.

use crate::image::Image;
use ferrite_format::*;

/// Errors of these operations.
pub type Result<T> = std::result::Result<T, Error<std::io::Error>>;

/// An open filesystem image with its superblock.
pub struct Fs {
    /// The device.
    pub img: Image,
    /// Its superblock.
    pub sb: Superblock,
    /// Working buffers.
    pub scratch: Box<Scratch>,
}

impl Fs {
    /// Opens a filesystem made by mkfs.
    pub fn open(path: &std::path::Path) -> Result<Fs> {
        let mut img = Image::open(path, true).map_err(Error::Io)?;
        let mut buf = [0u8; BLOCK_SIZE];
        img.read(0, &mut buf).map_err(Error::Io)?;
        let sb = Superblock::decode(&buf)?;
        img.blocks = sb.layout.block_count;
        img.layout = Some(sb.layout);
        Ok(Fs {
            img,
            sb,
            scratch: Box::new(Scratch::new()),
        })
    }

    /// Reads inode `ino`.
    pub fn inode(&mut self, ino: u64) -> Result<Inode> {
        let (blk, off) = inode_location(&self.sb.layout, ino)?;
        self.img.read(blk, &mut self.scratch.a).map_err(Error::Io)?;
        Ok(Inode::decode(&self.scratch.a[off..off + INODE_SIZE], ino)?)
    }

    /// Writes inode `i`.
    pub fn write_inode(&mut self, i: &Inode) -> Result<()> {
        let (blk, off) = inode_location(&self.sb.layout, i.ino)?;
        self.img.read(blk, &mut self.scratch.a).map_err(Error::Io)?;
        i.encode(&mut self.scratch.a[off..off + INODE_SIZE]);
        let b = self.scratch.a;
        self.img.write(blk, &b).map_err(Error::Io)
    }

    fn alloc_ino(&mut self) -> Result<u64> {
        let bm = Bitmap::inodes(&self.sb.layout);
        let ino = bm
            .find_zero(&self.img, ROOT_INO, &mut self.scratch.a)?
            .ok_or(Error::NoSpace)?;
        bm.set_range(&mut self.img, ino, 1, true, &mut self.scratch.a)?;
        Ok(ino)
    }

    /// Allocates `n` data blocks as extents (2 MiB aligned chunks while `n` ≥ 512) and maps them
    /// from file block `from` of `root`. Returns the blocks allocated (tree nodes included).
    fn alloc_data(&mut self, owner: u64, root: &mut ExtentRoot, from: u64, n: u64) -> Result<u64> {
        let bm = Bitmap::blocks(&self.sb.layout);
        let mut done = 0;
        let mut used = 0;
        while done < n {
            let left = n - done;
            let huge = if left >= HUGE_BLOCKS {
                bm.find_run(
                    &self.img,
                    0,
                    AllocPolicy::Huge,
                    HUGE_BLOCKS,
                    HUGE_BLOCKS,
                    &mut self.scratch.a,
                )?
            } else {
                None
            };
            let run = match huge {
                Some(r) => r,
                None => bm
                    .find_run(
                        &self.img,
                        0,
                        AllocPolicy::Small,
                        1,
                        left.min(HUGE_BLOCKS),
                        &mut self.scratch.a,
                    )?
                    .ok_or(Error::NoSpace)?,
            };
            bm.set_range(&mut self.img, run.0, run.1, true, &mut self.scratch.a)?;
            let before = self.meta_in_use(owner, root)?;
            extent_insert(
                &mut self.img,
                owner,
                root,
                Extent {
                    logical: from + done,
                    physical: run.0,
                    len: run.1,
                },
                &mut self.scratch,
            )?;
            let after = self.meta_in_use(owner, root)?;
            used += run.1 + after.saturating_sub(before);
            done += run.1;
        }
        Ok(used)
    }

    fn meta_in_use(&mut self, owner: u64, root: &ExtentRoot) -> Result<u64> {
        let mut n = 0;
        extent_tree_nodes(&self.img, owner, root, &mut self.scratch.b, &mut |_, _| {
            n += 1
        })?;
        Ok(n)
    }

    fn dir_meta(&mut self, owner: u64, root: &DirRoot) -> Result<u64> {
        let mut n = 0;
        dir_tree_nodes(&self.img, owner, root, &mut self.scratch.b, &mut |_, _| {
            n += 1
        })?;
        Ok(n)
    }

    fn link_into(&mut self, dir: u64, name: &str, ino: u64, ftype: u8) -> Result<()> {
        let mut d = self.inode(dir)?;
        let InodeData::Dir(mut root) = d.data else {
            return Err(Error::Invalid);
        };
        let before = self.dir_meta(dir, &root)?;
        let seed = self.sb.hash_seed;
        dir_insert(
            &mut self.img,
            dir,
            &seed,
            &mut root,
            name.as_bytes(),
            ino,
            ftype,
            &mut self.scratch,
        )?;
        let after = self.dir_meta(dir, &root)?;
        d.blocks = d.blocks + after - before;
        if ftype == FT_DIR {
            d.nlink += 1;
        }
        d.data = InodeData::Dir(root);
        self.write_inode(&d)
    }

    /// Creates a regular file of `blocks` data blocks (size = blocks * 4096) in `dir`.
    pub fn create_file(&mut self, dir: u64, name: &str, blocks: u64) -> Result<u64> {
        let ino = self.alloc_ino()?;
        let mut i = Inode::new(ino, S_IFREG | 0o644, crate::now());
        let mut root = ExtentRoot::new();
        i.blocks = self.alloc_data(ino, &mut root, 0, blocks)?;
        i.size = blocks * BLOCK_SIZE as u64;
        i.data = InodeData::Extents(root);
        self.write_inode(&i)?;
        self.link_into(dir, name, ino, FT_REG)?;
        Ok(ino)
    }

    /// Creates a file whose blocks are `count` separate one-block extents at every other file
    /// block (a fragmented file).
    pub fn create_fragmented(&mut self, dir: u64, name: &str, count: u64) -> Result<u64> {
        let ino = self.alloc_ino()?;
        let mut i = Inode::new(ino, S_IFREG | 0o644, crate::now());
        let mut root = ExtentRoot::new();
        let mut used = 0;
        for k in 0..count {
            used += self.alloc_data(ino, &mut root, k * 2, 1)?;
        }
        i.blocks = used;
        i.size = count * 2 * BLOCK_SIZE as u64;
        i.data = InodeData::Extents(root);
        self.write_inode(&i)?;
        self.link_into(dir, name, ino, FT_REG)?;
        Ok(ino)
    }

    /// Creates a short symlink.
    pub fn symlink(&mut self, dir: u64, name: &str, target: &str) -> Result<u64> {
        if target.len() > INLINE_DATA_MAX {
            return Err(Error::NameTooLong);
        }
        let ino = self.alloc_ino()?;
        let mut i = Inode::new(ino, S_IFLNK | 0o777, crate::now());
        let mut a = [0u8; INLINE_DATA_MAX];
        a[..target.len()].copy_from_slice(target.as_bytes());
        i.flags = INODE_FLAG_INLINE;
        i.size = target.len() as u64;
        i.data = InodeData::Inline(a);
        self.write_inode(&i)?;
        self.link_into(dir, name, ino, FT_LNK)?;
        Ok(ino)
    }

    /// Makes a directory.
    pub fn mkdir(&mut self, dir: u64, name: &str) -> Result<u64> {
        let ino = self.alloc_ino()?;
        let mut i = Inode::new(ino, S_IFDIR | 0o755, crate::now());
        i.nlink = 2;
        i.data = InodeData::Dir(DirRoot::empty(dir));
        self.write_inode(&i)?;
        self.link_into(dir, name, ino, FT_DIR)?;
        Ok(ino)
    }

    /// Adds a hard link to a non-directory.
    pub fn link(&mut self, dir: u64, name: &str, ino: u64) -> Result<()> {
        let mut i = self.inode(ino)?;
        let ft = file_type(i.mode).ok_or(Error::Invalid)?;
        self.link_into(dir, name, ino, ft)?;
        i.nlink += 1;
        self.write_inode(&i)
    }

    /// Writes the superblock with exact free counts and the clean state (as an unmount does).
    pub fn finish(&mut self) -> Result<()> {
        let bm = Bitmap::blocks(&self.sb.layout);
        let im = Bitmap::inodes(&self.sb.layout);
        self.sb.free_blocks = bm.count_free(&self.img, &mut self.scratch.a)?;
        self.sb.free_inodes = im.count_free(&self.img, &mut self.scratch.a)?;
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
