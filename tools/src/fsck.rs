// SPDX-License-Identifier: GPL-2.0

//! fsck.ferrite: checks every structure of a ferrite filesystem and repairs what is safe.
//!
//! Order: superblocks (restoring the primary from the backup when needed), the journal (replayed
//! when repairing; with `-n` the check runs on an in-memory overlay as if it were replayed),
//! every allocated inode and its extent or directory tree, directory entries against the inodes
//! they name, link counts, reachability, the block and inode bitmaps against what is really used,
//! and the superblock's free counts. Repairs (with `-y`/`-p`): bitmaps, free counts, link counts,
//! block counts, directory entry counts and parent pointers, unlinked orphan inodes, the backup
//! or primary superblock, a corrupt journal header. Everything else is reported and left alone.

use crate::image::Image;
use ferrite_format::*;
use std::collections::{HashMap, HashSet, VecDeque};
use std::io::Write;
use std::path::Path;

/// fsck(8) exit code: no errors.
pub const EXIT_OK: i32 = 0;
/// Errors were corrected.
pub const EXIT_CORRECTED: i32 = 1;
/// Errors were left uncorrected.
pub const EXIT_UNCORRECTED: i32 = 4;
/// Operational error.
pub const EXIT_OPERATIONAL: i32 = 8;
/// Usage or syntax error.
pub const EXIT_USAGE: i32 = 16;

/// What to do about problems.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `-n`: open read-only, change nothing.
    Check,
    /// `-y`: repair what is safe.
    Yes,
    /// `-p`/`-a`: repair what is safe, without questions; skip a clean filesystem unless `-f`.
    Preen,
}

/// fsck options.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Check-only or repair.
    pub mode: Mode,
    /// Check even if the filesystem is marked clean (only matters for `-p`).
    pub force: bool,
}

/// One problem found.
#[derive(Clone, Debug)]
pub struct Problem {
    /// What is wrong, naming the inode, block or entry.
    pub msg: String,
    /// Whether it was repaired.
    pub fixed: bool,
}

/// The outcome of a check.
#[derive(Debug, Default)]
pub struct Report {
    /// Problems, in the order found.
    pub problems: Vec<Problem>,
    /// Informational notes.
    pub notes: Vec<String>,
    /// The fsck(8) exit code.
    pub exit: i32,
}

const META: u32 = u32::MAX;

struct Checker<'a> {
    img: &'a mut Image,
    layout: Layout,
    repair: bool,
    rep: Report,
    owner: Vec<u32>,
    buf: Box<Block>,
}

impl Checker<'_> {
    fn problem(&mut self, msg: String, fixable: bool) {
        self.rep.problems.push(Problem {
            msg,
            fixed: fixable && self.repair,
        });
    }

    fn claim(&mut self, blk: u64, len: u64, who: u32) -> u64 {
        let mut conflicts = 0;
        let mut first = None;
        for b in blk..blk.saturating_add(len) {
            let Some(o) = self.owner.get_mut(b as usize) else {
                continue;
            };
            if *o != 0 {
                conflicts += 1;
                if first.is_none() {
                    first = Some((b, *o));
                }
            } else {
                *o = who;
            }
        }
        if let Some((b, other)) = first {
            let by = if other == META {
                "filesystem metadata".to_string()
            } else {
                format!("inode {other}")
            };
            let me = if who == META {
                "metadata".to_string()
            } else {
                format!("inode {who}")
            };
            self.problem(
                format!("{me}: block {b} is also used by {by} ({conflicts} shared blocks in this range)"),
                false,
            );
        }
        conflicts
    }

    /// Gives back every block owned by one of `who`, in one pass over the blocks (a pass per
    /// inode would make fsck quadratic on an image whose inodes are all orphans).
    fn unclaim(&mut self, who: &HashSet<u32>) {
        if who.is_empty() {
            return;
        }
        for o in self.owner.iter_mut() {
            if who.contains(o) {
                *o = 0;
            }
        }
    }

    fn write_inode(&mut self, ino: &DiskInode) -> std::io::Result<()> {
        let (blk, off) = inode_location(&self.layout, ino.ino).map_err(std::io::Error::other)?;
        self.img.read(blk, &mut self.buf)?;
        ino.encode(&mut self.buf[off..off + INODE_SIZE]);
        let b = *self.buf;
        self.img.write(blk, &b)
    }
}

