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
pub struct FsckOptions {
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

/// The owner of the blocks the filesystem itself uses, in the block owner map.
const META: u32 = u32::MAX;

/// Who uses a block, in messages: the filesystem's metadata or an inode.
/// The full name of an attribute for messages, with bytes that are not printable escaped.
pub fn xattr_display_name(index: u8, name: &[u8]) -> String {
    format!(
        "{}{}",
        xattr_prefix(index).unwrap_or("?."),
        name.escape_ascii()
    )
}

fn user_name(who: u32) -> String {
    if who == META {
        "filesystem metadata".to_string()
    } else {
        format!("inode {who}")
    }
}

/// What a check has found so far, and whether it repairs what it can.
struct Findings {
    rep: Report,
    repair: bool,
}

impl Findings {
    /// Records a problem: one that is `fixable` counts as fixed when the check repairs.
    fn problem(&mut self, msg: String, fixable: bool) {
        self.rep.problems.push(Problem {
            msg,
            fixed: fixable && self.repair,
        });
    }

    fn note(&mut self, msg: String) {
        self.rep.notes.push(msg);
    }
}

/// One of the two bitmaps: where it is, its bits as stored, which of its blocks are unreadable,
/// and whether the repairs rewrite it.
struct BitmapState {
    map: Bitmap,
    /// The bits as read. For the inode bitmap they become the inodes in use as the check goes:
    /// decided from the records where a bitmap block is unreadable, without the orphans freed.
    bits: Vec<bool>,
    /// Which bitmap blocks are unreadable, by index: one lookup per inode or block, not a search
    /// of a list (which would be quadratic with every bitmap block bad).
    bad: Vec<bool>,
    any_bad: bool,
    rewrite: bool,
}

impl BitmapState {
    /// A bitmap not read yet.
    fn unread(map: Bitmap) -> BitmapState {
        BitmapState {
            map,
            bits: Vec::new(),
            bad: Vec::new(),
            any_bad: false,
            rewrite: false,
        }
    }

    /// Whether bit `n` is in an unreadable bitmap block.
    fn in_bad_block(&self, n: u64) -> bool {
        self.bad[(n / BITS_PER_BITMAP_BLOCK) as usize]
    }
}

/// The state the passes of one check share, built up pass by pass in the order [`run`] calls
/// them.
struct Checker<'a> {
    img: &'a mut Image,
    /// The superblock in force: the primary, or the backup where the primary is invalid, as the
    /// journal replay leaves it.
    sb: DiskSuperblock,
    /// `sb`'s layout (a replayed superblock with another one is not taken).
    layout: Layout,
    found: Findings,
    buf: Box<Block>,
    /// For the walks of extent and directory trees.
    tree_buf: Box<Block>,
    /// The primary superblock is rewritten: from the backup, or over an invalid replayed one.
    write_sb: bool,
    /// The backup superblock is rewritten: it is invalid or differs from the primary.
    write_backup: bool,
    /// The journal header was rewritten (a repair, even with no problem left to report).
    journal_written: bool,
    /// The user of each block: 0 (none), [`META`] or an inode number.
    owner: Vec<u32>,
    ibm: BitmapState,
    bbm: BitmapState,
    /// The valid inodes in use, with the repairs made to them.
    inodes: HashMap<u64, DiskInode>,
    /// The inodes in use whose record or trees are corrupt.
    bad_inodes: HashSet<u64>,
    /// The inodes the repairs write back.
    dirty: HashSet<u64>,
    /// Dirty inodes whose records get these inline attributes (the others keep theirs).
    ix_rewrite: HashMap<u64, InlineXattrs>,
    /// The entries of every directory that could be read.
    entries: Vec<Entry>,
    /// How many valid entries name each inode.
    refs: HashMap<u64, u32>,
    /// How many valid entries of each directory name directories.
    subdirs: HashMap<u64, u32>,
    /// The directories reachable from the root, and the other inodes their entries name.
    reached: HashSet<u64>,
    /// Orphan inodes (no entry, no link), freed by the repairs.
    freed_orphans: Vec<u64>,
    /// The free blocks and inodes as counted.
    free_blocks: u64,
    free_inodes: u64,
    /// The superblock is rewritten (both copies) by the repairs.
    sb_dirty: bool,
}

