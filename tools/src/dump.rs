// SPDX-License-Identifier: GPL-2.0

//! ferrite-dump: human-readable views of the superblock, an inode, its extents, a directory and
//! the journal.

use crate::image::{Dry, Image};
use ferrite_format::*;
use std::io::Write;
use std::path::Path;

/// What to show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum What {
    /// The superblock.
    Superblock,
    /// One inode.
    Inode(u64),
    /// One inode's extents.
    Extents(u64),
    /// One directory's entries.
    Dir(u64),
    /// The journal header and what recovery would replay.
    Journal,
}

fn ts(t: &Timespec) -> String {
    format!("{}.{:09}", t.sec, t.nsec)
}

/// Reads the superblock of `img` and limits `img` to its filesystem.
fn load(img: &mut Image) -> Result<DiskSuperblock, String> {
    img.blocks = img.size / BLOCK_SIZE as u64;
    img.overlay = None;
    let mut buf = [0u8; BLOCK_SIZE];
    img.read(0, &mut buf).map_err(|e| e.to_string())?;
    let sb = DiskSuperblock::decode(&buf).map_err(|c| format!("superblock: {c}"))?;
    img.blocks = sb.layout.block_count.min(img.blocks);
    img.layout = Some(sb.layout);
    Ok(sb)
}

fn load_inode(img: &Image, sb: &DiskSuperblock, ino: u64) -> Result<DiskInode, String> {
    load_inode_xattrs(img, sb, ino).map(|(i, _)| i)
}

/// Inode `ino` with the extended attributes its record holds.
fn load_inode_xattrs(
    img: &Image,
    sb: &DiskSuperblock,
    ino: u64,
) -> Result<(DiskInode, InlineXattrs), String> {
    let (blk, off) = inode_location(&sb.layout, ino).map_err(|c| c.to_string())?;
    let mut buf = [0u8; BLOCK_SIZE];
    img.read(blk, &mut buf).map_err(|e| e.to_string())?;
    DiskInode::decode_with_xattrs(&buf[off..off + INODE_SIZE], ino).map_err(|c| c.to_string())
}

/// Writes the requested view of the filesystem on `path` to `out`.
pub fn dump(path: &Path, what: What, out: &mut dyn Write) -> Result<(), String> {
    let mut img =
        Image::open(path, false).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    dump_image(&mut img, what, out)
}

/// Writes the requested view of the filesystem on an image already open (for example one in
/// memory) to `out`, exactly as [`dump`] does for a path. Nothing is written to the image.
pub fn dump_image(img: &mut Image, what: What, out: &mut dyn Write) -> Result<(), String> {
    let sb = load(img)?;
    let img = &*img;
    match what {
        What::Superblock => dump_superblock(&sb, out),
        What::Inode(ino) => dump_inode(img, &sb, ino, out),
        What::Extents(ino) => dump_extents(img, &sb, ino, out),
        What::Dir(ino) => dump_dir(img, &sb, ino, out),
        What::Journal => dump_journal(img, &sb, out),
    }
}

/// A failed write to the output, as the dump's error.
fn w(e: std::io::Error) -> String {
    e.to_string()
}

/// The superblock's fields and the layout.
fn dump_superblock(sb: &DiskSuperblock, out: &mut dyn Write) -> Result<(), String> {
    let l = &sb.layout;
    writeln!(out, "magic:             FERRITFS").map_err(w)?;
    writeln!(out, "version:           {}", sb.version).map_err(w)?;
    writeln!(
        out,
        "features:          compat {:#x} incompat {:#x} ro_compat {:#x}{}",
        sb.compat,
        sb.incompat,
        sb.ro_compat,
        if sb.has_xattr() { " (xattr)" } else { "" }
    )
    .map_err(w)?;
    writeln!(out, "uuid:              {}", crate::uuid_string(&sb.uuid)).map_err(w)?;
    writeln!(
        out,
        "label:             {}",
        crate::escape_text(sb.label_bytes())
    )
    .map_err(w)?;
    writeln!(
        out,
        "state:             {:#x}{}{}",
        sb.state,
        if sb.state & STATE_CLEAN != 0 {
            " clean"
        } else {
            " not-clean"
        },
        if sb.state & STATE_ERROR != 0 {
            " error"
        } else {
            ""
        }
    )
    .map_err(w)?;
    writeln!(
        out,
        "blocks:            {} ({})",
        l.block_count,
        crate::human(l.block_count * BLOCK_SIZE as u64)
    )
    .map_err(w)?;
    writeln!(out, "inodes:            {}", l.inode_count).map_err(w)?;
    writeln!(out, "free blocks:       {}", sb.free_blocks).map_err(w)?;
    writeln!(out, "free inodes:       {}", sb.free_inodes).map_err(w)?;
    writeln!(
        out,
        "journal:           blocks {}..{}",
        l.journal_start,
        l.journal_start + l.journal_blocks
    )
    .map_err(w)?;
    writeln!(
        out,
        "inode bitmap:      blocks {}..{}",
        l.inode_bitmap_start,
        l.inode_bitmap_start + l.inode_bitmap_blocks
    )
    .map_err(w)?;
    writeln!(
        out,
        "block bitmap:      blocks {}..{}",
        l.block_bitmap_start,
        l.block_bitmap_start + l.block_bitmap_blocks
    )
    .map_err(w)?;
    writeln!(
        out,
        "inode table:       blocks {}..{}",
        l.inode_table_start,
        l.inode_table_start + l.inode_table_blocks
    )
    .map_err(w)?;
    writeln!(
        out,
        "data area:         blocks {}..{}",
        l.data_start, l.backup_sb
    )
    .map_err(w)?;
    writeln!(out, "backup superblock: block {}", l.backup_sb).map_err(w)?;
    writeln!(out, "root inode:        {}", sb.root_ino).map_err(w)?;
    writeln!(out, "mount count:       {}", sb.mount_count).map_err(w)?;
    writeln!(
        out,
        "mkfs time:         {}.{:09}",
        sb.mkfs_time, sb.mkfs_nsec
    )
    .map_err(w)?;
    writeln!(out, "write time:        {}", sb.write_time).map_err(w)?;
    Ok(())
}

