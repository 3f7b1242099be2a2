// SPDX-License-Identifier: GPL-2.0

//! The structure-aware mutator: case `n` of a seed changes one thing in one named structure of
//! the seed image (a field of the superblock or its backup, of the journal header or a journal
//! record, of an inode record, a bitmap, an extent or directory tree node, the bytes of a symlink
//! block), or builds one crafted structure (a tree node shared by two parents, a cycle, keys
//! outside the parent's range, a wrong level, overlapping extents, block numbers out of range,
//! a size beyond the maximum, an impossible mode or link count), or forges a committed journal
//! transaction that writes one of those changes over its block (superblocks included). Even
//! cases recompute every checksum the change broke, odd ones leave them, so that both the
//! validation behind the crc32c and the crc32c itself are tested.
//!
//! Everything comes from the case number and the seed: the same pair gives the same image and
//! the same one-line description on every machine.

use crate::catalog::{Catalog, InodeAt, NodeAt, REC_MAGICS};
use crate::rng::Rng;
use ferrite_format::*;
use ferrite_tools::image::Image;

const BS: usize = BLOCK_SIZE;
/// The stream of the mutator's random numbers.
const STREAM: u64 = 0x6d75_7461_7465_0001;

/// What a mutation broke and needs resealing for its checksum to be right again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Seal {
    /// Nothing has a checksum there (a symlink's target block).
    None,
    /// A metadata block (crc32c of bytes 0..4092 at 4092).
    Block(u64),
    /// An inode record at this byte offset of the image.
    Inode(usize),
    /// The journal header slot at this byte offset of the image.
    JournalSlot(usize),
    /// The journal's records (their crcs and the transaction crcs).
    Journal,
}

/// One change: what it was, and what to reseal.
struct Change {
    what: String,
    seals: Vec<Seal>,
}

impl Change {
    fn new(what: String, seal: Seal) -> Change {
        Change {
            what,
            seals: vec![seal],
        }
    }
}

fn get(img: &[u8], off: usize, size: usize) -> u64 {
    let mut b = [0u8; 8];
    if let Some(s) = img.get(off..off + size.min(8)) {
        b[..s.len()].copy_from_slice(s);
    }
    u64::from_le_bytes(b)
}

fn put(img: &mut [u8], off: usize, size: usize, v: u64) {
    let size = size.min(8);
    if let Some(s) = img.get_mut(off..off + size) {
        s.copy_from_slice(&v.to_le_bytes()[..size]);
    }
}

fn mask(size: usize) -> u64 {
    if size >= 8 {
        u64::MAX
    } else {
        (1u64 << (8 * size)) - 1
    }
}

/// Values that sit on the edges of what the format allows, for a layout.
fn interesting(l: &Layout) -> Vec<u64> {
    let mut v = vec![
        0,
        1,
        2,
        7,
        8,
        15,
        16,
        252,
        253,
        254,
        255,
        256,
        4092,
        4095,
        4096,
        4097,
        0x7fff,
        0x8000,
        0xffff,
        0x1_0000,
        0x7fff_ffff,
        0x8000_0000,
        0xffff_ffff,
        1 << 32,
        MAX_FILE_SIZE - 1,
        MAX_FILE_SIZE,
        MAX_FILE_SIZE + 1,
        i64::MAX as u64,
        1 << 63,
        u64::MAX,
        u64::MAX - 1,
        MAX_BLOCKS,
        MAX_BLOCKS + 1,
    ];
    v.extend([
        l.block_count,
        l.block_count - 1,
        l.block_count + 1,
        l.data_start,
        l.data_start - 1,
        l.inode_count,
        l.inode_count - 1,
        l.journal_start,
        l.inode_table_start,
        l.block_bitmap_start,
        l.backup_sb,
    ]);
    v
}

/// A new value for a field of `size` bytes holding `old`: an edge value, a neighbour, a bit
/// flip or random bits; never `old` itself.
fn new_value(rng: &mut Rng, old: u64, size: usize, edges: &[u64]) -> u64 {
    let m = mask(size);
    let v = match rng.below(8) {
        0 => 0,
        1 => m,
        2 => old.wrapping_add(1),
        3 => old.wrapping_sub(1),
        4 => old ^ (1 << rng.below(8 * size.min(8) as u64)),
        5 => rng.bits(),
        _ => rng.pick(edges).copied().unwrap_or(0),
    } & m;
    if v == old {
        (old ^ 1) & m
    } else {
        v
    }
}

/// Sets the field at `off` (`size` bytes, up to 8; wider fields get one byte changed) to a new
/// value; describes it as `<where> <name>: old -> new`.
fn mutate_field(
    img: &mut [u8],
    rng: &mut Rng,
    edges: &[u64],
    off: usize,
    size: usize,
    name: &str,
) -> String {
    if size > 8 {
        let k = rng.index(size);
        let old = get(img, off + k, 1);
        let new = new_value(rng, old, 1, edges);
        put(img, off + k, 1, new);
        return format!("{name} byte {k}: {old:#x} -> {new:#x}");
    }
    let old = get(img, off, size);
    let new = new_value(rng, old, size, edges);
    put(img, off, size, new);
    format!("{name}: {old} -> {new}")
}

/// Sets the field at `off` to `new`; describes it.
fn set_field(img: &mut [u8], off: usize, size: usize, name: &str, new: u64) -> String {
    let old = get(img, off, size);
    put(img, off, size, new);
    format!("{name}: {old} -> {new}")
}

/// The superblock's fields: name, offset, size (docs/FORMAT.md).
const SB_FIELDS: [(&str, usize, usize); 33] = [
    ("magic", 0, 8),
    ("version", 8, 4),
    ("block_size", 12, 4),
    ("compat", 16, 8),
    ("incompat", 24, 8),
    ("ro_compat", 32, 8),
    ("uuid", 40, 16),
    ("hash_seed", 56, 16),
    ("label", 72, 64),
    ("block_count", 136, 8),
    ("inode_count", 144, 8),
    ("journal_start", 152, 8),
    ("journal_blocks", 160, 8),
    ("inode_bitmap_start", 168, 8),
    ("inode_bitmap_blocks", 176, 8),
    ("block_bitmap_start", 184, 8),
    ("block_bitmap_blocks", 192, 8),
    ("inode_table_start", 200, 8),
    ("inode_table_blocks", 208, 8),
    ("data_start", 216, 8),
    ("backup_sb", 224, 8),
    ("root_ino", 232, 8),
    ("free_blocks", 240, 8),
    ("free_inodes", 248, 8),
    ("state", 256, 4),
    ("mount_count", 260, 4),
    ("mkfs_time", 264, 8),
    ("mkfs_nsec", 272, 4),
    ("reserved@276", 276, 4),
    ("write_time", 280, 8),
    ("reserved@288", 288, 8),
    ("reserved@4000", 4000, 8),
    ("crc", 4092, 4),
];

