// SPDX-License-Identifier: GPL-2.0

//! The metadata journal: a redo log of checksummed records.
//!
//! The journal region is a header block followed by the log, a circular byte area of
//! `(journal_blocks - 1) * 4096` bytes. Positions in the log are byte counts that only grow; the
//! place of position `p` is `p % log_bytes`. A transaction is a run of DATA records (target
//! block, offset, bytes) closed by a COMMIT record that carries the transaction's sequence
//! number, its record count and a crc32c chained over all its DATA records. Every record also has
//! its own crc32c, seeded with the journal's nonce so that records left by an earlier filesystem
//! on the same device never verify. Records are 8-byte aligned and never wrap: when a record
//! does not fit before the end of the log, the writer puts a SKIP record there (or nothing, if
//! fewer than 32 bytes remain) and continues at the start.
//!
//! The header block holds two copies of the header, one per half block, each with its own crc32c
//! and a generation that grows with every header write. A header write goes to the slot of its
//! generation's parity, so it never overwrites the newest valid copy: a write torn by a power cut
//! leaves that slot invalid and the other one, one generation older, in force. Reading takes
//! the valid copy of the highest generation.
//!
//! Recovery ([`journal_replay`]) starts at the header's tail expecting sequence
//! `checkpoint_seq + 1`, validates a whole transaction up to its commit, then applies it, and
//! repeats. The first record that is torn, has a bad crc, a wrong sequence or a bad field ends
//! recovery; the transaction it belongs to is discarded and whatever follows is ignored.

use super::bytes::{get_u16, get_u32, get_u64, put_u16, put_u32, put_u64};
use super::crc::crc32c_update;
use super::{Block, BlockIo, Corrupt, Error, Layout, Scratch, BLOCK_SIZE};

const BS: u64 = BLOCK_SIZE as u64;
const JH_MAGIC: u32 = u32::from_le_bytes(*b"FJNL");
const JH_VERSION: u32 = 2;
/// Bytes of one header slot (two per header block).
pub const JH_SLOT: usize = BLOCK_SIZE / 2;
/// Offset of a slot's crc32c (over the slot's bytes before it).
const O_JH_CRC: usize = JH_SLOT - 4;
const REC_DATA: u32 = u32::from_le_bytes(*b"FJRD");
const REC_COMMIT: u32 = u32::from_le_bytes(*b"FJRC");
const REC_SKIP: u32 = u32::from_le_bytes(*b"FJRS");

/// Size of a record header.
pub const JREC_HDR: usize = 32;
/// Largest payload of a DATA record (one block).
pub const JREC_MAX_PAYLOAD: usize = BLOCK_SIZE;

const O_JH_MAGIC: usize = 0;
const O_JH_VERSION: usize = 4;
const O_JH_LOG_BLOCKS: usize = 8;
const O_JH_TAIL: usize = 16;
const O_JH_HEAD: usize = 24;
const O_JH_CKPT_SEQ: usize = 32;
const O_JH_NONCE: usize = 40;
const O_JH_GENERATION: usize = 48;

const O_R_MAGIC: usize = 0;
const O_R_LEN: usize = 4;
const O_R_SEQ: usize = 8;
const O_R_TARGET: usize = 16;
const O_R_OFFSET: usize = 24;
const O_R_TXN_CRC: usize = 24;
const O_R_CRC: usize = 28;

/// The journal header (first block of the journal region), validated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JournalHeader {
    /// Log blocks (journal blocks minus the header).
    pub log_blocks: u64,
    /// Log position of the oldest transaction not yet checkpointed (where recovery starts).
    pub tail: u64,
    /// Log position where the next record goes, as of the last header write (a hint: recovery
    /// finds the real end).
    pub head: u64,
    /// Sequence of the last transaction whose blocks are all in place.
    pub checkpoint_seq: u64,
    /// Random per filesystem; seeds every record crc.
    pub nonce: u64,
    /// Header writes so far: the copy of the highest generation is in force, and the next write
    /// goes to slot `(generation + 1) % 2`.
    pub generation: u64,
}

impl JournalHeader {
    /// A fresh, empty journal for `layout`.
    #[cfg(feature = "mkfs")]
    pub fn new(layout: &Layout, nonce: u64) -> JournalHeader {
        JournalHeader {
            log_blocks: layout.journal_blocks.saturating_sub(1),
            tail: 0,
            head: 0,
            checkpoint_seq: 0,
            nonce,
            generation: 0,
        }
    }

    /// Bytes of the log.
    pub fn log_bytes(&self) -> u64 {
        self.log_blocks.saturating_mul(BLOCK_SIZE as u64)
    }

