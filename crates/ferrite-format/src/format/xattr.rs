// SPDX-License-Identifier: GPL-2.0

//! Extended attributes: the xattr block of an inode (feature [`RO_COMPAT_XATTR`]).
//!
//! An inode with extended attributes points (its `xattr` field) at one 4 KiB block holding all of
//! them as entries sorted by (namespace index, name). A value of up to
//! [`XATTR_INLINE_VALUE_MAX`] bytes is stored in its entry; a longer one (up to the VFS's
//! [`XATTR_VALUE_MAX`]) in value blocks of its own, raw bytes whose block numbers and crc32c the
//! entry holds. The layout is in `docs/FORMAT.md`.
//!
//! [`RO_COMPAT_XATTR`]: super::RO_COMPAT_XATTR

use super::bytes::{
    get_u16, get_u32, get_u64, get_u8, put_bytes, put_u16, put_u32, put_u64, put_u8,
};
use super::{block_crc_ok, block_seal, Block, Corrupt, BLOCK_CRC_OFF, BLOCK_SIZE};

/// Magic of an xattr block.
pub const XATTR_MAGIC: u32 = u32::from_le_bytes(*b"FXAT");
/// Namespace index of `user.` attributes (the numbering is ext4's).
pub const XATTR_INDEX_USER: u8 = 1;
/// `system.posix_acl_access` (no name of its own).
pub const XATTR_INDEX_POSIX_ACL_ACCESS: u8 = 2;
/// `system.posix_acl_default` (no name of its own).
pub const XATTR_INDEX_POSIX_ACL_DEFAULT: u8 = 3;
/// `trusted.` attributes.
pub const XATTR_INDEX_TRUSTED: u8 = 4;
/// `security.` attributes.
pub const XATTR_INDEX_SECURITY: u8 = 6;
/// Longest name (after the namespace prefix), as the VFS allows.
pub const XATTR_NAME_MAX: usize = 255;
/// Longest value, as the VFS allows.
pub const XATTR_VALUE_MAX: usize = 65536;
/// Longest value stored in its entry; longer ones go to value blocks.
pub const XATTR_INLINE_VALUE_MAX: usize = 1024;
/// Most value blocks of one value.
pub const XATTR_VALUE_BLOCKS_MAX: usize = XATTR_VALUE_MAX / BLOCK_SIZE;
/// Entry flag: the value is in value blocks.
const FLAG_EXTERNAL: u8 = 1;

const O_MAGIC: usize = 0;
const O_COUNT: usize = 4;
const O_USED: usize = 6;
const O_OWNER: usize = 8;
/// Entries start here.
pub const XATTR_ENTRIES: usize = 32;
/// Bytes available for entries.
pub const XATTR_AREA: usize = BLOCK_CRC_OFF - XATTR_ENTRIES;
/// Bytes of an entry's header (index, name length, flags, reserved, value length).
const ENTRY_HDR: usize = 8;

/// Whether `index` is a namespace this format knows, and whether its entries carry a name.
fn index_named(index: u8) -> Option<bool> {
    match index {
        XATTR_INDEX_USER | XATTR_INDEX_TRUSTED | XATTR_INDEX_SECURITY => Some(true),
        XATTR_INDEX_POSIX_ACL_ACCESS | XATTR_INDEX_POSIX_ACL_DEFAULT => Some(false),
        _ => None,
    }
}

/// The prefix of the names of namespace `index` (the whole name for the ACLs), or `None`.
#[cfg(feature = "inspect")]
pub fn xattr_prefix(index: u8) -> Option<&'static str> {
    Some(match index {
        XATTR_INDEX_USER => "user.",
        XATTR_INDEX_TRUSTED => "trusted.",
        XATTR_INDEX_SECURITY => "security.",
        XATTR_INDEX_POSIX_ACL_ACCESS => "system.posix_acl_access",
        XATTR_INDEX_POSIX_ACL_DEFAULT => "system.posix_acl_default",
        _ => return None,
    })
}

/// Value blocks of a value of `len` bytes (0 for one stored in its entry).
pub fn xattr_value_blocks(len: usize) -> usize {
    if len <= XATTR_INLINE_VALUE_MAX {
        0
    } else {
        len.div_ceil(BLOCK_SIZE)
    }
}

/// Bytes an entry with a name of `name_len` and a value of `value_len` bytes takes (padded to 8).
pub fn xattr_entry_size(name_len: usize, value_len: usize) -> usize {
    let body = match xattr_value_blocks(value_len) {
        0 => value_len,
        n => n.saturating_mul(8).saturating_add(8),
    };
    ENTRY_HDR
        .saturating_add(name_len)
        .saturating_add(body)
        .next_multiple_of(8)
}

