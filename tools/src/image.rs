// SPDX-License-Identifier: GPL-2.0

//! [`BlockIo`] over an image file or a block device, with an optional in-memory overlay (so that
//! `fsck -n` can check a filesystem as if its journal were replayed, without writing).

use ferrite_format::{AllocPolicy, Bitmap, Block, BlockIo, Layout, BLOCK_SIZE};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::Path;

/// An open device or image file.
pub struct Image {
    file: File,
    /// Size in bytes.
    pub size: u64,
    /// Blocks of the filesystem (set once the superblock is known; the device size before).
    pub blocks: u64,
    /// The layout, once known (for metadata allocation).
    pub layout: Option<Layout>,
    /// When set, writes go here instead of the device.
    pub overlay: Option<HashMap<u64, Box<Block>>>,
    /// Whether the device was opened writable.
    pub writable: bool,
}

impl Image {
    /// Opens `path` (regular file or block device); its size comes from seeking to the end,
    /// which works for both.
    pub fn open(path: &Path, writable: bool) -> std::io::Result<Image> {
        let mut file = OpenOptions::new().read(true).write(writable).open(path)?;
        let size = file.seek(SeekFrom::End(0))?;
        Ok(Image {
            file,
            size,
            blocks: size / BLOCK_SIZE as u64,
            layout: None,
            overlay: None,
            writable,
        })
    }

    /// Reads `buf.len()` bytes at byte offset `off` (zeros past the end of a short image).
    pub fn read_bytes(&self, off: u64, buf: &mut [u8]) -> std::io::Result<()> {
        buf.fill(0);
        let mut done = 0;
        while done < buf.len() {
            let n = self.file.read_at(&mut buf[done..], off + done as u64)?;
            if n == 0 {
                break;
            }
            done += n;
        }
        Ok(())
    }

    /// Writes `buf` at byte offset `off`, bypassing the overlay.
    pub fn write_bytes(&self, off: u64, buf: &[u8]) -> std::io::Result<()> {
        self.file.write_all_at(buf, off)
    }

    /// Writes every block of the overlay to the device and drops the overlay.
    pub fn flush_overlay(&mut self) -> std::io::Result<()> {
        if let Some(ov) = self.overlay.take() {
            for (blk, b) in ov {
                self.write_bytes(blk * BLOCK_SIZE as u64, &b[..])?;
            }
        }
        Ok(())
    }

    /// Makes written data durable.
    pub fn sync(&self) -> std::io::Result<()> {
        self.file.sync_all()
    }
}

impl BlockIo for Image {
    type Error = std::io::Error;

    fn block_count(&self) -> u64 {
        self.blocks
    }

    fn read(&self, blk: u64, buf: &mut Block) -> std::io::Result<()> {
        if blk >= self.blocks {
            return Err(std::io::Error::other(format!("block {blk} past the end")));
        }
        if let Some(b) = self.overlay.as_ref().and_then(|o| o.get(&blk)) {
            buf.copy_from_slice(&b[..]);
            return Ok(());
        }
        self.read_bytes(blk * BLOCK_SIZE as u64, buf)
    }

    fn write(&mut self, blk: u64, buf: &Block) -> std::io::Result<()> {
        if blk >= self.blocks {
            return Err(std::io::Error::other(format!("block {blk} past the end")));
        }
        if let Some(o) = self.overlay.as_mut() {
            o.insert(blk, Box::new(*buf));
            return Ok(());
        }
        self.write_bytes(blk * BLOCK_SIZE as u64, buf)
    }

    fn alloc_meta_block(&mut self, hint: u64) -> std::io::Result<Option<u64>> {
        let Some(l) = self.layout else {
            return Err(std::io::Error::other("no layout"));
        };
        let bm = Bitmap::blocks(&l);
        let mut buf = Box::new([0u8; BLOCK_SIZE]);
        let r = bm
            .find_run(&*self, hint, AllocPolicy::Small, 1, 1, &mut buf)
            .map_err(|e| std::io::Error::other(format!("{e:?}")))?;
        let Some((b, _)) = r else { return Ok(None) };
        bm.set_range(self, b, 1, true, &mut buf)
            .map_err(|e| std::io::Error::other(format!("{e:?}")))?;
        Ok(Some(b))
    }

    fn free_meta_block(&mut self, blk: u64) -> std::io::Result<()> {
        let Some(l) = self.layout else {
            return Err(std::io::Error::other("no layout"));
        };
        let mut buf = Box::new([0u8; BLOCK_SIZE]);
        Bitmap::blocks(&l)
            .set_range(self, blk, 1, false, &mut buf)
            .map_err(|e| std::io::Error::other(format!("{e:?}")))?;
        Ok(())
    }
}
