// SPDX-License-Identifier: GPL-2.0

//! [`BlockIo`] over an image file, a block device or an image held in memory, with an optional
//! in-memory overlay (so that `fsck -n` can check a filesystem as if its journal were replayed,
//! without writing).

use ferrite_format::{AllocPolicy, Bitmap, Block, BlockIo, Layout, BLOCK_SIZE};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::Path;

/// Where the bytes of an [`Image`] are.
enum Backing {
    /// A regular file or a block device.
    File(File),
    /// Bytes in memory (see [`Image::from_vec`]).
    Memory(Vec<u8>),
}

/// An open device or image file, or an image in memory.
pub struct Image {
    backing: Backing,
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
    ///
    /// Anything else (a FIFO, a directory, a socket, a character device) is refused before it is
    /// opened: opening a FIFO would block until something writes to it.
    pub fn open(path: &Path, writable: bool) -> std::io::Result<Image> {
        Self::open_with(path, writable, false)
    }

    /// [`open`](Self::open) for writing, and a block device exclusively (`O_EXCL`): the kernel
    /// refuses that (`EBUSY`, "in use") while the device is mounted, in any mount namespace, or
    /// held by another exclusive user, and holds it against a mount while it is open. For what
    /// rewrites a filesystem offline (mkfs, ferrite-tune).
    pub fn open_exclusive(path: &Path) -> std::io::Result<Image> {
        Self::open_with(path, true, true)
    }

