// SPDX-License-Identifier: GPL-2.0

//! mkfs.ferrite: writes an empty ferrite filesystem.
//!
//! Without `-f` it first looks for what it would destroy ([`existing_signature`]): a ferrite
//! filesystem, by either superblock, and whatever `blkid -p` recognizes (filesystems, RAID
//! members, encrypted volumes, partition tables). A block device is opened exclusively, so a
//! mounted one is refused even with `-f`.
//!
//! Only metadata is written: the inode table (zeroed only where it is not already zero, so an
//! image file stays sparse), then what `ferrite_format::ops::mkfs` writes (the code the tests
//! share): the journal header, the bitmaps, the root inode and the two superblocks (backup
//! first, primary last). Data blocks are never touched.

use crate::image::Image;
use ferrite_format::ops;
use ferrite_format::*;
use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// What mkfs was asked for.
#[derive(Clone, Debug, Default)]
pub struct MkfsOptions {
    /// Volume label, as given (bytes: it is checked here, with [`label_check`]).
    pub label: Option<Vec<u8>>,
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
    /// Warnings for the user (the signatures mkfs could not look for).
    pub warnings: Vec<String>,
}

/// What [`existing_signature`] found on a device.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Signatures {
    /// What the device holds, in words ("a xfs filesystem (found by blkid)"), if anything.
    pub found: Option<String>,
    /// Why the look was incomplete (blkid could not be run), if it was.
    pub incomplete: Option<String>,
}

/// Where blkid is: on `PATH`, else in `/usr/sbin` or `/sbin` (not on every user's `PATH`).
pub fn find_blkid() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|d| d.join("blkid"))
        .find(|p| p.is_file())
}

/// What is on the device that mkfs would destroy: a ferrite filesystem (by its primary
/// superblock, or by its backup where the primary is gone: [`ferrite_signature`]), then any
/// filesystem, RAID member, encrypted volume or partition table the low-level probing of
/// `blkid` (`blkid -p`) knows. Without blkid (`None`, or it cannot be run), the built-in checks
/// for XFS and ext2/3/4 stand in for it and the result says the look was incomplete.
pub fn existing_signature(
    img: &Image,
    path: &Path,
    blkid: Option<&Path>,
) -> std::io::Result<Signatures> {
    if let Some(f) = ferrite_signature(img)? {
        return Ok(Signatures {
            found: Some(f),
            incomplete: None,
        });
    }
    let why = match blkid.map(|b| blkid_probe(b, path)) {
        Some(Ok(found)) => {
            return Ok(Signatures {
                found: found.map(|f| format!("{f} (found by blkid)")),
                incomplete: None,
            })
        }
        Some(Err(e)) => e,
        None => "blkid is not installed".to_string(),
    };
    Ok(Signatures {
        found: builtin_signature(img)?.map(|k| format!("an existing {k} filesystem")),
        incomplete: Some(format!(
            "{why}: only ferrite, XFS and ext2/3/4 signatures were looked for"
        )),
    })
}

/// A ferrite filesystem on the device, in words: its primary superblock (valid or not: its magic
/// is enough), or, where block 0 has no ferrite magic, a valid backup superblock
/// ([`find_backup_superblock`]).
pub fn ferrite_signature(img: &Image) -> std::io::Result<Option<String>> {
    let mut b: Box<Block> = Box::new([0; BLOCK_SIZE]);
    img.read_bytes(0, &mut b[..])?;
    if b[0..8] == MAGIC {
        return Ok(Some(match DiskSuperblock::decode(&b) {
            Ok(_) => "an existing ferrite filesystem".to_string(),
            Err(c) => format!("a ferrite filesystem whose primary superblock is damaged ({c})"),
        }));
    }
    Ok(find_backup_superblock(img)?.map(|bk| {
        format!(
            "a ferrite filesystem whose primary superblock is gone; its backup superblock \
             (block {bk}) is intact (fsck.ferrite -y restores the primary)"
        )
    }))
}

/// A block holding a valid backup superblock (one that names itself as the backup), in the
/// places a backup can be: the last block of the device (a filesystem made on the whole
/// device), or, when the journal header (block 1) is intact, the last block of any size whose
/// default journal has the size the header claims (a filesystem made smaller than the device,
/// with `BLOCKS`). Not found: a smaller filesystem made with `-J` whose journal header is gone
/// too. For a device whose primary superblock is gone (mkfs, fsck).
pub fn find_backup_superblock(img: &Image) -> std::io::Result<Option<u64>> {
    let dev_blocks = img.size / BLOCK_SIZE as u64;
    if dev_blocks < MIN_BLOCKS {
        return Ok(None);
    }
    let mut b: Box<Block> = Box::new([0; BLOCK_SIZE]);
    img.read_bytes(BLOCK_SIZE as u64, &mut b[..])?;
    let by_journal = JournalHeader::claimed_log_blocks(&b)
        .and_then(|log| sizes_with_default_journal(log.saturating_add(1), dev_blocks));
    let whole_device = dev_blocks..dev_blocks + 1;
    for r in std::iter::once(whole_device).chain(by_journal) {
        if let Some(bk) = find_backup(img, r.start - 1..r.end - 1, &mut b)? {
            return Ok(Some(bk));
        }
    }
    Ok(None)
}

