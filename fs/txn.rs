// SPDX-License-Identifier: GPL-2.0

//! Metadata transactions: every metadata operation runs in one, and is durable when it returns.
//!
//! An operation runs against a [`TxIo`], which reads blocks from pmem and captures every block
//! write in memory (the *overlay*). When the operation succeeds, [`Meta::run`] commits:
//!
//! 1. For each captured block, the byte ranges that differ from pmem become redo records in the
//!    journal, then a commit record; non-temporal stores, then a fence. From here on, the
//!    transaction survives a crash (mount replays it).
//! 2. The changed ranges are copied in place with non-temporal stores, then a fence.
//! 3. A checkpoint (journal header: tail = head) when the log is more than half full, or when the
//!    transaction freed blocks (it clears bits of the block bitmap): a freed block may be reused
//!    for file data, which is not journaled, and replaying an older record into it would destroy
//!    that data.
//!
//! When the operation fails, the overlay is dropped: pmem was not touched.

use super::format::{
    self, copy_bytes, AllocPolicy, Bitmap, Block, BlockIo, DiskSuperblock, JournalHeader,
    JournalWriter, Layout, Scratch, BLOCK_SIZE, JREC_HDR,
};
use super::mem;
use super::ops::Ctx;
use super::pmem_io::MountIo;
use crate::kvec::VecExt;
use crate::pmem::{self, Pmem};
use crate::stats::{Counter, Stats};
use kernel::fmt;
use kernel::prelude::*;
use kernel::str::CString;

const BS: u64 = BLOCK_SIZE as u64;

/// Corruption reports printed per mount; the rest are counted, not printed, so that a walk over
/// a damaged tree does not bury the first report.
const MAX_REPORTS: u32 = 8;

/// The kernel log reports of corruption a mount found, named by its device.
pub(crate) struct Reporter {
    id: CString,
    printed: u32,
}

impl Reporter {
    pub(crate) fn new(id: &CStr) -> Result<Self> {
        Ok(Self {
            id: CString::try_from_fmt(fmt!("{id}"))?,
            printed: 0,
        })
    }

    /// Reports corruption `what` (in `where_`: "metadata", "block bitmap"), up to [`MAX_REPORTS`]
    /// times per mount.
    fn report(&mut self, where_: &str, what: &format::Corrupt) {
        self.printed = self.printed.saturating_add(1);
        if self.printed <= MAX_REPORTS {
            pr_err!("{}: corrupt {}: {}\n", &*self.id, where_, what);
        }
        if self.printed == MAX_REPORTS {
            pr_err!("{}: further corruption is not reported\n", &*self.id);
        }
    }
}

/// A changed byte range of a captured block.
#[derive(Clone, Copy)]
struct Range {
    /// Index in the overlay.
    slot: usize,
    off: usize,
    len: usize,
}

/// The metadata state of a mount, behind the mount's metadata lock.
pub(crate) struct Meta {
    /// The superblock as mounted.
    pub(crate) sb: DiskSuperblock,
    header: JournalHeader,
    writer: JournalWriter,
    /// Working memory of the operations.
    scratch: KBox<Scratch>,
    /// Working memory of the journal writer and of the diff.
    jscratch: KBox<Scratch>,
    /// Captured blocks of the open transaction.
    overlay: KVec<(u64, KBox<Block>)>,
    /// Buffers to reuse for captures.
    pool: KVec<KBox<Block>>,
    ranges: KVec<Range>,
    /// A buffer for bitmap work during metadata allocation.
    tmp: Option<KBox<Block>>,
    /// The open transaction freed blocks.
    freed: bool,
    /// Transactions committed since mount.
    pub(crate) commits: u64,
    /// Corruption was found: no transaction that writes commits any more (the filesystem is
    /// read-only from then on; reads still work).
    errored: bool,
    /// Reports of the corruption found.
    reporter: Reporter,
}

impl Meta {
    /// The metadata state after mount-time recovery: the journal is empty at `header.head`.
    pub(crate) fn new(
        sb: DiskSuperblock,
        header: JournalHeader,
        reporter: Reporter,
    ) -> Result<Self> {
        Ok(Self {
            writer: JournalWriter::new(&sb.layout, &header),
            sb,
            header,
            scratch: mem::scratch()?,
            jscratch: mem::scratch()?,
            overlay: KVec::new(),
            pool: KVec::new(),
            ranges: KVec::new(),
            tmp: Some(mem::zeroed_box()?),
            freed: false,
            commits: 0,
            errored: false,
            reporter,
        })
    }

