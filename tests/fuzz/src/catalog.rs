// SPDX-License-Identifier: GPL-2.0

//! Where the structures of a (valid) seed image are: the mutator picks what to change from this.

use ferrite_format::*;
use ferrite_tools::image::Image;

/// An allocated inode of the seed.
#[derive(Clone, Copy, Debug)]
pub struct InodeAt {
    /// Its number.
    pub ino: u64,
    /// Its mode.
    pub mode: u32,
    /// Whether its data area holds the inline target of a short symlink.
    pub inline: bool,
    /// Byte offset of its record in the image.
    pub at: usize,
}

/// A tree node of the seed.
#[derive(Clone, Copy, Debug)]
pub struct NodeAt {
    /// The inode whose tree it is.
    pub ino: u64,
    /// Its block.
    pub blk: u64,
    /// Its level (0: leaf).
    pub level: u16,
    /// Whether it is the root of its tree.
    pub root: bool,
}

/// A record of the journal's log.
#[derive(Clone, Copy, Debug)]
pub struct RecAt {
    /// Its log position.
    pub pos: u64,
    /// Its magic.
    pub magic: [u8; 4],
}

/// The structures of a seed image.
pub struct Catalog {
    /// The seed's name (its label).
    pub name: String,
    /// Its superblock.
    pub sb: DiskSuperblock,
    /// Its journal header.
    pub jh: JournalHeader,
    /// Log position after the last transaction recovery replays, and that transaction's
    /// sequence: where a forged transaction goes.
    pub replay_end: u64,
    /// The sequence of the last transaction recovery replays.
    pub replay_seq: u64,
    /// The records of the log, from the tail, in order.
    pub records: Vec<RecAt>,
    /// Allocated inodes.
    pub inodes: Vec<InodeAt>,
    /// Extent tree nodes.
    pub ext_nodes: Vec<NodeAt>,
    /// Directory tree nodes.
    pub dir_nodes: Vec<NodeAt>,
    /// Data extents of regular files and long symlinks: (inode, extent).
    pub extents: Vec<(u64, Extent)>,
    /// Target blocks of long symlinks: (inode, block, target length).
    pub symlink_blocks: Vec<(u64, u64, u64)>,
    /// Extended attribute blocks: (inode, block, the value blocks of its entries).
    pub xattr_blocks: Vec<(u64, u64, Vec<u64>)>,
    /// Inodes with extended attributes in their records.
    pub inline_xattrs: Vec<u64>,
}

/// The record magics of the journal (`FJRD`, `FJRC`, `FJRS`).
pub const REC_MAGICS: [&[u8; 4]; 3] = [b"FJRD", b"FJRC", b"FJRS"];

impl Catalog {
    /// The catalog of a valid seed image, or why it is not one.
    pub fn of(seed: &[u8]) -> Result<Catalog, String> {
        let mut img = Image::from_vec(seed.to_vec());
        let mut buf = Box::new([0u8; BLOCK_SIZE]);
        img.read(0, &mut buf).map_err(|e| e.to_string())?;
        let sb = DiskSuperblock::decode(&buf).map_err(|c| format!("seed superblock: {c}"))?;
        let l = sb.layout;
        if l.block_count > img.blocks {
            return Err("the seed is shorter than its filesystem".into());
        }
        img.blocks = l.block_count;
        img.layout = Some(l);
        img.read(l.journal_start, &mut buf)
            .map_err(|e| e.to_string())?;
        let jh = JournalHeader::decode(&buf, &l).map_err(|c| format!("seed journal: {c}"))?;
        let mut scratch = Box::new(Scratch::new());
        img.overlay = Some(Default::default());
        let rep = journal_replay(&mut img, &l, &jh, &mut scratch)
            .map_err(|e| format!("seed journal replay: {e}"))?;
        img.overlay = None;
        let name = String::from_utf8_lossy(sb.label_bytes()).into_owned();
        let mut c = Catalog {
            name,
            sb,
            jh,
            replay_end: rep.end,
            replay_seq: rep.last_seq,
            records: Vec::new(),
            inodes: Vec::new(),
            ext_nodes: Vec::new(),
            dir_nodes: Vec::new(),
            extents: Vec::new(),
            symlink_blocks: Vec::new(),
            xattr_blocks: Vec::new(),
            inline_xattrs: Vec::new(),
        };
        c.scan_log(seed);
        c.scan_inodes(&img, seed)?;
        Ok(c)
    }

    /// The byte offset in the image of log position `pos`.
    pub fn log_byte(&self, pos: u64) -> usize {
        let l = &self.sb.layout;
        let bytes = self.jh.log_bytes().max(1);
        ((l.journal_start + 1) * BLOCK_SIZE as u64 + pos % bytes) as usize
    }

