// SPDX-License-Identifier: GPL-2.0

//! The semantic snapshot of a recovered filesystem: what a program can see of it, and the stale
//! device contents it could see through its files.
//!
//! The tree is walked from the root inode with the format code's own readers (inode records,
//! directory iteration, extent maps). For every reachable name: path, inode number, type and
//! mode, owner, group, link count, size, device number, modification and change times (not the
//! access time), block count, symlink target, a digest of the file's content over its size
//! (holes and zero blocks read alike), and for directories their entries. Nodes are sorted by
//! path and the whole is digested, so that snapshots compare by one number.
//!
//! Stale data: before mkfs, the guest fills the device with [`pattern_word`] at every 8-byte
//! offset. A word of a block mapped by a reachable regular file or symlink (whole blocks, past
//! the size too: a mapping of the last page exposes all of it) that still holds the pattern of
//! its own offset is device contents that were never written for the file.

use crate::hash::Digest;
use ferrite_format::ops::Ctx;
use ferrite_format::{
    dir_iter, extent_iter, Block, BlockIo, DiskInode, DiskSuperblock, Extent, InodeData, Scratch,
    Timespec, BLOCK_SIZE, COOKIE_START, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG,
};
use ferrite_tools::image::Image;
use std::collections::HashSet;
use std::fmt::Write as _;

const BS: u64 = BLOCK_SIZE as u64;
/// The walk gives up after this many names (a corrupt tree could be huge).
const MAX_NODES: usize = 1_000_000;

/// The pattern the device is filled with before mkfs, at device byte offset `off` (8-aligned).
pub fn pattern_word(off: u64) -> u64 {
    0xFE77_17E0_0000_0000 | (off >> 3)
}

/// The magic of a device image saved as its difference from the pattern ([`save_image`]).
pub const DELTA_MAGIC: &[u8; 8] = b"FEXD0001";

/// The first `bytes` of a device (a multiple of the block size), saved as the blocks that differ
/// from the [`pattern_word`] fill: the magic, the size (u64 LE), then each such block as its
/// number (u64 LE) and contents. A freshly made filesystem differs from the fill in a few hundred
/// blocks, so this is what the guest copies out instead of the whole device.
pub fn save_image(dev: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4096);
    out.extend_from_slice(DELTA_MAGIC);
    out.extend_from_slice(&(dev.len() as u64).to_le_bytes());
    for (b, block) in dev.chunks(BLOCK_SIZE).enumerate() {
        let base = b as u64 * BS;
        let same = block
            .chunks_exact(8)
            .enumerate()
            .all(|(i, w)| w == pattern_word(base + 8 * i as u64).to_le_bytes());
        if !same || block.len() != BLOCK_SIZE {
            out.extend_from_slice(&(b as u64).to_le_bytes());
            out.extend_from_slice(block);
        }
    }
    out
}

/// A device image from a file's bytes: a [`save_image`] delta expanded over the pattern, or a
/// raw image as it is.
pub fn load_image(file: Vec<u8>) -> Result<Vec<u8>, String> {
    let Some(rest) = file.strip_prefix(DELTA_MAGIC.as_slice()) else {
        return Ok(file);
    };
    let word = |s: &[u8]| -> Option<u64> { Some(u64::from_le_bytes(s.get(..8)?.try_into().ok()?)) };
    let size = word(rest).ok_or("the delta image has no size")?;
    if size % BS != 0 || size > 1 << 40 {
        return Err(format!(
            "the delta image's size {size} is not a block multiple under 1 TiB"
        ));
    }
    let mut dev = vec![0u8; size as usize];
    for (i, w) in dev.chunks_exact_mut(8).enumerate() {
        w.copy_from_slice(&pattern_word(8 * i as u64).to_le_bytes());
    }
    let mut rest = &rest[8..];
    while !rest.is_empty() {
        let b = word(rest).ok_or("the delta image ends inside a block number")?;
        let data = rest
            .get(8..8 + BLOCK_SIZE)
            .ok_or_else(|| format!("the delta image ends inside block {b}"))?;
        let at = b
            .checked_mul(BS)
            .filter(|&o| o < size)
            .ok_or_else(|| format!("the delta image's block {b} is past its size {size}"))?;
        dev[at as usize..at as usize + BLOCK_SIZE].copy_from_slice(data);
        rest = &rest[8 + BLOCK_SIZE..];
    }
    Ok(dev)
}

