// SPDX-License-Identifier: GPL-2.0

//! Recovery: replaying the committed transactions of the log.

use super::super::crc::crc32c_update;
use super::super::{BlockIo, Error, Layout, Scratch, BLOCK_SIZE};
use super::{
    pad8, parse_rec, JournalHeader, Log, Rec, JREC_HDR, JREC_MAX_PAYLOAD, O_R_CRC, REC_COMMIT,
    REC_DATA, REC_SKIP,
};

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
    let replay = Replay {
        log,
        block_count: layout.block_count,
        seed: h.crc_seed(),
        limit: h.tail.saturating_add(log.bytes),
    };
    let mut rep = ReplayReport {
        last_seq: h.checkpoint_seq,
        end: h.tail,
        ..ReplayReport::default()
    };
    let mut pos = h.tail;
    let mut expect = h.checkpoint_seq.wrapping_add(1);
    loop {
        let (commit_end, started) = replay.validate(io, pos, expect, scratch)?;
        let Some(end) = commit_end else {
            rep.discarded_partial = started;
            return Ok(rep);
        };
        let records = replay.apply(io, pos, end, scratch)?;
        rep.records = rep.records.saturating_add(records);
        rep.transactions = rep.transactions.saturating_add(1);
        rep.last_seq = expect;
        rep.end = end;
        pos = end;
        expect = expect.wrapping_add(1);
    }
}

/// What replay reads the log with.
struct Replay {
    log: Log,
    /// Blocks of the filesystem (DATA records target blocks below it, outside the journal).
    block_count: u64,
    /// The seed of every record crc.
    seed: u32,
    /// The log position replay never reads past: one lap after the tail.
    limit: u64,
}

impl Replay {
    /// Validates the transaction that starts at `pos` with sequence `expect`, up to its commit:
    /// returns the log position after the commit (`None` if the transaction is not complete
    /// and intact) and whether the log held something past a clean end (a record of sequence
    /// `expect`, or a torn one).
    fn validate<I: BlockIo>(
        &self,
        io: &I,
        pos: u64,
        expect: u64,
        scratch: &mut Scratch,
    ) -> Result<(Option<u64>, bool), Error<I::Error>> {
        let mut p = pos;
        let mut txn = self.seed;
        let mut n = 0u64;
        let mut started = false;
        loop {
            if self.log.room(p) < JREC_HDR as u64 {
                p = self.log.next_lap(p);
            }
            if p.saturating_add(JREC_HDR as u64) > self.limit {
                return Ok((None, started));
            }
            let mut raw = [0u8; JREC_HDR];
            self.log.read(io, p, &mut raw, &mut scratch.a)?;
            let r = parse_rec(&raw);
            let hdr_crc = crc32c_update(self.seed, raw.get(..O_R_CRC).unwrap_or(&[]));
            if r.seq != expect {
                // A record of another sequence with a good crc is an old lap: a clean end. One
                // whose crc fails was torn or corrupted.
                let torn = self.is_torn(io, p, &r, hdr_crc, scratch)?;
                return Ok((None, started || torn));
            }
            started = true;
            match r.magic {
                REC_SKIP if r.crc == hdr_crc => {
                    p = self.log.next_lap(p);
                }
                REC_DATA => {
                    let Some(total) = self.check_data(io, p, &r, hdr_crc, &mut txn, scratch)?
                    else {
                        return Ok((None, true));
                    };
                    n = n.saturating_add(1);
                    p = p.saturating_add(total);
                }
                REC_COMMIT => {
                    if r.crc != hdr_crc || r.target != n || r.txn_crc != txn || r.len != 0 {
                        return Ok((None, true));
                    }
                    return Ok((Some(p.saturating_add(JREC_HDR as u64)), true));
                }
                _ => return Ok((None, true)),
            }
        }
    }