    /// Parses and validates the header block of the journal of `layout`: the valid copy of the
    /// highest generation. With no valid copy, the error is the first copy's (or the second's
    /// when the first has no magic at all).
    pub fn decode(buf: &Block, layout: &Layout) -> Result<JournalHeader, Corrupt> {
        let (a, b) = buf.split_at(JH_SLOT);
        let s0 = Self::decode_slot(a, layout, 0);
        let s1 = Self::decode_slot(b, layout, 1);
        match (s0, s1) {
            (Ok(x), Ok(y)) => Ok(if y.generation > x.generation { y } else { x }),
            (Ok(x), Err(_)) | (Err(_), Ok(x)) => Ok(x),
            (Err(Corrupt::BadJournalMagic), Err(e)) => Err(e),
            (Err(e), Err(_)) => Err(e),
        }
    }

    /// Parses and validates the copy in slot `slot` (bytes `raw`).
    fn decode_slot(raw: &[u8], layout: &Layout, slot: u64) -> Result<JournalHeader, Corrupt> {
        if get_u32(raw, O_JH_MAGIC) != JH_MAGIC {
            return Err(Corrupt::BadJournalMagic);
        }
        if get_u32(raw, O_JH_CRC) != crc32c_update(0, raw.get(..O_JH_CRC).unwrap_or(&[])) {
            return Err(Corrupt::BadJournalCrc);
        }
        let h = JournalHeader {
            log_blocks: get_u64(raw, O_JH_LOG_BLOCKS),
            tail: get_u64(raw, O_JH_TAIL),
            head: get_u64(raw, O_JH_HEAD),
            checkpoint_seq: get_u64(raw, O_JH_CKPT_SEQ),
            nonce: get_u64(raw, O_JH_NONCE),
            generation: get_u64(raw, O_JH_GENERATION),
        };
        if get_u32(raw, O_JH_VERSION) != JH_VERSION
            || h.generation % 2 != slot
            || h.log_blocks != layout.journal_blocks.saturating_sub(1)
            || h.log_blocks == 0
            || h.head < h.tail
            || h.head.saturating_sub(h.tail) > h.log_bytes()
            || h.tail % 8 != 0
            || h.head % 8 != 0
            || h.head > u64::MAX / 2
        {
            return Err(Corrupt::BadJournalHeader);
        }
        Ok(h)
    }

    /// The header that replaces this one on the device: the same with `tail`, `head` and
    /// `checkpoint_seq` given, one generation later.
    pub fn next(&self, tail: u64, head: u64, checkpoint_seq: u64) -> JournalHeader {
        JournalHeader {
            tail,
            head,
            checkpoint_seq,
            generation: self.generation.wrapping_add(1),
            ..*self
        }
    }

    /// Serializes into the slot of this header's generation in `buf` (the other slot is left as
    /// it is), crc included; returns the byte range of `buf` to write to the header block. The
    /// mirror of [`decode`](Self::decode).
    pub fn encode(&self, buf: &mut Block) -> core::ops::Range<usize> {
        let range = if self.generation % 2 == 0 {
            0..JH_SLOT
        } else {
            JH_SLOT..BLOCK_SIZE
        };
        let raw = buf.get_mut(range.clone()).unwrap_or(&mut []);
        raw.fill(0);
        put_u32(raw, O_JH_MAGIC, JH_MAGIC);
        put_u32(raw, O_JH_VERSION, JH_VERSION);
        put_u64(raw, O_JH_LOG_BLOCKS, self.log_blocks);
        put_u64(raw, O_JH_TAIL, self.tail);
        put_u64(raw, O_JH_HEAD, self.head);
        put_u64(raw, O_JH_CKPT_SEQ, self.checkpoint_seq);
        put_u64(raw, O_JH_NONCE, self.nonce);
        put_u64(raw, O_JH_GENERATION, self.generation);
        let c = crc32c_update(0, raw.get(..O_JH_CRC).unwrap_or(&[]));
        put_u32(raw, O_JH_CRC, c);
        range
    }

    fn crc_seed(&self) -> u32 {
        crc32c_update(0, &self.nonce.to_le_bytes())
    }
}

/// Where the log is.
#[derive(Clone, Copy)]
struct Log {
    first_blk: u64,
    bytes: u64,
    jstart: u64,
    jend: u64,
}

impl Log {
    fn new(layout: &Layout, h: &JournalHeader) -> Log {
        Log {
            first_blk: layout.journal_start.saturating_add(1),
            bytes: h.log_bytes(),
            jstart: layout.journal_start,
            jend: layout.journal_start.saturating_add(layout.journal_blocks),
        }
    }

    /// Bytes from `pos` to the end of the log's current lap.
    fn room(&self, pos: u64) -> u64 {
        self.bytes
            .saturating_sub(pos.checked_rem(self.bytes).unwrap_or(0))
    }

