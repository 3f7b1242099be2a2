// SPDX-License-Identifier: GPL-2.0

//! A model of the kernel module's persistence, for synthetic traces: an image made as the guest
//! makes it (the device filled with the stale-data pattern, then mkfs), and metadata
//! transactions committed the way `fs/txn.rs` commits them, recorded in a trace.
//!
//! A transaction runs a `ferrite_format::ops::Ctx` operation on a capturing overlay (as `TxIo`:
//! reads see the transaction's own writes, tree nodes are allocated from the block bitmap
//! through it). Its commit: the byte ranges that differ from the device become journal records
//! (non-temporal stores through `JournalWriter`), then the commit record, a FENCE, the ranges
//! copied in place (non-temporal), a FENCE, and a checkpoint (journal header, FENCE) when the
//! transaction freed blocks or the log is more than half full. Blocks the operation allocates
//! for file data are zeroed (ZERO) inside the transaction, before the journal, as `iomap_begin`
//! does, and then fenced before the journal is written: without that fence (as the module has it
//! now, [`Mutant::zero_unfenced`]) the commit record can be durable before the zeroes. A
//! [`Mutant`] breaks one step of that protocol.

use ferrite_explore::explore::{explore, ExploreOptions, Summary};
use ferrite_explore::trace::{Trace, TraceWriter};
use ferrite_format::ops::{mkfs, Ctx, MkfsParams, NewInodeAttrs};
use ferrite_format::{
    bitmap_frees, changed_range, AllocPolicy, Bitmap, Block, BlockIo, DiskSuperblock, Error,
    ExtentLookup, JournalHeader, JournalWriter, Layout, Scratch, Timespec, BLOCK_SIZE, LABEL_MAX,
    ROOT_INO, STATE_CLEAN, S_IFREG,
};
use ferrite_tools::image::Image;

/// Blocks of the test device (4 MiB).
pub const BLOCKS: u64 = 1024;
const BS: u64 = BLOCK_SIZE as u64;

/// Call sites, as the kernel's trace names them.
pub const SITE_JOURNAL_FENCE: &str = "fs/txn.rs:258";
pub const SITE_INPLACE: &str = "fs/txn.rs:266";
pub const SITE_INPLACE_FENCE: &str = "fs/txn.rs:268";
pub const SITE_CHECKPOINT: &str = "fs/txn.rs:295";
pub const SITE_CHECKPOINT_FENCE: &str = "fs/txn.rs:298";
pub const SITE_JOURNAL: &str = "fs/pmem_io.rs:53";
pub const SITE_ZERO: &str = "fs/file.rs:27";
/// The fence after the zeroing (not in the module yet: see [`Mutant::zero_unfenced`]).
pub const SITE_ZERO_FENCE: &str = "fs/file.rs:28";

/// One break of the commit protocol.
#[derive(Clone, Copy, Debug, Default)]
pub struct Mutant {
    /// No FENCE between the journal (commit record) and the in-place copies.
    pub drop_journal_fence: bool,
    /// No FENCE after the in-place copies.
    pub drop_inplace_fence: bool,
    /// Zero newly allocated data blocks after the journal's FENCE instead of before it, so
    /// that the zeroing is still pending when the commit record is durable.
    pub zero_after_journal_fence: bool,
    /// No FENCE between the zeroing and the journal: both are pending until the journal's
    /// FENCE, so the commit record may persist first (what `iomap_begin` does today).
    pub zero_unfenced: bool,
    /// Make the in-place copies cached stores (each flushed) instead of non-temporal ones.
    pub inplace_cached: bool,
    /// With `inplace_cached`: do not flush them.
    pub no_flush: bool,
}

/// A transaction's captured blocks: reads see its own writes.
pub struct Capture<'a> {
    base: &'a Image,
    layout: Layout,
    overlay: Vec<(u64, Box<Block>)>,
    /// Device byte ranges to zero (data blocks the operation allocated).
    pub zeroes: Vec<(u64, u64)>,
    freed: bool,
}

fn other<E: std::fmt::Display>(e: E) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

