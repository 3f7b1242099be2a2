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
//!
//! The header is [`JournalHeader`] (`header.rs`), recovery [`journal_replay`] (`replay.rs`) and
//! the writing side [`JournalWriter`] (`writer.rs`); this file holds the record format and the
//! log they share.

mod header;
mod replay;
mod writer;

pub use header::*;
pub use replay::*;
pub use writer::*;

use super::bytes::{get_u16, get_u32, get_u64};
use super::{Block, BlockIo, Error, Layout, BLOCK_SIZE};

const BS: u64 = BLOCK_SIZE as u64;
const REC_DATA: u32 = u32::from_le_bytes(*b"FJRD");
const REC_COMMIT: u32 = u32::from_le_bytes(*b"FJRC");
const REC_SKIP: u32 = u32::from_le_bytes(*b"FJRS");

/// Size of a record header.
pub const JREC_HDR: usize = 32;
/// Largest payload of a DATA record (one block).
pub const JREC_MAX_PAYLOAD: usize = BLOCK_SIZE;

const O_R_MAGIC: usize = 0;
const O_R_LEN: usize = 4;
const O_R_SEQ: usize = 8;
const O_R_TARGET: usize = 16;
const O_R_OFFSET: usize = 24;
const O_R_TXN_CRC: usize = 24;
const O_R_CRC: usize = 28;

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
