// SPDX-License-Identifier: GPL-2.0

//! Extended attributes: get, list, set and remove, and freeing them with their inode.
//!
//! An inode's attributes live in its record, in the part of the data area its file type leaves
//! free (`InlineXattrs`), and in its xattr block (`super::format::xattr_entries`); each attribute
//! in one of the two. A set puts the value in the record when it fits there beside the other
//! inline attributes, and in the block otherwise. A change of the block rebuilds the whole block
//! (in the second scratch buffer, from the first) and writes it once, so a transaction sees
//! either the old block or the new one; the record is written last. Value blocks of a replaced
//! or removed value are freed, those of a new value allocated and written first.

use super::super::format::{
    crc32c, xattr_block_check, xattr_entries, xattr_entry_size, xattr_inline_entry_size,
    xattr_value_blocks, Block, BlockIo, Corrupt, DiskInode, Error, InlineXattrs, Timespec,
    XattrBuilder, XattrEntry, XattrValue, BLOCK_SIZE, XATTR_AREA, XATTR_NAME_MAX,
    XATTR_VALUE_BLOCKS_MAX, XATTR_VALUE_MAX,
};
use super::{Counting, Ctx};

/// How a set treats an existing attribute (`XATTR_CREATE`, `XATTR_REPLACE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XattrMode {
    /// Create or replace.
    Any,
    /// Only create (`Exists` if the attribute is there).
    Create,
    /// Only replace (`NotFound` if it is not).
    Replace,
}