impl Checker<'_> {
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
            let by = user_name(other);
            let me = if who == META {
                "metadata".to_string()
            } else {
                format!("inode {who}")
            };
            self.found.problem(
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

    /// Writes `ino`'s record; with `ix`, those are the inline attributes it keeps.
    fn write_inode(&mut self, ino: &DiskInode, ix: Option<&InlineXattrs>) -> std::io::Result<()> {
        let (blk, off) = inode_location(&self.layout, ino.ino).map_err(std::io::Error::other)?;
        self.img.read(blk, &mut self.buf)?;
        let rec = &mut self.buf[off..off + INODE_SIZE];
        match ix {
            Some(x) => ino.encode_with_xattrs(x, rec),
            None => ino.encode(rec),
        }
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

/// Whether two superblocks agree in every field the backup must share with the primary (all but
/// the free counts, the state, the mount count and the write time).
pub fn static_fields_equal(a: &DiskSuperblock, b: &DiskSuperblock) -> bool {
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
pub fn fsck(path: &Path, opts: &FsckOptions, out: &mut dyn Write) -> Report {
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
pub fn fsck_image(img: &mut Image, name: &str, opts: &FsckOptions, out: &mut dyn Write) -> Report {
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

/// One entry of a directory, as read.
struct Entry {
    dir: u64,
    name: String,
    raw: Vec<u8>,
    key: u64,
    ino: u64,
    ftype: u8,
}

impl Entry {
    /// A problem with this entry, in words: `what` after the directory and the name.
    fn message(&self, what: &str) -> String {
        format!("directory {}: entry '{}' {what}", self.dir, self.name)
    }
}

fn io_error(e: std::io::Error) -> String {
    format!("I/O error: {e}")
}

/// The check: one pass per structure, each a method of [`Checker`] building on what the ones
/// before it found, then the repairs and the report. `p` names the filesystem in what is
/// written to `out`.
fn run(
    img: &mut Image,
    p: &str,
    opts: &FsckOptions,
    out: &mut dyn Write,
) -> Result<Report, String> {
    let mut ck = Checker::superblock(img, opts.mode != Mode::Check)?;
    ck.journal()?;
    ck.backup_superblock()?;
    if !opts.force
        && opts.mode == Mode::Preen
        && ck.sb.state == STATE_CLEAN
        && !ck.write_sb
        && !ck.write_backup
    {
        let _ = writeln!(out, "{p}: clean");
        let mut rep = ck.found.rep;
        rep.exit = EXIT_OK;
        return Ok(rep);
    }
    if ck.sb.state & STATE_CLEAN == 0 {
        ck.found
            .note("the filesystem was not cleanly unmounted".into());
    }
    ck.claim_metadata();
    ck.stored_bitmaps()?;
    ck.inode_table()?;
    ck.directory_entries();
    ck.reachability();
    ck.link_counts();
    ck.bitmaps_against_use();
    ck.free_counts();
    ck.repairs()?;
    Ok(ck.report(p, out))
}

/// The superblock in force before the journal: the primary; where it is torn, the copy its
/// journal holds; where it is invalid, the backup, which is then written over it (the second
/// value).
fn primary_superblock(
    img: &Image,
    buf: &mut Block,
    found: &mut Findings,
) -> Result<(DiskSuperblock, bool), String> {
    img.read(0, buf).map_err(io_error)?;
    let mut primary = DiskSuperblock::decode(buf);
    if primary == Err(Corrupt::BadSuperblockCrc) {
        // A crash during the superblock's in-place update leaves it torn; its journal holds the
        // whole update, and mount takes it from there (read_superblock). So does fsck.
        let mut scratch = Box::new(Scratch::new());
        if let Ok((sb, true)) = read_superblock(img, buf, &mut scratch) {
            found.note(
                "the superblock's in-place copy is torn; its last update is in the journal".into(),
            );
            primary = Ok(sb);
        }
    }
    let c = match primary {
        Ok(sb) => return Ok((sb, false)),
        Err(c) => c,
    };
    let mut bk = img.blocks - 1;
    img.read(bk, buf).map_err(io_error)?;
    let mut backup = DiskSuperblock::decode(buf);
    if backup.is_err() {
        // Not at the end of the device: a filesystem made smaller than it, found by the size
        // its journal header gives.
        if let Some(b) = crate::mkfs::find_backup_superblock(img).map_err(io_error)? {
            img.read(b, buf).map_err(io_error)?;
            if let Ok(sb) = DiskSuperblock::decode(buf) {
                (bk, backup) = (b, Ok(sb));
            }
        }
    }
    match backup {
        Ok(b) => {
            found.problem(
                format!("primary superblock (block 0): {c}; the backup superblock (block {bk}) is valid and will be used"),
                true,
            );
            Ok((b, true))
        }
        Err(c2) => {
            if c == Corrupt::BadMagic && c2 == Corrupt::BadMagic {
                return Err(
                    "no ferrite filesystem found (bad magic in the primary and backup superblocks)"
                        .into(),
                );
            }
            Err(format!(
                "no valid superblock: primary (block 0): {c}; backup (block {bk}): {c2}"
            ))
        }
    }
}

impl<'a> Checker<'a> {
    /// Superblocks, first pass: the one in force ([`primary_superblock`]), checked against the
    /// device. The image is then limited to the filesystem's blocks, with its layout.
    fn superblock(img: &'a mut Image, repair: bool) -> Result<Checker<'a>, String> {
        let dev_blocks = img.blocks;
        if dev_blocks < 2 {
            return Err("device too small to hold a ferrite filesystem".into());
        }
        let mut buf: Box<Block> = Box::new([0; BLOCK_SIZE]);
        let mut found = Findings {
            rep: Report::default(),
            repair,
        };
        let (sb, write_sb) = primary_superblock(img, &mut buf, &mut found)?;
        let layout = sb.layout;
        if layout.block_count > dev_blocks {
            return Err(format!(
                "the filesystem has {} blocks but the device only {dev_blocks}",
                layout.block_count
            ));
        }
        if sb.mount_mode() == MountMode::ReadOnly {
            found.note(format!(
                "unknown read-only-compatible features {:#x}: checking what this version knows",
                sb.ro_compat & !RO_COMPAT_SUPPORTED
            ));
        }
        img.blocks = layout.block_count;
        img.layout = Some(layout);
        Ok(Checker {
            img,
            sb,
            layout,
            found,
            buf,
            tree_buf: Box::new([0; BLOCK_SIZE]),
            write_sb,
            write_backup: false,
            journal_written: false,
            owner: Vec::new(),
            ibm: BitmapState::unread(Bitmap::inodes(&layout)),
            bbm: BitmapState::unread(Bitmap::blocks(&layout)),
            inodes: HashMap::new(),
            bad_inodes: HashSet::new(),
            dirty: HashSet::new(),
            ix_rewrite: HashMap::new(),
            entries: Vec::new(),
            refs: HashMap::new(),
            subdirs: HashMap::new(),
            reached: HashSet::new(),
            freed_orphans: Vec::new(),
            free_blocks: 0,
            free_inodes: 0,
            sb_dirty: false,
        })
    }
}

impl Checker<'_> {
    /// The journal: replayed when repairing; with `-n`, into an overlay of the image that the
    /// rest of the check reads, as if it were replayed. A header that cannot be decoded is
    /// replaced by an empty journal's.
    fn journal(&mut self) -> Result<(), String> {
        let layout = self.layout;
        self.img
            .read(layout.journal_start, &mut self.buf)
            .map_err(io_error)?;
        match JournalHeader::decode(&self.buf, &layout) {
            Err(c) => {
                self.found.problem(
                    format!(
                        "journal header (block {}): {c}; the journal cannot be replayed",
                        layout.journal_start
                    ),
                    true,
                );
                if self.found.repair {
                    let nonce = u64::from_le_bytes(crate::random_bytes::<8>().map_err(io_error)?);
                    self.buf.fill(0);
                    JournalHeader::new(&layout, nonce).encode(&mut self.buf);
                    self.img
                        .write(layout.journal_start, &self.buf)
                        .map_err(io_error)?;
                    self.journal_written = true;
                }
                Ok(())
            }
            Ok(h) => self.replay(&h),
        }
    }

    fn replay(&mut self, h: &JournalHeader) -> Result<(), String> {
        let layout = self.layout;
        let mut scratch = Box::new(Scratch::new());
        self.img.overlay = Some(HashMap::new());
        let r = journal_replay(&mut *self.img, &layout, h, &mut scratch)
            .map_err(|e| format!("journal replay: {e}"))?;
        if r.transactions > 0 {
            self.found.note(format!(
                "journal: {} committed transaction(s) ({} records, sequence {}..={}) {}",
                r.transactions,
                r.records,
                h.checkpoint_seq + 1,
                r.last_seq,
                if self.found.repair {
                    "replayed"
                } else {
                    "to replay: checked as if replayed"
                }
            ));
            if self.found.repair {
                self.img.flush_overlay().map_err(io_error)?;
                // The next generation's slot; the rest of the block is as read.
                self.img
                    .read(layout.journal_start, &mut self.buf)
                    .map_err(io_error)?;
                h.next(r.end, r.end, r.last_seq).encode(&mut self.buf);
                self.img
                    .write(layout.journal_start, &self.buf)
                    .map_err(io_error)?;
                self.journal_written = true;
            }
            self.replayed_superblock()?;
        } else {
            self.img.overlay = None;
        }
        if r.discarded_partial {
            self.found.note(
                "journal: an incomplete transaction at the end of the log was discarded".into(),
            );
        }
        Ok(())
    }

    /// The replay may have changed the superblock (with -n, in the overlay): the rest is checked
    /// with the one it leaves. One that is invalid, or describes another filesystem, is not
    /// taken: the superblock in force before the replay is written back over it.
    fn replayed_superblock(&mut self) -> Result<(), String> {
        self.img.read(0, &mut self.buf).map_err(io_error)?;
        match DiskSuperblock::decode(&self.buf) {
            Ok(s2) if s2.layout == self.layout => self.sb = s2,
            Ok(_) => {
                self.found.problem(
                    "journal: the replayed primary superblock (block 0) has another layout; the one before the replay will be written back".into(),
                    true,
                );
                self.write_sb = true;
            }
            Err(c) => {
                self.found.problem(
                    format!("journal: the replayed primary superblock (block 0) is invalid: {c}; the one before the replay will be written back"),
                    true,
                );
                self.write_sb = true;
            }
        }
        Ok(())
    }

    /// Superblocks, second pass: the backup, against the primary as the journal leaves it
    /// (unless the primary is rewritten anyway, which rewrites the backup too).
    fn backup_superblock(&mut self) -> Result<(), String> {
        if self.write_sb {
            return Ok(());
        }
        let bk = self.layout.backup_sb;
        self.img.read(bk, &mut self.buf).map_err(io_error)?;
        match DiskSuperblock::decode(&self.buf) {
            Ok(b) if static_fields_equal(&b, &self.sb) => {}
            Ok(_) => {
                self.found.problem(
                    format!("backup superblock (block {bk}) differs from the primary"),
                    true,
                );
                self.write_backup = true;
            }
            Err(c) => {
                self.found
                    .problem(format!("backup superblock (block {bk}): {c}"), true);
                self.write_backup = true;
            }
        }
        Ok(())
    }

    /// The blocks before the data area and the backup superblock are the filesystem's own.
    fn claim_metadata(&mut self) {
        self.owner = vec![0; self.layout.block_count as usize];
        self.claim(0, self.layout.data_start, META);
        self.claim(self.layout.backup_sb, 1, META);
    }

    /// Bitmaps as stored: every bitmap block's header and checksum; inode 0 (reserved) in use.
    fn stored_bitmaps(&mut self) -> Result<(), String> {
        self.ibm = self.read_stored(self.ibm.map, "inode bitmap")?;
        self.bbm = self.read_stored(self.bbm.map, "block bitmap")?;
        if !self.ibm.bits[0] && !self.ibm.any_bad {
            self.found.problem(
                "inode bitmap: inode 0 (reserved) is marked free".into(),
                true,
            );
            self.ibm.rewrite = true;
        }
        self.ibm.bits[0] = true;
        Ok(())
    }

    /// Reads bitmap `map`; each unreadable block of it is a problem, repaired by rewriting the
    /// bitmap. `what` names the bitmap in messages.
    fn read_stored(&mut self, map: Bitmap, what: &str) -> Result<BitmapState, String> {
        let mut bad = Vec::new();
        let bits = read_bitmap(self.img, &map, &mut self.buf, &mut bad).map_err(io_error)?;
        let mut state = BitmapState::unread(map);
        state.bits = bits;
        state.bad = vec![false; map.blocks as usize];
        for (i, c) in &bad {
            self.found
                .problem(format!("{what} block {}: {c}", map.start + i), true);
            state.bad[*i as usize] = true;
            state.any_bad = true;
            state.rewrite = true;
        }
        Ok(state)
    }

    /// The inode table: every inode in use (where its bitmap block is unreadable, every inode
    /// with a valid record), decoded and checked with its trees.
    fn inode_table(&mut self) -> Result<(), String> {
        let mut tblock = u64::MAX;
        let mut tbuf: Box<Block> = Box::new([0; BLOCK_SIZE]);
        for ino in 1..self.layout.inode_count {
            let suspect = self.ibm.in_bad_block(ino);
            if !self.ibm.bits[ino as usize] && !suspect {
                continue;
            }
            let (blk, off) = inode_location(&self.layout, ino).map_err(|e| e.to_string())?;
            if blk != tblock {
                self.img.read(blk, &mut tbuf).map_err(io_error)?;
                tblock = blk;
            }
            let rec = &tbuf[off..off + INODE_SIZE];
            if suspect {
                // The bitmap block is unreadable: an inode is in use if its record is valid.
                let ok = DiskInode::decode_salvage(rec, ino).is_ok_and(|(i, _)| i.mode != 0);
                self.ibm.bits[ino as usize] = ok;
                if !ok {
                    continue;
                }
            }
            match DiskInode::decode_salvage(rec, ino) {
                Ok((inode, Ok(ix))) => self.inode(inode, ix),
                Ok((inode, Err(c))) => {
                    // Only the attributes in the record are bad: the inode is kept without them.
                    self.found
                        .problem(format!("inode {ino}: {c}; they are dropped"), true);
                    self.drop_inline(inode, InlineXattrs::default());
                    self.inode(inode, InlineXattrs::default());
                }
                Err(c) => {
                    self.found.problem(format!("inode {ino}: {c}"), false);
                    self.bad_inodes.insert(ino);
                }
            }
        }
        Ok(())
    }

    /// Marks the record of `inode` to be rewritten with `kept` as its inline attributes.
    fn drop_inline(&mut self, inode: DiskInode, kept: InlineXattrs) {
        self.inodes.insert(inode.ino, inode);
        self.ix_rewrite.insert(inode.ino, kept);
        self.dirty.insert(inode.ino);
    }

    /// One valid inode in use: its extent or directory tree, its extended attributes (`ix` the
    /// record's), and its block count against the blocks the tree holds.
    fn inode(&mut self, inode: DiskInode, ix: InlineXattrs) {
        let ino = inode.ino;
        let counted = match &inode.data {
            InodeData::Extents(root) => self.extent_tree(ino, root),
            InodeData::Dir(d) => self.directory_tree(&inode, d),
            InodeData::Inline(_) | InodeData::Special => 0,
        };
        let mut inode = *self.inodes.get(&ino).unwrap_or(&inode);
        if !ix.is_empty() && !self.sb.has_xattr() {
            self.found.problem(
                format!(
                    "inode {ino}: extended attributes in the record, but the filesystem does \
                     not have the xattr feature; they are dropped"
                ),
                true,
            );
            self.drop_inline(inode, InlineXattrs::default());
        }
        let counted = match self.xattrs(&inode) {
            Ok((n, keys)) => {
                // An attribute is in the record or in the block, not in both: the record's
                // copy goes.
                let twice = ix
                    .entries()
                    .filter(|e| keys.iter().any(|(i, n)| (*i, n.as_slice()) == e.key()))
                    .map(|e| xattr_display_name(e.index, e.name))
                    .collect::<Vec<_>>();
                if !twice.is_empty() {
                    self.found.problem(
                        format!(
                            "inode {ino}: {} both in the record and in block {}; the record's \
                             copy is dropped",
                            twice.join(", "),
                            inode.xattr
                        ),
                        true,
                    );
                    let room = inode.xattr_room();
                    let mut kept = InlineXattrs::default();
                    for e in ix.entries() {
                        let dup = keys.iter().any(|(i, n)| (*i, n.as_slice()) == e.key());
                        if let (false, XattrValue::Inline(v)) = (dup, e.value) {
                            let _ = kept.push(e.index, e.name, v, room);
                        }
                    }
                    self.drop_inline(inode, kept);
                }
                counted + n
            }
            Err(why) => {
                self.found.problem(
                    format!(
                        "inode {ino}: extended attributes (block {}): {why}; they are dropped",
                        inode.xattr
                    ),
                    true,
                );
                inode.xattr = 0;
                self.inodes.insert(ino, inode);
                self.dirty.insert(ino);
                counted
            }
        };
        if !self.bad_inodes.contains(&ino) && inode.blocks != counted {
            self.found.problem(
                format!(
                    "inode {ino}: block count is {}, should be {counted}",
                    inode.blocks
                ),
                true,
            );
            let mut fixed = inode;
            fixed.blocks = counted;
            self.inodes.insert(ino, fixed);
            self.dirty.insert(ino);
        } else {
            self.inodes.insert(ino, inode);
        }
    }

    /// The extended attributes of `inode`: its xattr block and their value blocks, checked
    /// (the block's structure, each value against its checksum) and claimed for it. Returns how
    /// many blocks they take and the (index, name) of each attribute in the block, or why they
    /// cannot be kept.
    #[allow(clippy::type_complexity)]
    fn xattrs(&mut self, inode: &DiskInode) -> Result<(u64, Vec<(u8, Vec<u8>)>), String> {
        let (ino, blk) = (inode.ino, inode.xattr);
        if blk == 0 {
            return Ok((0, Vec::new()));
        }
        if !self.sb.has_xattr() {
            return Err("the filesystem does not have the xattr feature".into());
        }
        if !self.layout.in_data_area(blk) {
            return Err("outside the data area".into());
        }
        let mut b: Box<Block> = Box::new([0; BLOCK_SIZE]);
        self.img.read(blk, &mut b).map_err(io_error)?;
        xattr_block_check(&b, blk, ino, self.layout.block_count).map_err(|e| e.to_string())?;
        let mut blocks = vec![blk];
        let mut vbuf: Box<Block> = Box::new([0; BLOCK_SIZE]);
        for e in xattr_entries(&b) {
            let XattrValue::External { crc, .. } = e.value else {
                continue;
            };
            let mut value = Vec::with_capacity(e.value_len);
            for vb in e.value.blocks() {
                if !self.layout.in_data_area(vb) || blocks.contains(&vb) {
                    return Err(format!(
                        "value block {vb} is outside the data area or used twice"
                    ));
                }
                self.img.read(vb, &mut vbuf).map_err(io_error)?;
                value.extend_from_slice(&vbuf[..]);
                blocks.push(vb);
            }
            value.truncate(e.value_len);
            if crc32c(&value) != crc {
                return Err(format!(
                    "the value of {} does not match its checksum",
                    xattr_display_name(e.index, e.name)
                ));
            }
        }
        for &b in &blocks {
            self.claim(b, 1, ino as u32);
        }
        let keys = xattr_entries(&b)
            .map(|e| (e.index, e.name.to_vec()))
            .collect();
        Ok((blocks.len() as u64, keys))
    }

    /// Claims for inode `ino` the nodes `walk` listed of one of its trees, each in the data
    /// area; a walk that failed makes the inode corrupt. `what` names the tree in messages.
    /// Returns how many nodes were claimed.
    fn claim_tree_nodes<E: std::fmt::Display>(
        &mut self,
        ino: u64,
        what: &str,
        walk: Result<(), E>,
        nodes: &[u64],
    ) -> u64 {
        if let Err(e) = walk {
            self.found.problem(format!("{what}: {e}"), false);
            self.bad_inodes.insert(ino);
        }
        let mut claimed = 0;
        for b in nodes {
            if !self.layout.in_data_area(*b) {
                self.found
                    .problem(format!("{what} node {b} is outside the data area"), false);
                continue;
            }
            self.claim(*b, 1, ino as u32);
            claimed += 1;
        }
        claimed
    }

    /// Extent trees: the nodes of inode `ino`'s tree and the blocks its extents map, claimed for
    /// it. Returns how many blocks that is.
    fn extent_tree(&mut self, ino: u64, root: &ExtentRoot) -> u64 {
        let layout = self.layout;
        let mut nodes = Vec::new();
        let walk = extent_tree_nodes(&*self.img, ino, root, &mut self.tree_buf, &mut |b, _| {
            nodes.push(b)
        });
        let mut counted =
            self.claim_tree_nodes(ino, &format!("inode {ino}: extent tree"), walk, &nodes);
        let mut exts = Vec::new();
        if let Err(e) = extent_iter(&*self.img, ino, root, 0, &mut self.tree_buf, &mut |x| {
            exts.push(*x);
            true
        }) {
            self.found
                .problem(format!("inode {ino}: extents: {e}"), false);
            self.bad_inodes.insert(ino);
        }
        for x in &exts {
            if !layout.range_in_data_area(x.physical, x.len) {
                self.found.problem(
                    format!(
                        "inode {ino}: extent of file blocks {}..{} maps blocks {}..{} outside the data area ({}..{})",
                        x.logical, x.end(), x.physical, x.physical.saturating_add(x.len), layout.data_start, layout.backup_sb
                    ),
                    false,
                );
                self.bad_inodes.insert(ino);
                continue;
            }
            self.claim(x.physical, x.len, ino as u32);
            counted += x.len;
        }
        counted
    }

    /// Directory trees: the nodes of directory `inode`'s tree, claimed for it, and its entries,
    /// kept for [`Self::directory_entries`] and counted against its entry count. Returns how
    /// many blocks the tree holds.
    fn directory_tree(&mut self, inode: &DiskInode, d: &DirRoot) -> u64 {
        let ino = inode.ino;
        let mut nodes = Vec::new();
        let walk = dir_tree_nodes(&*self.img, ino, d, &mut self.tree_buf, &mut |b, _| {
            nodes.push(b)
        });
        let counted = self.claim_tree_nodes(ino, &format!("directory {ino}: tree"), walk, &nodes);
        let mut n = 0u64;
        let entries = &mut self.entries;
        let r = dir_iter(
            &*self.img,
            ino,
            d,
            COOKIE_DOTDOT,
            &mut self.tree_buf,
            &mut |e| {
                n += 1;
                entries.push(Entry {
                    dir: ino,
                    name: crate::escape_text(e.name()),
                    raw: e.name().to_vec(),
                    key: e.key,
                    ino: e.ino,
                    ftype: e.ftype,
                });
                true
            },
        );
        if let Err(e) = r {
            self.found
                .problem(format!("directory {ino}: entries: {e}"), false);
            self.bad_inodes.insert(ino);
        } else if n != d.entries {
            self.found.problem(
                format!(
                    "directory {ino}: entry count is {}, should be {n}",
                    d.entries
                ),
                true,
            );
            let mut fixed = *inode;
            if let InodeData::Dir(dd) = &mut fixed.data {
                dd.entries = n;
            }
            self.inodes.insert(ino, fixed);
            self.dirty.insert(ino);
        }
        counted
    }

    /// Directory entries: each against its name's hash and the inode it names; then every
    /// directory's parent pointer against the one directory naming it.
    fn directory_entries(&mut self) {
        let mut dir_parents: HashMap<u64, Vec<u64>> = HashMap::new();
        for e in &self.entries {
            // A key that is not of its name's hash: lookup does not find the name where readdir
            // shows it.
            if e.key >> 8 != dir_hash(&self.sb.hash_seed, &e.raw) {
                let msg = e.message(&format!("has key {:#x}, not one of its name's hash", e.key));
                self.found.problem(msg, false);
            }
            if e.ino == 0 || e.ino >= self.layout.inode_count || !self.ibm.bits[e.ino as usize] {
                let msg = e.message(&format!("points to unallocated inode {}", e.ino));
                self.found.problem(msg, false);
                continue;
            }
            if self.bad_inodes.contains(&e.ino) {
                let msg = e.message(&format!("points to corrupt inode {}", e.ino));
                self.found.problem(msg, false);
                continue;
            }
            let Some(child) = self.inodes.get(&e.ino) else {
                continue;
            };
            if file_type(child.mode) != Some(e.ftype) {
                let msg = e.message(&format!(
                    "has type {} but inode {} is a {}",
                    ft_name(e.ftype),
                    e.ino,
                    type_name(child.mode)
                ));
                self.found.problem(msg, false);
            }
            if e.ino == ROOT_INO {
                let msg = e.message("links to the root directory");
                self.found.problem(msg, false);
                continue;
            }
            *self.refs.entry(e.ino).or_default() += 1;
            if child.kind() == S_IFDIR {
                *self.subdirs.entry(e.dir).or_default() += 1;
                dir_parents.entry(e.ino).or_default().push(e.dir);
            }
        }
        self.parents(&dir_parents);
    }

    /// Each directory named by exactly one entry records that entry's directory as its parent.
    fn parents(&mut self, dir_parents: &HashMap<u64, Vec<u64>>) {
        for (d, ps) in dir_parents {
            if ps.len() > 1 {
                self.found.problem(
                    format!(
                        "directory {d} has {} entries naming it (in directories {ps:?})",
                        ps.len()
                    ),
                    false,
                );
                continue;
            }
            let Some(inode) = self.inodes.get(d).copied() else {
                continue;
            };
            if let InodeData::Dir(dd) = inode.data {
                if dd.parent != ps[0] {
                    self.found.problem(
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
                    self.inodes.insert(*d, fixed);
                    self.dirty.insert(*d);
                }
            }
        }
    }

    /// Reachability: what the entries reach from the root, which must be a directory in use.
    fn reachability(&mut self) {
        let mut children: HashMap<u64, Vec<u64>> = HashMap::new();
        for e in &self.entries {
            children.entry(e.dir).or_default().push(e.ino);
        }
        let mut q = VecDeque::from([ROOT_INO]);
        while let Some(d) = q.pop_front() {
            if !self.reached.insert(d) {
                continue;
            }
            if let Some(cs) = children.get(&d) {
                for c in cs {
                    if self.inodes.get(c).is_some_and(|i| i.kind() == S_IFDIR) {
                        q.push_back(*c);
                    } else {
                        self.reached.insert(*c);
                    }
                }
            }
        }
        match self.inodes.get(&ROOT_INO) {
            Some(r) if r.kind() == S_IFDIR => {}
            Some(_) => self
                .found
                .problem("inode 1 (the root) is not a directory".into(), false),
            None => {
                if !self.bad_inodes.contains(&ROOT_INO) {
                    self.found.problem(
                        "the root directory (inode 1) is not allocated".into(),
                        false,
                    )
                }
            }
        }
    }

    /// Link counts and orphans: every valid inode in use, in inode order, against the entries
    /// naming it (a directory: against its subdirectories); one no entry names is an orphan or
    /// lost. The repairs free the orphans.
    fn link_counts(&mut self) {
        let mut all: Vec<u64> = self.inodes.keys().copied().collect();
        all.sort_unstable();
        for ino in all {
            let inode = self.inodes[&ino];
            let r = self.refs.get(&ino).copied().unwrap_or(0);
            let is_dir = inode.kind() == S_IFDIR;
            if ino != ROOT_INO && r == 0 {
                self.unnamed(&inode);
                continue;
            }
            if ino != ROOT_INO && r > 0 && !self.reached.contains(&ino) && is_dir {
                self.found.problem(
                    format!("directory {ino} is not reachable from the root"),
                    false,
                );
            }
            let expect = if is_dir {
                2 + self.subdirs.get(&ino).copied().unwrap_or(0)
            } else {
                r
            };
            if inode.nlink != expect {
                self.found.problem(
                    format!(
                        "inode {ino}: link count is {}, should be {expect}",
                        inode.nlink
                    ),
                    true,
                );
                let mut fixed = inode;
                fixed.nlink = expect;
                self.inodes.insert(ino, fixed);
                self.dirty.insert(ino);
            }
        }
        if self.found.repair {
            let freed = self.freed_orphans.iter().map(|i| *i as u32).collect();
            self.unclaim(&freed);
            for ino in &self.freed_orphans {
                self.ibm.bits[*ino as usize] = false;
                self.inodes.remove(ino);
                self.dirty.remove(ino);
            }
        }
    }

    /// An inode other than the root that no entry names: with no link, an orphan to free;
    /// with links, lost.
    fn unnamed(&mut self, inode: &DiskInode) {
        let ino = inode.ino;
        // A directory removed while in use, or a crash between rmdir and the freeing of the
        // emptied directory, leaves one with no link either.
        if inode.nlink != 0 {
            self.found.problem(
                format!(
                    "inode {ino}: {} with link count {} is in no directory",
                    type_name(inode.mode),
                    inode.nlink
                ),
                false,
            );
            return;
        }
        // After an unclean unmount an orphan is a state the filesystem allows (a crash between
        // the unlink of a file's last link and the freeing of its inode, or while it was open):
        // the next read-write mount frees it. A clean filesystem has none.
        if self.sb.state & STATE_CLEAN == 0 {
            self.found.note(format!(
                "inode {ino}: unlinked {}, an orphan of the unclean unmount: {}",
                type_name(inode.mode),
                if self.found.repair {
                    "freed"
                } else {
                    "the next read-write mount frees it"
                }
            ));
        } else {
            self.found.problem(
                format!(
                    "inode {ino}: unlinked {} was not freed (orphan)",
                    type_name(inode.mode)
                ),
                true,
            );
        }
        self.freed_orphans.push(ino);
    }

    /// Bitmaps against use: the block bitmap (where readable) against the blocks claimed. Both
    /// bitmaps are rewritten where orphans are freed.
    fn bitmaps_against_use(&mut self) {
        let mut marked_free_used = 0u64;
        let mut first_mfu = None;
        let mut marked_used_free = 0u64;
        let mut first_muf = None;
        for b in 0..self.layout.block_count {
            if self.bbm.in_bad_block(b) {
                continue;
            }
            let used = self.owner[b as usize] != 0;
            let marked = self.bbm.bits[b as usize];
            if used && !marked {
                marked_free_used += 1;
                first_mfu.get_or_insert((b, self.owner[b as usize]));
            } else if !used && marked {
                marked_used_free += 1;
                first_muf.get_or_insert(b);
            }
        }
        if let Some((b, o)) = first_mfu {
            let by = user_name(o);
            self.found.problem(format!("block bitmap: {marked_free_used} block(s) in use are marked free (first: block {b}, used by {by})"), true);
            self.bbm.rewrite = true;
        }
        if let Some(b) = first_muf {
            self.found.problem(format!("block bitmap: {marked_used_free} block(s) marked in use belong to nothing (first: block {b})"), true);
            self.bbm.rewrite = true;
        }
        if self.found.repair && !self.freed_orphans.is_empty() {
            self.bbm.rewrite = true;
            self.ibm.rewrite = true;
        }
    }

    /// Free counts: the superblock's against the blocks and inodes in use (only on a clean
    /// filesystem: mount recounts after an unclean unmount), and its error flag.
    fn free_counts(&mut self) {
        self.free_blocks = self.owner.iter().filter(|&&o| o == 0).count() as u64;
        self.free_inodes = self.ibm.bits.iter().filter(|&&u| !u).count() as u64;
        let (free_blocks, free_inodes) = (self.free_blocks, self.free_inodes);
        self.sb_dirty = self.write_sb;
        if self.sb.state & STATE_CLEAN != 0 {
            if self.sb.free_blocks != free_blocks {
                self.found.problem(
                    format!(
                        "superblock: free block count is {}, should be {free_blocks}",
                        self.sb.free_blocks
                    ),
                    true,
                );
                self.sb_dirty = true;
            }
            if self.sb.free_inodes != free_inodes {
                self.found.problem(
                    format!(
                        "superblock: free inode count is {}, should be {free_inodes}",
                        self.sb.free_inodes
                    ),
                    true,
                );
                self.sb_dirty = true;
            }
        } else {
            // Not cleanly unmounted: the counts are hints, rewritten exact, and the filesystem
            // is marked clean when no problem is left (also when the hints happened to be
            // exact: ferrite-tune, for one, changes only a clean filesystem).
            self.sb_dirty = true;
        }
        if self.sb.state & STATE_ERROR != 0 {
            self.found.problem(
                "superblock: the error flag is set (errors were found while mounted)".into(),
                true,
            );
            self.sb_dirty = true;
        }
    }

    /// Repairs, when the check repairs: the inodes changed, the bitmaps, and both superblocks
    /// with the free counts (marked clean if no problem is left unfixed).
    fn repairs(&mut self) -> Result<(), String> {
        let unfixed = self.found.rep.problems.iter().any(|p| !p.fixed);
        if !self.found.repair {
            return Ok(());
        }
        let w = |e: std::io::Error| format!("write failed: {e}");
        for ino in std::mem::take(&mut self.dirty) {
            let i = self.inodes[&ino];
            let ix = self.ix_rewrite.get(&ino).copied();
            self.write_inode(&i, ix.as_ref()).map_err(w)?;
        }
        if self.bbm.rewrite {
            let owner = &self.owner;
            write_bitmap(
                self.img,
                &self.bbm.map,
                &|b| owner[b as usize] != 0,
                &mut self.buf,
            )
            .map_err(w)?;
        }
        if self.ibm.rewrite {
            let used = &self.ibm.bits;
            write_bitmap(
                self.img,
                &self.ibm.map,
                &|i| used[i as usize],
                &mut self.buf,
            )
            .map_err(w)?;
        }
        if self.sb_dirty || self.write_backup {
            self.sb.free_blocks = self.free_blocks;
            self.sb.free_inodes = self.free_inodes;
            if !unfixed {
                self.sb.state = STATE_CLEAN | (self.sb.state & !(STATE_CLEAN | STATE_ERROR));
            }
            self.sb.encode(&mut self.buf);
            let b = *self.buf;
            self.img.write(self.layout.backup_sb, &b).map_err(w)?;
            self.img.write(0, &b).map_err(w)?;
        }
        self.img.sync().map_err(w)
    }

    /// Writes the notes, the problems and a summary to `out`; the report with its exit code.
    fn report(self, p: &str, out: &mut dyn Write) -> Report {
        let mut rep = self.found.rep;
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
        let any_fixed = rep.problems.iter().any(|p| p.fixed) || self.journal_written;
        rep.exit = if any_unfixed {
            EXIT_UNCORRECTED
        } else if any_fixed {
            EXIT_CORRECTED
        } else {
            EXIT_OK
        };
        let layout = self.layout;
        let used_inodes = layout.inode_count - self.free_inodes;
        let _ = writeln!(
            out,
            "{p}: {} inodes used of {}, {} blocks used of {}{}",
            used_inodes,
            layout.inode_count,
            layout.block_count - self.free_blocks,
            layout.block_count,
            match rep.exit {
                EXIT_OK => ": clean",
                EXIT_CORRECTED => ": errors corrected",
                _ => ": ERRORS LEFT UNCORRECTED",
            }
        );
        rep
    }
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
            ro_compat: ferrite_format::RO_COMPAT_XATTR,
        };
        let mut buf = [0u8; BLOCK_SIZE];
        mkfs(&mut img, &p, &mut buf, &mut |_| Ok(())).expect("mkfs");
        img
    }

    #[test]
    fn fsck_image_checks_memory_images() {
        let opts = FsckOptions {
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
        let fix = FsckOptions {
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
