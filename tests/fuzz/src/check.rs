// SPDX-License-Identifier: GPL-2.0

//! What the host fuzz target runs on each image, in memory: `fsck -n`, recovery as mount does
//! it, the format code's walks (directory iteration and lookup from the root, the extent map of
//! every file, symlink reads, the orphan list and its cleanup), `ferrite-dump`, `fsck -y` and
//! `fsck -n` again. A panic anywhere is the caller's to catch; what this returns as an error is
//! a broken promise of the tools or the format code:
//!
//! - `fsck -n` wrote to the image;
//! - `fsck -n` found the image clean, but mount refused it or a walk met corruption (fsck missed
//!   something the kernel would trip over);
//! - `fsck -n` judged the image differently from the same image recovered for real (fsck did
//!   not check what the journal replay leaves);
//! - after a `fsck -y` that repaired (exit 0 or 1), `fsck -n` is not clean (repairs that do
//!   not converge);
//! - `fsck -y` left the primary superblock invalid where it was valid, or an image mount
//!   accepted unmountable;
//! - freeing an orphan, or punching a file, did not finish (an unbounded walk);
//! - after a repair that `fsck -n` then finds clean, mount refuses the image or a walk meets
//!   corruption.
//!
//! After the walks, the operations the kernel runs on a mounted filesystem (create, mkdir,
//! symlink, block allocation, rename, unlink, hole punching) run on the recovered image: their
//! errors are expected, a panic or a loop is not.

use ferrite_format::ops::{Ctx, NewInodeAttrs, Rename, Renamed};
use ferrite_format::*;
use ferrite_tools::dump::{dump_image, What};
use ferrite_tools::fsck::{fsck_image, FsckOptions, Mode, Report, EXIT_CORRECTED, EXIT_OK};
use ferrite_tools::image::Image;
use std::collections::HashSet;

/// What the checks saw of one image (for the fuzz target's statistics).
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// Exit status of `fsck -n`.
    pub fsck_n: i32,
    /// Exit status of `fsck -y`.
    pub fsck_y: i32,
    /// Whether recovery as mount does it accepted the image.
    pub mounted: bool,
    /// Corruption the format code's walks reported on the recovered image.
    pub walk_problems: Vec<String>,
}

fn fsck(img: &mut Image, mode: Mode) -> (Report, String) {
    let opts = FsckOptions { mode, force: true };
    let mut out = Vec::new();
    let r = fsck_image(img, "image", &opts, &mut out);
    (r, String::from_utf8_lossy(&out).into_owned())
}

/// Recovery as mount does it (`fs/mount.rs`): the superblock (from the journal when its
/// in-place copy is torn), checked against the device; the journal header; replay in place; a
/// new header when anything was replayed or the tail moves; the root inode, a directory.
pub fn mount(img: &mut Image) -> Result<DiskSuperblock, String> {
    img.overlay = None;
    img.layout = None;
    img.blocks = img.size / BLOCK_SIZE as u64;
    let dev = img.blocks;
    let mut buf: Box<Block> = Box::new([0; BLOCK_SIZE]);
    let mut scratch = Box::new(Scratch::new());
    let (sb, _) =
        read_superblock(&*img, &mut buf, &mut scratch).map_err(|e| format!("superblock: {e}"))?;
    let l = sb.layout;
    if l.block_count > dev {
        return Err(format!(
            "the filesystem has {} blocks, the device {dev}",
            l.block_count
        ));
    }
    img.blocks = l.block_count;
    img.layout = Some(l);
    img.read(l.journal_start, &mut buf)
        .map_err(|e| e.to_string())?;
    let h = JournalHeader::decode(&buf, &l).map_err(|c| format!("journal header: {c}"))?;
    let rep =
        journal_replay(&mut *img, &l, &h, &mut scratch).map_err(|e| format!("replay: {e}"))?;
    if rep.transactions > 0 || rep.end != h.tail {
        img.read(l.journal_start, &mut buf)
            .map_err(|e| e.to_string())?;
        h.next(rep.end, rep.end, rep.last_seq).encode(&mut buf);
        img.write(l.journal_start, &buf)
            .map_err(|e| e.to_string())?;
    }
    // The replay may have rewritten the superblock: mount goes on with what is there now.
    img.read(0, &mut buf).map_err(|e| e.to_string())?;
    let sb = DiskSuperblock::decode(&buf).map_err(|c| format!("replayed superblock: {c}"))?;
    if sb.layout != l {
        return Err("the replayed superblock has another layout".into());
    }
    let mut ctx = Ctx::new(&mut *img, &sb, &mut scratch);
    let root = ctx
        .read_inode(sb.root_ino)
        .map_err(|e| format!("root inode: {e}"))?;
    if root.kind() != S_IFDIR {
        return Err("the root inode is not a directory".into());
    }
    Ok(sb)
}