    /// Runs `f` as one transaction and commits it if it succeeds; on failure nothing reaches
    /// pmem. Corruption met by `f` is reported (with `what`) and gives `EUCLEAN`. A committed
    /// transaction is counted in `stats`, with the allocations it made.
    pub(crate) fn run<T>(
        &mut self,
        pmem: &Pmem,
        stats: &Stats,
        f: impl FnOnce(&mut Ctx<'_, TxIo<'_>>) -> Result<T, format::Error<Error>>,
    ) -> Result<T> {
        let (r, allocs) = {
            let mut io = TxIo {
                pmem,
                layout: self.sb.layout,
                overlay: &mut self.overlay,
                pool: &mut self.pool,
                tmp: &mut self.tmp,
                freed: &mut self.freed,
                reporter: &mut self.reporter,
            };
            let mut ctx = Ctx::new(&mut io, &self.sb, &mut self.scratch);
            let r = f(&mut ctx);
            (r, ctx.allocs)
        };
        match r {
            Ok(_) if self.errored && !self.overlay.is_empty() => {
                self.abort();
                Err(EROFS)
            }
            Ok(v) => {
                if let Err(e) = self.commit(pmem, stats) {
                    self.abort();
                    return Err(e);
                }
                // Most transactions allocate nothing: no counter calls for them.
                if allocs.extents != 0 {
                    stats.add(Counter::AllocExtents, allocs.extents);
                    stats.add(Counter::AllocHuge, allocs.huge);
                    stats.add(Counter::AllocHugeFallbacks, allocs.huge_fallbacks);
                }
                Ok(v)
            }
            Err(e) => {
                self.abort();
                let corrupt = match &e {
                    format::Error::Corrupt(c) => {
                        self.reporter.report("metadata", c);
                        true
                    }
                    // Corruption met by the allocator inside `TxIo` (already reported).
                    format::Error::Io(io) => io.to_errno() == crate::errno::euclean().to_errno(),
                    _ => false,
                };
                if corrupt && !self.errored {
                    pr_err!(
                        "{}: metadata corruption: no more changes are written (read-only)\n",
                        &*self.reporter.id
                    );
                    self.errored = true;
                }
                Err(super::mount::to_errno(e))
            }
        }
    }

    /// Drops the open transaction.
    fn abort(&mut self) {
        while let Some((_, b)) = self.overlay.pop() {
            let _ = self.pool.push(b, GFP_KERNEL);
        }
        self.freed = false;
    }

    /// Commits the open transaction (see the module documentation).
    /// Finds what the transaction changed: the byte ranges of each overlay block that differ
    /// from the media, into `ranges`; returns the bytes their journal records take.
    fn diff(&mut self, pmem: &Pmem) -> Result<u64> {
        self.ranges.clear();
        let mut old = self.tmp.take().ok_or(EINVAL)?;
        let mut bytes = 0u64;
        let mut diff_err = Ok(());
        for (slot, (blk, buf)) in self.overlay.iter().enumerate() {
            if let Err(e) = pmem.read(blk.saturating_mul(BS), &mut old[..]) {
                diff_err = Err(e);
                break;
            }
            if is_block_bitmap(&self.sb.layout, *blk) && format::bitmap_frees(&old, buf) {
                self.freed = true;
            }
            let mut from = 0usize;
            while let Some(c) = format::changed_range(&old, buf, from) {
                let len = c.end.saturating_sub(c.start);
                let r = Range {
                    slot,
                    off: c.start,
                    len,
                };
                if let Err(e) = self.ranges.push(r, GFP_KERNEL) {
                    diff_err = Err(e.into());
                    break;
                }
                bytes = bytes.saturating_add(
                    (JREC_HDR.saturating_add(len.div_ceil(8).saturating_mul(8))) as u64,
                );
                from = c.end;
            }
            if diff_err.is_err() {
                break;
            }
        }
        self.tmp = Some(old);
        diff_err?;
        Ok(bytes)
    }