/// Where an entry's value is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XattrValue<'a> {
    /// In the entry.
    Inline(&'a [u8]),
    /// In value blocks: their numbers (8 bytes each, little-endian) and the crc32c of the value.
    External {
        /// crc32c of the value's bytes.
        crc: u32,
        /// The block numbers, 8 bytes each.
        blocks: &'a [u8],
    },
}

impl XattrValue<'_> {
    /// The value blocks (none for an inline value).
    pub fn blocks(&self) -> impl Iterator<Item = u64> + '_ {
        let b: &[u8] = match self {
            XattrValue::Inline(_) => &[],
            XattrValue::External { blocks, .. } => blocks,
        };
        (0..b.len() / 8).map(move |i| get_u64(b, i.saturating_mul(8)))
    }
}

/// One extended attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct XattrEntry<'a> {
    /// Namespace index (`XATTR_INDEX_*`).
    pub index: u8,
    /// Name after the namespace prefix (empty for the ACLs).
    pub name: &'a [u8],
    /// Length of the value.
    pub value_len: usize,
    /// The value.
    pub value: XattrValue<'a>,
    /// Bytes the entry takes in the block.
    pub size: usize,
}

impl XattrEntry<'_> {
    /// The order of entries in a block: by index, then name.
    pub fn key(&self) -> (u8, &[u8]) {
        (self.index, self.name)
    }
}

/// Parses the entry at `off` of an xattr block, `end` being the end of its entries.
fn entry_at(buf: &[u8], off: usize, end: usize) -> Option<XattrEntry<'_>> {
    let index = get_u8(buf, off);
    let name_len = usize::from(get_u8(buf, off.checked_add(1)?));
    let flags = get_u8(buf, off.checked_add(2)?);
    let value_len = usize::try_from(get_u32(buf, off.checked_add(4)?)).ok()?;
    let size = xattr_entry_size(name_len, value_len);
    let entry = buf.get(off..off.checked_add(size)?.min(end))?;
    if entry.len() != size || value_len > XATTR_VALUE_MAX {
        return None;
    }
    let name = entry.get(ENTRY_HDR..ENTRY_HDR.checked_add(name_len)?)?;
    let body = ENTRY_HDR.checked_add(name_len)?;
    let nblocks = xattr_value_blocks(value_len);
    let external = flags & FLAG_EXTERNAL != 0;
    if flags & !FLAG_EXTERNAL != 0 || get_u8(entry, 3) != 0 || external != (nblocks != 0) {
        return None;
    }
    let value = if external {
        let crc = get_u32(entry, body);
        let start = body.checked_add(8)?;
        XattrValue::External {
            crc,
            blocks: entry.get(start..start.checked_add(nblocks.checked_mul(8)?)?)?,
        }
    } else {
        XattrValue::Inline(entry.get(body..body.checked_add(value_len)?)?)
    };
    Some(XattrEntry {
        index,
        name,
        value_len,
        value,
        size,
    })
}

/// The entries of an xattr block that [`xattr_block_check`] accepted, in order. On a block it
/// did not accept, iteration stops at the first entry that does not parse.
pub fn xattr_entries(buf: &Block) -> impl Iterator<Item = XattrEntry<'_>> + '_ {
    let end = XATTR_ENTRIES.saturating_add(usize::from(get_u16(buf, O_USED)));
    let end = end.min(BLOCK_CRC_OFF);
    let mut off = XATTR_ENTRIES;
    core::iter::from_fn(move || {
        if off >= end {
            return None;
        }
        let e = entry_at(buf, off, end)?;
        off = off.saturating_add(e.size);
        Some(e)
    })
}

/// Checks the xattr block `blk` of inode `owner` on a filesystem of `block_count` blocks:
/// magic, crc, owner, that the entries fill exactly `used` bytes and number `count`, each well
/// formed (a known namespace, a name where the namespace has names, the value stored as its
/// length says), in strictly increasing order, with value blocks inside the filesystem and past
/// block 0. An empty block is refused too: the last attribute removed frees it.
pub fn xattr_block_check(
    buf: &Block,
    blk: u64,
    owner: u64,
    block_count: u64,
) -> Result<(), Corrupt> {
    if get_u32(buf, O_MAGIC) != XATTR_MAGIC {
        return Err(Corrupt::BadXattrBlock(blk));
    }
    if !block_crc_ok(buf) {
        return Err(Corrupt::BadXattrCrc(blk));
    }
    let used = usize::from(get_u16(buf, O_USED));
    let count = get_u16(buf, O_COUNT);
    if get_u64(buf, O_OWNER) != owner || used > XATTR_AREA || used == 0 || count == 0 {
        return Err(Corrupt::BadXattrBlock(blk));
    }
    if buf
        .get(16..XATTR_ENTRIES)
        .is_some_and(|r| r.iter().any(|&b| b != 0))
    {
        return Err(Corrupt::BadXattrBlock(blk));
    }
    let end = XATTR_ENTRIES.saturating_add(used);
    let (mut off, mut n) = (XATTR_ENTRIES, 0u16);
    let mut prev: Option<(u8, &[u8])> = None;
    while off < end {
        let e = entry_at(buf, off, end).ok_or(Corrupt::BadXattrBlock(blk))?;
        let named = index_named(e.index).ok_or(Corrupt::BadXattrBlock(blk))?;
        if named == e.name.is_empty() || prev.is_some_and(|p| p >= e.key()) {
            return Err(Corrupt::BadXattrBlock(blk));
        }
        if e.value.blocks().any(|b| b == 0 || b >= block_count) {
            return Err(Corrupt::BadXattrBlock(blk));
        }
        prev = Some((e.index, e.name));
        off = off.saturating_add(e.size);
        n = n.saturating_add(1);
    }
    if n != count || off != end {
        return Err(Corrupt::BadXattrBlock(blk));
    }
    // Past the entries, the block is zero up to the crc.
    if buf
        .get(end..BLOCK_CRC_OFF)
        .is_some_and(|r| r.iter().any(|&b| b != 0))
    {
        return Err(Corrupt::BadXattrBlock(blk));
    }
    Ok(())
}