/// One reachable name and what it shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// Path from the root (`/` for the root).
    pub path: Vec<u8>,
    /// Inode number.
    pub ino: u64,
    /// The inode, if it could be read (else `error` says why).
    pub attrs: Option<Attrs>,
    /// Directories: their entries (name, inode, `FT_*` type), sorted by name.
    pub entries: Vec<(Vec<u8>, u64, u8)>,
    /// What could not be read.
    pub error: Option<String>,
}

/// The visible attributes of an inode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attrs {
    /// Type and permission bits.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Link count.
    pub nlink: u32,
    /// Size in bytes.
    pub size: u64,
    /// Device number.
    pub rdev: u32,
    /// Modification time.
    pub mtime: Timespec,
    /// Change time.
    pub ctime: Timespec,
    /// Blocks (data and tree nodes).
    pub blocks: u64,
    /// Symlinks: the target.
    pub target: Option<Vec<u8>>,
    /// Regular files: digest of the content over the size.
    pub content: Option<u64>,
    /// Extended attributes: (namespace index, name, digest of the value), in their order.
    pub xattrs: Vec<(u8, Vec<u8>, u64)>,
    /// Files with extents: the device blocks they map (start, length). Where a file lies is
    /// not part of what it shows (not compared, not digested).
    pub mapped: Vec<(u64, u64)>,
}

/// A snapshot of the visible tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// Every reachable name, sorted by path.
    pub nodes: Vec<Node>,
    /// Problems that are not one node's (no superblock, a tree too large).
    pub errors: Vec<String>,
    /// Digest of all of it.
    pub digest: u64,
}

/// Stale device contents exposed by one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stale {
    /// A path of the file.
    pub path: Vec<u8>,
    /// Its inode.
    pub ino: u64,
    /// Words holding the pattern of their own offset, in all its blocks.
    pub words: u64,
    /// The first such word: file block, device block, byte offset in the block.
    pub first: (u64, u64, u64),
}

impl Stale {
    /// One line describing it.
    pub fn describe(&self) -> String {
        let (l, p, o) = self.first;
        format!(
            "{} (inode {}): {} words of never-written device contents, first in file block {l} (device block {p}, byte {o})",
            show(&self.path),
            self.ino,
            self.words
        )
    }
}

/// A path or name for messages.
pub fn show(p: &[u8]) -> String {
    String::from_utf8_lossy(p).into_owned()
}

fn ts(t: &Timespec) -> String {
    format!("{}.{:09}", t.sec, t.nsec)
}

impl Node {
    /// The fields of the node, by name, for comparisons.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let mut v = vec![("ino", self.ino.to_string())];
        if let Some(a) = &self.attrs {
            v.push(("mode", format!("{:o}", a.mode)));
            v.push(("uid", a.uid.to_string()));
            v.push(("gid", a.gid.to_string()));
            v.push(("nlink", a.nlink.to_string()));
            v.push(("size", a.size.to_string()));
            v.push(("rdev", format!("{:#x}", a.rdev)));
            v.push(("mtime", ts(&a.mtime)));
            v.push(("ctime", ts(&a.ctime)));
            v.push(("blocks", a.blocks.to_string()));
            if let Some(t) = &a.target {
                v.push(("target", format!("{:?}", show(t))));
            }
            if let Some(c) = a.content {
                v.push(("content", format!("{c:016x}")));
            }
            if !a.xattrs.is_empty() {
                let x: Vec<String> = a
                    .xattrs
                    .iter()
                    .map(|(i, n, d)| format!("{i}:{}={d:016x}", show(n)))
                    .collect();
                v.push(("xattrs", x.join(" ")));
            }
        }
        if !self.entries.is_empty() {
            let mut s = String::new();
            for (i, (n, ino, _)) in self.entries.iter().enumerate() {
                if i > 0 {
                    s.push(' ');
                }
                let _ = write!(s, "{}={ino}", show(n));
            }
            v.push(("entries", s));
        }
        if let Some(e) = &self.error {
            v.push(("error", e.clone()));
        }
        v
    }

    fn digest(&self, d: &mut Digest) {
        d.bytes(&self.path);
        for (k, v) in self.fields() {
            d.bytes(k.as_bytes());
            d.bytes(v.as_bytes());
        }
    }
}