    /// Whether record `r` at `p`, of another sequence than the expected one, fails its crc
    /// (`hdr_crc` is the crc of its header): torn or corrupted rather than left by an old lap.
    fn is_torn<I: BlockIo>(
        &self,
        io: &I,
        p: u64,
        r: &Rec,
        hdr_crc: u32,
        scratch: &mut Scratch,
    ) -> Result<bool, Error<I::Error>> {
        match r.magic {
            REC_COMMIT | REC_SKIP => Ok(r.crc != hdr_crc),
            REC_DATA => {
                // DATA crcs cover the payload too; check the header part through the length.
                if r.len > JREC_MAX_PAYLOAD as u64 {
                    return Ok(true);
                }
                let total = (JREC_HDR as u64).saturating_add(pad8(r.len));
                if total > self.log.room(p) {
                    return Ok(false);
                }
                let payload = self.read_payload(io, p, r, scratch)?;
                Ok(crc32c_update(hdr_crc, payload) != r.crc)
            }
            _ => Ok(false),
        }
    }

    /// Checks DATA record `r` at `p` of the transaction being validated (`hdr_crc` is the crc of
    /// its header) and chains it into the transaction crc `txn`: its length in the log, or
    /// `None` if it is bad.
    fn check_data<I: BlockIo>(
        &self,
        io: &I,
        p: u64,
        r: &Rec,
        hdr_crc: u32,
        txn: &mut u32,
        scratch: &mut Scratch,
    ) -> Result<Option<u64>, Error<I::Error>> {
        let total = (JREC_HDR as u64).saturating_add(pad8(r.len));
        let bad = r.len == 0
            || r.len > JREC_MAX_PAYLOAD as u64
            || r.offset.saturating_add(r.len) > BLOCK_SIZE as u64
            || r.target >= self.block_count
            || (r.target >= self.log.jstart && r.target < self.log.jend)
            || total > self.log.room(p)
            || p.saturating_add(total) > self.limit;
        if bad {
            return Ok(None);
        }
        let payload = self.read_payload(io, p, r, scratch)?;
        if crc32c_update(hdr_crc, payload) != r.crc {
            return Ok(None);
        }
        *txn = crc32c_update(*txn, &r.raw);
        *txn = crc32c_update(*txn, payload);
        Ok(Some(total))
    }

    /// Reads the payload of DATA record `r` at `p` (of at most a block) into `scratch.b`.
    fn read_payload<'s, I: BlockIo>(
        &self,
        io: &I,
        p: u64,
        r: &Rec,
        scratch: &'s mut Scratch,
    ) -> Result<&'s [u8], Error<I::Error>> {
        let len = r.len as usize;
        let payload = scratch.b.get_mut(..len).unwrap_or(&mut []);
        let body = p.saturating_add(JREC_HDR as u64);
        self.log.read(io, body, payload, &mut scratch.a)?;
        Ok(payload)
    }

    /// Applies the validated transaction from `pos` to `end`: returns the DATA records applied.
    fn apply<I: BlockIo>(
        &self,
        io: &mut I,
        pos: u64,
        end: u64,
        scratch: &mut Scratch,
    ) -> Result<u64, Error<I::Error>> {
        let mut records = 0u64;
        let mut p = pos;
        while p < end {
            if self.log.room(p) < JREC_HDR as u64 {
                p = self.log.next_lap(p);
                continue;
            }
            let mut raw = [0u8; JREC_HDR];
            self.log.read(io, p, &mut raw, &mut scratch.a)?;
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
                    let body = p.saturating_add(JREC_HDR as u64);
                    self.log.read(io, body, dst, &mut scratch.a)?;
                    io.write(r.target, &scratch.b).map_err(Error::Io)?;
                    records = records.saturating_add(1);
                    p = p.saturating_add((JREC_HDR as u64).saturating_add(pad8(r.len)));
                }
                REC_SKIP => p = self.log.next_lap(p),
                _ => break,
            }
        }
        Ok(records)
    }
}