/// The record of inode `ino`.
fn dump_inode(
    img: &Image,
    sb: &DiskSuperblock,
    ino: u64,
    out: &mut dyn Write,
) -> Result<(), String> {
    let (i, ix) = load_inode_xattrs(img, sb, ino)?;
    writeln!(out, "inode {ino}").map_err(w)?;
    writeln!(out, "  mode:       {:o}", i.mode).map_err(w)?;
    writeln!(out, "  uid/gid:    {}/{}", i.uid, i.gid).map_err(w)?;
    writeln!(out, "  nlink:      {}", i.nlink).map_err(w)?;
    writeln!(out, "  size:       {}", i.size).map_err(w)?;
    writeln!(out, "  blocks:     {}", i.blocks).map_err(w)?;
    writeln!(out, "  atime:      {}", ts(&i.atime)).map_err(w)?;
    writeln!(out, "  mtime:      {}", ts(&i.mtime)).map_err(w)?;
    writeln!(out, "  ctime:      {}", ts(&i.ctime)).map_err(w)?;
    writeln!(out, "  btime:      {}", ts(&i.btime)).map_err(w)?;
    writeln!(out, "  flags:      {:#x}", i.flags).map_err(w)?;
    writeln!(out, "  generation: {}", i.generation).map_err(w)?;
    writeln!(out, "  rdev:       {:#x}", i.rdev).map_err(w)?;
    match &i.data {
        InodeData::Extents(r) => {
            if r.tree.blk == 0 {
                writeln!(out, "  extents:    {} inline", r.count).map_err(w)?
            } else {
                writeln!(
                    out,
                    "  extents:    tree root block {} depth {}",
                    r.tree.blk, r.tree.depth
                )
                .map_err(w)?
            }
        }
        InodeData::Dir(d) => writeln!(
            out,
            "  directory:  {} entries, parent {}, tree root block {} depth {}",
            d.entries, d.parent, d.tree.blk, d.tree.depth
        )
        .map_err(w)?,
        InodeData::Inline(_) => writeln!(
            out,
            "  target:     {}",
            crate::escape_text(i.inline_bytes().unwrap_or(&[]))
        )
        .map_err(w)?,
        InodeData::Special => {}
    }
    dump_xattrs(img, sb, &i, &ix, out)
}

/// The extended attributes of inode `i`: those in its record, then its xattr block and, per
/// attribute, the name (bytes that are not printable escaped), the value's length and where it
/// is, and its first bytes.
fn dump_xattrs(
    img: &Image,
    sb: &DiskSuperblock,
    i: &DiskInode,
    ix: &InlineXattrs,
    out: &mut dyn Write,
) -> Result<(), String> {
    if !ix.is_empty() {
        writeln!(
            out,
            "  xattrs:     in the record ({} of {} bytes)",
            ix.used(),
            i.xattr_room()
        )
        .map_err(w)?;
        for e in ix.entries() {
            dump_xattr(&e, out)?;
        }
    }
    if i.xattr == 0 {
        return Ok(());
    }
    writeln!(out, "  xattrs:     block {}", i.xattr).map_err(w)?;
    let mut b: Box<Block> = Box::new([0; BLOCK_SIZE]);
    img.read(i.xattr, &mut b).map_err(|e| e.to_string())?;
    if let Err(e) = xattr_block_check(&b, i.xattr, i.ino, sb.layout.block_count) {
        writeln!(out, "    (unreadable: {e})").map_err(w)?;
        return Ok(());
    }
    for e in xattr_entries(&b) {
        dump_xattr(&e, out)?;
    }
    Ok(())
}

