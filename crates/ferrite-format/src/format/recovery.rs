// SPDX-License-Identifier: GPL-2.0

//! Reading the superblock at mount, when a crash may have torn its in-place update.
//!
//! The superblock is updated like every metadata block: a journal transaction, then the changed
//! bytes in place. A power cut during the in-place copy can leave the block with some new bytes
//! and an old crc; the journal still holds the whole update, but the journal is found through the
//! superblock. [`read_superblock`] resolves this: when the crc is the only thing wrong, it decodes
//! the block without it, replays the journal with every write discarded except those to block 0,
//! and accepts the superblock only if the replayed block 0 has a good crc. Nothing is written;
//! the caller then replays the journal for real.

use super::{
    journal_replay, Block, BlockIo, Corrupt, DiskSuperblock, Error, JournalHeader, Scratch,
};

/// Block access for a dry replay: reads from `io`, except block 0 which lives in `block0`;
/// writes to block 0 land there, all others are dropped.
struct Block0Only<'a, I: BlockIo> {
    io: &'a I,
    block0: &'a mut Block,
}

impl<I: BlockIo> BlockIo for Block0Only<'_, I> {
    type Error = I::Error;

    fn block_count(&self) -> u64 {
        self.io.block_count()
    }

    fn read(&self, blk: u64, buf: &mut Block) -> Result<(), I::Error> {
        if blk == 0 {
            *buf = *self.block0;
            return Ok(());
        }
        self.io.read(blk, buf)
    }

    fn write(&mut self, blk: u64, buf: &Block) -> Result<(), I::Error> {
        if blk == 0 {
            *self.block0 = *buf;
        }
        Ok(())
    }

    fn alloc_meta_block(&mut self, _hint: u64) -> Result<Option<u64>, I::Error> {
        Ok(None)
    }

    fn free_meta_block(&mut self, _blk: u64) -> Result<(), I::Error> {
        Ok(())
    }
}

/// The superblock of the filesystem on `io`, as journal recovery will leave it, and whether it
/// needed the journal (its in-place copy was torn). `buf` holds block 0 on return (the
/// replayed one in the second case).
pub fn read_superblock<I: BlockIo>(
    io: &I,
    buf: &mut Block,
    scratch: &mut Scratch,
) -> Result<(DiskSuperblock, bool), Error<I::Error>> {
    io.read(0, buf).map_err(Error::Io)?;
    let torn = match DiskSuperblock::decode(buf) {
        Ok(sb) => return Ok((sb, false)),
        Err(Corrupt::BadSuperblockCrc) => DiskSuperblock::decode_torn(buf)
            .map_err(|_| Error::Corrupt(Corrupt::BadSuperblockCrc))?,
        Err(c) => return Err(Error::Corrupt(c)),
    };
    let bad = Error::Corrupt(Corrupt::BadSuperblockCrc);
    let l = torn.layout;
    if l.journal_start == 0 || l.journal_start >= l.block_count || l.block_count > io.block_count()
    {
        return Err(bad);
    }
    // scratch.b is free until replay uses it.
    io.read(l.journal_start, &mut scratch.b)
        .map_err(Error::Io)?;
    let Ok(h) = JournalHeader::decode(&scratch.b, &l) else {
        return Err(bad);
    };
    let mut dry = Block0Only { io, block0: buf };
    journal_replay(&mut dry, &l, &h, scratch)?;
    match DiskSuperblock::decode(buf) {
        Ok(sb) if sb.layout == l => Ok((sb, true)),
        _ => Err(bad),
    }
}