/// The format code's walks over a mounted image: every directory from the root (iteration,
/// and a lookup of every name found), every inode an entry names (its extent map, checked to
/// be sorted, disjoint and inside the data area, and looked up at its edges; symlink targets),
/// then the orphans, freed as mount frees them. Corruption the format code reports is
/// collected; an orphan whose freeing does not finish is an error.
pub fn walk(
    img: &mut Image,
    sb: &DiskSuperblock,
    seen: &mut Vec<u64>,
) -> Result<Vec<String>, String> {
    let mut scratch = Box::new(Scratch::new());
    let mut buf: Box<Block> = Box::new([0; BLOCK_SIZE]);
    let mut problems = Vec::new();
    let l = sb.layout;
    let mut inodes: HashSet<u64> = HashSet::from([sb.root_ino]);
    let mut dirs = vec![sb.root_ino];
    while let Some(d) = dirs.pop() {
        seen.push(d);
        let mut ctx = Ctx::new(&mut *img, sb, &mut scratch);
        let di = match ctx.read_inode(d) {
            Ok(i) => i,
            Err(e) => {
                problems.push(format!("directory {d}: {e}"));
                continue;
            }
        };
        let InodeData::Dir(root) = di.data else {
            problems.push(format!("directory {d} is a {:o}", di.mode));
            continue;
        };
        if let Err(e) = dir_tree_nodes(&*img, d, &root, &mut buf, &mut |_, _| {}) {
            problems.push(format!("directory {d}: tree: {e}"));
        }
        let mut entries = Vec::new();
        if let Err(e) = dir_iter(&*img, d, &root, COOKIE_DOTDOT, &mut buf, &mut |e| {
            entries.push(*e);
            true
        }) {
            problems.push(format!("directory {d}: readdir: {e}"));
        }
        if entries.len() as u64 != root.entries {
            problems.push(format!(
                "directory {d}: {} entries, the inode says {}",
                entries.len(),
                root.entries
            ));
        }
        for e in &entries {
            let mut ctx = Ctx::new(&mut *img, sb, &mut scratch);
            match ctx.lookup(d, e.name()) {
                Ok(Some(f)) if f.ino == e.ino && f.key == e.key => {}
                r => problems.push(format!(
                    "directory {d}: lookup of an entry readdir gives ({:?}): {r:?}",
                    String::from_utf8_lossy(e.name())
                )),
            }
            if !inodes.insert(e.ino) {
                continue;
            }
            let i = match ctx.read_inode(e.ino) {
                Ok(i) => i,
                Err(err) => {
                    problems.push(format!("directory {d}: entry inode {}: {err}", e.ino));
                    continue;
                }
            };
            seen.push(e.ino);
            if file_type(i.mode) != Some(e.ftype) {
                problems.push(format!(
                    "directory {d}: entry type {} for inode {} of mode {:o}",
                    e.ftype, e.ino, i.mode
                ));
            }
            file(img, sb, &mut scratch, &i, &mut problems);
            if i.kind() == S_IFDIR {
                dirs.push(e.ino);
            }
        }
    }
    // Orphan cleanup, as a read-write mount does it.
    let mut orphans = Vec::new();
    let mut ctx = Ctx::new(&mut *img, sb, &mut scratch);
    if let Err(e) = ctx.orphans(&mut |i| orphans.push(i)) {
        problems.push(format!("orphans: {e}"));
    }
    // Each call frees at most a budget of pieces; the extents of a file on this image are fewer
    // than its blocks, so more calls than blocks mean one never finishes.
    let bound = l.block_count + 16;
    for ino in orphans {
        let mut calls = 0u64;
        loop {
            match ctx.free_inode(ino, 16) {
                Ok(true) => break,
                Ok(false) => {}
                Err(e) => {
                    problems.push(format!("orphan {ino}: {e}"));
                    break;
                }
            }
            calls += 1;
            if calls > bound {
                return Err(format!(
                    "freeing orphan {ino} does not finish after {calls} calls"
                ));
            }
        }
    }
    Ok(problems)
}