impl BlockIo for Capture<'_> {
    type Error = std::io::Error;

    fn block_count(&self) -> u64 {
        self.layout.block_count
    }

    fn read(&self, blk: u64, buf: &mut Block) -> std::io::Result<()> {
        match self.overlay.iter().find(|(b, _)| *b == blk) {
            Some((_, d)) => {
                buf.copy_from_slice(&d[..]);
                Ok(())
            }
            None => self.base.read(blk, buf),
        }
    }

    fn write(&mut self, blk: u64, buf: &Block) -> std::io::Result<()> {
        if blk >= self.layout.block_count {
            return Err(other("write past the end"));
        }
        match self.overlay.iter_mut().find(|(b, _)| *b == blk) {
            Some((_, d)) => d.copy_from_slice(buf),
            None => self.overlay.push((blk, Box::new(*buf))),
        }
        Ok(())
    }

    fn alloc_meta_block(&mut self, hint: u64) -> std::io::Result<Option<u64>> {
        let bm = Bitmap::blocks(&self.layout);
        let mut tmp = Box::new([0u8; BLOCK_SIZE]);
        let Some((b, _)) = bm
            .find_run(&*self, hint, AllocPolicy::Small, 1, 1, &mut tmp)
            .map_err(other)?
        else {
            return Ok(None);
        };
        bm.set_range(self, b, 1, true, &mut tmp).map_err(other)?;
        Ok(Some(b))
    }

    fn free_meta_block(&mut self, blk: u64) -> std::io::Result<()> {
        self.freed = true;
        let mut tmp = Box::new([0u8; BLOCK_SIZE]);
        Bitmap::blocks(&self.layout)
            .set_range(self, blk, 1, false, &mut tmp)
            .map_err(other)?;
        Ok(())
    }
}

/// Non-temporal stores to the device, recorded (the journal writer's io, as `MountIo`).
struct NtIo<'a> {
    dev: &'a mut Image,
    t: &'a mut TraceWriter,
}

fn nt(dev: &mut Image, t: &mut TraceWriter, off: u64, data: &[u8], site: &str) {
    t.nt(off, data, site);
    let m = dev.memory_mut().expect("memory image");
    m[off as usize..off as usize + data.len()].copy_from_slice(data);
}

impl BlockIo for NtIo<'_> {
    type Error = std::io::Error;

    fn block_count(&self) -> u64 {
        self.dev.block_count()
    }

    fn read(&self, blk: u64, buf: &mut Block) -> std::io::Result<()> {
        self.dev.read(blk, buf)
    }

    fn write(&mut self, blk: u64, buf: &Block) -> std::io::Result<()> {
        nt(self.dev, self.t, blk * BS, buf, SITE_JOURNAL);
        Ok(())
    }

    fn write_part(
        &mut self,
        blk: u64,
        off: usize,
        data: &[u8],
        _buf: &mut Block,
    ) -> std::io::Result<()> {
        nt(self.dev, self.t, blk * BS + off as u64, data, SITE_JOURNAL);
        Ok(())
    }

    fn alloc_meta_block(&mut self, _hint: u64) -> std::io::Result<Option<u64>> {
        Err(other("no allocation in the journal"))
    }

    fn free_meta_block(&mut self, _blk: u64) -> std::io::Result<()> {
        Err(other("no allocation in the journal"))
    }
}

/// The operation of one transaction.
pub type Op<'f, T> =
    &'f mut dyn FnMut(&mut Ctx<'_, Capture<'_>>) -> Result<T, Error<std::io::Error>>;

/// The device, the trace being recorded, and the kernel's journal state.
pub struct Emu {
    /// The image before the trace (what the guest saves just before mount).
    pub image: Vec<u8>,
    dev: Image,
    t: TraceWriter,
    pub sb: DiskSuperblock,
    header: JournalHeader,
    writer: JournalWriter,
    calls: u64,
    mutant: Mutant,
    now: Timespec,
}

impl Emu {
    /// A device filled with the pattern, then mkfs'd; marked not clean (as if a mount had
    /// happened: the tests leave the mount's own superblock transaction out, see
    /// `mount_superblock_update`).
    pub fn new(mutant: Mutant) -> Emu {
        Emu::with_blocks(BLOCKS, mutant)
    }