/// The journal header slot's fields.
const JH_FIELDS: [(&str, usize, usize); 10] = [
    ("magic", 0, 4),
    ("version", 4, 4),
    ("log_blocks", 8, 8),
    ("tail", 16, 8),
    ("head", 24, 8),
    ("checkpoint_seq", 32, 8),
    ("nonce", 40, 8),
    ("generation", 48, 8),
    ("reserved@56", 56, 8),
    ("crc", 2044, 4),
];

/// The inode record's fields outside the data area.
const INODE_FIELDS: [(&str, usize, usize); 21] = [
    ("mode", 0, 4),
    ("uid", 4, 4),
    ("gid", 8, 4),
    ("nlink", 12, 4),
    ("size", 16, 8),
    ("blocks", 24, 8),
    ("atime", 32, 8),
    ("mtime", 40, 8),
    ("ctime", 48, 8),
    ("btime", 56, 8),
    ("atime_nsec", 64, 4),
    ("mtime_nsec", 68, 4),
    ("ctime_nsec", 72, 4),
    ("btime_nsec", 76, 4),
    ("flags", 80, 4),
    ("generation", 84, 4),
    ("ino", 88, 8),
    ("xattr", 96, 8),
    ("rdev", 104, 4),
    ("reserved@108", 108, 4),
    ("crc", 252, 4),
];

/// The fields of an inode's data area (offsets in the record) by what it holds.
fn data_fields(i: &InodeAt, rng: &mut Rng) -> (String, usize, usize) {
    let (name, off, size) = match i.mode & S_IFMT {
        S_IFDIR => *rng
            .pick(&[
                ("dir root_blk", 112, 8),
                ("dir depth", 120, 2),
                ("dir reserved@122", 122, 2),
                ("dir parent", 128, 8),
                ("dir entries", 136, 8),
                ("dir inline xattrs", 144, 108),
            ])
            .unwrap_or(&("dir root_blk", 112, 8)),
        S_IFLNK if i.inline => ("inline target", 112, INLINE_DATA_MAX),
        S_IFREG | S_IFLNK => {
            let k = rng.index(EXTENT_INLINE_CAP);
            let base = 128 + 16 * k;
            return match rng.below(7) {
                6 => ("extent root inline xattrs".into(), 240, 12),
                0 => ("extent root_blk".into(), 112, 8),
                1 => ("extent depth".into(), 120, 2),
                2 => ("extent count".into(), 122, 2),
                3 => (format!("inline extent {k} logical"), base, 4),
                4 => (format!("inline extent {k} len"), base + 4, 4),
                _ => (format!("inline extent {k} physical"), base + 8, 8),
            };
        }
        _ => ("data area", 112, 140),
    };
    (name.to_string(), off, size)
}

fn inode_name(i: &InodeAt) -> String {
    format!(
        "inode {} ({})",
        i.ino,
        ferrite_tools::fsck::type_name(i.mode)
    )
}

fn blk_at(blk: u64) -> usize {
    blk as usize * BS
}

/// The entries of a directory leaf in the image: byte offsets in the block.
fn dir_leaf_entries(img: &[u8], blk: u64) -> Vec<usize> {
    let b = blk_at(blk);
    let used = get(img, b + 16, 2) as usize;
    let mut v = Vec::new();
    let mut o = 32usize;
    while o < 32 + used && o + 18 <= BS - 4 {
        v.push(o);
        let len = get(img, b + o + 16, 1) as usize;
        o += (18 + len + 7) & !7;
        if len == 0 {
            break;
        }
    }
    v
}

fn node_kind(dir: bool) -> &'static str {
    if dir {
        "directory tree node"
    } else {
        "extent tree node"
    }
}

fn node_name(n: &NodeAt, dir: bool) -> String {
    format!(
        "{} {} (inode {}, level {}{})",
        node_kind(dir),
        n.blk,
        n.ino,
        n.level,
        if n.root { ", root" } else { "" }
    )
}

/// A field of a tree node: header, internal entry, extent or directory entry.
fn mutate_node(img: &mut [u8], rng: &mut Rng, edges: &[u64], n: &NodeAt, dir: bool) -> Change {
    let b = blk_at(n.blk);
    let count = get(img, b + 6, 2) as usize;
    let what = if rng.chance(1, 3) {
        let (name, off, size) = *rng
            .pick(&[
                ("magic", 0, 4),
                ("level", 4, 2),
                ("count", 6, 2),
                ("owner", 8, 8),
                ("used", 16, 2),
                ("reserved@18", 18, 8),
                ("crc", 4092, 4),
            ])
            .unwrap_or(&("magic", 0, 4));
        mutate_field(img, rng, edges, b + off, size, name)
    } else if n.level > 0 {
        let i = rng.index(count.max(1));
        let o = b + 32 + 16 * i;
        if rng.chance(1, 2) {
            mutate_field(img, rng, edges, o, 8, &format!("entry {i} key"))
        } else {
            mutate_field(img, rng, edges, o + 8, 8, &format!("entry {i} child"))
        }
    } else if dir {
        let ents = dir_leaf_entries(img, n.blk);
        let k = rng.index(ents.len().max(1));
        let o = b + ents.get(k).copied().unwrap_or(32);
        let len = get(img, o + 16, 1) as usize;
        match rng.below(5) {
            0 => mutate_field(img, rng, edges, o, 8, &format!("entry {k} key")),
            1 => mutate_field(img, rng, edges, o + 8, 8, &format!("entry {k} inode")),
            2 => mutate_field(img, rng, edges, o + 16, 1, &format!("entry {k} name_len")),
            3 => mutate_field(img, rng, edges, o + 17, 1, &format!("entry {k} type")),
            _ => {
                let j = rng.index(len.max(1));
                let new = *rng.pick(&[0u8, b'/', b'.', 0xff]).unwrap_or(&0);
                set_field(
                    img,
                    o + 18 + j,
                    1,
                    &format!("entry {k} name byte {j}"),
                    u64::from(new),
                )
            }
        }
    } else {
        let i = rng.index(count.max(1));
        let o = b + 32 + 16 * i;
        let (name, off, size) = *rng
            .pick(&[("logical", 0, 4), ("len", 4, 4), ("physical", 8, 8)])
            .unwrap_or(&("logical", 0, 4));
        mutate_field(
            img,
            rng,
            edges,
            o + off,
            size,
            &format!("extent {i} {name}"),
        )
    };
    Change::new(format!("{} {what}", node_name(n, dir)), Seal::Block(n.blk))
}