/// The filesystem sizes (block counts, at most the device's) whose default journal has
/// `journal_blocks` blocks, when there are few enough of them to look at each (none past the
/// clamp of the default).
fn sizes_with_default_journal(journal_blocks: u64, dev_blocks: u64) -> Option<Range<u64>> {
    const MAX_CANDIDATES: u64 = 8192;
    // The first size in MIN_BLOCKS..=dev_blocks whose default journal is above `j`: the
    // default never shrinks as the size grows.
    let first_above = |j: u64| {
        let (mut lo, mut hi) = (MIN_BLOCKS, dev_blocks + 1);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if Layout::default_journal_blocks(mid) > j {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        lo
    };
    let r = first_above(journal_blocks.checked_sub(1)?)..first_above(journal_blocks);
    (!r.is_empty() && r.end - r.start <= MAX_CANDIDATES).then_some(r)
}

/// The first block of `blocks` that holds a valid ferrite superblock naming itself as the backup.
fn find_backup(img: &Image, blocks: Range<u64>, b: &mut Block) -> std::io::Result<Option<u64>> {
    const CHUNK: u64 = 256;
    let mut chunk = vec![0u8; CHUNK as usize * BLOCK_SIZE];
    let mut at = blocks.start;
    while at < blocks.end {
        let n = CHUNK.min(blocks.end - at);
        let bytes = &mut chunk[..n as usize * BLOCK_SIZE];
        img.read_bytes(at * BLOCK_SIZE as u64, bytes)?;
        for (i, blk) in bytes.chunks_exact(BLOCK_SIZE).enumerate() {
            if blk[0..8] != MAGIC {
                continue;
            }
            b.copy_from_slice(blk);
            let here = at + i as u64;
            if DiskSuperblock::decode(b).is_ok_and(|s| s.layout.backup_sb == here) {
                return Ok(Some(here));
            }
        }
        at += n;
    }
    Ok(None)
}

/// What `blkid -p -o export` (low-level probing, the superblocks themselves rather than the
/// cache) finds on `path`, in words; `Err` when blkid cannot be run or fails.
pub fn blkid_probe(blkid: &Path, path: &Path) -> Result<Option<String>, String> {
    let o = std::process::Command::new(blkid)
        .args(["-p", "-o", "export", "--"])
        .arg(path)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("blkid ({}) cannot be run: {e}", blkid.display()))?;
    match o.status.code() {
        Some(0) => {}
        // Nothing found.
        Some(2) => return Ok(None),
        // More than one signature (blkid names none of them).
        Some(8) => {
            return Ok(Some(
                "more than one filesystem or partition-table signature (blkid: \"ambivalent \
                 result\"; wipefs lists them)"
                    .to_string(),
            ))
        }
        _ => {
            return Err(format!(
                "blkid failed ({}): {}",
                o.status,
                crate::escape_text(String::from_utf8_lossy(&o.stderr).trim().as_bytes())
            ))
        }
    }
    let text = String::from_utf8_lossy(&o.stdout);
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .map(|v| crate::escape_text(v.as_bytes()))
    };
    let an = |w: &str| {
        let vowel = w.starts_with(|c: char| "aeiouAEIOU".contains(c));
        format!("{} {w}", if vowel { "an" } else { "a" })
    };
    let mut what = Vec::new();
    if let Some(t) = field("TYPE") {
        what.push(match field("USAGE").as_deref() {
            Some("raid") => format!("{} RAID member", an(&t)),
            Some("crypto") => format!("{} encrypted volume", an(&t)),
            Some("other") => format!("{} signature", an(&t)),
            _ => format!("{} filesystem", an(&t)),
        });
    }
    if let Some(pt) = field("PTTYPE") {
        what.push(format!("{} partition table", an(&pt)));
    }
    if what.is_empty() {
        // Found something it has no type for: still something mkfs would destroy.
        what.push("a signature".to_string());
    }
    Ok(Some(what.join(" and ")))
}

/// The filesystems mkfs knows without blkid, by their magic in the first 8 KiB.
pub fn builtin_signature(img: &Image) -> std::io::Result<Option<&'static str>> {
    let mut b = vec![0u8; 8192];
    img.read_bytes(0, &mut b)?;
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
    // A hole punched in an image, BLKZEROOUT on a device: seconds for a terabyte, not minutes.
    if img.zero_fast(start * bs, blocks * bs)? {
        return Ok(());
    }
    let mut buf = vec![0u8; (CHUNK * bs) as usize];
    let zero = vec![0u8; (CHUNK * bs) as usize];
    // Progress only for a person watching: on a terminal, and not with -q.
    let show = !quiet && blocks >= 16384 && std::io::IsTerminal::is_terminal(&std::io::stderr());
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
    let mut label = [0u8; LABEL_MAX];
    if let Some(l) = &opts.label {
        label_check(l).map_err(|why| format!("label \"{}\" {why}", crate::escape_text(l)))?;
        label[..l.len()].copy_from_slice(l);
    }
    let mut img = Image::open_exclusive(path).map_err(|e| format!("cannot open {p}: {e}"))?;
    let mut warnings = Vec::new();
    if !opts.force {
        let blkid = find_blkid();
        let sig = existing_signature(&img, path, blkid.as_deref())
            .map_err(|e| format!("cannot read {p}: {e}"))?;
        if let Some(what) = sig.found {
            return Err(format!("{p} contains {what}; use -f to overwrite it"));
        }
        warnings.extend(sig.incomplete.map(|w| format!("warning: {w}")));
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
    // The inode table is zeroed here: by the device or the image's filesystem where they can
    // (Image::zero_fast), else written only where it is not already zero.
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
    Ok(Summary { sb, warnings })
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
        crate::escape_text(s.sb.label_bytes())
    )?;
    Ok(())
}
