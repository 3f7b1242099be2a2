// SPDX-License-Identifier: GPL-2.0

//! mkfs.ferrite: writes an empty ferrite filesystem.
//!
//! Only metadata is written: the inode table (zeroed only where it is not already zero, so an
//! image file stays sparse), then what `ferrite_format::ops::mkfs` writes (the code the tests
//! share): the journal header, the bitmaps, the root inode and the two superblocks (backup
//! first, primary last). Data blocks are never touched.

use crate::image::Image;
use ferrite_format::ops;
use ferrite_format::*;
use std::io::Write;
use std::path::Path;

/// What mkfs was asked for.
#[derive(Clone, Debug, Default)]
pub struct MkfsOptions {
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
    /// Make the filesystem without extended attributes (`-O ^xattr`): the format before the
    /// feature, for compatibility tests.
    pub no_xattr: bool,
}

/// What mkfs made.
#[derive(Clone, Debug)]
pub struct Summary {
    /// The superblock written.
    pub sb: DiskSuperblock,
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
pub fn mkfs(path: &Path, opts: &MkfsOptions) -> Result<Summary, String> {
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
    let mut label = [0u8; LABEL_MAX];
    if let Some(l) = &opts.label {
        label
            .get_mut(..l.len())
            .ok_or_else(|| format!("label '{l}' is longer than {LABEL_MAX} bytes"))?
            .copy_from_slice(l.as_bytes());
    }
    img.blocks = blocks;
    img.layout = Some(layout);
    let io = |e: std::io::Error| format!("write to {p} failed: {e}");
    let params = ops::MkfsParams {
        layout,
        uuid: crate::random_bytes().map_err(io)?,
        hash_seed: crate::random_bytes().map_err(io)?,
        label,
        // The log needs no zeroing: records are seeded by the nonce.
        journal_nonce: u64::from_le_bytes(crate::random_bytes::<8>().map_err(io)?),
        now: crate::now(),
        inode_table_zeroed: true,
        ro_compat: if opts.no_xattr { 0 } else { RO_COMPAT_XATTR },
    };
    // The inode table is zeroed here, only where it is not already zero.
    zero_region(
        &mut img,
        layout.inode_table_start,
        layout.inode_table_blocks,
        opts.quiet,
        "inode table",
    )
    .map_err(io)?;
    let mut buf: Box<Block> = Box::new([0; BLOCK_SIZE]);
    let sb = ops::mkfs(&mut img, &params, &mut buf, &mut |img| img.sync())
        .map_err(|e| format!("write to {p} failed: {e}"))?;
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