    /// Step 1 of a commit: writes the changed ranges and the commit record to the journal (not
    /// yet fenced). On failure the partial records are forgotten.
    fn log(&mut self, pmem: &Pmem) -> Result {
        let (head, seq) = (self.writer.head, self.writer.seq);
        let mut jio = MountIo::new(pmem, self.sb.layout.block_count);
        let mut wrote = Ok(());
        for r in self.ranges.iter() {
            let Some((blk, buf)) = self.overlay.get(r.slot) else {
                wrote = Err(EINVAL);
                break;
            };
            let data = r.data(buf)?;
            if let Err(e) = self
                .writer
                .add(&mut jio, *blk, r.off, data, &mut self.jscratch)
            {
                wrote = Err(super::mount::to_errno(e));
                break;
            }
        }
        if wrote.is_ok() {
            wrote = self
                .writer
                .commit(&mut jio, &mut self.jscratch)
                .map(|_| ())
                .map_err(super::mount::to_errno);
        }
        if let Err(e) = wrote {
            // Forget the partial records: the next transaction overwrites them.
            let mut h = self.header;
            h.tail = self.writer.tail;
            h.head = head;
            h.checkpoint_seq = seq.wrapping_sub(1);
            self.writer = JournalWriter::new(&self.sb.layout, &h);
            return Err(e);
        }
        Ok(())
    }

    fn commit(&mut self, pmem: &Pmem, stats: &Stats) -> Result {
        if self.overlay.is_empty() {
            return Ok(());
        }
        let start = kernel::time::Ktime::ktime_get();
        let r = self.commit_timed(pmem, stats);
        let ns = kernel::time::Ktime::ktime_get()
            .to_ns()
            .saturating_sub(start.to_ns());
        stats.add(Counter::JournalCommitNs, u64::try_from(ns).unwrap_or(0));
        r
    }

    /// [`commit`](Self::commit), of a transaction that changed something.
    fn commit_timed(&mut self, pmem: &Pmem, stats: &Stats) -> Result {
        let bytes = self.diff(pmem)?;
        if self.ranges.is_empty() {
            self.abort();
            return Ok(());
        }

        // Room: the records, the commit record, and a lap-end skip of up to one record.
        let need = bytes.saturating_add((2 * JREC_HDR + BLOCK_SIZE + JREC_HDR) as u64);
        let log_bytes = self.header.log_bytes();
        if need > log_bytes {
            pr_err!(
                "a transaction of {} bytes does not fit in the journal\n",
                need
            );
            return Err(ENOSPC);
        }
        if self.writer.head.saturating_add(need) > self.writer.tail.saturating_add(log_bytes) {
            self.checkpoint(pmem, stats)?;
        }

        // 1. Journal.
        let logged_from = self.writer.head;
        self.log(pmem)?;
        pmem::fence();
        stats.add(Counter::JournalCommits, 1);
        stats.add(
            Counter::JournalBytes,
            self.writer.head.saturating_sub(logged_from),
        );

        // 2. In place.
        for r in self.ranges.iter() {
            let Some((blk, buf)) = self.overlay.get(r.slot) else {
                continue;
            };
            let data = r.data(buf)?;
            pmem.write_nt(blk.saturating_mul(BS).saturating_add(r.off as u64), data)?;
        }
        pmem::fence();
        self.commits = self.commits.wrapping_add(1);

        // 3. Checkpoint.
        let used = self.writer.head.saturating_sub(self.writer.tail);
        if self.freed || used > log_bytes / 2 {
            self.checkpoint(pmem, stats)?;
        }
        self.abort();
        Ok(())
    }

    /// Empties the journal (everything committed is in place): a cleanly unmounted filesystem
    /// has nothing to replay.
    pub(crate) fn checkpoint_now(&mut self, pmem: &Pmem, stats: &Stats) -> Result {
        self.checkpoint(pmem, stats)
    }

    /// Marks every committed transaction as in place: the journal header's tail moves to the head.
    /// Everything committed is already applied (commits apply synchronously).
    fn checkpoint(&mut self, pmem: &Pmem, stats: &Stats) -> Result {
        let h = self.header.next(
            self.writer.head,
            self.writer.head,
            self.writer.seq.wrapping_sub(1),
        );
        let mut buf = self.tmp.take().ok_or(EINVAL)?;
        // Only the slot of the new generation is written: the header in force stays intact
        // until the new one is durable.
        let range = h.encode(&mut buf);
        let at = self.sb.layout.journal_start.saturating_mul(BS);
        let r = match buf.get(range.clone()) {
            Some(slot) => pmem.write_nt(at.saturating_add(range.start as u64), slot),
            None => Err(EINVAL),
        };
        self.tmp = Some(buf);
        r?;
        pmem::fence();
        self.header = h;
        self.writer.tail = h.tail;
        stats.add(Counter::JournalCheckpoints, 1);
        Ok(())
    }
}

