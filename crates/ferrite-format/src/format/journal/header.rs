// SPDX-License-Identifier: GPL-2.0

//! The journal header: two copies in one block, the newest valid generation in force.

use super::super::bytes::{get_u32, get_u64, put_u32, put_u64};
use super::super::crc::crc32c_update;
use super::super::{Block, Corrupt, Layout, BLOCK_SIZE};

const JH_MAGIC: u32 = u32::from_le_bytes(*b"FJNL");
const JH_VERSION: u32 = 2;
/// Bytes of one header slot (two per header block).
pub const JH_SLOT: usize = BLOCK_SIZE / 2;
/// Offset of a slot's crc32c (over the slot's bytes before it).
const O_JH_CRC: usize = JH_SLOT - 4;

const O_JH_MAGIC: usize = 0;
const O_JH_VERSION: usize = 4;
const O_JH_LOG_BLOCKS: usize = 8;
const O_JH_TAIL: usize = 16;
const O_JH_HEAD: usize = 24;
const O_JH_CKPT_SEQ: usize = 32;
const O_JH_NONCE: usize = 40;
const O_JH_GENERATION: usize = 48;

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

    /// The log size (`log_blocks`) a journal header block claims, read from its copy of the
    /// highest generation with the magic and a good crc, without a layout to check it against:
    /// for a tool looking for a filesystem whose superblock is gone. `None` if neither copy has
    /// both.
    #[cfg(feature = "inspect")]
    pub fn claimed_log_blocks(buf: &Block) -> Option<u64> {
        let (a, b) = buf.split_at(JH_SLOT);
        let claim = |raw: &[u8]| {
            let ok = get_u32(raw, O_JH_MAGIC) == JH_MAGIC
                && get_u32(raw, O_JH_CRC) == crc32c_update(0, raw.get(..O_JH_CRC).unwrap_or(&[]));
            ok.then(|| (get_u64(raw, O_JH_GENERATION), get_u64(raw, O_JH_LOG_BLOCKS)))
        };
        match (claim(a), claim(b)) {
            (Some(x), Some(y)) => Some(if y.0 > x.0 { y.1 } else { x.1 }),
            (Some(x), None) | (None, Some(x)) => Some(x.1),
            (None, None) => None,
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

    /// The seed of every record crc of this journal.
    pub(super) fn crc_seed(&self) -> u32 {
        crc32c_update(0, &self.nonce.to_le_bytes())
    }
}