/// Builds an xattr block entry by entry, in order.
pub struct XattrBuilder<'a> {
    buf: &'a mut Block,
    off: usize,
    count: u16,
}

impl<'a> XattrBuilder<'a> {
    /// Starts an empty block of inode `owner` in `buf`.
    pub fn new(buf: &'a mut Block, owner: u64) -> Self {
        buf.fill(0);
        put_u32(buf, O_MAGIC, XATTR_MAGIC);
        put_u64(buf, O_OWNER, owner);
        XattrBuilder {
            buf,
            off: XATTR_ENTRIES,
            count: 0,
        }
    }

    /// Appends an entry (the caller keeps the order); `None` when it does not fit, or when the
    /// value's form does not match its length.
    pub fn push(
        &mut self,
        index: u8,
        name: &[u8],
        value_len: usize,
        value: XattrValue<'_>,
    ) -> Option<()> {
        let size = xattr_entry_size(name.len(), value_len);
        let end = self.off.checked_add(size)?;
        if end > BLOCK_CRC_OFF || name.len() > XATTR_NAME_MAX || value_len > XATTR_VALUE_MAX {
            return None;
        }
        let nblocks = xattr_value_blocks(value_len);
        let buf = &mut *self.buf;
        let off = self.off;
        let body = off.checked_add(ENTRY_HDR)?.checked_add(name.len())?;
        match value {
            XattrValue::Inline(v) if nblocks == 0 && v.len() == value_len => {
                put_bytes(buf, body, v);
            }
            XattrValue::External { crc, blocks } if blocks.len() == nblocks.checked_mul(8)? => {
                put_u32(buf, body, crc);
                put_bytes(buf, body.checked_add(8)?, blocks);
                put_u8(buf, off.saturating_add(2), FLAG_EXTERNAL);
            }
            _ => return None,
        }
        put_u8(buf, off, index);
        put_u8(buf, off.checked_add(1)?, u8::try_from(name.len()).ok()?);
        put_u32(buf, off.checked_add(4)?, u32::try_from(value_len).ok()?);
        put_bytes(buf, off.checked_add(ENTRY_HDR)?, name);
        self.off = end;
        self.count = self.count.checked_add(1)?;
        Some(())
    }

    /// Entries pushed so far.
    pub fn count(&self) -> u16 {
        self.count
    }

    /// Writes the header and the crc.
    pub fn finish(self) {
        let used = u16::try_from(self.off.saturating_sub(XATTR_ENTRIES)).unwrap_or(0);
        put_u16(self.buf, O_COUNT, self.count);
        put_u16(self.buf, O_USED, used);
        block_seal(self.buf);
    }
}

/// Bytes of an inline entry's header (index, name length, value length).
const INLINE_HDR: usize = 4;
/// Size of the largest inline area (the whole data area of a device, FIFO or socket).
pub const XATTR_INLINE_AREA_MAX: usize = super::INLINE_DATA_MAX;

/// Bytes an inline entry with a name of `name_len` and a value of `value_len` bytes takes.
pub fn xattr_inline_entry_size(name_len: usize, value_len: usize) -> usize {
    INLINE_HDR
        .saturating_add(name_len)
        .saturating_add(value_len)
}

/// The extended attributes kept in the inode record itself: the part of the data area that the
/// file type leaves free (`docs/FORMAT.md`, "Inline attributes"), entries packed without
/// padding, sorted as in a block, zeros after them. Values are always in their entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InlineXattrs {
    bytes: [u8; XATTR_INLINE_AREA_MAX],
    used: usize,
}