/// Takes the snapshot of the (recovered) filesystem on `img`, and finds stale data in its files.
pub fn take(img: &mut Image) -> (Snapshot, Vec<Stale>) {
    let mut w = Walk {
        nodes: Vec::new(),
        errors: Vec::new(),
        stale: Vec::new(),
    };
    w.run(img);
    let Walk {
        mut nodes,
        mut errors,
        stale,
    } = w;
    nodes.sort_by(|a, b| a.path.cmp(&b.path));
    errors.sort();
    let mut d = Digest::new();
    d.u64(nodes.len() as u64);
    for n in &nodes {
        n.digest(&mut d);
    }
    d.u64(errors.len() as u64);
    for e in &errors {
        d.bytes(e.as_bytes());
    }
    (
        Snapshot {
            nodes,
            errors,
            digest: d.finish(),
        },
        stale,
    )
}

struct Walk {
    nodes: Vec<Node>,
    errors: Vec<String>,
    stale: Vec<Stale>,
}

impl Walk {
    fn run(&mut self, img: &mut Image) {
        let mut buf: Box<Block> = Box::new([0; BLOCK_SIZE]);
        if let Err(e) = img.read(0, &mut buf) {
            self.errors.push(format!("superblock: {e}"));
            return;
        }
        let sb = match DiskSuperblock::decode(&buf) {
            Ok(sb) => sb,
            Err(c) => {
                self.errors.push(format!("superblock: {c}"));
                return;
            }
        };
        img.blocks = sb.layout.block_count.min(img.size / BS);
        let mut scratch = Box::new(Scratch::new());
        let mut ctx = Ctx::new(img, &sb, &mut scratch);
        let mut dirs_seen = HashSet::new();
        let mut files_scanned = HashSet::new();
        let mut todo = vec![(b"/".to_vec(), sb.root_ino)];
        while let Some((path, ino)) = todo.pop() {
            if self.nodes.len() >= MAX_NODES {
                self.errors
                    .push(format!("more than {MAX_NODES} names: the walk stopped"));
                break;
            }
            let mut node = Node {
                path,
                ino,
                attrs: None,
                entries: Vec::new(),
                error: None,
            };
            match ctx.read_inode(ino) {
                Err(e) => node.error = Some(format!("inode {ino}: {e}")),
                Ok(inode) => {
                    let r = self.visit(
                        &mut ctx,
                        &inode,
                        &mut node,
                        &mut dirs_seen,
                        &mut files_scanned,
                        &mut buf,
                    );
                    if let Err(e) = r {
                        node.error = Some(e);
                    }
                    for (name, child, _) in node.entries.iter().rev() {
                        let mut p = node.path.clone();
                        if p.len() > 1 {
                            p.push(b'/');
                        }
                        p.extend_from_slice(name);
                        todo.push((p, *child));
                    }
                }
            }
            self.nodes.push(node);
        }
    }