    /// Like [`new`](Self::new), on a device of `blocks` blocks.
    pub fn with_blocks(blocks: u64, mutant: Mutant) -> Emu {
        let mut data = vec![0u8; (blocks * BS) as usize];
        // The guest's fill (scripts/crash-explore): the pattern word of each 8-byte offset.
        for (k, w) in data.chunks_exact_mut(8).enumerate() {
            let o = 8 * k as u64;
            w.copy_from_slice(&(0xFE77_17E0_0000_0000 | (o >> 3)).to_le_bytes());
        }
        let mut dev = Image::from_vec(data);
        let layout = Layout::compute(blocks, None, None).expect("layout");
        let p = MkfsParams {
            layout,
            uuid: [7; 16],
            hash_seed: *b"explorer testing",
            label: [0; LABEL_MAX],
            journal_nonce: 0x5eed,
            now: Timespec {
                sec: 1_700_000_000,
                nsec: 0,
            },
            inode_table_zeroed: false,
            ro_compat: ferrite_format::RO_COMPAT_XATTR,
        };
        let mut buf = [0u8; BLOCK_SIZE];
        let mut sb = mkfs(&mut dev, &p, &mut buf, &mut |_| Ok(())).expect("mkfs");
        dev.layout = Some(layout);
        Self::from_device(dev, &mut sb, mutant, true)
    }

    fn from_device(mut dev: Image, sb: &mut DiskSuperblock, mutant: Mutant, unclean: bool) -> Emu {
        let mut buf = [0u8; BLOCK_SIZE];
        if unclean {
            sb.state &= !STATE_CLEAN;
            sb.encode(&mut buf);
            dev.write(0, &buf).expect("superblock");
        }
        dev.read(sb.layout.journal_start, &mut buf).expect("read");
        let header = JournalHeader::decode(&buf, &sb.layout).expect("journal header");
        Emu {
            image: dev.memory().expect("memory").to_vec(),
            writer: JournalWriter::new(&sb.layout, &header),
            header,
            sb: *sb,
            dev,
            t: TraceWriter::new(),
            calls: 0,
            mutant,
            now: Timespec {
                sec: 1_700_000_100,
                nsec: 0,
            },
        }
    }

    /// Like [`new`](Self::new), but the image is left clean, as mkfs leaves it.
    pub fn new_clean(mutant: Mutant) -> Emu {
        let e = Emu::new(mutant);
        let mut dev = Image::from_vec(e.image);
        let mut buf = [0u8; BLOCK_SIZE];
        dev.read(0, &mut buf).expect("read");
        let mut sb = DiskSuperblock::decode(&buf).expect("superblock");
        sb.state |= STATE_CLEAN;
        sb.encode(&mut buf);
        dev.write(0, &buf).expect("superblock");
        dev.layout = Some(sb.layout);
        Self::from_device(dev, &mut sb, mutant, false)
    }

    /// Records a mark.
    pub fn mark(&mut self, text: &str) {
        self.t.mark(text);
    }

    /// Runs `f` as system call `name`, between its B and E marks.
    pub fn call<T>(&mut self, name: &str, f: impl FnOnce(&mut Emu) -> T) -> T {
        self.marked("B", name, f)
    }

    /// [`call`](Self::call) for a call made in steps (marked `S`, as the workloads mark writes).
    pub fn step<T>(&mut self, name: &str, f: impl FnOnce(&mut Emu) -> T) -> T {
        self.marked("S", name, f)
    }

    fn marked<T>(&mut self, start: &str, name: &str, f: impl FnOnce(&mut Emu) -> T) -> T {
        self.calls += 1;
        let n = self.calls;
        self.mark(&format!("{start} {n} {name}"));
        self.now.sec += 1;
        let r = f(self);
        self.mark(&format!("E {n} 0"));
        r
    }

    /// Runs `op` as one transaction and commits it.
    pub fn tx<T>(&mut self, op: Op<'_, T>) -> T {
        let sb = self.sb;
        let mut scratch = Box::new(Scratch::new());
        let mut cap = Capture {
            base: &self.dev,
            layout: sb.layout,
            overlay: Vec::new(),
            zeroes: Vec::new(),
            freed: false,
        };
        let v = {
            let mut ctx = Ctx::new(&mut cap, &sb, &mut scratch);
            op(&mut ctx).expect("operation")
        };
        let Capture {
            overlay,
            zeroes,
            freed,
            ..
        } = cap;
        self.commit(overlay, zeroes, freed);
        v
    }

    fn zero(&mut self, off: u64, len: u64) {
        self.t.zero(off, len as u32, SITE_ZERO);
        let m = self.dev.memory_mut().expect("memory image");
        m[off as usize..(off + len) as usize].fill(0);
    }

