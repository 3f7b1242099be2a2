// SPDX-License-Identifier: GPL-2.0

//! mkfs.ferrite: writes an empty ferrite filesystem.
//!
//! Only metadata is written: the journal header, the bitmaps, the inode table (zeroed only
//! where it is not already zero, so an image file stays sparse), the root inode and the two
//! superblocks (backup first, primary last). Data blocks are never touched.

use crate::image::Image;
use ferrite_format::*;
use std::io::Write;
use std::path::Path;

/// What mkfs was asked for.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Volume label.
    pub label: Option<String>,
    /// Overwrite an existing filesystem.
    pub force: bool,
    /// No summary, no progress.
    pub quiet: bool,
    /// Inode count instead of one per 16 KiB.
    pub inodes: Option<u64>,
    /// Journal size in blocks.
    pub journal_blocks: Option<u64>,
    /// Use only this many blocks of the device.
    pub blocks: Option<u64>,
}

/// What mkfs made.
#[derive(Clone, Debug)]
pub struct Summary {
    /// The superblock written.
    pub sb: Superblock,
}

/// A filesystem signature found on the device, if any.
pub fn existing_signature(img: &Image) -> std::io::Result<Option<&'static str>> {
    let mut b = vec![0u8; 8192];
    img.read_bytes(0, &mut b)?;
    if b[0..8] == MAGIC {
        return Ok(Some("ferrite"));
    }
    if b[0..4] == *b"XFSB" {
        return Ok(Some("xfs"));
    }
    if u16::from_le_bytes([b[1080], b[1081]]) == 0xEF53 {
        return Ok(Some("ext2/3/4"));
    }
    Ok(None)
}

fn zero_region(
    img: &mut Image,
    start: u64,
    blocks: u64,
    quiet: bool,
    what: &str,
) -> std::io::Result<()> {
    const CHUNK: u64 = 256; // 1 MiB
    let bs = BLOCK_SIZE as u64;
    let mut buf = vec![0u8; (CHUNK * bs) as usize];
    let zero = vec![0u8; (CHUNK * bs) as usize];
    let show = !quiet && blocks >= 16384;
    let mut done = 0;
    while done < blocks {
        let n = CHUNK.min(blocks - done);
        let len = (n * bs) as usize;
        img.read_bytes((start + done) * bs, &mut buf[..len])?;
        if buf[..len].iter().any(|&x| x != 0) {
            img.write_bytes((start + done) * bs, &zero[..len])?;
        }
        done += n;
        if show {
            eprint!(
                "\rmkfs.ferrite: initializing {what}: {:3}%",
                done * 100 / blocks
            );
        }
    }
    if show {
        eprintln!();
    }
    Ok(())
}