    /// Fills `node` from `inode`; for a directory seen for the first time, its entries.
    fn visit(
        &mut self,
        ctx: &mut Ctx<'_, Image>,
        inode: &DiskInode,
        node: &mut Node,
        dirs_seen: &mut HashSet<u64>,
        files_scanned: &mut HashSet<u64>,
        buf: &mut Block,
    ) -> Result<(), String> {
        let mut a = Attrs {
            mode: inode.mode,
            uid: inode.uid,
            gid: inode.gid,
            nlink: inode.nlink,
            size: inode.size,
            rdev: inode.rdev,
            mtime: inode.mtime,
            ctime: inode.ctime,
            blocks: inode.blocks,
            target: None,
            content: None,
            xattrs: Vec::new(),
            mapped: Vec::new(),
        };
        if let Err(e) = xattrs(ctx, inode.ino, &mut a.xattrs) {
            node.attrs = Some(a);
            return Err(format!("extended attributes of inode {}: {e}", inode.ino));
        }
        let kind = inode.mode & S_IFMT;
        let r = match &inode.data {
            InodeData::Dir(root) => {
                if kind != S_IFDIR || !dirs_seen.insert(inode.ino) {
                    Err(format!("directory {} reached twice", inode.ino))
                } else {
                    let mut entries = Vec::new();
                    let r = dir_iter(&*ctx.io, inode.ino, root, COOKIE_START, buf, &mut |e| {
                        entries.push((e.name().to_vec(), e.ino, e.ftype));
                        true
                    });
                    entries.sort();
                    node.entries = entries;
                    r.map(|_| ())
                        .map_err(|e| format!("directory {}: {e}", inode.ino))
                }
            }
            InodeData::Extents(root) => {
                let mut exts: Vec<Extent> = Vec::new();
                let r = extent_iter(&*ctx.io, inode.ino, root, 0, buf, &mut |e| {
                    exts.push(*e);
                    true
                });
                match r {
                    Err(e) => Err(format!("extents of inode {}: {e}", inode.ino)),
                    Ok(()) => {
                        let limit = ctx.sb.layout.block_count;
                        if let Some(x) = exts
                            .iter()
                            .find(|x| x.physical.checked_add(x.len).is_none_or(|e| e > limit))
                        {
                            Err(format!(
                                "inode {}: extent at file block {} maps blocks {}.. past the device",
                                inode.ino, x.logical, x.physical
                            ))
                        } else {
                            a.mapped = exts.iter().map(|x| (x.physical, x.len)).collect();
                            if kind == S_IFREG {
                                a.content = Some(content(ctx.io, inode.size, &exts, buf)?);
                            }
                            if kind == S_IFLNK {
                                let mut t = vec![0u8; BLOCK_SIZE];
                                let n = ctx
                                    .read_link(inode, &mut t)
                                    .map_err(|e| format!("symlink {}: {e}", inode.ino))?;
                                t.truncate(n);
                                a.target = Some(t);
                            }
                            if (kind == S_IFREG || kind == S_IFLNK)
                                && files_scanned.insert(inode.ino)
                            {
                                if let Some(s) = stale(ctx.io, &node.path, inode.ino, &exts, buf)? {
                                    self.stale.push(s);
                                }
                            }
                            Ok(())
                        }
                    }
                }
            }
            InodeData::Inline(_) => {
                a.target = inode.inline_bytes().map(|t| t.to_vec());
                Ok(())
            }
            InodeData::Special => Ok(()),
        };
        node.attrs = Some(a);
        r
    }
}

/// The extended attributes of inode `ino`: each name with a digest of its value.
fn xattrs(
    ctx: &mut Ctx<'_, Image>,
    ino: u64,
    out: &mut Vec<(u8, Vec<u8>, u64)>,
) -> Result<(), String> {
    let mut names = Vec::new();
    ctx.xattr_list(ino, &mut |i, n| names.push((i, n.to_vec())))
        .map_err(|e| e.to_string())?;
    let mut value = vec![0u8; ferrite_format::XATTR_VALUE_MAX];
    for (i, n) in names {
        let len = ctx
            .xattr_get(ino, i, &n, &mut value)
            .map_err(|e| e.to_string())?;
        let mut d = Digest::new();
        d.bytes(value.get(..len).unwrap_or(&[]));
        out.push((i, n, d.finish()));
    }
    Ok(())
}

/// Digest of the first `size` bytes of a file mapped by `exts` (sorted): the size, then for
/// every block that is not all zeroes its number and bytes. Holes and zero blocks digest alike.
fn content(img: &Image, size: u64, exts: &[Extent], buf: &mut Block) -> Result<u64, String> {
    let mut d = Digest::new();
    d.u64(size);
    let nblocks = size.div_ceil(BS);
    for x in exts {
        let end = x.end().min(nblocks);
        for b in x.logical..end {
            let p = x.physical + (b - x.logical);
            img.read(p, buf)
                .map_err(|e| format!("file block {b} (device block {p}): {e}"))?;
            let valid = if b + 1 == nblocks && !size.is_multiple_of(BS) {
                (size % BS) as usize
            } else {
                BLOCK_SIZE
            };
            let bytes = &buf[..valid];
            if bytes.iter().all(|&c| c == 0) {
                continue;
            }
            d.u64(b);
            d.bytes(bytes);
        }
    }
    Ok(d.finish())
}