fn read_bitmap(
    img: &Image,
    bm: &Bitmap,
    buf: &mut Block,
    bad: &mut Vec<(u64, Corrupt)>,
) -> std::io::Result<Vec<bool>> {
    let mut v = vec![false; bm.nbits as usize];
    for index in 0..bm.blocks {
        let blk = bm.start + index;
        img.read(blk, buf)?;
        if let Err(c) = bitmap_block_check(buf, blk, bm.kind, index) {
            bad.push((index, c));
            continue;
        }
        let base = index * BITS_PER_BITMAP_BLOCK;
        for bit in 0..BITS_PER_BITMAP_BLOCK.min(bm.nbits.saturating_sub(base)) {
            v[(base + bit) as usize] = bitmap_get(buf, bit);
        }
    }
    Ok(v)
}

fn write_bitmap(
    img: &mut Image,
    bm: &Bitmap,
    used: &dyn Fn(u64) -> bool,
    buf: &mut Block,
) -> std::io::Result<()> {
    for index in 0..bm.blocks {
        bitmap_block_init(buf, bm.kind, index);
        let base = index * BITS_PER_BITMAP_BLOCK;
        for bit in 0..BITS_PER_BITMAP_BLOCK {
            let n = base + bit;
            if n >= bm.nbits || used(n) {
                bitmap_set(buf, bit, true);
            }
        }
        bitmap_seal(buf);
        let b = *buf;
        img.write(bm.start + index, &b)?;
    }
    Ok(())
}

fn static_fields_equal(a: &DiskSuperblock, b: &DiskSuperblock) -> bool {
    a.version == b.version
        && a.compat == b.compat
        && a.incompat == b.incompat
        && a.ro_compat == b.ro_compat
        && a.uuid == b.uuid
        && a.hash_seed == b.hash_seed
        && a.label == b.label
        && a.layout == b.layout
        && a.root_ino == b.root_ino
}

/// Checks (and with `-y`/`-p` repairs) the filesystem on `path`; writes its findings to `out`.
pub fn fsck(path: &Path, opts: &Options, out: &mut dyn Write) -> Report {
    let name = path.display().to_string();
    let r = Image::open(path, opts.mode != Mode::Check)
        .map_err(|e| format!("cannot open: {e}"))
        .and_then(|mut img| run(&mut img, &name, opts, out));
    finish(r, &name, out)
}

/// Checks (and with `-y`/`-p` repairs) the filesystem on an image that is already open, for
/// example one in memory ([`Image::from_vec`]), exactly as [`fsck`] checks a path; `name` names
/// it in the findings written to `out`. The image is taken as freshly opened: its block count is
/// reset to its size, its layout and overlay are dropped, before and after the check (in check
/// mode, nothing is written to it).
pub fn fsck_image(img: &mut Image, name: &str, opts: &Options, out: &mut dyn Write) -> Report {
    img.blocks = img.size / BLOCK_SIZE as u64;
    img.layout = None;
    img.overlay = None;
    let r = run(img, name, opts, out);
    img.blocks = img.size / BLOCK_SIZE as u64;
    img.layout = None;
    img.overlay = None;
    finish(r, name, out)
}

/// The report of a check, or of the operational error that stopped it.
fn finish(r: Result<Report, String>, name: &str, out: &mut dyn Write) -> Report {
    match r {
        Ok(r) => r,
        Err(msg) => {
            let _ = writeln!(out, "fsck.ferrite: {name}: {msg}");
            Report {
                exit: EXIT_OPERATIONAL,
                ..Report::default()
            }
        }
    }
}

/// The file type of `mode` in words, for messages.
pub fn type_name(mode: u32) -> &'static str {
    match mode & S_IFMT {
        S_IFREG => "regular file",
        S_IFDIR => "directory",
        S_IFLNK => "symlink",
        S_IFCHR => "character device",
        S_IFBLK => "block device",
        S_IFIFO => "fifo",
        S_IFSOCK => "socket",
        _ => "unknown",
    }
}

fn ft_name(ft: u8) -> &'static str {
    match ft {
        FT_REG => "regular file",
        FT_DIR => "directory",
        FT_LNK => "symlink",
        FT_CHR => "character device",
        FT_BLK => "block device",
        FT_FIFO => "fifo",
        FT_SOCK => "socket",
        _ => "unknown",
    }
}

struct Entry {
    dir: u64,
    name: String,
    raw: Vec<u8>,
    key: u64,
    ino: u64,
    ftype: u8,
}