/// Makes a filesystem on `path`. Errors are messages for the user.
pub fn mkfs(path: &Path, opts: &Options) -> Result<Summary, String> {
    let p = path.display();
    let mut img = Image::open(path, true).map_err(|e| format!("cannot open {p}: {e}"))?;
    if !opts.force {
        if let Some(kind) = existing_signature(&img).map_err(|e| format!("cannot read {p}: {e}"))? {
            return Err(format!(
                "{p} contains an existing {kind} filesystem; use -f to overwrite it"
            ));
        }
    }
    let dev_blocks = img.size / BLOCK_SIZE as u64;
    let blocks = match opts.blocks {
        Some(b) if b > dev_blocks => {
            return Err(format!("{p} has only {dev_blocks} blocks, {b} requested"))
        }
        Some(b) => b,
        None => dev_blocks,
    };
    let layout = Layout::compute(blocks, opts.inodes, opts.journal_blocks).map_err(|e| match e {
        LayoutError::TooSmall => format!(
            "{p} is too small: {} ({} blocks); ferrite needs at least {} ({MIN_BLOCKS} blocks of 4 KiB)",
            crate::human(img.size),
            blocks,
            crate::human(MIN_BLOCKS * BLOCK_SIZE as u64)
        ),
        LayoutError::TooBig => format!(
            "{p} is too large: {}; ferrite supports at most {}",
            crate::human(img.size),
            crate::human(MAX_BLOCKS * BLOCK_SIZE as u64)
        ),
        LayoutError::BadParameter => {
            "the requested inode count or journal size does not fit on the device".to_string()
        }
    })?;
    img.blocks = blocks;
    img.layout = Some(layout);
    let io = |e: std::io::Error| format!("write to {p} failed: {e}");
    let ferr = |e: Error<std::io::Error>| format!("write to {p} failed: {e}");
    let mut buf: Box<Block> = Box::new([0; BLOCK_SIZE]);
    let now = crate::now();

    // Journal: a fresh header; the log needs no zeroing (records are seeded by the nonce).
    let nonce = u64::from_le_bytes(crate::random_bytes::<8>().map_err(io)?);
    JournalHeader::new(&layout, nonce).encode(&mut buf);
    img.write(layout.journal_start, &buf).map_err(io)?;

    // Bitmaps: everything clear but the fixed metadata, inode 0 and the root; bits past the end
    // are set so that no search can return them.
    let bits_past = |b: &mut Block, index: u64, nbits: u64| {
        let base = index * BITS_PER_BITMAP_BLOCK;
        for bit in nbits.saturating_sub(base).min(BITS_PER_BITMAP_BLOCK)..BITS_PER_BITMAP_BLOCK {
            bitmap_set(b, bit, true);
        }
    };
    for i in 0..layout.inode_bitmap_blocks {
        bitmap_block_init(&mut buf, BitmapKind::Inode, i);
        if i == 0 {
            bitmap_set(&mut buf, 0, true);
            bitmap_set(&mut buf, ROOT_INO, true);
        }
        bits_past(&mut buf, i, layout.inode_count);
        bitmap_seal(&mut buf);
        img.write(layout.inode_bitmap_start + i, &buf).map_err(io)?;
    }
    for i in 0..layout.block_bitmap_blocks {
        bitmap_block_init(&mut buf, BitmapKind::Block, i);
        bits_past(&mut buf, i, layout.block_count);
        bitmap_seal(&mut buf);
        img.write(layout.block_bitmap_start + i, &buf).map_err(io)?;
    }
    let bm = Bitmap::blocks(&layout);
    bm.set_range(&mut img, 0, layout.data_start, true, &mut buf)
        .map_err(ferr)?;
    bm.set_range(&mut img, layout.backup_sb, 1, true, &mut buf)
        .map_err(ferr)?;

    // Inode table and root directory.
    zero_region(
        &mut img,
        layout.inode_table_start,
        layout.inode_table_blocks,
        opts.quiet,
        "inode table",
    )
    .map_err(io)?;
    let mut root = Inode::new(ROOT_INO, S_IFDIR | 0o755, now);
    root.nlink = 2;
    root.data = InodeData::Dir(DirRoot::empty(ROOT_INO));
    let (blk, off) = inode_location(&layout, ROOT_INO).map_err(|e| e.to_string())?;
    img.read(blk, &mut buf).map_err(io)?;
    root.encode(&mut buf[off..off + INODE_SIZE]);
    img.write(blk, &buf).map_err(io)?;

    // Superblocks.
    let mut sb = Superblock {
        version: VERSION,
        compat: 0,
        incompat: 0,
        ro_compat: 0,
        uuid: crate::random_bytes().map_err(io)?,
        hash_seed: crate::random_bytes().map_err(io)?,
        label: [0; LABEL_MAX],
        layout,
        root_ino: ROOT_INO,
        free_blocks: layout.backup_sb - layout.data_start,
        free_inodes: layout.inode_count - 2,
        state: STATE_CLEAN,
        mount_count: 0,
        mkfs_time: u64::try_from(now.sec).unwrap_or(0),
        mkfs_nsec: now.nsec,
        write_time: u64::try_from(now.sec).unwrap_or(0),
    };
    // uuid version 4, variant 1.
    sb.uuid[6] = (sb.uuid[6] & 0x0f) | 0x40;
    sb.uuid[8] = (sb.uuid[8] & 0x3f) | 0x80;
    if let Some(l) = &opts.label {
        sb.set_label(l.as_bytes())
            .map_err(|_| format!("label '{l}' is longer than {LABEL_MAX} bytes"))?;
    }
    sb.encode(&mut buf);
    img.write(layout.backup_sb, &buf).map_err(io)?;
    img.sync().map_err(io)?;
    img.write(0, &buf).map_err(io)?;
    img.sync().map_err(io)?;
    Ok(Summary { sb })
}

/// Prints the summary mkfs shows.
pub fn print_summary(out: &mut dyn Write, path: &Path, s: &Summary) -> std::io::Result<()> {
    let l = &s.sb.layout;
    let bs = BLOCK_SIZE as u64;
    writeln!(out, "ferrite filesystem created on {}", path.display())?;
    writeln!(
        out,
        "  size:        {} ({} blocks of 4 KiB)",
        crate::human(l.block_count * bs),
        l.block_count
    )?;
    writeln!(out, "  inodes:      {}", l.inode_count)?;
    writeln!(
        out,
        "  journal:     {} ({} blocks)",
        crate::human(l.journal_blocks * bs),
        l.journal_blocks
    )?;
    writeln!(
        out,
        "  data blocks: {} ({})",
        s.sb.free_blocks,
        crate::human(s.sb.free_blocks * bs)
    )?;
    writeln!(out, "  UUID:        {}", crate::uuid_string(&s.sb.uuid))?;
    writeln!(
        out,
        "  label:       {}",
        String::from_utf8_lossy(s.sb.label_bytes())
    )?;
    Ok(())
}