    /// The start of the next lap after `pos`.
    fn next_lap(&self, pos: u64) -> u64 {
        pos.saturating_add(self.room(pos))
    }

    /// Copies `out.len()` log bytes at `pos` (not wrapping) into `out`, reading log blocks into
    /// `blockbuf`.
    fn read<I: BlockIo>(
        &self,
        io: &I,
        pos: u64,
        out: &mut [u8],
        blockbuf: &mut Block,
    ) -> Result<(), Error<I::Error>> {
        let mut done = 0usize;
        let mut p = pos.checked_rem(self.bytes).unwrap_or(0);
        while done < out.len() {
            let blk = self.first_blk.saturating_add(p / BS);
            let off = (p % BS) as usize;
            let n = (BLOCK_SIZE.saturating_sub(off)).min(out.len().saturating_sub(done));
            if blk >= self.jend {
                return Err(Error::Invalid);
            }
            io.read(blk, blockbuf).map_err(Error::Io)?;
            if let (Some(dst), Some(src)) = (
                out.get_mut(done..done.saturating_add(n)),
                blockbuf.get(off..off.saturating_add(n)),
            ) {
                super::bytes::copy_bytes(dst, src);
            }
            done = done.saturating_add(n);
            p = p.saturating_add(n as u64);
        }
        Ok(())
    }

    /// Writes `data` at log position `pos` (not wrapping), with [`BlockIo::write_part`]
    /// (`blockbuf` is its working buffer).
    fn write<I: BlockIo>(
        &self,
        io: &mut I,
        pos: u64,
        data: &[u8],
        blockbuf: &mut Block,
    ) -> Result<(), Error<I::Error>> {
        let mut done = 0usize;
        let mut p = pos.checked_rem(self.bytes).unwrap_or(0);
        while done < data.len() {
            let blk = self.first_blk.saturating_add(p / BS);
            let off = (p % BS) as usize;
            let n = (BLOCK_SIZE.saturating_sub(off)).min(data.len().saturating_sub(done));
            if blk >= self.jend {
                return Err(Error::Invalid);
            }
            let src = data.get(done..done.saturating_add(n)).unwrap_or(&[]);
            io.write_part(blk, off, src, blockbuf).map_err(Error::Io)?;
            done = done.saturating_add(n);
            p = p.saturating_add(n as u64);
        }
        Ok(())
    }
}

fn pad8(n: u64) -> u64 {
    n.saturating_add(7) & !7
}

/// What [`journal_replay`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReplayReport {
    /// Transactions replayed.
    pub transactions: u64,
    /// DATA records applied.
    pub records: u64,
    /// Sequence of the last replayed transaction (the header's `checkpoint_seq` if none).
    pub last_seq: u64,
    /// Log position after the last replayed transaction: the new tail and head.
    pub end: u64,
    /// Whether replay stopped at something that is not a clean end of the log: a record of the
    /// expected sequence that failed a check, or a record whose crc fails (torn or corrupt).
    /// Zeros and intact records of earlier laps are a clean end. For reporting only.
    pub discarded_partial: bool,
}

/// One validated record header.
struct Rec {
    magic: u32,
    len: u64,
    seq: u64,
    target: u64,
    offset: u64,
    txn_crc: u32,
    crc: u32,
    raw: [u8; JREC_HDR],
}

fn parse_rec(raw: &[u8; JREC_HDR]) -> Rec {
    Rec {
        magic: get_u32(raw, O_R_MAGIC),
        len: u64::from(get_u32(raw, O_R_LEN)),
        seq: get_u64(raw, O_R_SEQ),
        target: get_u64(raw, O_R_TARGET),
        offset: u64::from(get_u16(raw, O_R_OFFSET)),
        txn_crc: get_u32(raw, O_R_TXN_CRC),
        crc: get_u32(raw, O_R_CRC),
        raw: *raw,
    }
}

