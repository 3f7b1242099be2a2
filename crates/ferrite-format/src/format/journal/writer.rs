// SPDX-License-Identifier: GPL-2.0

//! Writing transactions into the log, and what of a changed block they journal.

use super::super::bytes::{put_u16, put_u32, put_u64};
use super::super::crc::crc32c_update;
use super::super::{Block, BlockIo, Error, Layout, Scratch, BLOCK_SIZE};
use super::{
    pad8, JournalHeader, Log, JREC_HDR, JREC_MAX_PAYLOAD, O_R_CRC, O_R_LEN, O_R_MAGIC, O_R_OFFSET,
    O_R_SEQ, O_R_TARGET, O_R_TXN_CRC, REC_COMMIT, REC_DATA, REC_SKIP,
};

/// Changed bytes closer than this go into one DATA record (a record header is 32 bytes).
pub const JREC_MERGE_GAP: usize = 64;

/// The first byte range at or after `from` where block `new` differs from `old`, differences
/// closer than [`JREC_MERGE_GAP`] merged: what a transaction journals of a captured block (the
/// kernel's commit and the tools' emulation of it call this in a loop, `from` = the last end).
pub fn changed_range(old: &Block, new: &Block, from: usize) -> Option<core::ops::Range<usize>> {
    let mut i = from;
    while i < BLOCK_SIZE {
        // Whole equal 64-byte chunks are skipped with one comparison.
        let chunk = i..i.saturating_add(64);
        if i % 64 == 0 && new.get(chunk.clone()) == old.get(chunk) {
            i = i.saturating_add(64);
            continue;
        }
        if new.get(i) == old.get(i) {
            i = i.saturating_add(1);
            continue;
        }
        let mut end = i.saturating_add(1);
        let mut j = end;
        while j < BLOCK_SIZE && j < end.saturating_add(JREC_MERGE_GAP) {
            if new.get(j) != old.get(j) {
                end = j.saturating_add(1);
            }
            j = j.saturating_add(1);
        }
        return Some(i..end);
    }
    None
}

/// Writes transactions into the log (used by the tools and tests; the kernel may write the same
/// records through its persistence primitives).
pub struct JournalWriter {
    log: Log,
    seed: u32,
    /// Oldest position still needed (the header's tail).
    pub tail: u64,
    /// Where the next record goes.
    pub head: u64,
    /// Sequence of the open transaction.
    pub seq: u64,
    txn_crc: u32,
    nrec: u64,
}

impl JournalWriter {
    /// A writer appending after `head`, whose next transaction is `checkpoint_seq + 1` (after
    /// a replay: `h` with `tail = head = report.end`, `checkpoint_seq = report.last_seq`).
    pub fn new(layout: &Layout, h: &JournalHeader) -> JournalWriter {
        JournalWriter {
            log: Log::new(layout, h),
            seed: h.crc_seed(),
            tail: h.tail,
            head: h.head,
            seq: h.checkpoint_seq.wrapping_add(1),
            txn_crc: h.crc_seed(),
            nrec: 0,
        }
    }

    /// Reserves `total` bytes at the head, writing a SKIP record when they do not fit before
    /// the end of the lap. `NoSpace` when the log is full (checkpoint first).
    fn reserve<I: BlockIo>(
        &mut self,
        io: &mut I,
        total: u64,
        scratch: &mut Scratch,
    ) -> Result<u64, Error<I::Error>> {
        let mut p = self.head;
        if self.log.room(p) < total {
            if self.log.room(p) >= JREC_HDR as u64 {
                let mut raw = [0u8; JREC_HDR];
                put_u32(&mut raw, O_R_MAGIC, REC_SKIP);
                put_u64(&mut raw, O_R_SEQ, self.seq);
                let c = crc32c_update(self.seed, raw.get(..O_R_CRC).unwrap_or(&[]));
                put_u32(&mut raw, O_R_CRC, c);
                self.check_room(p, JREC_HDR as u64)?;
                self.log.write(io, p, &raw, &mut scratch.a)?;
            }
            p = self.log.next_lap(p);
        }
        self.check_room(p, total)?;
        Ok(p)
    }

    fn check_room<E>(&self, p: u64, total: u64) -> Result<(), Error<E>> {
        if p.saturating_add(total) > self.tail.saturating_add(self.log.bytes)
            || total > self.log.bytes
        {
            return Err(Error::NoSpace);
        }
        Ok(())
    }

    /// Appends a DATA record: `data` goes to `target` at byte `offset` when replayed.
    pub fn add<I: BlockIo>(
        &mut self,
        io: &mut I,
        target: u64,
        offset: usize,
        data: &[u8],
        scratch: &mut Scratch,
    ) -> Result<(), Error<I::Error>> {
        if data.is_empty()
            || data.len() > JREC_MAX_PAYLOAD
            || offset.saturating_add(data.len()) > BLOCK_SIZE
            || target >= io.block_count()
        {
            return Err(Error::Invalid);
        }
        let total = (JREC_HDR as u64).saturating_add(pad8(data.len() as u64));
        let p = self.reserve(io, total, scratch)?;
        let mut raw = [0u8; JREC_HDR];
        put_u32(&mut raw, O_R_MAGIC, REC_DATA);
        put_u32(&mut raw, O_R_LEN, data.len() as u32);
        put_u64(&mut raw, O_R_SEQ, self.seq);
        put_u64(&mut raw, O_R_TARGET, target);
        put_u16(&mut raw, O_R_OFFSET, offset as u16);
        let c = crc32c_update(self.seed, raw.get(..O_R_CRC).unwrap_or(&[]));
        let c = crc32c_update(c, data);
        put_u32(&mut raw, O_R_CRC, c);
        self.txn_crc = crc32c_update(self.txn_crc, &raw);
        self.txn_crc = crc32c_update(self.txn_crc, data);
        self.log.write(io, p, &raw, &mut scratch.a)?;
        let body = p.saturating_add(JREC_HDR as u64);
        self.log.write(io, body, data, &mut scratch.a)?;
        let pad = pad8(data.len() as u64).saturating_sub(data.len() as u64);
        if pad > 0 {
            let z = [0u8; 8];
            let zp = z.get(..pad as usize).unwrap_or(&[]);
            self.log.write(
                io,
                body.saturating_add(data.len() as u64),
                zp,
                &mut scratch.a,
            )?;
        }
        self.head = p.saturating_add(total);
        self.nrec = self.nrec.saturating_add(1);
        Ok(())
    }

    /// Appends the COMMIT record of the open transaction; returns its sequence. Once this write
    /// is durable the transaction survives a crash.
    pub fn commit<I: BlockIo>(
        &mut self,
        io: &mut I,
        scratch: &mut Scratch,
    ) -> Result<u64, Error<I::Error>> {
        let p = self.reserve(io, JREC_HDR as u64, scratch)?;
        let mut raw = [0u8; JREC_HDR];
        put_u32(&mut raw, O_R_MAGIC, REC_COMMIT);
        put_u64(&mut raw, O_R_SEQ, self.seq);
        put_u64(&mut raw, O_R_TARGET, self.nrec);
        put_u32(&mut raw, O_R_TXN_CRC, self.txn_crc);
        let c = crc32c_update(self.seed, raw.get(..O_R_CRC).unwrap_or(&[]));
        put_u32(&mut raw, O_R_CRC, c);
        self.log.write(io, p, &raw, &mut scratch.a)?;
        self.head = p.saturating_add(JREC_HDR as u64);
        let s = self.seq;
        self.seq = self.seq.wrapping_add(1);
        self.txn_crc = self.seed;
        self.nrec = 0;
        Ok(s)
    }
}