/// The mutation itself: `img` changed in place; the description and what to reseal.
struct Mutator<'a> {
    cat: &'a Catalog,
    edges: Vec<u64>,
}

impl Mutator<'_> {
    /// The internal nodes of every extent tree (`false`) and directory tree (`true`).
    fn internal_nodes(&self) -> Vec<(NodeAt, bool)> {
        let ext = self.cat.ext_nodes.iter().map(|n| (*n, false));
        let dir = self.cat.dir_nodes.iter().map(|n| (*n, true));
        ext.chain(dir).filter(|(n, _)| n.level > 0).collect()
    }

    fn l(&self) -> Layout {
        self.cat.sb.layout
    }

    /// A superblock field, of the primary (3 in 4) or the backup.
    fn superblock(&self, img: &mut [u8], rng: &mut Rng) -> Change {
        let (blk, which) = if rng.chance(3, 4) {
            (0, "primary superblock")
        } else {
            (self.l().backup_sb, "backup superblock")
        };
        let (name, off, size) = *rng.pick(&SB_FIELDS).unwrap_or(&SB_FIELDS[0]);
        let what = mutate_field(img, rng, &self.edges, blk_at(blk) + off, size, name);
        Change::new(
            format!("{which} (block {blk}) {what}"),
            if name == "crc" {
                Seal::None
            } else {
                Seal::Block(blk)
            },
        )
    }

    fn journal_header(&self, img: &mut [u8], rng: &mut Rng) -> Change {
        // The slot in force is the one mkfs wrote (generation 0, slot 0), unless the seed moved.
        let slot = if rng.chance(3, 4) {
            (self.cat.jh.generation % 2) as usize
        } else {
            1 - (self.cat.jh.generation % 2) as usize
        };
        let at = blk_at(self.l().journal_start) + slot * JH_SLOT;
        let (name, off, size) = *rng.pick(&JH_FIELDS).unwrap_or(&JH_FIELDS[0]);
        let what = mutate_field(img, rng, &self.edges, at + off, size, name);
        Change::new(
            format!("journal header slot {slot} {what}"),
            if name == "crc" {
                Seal::None
            } else {
                Seal::JournalSlot(at)
            },
        )
    }

    fn journal_record(&self, img: &mut [u8], rng: &mut Rng) -> Option<Change> {
        let idx = rng.index(self.cat.records.len());
        let r = self.cat.records.get(idx)?;
        let at = self.cat.log_byte(r.pos);
        let kind = String::from_utf8_lossy(&r.magic).into_owned();
        let data = &r.magic == REC_MAGICS[0];
        let mut fields = vec![
            ("magic", 0, 4),
            ("length", 4, 4),
            ("sequence", 8, 8),
            ("crc", 28, 4),
        ];
        if data {
            fields.extend([("target", 16, 8), ("offset", 24, 2), ("reserved@26", 26, 2)]);
        } else {
            fields.extend([("count", 16, 8), ("transaction crc", 24, 4)]);
        }
        let what = if data && rng.chance(1, 4) {
            let len = get(img, at + 4, 4).min(64) as usize;
            let k = rng.index(len.max(1));
            let old = get(img, at + 32 + k, 1);
            put(img, at + 32 + k, 1, old ^ 0x10);
            format!("payload byte {k}: {old:#x} -> {:#x}", old ^ 0x10)
        } else {
            let (name, off, size) = *rng.pick(&fields).unwrap_or(&fields[0]);
            mutate_field(img, rng, &self.edges, at + off, size, name)
        };
        Some(Change::new(
            format!(
                "journal record {idx} ({kind} at log position {}) {what}",
                r.pos
            ),
            Seal::Journal,
        ))
    }

    fn inode(&self, img: &mut [u8], rng: &mut Rng) -> Option<Change> {
        let i = *rng.pick(&self.cat.inodes)?;
        let what = if rng.chance(1, 2) {
            let (name, off, size) = *rng.pick(&INODE_FIELDS)?;
            mutate_field(img, rng, &self.edges, i.at + off, size, name)
        } else {
            let (name, off, size) = data_fields(&i, rng);
            mutate_field(img, rng, &self.edges, i.at + off, size, &name)
        };
        let seal = if what.starts_with("crc") {
            Seal::None
        } else {
            Seal::Inode(i.at)
        };
        Some(Change::new(format!("{} {what}", inode_name(&i)), seal))
    }

    fn bitmap(&self, img: &mut [u8], rng: &mut Rng) -> Change {
        let l = self.l();
        let (blk, kind, nbits) = if rng.chance(1, 2) {
            (l.inode_bitmap_start, "inode bitmap", l.inode_count)
        } else {
            (l.block_bitmap_start, "block bitmap", l.block_count)
        };
        let b = blk_at(blk);
        let what = match rng.below(4) {
            0 => {
                let (name, off, size) = *rng
                    .pick(&[
                        ("magic", 4032, 4),
                        ("kind", 4036, 4),
                        ("index", 4040, 8),
                        ("reserved@4048", 4048, 8),
                        ("crc", 4092, 4),
                    ])
                    .unwrap_or(&("magic", 4032, 4));
                mutate_field(img, rng, &self.edges, b + off, size, name)
            }
            k => {
                // A bit in use, a free one, one past the end, or one of the first (inode 0, the
                // root, the superblock, the journal).
                let bit = match k {
                    1 => rng.below(nbits),
                    2 => nbits + rng.below(8),
                    _ => rng.below(16),
                };
                let o = b + (bit / 8) as usize;
                let old = get(img, o, 1);
                let new = old ^ (1 << (bit % 8));
                put(img, o, 1, new);
                format!(
                    "bit {bit}: {} -> {}",
                    (old >> (bit % 8)) & 1,
                    (new >> (bit % 8)) & 1
                )
            }
        };
        let seal = if what.starts_with("crc") {
            Seal::None
        } else {
            Seal::Block(blk)
        };
        Change::new(format!("{kind} (block {blk}) {what}"), seal)
    }

    fn ext_node(&self, img: &mut [u8], rng: &mut Rng) -> Option<Change> {
        let n = *rng.pick(&self.cat.ext_nodes)?;
        Some(mutate_node(img, rng, &self.edges, &n, false))
    }

    fn dir_node(&self, img: &mut [u8], rng: &mut Rng) -> Option<Change> {
        let n = *rng.pick(&self.cat.dir_nodes)?;
        Some(mutate_node(img, rng, &self.edges, &n, true))
    }

    fn symlink_block(&self, img: &mut [u8], rng: &mut Rng) -> Option<Change> {
        let (ino, blk, len) = *rng.pick(&self.cat.symlink_blocks)?;
        let b = blk_at(blk);
        let what = match rng.below(3) {
            0 => {
                let k = rng.below(len.max(1)) as usize;
                set_field(img, b + k, 1, &format!("target byte {k}"), 0)
            }
            1 => set_field(
                img,
                b + len as usize,
                1,
                "byte after the target",
                u64::from(b'z'),
            ),
            _ => {
                let k = rng.index(BS);
                let old = get(img, b + k, 1);
                set_field(img, b + k, 1, &format!("byte {k}"), old ^ 0xff)
            }
        };
        Some(Change::new(
            format!("symlink block {blk} (inode {ino}) {what}"),
            Seal::None,
        ))
    }

    /// An xattr block: a header field or a byte of its entries, resealed or not; or a byte of
    /// a value block (whose checksum is in the entry).
    fn xattr_block(&self, img: &mut [u8], rng: &mut Rng) -> Option<Change> {
        let (ino, blk, values) = rng.pick(&self.cat.xattr_blocks)?.clone();
        let b = blk_at(blk);
        if !values.is_empty() && rng.chance(1, 4) {
            let v = *rng.pick(&values)?;
            let k = rng.index(BS);
            let old = get(img, blk_at(v) + k, 1);
            let what = set_field(img, blk_at(v) + k, 1, &format!("byte {k}"), old ^ 0x5a);
            return Some(Change::new(
                format!("xattr value block {v} (inode {ino}) {what}"),
                Seal::None,
            ));
        }
        let used = get(img, b + 6, 2) as usize;
        let (off, size, name) = match rng.below(6) {
            0 => (4, 2, "count".to_string()),
            1 => (6, 2, "used".to_string()),
            2 => (8, 8, "owner".to_string()),
            _ => {
                // A byte, a length or a block number inside the entries.
                let k = 32 + rng.index(used.clamp(1, BS - 36));
                let size = *rng.pick(&[1usize, 1, 2, 4, 8])?;
                (k.min(BS - 4 - size), size, format!("entry byte {k}"))
            }
        };
        let old = get(img, b + off, size);
        let new = new_value(rng, old, size, &self.edges);
        let what = set_field(img, b + off, size, &name, new);
        let seal = if rng.chance(3, 4) {
            Seal::Block(blk)
        } else {
            Seal::None
        };
        Some(Change::new(
            format!("xattr block {blk} (inode {ino}) {what}"),
            seal,
        ))
    }

    /// The crafted structures.
    fn crafted(&self, img: &mut Vec<u8>, rng: &mut Rng) -> Option<Change> {
        match rng.below(13) {
            0 => self.shared_root(img, rng),
            1 => self.shared_child(img, rng),
            2 => self.cycle(img, rng),
            3 => self.dir_loop(img, rng),
            4 => self.parent_loop(img, rng),
            5 => self.key_out_of_range(img, rng),
            6 => self.wrong_level(img, rng),
            7 => self.extent_overlap(img, rng),
            8 => self.out_of_range(img, rng),
            9 => self.size_beyond(img, rng),
            10 => self.bad_mode(img, rng),
            11 => self.bad_nlink(img, rng),
            _ => self.entry_target(img, rng),
        }
    }

    /// Two inodes with one tree (or one set of inline extents): B's root becomes A's.
    fn shared_root(&self, img: &mut [u8], rng: &mut Rng) -> Option<Change> {
        let t = if rng.chance(1, 2) { S_IFDIR } else { S_IFREG };
        let v: Vec<InodeAt> = self
            .cat
            .inodes_of(t)
            .into_iter()
            .filter(|i| get(img, i.at + 112, 8) != 0 || get(img, i.at + 122, 2) != 0)
            .collect();
        let a = *rng.pick(&v)?;
        let b = *rng.pick(&self.cat.inodes_of(t))?;
        if a.ino == b.ino {
            return None;
        }
        let src = img.get(a.at + 112..a.at + 252)?.to_vec();
        img.get_mut(b.at + 112..b.at + 252)?.copy_from_slice(&src);
        Some(Change::new(
            format!(
                "crafted: {} takes the data area (tree root) of inode {}",
                inode_name(&b),
                a.ino
            ),
            Seal::Inode(b.at),
        ))
    }

    /// An internal node whose two entries lead to one child, or two internal nodes of a tree
    /// sharing a child.
    fn shared_child(&self, img: &mut [u8], rng: &mut Rng) -> Option<Change> {
        let internal = self.internal_nodes();
        let (n, dir) = *rng.pick(&internal)?;
        let b = blk_at(n.blk);
        let count = get(img, b + 6, 2) as usize;
        if count < 2 {
            return None;
        }
        let i = rng.index(count);
        let j = (i + 1 + rng.index(count - 1)) % count;
        let child = get(img, b + 32 + 16 * j + 8, 8);
        let mut what = set_field(
            img,
            b + 32 + 16 * i + 8,
            8,
            &format!("entry {i} child"),
            child,
        );
        if rng.chance(1, 2) {
            // The key too, so that only the sharing (and the order of keys) is wrong.
            let key = get(img, b + 32 + 16 * j, 8);
            what = format!(
                "{what}, {}",
                set_field(img, b + 32 + 16 * i, 8, &format!("entry {i} key"), key)
            );
        }
        Some(Change::new(
            format!(
                "crafted: {} shares entry {j}'s child: {what}",
                node_name(&n, dir)
            ),
            Seal::Block(n.blk),
        ))
    }

    /// A child pointer back to the node itself, or to its tree's root.
    fn cycle(&self, img: &mut [u8], rng: &mut Rng) -> Option<Change> {
        let internal = self.internal_nodes();
        let (n, dir) = *rng.pick(&internal)?;
        let b = blk_at(n.blk);
        let count = get(img, b + 6, 2) as usize;
        let i = rng.index(count.max(1));
        let what = set_field(
            img,
            b + 32 + 16 * i + 8,
            8,
            &format!("entry {i} child"),
            n.blk,
        );
        let mut seals = vec![Seal::Block(n.blk)];
        let mut more = String::new();
        if rng.chance(1, 2) {
            // Make the node claim the level a child of its own would have: only the cycle is
            // wrong on the way down from the parent.
            more = format!(
                ", {}",
                set_field(img, b + 4, 2, "level", u64::from(n.level.saturating_sub(1)))
            );
            if n.root {
                if let Some(i) = self.cat.inodes.iter().find(|i| i.ino == n.ino) {
                    put(img, i.at + 120, 2, u64::from(n.level.saturating_sub(1)));
                    seals.push(Seal::Inode(i.at));
                    more.push_str(" (and the inode's depth)");
                }
            }
        }
        Some(Change {
            what: format!("crafted: cycle in {}: {what}{more}", node_name(&n, dir)),
            seals,
        })
    }

    /// A directory gets an entry naming one of its ancestors (or itself): a loop in the
    /// namespace, made with the format's own insert so that every check of the tree passes.
    fn dir_loop(&self, img: &mut Vec<u8>, rng: &mut Rng) -> Option<Change> {
        let dirs = self.cat.inodes_of(S_IFDIR);
        let d = *rng.pick(&dirs)?;
        let target = if rng.chance(1, 3) {
            d.ino
        } else {
            // Its parent, or the root.
            let p = get(img, d.at + 128, 8);
            if rng.chance(1, 2) {
                p
            } else {
                ROOT_INO
            }
        };
        let mut im = Image::from_vec(std::mem::take(img));
        im.blocks = self.l().block_count;
        im.layout = Some(self.l());
        let mut scratch = Box::new(Scratch::new());
        let area = im.memory()?.get(d.at + 112..d.at + 252)?.to_vec();
        let r = DirRoot::decode(&area, d.ino).ok().map(|mut root| {
            let r = dir_insert(
                &mut im,
                d.ino,
                &self.cat.sb.hash_seed,
                &mut root,
                b"loop",
                target,
                FT_DIR,
                &mut scratch,
            );
            (r, root)
        });
        *img = im.into_vec()?;
        let (r, root) = r?;
        r.ok()?;
        if let Some(a) = img.get_mut(d.at + 112..d.at + 252) {
            root.encode(a);
        }
        Some(Change::new(
            format!(
                "crafted: directory {} gets entry 'loop' naming directory {target}",
                d.ino
            ),
            Seal::Inode(d.at),
        ))
    }

    /// A directory's parent pointer at itself, at one of its subdirectories, or out of range.
    fn parent_loop(&self, img: &mut [u8], rng: &mut Rng) -> Option<Change> {
        let dirs = self.cat.inodes_of(S_IFDIR);
        let d = *rng.pick(&dirs)?;
        let other = rng.pick(&dirs)?.ino;
        let new = *rng.pick(&[d.ino, other, self.l().inode_count, 0, u64::MAX])?;
        let what = set_field(img, d.at + 128, 8, "parent", new);
        Some(Change::new(
            format!("crafted: directory {} {what}", d.ino),
            Seal::Inode(d.at),
        ))
    }

    /// A leaf's last key moved to or past the next separator of its parent (still sorted inside
    /// the leaf): the subtrees' key ranges overlap.
    fn key_out_of_range(&self, img: &mut [u8], rng: &mut Rng) -> Option<Change> {
        let dir = rng.chance(1, 2);
        let nodes = if dir {
            &self.cat.dir_nodes
        } else {
            &self.cat.ext_nodes
        };
        let parents: Vec<NodeAt> = nodes.iter().filter(|n| n.level == 1).copied().collect();
        let p = *rng.pick(&parents)?;
        let pb = blk_at(p.blk);
        let count = get(img, pb + 6, 2) as usize;
        if count < 2 {
            return None;
        }
        let i = rng.index(count - 1);
        let leaf = get(img, pb + 32 + 16 * i + 8, 8);
        let next_key = get(img, pb + 32 + 16 * (i + 1), 8);
        let lb = blk_at(leaf);
        let what = if dir {
            let ents = dir_leaf_entries(img, leaf);
            let o = lb + *ents.last()?;
            set_field(img, o, 8, "last entry key", next_key + rng.below(2))
        } else {
            let n = get(img, lb + 6, 2) as usize;
            let o = lb + 32 + 16 * n.checked_sub(1)?;
            let cur = get(img, o, 4);
            if rng.chance(1, 2) && next_key > cur {
                // Its length reaches into the next leaf's range.
                set_field(img, o + 4, 4, "last extent len", next_key - cur + 1)
            } else {
                set_field(img, o, 4, "last extent logical", next_key + rng.below(2))
            }
        };
        Some(Change::new(
            format!(
                "crafted: {} leaf {leaf} (child {i} of node {}) {what}, next separator {next_key}",
                node_kind(dir),
                p.blk
            ),
            Seal::Block(leaf),
        ))
    }

    /// A node at another level than its parent expects, or an inode's depth wrong.
    fn wrong_level(&self, img: &mut [u8], rng: &mut Rng) -> Option<Change> {
        let dir = rng.chance(1, 2);
        let nodes = if dir {
            &self.cat.dir_nodes
        } else {
            &self.cat.ext_nodes
        };
        let n = *rng.pick(nodes)?;
        if rng.chance(1, 2) {
            let new = *rng.pick(&[
                u64::from(n.level) + 1,
                u64::from(n.level.wrapping_sub(1)),
                7,
                8,
            ])?;
            let what = set_field(img, blk_at(n.blk) + 4, 2, "level", new & 0xffff);
            return Some(Change::new(
                format!("crafted: {} {what}", node_name(&n, dir)),
                Seal::Block(n.blk),
            ));
        }
        let i = *self.cat.inodes.iter().find(|i| i.ino == n.ino)?;
        let old = get(img, i.at + 120, 2);
        let new = *rng.pick(&[old + 1, old.wrapping_sub(1) & 0xffff, 7, 8])?;
        let what = set_field(img, i.at + 120, 2, "tree depth", new);
        Some(Change::new(
            format!("crafted: {} {what}", inode_name(&i)),
            Seal::Inode(i.at),
        ))
    }

    /// Where extent `e` of inode `ino` sits: (byte offset of its 16 bytes, what to reseal).
    fn extent_place(&self, img: &[u8], ino: u64, e: &Extent) -> Option<(usize, Seal, String)> {
        for n in self
            .cat
            .ext_nodes
            .iter()
            .filter(|n| n.ino == ino && n.level == 0)
        {
            let b = blk_at(n.blk);
            let count = get(img, b + 6, 2) as usize;
            for k in 0..count.min(253) {
                if get(img, b + 32 + 16 * k, 4) == e.logical {
                    return Some((
                        b + 32 + 16 * k,
                        Seal::Block(n.blk),
                        format!("leaf {}", n.blk),
                    ));
                }
            }
        }
        let i = self.cat.inodes.iter().find(|i| i.ino == ino)?;
        let count = get(img, i.at + 122, 2) as usize;
        for k in 0..count.min(EXTENT_INLINE_CAP) {
            let o = i.at + 128 + 16 * k;
            if get(img, o, 4) == e.logical {
                return Some((o, Seal::Inode(i.at), "inline".into()));
            }
        }
        None
    }

    /// An extent over another file's blocks, over fixed metadata or a tree node, or over its
    /// neighbour's file blocks.
    fn extent_overlap(&self, img: &mut [u8], rng: &mut Rng) -> Option<Change> {
        let (ino, e) = *rng.pick(&self.cat.extents)?;
        let (o, seal, place) = self.extent_place(img, ino, &e)?;
        let l = self.l();
        let what = match rng.below(4) {
            0 => {
                let (other, oe) = *rng.pick(&self.cat.extents)?;
                format!(
                    "physical over inode {other}'s blocks: {}",
                    set_field(img, o + 8, 8, "physical", oe.physical)
                )
            }
            1 => {
                let meta = *rng.pick(&[
                    0,
                    l.journal_start,
                    l.journal_start + 1,
                    l.inode_bitmap_start,
                    l.block_bitmap_start,
                    l.inode_table_start,
                    l.backup_sb,
                    l.data_start - 1,
                ])?;
                format!(
                    "physical over metadata: {}",
                    set_field(img, o + 8, 8, "physical", meta)
                )
            }
            2 => {
                let n = *rng.pick(&self.cat.ext_nodes)?;
                format!(
                    "physical over tree node {}: {}",
                    n.blk,
                    set_field(img, o + 8, 8, "physical", n.blk)
                )
            }
            _ => {
                let prev = self
                    .cat
                    .extents
                    .iter()
                    .filter(|(i, x)| *i == ino && x.logical < e.logical)
                    .map(|(_, x)| *x)
                    .next_back()?;
                format!(
                    "file blocks over the previous extent: {}",
                    set_field(img, o, 4, "logical", prev.end() - 1)
                )
            }
        };
        Some(Change::new(
            format!(
                "crafted: inode {ino} extent at file block {} ({place}) {what}",
                e.logical
            ),
            seal,
        ))
    }

    /// Block and inode numbers at and past the ends.
    fn out_of_range(&self, img: &mut [u8], rng: &mut Rng) -> Option<Change> {
        let l = self.l();
        let bad_blocks = [
            l.block_count - 1,
            l.block_count,
            l.block_count + 1,
            MAX_BLOCKS,
            u64::MAX - 1,
            u64::MAX,
            0,
        ];
        match rng.below(4) {
            0 => {
                let (ino, e) = *rng.pick(&self.cat.extents)?;
                let (o, seal, place) = self.extent_place(img, ino, &e)?;
                let new = *rng.pick(&bad_blocks)?;
                let what = set_field(img, o + 8, 8, "physical", new);
                Some(Change::new(
                    format!(
                        "crafted: inode {ino} extent at file block {} ({place}) {what}",
                        e.logical
                    ),
                    seal,
                ))
            }
            1 => {
                let internal = self.internal_nodes();
                let (n, dir) = *rng.pick(&internal)?;
                let b = blk_at(n.blk);
                let i = rng.index(get(img, b + 6, 2).max(1) as usize);
                let what = set_field(
                    img,
                    b + 32 + 16 * i + 8,
                    8,
                    &format!("entry {i} child"),
                    *rng.pick(&bad_blocks)?,
                );
                Some(Change::new(
                    format!("crafted: {} {what}", node_name(&n, dir)),
                    Seal::Block(n.blk),
                ))
            }
            2 => {
                let t = if rng.chance(1, 2) { S_IFDIR } else { S_IFREG };
                let i = *rng.pick(&self.cat.inodes_of(t))?;
                let what = set_field(img, i.at + 112, 8, "root_blk", *rng.pick(&bad_blocks)?);
                Some(Change::new(
                    format!("crafted: {} {what}", inode_name(&i)),
                    Seal::Inode(i.at),
                ))
            }
            _ => self.entry_target(img, rng),
        }
    }

    /// A directory entry naming an inode out of range, a free inode, or one of another type.
    fn entry_target(&self, img: &mut [u8], rng: &mut Rng) -> Option<Change> {
        let leaves: Vec<NodeAt> = self
            .cat
            .dir_nodes
            .iter()
            .filter(|n| n.level == 0)
            .copied()
            .collect();
        let n = *rng.pick(&leaves)?;
        let ents = dir_leaf_entries(img, n.blk);
        let k = rng.index(ents.len());
        let o = blk_at(n.blk) + *ents.get(k)?;
        let l = self.l();
        let what = match rng.below(3) {
            0 => {
                let v = *rng.pick(&[l.inode_count, l.inode_count + 1, 1 << 32, u64::MAX])?;
                set_field(img, o + 8, 8, &format!("entry {k} inode"), v)
            }
            1 => {
                let used: Vec<u64> = self.cat.inodes.iter().map(|i| i.ino).collect();
                let free = (2..l.inode_count).find(|i| !used.contains(i))?;
                set_field(img, o + 8, 8, &format!("entry {k} inode (free)"), free)
            }
            _ => {
                let t = *rng.pick(&[FT_REG, FT_DIR, FT_LNK, FT_CHR, FT_BLK, FT_FIFO, FT_SOCK])?;
                set_field(img, o + 17, 1, &format!("entry {k} type"), u64::from(t))
            }
        };
        Some(Change::new(
            format!("crafted: {} {what}", node_name(&n, true)),
            Seal::Block(n.blk),
        ))
    }

    /// Sizes at and past the largest file, and symlink sizes past their limits.
    fn size_beyond(&self, img: &mut [u8], rng: &mut Rng) -> Option<Change> {
        let i = *rng.pick(&self.cat.inodes)?;
        let sizes: &[u64] = if i.mode & S_IFMT == S_IFLNK {
            &[0, 141, 4095, 4096, 4097, MAX_FILE_SIZE + 1, u64::MAX]
        } else {
            &[
                MAX_FILE_SIZE,
                MAX_FILE_SIZE + 1,
                i64::MAX as u64,
                1 << 63,
                u64::MAX,
            ]
        };
        let what = set_field(img, i.at + 16, 8, "size", *rng.pick(sizes)?);
        Some(Change::new(
            format!("crafted: {} {what}", inode_name(&i)),
            Seal::Inode(i.at),
        ))
    }

    /// File types that do not exist, another type than the inode's structures, mode bits
    /// above the 16 of Linux's `umode_t`, and the inline flag where it means nothing.
    fn bad_mode(&self, img: &mut [u8], rng: &mut Rng) -> Option<Change> {
        let i = *rng.pick(&self.cat.inodes)?;
        let perm = u64::from(i.mode & 0o7777);
        let new = match rng.below(5) {
            0 => *rng.pick(&[0, 0o010000, 0o030000, 0o050000, 0o070000, 0o170000])? | perm,
            1 => {
                u64::from(*rng.pick(&[
                    S_IFREG, S_IFDIR, S_IFLNK, S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK,
                ])?) | perm
            }
            2 => u64::from(i.mode) | *rng.pick(&[0x1_0000, 0x8000_0000, 0xffff_0000])?,
            3 => u64::from(i.mode) | 0o170000,
            _ => {
                let what = set_field(
                    img,
                    i.at + 80,
                    4,
                    "flags",
                    *rng.pick(&[1, 2, 0x8000_0000, u64::from(u32::MAX)])?,
                );
                return Some(Change::new(
                    format!("crafted: {} {what}", inode_name(&i)),
                    Seal::Inode(i.at),
                ));
            }
        };
        let what = set_field(img, i.at, 4, "mode", new);
        Some(Change::new(
            format!("crafted: {} {what}", inode_name(&i)),
            Seal::Inode(i.at),
        ))
    }

    fn bad_nlink(&self, img: &mut [u8], rng: &mut Rng) -> Option<Change> {
        let i = *rng.pick(&self.cat.inodes)?;
        let new = *rng.pick(&[
            0,
            1,
            2,
            0x7fff_ffff,
            u64::from(u32::MAX - 1),
            u64::from(u32::MAX),
        ])?;
        let what = set_field(img, i.at + 12, 4, "nlink", new);
        Some(Change::new(
            format!("crafted: {} {what}", inode_name(&i)),
            Seal::Inode(i.at),
        ))
    }

    /// One change in place, of any kind but the journal forgeries.
    fn in_place(&self, img: &mut Vec<u8>, rng: &mut Rng) -> Option<Change> {
        match rng.below(20) {
            0..=1 => Some(self.superblock(img, rng)),
            2 => Some(self.journal_header(img, rng)),
            3..=4 => self.journal_record(img, rng),
            5..=7 => self.inode(img, rng),
            8 => Some(self.bitmap(img, rng)),
            9..=10 => self.ext_node(img, rng),
            11..=12 => self.dir_node(img, rng),
            13 => self
                .xattr_block(img, rng)
                .or_else(|| self.symlink_block(img, rng)),
            14 => self.dir_loop(img, rng),
            _ => self.crafted(img, rng),
        }
    }

    /// A committed transaction appended after what recovery replays, writing the blocks that
    /// one in-place change (`inner`) changes, which stay as they were in place. With `torn_sb`
    /// the in-place primary superblock is also torn (a field changed, the crc left), as a crash
    /// during its in-place update leaves it, so that only the journal has the superblock.
    fn forge(&self, img: &mut Vec<u8>, rng: &mut Rng, torn_sb: bool) -> Option<Change> {
        let before = img.clone();
        let l = self.l();
        let j_end = l.journal_start + l.journal_blocks;
        let inner = if torn_sb && rng.chance(1, 3) {
            // The journal carries the superblock unchanged: the torn copy is the only damage.
            Change::new("primary superblock unchanged".into(), Seal::None)
        } else if torn_sb || rng.chance(1, 4) {
            let mut c = self.superblock(img, rng);
            if c.what.starts_with("backup") {
                c = Change::new("primary superblock unchanged".into(), Seal::None);
                img.copy_from_slice(&before);
            }
            c
        } else {
            loop {
                let c = match rng.below(5) {
                    0 => Some(self.bitmap(img, rng)),
                    1..=2 => self.inode(img, rng),
                    3 => self.ext_node(img, rng),
                    _ => self.dir_node(img, rng),
                };
                if let Some(c) = c {
                    break c;
                }
            }
        };
        let reseal = rng.chance(1, 2);
        if reseal {
            for s in &inner.seals {
                seal(img, self.cat, *s);
            }
        }
        let mut blocks = Vec::new();
        for b in 0..l.block_count {
            let r = blk_at(b)..blk_at(b + 1);
            if img.get(r.clone()) != before.get(r) {
                blocks.push(b);
            }
        }
        if blocks.iter().any(|b| *b >= l.journal_start && *b < j_end) || blocks.len() > 4 {
            img.copy_from_slice(&before);
            return None;
        }
        if torn_sb && blocks.is_empty() {
            blocks.push(0);
        }
        let new: Vec<(u64, Vec<u8>)> = blocks
            .iter()
            .map(|b| {
                (
                    *b,
                    img.get(blk_at(*b)..blk_at(b + 1)).unwrap_or(&[]).to_vec(),
                )
            })
            .collect();
        img.copy_from_slice(&before);
        let mut im = Image::from_vec(std::mem::take(img));
        im.blocks = l.block_count;
        let mut w = JournalWriter::new(&l, &self.cat.jh);
        w.head = self.cat.replay_end;
        w.seq = self.cat.replay_seq.wrapping_add(1);
        let mut scratch = Box::new(Scratch::new());
        let mut ok = true;
        for (b, data) in &new {
            ok &= w.add(&mut im, *b, 0, data, &mut scratch).is_ok();
        }
        let seq = w.seq;
        ok &= w.commit(&mut im, &mut scratch).is_ok();
        *img = im.into_vec()?;
        if !ok {
            img.copy_from_slice(&before);
            return None;
        }
        let mut what = format!(
            "journal: committed transaction {seq} at log position {} writes block(s) {blocks:?}: {} ({})",
            self.cat.replay_end,
            inner.what,
            if reseal { "crc recomputed" } else { "crc left" }
        );
        if torn_sb {
            let (name, off, size) = *rng.pick(&SB_FIELDS[1..32])?;
            let t = mutate_field(img, rng, &self.edges, off, size, name);
            what = format!("{what}; in place the primary superblock is torn: {t} (crc left)");
        }
        Some(Change {
            what,
            seals: Vec::new(),
        })
    }
}