    /// The commit of `fs/txn.rs`.
    fn commit(&mut self, overlay: Vec<(u64, Box<Block>)>, zeroes: Vec<(u64, u64)>, freed: bool) {
        let l = self.sb.layout;
        let mut freed = freed;
        let mut ranges = Vec::new();
        let mut old = [0u8; BLOCK_SIZE];
        for (blk, new) in &overlay {
            self.dev.read(*blk, &mut old).expect("read");
            let bitmap =
                *blk >= l.block_bitmap_start && *blk < l.block_bitmap_start + l.block_bitmap_blocks;
            if bitmap && bitmap_frees(&old, new) {
                freed = true;
            }
            // The same diff as the module's commit (fs/txn.rs).
            let mut from = 0;
            while let Some(c) = changed_range(&old, new, from) {
                ranges.push((*blk, c.start, new[c.clone()].to_vec()));
                from = c.end;
            }
        }
        if ranges.is_empty() {
            return;
        }
        if !self.mutant.zero_after_journal_fence {
            for (off, len) in &zeroes {
                self.zero(*off, *len);
            }
            if !zeroes.is_empty() && !self.mutant.zero_unfenced {
                self.t.fence(SITE_ZERO_FENCE);
            }
        }
        let mut js = Box::new(Scratch::new());
        {
            let mut io = NtIo {
                dev: &mut self.dev,
                t: &mut self.t,
            };
            for (blk, off, data) in &ranges {
                self.writer
                    .add(&mut io, *blk, *off, data, &mut js)
                    .expect("journal record");
            }
            self.writer.commit(&mut io, &mut js).expect("commit record");
        }
        if !self.mutant.drop_journal_fence {
            self.t.fence(SITE_JOURNAL_FENCE);
        }
        for (blk, off, data) in &ranges {
            let at = blk * BS + *off as u64;
            if self.mutant.inplace_cached {
                self.t.store(at, data, SITE_INPLACE);
                let m = self.dev.memory_mut().expect("memory image");
                m[at as usize..at as usize + data.len()].copy_from_slice(data);
                if !self.mutant.no_flush {
                    self.t.flush(at, data.len() as u32, SITE_INPLACE);
                }
            } else {
                nt(&mut self.dev, &mut self.t, at, data, SITE_INPLACE);
            }
        }
        if self.mutant.zero_after_journal_fence {
            for (off, len) in &zeroes {
                self.zero(*off, *len);
            }
        }
        if !self.mutant.drop_inplace_fence {
            self.t.fence(SITE_INPLACE_FENCE);
        }
        let used = self.writer.head - self.writer.tail;
        if freed || used > self.header.log_bytes() / 2 {
            self.checkpoint();
        }
    }

    /// The journal header's tail moves to the head (`Meta::checkpoint`).
    pub fn checkpoint(&mut self) {
        let h = self
            .header
            .next(self.writer.head, self.writer.head, self.writer.seq - 1);
        let mut buf = [0u8; BLOCK_SIZE];
        // Only the new generation's slot is written (the header in force stays intact).
        let range = h.encode(&mut buf);
        let at = self.sb.layout.journal_start * BS + range.start as u64;
        nt(&mut self.dev, &mut self.t, at, &buf[range], SITE_CHECKPOINT);
        self.t.fence(SITE_CHECKPOINT_FENCE);
        self.header = h;
        self.writer.tail = h.tail;
    }

    fn attr(&self) -> NewInodeAttrs {
        NewInodeAttrs {
            mode: S_IFREG | 0o644,
            uid: 1000,
            gid: 100,
            rdev: 0,
            now: self.now,
            generation: 1,
        }
    }

    /// `creat(name)` in the root: one transaction. Returns the inode number.
    pub fn create(&mut self, name: &str) -> u64 {
        let attr = self.attr();
        let name = name.as_bytes().to_vec();
        self.tx(&mut |ctx| ctx.create(ROOT_INO, &name, &attr).map(|(_, i)| i.ino))
    }