    fn open_with(path: &Path, writable: bool, exclusive: bool) -> std::io::Result<Image> {
        use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
        let t = std::fs::metadata(path)?.file_type();
        if !(t.is_file() || t.is_block_device()) {
            let what = if t.is_dir() {
                "a directory"
            } else if t.is_fifo() {
                "a FIFO"
            } else if t.is_socket() {
                "a socket"
            } else if t.is_char_device() {
                "a character device"
            } else {
                "not a regular file"
            };
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{what}, not a block device or an image file"),
            ));
        }
        let mut oo = OpenOptions::new();
        oo.read(true).write(writable);
        // Without O_CREAT, Linux gives O_EXCL a meaning only for block devices.
        if exclusive && t.is_block_device() {
            oo.custom_flags(libc::O_EXCL);
        }
        let mut file = oo.open(path).map_err(|e| {
            if e.raw_os_error() == Some(libc::EBUSY) {
                std::io::Error::new(
                    e.kind(),
                    "the device is in use (mounted, or held by another program)",
                )
            } else {
                e
            }
        })?;
        let size = file.seek(SeekFrom::End(0))?;
        Ok(Image {
            backing: Backing::File(file),
            size,
            blocks: size / BLOCK_SIZE as u64,
            layout: None,
            overlay: None,
            writable,
        })
    }

    /// An image held in memory: `data` is the device, from byte 0 (a partial last block is not
    /// part of it). Writable; writes change `data` (or the overlay, when one is set) and cannot
    /// grow it. The tools' checks run on it as on a file, without any file: the crash-state
    /// explorer builds each crash state in one such buffer.
    pub fn from_vec(data: Vec<u8>) -> Image {
        let size = data.len() as u64;
        Image {
            backing: Backing::Memory(data),
            size,
            blocks: size / BLOCK_SIZE as u64,
            layout: None,
            overlay: None,
            writable: true,
        }
    }

    /// The bytes of an in-memory image (`None` for a file or device). The overlay is not in them.
    pub fn memory(&self) -> Option<&[u8]> {
        match &self.backing {
            Backing::Memory(v) => Some(v),
            Backing::File(_) => None,
        }
    }

    /// The bytes of an in-memory image, to change in place (`None` for a file or device).
    pub fn memory_mut(&mut self) -> Option<&mut [u8]> {
        match &mut self.backing {
            Backing::Memory(v) => Some(v),
            Backing::File(_) => None,
        }
    }

    /// The bytes of an in-memory image, giving it up (`None` for a file or device). The overlay
    /// is dropped.
    pub fn into_vec(self) -> Option<Vec<u8>> {
        match self.backing {
            Backing::Memory(v) => Some(v),
            Backing::File(_) => None,
        }
    }

    /// Reads `buf.len()` bytes at byte offset `off` (zeros past the end of a short image).
    pub fn read_bytes(&self, off: u64, buf: &mut [u8]) -> std::io::Result<()> {
        buf.fill(0);
        match &self.backing {
            Backing::File(file) => {
                let mut done = 0;
                while done < buf.len() {
                    let n = file.read_at(&mut buf[done..], off + done as u64)?;
                    if n == 0 {
                        break;
                    }
                    done += n;
                }
            }
            Backing::Memory(v) => {
                let start = usize::try_from(off).unwrap_or(usize::MAX).min(v.len());
                let end = start.saturating_add(buf.len()).min(v.len());
                buf[..end - start].copy_from_slice(&v[start..end]);
            }
        }
        Ok(())
    }

    /// Writes `buf` at byte offset `off` of a file or device, bypassing the overlay. An image in
    /// memory is written through [`BlockIo::write`] or [`memory_mut`](Self::memory_mut) instead
    /// (this gives an error for it).
    pub fn write_bytes(&self, off: u64, buf: &[u8]) -> std::io::Result<()> {
        match &self.backing {
            Backing::File(file) => file.write_all_at(buf, off),
            Backing::Memory(_) => Err(std::io::Error::other(
                "an in-memory image is written through BlockIo::write or memory_mut",
            )),
        }
    }

    /// Writes `buf` at byte offset `off`, bypassing the overlay. An in-memory image cannot grow:
    /// a write past its end is an error.
    fn store(&mut self, off: u64, buf: &[u8]) -> std::io::Result<()> {
        match &mut self.backing {
            Backing::File(file) => file.write_all_at(buf, off),
            Backing::Memory(v) => {
                let len = v.len();
                let dst = usize::try_from(off)
                    .ok()
                    .and_then(|s| Some(s..s.checked_add(buf.len())?))
                    .and_then(|r| v.get_mut(r))
                    .ok_or_else(|| {
                        std::io::Error::other(format!(
                            "write of {} bytes at {off} past the end of the in-memory image ({len} bytes)",
                            buf.len()
                        ))
                    })?;
                dst.copy_from_slice(buf);
                Ok(())
            }
        }
    }

    /// Writes every block of the overlay to the device and drops the overlay.
    pub fn flush_overlay(&mut self) -> std::io::Result<()> {
        if let Some(ov) = self.overlay.take() {
            for (blk, b) in ov {
                self.store(blk * BLOCK_SIZE as u64, &b[..])?;
            }
        }
        Ok(())
    }

    /// Makes written data durable (nothing to do in memory).
    /// Makes bytes `off..off + len` read as zeros the fast way, if the backing has one: a hole
    /// punched in an image file (`FALLOC_FL_PUNCH_HOLE`, no data written, and a sparse image
    /// stays sparse), `BLKZEROOUT` on a block device (the kernel zeroes it, with the device's
    /// write-zeroes command where it has one), or memory filled. `Ok(false)` when the backing
    /// cannot (the filesystem has no hole punching, the device refuses): the caller writes the
    /// zeros itself.
    #[allow(unsafe_code)]
    pub fn zero_fast(&mut self, off: u64, len: u64) -> std::io::Result<bool> {
        use std::os::fd::AsRawFd;
        use std::os::unix::fs::FileTypeExt;
        let file = match &mut self.backing {
            Backing::Memory(v) => {
                let range = usize::try_from(off)
                    .ok()
                    .zip(usize::try_from(off.saturating_add(len)).ok())
                    .and_then(|(a, b)| v.get_mut(a..b));
                return match range {
                    Some(r) => {
                        r.fill(0);
                        Ok(true)
                    }
                    None => Err(std::io::Error::other("zeroing past the end of the image")),
                };
            }
            Backing::File(f) => f,
        };
        let fd = file.as_raw_fd();
        let r = if file.metadata()?.file_type().is_block_device() {
            // _IO(0x12, 127): zero the byte range {start, length}.
            const BLKZEROOUT: libc::c_ulong = 0x127f;
            let range: [u64; 2] = [off, len];
            // SAFETY: `fd` is an open block device; BLKZEROOUT reads two u64 from the pointer,
            // which points at `range`, alive for the call.
            unsafe { libc::ioctl(fd, BLKZEROOUT as _, range.as_ptr()) }
        } else {
            let (Ok(o), Ok(l)) = (libc::off_t::try_from(off), libc::off_t::try_from(len)) else {
                return Ok(false);
            };
            // SAFETY: `fd` is an open regular file; fallocate takes no pointers.
            unsafe {
                libc::fallocate(
                    fd,
                    libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
                    o,
                    l,
                )
            }
        };
        if r == 0 {
            return Ok(true);
        }
        match std::io::Error::last_os_error().raw_os_error() {
            Some(libc::EOPNOTSUPP) | Some(libc::ENOTTY) | Some(libc::EINVAL) => Ok(false),
            _ => Err(std::io::Error::last_os_error()),
        }
    }

    pub fn sync(&self) -> std::io::Result<()> {
        match &self.backing {
            Backing::File(file) => file.sync_all(),
            Backing::Memory(_) => Ok(()),
        }
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
        self.store(blk * BLOCK_SIZE as u64, buf)
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

/// Block access for a dry journal replay over a borrowed image: writes land in `overlay`, reads
/// see them.
pub struct Dry<'a> {
    img: &'a Image,
    /// The blocks written, as written.
    pub overlay: HashMap<u64, Box<Block>>,
}

impl<'a> Dry<'a> {
    /// Nothing written yet.
    pub fn new(img: &'a Image) -> Self {
        Dry {
            img,
            overlay: HashMap::new(),
        }
    }
}

impl BlockIo for Dry<'_> {
    type Error = std::io::Error;

    fn block_count(&self) -> u64 {
        self.img.block_count()
    }

    fn read(&self, blk: u64, buf: &mut Block) -> std::io::Result<()> {
        match self.overlay.get(&blk) {
            Some(b) => {
                buf.copy_from_slice(&b[..]);
                Ok(())
            }
            None => self.img.read(blk, buf),
        }
    }

    fn write(&mut self, blk: u64, buf: &Block) -> std::io::Result<()> {
        if blk >= self.img.block_count() {
            return Err(std::io::Error::other(format!("block {blk} past the end")));
        }
        self.overlay.insert(blk, Box::new(*buf));
        Ok(())
    }

    fn alloc_meta_block(&mut self, _hint: u64) -> std::io::Result<Option<u64>> {
        Ok(None)
    }

    fn free_meta_block(&mut self, _blk: u64) -> std::io::Result<()> {
        Ok(())
    }
}