/// Recomputes the checksum `s` covers.
fn seal(img: &mut [u8], cat: &Catalog, s: Seal) {
    match s {
        Seal::None => {}
        Seal::Block(b) => {
            if let Some(blk) = img.get_mut(blk_at(b)..blk_at(b + 1)) {
                let c = crc32c(&blk[..BLOCK_CRC_OFF]);
                blk[BLOCK_CRC_OFF..].copy_from_slice(&c.to_le_bytes());
            }
        }
        Seal::Inode(at) => {
            if let Some(rec) = img.get_mut(at..at + INODE_SIZE) {
                let c = crc32c(&rec[..252]);
                rec[252..].copy_from_slice(&c.to_le_bytes());
            }
        }
        Seal::JournalSlot(at) => {
            if let Some(slot) = img.get_mut(at..at + JH_SLOT) {
                let c = crc32c_update(0, &slot[..JH_SLOT - 4]);
                slot[JH_SLOT - 4..].copy_from_slice(&c.to_le_bytes());
            }
        }
        Seal::Journal => seal_journal(img, cat),
    }
}

/// Recomputes the crc of every record of the catalog and the transaction crc of every COMMIT,
/// from the records' current bytes (lengths clipped to the record's room).
fn seal_journal(img: &mut [u8], cat: &Catalog) {
    let seed = crc32c_update(0, &cat.jh.nonce.to_le_bytes());
    let mut txn = seed;
    for r in &cat.records {
        let at = cat.log_byte(r.pos);
        let Some(hdr) = img.get(at..at + 32) else {
            return;
        };
        let mut hdr: [u8; 32] = hdr.try_into().unwrap_or([0; 32]);
        let room = cat.jh.log_bytes() - r.pos % cat.jh.log_bytes().max(1);
        match &hdr[..4] {
            b"FJRD" => {
                let len = (get(&hdr, 4, 4) as usize)
                    .min(BS)
                    .min(room.saturating_sub(32) as usize);
                let payload = img.get(at + 32..at + 32 + len).unwrap_or(&[]).to_vec();
                let c = crc32c_update(crc32c_update(seed, &hdr[..28]), &payload);
                hdr[28..].copy_from_slice(&c.to_le_bytes());
                txn = crc32c_update(crc32c_update(txn, &hdr), &payload);
            }
            b"FJRC" => {
                hdr[24..28].copy_from_slice(&txn.to_le_bytes());
                let c = crc32c_update(seed, &hdr[..28]);
                hdr[28..].copy_from_slice(&c.to_le_bytes());
                txn = seed;
            }
            _ => {
                let c = crc32c_update(seed, &hdr[..28]);
                hdr[28..].copy_from_slice(&c.to_le_bytes());
            }
        }
        if let Some(d) = img.get_mut(at..at + 32) {
            d.copy_from_slice(&hdr);
        }
    }
}

/// Applies case `case` to `img` (a copy of the seed `cat` describes) and returns the one-line
/// description of what it changed.
pub fn mutate(cat: &Catalog, img: &mut Vec<u8>, case: u64) -> String {
    let mut rng = Rng::new(STREAM, case);
    let m = Mutator {
        cat,
        edges: interesting(&cat.sb.layout),
    };
    let reseal = case.is_multiple_of(2);
    for _ in 0..64 {
        let c = match rng.below(10) {
            0 => m.forge(img, &mut rng, false),
            1 => m.forge(img, &mut rng, true),
            _ => m.in_place(img, &mut rng),
        };
        let Some(c) = c else { continue };
        if c.seals.is_empty() {
            return c.what;
        }
        if reseal {
            for s in &c.seals {
                seal(img, cat, *s);
            }
        }
        let crc = if c.seals.iter().all(|s| *s == Seal::None) {
            "no crc to recompute"
        } else if reseal {
            "crc recomputed"
        } else {
            "crc left"
        };
        return format!("{} ({crc})", c.what);
    }
    // Every seed has a superblock.
    let c = m.superblock(img, &mut rng);
    if reseal {
        for s in &c.seals {
            seal(img, cat, *s);
        }
    }
    c.what
}