    /// `fallocate(ino, KEEP_SIZE)` of file blocks `lblk..lblk+len`: one transaction mapping
    /// zeroed blocks.
    pub fn fallocate(&mut self, ino: u64, lblk: u64, len: u64) {
        self.tx(&mut |ctx| {
            let mut rec = ctx.read_inode(ino)?;
            let ExtentLookup::Hole { end } = ctx.map(&rec, lblk)? else {
                return Ok(());
            };
            let e = ctx.alloc(&mut rec, lblk, len, end)?;
            ctx.io.zeroes.push((e.physical * BS, e.len * BS));
            Ok(())
        })
    }

    /// `pwrite(ino, data, off)` as the module does it: for each hole, a transaction allocating
    /// zeroed blocks (`iomap_begin`), then the data copied (DATA), then a transaction setting
    /// the size and times when the file grew.
    pub fn write(&mut self, ino: u64, off: u64, data: &[u8]) {
        let end = off + data.len() as u64;
        let mut pos = off;
        while pos < end {
            let lblk = pos / BS;
            let want = (end - 1) / BS - lblk + 1;
            let e = self.tx(&mut |ctx| {
                let mut rec = ctx.read_inode(ino)?;
                match ctx.map(&rec, lblk)? {
                    ExtentLookup::Mapped(e) => Ok(e),
                    ExtentLookup::Hole { end } => {
                        let e = ctx.alloc(&mut rec, lblk, want, end)?;
                        ctx.io.zeroes.push((e.physical * BS, e.len * BS));
                        Ok(e)
                    }
                }
            });
            let stop = end.min(e.end() * BS);
            let dev = e.physical * BS + (pos - e.logical * BS);
            let bytes = &data[(pos - off) as usize..(stop - off) as usize];
            self.t.data(dev, bytes, "fs/file.rs:114");
            let m = self.dev.memory_mut().expect("memory image");
            m[dev as usize..dev as usize + bytes.len()].copy_from_slice(bytes);
            pos = stop;
        }
        let now = self.now;
        self.tx(&mut |ctx| {
            let mut r = ctx.read_inode(ino)?;
            if end > r.size {
                r.size = end;
            }
            r.mtime = now;
            r.ctime = now;
            ctx.write_inode(&r)
        });
    }

    /// `unlink(name)` in the root, then (the last link gone) the inode freed, as evict does.
    pub fn unlink(&mut self, name: &str) {
        let now = self.now;
        let n = name.as_bytes().to_vec();
        let v = self.tx(&mut |ctx| ctx.unlink(ROOT_INO, &n, now).map(|(_, v)| v));
        if v.nlink == 0 {
            while !self.tx(&mut |ctx| ctx.free_inode(v.ino, 16)) {}
        }
    }

    /// Mount's `set_clean(false)` transaction: the superblock marked in use.
    pub fn mount_superblock_update(&mut self) {
        self.tx(&mut |ctx| {
            let mut b = [0u8; BLOCK_SIZE];
            ctx.io.read(0, &mut b).map_err(Error::Io)?;
            let mut s = DiskSuperblock::decode(&b)?;
            s.state &= !STATE_CLEAN;
            s.mount_count += 1;
            s.write_time += 1;
            s.encode(&mut b);
            ctx.io.write(0, &b).map_err(Error::Io)
        })
    }

    /// The image and the trace with its END record.
    pub fn finish(self) -> (Vec<u8>, Vec<u8>) {
        (self.image, self.t.finish(0))
    }

    /// The image and the trace without an END record.
    pub fn unfinished(&self) -> (Vec<u8>, Vec<u8>) {
        (self.image.clone(), self.t.unfinished())
    }
}

/// Explores a finished emulation; returns the summary and the output.
pub fn run(name: &str, emu: Emu, opts: &ExploreOptions) -> (Summary, String) {
    let (image, trace) = emu.finish();
    let t = Trace::parse(trace).expect("trace");
    let mut out = Vec::new();
    let s = explore(name, image, &t, opts, &mut out).expect("explore");
    (s, String::from_utf8(out).expect("utf-8"))
}

/// Options for the tests: every violation printed.
pub fn opts() -> ExploreOptions {
    ExploreOptions {
        quick: false,
        seed: 42,
        max_violations: 1_000_000,
        accept_program_order: false,
        data_not_atomic: false,
    }
}

/// The VIOLATION lines of an output.
pub fn violations(out: &str) -> Vec<&str> {
    out.lines()
        .filter(|l| l.starts_with("VIOLATION "))
        .collect()
}