/// What the kernel does on the mounted hostile image: names created, renamed and removed in the
/// directories the walk reached, blocks allocated and punched in its files. Errors are the
/// image's; every call must return, and punching must finish within a bound.
pub fn exercise(img: &mut Image, sb: &DiskSuperblock, seen: &[u64]) -> Result<(), String> {
    let mut scratch = Box::new(Scratch::new());
    let now = Timespec { sec: 1, nsec: 0 };
    let attr = |mode| NewInodeAttrs {
        mode,
        uid: 0,
        gid: 0,
        rdev: 0,
        now,
        generation: 0,
    };
    let mut ctx = Ctx::new(img, sb, &mut scratch);
    let mut dirs = Vec::new();
    let mut files = Vec::new();
    for ino in seen {
        match ctx.read_inode(*ino) {
            Ok(i) if i.kind() == S_IFDIR => dirs.push(i.ino),
            Ok(i) if i.kind() == S_IFREG => files.push(i.ino),
            _ => {}
        }
    }
    for d in dirs.iter().take(4) {
        if let Ok((_, mut f)) = ctx.create(*d, b"fuzz-file", &attr(S_IFREG | 0o644)) {
            let _ = ctx.alloc(&mut f, 0, 3, 3);
            let _ = ctx.alloc(&mut f, 600, 1, 601);
        }
        let _ = ctx.create(*d, b"fuzz-dir", &attr(S_IFDIR | 0o755));
        let _ = ctx.symlink(*d, b"fuzz-link", &[b'x'; 300], &attr(S_IFLNK | 0o777));
        let r = Rename {
            old_dir: *d,
            old_name: b"fuzz-file",
            new_dir: sb.root_ino,
            new_name: b"fuzz-moved",
            exchange: false,
            whiteout: None,
            now,
        };
        let _ = ctx.rename(&r, &mut Renamed::default());
        let _ = ctx.unlink(sb.root_ino, b"fuzz-moved", now);
    }
    let bound = sb.layout.block_count + 16;
    for ino in files.iter().take(8) {
        let Ok(mut i) = ctx.read_inode(*ino) else {
            continue;
        };
        let _ = ctx.alloc(&mut i, 1000, 2, 1002);
        let mut calls = 0u64;
        while let Ok(false) = ctx.punch(&mut i, 1, MAX_FILE_BLOCKS, 4) {
            calls += 1;
            if calls > bound {
                return Err(format!(
                    "punching inode {ino} does not finish after {calls} calls"
                ));
            }
        }
    }
    Ok(())
}

/// The checks of one inode's contents.
fn file(
    img: &mut Image,
    sb: &DiskSuperblock,
    scratch: &mut Scratch,
    i: &DiskInode,
    p: &mut Vec<String>,
) {
    let ino = i.ino;
    if i.size > MAX_FILE_SIZE {
        p.push(format!("inode {ino}: size {} beyond the maximum", i.size));
    }
    let InodeData::Extents(root) = i.data else {
        return;
    };
    let l = sb.layout;
    if let Err(e) = extent_tree_nodes(&*img, ino, &root, &mut scratch.a, &mut |_, _| {}) {
        p.push(format!("inode {ino}: extent tree: {e}"));
    }
    let mut exts = Vec::new();
    if let Err(e) = extent_iter(&*img, ino, &root, 0, &mut scratch.a, &mut |e| {
        exts.push(*e);
        true
    }) {
        p.push(format!("inode {ino}: extents: {e}"));
    }
    let mut end = 0u64;
    for e in &exts {
        if e.logical < end || !e.is_valid() {
            p.push(format!(
                "inode {ino}: extent {e:?} overlaps the one before or is invalid"
            ));
        }
        if !l.range_in_data_area(e.physical, e.len) {
            p.push(format!("inode {ino}: extent {e:?} outside the data area"));
        }
        end = e.end();
    }
    let mut ctx = Ctx::new(&mut *img, sb, scratch);
    let mut probes: Vec<u64> = exts.iter().flat_map(|e| [e.logical, e.end() - 1]).collect();
    probes.truncate(16);
    probes.push((i.size / BLOCK_SIZE as u64).min(MAX_FILE_BLOCKS - 1));
    for lblk in probes {
        match ctx.map(i, lblk) {
            Ok(ExtentLookup::Mapped(m)) => {
                if !exts.contains(&m) || lblk < m.logical || lblk >= m.end() {
                    p.push(format!(
                        "inode {ino}: block {lblk} maps to {m:?}, not an extent of the map"
                    ));
                }
            }
            Ok(ExtentLookup::Hole { end }) => {
                if let Some(e) = exts.iter().find(|e| e.logical <= lblk && lblk < e.end()) {
                    p.push(format!(
                        "inode {ino}: block {lblk} of {e:?} is a hole to {end} for lookup"
                    ));
                }
            }
            Err(e) => p.push(format!("inode {ino}: lookup of block {lblk}: {e}")),
        }
    }
    if i.kind() == S_IFLNK {
        let mut out = vec![0u8; BLOCK_SIZE];
        if let Err(e) = ctx.read_link(i, &mut out) {
            p.push(format!("symlink {ino}: {e}"));
        }
    }
}