#[allow(clippy::too_many_lines)]
fn run(img: &mut Image, p: &str, opts: &Options, out: &mut dyn Write) -> Result<Report, String> {
    let repair = opts.mode != Mode::Check;
    let dev_blocks = img.blocks;
    if dev_blocks < 2 {
        return Err("device too small to hold a ferrite filesystem".into());
    }
    let ioerr = |e: std::io::Error| format!("I/O error: {e}");
    let mut buf: Box<Block> = Box::new([0; BLOCK_SIZE]);
    let mut rep = Report::default();

    // Superblocks.
    img.read(0, &mut buf).map_err(ioerr)?;
    let mut primary = DiskSuperblock::decode(&buf);
    if primary == Err(Corrupt::BadSuperblockCrc) {
        // A crash during the superblock's in-place update leaves it torn; its journal holds the
        // whole update, and mount takes it from there (read_superblock). So does fsck.
        let mut scratch = Box::new(Scratch::new());
        if let Ok((sb, true)) = read_superblock(&*img, &mut buf, &mut scratch) {
            rep.notes.push(
                "the superblock's in-place copy is torn; its last update is in the journal".into(),
            );
            primary = Ok(sb);
        }
    }
    let mut write_sb = false;
    let mut write_backup = false;
    let mut sb = match primary {
        Ok(sb) => sb,
        Err(c) => {
            let bk = dev_blocks - 1;
            img.read(bk, &mut buf).map_err(ioerr)?;
            match DiskSuperblock::decode(&buf) {
                Ok(b) => {
                    rep.problems.push(Problem {
                        msg: format!("primary superblock (block 0): {c}; the backup superblock (block {bk}) is valid and will be used"),
                        fixed: repair,
                    });
                    write_sb = true;
                    b
                }
                Err(c2) => {
                    if c == Corrupt::BadMagic && c2 == Corrupt::BadMagic {
                        return Err("no ferrite filesystem found (bad magic in the primary and backup superblocks)".into());
                    }
                    return Err(format!(
                        "no valid superblock: primary (block 0): {c}; backup (block {bk}): {c2}"
                    ));
                }
            }
        }
    };
    let layout = sb.layout;
    if layout.block_count > dev_blocks {
        return Err(format!(
            "the filesystem has {} blocks but the device only {dev_blocks}",
            layout.block_count
        ));
    }
    if sb.mount_mode() == MountMode::ReadOnly {
        rep.notes.push(format!(
            "unknown read-only-compatible features {:#x}: checking what this version knows",
            sb.ro_compat & !RO_COMPAT_SUPPORTED
        ));
    }
    img.blocks = layout.block_count;
    img.layout = Some(layout);
    // Journal.
    let mut scratch = Box::new(Scratch::new());
    let mut journal_written = false;
    img.read(layout.journal_start, &mut buf).map_err(ioerr)?;
    match JournalHeader::decode(&buf, &layout) {
        Err(c) => {
            rep.problems.push(Problem {
                msg: format!(
                    "journal header (block {}): {c}; the journal cannot be replayed",
                    layout.journal_start
                ),
                fixed: repair,
            });
            if repair {
                let nonce = u64::from_le_bytes(crate::random_bytes::<8>().map_err(ioerr)?);
                buf.fill(0);
                JournalHeader::new(&layout, nonce).encode(&mut buf);
                img.write(layout.journal_start, &buf).map_err(ioerr)?;
                journal_written = true;
            }
        }
        Ok(h) => {
            img.overlay = Some(HashMap::new());
            let r = journal_replay(&mut *img, &layout, &h, &mut scratch)
                .map_err(|e| format!("journal replay: {e}"))?;
            if r.transactions > 0 {
                rep.notes.push(format!(
                    "journal: {} committed transaction(s) ({} records, sequence {}..={}) {}",
                    r.transactions,
                    r.records,
                    h.checkpoint_seq + 1,
                    r.last_seq,
                    if repair {
                        "replayed"
                    } else {
                        "to replay: checked as if replayed"
                    }
                ));
                if repair {
                    img.flush_overlay().map_err(ioerr)?;
                    // The next generation's slot; the rest of the block is as read.
                    img.read(layout.journal_start, &mut buf).map_err(ioerr)?;
                    h.next(r.end, r.end, r.last_seq).encode(&mut buf);
                    img.write(layout.journal_start, &buf).map_err(ioerr)?;
                    journal_written = true;
                }
                // The replay may have changed the superblock (with -n, in the overlay): the
                // rest is checked with the one it leaves. One that is invalid, or describes
                // another filesystem, is not taken: the superblock in force before the replay
                // is written back over it.
                img.read(0, &mut buf).map_err(ioerr)?;
                match DiskSuperblock::decode(&buf) {
                    Ok(s2) if s2.layout == layout => sb = s2,
                    Ok(_) => {
                        rep.problems.push(Problem {
                            msg: "journal: the replayed primary superblock (block 0) has another layout; the one before the replay will be written back".into(),
                            fixed: repair,
                        });
                        write_sb = true;
                    }
                    Err(c) => {
                        rep.problems.push(Problem {
                            msg: format!("journal: the replayed primary superblock (block 0) is invalid: {c}; the one before the replay will be written back"),
                            fixed: repair,
                        });
                        write_sb = true;
                    }
                }
            } else {
                img.overlay = None;
            }
            if r.discarded_partial {
                rep.notes.push(
                    "journal: an incomplete transaction at the end of the log was discarded".into(),
                );
            }
        }
    }

    // The backup superblock, against the primary as the journal leaves it.
    if !write_sb {
        img.read(layout.backup_sb, &mut buf).map_err(ioerr)?;
        match DiskSuperblock::decode(&buf) {
            Ok(b) if static_fields_equal(&b, &sb) => {}
            Ok(_) => {
                rep.problems.push(Problem {
                    msg: format!(
                        "backup superblock (block {}) differs from the primary",
                        layout.backup_sb
                    ),
                    fixed: repair,
                });
                write_backup = true;
            }
            Err(c) => {
                rep.problems.push(Problem {
                    msg: format!("backup superblock (block {}): {c}", layout.backup_sb),
                    fixed: repair,
                });
                write_backup = true;
            }
        }
    }
    if !opts.force
        && opts.mode == Mode::Preen
        && sb.state == STATE_CLEAN
        && !write_sb
        && !write_backup
    {
        let _ = writeln!(out, "{p}: clean");
        rep.exit = EXIT_OK;
        return Ok(rep);
    }
    if sb.state & STATE_CLEAN == 0 {
        rep.notes
            .push("the filesystem was not cleanly unmounted".into());
    }

    let mut ck = Checker {
        img,
        layout,
        repair,
        rep,
        owner: vec![0; layout.block_count as usize],
        buf,
    };
    ck.claim(0, layout.data_start, META);
    ck.claim(layout.backup_sb, 1, META);

    // Bitmaps as stored.
    let ibm = Bitmap::inodes(&layout);
    let bbm = Bitmap::blocks(&layout);
    let mut bad_ibm = Vec::new();
    let mut bad_bbm = Vec::new();
    let mut ino_used = read_bitmap(ck.img, &ibm, &mut ck.buf, &mut bad_ibm).map_err(ioerr)?;
    let blk_marked = read_bitmap(ck.img, &bbm, &mut ck.buf, &mut bad_bbm).map_err(ioerr)?;
    let mut rewrite_ibm = false;
    let mut rewrite_bbm = false;
    for (i, c) in &bad_ibm {
        ck.problem(format!("inode bitmap block {}: {c}", ibm.start + i), true);
        rewrite_ibm = true;
    }
    for (i, c) in &bad_bbm {
        ck.problem(format!("block bitmap block {}: {c}", bbm.start + i), true);
        rewrite_bbm = true;
    }
    let ipb = INODES_PER_BLOCK;
    // Which bitmap blocks are unreadable, by index: one lookup per inode or block, not a
    // search of the list (which would be quadratic with every bitmap block bad).
    let bad_index = |bad: &[(u64, Corrupt)], blocks: u64| {
        let mut v = vec![false; blocks as usize];
        for (i, _) in bad {
            v[*i as usize] = true;
        }
        v
    };
    let ibm_bad = bad_index(&bad_ibm, ibm.blocks);
    let bbm_bad = bad_index(&bad_bbm, bbm.blocks);
    let in_bad_ibm = |ino: u64| ibm_bad[(ino / BITS_PER_BITMAP_BLOCK) as usize];
    if !ino_used[0] && bad_ibm.is_empty() {
        ck.problem(
            "inode bitmap: inode 0 (reserved) is marked free".into(),
            true,
        );
        rewrite_ibm = true;
    }
    ino_used[0] = true;

    // Pass 1: inodes.
    let mut inodes: HashMap<u64, DiskInode> = HashMap::new();
    let mut bad_inodes: HashSet<u64> = HashSet::new();
    let mut entries: Vec<Entry> = Vec::new();
    let mut dirty: HashSet<u64> = HashSet::new();
    let mut tblock = u64::MAX;
    let mut tbuf: Box<Block> = Box::new([0; BLOCK_SIZE]);
    let mut nbuf: Box<Block> = Box::new([0; BLOCK_SIZE]);
    for ino in 1..layout.inode_count {
        let suspect = in_bad_ibm(ino);
        if !ino_used[ino as usize] && !suspect {
            continue;
        }
        let (blk, off) = inode_location(&layout, ino).map_err(|e| e.to_string())?;
        if blk != tblock {
            ck.img.read(blk, &mut tbuf).map_err(ioerr)?;
            tblock = blk;
        }
        let rec = &tbuf[off..off + INODE_SIZE];
        if suspect {
            // The bitmap block is unreadable: an inode is in use if its record is valid.
            let ok = DiskInode::decode(rec, ino).is_ok_and(|i| i.mode != 0);
            ino_used[ino as usize] = ok;
            if !ok {
                continue;
            }
        }
        let inode = match DiskInode::decode(rec, ino) {
            Ok(i) => i,
            Err(c) => {
                ck.problem(format!("inode {ino}: {c}"), false);
                bad_inodes.insert(ino);
                continue;
            }
        };
        let who = ino as u32;
        let mut counted = 0u64;
        match &inode.data {
            InodeData::Extents(root) => {
                let mut nodes = Vec::new();
                if let Err(e) =
                    extent_tree_nodes(&*ck.img, ino, root, &mut nbuf, &mut |b, _| nodes.push(b))
                {
                    ck.problem(format!("inode {ino}: extent tree: {e}"), false);
                    bad_inodes.insert(ino);
                }
                for b in &nodes {
                    if !layout.in_data_area(*b) {
                        ck.problem(
                            format!("inode {ino}: extent tree node {b} is outside the data area"),
                            false,
                        );
                        continue;
                    }
                    ck.claim(*b, 1, who);
                    counted += 1;
                }
                let mut exts = Vec::new();
                if let Err(e) = extent_iter(&*ck.img, ino, root, 0, &mut nbuf, &mut |x| {
                    exts.push(*x);
                    true
                }) {
                    ck.problem(format!("inode {ino}: extents: {e}"), false);
                    bad_inodes.insert(ino);
                }
                for x in &exts {
                    if !layout.range_in_data_area(x.physical, x.len) {
                        ck.problem(
                            format!(
                                "inode {ino}: extent of file blocks {}..{} maps blocks {}..{} outside the data area ({}..{})",
                                x.logical, x.end(), x.physical, x.physical.saturating_add(x.len), layout.data_start, layout.backup_sb
                            ),
                            false,
                        );
                        bad_inodes.insert(ino);
                        continue;
                    }
                    ck.claim(x.physical, x.len, who);
                    counted += x.len;
                }
            }
            InodeData::Dir(d) => {
                let mut nodes = Vec::new();
                if let Err(e) =
                    dir_tree_nodes(&*ck.img, ino, d, &mut nbuf, &mut |b, _| nodes.push(b))
                {
                    ck.problem(format!("directory {ino}: tree: {e}"), false);
                    bad_inodes.insert(ino);
                }
                for b in &nodes {
                    if !layout.in_data_area(*b) {
                        ck.problem(
                            format!("directory {ino}: tree node {b} is outside the data area"),
                            false,
                        );
                        continue;
                    }
                    ck.claim(*b, 1, who);
                    counted += 1;
                }
                let mut n = 0u64;
                let r = dir_iter(&*ck.img, ino, d, COOKIE_DOTDOT, &mut nbuf, &mut |e| {
                    n += 1;
                    entries.push(Entry {
                        dir: ino,
                        name: String::from_utf8_lossy(e.name()).into_owned(),
                        raw: e.name().to_vec(),
                        key: e.key,
                        ino: e.ino,
                        ftype: e.ftype,
                    });
                    true
                });
                if let Err(e) = r {
                    ck.problem(format!("directory {ino}: entries: {e}"), false);
                    bad_inodes.insert(ino);
                } else if n != d.entries {
                    ck.problem(
                        format!(
                            "directory {ino}: entry count is {}, should be {n}",
                            d.entries
                        ),
                        true,
                    );
                    let mut fixed = inode;
                    if let InodeData::Dir(dd) = &mut fixed.data {
                        dd.entries = n;
                    }
                    inodes.insert(ino, fixed);
                    dirty.insert(ino);
                }
            }
            InodeData::Inline(_) | InodeData::Special => {}
        }
        let inode = *inodes.get(&ino).unwrap_or(&inode);
        if !bad_inodes.contains(&ino) && inode.blocks != counted {
            ck.problem(
                format!(
                    "inode {ino}: block count is {}, should be {counted}",
                    inode.blocks
                ),
                true,
            );
            let mut fixed = inode;
            fixed.blocks = counted;
            inodes.insert(ino, fixed);
            dirty.insert(ino);
        } else {
            inodes.insert(ino, inode);
        }
    }

    // Pass 2: directory entries.
    let mut refs: HashMap<u64, u32> = HashMap::new();
    let mut subdirs: HashMap<u64, u32> = HashMap::new();
    let mut dir_parents: HashMap<u64, Vec<u64>> = HashMap::new();
    for e in &entries {
        // A key that is not of its name's hash: lookup does not find the name where readdir
        // shows it.
        if e.key >> 8 != dir_hash(&sb.hash_seed, &e.raw) {
            ck.problem(
                format!(
                    "directory {}: entry '{}' has key {:#x}, not one of its name's hash",
                    e.dir, e.name, e.key
                ),
                false,
            );
        }
        if e.ino == 0 || e.ino >= layout.inode_count || !ino_used[e.ino as usize] {
            ck.problem(
                format!(
                    "directory {}: entry '{}' points to unallocated inode {}",
                    e.dir, e.name, e.ino
                ),
                false,
            );
            continue;
        }
        if bad_inodes.contains(&e.ino) {
            ck.problem(
                format!(
                    "directory {}: entry '{}' points to corrupt inode {}",
                    e.dir, e.name, e.ino
                ),
                false,
            );
            continue;
        }
        let Some(child) = inodes.get(&e.ino) else {
            continue;
        };
        if file_type(child.mode) != Some(e.ftype) {
            ck.problem(
                format!(
                    "directory {}: entry '{}' has type {} but inode {} is a {}",
                    e.dir,
                    e.name,
                    ft_name(e.ftype),
                    e.ino,
                    type_name(child.mode)
                ),
                false,
            );
        }
        if e.ino == ROOT_INO {
            ck.problem(
                format!(
                    "directory {}: entry '{}' links to the root directory",
                    e.dir, e.name
                ),
                false,
            );
            continue;
        }
        *refs.entry(e.ino).or_default() += 1;
        if child.kind() == S_IFDIR {
            *subdirs.entry(e.dir).or_default() += 1;
            dir_parents.entry(e.ino).or_default().push(e.dir);
        }
    }
    for (d, ps) in &dir_parents {
        if ps.len() > 1 {
            ck.problem(
                format!(
                    "directory {d} has {} entries naming it (in directories {ps:?})",
                    ps.len()
                ),
                false,
            );
            continue;
        }
        let Some(inode) = inodes.get(d).copied() else {
            continue;
        };
        if let InodeData::Dir(dd) = inode.data {
            if dd.parent != ps[0] {
                ck.problem(
                    format!(
                        "directory {d}: parent is recorded as {}, but it is in directory {}",
                        dd.parent, ps[0]
                    ),
                    true,
                );
                let mut fixed = inode;
                if let InodeData::Dir(x) = &mut fixed.data {
                    x.parent = ps[0];
                }
                inodes.insert(*d, fixed);
                dirty.insert(*d);
            }
        }
    }
    // Reachability from the root.
    let mut children: HashMap<u64, Vec<u64>> = HashMap::new();
    for e in &entries {
        children.entry(e.dir).or_default().push(e.ino);
    }
    let mut reached: HashSet<u64> = HashSet::new();
    let mut q = VecDeque::from([ROOT_INO]);
    while let Some(d) = q.pop_front() {
        if !reached.insert(d) {
            continue;
        }
        if let Some(cs) = children.get(&d) {
            for c in cs {
                if inodes.get(c).is_some_and(|i| i.kind() == S_IFDIR) {
                    q.push_back(*c);
                } else {
                    reached.insert(*c);
                }
            }
        }
    }
    match inodes.get(&ROOT_INO) {
        Some(r) if r.kind() == S_IFDIR => {}
        Some(_) => ck.problem("inode 1 (the root) is not a directory".into(), false),
        None => {
            if !bad_inodes.contains(&ROOT_INO) {
                ck.problem(
                    "the root directory (inode 1) is not allocated".into(),
                    false,
                )
            }
        }
    }

    // Link counts and orphans.
    let mut all: Vec<u64> = inodes.keys().copied().collect();
    all.sort_unstable();
    let mut freed_orphans = Vec::new();
    for ino in all {
        let inode = inodes[&ino];
        let r = refs.get(&ino).copied().unwrap_or(0);
        let is_dir = inode.kind() == S_IFDIR;
        if ino != ROOT_INO && r == 0 {
            // A directory removed while in use, or a crash between rmdir and the freeing of
            // the emptied directory, leaves one with no link either.
            if inode.nlink == 0 {
                // After an unclean unmount an orphan is a state the filesystem allows (a crash
                // between the unlink of a file's last link and the freeing of its inode, or while
                // it was open): the next read-write mount frees it. A clean filesystem has none.
                if sb.state & STATE_CLEAN == 0 {
                    ck.rep.notes.push(format!(
                        "inode {ino}: unlinked {}, an orphan of the unclean unmount: {}",
                        type_name(inode.mode),
                        if ck.repair {
                            "freed"
                        } else {
                            "the next read-write mount frees it"
                        }
                    ));
                } else {
                    ck.problem(
                        format!(
                            "inode {ino}: unlinked {} was not freed (orphan)",
                            type_name(inode.mode)
                        ),
                        true,
                    );
                }
                freed_orphans.push(ino);
            } else {
                ck.problem(
                    format!(
                        "inode {ino}: {} with link count {} is in no directory",
                        type_name(inode.mode),
                        inode.nlink
                    ),
                    false,
                );
            }
            continue;
        }
        if ino != ROOT_INO && r > 0 && !reached.contains(&ino) && is_dir {
            ck.problem(
                format!("directory {ino} is not reachable from the root"),
                false,
            );
        }
        let expect = if is_dir {
            2 + subdirs.get(&ino).copied().unwrap_or(0)
        } else {
            r
        };
        if inode.nlink != expect {
            ck.problem(
                format!(
                    "inode {ino}: link count is {}, should be {expect}",
                    inode.nlink
                ),
                true,
            );
            let mut fixed = inode;
            fixed.nlink = expect;
            inodes.insert(ino, fixed);
            dirty.insert(ino);
        }
    }
    if ck.repair {
        ck.unclaim(&freed_orphans.iter().map(|i| *i as u32).collect());
        for ino in &freed_orphans {
            ino_used[*ino as usize] = false;
            inodes.remove(ino);
            dirty.remove(ino);
        }
    }

    // Bitmaps against use.
    let mut marked_free_used = 0u64;
    let mut first_mfu = None;
    let mut marked_used_free = 0u64;
    let mut first_muf = None;
    for b in 0..layout.block_count {
        if bbm_bad[(b / BITS_PER_BITMAP_BLOCK) as usize] {
            continue;
        }
        let used = ck.owner[b as usize] != 0;
        let marked = blk_marked[b as usize];
        if used && !marked {
            marked_free_used += 1;
            first_mfu.get_or_insert((b, ck.owner[b as usize]));
        } else if !used && marked {
            marked_used_free += 1;
            first_muf.get_or_insert(b);
        }
    }
    if let Some((b, o)) = first_mfu {
        let by = if o == META {
            "filesystem metadata".into()
        } else {
            format!("inode {o}")
        };
        ck.problem(format!("block bitmap: {marked_free_used} block(s) in use are marked free (first: block {b}, used by {by})"), true);
        rewrite_bbm = true;
    }
    if let Some(b) = first_muf {
        ck.problem(format!("block bitmap: {marked_used_free} block(s) marked in use belong to nothing (first: block {b})"), true);
        rewrite_bbm = true;
    }
    if ck.repair && !freed_orphans.is_empty() {
        rewrite_bbm = true;
        rewrite_ibm = true;
    }
    let free_blocks = ck.owner.iter().filter(|&&o| o == 0).count() as u64;
    let free_inodes = ino_used.iter().filter(|&&u| !u).count() as u64;
    let mut sb_dirty = write_sb;
    if sb.state & STATE_CLEAN != 0 {
        if sb.free_blocks != free_blocks {
            ck.problem(
                format!(
                    "superblock: free block count is {}, should be {free_blocks}",
                    sb.free_blocks
                ),
                true,
            );
            sb_dirty = true;
        }
        if sb.free_inodes != free_inodes {
            ck.problem(
                format!(
                    "superblock: free inode count is {}, should be {free_inodes}",
                    sb.free_inodes
                ),
                true,
            );
            sb_dirty = true;
        }
    } else if sb.free_blocks != free_blocks || sb.free_inodes != free_inodes {
        sb_dirty = true;
    }
    if sb.state & STATE_ERROR != 0 {
        ck.problem(
            "superblock: the error flag is set (errors were found while mounted)".into(),
            true,
        );
        sb_dirty = true;
    }

    // Repairs.
    let unfixed = ck.rep.problems.iter().any(|p| !p.fixed);
    if ck.repair {
        let w = |e: std::io::Error| format!("write failed: {e}");
        for ino in &dirty {
            let i = inodes[ino];
            ck.write_inode(&i).map_err(w)?;
        }
        if rewrite_bbm {
            let owner = std::mem::take(&mut ck.owner);
            write_bitmap(ck.img, &bbm, &|b| owner[b as usize] != 0, &mut ck.buf).map_err(w)?;
            ck.owner = owner;
        }
        if rewrite_ibm {
            write_bitmap(ck.img, &ibm, &|i| ino_used[i as usize], &mut ck.buf).map_err(w)?;
        }
        if sb_dirty || write_backup {
            sb.free_blocks = free_blocks;
            sb.free_inodes = free_inodes;
            if !unfixed {
                sb.state = STATE_CLEAN | (sb.state & !(STATE_CLEAN | STATE_ERROR));
            }
            sb.encode(&mut ck.buf);
            let b = *ck.buf;
            ck.img.write(layout.backup_sb, &b).map_err(w)?;
            ck.img.write(0, &b).map_err(w)?;
        }
        ck.img.sync().map_err(w)?;
    }
    let _ = ipb;
    let mut rep = std::mem::take(&mut ck.rep);
    for n in &rep.notes {
        let _ = writeln!(out, "{p}: {n}");
    }
    for pr in &rep.problems {
        let _ = writeln!(
            out,
            "{p}: {}{}",
            pr.msg,
            if pr.fixed { " [fixed]" } else { "" }
        );
    }
    let any_unfixed = rep.problems.iter().any(|p| !p.fixed);
    let any_fixed = rep.problems.iter().any(|p| p.fixed) || journal_written;
    rep.exit = if any_unfixed {
        EXIT_UNCORRECTED
    } else if any_fixed {
        EXIT_CORRECTED
    } else {
        EXIT_OK
    };
    let used_inodes = layout.inode_count - free_inodes;
    let _ = writeln!(
        out,
        "{p}: {} inodes used of {}, {} blocks used of {}{}",
        used_inodes,
        layout.inode_count,
        layout.block_count - free_blocks,
        layout.block_count,
        match rep.exit {
            EXIT_OK => ": clean",
            EXIT_CORRECTED => ": errors corrected",
            _ => ": ERRORS LEFT UNCORRECTED",
        }
    );
    Ok(rep)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrite_format::ops::{mkfs, MkfsParams};

    /// A fresh filesystem of 1024 blocks in memory.
    fn memory_fs() -> Image {
        let mut img = Image::from_vec(vec![0u8; 1024 * BLOCK_SIZE]);
        let layout = Layout::compute(1024, None, None).expect("layout");
        let p = MkfsParams {
            layout,
            uuid: [1; 16],
            hash_seed: [2; 16],
            label: [0; LABEL_MAX],
            journal_nonce: 3,
            now: Timespec { sec: 1, nsec: 0 },
            inode_table_zeroed: true,
        };
        let mut buf = [0u8; BLOCK_SIZE];
        mkfs(&mut img, &p, &mut buf, &mut |_| Ok(())).expect("mkfs");
        img
    }

    #[test]
    fn fsck_image_checks_memory_images() {
        let opts = Options {
            mode: Mode::Check,
            force: true,
        };
        let mut img = memory_fs();
        let mut out = Vec::new();
        let rep = fsck_image(&mut img, "mem", &opts, &mut out);
        let text = String::from_utf8_lossy(&out);
        assert_eq!(rep.exit, EXIT_OK, "{text}");
        assert!(text.contains("mem: "), "{text}");
        // A bad crc in the block bitmap is found, and check mode changes nothing.
        let l = Layout::compute(1024, None, None).expect("layout");
        let at = (l.block_bitmap_start as usize) * BLOCK_SIZE + 100;
        img.memory_mut().expect("memory")[at] ^= 1;
        let before = img.memory().expect("memory").to_vec();
        let mut out = Vec::new();
        let rep = fsck_image(&mut img, "mem", &opts, &mut out);
        assert_eq!(rep.exit, EXIT_UNCORRECTED);
        assert!(img.memory() == Some(&before[..]));
        assert!(img.overlay.is_none());
        // Repair mode writes the repairs into the memory image.
        let fix = Options {
            mode: Mode::Yes,
            force: true,
        };
        let rep = fsck_image(&mut img, "mem", &fix, &mut Vec::new());
        assert_eq!(rep.exit, EXIT_CORRECTED);
        let rep = fsck_image(&mut img, "mem", &opts, &mut Vec::new());
        assert_eq!(rep.exit, EXIT_OK);
        assert_eq!(img.into_vec().map(|v| v.len()), Some(1024 * BLOCK_SIZE));
    }
}