    /// The records from the tail while they look like records (a known magic) of the sequences
    /// recovery would read.
    fn scan_log(&mut self, seed: &[u8]) {
        let bytes = self.jh.log_bytes();
        let mut p = self.jh.tail;
        while p < self.jh.tail + bytes {
            let room = bytes - p % bytes;
            if room < 32 {
                p += room;
                continue;
            }
            let at = self.log_byte(p);
            let Some(h) = seed.get(at..at + 32) else {
                break;
            };
            let magic = [h[0], h[1], h[2], h[3]];
            let seq = u64::from_le_bytes(h[8..16].try_into().unwrap_or_default());
            if !REC_MAGICS.contains(&&magic) || seq <= self.jh.checkpoint_seq {
                break;
            }
            self.records.push(RecAt { pos: p, magic });
            p += match &magic {
                b"FJRD" => {
                    let len = u64::from(u32::from_le_bytes(h[4..8].try_into().unwrap_or_default()));
                    32 + ((len + 7) & !7)
                }
                b"FJRS" => room,
                _ => 32,
            };
        }
    }

    fn scan_inodes(&mut self, img: &Image, seed: &[u8]) -> Result<(), String> {
        let l = self.sb.layout;
        let mut buf = Box::new([0u8; BLOCK_SIZE]);
        for ino in 1..l.inode_count {
            let (blk, off) = inode_location(&l, ino).map_err(|c| c.to_string())?;
            let at = blk as usize * BLOCK_SIZE + off;
            let Some(rec) = seed.get(at..at + INODE_SIZE) else {
                continue;
            };
            let Ok((i, ix)) = DiskInode::decode_with_xattrs(rec, ino) else {
                continue;
            };
            self.inodes.push(InodeAt {
                ino,
                mode: i.mode,
                inline: matches!(i.data, InodeData::Inline(_)),
                at,
            });
            if !ix.is_empty() {
                self.inline_xattrs.push(ino);
            }
            if i.xattr != 0 {
                let x = seed
                    .get(i.xattr as usize * BLOCK_SIZE..(i.xattr as usize + 1) * BLOCK_SIZE)
                    .ok_or(format!("seed inode {ino}: xattr block past the image"))?;
                let mut b = [0u8; BLOCK_SIZE];
                b.copy_from_slice(x);
                xattr_block_check(&b, i.xattr, ino, l.block_count)
                    .map_err(|e| format!("seed inode {ino}: {e}"))?;
                let values = xattr_entries(&b)
                    .flat_map(|e| e.value.blocks().collect::<Vec<_>>())
                    .collect();
                self.xattr_blocks.push((ino, i.xattr, values));
            }
            match &i.data {
                InodeData::Extents(r) => {
                    let mut nodes = Vec::new();
                    extent_tree_nodes(img, ino, r, &mut buf, &mut |b, lv| nodes.push((b, lv)))
                        .map_err(|e| format!("seed inode {ino}: {e}"))?;
                    for (blk, level) in nodes {
                        self.ext_nodes.push(NodeAt {
                            ino,
                            blk,
                            level,
                            root: blk == r.tree.blk,
                        });
                    }
                    let mut exts = Vec::new();
                    extent_iter(img, ino, r, 0, &mut buf, &mut |e| {
                        exts.push(*e);
                        true
                    })
                    .map_err(|e| format!("seed inode {ino}: {e}"))?;
                    if i.kind() == S_IFLNK {
                        if let Some(e) = exts.first() {
                            self.symlink_blocks.push((ino, e.physical, i.size));
                        }
                    }
                    self.extents.extend(exts.into_iter().map(|e| (ino, e)));
                }
                InodeData::Dir(d) => {
                    let mut nodes = Vec::new();
                    dir_tree_nodes(img, ino, d, &mut buf, &mut |b, lv| nodes.push((b, lv)))
                        .map_err(|e| format!("seed directory {ino}: {e}"))?;
                    for (blk, level) in nodes {
                        self.dir_nodes.push(NodeAt {
                            ino,
                            blk,
                            level,
                            root: blk == d.tree.blk,
                        });
                    }
                }
                InodeData::Inline(_) | InodeData::Special => {}
            }
        }
        Ok(())
    }

    /// The allocated inodes of file type `t` (`S_IF*`).
    pub fn inodes_of(&self, t: u32) -> Vec<InodeAt> {
        self.inodes
            .iter()
            .filter(|i| i.mode & S_IFMT == t)
            .copied()
            .collect()
    }
}