/// Every view of `ferrite-dump` of an image; the views may fail (the image is hostile), but
/// never panic.
fn dump_all(img: &mut Image, inodes: &[u64]) {
    let mut sink = std::io::sink();
    let _ = dump_image(img, What::Superblock, &mut sink);
    let _ = dump_image(img, What::Journal, &mut sink);
    for ino in inodes.iter().take(32) {
        let _ = dump_image(img, What::Inode(*ino), &mut sink);
        let _ = dump_image(img, What::Extents(*ino), &mut sink);
        let _ = dump_image(img, What::Dir(*ino), &mut sink);
    }
}

fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(12)..].join("\n")
}

/// Runs every check on `bytes`.
pub fn check(bytes: &[u8]) -> Result<Outcome, String> {
    let mut out = Outcome::default();
    let superblock_ok =
        |m: &[u8]| DiskSuperblock::decode(m[..BLOCK_SIZE].try_into().unwrap_or(&[0; BLOCK_SIZE]));

    // fsck -n: nothing written.
    let mut a = Image::from_vec(bytes.to_vec());
    let (rn, tn) = fsck(&mut a, Mode::Check);
    out.fsck_n = rn.exit;
    if a.memory() != Some(bytes) {
        return Err(format!("fsck -n wrote to the image:\n{}", tail(&tn)));
    }

    // Recovery and the walks, on the image recovered as mount does it.
    let mut seen = Vec::new();
    let mounted = mount(&mut a);
    out.mounted = mounted.is_ok();
    match &mounted {
        Ok(sb) => {
            // fsck -n checks the journal as if replayed: it must judge the replayed image alike.
            let mut r = Image::from_vec(a.memory().unwrap_or(&[]).to_vec());
            let (rr, tr) = fsck(&mut r, Mode::Check);
            if (rr.exit == EXIT_OK) != (rn.exit == EXIT_OK) {
                return Err(format!(
                    "fsck -n: exit {} on the image, {} on it recovered:\n{}\n--- recovered:\n{}",
                    rn.exit,
                    rr.exit,
                    tail(&tn),
                    tail(&tr)
                ));
            }
            // mount() keeps the image limited to its filesystem.
            out.walk_problems = walk(&mut a, sb, &mut seen)?;
            if rn.exit == EXIT_OK && !out.walk_problems.is_empty() {
                return Err(format!(
                    "fsck -n found the image clean, the format code's walks did not: {}",
                    out.walk_problems.join("; ")
                ));
            }
            exercise(&mut a, sb, &seen)?;
        }
        Err(e) => {
            if rn.exit == EXIT_OK {
                return Err(format!(
                    "fsck -n found the image clean, mount refuses it: {e}"
                ));
            }
        }
    }

    let mut d = Image::from_vec(bytes.to_vec());
    dump_all(&mut d, &seen);

    // fsck -y, then fsck -n.
    let mut y = Image::from_vec(bytes.to_vec());
    let (ry, ty) = fsck(&mut y, Mode::Yes);
    out.fsck_y = ry.exit;
    let after = y.memory().unwrap_or(&[]).to_vec();
    if superblock_ok(bytes).is_ok() {
        if let Err(c) = superblock_ok(&after) {
            return Err(format!(
                "fsck -y replaced a valid primary superblock with an invalid one ({c}):\n{}",
                tail(&ty)
            ));
        }
    }
    if out.mounted {
        let mut m = Image::from_vec(after.clone());
        if let Err(e) = mount(&mut m) {
            return Err(format!(
                "fsck -y made a filesystem mount accepted unmountable ({e}):\n{}",
                tail(&ty)
            ));
        }
    }
    if ry.exit == EXIT_OK || ry.exit == EXIT_CORRECTED {
        let (r2, t2) = fsck(&mut y, Mode::Check);
        if r2.exit != EXIT_OK {
            return Err(format!(
                "fsck -y exit {}, then fsck -n exit {}:\n{}\n--- fsck -n after:\n{}",
                ry.exit,
                r2.exit,
                tail(&ty),
                tail(&t2)
            ));
        }
        // What fsck repaired and then finds clean, the kernel must be able to use.
        let mut m = Image::from_vec(after);
        let sb = mount(&mut m).map_err(|e| {
            format!(
                "fsck -y repaired, fsck -n is clean, mount refuses: {e}\n{}",
                tail(&ty)
            )
        })?;
        let p = walk(&mut m, &sb, &mut Vec::new())?;
        if !p.is_empty() {
            return Err(format!(
                "fsck -y repaired, fsck -n is clean, the walks are not: {}\n{}",
                p.join("; "),
                tail(&ty)
            ));
        }
    }
    Ok(out)
}