impl Default for InlineXattrs {
    fn default() -> Self {
        InlineXattrs {
            bytes: [0; XATTR_INLINE_AREA_MAX],
            used: 0,
        }
    }
}

/// Parses the inline entry at `off` of `area`; `None` at the end (a zero index or no room for a
/// header) is told apart by the caller.
fn inline_entry_at(area: &[u8], off: usize) -> Option<XattrEntry<'_>> {
    let index = get_u8(area, off);
    let name_len = usize::from(get_u8(area, off.checked_add(1)?));
    let value_len = usize::from(get_u16(area, off.checked_add(2)?));
    let size = xattr_inline_entry_size(name_len, value_len);
    let entry = area.get(off..off.checked_add(size)?)?;
    let name = entry.get(INLINE_HDR..INLINE_HDR.checked_add(name_len)?)?;
    let value = entry.get(INLINE_HDR.checked_add(name_len)?..)?;
    Some(XattrEntry {
        index,
        name,
        value_len,
        value: XattrValue::Inline(value),
        size,
    })
}

impl InlineXattrs {
    /// The attributes of entries that [`check`](Self::check) has passed (the start of the area,
    /// as long as it returned).
    pub(crate) fn from_checked(entries: &[u8]) -> InlineXattrs {
        let mut x = InlineXattrs::default();
        put_bytes(&mut x.bytes, 0, entries);
        x.used = entries.len().min(XATTR_INLINE_AREA_MAX);
        x
    }

    /// Checks the inline area `area` of inode `ino`: each entry well formed (a known namespace,
    /// a name where the namespace has names, inside the area), in strictly increasing order,
    /// zeros after the last (an area of zeros has no attributes). Returns the bytes the entries
    /// take; nothing is copied.
    pub fn check(area: &[u8], ino: u64) -> Result<usize, Corrupt> {
        let bad = Corrupt::BadInlineXattr(ino);
        if area.len() > XATTR_INLINE_AREA_MAX {
            return Err(bad);
        }
        let mut off = 0usize;
        let mut prev: Option<(u8, &[u8])> = None;
        while off < area.len() && get_u8(area, off) != 0 {
            let e = inline_entry_at(area, off).ok_or(bad)?;
            let named = index_named(e.index).ok_or(bad)?;
            if named == e.name.is_empty() || prev.is_some_and(|p| p >= e.key()) {
                return Err(bad);
            }
            prev = Some((e.index, e.name));
            off = off.saturating_add(e.size);
        }
        if area.get(off..).is_some_and(|r| r.iter().any(|&b| b != 0)) {
            return Err(bad);
        }
        Ok(off)
    }

    /// Writes the entries at the start of `area` (which the caller has zeroed).
    pub fn encode(&self, area: &mut [u8]) {
        put_bytes(area, 0, self.bytes.get(..self.used).unwrap_or(&[]));
    }

    /// The entries, in order.
    pub fn entries(&self) -> impl Iterator<Item = XattrEntry<'_>> + '_ {
        let area = self.bytes.get(..self.used).unwrap_or(&[]);
        let mut off = 0usize;
        core::iter::from_fn(move || {
            if off >= area.len() {
                return None;
            }
            let e = inline_entry_at(area, off)?;
            off = off.saturating_add(e.size);
            Some(e)
        })
    }

    /// The entry `(index, name)`, if there is one.
    pub fn find(&self, index: u8, name: &[u8]) -> Option<XattrEntry<'_>> {
        self.entries().find(|e| e.key() == (index, name))
    }

    /// Bytes the entries take.
    pub fn used(&self) -> usize {
        self.used
    }

    /// Whether there are no inline attributes.
    pub fn is_empty(&self) -> bool {
        self.used == 0
    }

    /// Appends an entry (the caller keeps the order); `None` when the entries would take more
    /// than `room` bytes or the name is over the limit.
    pub fn push(&mut self, index: u8, name: &[u8], value: &[u8], room: usize) -> Option<()> {
        let size = xattr_inline_entry_size(name.len(), value.len());
        let end = self.used.checked_add(size)?;
        if end > room.min(XATTR_INLINE_AREA_MAX) || name.len() > XATTR_NAME_MAX || index == 0 {
            return None;
        }
        let off = self.used;
        put_u8(&mut self.bytes, off, index);
        put_u8(
            &mut self.bytes,
            off.checked_add(1)?,
            u8::try_from(name.len()).ok()?,
        );
        put_u16(
            &mut self.bytes,
            off.checked_add(2)?,
            u16::try_from(value.len()).ok()?,
        );
        let body = off.checked_add(INLINE_HDR)?;
        put_bytes(&mut self.bytes, body, name);
        put_bytes(&mut self.bytes, body.checked_add(name.len())?, value);
        self.used = end;
        Some(())
    }
}