/// The stale words in every block mapped by `exts`.
fn stale(
    img: &Image,
    path: &[u8],
    ino: u64,
    exts: &[Extent],
    buf: &mut Block,
) -> Result<Option<Stale>, String> {
    let mut found: Option<Stale> = None;
    for x in exts {
        for i in 0..x.len {
            let p = x.physical + i;
            img.read(p, buf)
                .map_err(|e| format!("device block {p}: {e}"))?;
            let base = p * BS;
            for (k, w) in buf.chunks_exact(8).enumerate() {
                let mut b = [0u8; 8];
                b.copy_from_slice(w);
                let o = base + 8 * k as u64;
                if u64::from_le_bytes(b) != pattern_word(o) {
                    continue;
                }
                match &mut found {
                    Some(s) => s.words += 1,
                    None => {
                        found = Some(Stale {
                            path: path.to_vec(),
                            ino,
                            words: 1,
                            first: (x.logical + i, p, 8 * k as u64),
                        })
                    }
                }
            }
        }
    }
    Ok(found)
}

impl Snapshot {
    /// The inodes of the regular files that map a block holding any of the device byte ranges
    /// `ranges` (offset, length).
    pub fn files_over(&self, ranges: &[(u64, u64)]) -> HashSet<u64> {
        let mut v = HashSet::new();
        for n in &self.nodes {
            let Some(a) = &n.attrs else { continue };
            if a.mode & S_IFMT != S_IFREG {
                continue;
            }
            let hit = a.mapped.iter().any(|(p, l)| {
                let (lo, hi) = (p * BS, (p + l) * BS);
                ranges.iter().any(|(o, n)| *o < hi && o + n > lo)
            });
            if hit {
                v.insert(n.ino);
            }
        }
        v
    }
}

/// Compares a snapshot `got` with an expected one: the number of differing fields and nodes,
/// and up to `max` lines saying what differs. The content of the inodes in `ignore_content` is
/// not compared.
pub fn diff(
    want: &Snapshot,
    got: &Snapshot,
    max: usize,
    ignore_content: &HashSet<u64>,
) -> (usize, Vec<String>) {
    let mut n = 0usize;
    let mut lines = Vec::new();
    let mut note = |n: &mut usize, s: String| {
        *n += 1;
        if lines.len() < max {
            lines.push(s);
        }
    };
    let (mut i, mut j) = (0, 0);
    while i < want.nodes.len() || j < got.nodes.len() {
        let w = want.nodes.get(i);
        let g = got.nodes.get(j);
        match (w, g) {
            (Some(w), Some(g)) if w.path == g.path => {
                let skip =
                    |f: &Vec<(&'static str, String)>, ino: u64| -> Vec<(&'static str, String)> {
                        f.iter()
                            .filter(|(k, _)| !(*k == "content" && ignore_content.contains(&ino)))
                            .cloned()
                            .collect()
                    };
                let wf = skip(&w.fields(), w.ino);
                let gf = skip(&g.fields(), g.ino);
                for (k, gv) in &gf {
                    match wf.iter().find(|(wk, _)| wk == k) {
                        Some((_, wv)) if wv == gv => {}
                        Some((_, wv)) => note(
                            &mut n,
                            format!("{}: {k} {gv}, expected {wv}", show(&g.path)),
                        ),
                        None => note(
                            &mut n,
                            format!("{}: {k} {gv}, expected none", show(&g.path)),
                        ),
                    }
                }
                for (k, wv) in &wf {
                    if !gf.iter().any(|(gk, _)| gk == k) {
                        note(&mut n, format!("{}: no {k}, expected {wv}", show(&g.path)));
                    }
                }
                i += 1;
                j += 1;
            }
            (Some(w), Some(g)) if w.path < g.path => {
                note(&mut n, format!("{}: missing", show(&w.path)));
                i += 1;
            }
            (Some(_), Some(g)) | (None, Some(g)) => {
                note(
                    &mut n,
                    format!("{}: unexpected (inode {})", show(&g.path), g.ino),
                );
                j += 1;
            }
            (Some(w), None) => {
                note(&mut n, format!("{}: missing", show(&w.path)));
                i += 1;
            }
            (None, None) => break,
        }
    }
    for e in &got.errors {
        if !want.errors.contains(e) {
            note(&mut n, format!("error: {e}"));
        }
    }
    for e in &want.errors {
        if !got.errors.contains(e) {
            note(&mut n, format!("no error, expected: {e}"));
        }
    }
    (n, lines)
}