/// Replays the committed transactions of the journal described by `h` into their target blocks
/// and reports what it did. The caller then writes a header with `tail = head = report.end` and
/// `checkpoint_seq = report.last_seq`. Only an I/O error is an error: anything wrong in the log
/// ends replay.
pub fn journal_replay<I: BlockIo>(
    io: &mut I,
    layout: &Layout,
    h: &JournalHeader,
    scratch: &mut Scratch,
) -> Result<ReplayReport, Error<I::Error>> {
    let log = Log::new(layout, h);
    let seed = h.crc_seed();
    let mut rep = ReplayReport {
        last_seq: h.checkpoint_seq,
        end: h.tail,
        ..ReplayReport::default()
    };
    let limit = h.tail.saturating_add(log.bytes);
    let mut pos = h.tail;
    let mut expect = h.checkpoint_seq.wrapping_add(1);
    loop {
        // Pass 1: validate the transaction from `pos` to its commit.
        let mut p = pos;
        let mut txn = seed;
        let mut n = 0u64;
        let mut started = false;
        let commit_end = loop {
            if log.room(p) < JREC_HDR as u64 {
                p = log.next_lap(p);
            }
            if p.saturating_add(JREC_HDR as u64) > limit {
                break None;
            }
            let mut raw = [0u8; JREC_HDR];
            log.read(io, p, &mut raw, &mut scratch.a)?;
            let r = parse_rec(&raw);
            let hdr_crc = crc32c_update(seed, raw.get(..O_R_CRC).unwrap_or(&[]));
            let known = matches!(r.magic, REC_DATA | REC_COMMIT | REC_SKIP);
            // A record of another sequence with a good crc is an old lap: a clean end. One whose
            // header crc fails was torn or corrupted.
            if r.seq == expect || (known && r.crc != hdr_crc && r.magic != REC_DATA) {
                started = true;
            }
            if known && r.magic == REC_DATA && r.seq != expect {
                // DATA crcs cover the payload too; check the header part through the length.
                if r.len > JREC_MAX_PAYLOAD as u64 {
                    started = true;
                } else {
                    let len = r.len as usize;
                    let payload = scratch.b.get_mut(..len).unwrap_or(&mut []);
                    let total = (JREC_HDR as u64).saturating_add(pad8(r.len));
                    if total <= log.room(p) {
                        log.read(
                            io,
                            p.saturating_add(JREC_HDR as u64),
                            payload,
                            &mut scratch.a,
                        )?;
                        if crc32c_update(hdr_crc, payload) != r.crc {
                            started = true;
                        }
                    }
                }
            }
            if r.seq != expect {
                break None;
            }
            match r.magic {
                REC_SKIP if r.crc == hdr_crc => {
                    p = log.next_lap(p);
                }
                REC_DATA => {
                    let total = (JREC_HDR as u64).saturating_add(pad8(r.len));
                    let bad = r.len == 0
                        || r.len > JREC_MAX_PAYLOAD as u64
                        || r.offset.saturating_add(r.len) > BLOCK_SIZE as u64
                        || r.target >= layout.block_count
                        || (r.target >= log.jstart && r.target < log.jend)
                        || total > log.room(p)
                        || p.saturating_add(total) > limit;
                    if bad {
                        break None;
                    }
                    let len = r.len as usize;
                    let payload = scratch.b.get_mut(..len).unwrap_or(&mut []);
                    log.read(
                        io,
                        p.saturating_add(JREC_HDR as u64),
                        payload,
                        &mut scratch.a,
                    )?;
                    let c = crc32c_update(hdr_crc, payload);
                    if c != r.crc {
                        break None;
                    }
                    txn = crc32c_update(txn, &r.raw);
                    txn = crc32c_update(txn, payload);
                    n = n.saturating_add(1);
                    p = p.saturating_add(total);
                }
                REC_COMMIT => {
                    if r.crc != hdr_crc || r.target != n || r.txn_crc != txn || r.len != 0 {
                        break None;
                    }
                    break Some(p.saturating_add(JREC_HDR as u64));
                }
                _ => break None,
            }
        };
        let Some(end) = commit_end else {
            rep.discarded_partial = started;
            return Ok(rep);
        };
        // Pass 2: apply it.
        let mut p = pos;
        while p < end {
            if log.room(p) < JREC_HDR as u64 {
                p = log.next_lap(p);
                continue;
            }
            let mut raw = [0u8; JREC_HDR];
            log.read(io, p, &mut raw, &mut scratch.a)?;
            let r = parse_rec(&raw);
            match r.magic {
                REC_DATA => {
                    io.read(r.target, &mut scratch.b).map_err(Error::Io)?;
                    let off = r.offset as usize;
                    let len = r.len as usize;
                    let dst = scratch
                        .b
                        .get_mut(off..off.saturating_add(len))
                        .unwrap_or(&mut []);
                    log.read(io, p.saturating_add(JREC_HDR as u64), dst, &mut scratch.a)?;
                    io.write(r.target, &scratch.b).map_err(Error::Io)?;
                    rep.records = rep.records.saturating_add(1);
                    p = p.saturating_add((JREC_HDR as u64).saturating_add(pad8(r.len)));
                }
                REC_SKIP => p = log.next_lap(p),
                _ => break,
            }
        }
        rep.transactions = rep.transactions.saturating_add(1);
        rep.last_seq = expect;
        rep.end = end;
        pos = end;
        expect = expect.wrapping_add(1);
    }
}

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