/// One attribute's line of [`dump_xattrs`].
fn dump_xattr(e: &XattrEntry<'_>, out: &mut dyn Write) -> Result<(), String> {
    let name = crate::fsck::xattr_display_name(e.index, e.name);
    match e.value {
        XattrValue::Inline(v) => {
            let shown: String = v
                .iter()
                .take(64)
                .copied()
                .collect::<Vec<u8>>()
                .escape_ascii()
                .to_string();
            let more = if v.len() > 64 { "..." } else { "" };
            writeln!(out, "    {name}: {} bytes \"{shown}{more}\"", e.value_len).map_err(w)
        }
        XattrValue::External { crc, .. } => {
            let blocks: Vec<String> = e.value.blocks().map(|b| b.to_string()).collect();
            writeln!(
                out,
                "    {name}: {} bytes in value blocks {} (crc32c {crc:#010x})",
                e.value_len,
                blocks.join(",")
            )
            .map_err(w)
        }
    }
}

/// The extents and the tree node count of inode `ino`.
fn dump_extents(
    img: &Image,
    sb: &DiskSuperblock,
    ino: u64,
    out: &mut dyn Write,
) -> Result<(), String> {
    let i = load_inode(img, sb, ino)?;
    let InodeData::Extents(r) = i.data else {
        return Err(format!("inode {ino} has no extents"));
    };
    let mut buf = [0u8; BLOCK_SIZE];
    let mut lines = Vec::new();
    extent_iter(img, ino, &r, 0, &mut buf, &mut |e| {
        lines.push(format!(
            "  file blocks {:>10}..{:<10} -> device blocks {}..{} ({} blocks){}",
            e.logical,
            e.end(),
            e.physical,
            e.physical + e.len,
            e.len,
            if e.physical % HUGE_BLOCKS == 0 && e.logical % HUGE_BLOCKS == 0 && e.len >= HUGE_BLOCKS
            {
                " 2M-aligned"
            } else {
                ""
            }
        ));
        true
    })
    .map_err(|e| e.to_string())?;
    let mut nodes = 0;
    extent_tree_nodes(img, ino, &r, &mut buf, &mut |_, _| nodes += 1).map_err(|e| e.to_string())?;
    writeln!(
        out,
        "inode {ino}: {} extents, {} tree nodes",
        lines.len(),
        nodes
    )
    .map_err(w)?;
    for l in lines {
        writeln!(out, "{l}").map_err(w)?;
    }
    Ok(())
}

/// The entries of directory `ino`, `.` and `..` first.
fn dump_dir(img: &Image, sb: &DiskSuperblock, ino: u64, out: &mut dyn Write) -> Result<(), String> {
    let i = load_inode(img, sb, ino)?;
    let InodeData::Dir(d) = i.data else {
        return Err(format!("inode {ino} is not a directory"));
    };
    writeln!(out, "directory {ino}: {} entries", d.entries).map_err(w)?;
    writeln!(out, "  {:>20}  {:>10}  dir  .", COOKIE_DOT, ino).map_err(w)?;
    writeln!(out, "  {:>20}  {:>10}  dir  ..", COOKIE_DOTDOT, d.parent).map_err(w)?;
    let mut buf = [0u8; BLOCK_SIZE];
    let mut lines = Vec::new();
    dir_iter(img, ino, &d, COOKIE_DOTDOT, &mut buf, &mut |e| {
        let t = match e.ftype {
            FT_REG => "reg",
            FT_DIR => "dir",
            FT_LNK => "lnk",
            FT_CHR => "chr",
            FT_BLK => "blk",
            FT_FIFO => "fifo",
            FT_SOCK => "sock",
            _ => "?",
        };
        lines.push(format!(
            "  {:>20}  {:>10}  {t:<4} {}",
            e.key,
            e.ino,
            crate::escape_text(e.name())
        ));
        true
    })
    .map_err(|e| e.to_string())?;
    for l in lines {
        writeln!(out, "{l}").map_err(w)?;
    }
    Ok(())
}

/// The journal header and what recovery would replay (on a throwaway overlay).
fn dump_journal(img: &Image, sb: &DiskSuperblock, out: &mut dyn Write) -> Result<(), String> {
    let l = &sb.layout;
    let mut buf = [0u8; BLOCK_SIZE];
    img.read(l.journal_start, &mut buf)
        .map_err(|e| e.to_string())?;
    let h = JournalHeader::decode(&buf, l).map_err(|c| format!("journal header: {c}"))?;
    writeln!(
        out,
        "journal: blocks {}..{} ({} log blocks)",
        l.journal_start,
        l.journal_start + l.journal_blocks,
        h.log_blocks
    )
    .map_err(w)?;
    writeln!(
        out,
        "  tail {} head {} checkpoint_seq {} nonce {:#018x} generation {} (slot {})",
        h.tail,
        h.head,
        h.checkpoint_seq,
        h.nonce,
        h.generation,
        h.generation % 2
    )
    .map_err(w)?;
    // A dry replay: every write goes to a throwaway overlay of the blocks it changes.
    let mut dry = Dry::new(img);
    let mut s = Box::new(Scratch::new());
    let r = journal_replay(&mut dry, l, &h, &mut s).map_err(|e| e.to_string())?;
    writeln!(out, "  recovery would replay {} transaction(s), {} record(s), up to sequence {}, ending at {}{}", r.transactions, r.records, r.last_seq, r.end,
        if r.discarded_partial { "; an incomplete transaction follows" } else { "" }).map_err(w)?;
    Ok(())
}