/// Block access inside a transaction: reads see the transaction's own writes; writes are captured.
pub(crate) struct TxIo<'a> {
    pmem: &'a Pmem,
    layout: Layout,
    overlay: &'a mut KVec<(u64, KBox<Block>)>,
    pool: &'a mut KVec<KBox<Block>>,
    tmp: &'a mut Option<KBox<Block>>,
    freed: &'a mut bool,
    reporter: &'a mut Reporter,
}

impl TxIo<'_> {
    fn find(&self, blk: u64) -> Option<usize> {
        self.overlay.iter().position(|(b, _)| *b == blk)
    }

    /// Runs `f` with the bitmap work buffer.
    fn with_tmp<T>(
        &mut self,
        f: impl FnOnce(&mut Self, &mut Block) -> Result<T, format::Error<Error>>,
    ) -> Result<T> {
        let mut tmp = self.tmp.take().ok_or(EINVAL)?;
        let r = f(self, &mut tmp);
        *self.tmp = Some(tmp);
        r.map_err(|e| {
            if let format::Error::Corrupt(c) = &e {
                self.reporter.report("block bitmap", c);
            }
            super::mount::to_errno(e)
        })
    }
}

impl BlockIo for TxIo<'_> {
    type Error = Error;

    fn block_count(&self) -> u64 {
        self.layout.block_count
    }

    fn read(&self, blk: u64, buf: &mut Block) -> Result {
        if blk >= self.layout.block_count {
            return Err(ERANGE);
        }
        match self.find(blk).and_then(|i| self.overlay.get(i)) {
            Some((_, b)) => {
                copy_bytes(buf, &b[..]);
                Ok(())
            }
            None => self.pmem.read(blk.saturating_mul(BS), &mut buf[..]),
        }
    }

    fn read_part(&self, blk: u64, off: usize, out: &mut [u8], _buf: &mut Block) -> Result {
        if blk >= self.layout.block_count || off.saturating_add(out.len()) > BLOCK_SIZE {
            return Err(ERANGE);
        }
        match self.find(blk).and_then(|i| self.overlay.get(i)) {
            Some((_, b)) => {
                copy_bytes(
                    out,
                    b.get(off..off.saturating_add(out.len())).ok_or(ERANGE)?,
                );
                Ok(())
            }
            None => self
                .pmem
                .read(blk.saturating_mul(BS).saturating_add(off as u64), out),
        }
    }

    fn write(&mut self, blk: u64, buf: &Block) -> Result {
        if blk >= self.layout.block_count {
            return Err(ERANGE);
        }
        if let Some(i) = self.find(blk) {
            if let Some((_, b)) = self.overlay.get_mut(i) {
                copy_bytes(&mut b[..], buf);
            }
            return Ok(());
        }
        let mut b = match self.pool.pop() {
            Some(b) => b,
            None => mem::zeroed_box()?,
        };
        copy_bytes(&mut b[..], buf);
        self.overlay.push((blk, b), GFP_KERNEL)?;
        Ok(())
    }

    fn alloc_meta_block(&mut self, hint: u64) -> Result<Option<u64>> {
        let layout = self.layout;
        self.with_tmp(|io, tmp| {
            let bm = Bitmap::blocks(&layout);
            let Some((b, _)) = bm.find_run(io, hint, AllocPolicy::Small, 1, 1, tmp)? else {
                return Ok(None);
            };
            if !layout.range_in_data_area(b, 1) || bm.set_range(io, b, 1, true, tmp)? != 1 {
                return Err(format::Error::Corrupt(format::Corrupt::BlockOutOfRange(b)));
            }
            Ok(Some(b))
        })
    }

    fn free_meta_block(&mut self, blk: u64) -> Result {
        let layout = self.layout;
        *self.freed = true;
        self.with_tmp(|io, tmp| {
            if !layout.range_in_data_area(blk, 1)
                || Bitmap::blocks(&layout).set_range(io, blk, 1, false, tmp)? != 1
            {
                return Err(format::Error::Corrupt(format::Corrupt::BlockOutOfRange(
                    blk,
                )));
            }
            Ok(())
        })
    }
}

/// Whether `blk` is a block of the block bitmap.
impl Range {
    /// The changed bytes of `buf`, the overlay block this range is of.
    fn data<'b>(&self, buf: &'b Block) -> Result<&'b [u8]> {
        buf.get(self.off..self.off.saturating_add(self.len))
            .ok_or(EINVAL)
    }
}

fn is_block_bitmap(l: &Layout, blk: u64) -> bool {
    blk.checked_sub(l.block_bitmap_start)
        .is_some_and(|i| i < l.block_bitmap_blocks)
}