impl<I: BlockIo> Ctx<'_, I> {
    /// Inode `ino` and the attributes its record holds, refused on a filesystem without the
    /// feature.
    fn read_with_inline(&mut self, ino: u64) -> Result<(DiskInode, InlineXattrs), Error<I::Error>> {
        let (rec, ix) = self.read_inode_xattrs(ino)?;
        if !ix.is_empty() && !self.sb.has_xattr() {
            return Err(Corrupt::BadInlineXattr(ino).into());
        }
        Ok((rec, ix))
    }

    /// Reads and checks the xattr block of `rec` into the first scratch buffer; `false` when the
    /// inode has none.
    fn load_xattrs(&mut self, rec: &DiskInode) -> Result<bool, Error<I::Error>> {
        if rec.xattr == 0 {
            return Ok(false);
        }
        if !self.sb.has_xattr() {
            return Err(Corrupt::BadXattr(rec.ino).into());
        }
        self.io
            .read(rec.xattr, &mut self.scratch.a)
            .map_err(Error::Io)?;
        xattr_block_check(&self.scratch.a, rec.xattr, rec.ino, self.io.block_count())?;
        Ok(true)
    }

    /// The value of attribute `name` of namespace `index` of inode `ino`: its length, and the
    /// value copied into `out` when it is at least that long (so an empty `out` asks for the
    /// length). `NotFound` when the inode has no such attribute.
    pub fn xattr_get(
        &mut self,
        ino: u64,
        index: u8,
        name: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Error<I::Error>> {
        let (rec, ix) = self.read_with_inline(ino)?;
        if let Some(e) = ix.find(index, name) {
            if let (true, XattrValue::Inline(v)) = (out.len() >= e.value_len, e.value) {
                super::super::format::copy_bytes(out, v);
            }
            return Ok(e.value_len);
        }
        if !self.load_xattrs(&rec)? {
            return Err(Error::NotFound);
        }
        let (len, ext) = {
            let e = xattr_entries(&self.scratch.a)
                .find(|e| e.key() == (index, name))
                .ok_or(Error::NotFound)?;
            if out.len() < e.value_len {
                return Ok(e.value_len);
            }
            match e.value {
                XattrValue::Inline(v) => {
                    super::super::format::copy_bytes(out, v);
                    return Ok(e.value_len);
                }
                XattrValue::External { crc, .. } => {
                    let mut blocks = [0u64; XATTR_VALUE_BLOCKS_MAX];
                    for (slot, b) in blocks.iter_mut().zip(e.value.blocks()) {
                        *slot = b;
                    }
                    (e.value_len, (crc, blocks))
                }
            }
        };
        let (crc, blocks) = ext;
        let out = out.get_mut(..len).ok_or(Error::Invalid)?;
        for (chunk, &b) in out.chunks_mut(BLOCK_SIZE).zip(blocks.iter()) {
            self.io.read(b, &mut self.scratch.b).map_err(Error::Io)?;
            super::super::format::copy_bytes(chunk, &self.scratch.b);
        }
        if crc32c(out) != crc {
            return Err(Corrupt::BadXattr(ino).into());
        }
        Ok(len)
    }

    /// Calls `f(index, name)` for every attribute of inode `ino`, in order (those in the record
    /// and those in the block merged).
    pub fn xattr_list(
        &mut self,
        ino: u64,
        f: &mut dyn FnMut(u8, &[u8]),
    ) -> Result<(), Error<I::Error>> {
        let (rec, ix) = self.read_with_inline(ino)?;
        let had = self.load_xattrs(&rec)?;
        let mut inline = ix.entries().peekable();
        let mut block = xattr_entries(&self.scratch.a)
            .take(if had { usize::MAX } else { 0 })
            .peekable();
        loop {
            let from_inline = match (inline.peek(), block.peek()) {
                (Some(a), Some(b)) => a.key() < b.key(),
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => return Ok(()),
            };
            let next = if from_inline {
                inline.next()
            } else {
                block.next()
            };
            if let Some(e) = next {
                f(e.index, e.name);
            }
        }
    }

    /// Sets (`value` given) or removes (`None`) attribute `name` of namespace `index` of inode
    /// `ino`, changing its change time to `now`; returns the inode as written. `Exists` and
    /// `NotFound` as `mode` says (a remove of a missing attribute is `NotFound`), `NoSpace` when
    /// the attributes would not fit in one block, `Invalid` on a filesystem without the feature
    /// or for a name or value over the limits. Nothing is written before the checks pass.
    pub fn xattr_set(
        &mut self,
        ino: u64,
        index: u8,
        name: &[u8],
        value: Option<&[u8]>,
        mode: XattrMode,
        now: Timespec,
    ) -> Result<DiskInode, Error<I::Error>> {
        if !self.sb.has_xattr() {
            return Err(Error::Invalid);
        }
        if name.len() > XATTR_NAME_MAX || value.is_some_and(|v| v.len() > XATTR_VALUE_MAX) {
            return Err(Error::Invalid);
        }
        let (mut rec, old_ix) = self.read_with_inline(ino)?;
        let inline_old = old_ix.find(index, name).map(|e| e.size);
        let had = self.load_xattrs(&rec)?;
        let (block_old, used) = if had {
            let mut used = 0usize;
            let mut old = None;
            for e in xattr_entries(&self.scratch.a) {
                used = used.saturating_add(e.size);
                if e.key() == (index, name) {
                    old = Some(e.size);
                }
            }
            (old, used)
        } else {
            (None, 0)
        };
        match (inline_old.or(block_old), mode, value) {
            (Some(_), XattrMode::Create, Some(_)) => return Err(Error::Exists),
            (None, XattrMode::Replace, _) | (None, _, None) => return Err(Error::NotFound),
            _ => {}
        }

        // The record's new attributes: the others, and the new value if it fits beside them.
        let room = rec.xattr_room();
        let others = old_ix.used().saturating_sub(inline_old.unwrap_or(0));
        let inline_value = value.filter(|v| {
            others.saturating_add(xattr_inline_entry_size(name.len(), v.len())) <= room
        });
        let mut ix = InlineXattrs::default();
        let mut placed = inline_value.is_none();
        for e in old_ix.entries() {
            if let (false, Some(v)) = (placed, inline_value) {
                if e.key() > (index, name) {
                    ix.push(index, name, v, room).ok_or(Error::Invalid)?;
                    placed = true;
                }
            }
            if let (false, XattrValue::Inline(ev)) = (e.key() == (index, name), e.value) {
                ix.push(e.index, e.name, ev, room).ok_or(Error::Invalid)?;
            }
        }
        if let (false, Some(v)) = (placed, inline_value) {
            ix.push(index, name, v, room).ok_or(Error::Invalid)?;
        }

        // The block: the value where it did not go into the record, the old entry removed.
        let block_value = if inline_value.is_some() { None } else { value };
        if block_value.is_some() || block_old.is_some() {
            self.xattr_block_put(&mut rec, had, used, block_old, index, name, block_value)?;
        }
        rec.ctime = now;
        self.write_inode_xattrs(&rec, &ix)?;
        Ok(rec)
    }

    /// Rebuilds the xattr block of `rec` (loaded in the first scratch buffer when `had`, its
    /// entries taking `used` bytes, the entry `(index, name)` `old_size` of them) with that entry
    /// set to `value` or removed, allocating the block for the first entry and freeing it with
    /// the last; `rec.xattr` and `rec.blocks` follow, the caller writes the record. `NoSpace`
    /// before anything is written when the entries would not fit.
    #[allow(clippy::too_many_arguments)]
    fn xattr_block_put(
        &mut self,
        rec: &mut DiskInode,
        had: bool,
        used: usize,
        old_size: Option<usize>,
        index: u8,
        name: &[u8],
        value: Option<&[u8]>,
    ) -> Result<(), Error<I::Error>> {
        let ino = rec.ino;
        let new_size = value.map_or(0, |v| xattr_entry_size(name.len(), v.len()));
        let after = used
            .saturating_sub(old_size.unwrap_or(0))
            .saturating_add(new_size);
        if after > XATTR_AREA {
            return Err(Error::NoSpace);
        }

        let mut io = Counting::new(&mut *self.io);
        // The new value's blocks, written before the block that points at them.
        let mut vblocks = [0u8; XATTR_VALUE_BLOCKS_MAX * 8];
        let v = value.unwrap_or(&[]);
        let nvb = xattr_value_blocks(v.len());
        for (i, chunk) in v.chunks(BLOCK_SIZE).enumerate().take(nvb) {
            let b = io
                .alloc_meta_block(rec.xattr.max(rec.ino))
                .map_err(Error::Io)?
                .ok_or(Error::NoSpace)?;
            self.scratch.b.fill(0);
            super::super::format::copy_bytes(&mut self.scratch.b, chunk);
            io.write(b, &self.scratch.b).map_err(Error::Io)?;
            let at = i.saturating_mul(8);
            if let Some(slot) = vblocks.get_mut(at..at.saturating_add(8)) {
                slot.copy_from_slice(&b.to_le_bytes());
            }
        }
        let new_value = if nvb == 0 {
            XattrValue::Inline(v)
        } else {
            XattrValue::External {
                crc: crc32c(v),
                blocks: vblocks.get(..nvb.saturating_mul(8)).unwrap_or(&[]),
            }
        };

        // The new block, from the old one.
        let old: &Block = &self.scratch.a;
        let mut builder = XattrBuilder::new(&mut self.scratch.b, ino);
        let mut placed = value.is_none();
        let mut fits = true;
        let mut freed = [0u64; XATTR_VALUE_BLOCKS_MAX];
        let mut nfreed = 0usize;
        let mut push = |b: &mut XattrBuilder<'_>, e: &XattrEntry<'_>| {
            fits &= b.push(e.index, e.name, e.value_len, e.value).is_some();
        };
        if had {
            for e in xattr_entries(old) {
                if !placed && e.key() > (index, name) {
                    push(&mut builder, &new_entry(index, name, v.len(), new_value));
                    placed = true;
                }
                if e.key() == (index, name) {
                    for (slot, b) in freed.iter_mut().zip(e.value.blocks()) {
                        *slot = b;
                        nfreed = nfreed.saturating_add(1);
                    }
                    continue;
                }
                push(&mut builder, &e);
            }
        }
        if !placed {
            push(&mut builder, &new_entry(index, name, v.len(), new_value));
        }
        let empty = builder.count() == 0;
        builder.finish();
        if !fits {
            return Err(Error::NoSpace);
        }
        for &b in freed.iter().take(nfreed) {
            io.free_meta_block(b).map_err(Error::Io)?;
        }
        if empty {
            io.free_meta_block(rec.xattr).map_err(Error::Io)?;
            rec.xattr = 0;
        } else {
            if rec.xattr == 0 {
                rec.xattr = io
                    .alloc_meta_block(rec.ino)
                    .map_err(Error::Io)?
                    .ok_or(Error::NoSpace)?;
            }
            io.write(rec.xattr, &self.scratch.b).map_err(Error::Io)?;
        }
        rec.blocks = io.adjust(rec.blocks);
        Ok(())
    }

    /// Frees the xattr block of `rec` and its value blocks (the inode is being freed), with
    /// `rec.blocks` kept exact; `rec.xattr` becomes 0. The caller writes or clears the record.
    pub(super) fn xattr_free(&mut self, rec: &mut DiskInode) -> Result<(), Error<I::Error>> {
        if !self.load_xattrs(rec)? {
            return Ok(());
        }
        let mut io = Counting::new(&mut *self.io);
        for e in xattr_entries(&self.scratch.a) {
            for b in e.value.blocks() {
                io.free_meta_block(b).map_err(Error::Io)?;
            }
        }
        io.free_meta_block(rec.xattr).map_err(Error::Io)?;
        rec.blocks = io.adjust(rec.blocks);
        rec.xattr = 0;
        Ok(())
    }
}

/// An entry to push.
fn new_entry<'a>(index: u8, name: &'a [u8], len: usize, value: XattrValue<'a>) -> XattrEntry<'a> {
    XattrEntry {
        index,
        name,
        value_len: len,
        value,
        size: xattr_entry_size(name.len(), len),
    }
}
