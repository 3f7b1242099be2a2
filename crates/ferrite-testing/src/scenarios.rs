//! Scenarios of ferrite's filesystem operations (`ferrite_format::ops`), generic over the
//! `BlockIo`, each with exact expected results.
//!
//! The format crate runs them on a filesystem in memory (`crates/ferrite-format/tests/ops.rs`);
//! the tools run them on image files and then check the image with fsck
//! (`tools/tests/ops_fsck.rs`). Each scenario starts from a fresh filesystem made by [`format`]
//! and ends with every unlinked inode freed, so fsck must find it clean.

use ferrite_format::ops::{
    AllocEvents, Ctx, MkfsParams, NewInodeAttrs, Rename, Renamed, XattrMode,
};
use ferrite_format::*;
use std::fmt::Debug;

/// Blocks of the test filesystem (64 MiB: data area 515..16383, 4096 inodes).
pub const BLOCKS: u64 = 16384;
/// Free data blocks of a fresh test filesystem.
pub const FREE_BLOCKS: u64 = 16383 - 515;
/// Free inodes of a fresh test filesystem (inode 0 and the root are used).
pub const FREE_INODES: u64 = 4096 - 2;
/// The mkfs time.
pub const T0: Timespec = Timespec {
    sec: 1_700_000_000,
    nsec: 5,
};

/// Runs `$m!(scenario)` for every scenario (a function of this module).
#[macro_export]
macro_rules! for_each_scenario {
    ($m:ident) => {
        $m!(mkfs_result);
        $m!(inode_records);
        $m!(create_kinds);
        $m!(unlink_and_free);
        $m!(mkdir_rmdir);
        $m!(many_entries);
        $m!(hard_links);
        $m!(rename_plain);
        $m!(rename_replace);
        $m!(rename_exchange);
        $m!(rename_whiteout);
        $m!(rename_dir_cross);
        $m!(rename_same_inode);
        $m!(symlinks);
        $m!(tmpfile_link);
        $m!(alloc_large);
        $m!(alloc_small_policy);
        $m!(alloc_checks);
        $m!(punch_budget);
        $m!(free_inode_chunked);
        $m!(orphans_scan);
        $m!(inode_exhaustion);
        $m!(device_full);
        $m!(xattrs);
        $m!(xattrs_full);
        $m!(xattrs_inline);
        $m!(shift_extents);
    };
}

/// Asserts that `$e` is `Err` matching `$p`.
macro_rules! assert_err {
    ($e:expr, $p:pat) => {
        match $e {
            Err($p) => {}
            other => panic!("expected {}, got {:?}", stringify!($p), other),
        }
    };
}

/// Formats `io` (of [`BLOCKS`] blocks, reading as zeros) as the test filesystem.
pub fn format<I: BlockIo>(io: &mut I) -> DiskSuperblock
where
    I::Error: Debug,
{
    let layout = Layout::compute(BLOCKS, None, None).unwrap();
    let mut label = [0u8; LABEL_MAX];
    label[..5].copy_from_slice(b"tests");
    let p = MkfsParams {
        layout,
        uuid: [0x11; 16],
        hash_seed: *b"ferrite ops test",
        label,
        journal_nonce: 7,
        now: T0,
        inode_table_zeroed: true,
        ro_compat: ferrite_format::RO_COMPAT_XATTR,
    };
    let mut buf = [0u8; BLOCK_SIZE];
    ferrite_format::ops::mkfs(io, &p, &mut buf, &mut |_| Ok(())).unwrap()
}

/// A consistency check of the whole filesystem, run at the scenarios' checkpoints (the tools
/// run fsck); the `&str` says where.
pub type Check<I> = Box<dyn FnMut(&mut I, &DiskSuperblock, &mut Scratch, &str)>;

/// A formatted filesystem and the operations' working memory.
pub struct Env<I: BlockIo> {
    pub io: I,
    pub sb: DiskSuperblock,
    pub scratch: Box<Scratch>,
    /// Run at every [`checkpoint`](Env::checkpoint), when set.
    pub check: Option<Check<I>>,
    clock: i64,
}

impl<I: BlockIo> Env<I>
where
    I::Error: Debug,
{
    /// The test filesystem on `io`, formatted by [`format`] (whose metadata allocation must
    /// be set up before any operation).
    pub fn new(io: I, sb: DiskSuperblock) -> Self {
        Env {
            io,
            sb,
            scratch: Box::new(Scratch::new()),
            check: None,
            clock: T0.sec,
        }
    }

    /// A state that must be consistent (no unlinked inode left unfreed): runs the check.
    pub fn checkpoint(&mut self, what: &str) {
        if let Some(c) = self.check.as_mut() {
            c(&mut self.io, &self.sb, &mut self.scratch, what);
        }
    }

    pub fn ctx(&mut self) -> Ctx<'_, I> {
        Ctx::new(&mut self.io, &self.sb, &mut self.scratch)
    }

    /// A new time, later than every earlier one.
    pub fn tick(&mut self) -> Timespec {
        self.clock += 1;
        Timespec {
            sec: self.clock,
            nsec: 999_999_999,
        }
    }

    pub fn attr(&mut self, mode: u32) -> NewInodeAttrs {
        NewInodeAttrs {
            mode,
            uid: 1000,
            gid: 100,
            rdev: 0,
            now: self.tick(),
            generation: 0x5eed,
        }
    }

    pub fn inode(&mut self, ino: u64) -> DiskInode {
        self.ctx().read_inode(ino).unwrap()
    }

    /// The extended attributes the record of `ino` holds.
    pub fn ix(&mut self, ino: u64) -> InlineXattrs {
        self.ctx().read_inode_xattrs(ino).unwrap().1
    }

    pub fn counts(&mut self) -> (u64, u64) {
        self.ctx().free_counts().unwrap()
    }

    /// Creates a regular file `name` in `dir`.
    pub fn file(&mut self, dir: u64, name: &str) -> DiskInode {
        let a = self.attr(S_IFREG | 0o644);
        self.ctx().create(dir, name.as_bytes(), &a).unwrap().1
    }

    /// Creates directory `name` in `dir`.
    pub fn mkdir(&mut self, dir: u64, name: &str) -> DiskInode {
        let a = self.attr(S_IFDIR | 0o755);
        self.ctx().create(dir, name.as_bytes(), &a).unwrap().1
    }

    /// Maps file blocks `0..n` of `ino` (as a writer would, never past `n`).
    pub fn fill(&mut self, ino: u64, n: u64) -> DiskInode {
        let mut i = self.inode(ino);
        let mut lblk = 0;
        while lblk < n {
            let e = self.ctx().alloc(&mut i, lblk, n - lblk, n).unwrap();
            lblk = e.end();
        }
        i
    }

    /// Maps one block at each of the file blocks `0, 2, 4, ..` (`count` extents).
    pub fn fragment(&mut self, ino: u64, count: u64) -> DiskInode {
        let mut i = self.inode(ino);
        for k in 0..count {
            let e = self.ctx().alloc(&mut i, 2 * k, 1, 2 * k + 1).unwrap();
            assert_eq!((e.logical, e.len), (2 * k, 1));
        }
        i
    }

    /// The blocks `ino` really uses (data and tree nodes), found by walking its trees, as fsck
    /// does; asserts that the inode says the same.
    pub fn check_blocks(&mut self, ino: u64) -> u64 {
        let i = self.inode(ino);
        let mut n = 0u64;
        match &i.data {
            InodeData::Extents(r) => {
                extent_tree_nodes(&self.io, ino, r, &mut self.scratch.a, &mut |_, _| n += 1)
                    .unwrap();
                extent_iter(&self.io, ino, r, 0, &mut self.scratch.a, &mut |e| {
                    n += e.len;
                    true
                })
                .unwrap();
            }
            InodeData::Dir(r) => {
                dir_tree_nodes(&self.io, ino, r, &mut self.scratch.a, &mut |_, _| n += 1).unwrap();
            }
            InodeData::Inline(_) | InodeData::Special => {}
        }
        if i.xattr != 0 {
            self.io.read(i.xattr, &mut self.scratch.a).unwrap();
            xattr_block_check(&self.scratch.a, i.xattr, ino, BLOCKS).unwrap();
            n += 1;
            for x in xattr_entries(&self.scratch.a) {
                n += x.value.blocks().count() as u64;
            }
        }
        assert_eq!(i.blocks, n, "inode {ino}: blocks");
        n
    }

    /// The extents of `ino`.
    pub fn extents(&mut self, ino: u64) -> Vec<Extent> {
        let i = self.inode(ino);
        let InodeData::Extents(r) = i.data else {
            panic!("inode {ino} has no extents")
        };
        let mut v = Vec::new();
        extent_iter(&self.io, ino, &r, 0, &mut self.scratch.a, &mut |e| {
            v.push(*e);
            true
        })
        .unwrap();
        v
    }

    /// Frees unlinked `ino` with budget `budget`; returns the number of calls it took.
    pub fn free(&mut self, ino: u64, budget: u32) -> u32 {
        let mut calls = 1;
        while !self.ctx().free_inode(ino, budget).unwrap() {
            calls += 1;
            assert!(calls < 100_000);
        }
        calls
    }

    /// Unlinks `name` from `dir` and frees its inode if that was its last link.
    pub fn remove(&mut self, dir: u64, name: &str) {
        let now = self.tick();
        let e = self.ctx().lookup(dir, name.as_bytes()).unwrap().unwrap();
        let v = if e.ftype == FT_DIR {
            self.ctx().rmdir(dir, name.as_bytes(), now).unwrap().1
        } else {
            self.ctx().unlink(dir, name.as_bytes(), now).unwrap().1
        };
        if v.nlink == 0 {
            self.free(v.ino, 8);
        }
    }

    pub fn lookup(&mut self, dir: u64, name: &str) -> Option<DirEntry> {
        self.ctx().lookup(dir, name.as_bytes()).unwrap()
    }

    pub fn orphans(&mut self) -> Vec<u64> {
        let mut v = Vec::new();
        self.ctx().orphans(&mut |i| v.push(i)).unwrap();
        v
    }

    pub fn rename(&mut self, r: &Rename<'_>) -> Result<Renamed, Error<I::Error>> {
        // What the place held before must not show through: every part starts as another inode.
        let junk = DiskInode {
            ino: u64::MAX,
            nlink: 7,
            ..DiskInode::default()
        };
        let mut out = Renamed {
            old_dir: junk,
            other_dir: Some(junk),
            moved: junk,
            other: Some(junk),
            whiteout: Some(junk),
        };
        self.ctx().rename(r, &mut out).map(|()| out)
    }

    /// A plain rename request at a new time.
    pub fn mv<'n>(&mut self, od: u64, on: &'n str, nd: u64, nn: &'n str) -> Rename<'n> {
        Rename {
            old_dir: od,
            old_name: on.as_bytes(),
            new_dir: nd,
            new_name: nn.as_bytes(),
            exchange: false,
            whiteout: None,
            now: self.tick(),
        }
    }

    /// The filesystem is back to its fresh state: everything free, the root empty.
    pub fn assert_fresh(&mut self) {
        self.checkpoint("at the end");
        assert_eq!(self.counts(), (FREE_BLOCKS, FREE_INODES));
        let root = self.inode(ROOT_INO);
        assert_eq!(root.nlink, 2);
        assert_eq!(root.blocks, 0);
        assert_eq!(root.data, InodeData::Dir(DirRoot::empty(ROOT_INO)));
        assert!(self.orphans().is_empty());
    }
}

pub fn mkfs_result<I: BlockIo>(e: &mut Env<I>)
where
    I::Error: Debug,
{
    let l = e.sb.layout;
    assert_eq!(
        (l.data_start, l.backup_sb, l.inode_count),
        (515, 16383, 4096)
    );
    assert_eq!(
        (e.sb.free_blocks, e.sb.free_inodes),
        (FREE_BLOCKS, FREE_INODES)
    );
    assert_eq!(e.sb.label_bytes(), b"tests");
    // uuid version 4, variant 1.
    assert_eq!((e.sb.uuid[6], e.sb.uuid[8]), (0x41, 0x91));
    let mut b = [0u8; BLOCK_SIZE];
    for blk in [0, l.backup_sb] {
        e.io.read(blk, &mut b).unwrap();
        assert_eq!(DiskSuperblock::decode(&b).unwrap(), e.sb);
    }
    e.io.read(l.journal_start, &mut b).unwrap();
    let h = JournalHeader::decode(&b, &l).unwrap();
    assert_eq!((h.tail, h.head, h.nonce), (0, 0, 7));
    let root = e.inode(ROOT_INO);
    assert_eq!(root.mode, S_IFDIR | 0o755);
    assert_eq!((root.nlink, root.size, root.blocks), (2, 0, 0));
    assert_eq!((root.mtime, root.btime), (T0, T0));
    e.assert_fresh();
    let bm = Bitmap::blocks(&l);
    let mut buf = [0u8; BLOCK_SIZE];
    assert!(bm.get(&e.io, 514, &mut buf).unwrap());
    assert!(!bm.get(&e.io, 515, &mut buf).unwrap());
    assert!(!bm.get(&e.io, 16382, &mut buf).unwrap());
    assert!(bm.get(&e.io, 16383, &mut buf).unwrap());
}

pub fn inode_records<I: BlockIo>(e: &mut Env<I>)
where
    I::Error: Debug,
{
    assert_err!(
        e.ctx().read_inode(0),
        Error::Corrupt(Corrupt::InodeOutOfRange(0))
    );
    assert_err!(
        e.ctx().read_inode(4096),
        Error::Corrupt(Corrupt::InodeOutOfRange(4096))
    );
    // Free records are zero.
    assert_err!(
        e.ctx().read_inode(2),
        Error::Corrupt(Corrupt::BadInodeCrc(2))
    );
    let f = e.file(ROOT_INO, "f");
    let mut g = f;
    g.uid = 4242;
    g.atime = e.tick();
    g.size = 12345;
    e.ctx().write_inode(&g).unwrap();
    assert_eq!(e.inode(f.ino), g);
    // The neighbour in the same table block is untouched.
    assert_eq!(e.inode(ROOT_INO).nlink, 2);
    g.size = 0;
    e.ctx().write_inode(&g).unwrap();
    e.remove(ROOT_INO, "f");
    e.assert_fresh();
}

pub fn create_kinds<I: BlockIo>(e: &mut Env<I>)
where
    I::Error: Debug,
{
    let mut a = e.attr(S_IFREG | 0o640);
    a.rdev = 77;
    let (d, f) = e.ctx().create(ROOT_INO, b"file", &a).unwrap();
    assert_eq!(f.ino, 2);
    assert_eq!(
        (f.mode, f.uid, f.gid, f.generation),
        (S_IFREG | 0o640, 1000, 100, 0x5eed)
    );
    assert_eq!(
        (f.nlink, f.size, f.blocks, f.rdev, f.flags),
        (1, 0, 0, 0, 0)
    );
    assert_eq!(
        (f.atime, f.mtime, f.ctime, f.btime),
        (a.now, a.now, a.now, a.now)
    );
    assert_eq!(f.data, InodeData::Extents(ExtentRoot::new()));
    assert_eq!(e.inode(2), f);
    // The root got its first tree leaf.
    assert_eq!((d.nlink, d.blocks, d.mtime, d.ctime), (2, 1, a.now, a.now));
    let InodeData::Dir(r) = d.data else { panic!() };
    assert_eq!((r.entries, r.parent), (1, ROOT_INO));
    assert_eq!(e.inode(ROOT_INO), d);
    assert_eq!(e.counts(), (FREE_BLOCKS - 1, FREE_INODES - 1));

    let dir = e.mkdir(ROOT_INO, "dir");
    assert_eq!(dir.ino, 3);
    assert_eq!(dir.nlink, 2);
    assert_eq!(dir.data, InodeData::Dir(DirRoot::empty(ROOT_INO)));
    assert_eq!(e.inode(ROOT_INO).nlink, 3);
    let kinds = [
        ("chr", S_IFCHR, FT_CHR),
        ("blk", S_IFBLK, FT_BLK),
        ("fifo", S_IFIFO, FT_FIFO),
        ("sock", S_IFSOCK, FT_SOCK),
    ];
    for (name, t, ft) in kinds {
        let mut a = e.attr(t | 0o600);
        a.rdev = 0x0801;
        let (_, n) = e.ctx().create(ROOT_INO, name.as_bytes(), &a).unwrap();
        assert_eq!(n.data, InodeData::Special);
        let dev = t == S_IFCHR || t == S_IFBLK;
        assert_eq!(n.rdev, if dev { 0x0801 } else { 0 });
        let de = e.lookup(ROOT_INO, name).unwrap();
        assert_eq!((de.ino, de.ftype, de.name()), (n.ino, ft, name.as_bytes()));
    }
    assert_eq!(e.lookup(ROOT_INO, "file").unwrap().ftype, FT_REG);
    assert_eq!(e.lookup(ROOT_INO, "dir").unwrap().ftype, FT_DIR);
    assert!(e.lookup(ROOT_INO, "nothing").is_none());
    let root = e.inode(ROOT_INO);
    let InodeData::Dir(r) = root.data else {
        panic!()
    };
    assert_eq!((r.entries, root.nlink), (6, 3));
    assert_eq!(e.counts(), (FREE_BLOCKS - 1, FREE_INODES - 6));
    e.checkpoint("six kinds created");

    // Refusals change nothing.
    let before = (e.counts(), e.inode(ROOT_INO));
    let a = e.attr(S_IFREG | 0o644);
    assert_err!(e.ctx().create(ROOT_INO, b"file", &a), Error::Exists);
    assert_err!(e.ctx().create(ROOT_INO, b"dir", &a), Error::Exists);
    assert_err!(
        e.ctx().create(ROOT_INO, &[b'x'; 256], &a),
        Error::NameTooLong
    );
    assert_err!(e.ctx().create(ROOT_INO, b"", &a), Error::Invalid);
    assert_err!(e.ctx().create(ROOT_INO, b".", &a), Error::Invalid);
    assert_err!(e.ctx().create(ROOT_INO, b"..", &a), Error::Invalid);
    assert_err!(e.ctx().create(ROOT_INO, b"a/b", &a), Error::Invalid);
    assert_err!(e.ctx().create(f.ino, b"x", &a), Error::Invalid);
    assert_err!(
        e.ctx().create(100, b"x", &a),
        Error::Corrupt(Corrupt::BadInodeCrc(100))
    );
    for mode in [0o644, S_IFLNK | 0o777, 0o170000] {
        let a = e.attr(mode);
        assert_err!(e.ctx().create(ROOT_INO, b"x", &a), Error::Invalid);
    }
    assert_eq!((e.counts(), e.inode(ROOT_INO)), before);
    e.checkpoint("after refusals");
    // A name of 255 bytes is fine.
    let long = "n".repeat(255);
    e.file(ROOT_INO, &long);
    e.remove(ROOT_INO, &long);

    for n in ["file", "dir", "chr", "blk", "fifo", "sock"] {
        e.remove(ROOT_INO, n);
    }
    e.assert_fresh();
}

pub fn unlink_and_free<I: BlockIo>(e: &mut Env<I>)
where
    I::Error: Debug,
{
    let a = e.file(ROOT_INO, "a");
    let a = e.fill(a.ino, 10);
    assert_eq!(a.blocks, 10);
    e.mkdir(ROOT_INO, "d");
    let (c0, i0) = e.counts();
    let now = e.tick();
    assert_err!(e.ctx().unlink(ROOT_INO, b"d", now), Error::Invalid);
    let (d, v) = e.ctx().unlink(ROOT_INO, b"a", now).unwrap();
    assert_eq!((v.ino, v.nlink, v.ctime, v.blocks), (a.ino, 0, now, 10));
    assert_eq!((d.mtime, d.ctime, d.nlink), (now, now, 3));
    let InodeData::Dir(r) = d.data else { panic!() };
    assert_eq!(r.entries, 1);
    assert!(e.lookup(ROOT_INO, "a").is_none());
    assert_err!(e.ctx().unlink(ROOT_INO, b"a", now), Error::NotFound);
    // Unlinked but not freed: an orphan, its blocks still in use.
    assert_eq!(e.orphans(), vec![a.ino]);
    assert_eq!(e.counts(), (c0, i0));
    assert_eq!(e.free(a.ino, 32), 1);
    assert_eq!(e.counts(), (c0 + 10, i0 + 1));
    e.checkpoint("unlinked and freed");
    assert_err!(
        e.ctx().read_inode(a.ino),
        Error::Corrupt(Corrupt::BadInodeCrc(_))
    );
    assert_err!(
        e.ctx().free_inode(a.ino, 1),
        Error::Corrupt(Corrupt::BadInodeCrc(_))
    );
    let d = e.lookup(ROOT_INO, "d").unwrap().ino;
    assert_err!(e.ctx().free_inode(d, 1), Error::Invalid);
    assert_err!(e.ctx().free_inode(ROOT_INO, 1), Error::Invalid);
    e.remove(ROOT_INO, "d");
    e.assert_fresh();
}

pub fn mkdir_rmdir<I: BlockIo>(e: &mut Env<I>)
where
    I::Error: Debug,
{
    let d = e.mkdir(ROOT_INO, "d");
    let sub = e.mkdir(d.ino, "e");
    let InodeData::Dir(r) = sub.data else {
        panic!()
    };
    assert_eq!(r.parent, d.ino);
    assert_eq!(e.inode(d.ino).nlink, 3);
    assert_eq!(e.inode(ROOT_INO).nlink, 3);
    e.file(d.ino, "f");
    e.checkpoint("nested directories");
    let now = e.tick();
    assert_err!(e.ctx().rmdir(ROOT_INO, b"d", now), Error::NotEmpty);
    assert_err!(e.ctx().rmdir(d.ino, b"f", now), Error::Invalid);
    assert_err!(e.ctx().rmdir(d.ino, b"nope", now), Error::NotFound);
    let (dd, v) = e.ctx().rmdir(d.ino, b"e", now).unwrap();
    assert_eq!((v.ino, v.nlink, v.ctime), (sub.ino, 0, now));
    assert_eq!((dd.nlink, dd.mtime, dd.ctime), (2, now, now));
    // A removed directory takes no new names.
    let a = e.attr(S_IFREG | 0o644);
    assert_err!(e.ctx().create(sub.ino, b"x", &a), Error::NotFound);
    assert_eq!(e.orphans(), vec![sub.ino]);
    assert_eq!(e.free(sub.ino, 1), 1);
    e.checkpoint("subdirectory removed");
    assert_err!(e.ctx().rmdir(ROOT_INO, b"d", now), Error::NotEmpty);
    e.remove(d.ino, "f");
    assert_eq!(e.check_blocks(d.ino), 0);
    let now = e.tick();
    let (root, v) = e.ctx().rmdir(ROOT_INO, b"d", now).unwrap();
    assert_eq!((root.nlink, v.nlink), (2, 0));
    e.free(v.ino, 1);
    e.assert_fresh();
}

pub fn many_entries<I: BlockIo>(e: &mut Env<I>)
where
    I::Error: Debug,
{
    let d = e.mkdir(ROOT_INO, "big");
    let (c0, _) = e.counts();
    for i in 0..1000 {
        e.file(d.ino, &format!("entry-with-a-longish-name-{i:05}"));
    }
    let nodes = e.check_blocks(d.ino);
    assert!(nodes > 10, "{nodes} nodes");
    assert_eq!(e.counts().0, c0 - nodes);
    let InodeData::Dir(r) = e.inode(d.ino).data else {
        panic!()
    };
    assert_eq!(r.entries, 1000);
    assert!(r.tree.depth >= 1);
    e.checkpoint("1000 entries");
    for i in (0..1000).rev() {
        e.remove(d.ino, &format!("entry-with-a-longish-name-{i:05}"));
        if i % 100 == 0 {
            e.check_blocks(d.ino);
        }
        if i == 500 {
            e.checkpoint("500 entries left");
        }
    }
    assert_eq!(e.check_blocks(d.ino), 0);
    e.remove(ROOT_INO, "big");
    e.assert_fresh();
}

pub fn hard_links<I: BlockIo>(e: &mut Env<I>)
where
    I::Error: Debug,
{
    let f = e.file(ROOT_INO, "f");
    let d = e.mkdir(ROOT_INO, "d");
    let now = e.tick();
    let (root, i) = e.ctx().link(ROOT_INO, b"g", f.ino, now).unwrap();
    assert_eq!(
        (i.nlink, i.ctime, root.mtime, root.ctime),
        (2, now, now, now)
    );
    let (dd, i) = e.ctx().link(d.ino, b"h", f.ino, now).unwrap();
    assert_eq!((i.nlink, dd.nlink), (3, 2));
    assert_eq!(e.lookup(d.ino, "h").unwrap().ino, f.ino);
    assert_eq!(e.lookup(d.ino, "h").unwrap().ftype, FT_REG);
    assert_err!(e.ctx().link(ROOT_INO, b"g", f.ino, now), Error::Exists);
    assert_err!(e.ctx().link(ROOT_INO, b"x", d.ino, now), Error::Invalid);
    assert_err!(e.ctx().link(f.ino, b"x", f.ino, now), Error::Invalid);
    assert_eq!(e.inode(f.ino).nlink, 3);
    e.checkpoint("three links");
    let (_, v) = e.ctx().unlink(ROOT_INO, b"f", now).unwrap();
    assert_eq!(v.nlink, 2);
    let (_, v) = e.ctx().unlink(d.ino, b"h", now).unwrap();
    assert_eq!(v.nlink, 1);
    assert!(e.orphans().is_empty());
    e.checkpoint("one link left");
    assert_eq!(e.lookup(ROOT_INO, "g").unwrap().ino, f.ino);
    e.remove(ROOT_INO, "g");
    e.remove(ROOT_INO, "d");
    e.assert_fresh();
}

pub fn rename_plain<I: BlockIo>(e: &mut Env<I>)
where
    I::Error: Debug,
{
    let a = e.file(ROOT_INO, "a");
    let d = e.mkdir(ROOT_INO, "d");
    let r = e.mv(ROOT_INO, "a", ROOT_INO, "b");
    let out = e.rename(&r).unwrap();
    assert!(out.other_dir.is_none());
    assert_eq!((out.moved.ino, out.moved.ctime), (a.ino, r.now));
    assert_eq!(
        (out.old_dir.mtime, out.old_dir.ctime, out.old_dir.nlink),
        (r.now, r.now, 3)
    );
    assert!(out.other.is_none() && out.whiteout.is_none());
    assert!(e.lookup(ROOT_INO, "a").is_none());
    assert_eq!(e.lookup(ROOT_INO, "b").unwrap().ino, a.ino);
    assert_eq!(e.inode(ROOT_INO), out.old_dir);
    assert_eq!(e.inode(a.ino), out.moved);
    e.checkpoint("renamed in place");
    // To another directory.
    let r = e.mv(ROOT_INO, "b", d.ino, "c");
    let out = e.rename(&r).unwrap();
    assert_eq!(out.old_dir.ino, ROOT_INO);
    assert_eq!(out.new_dir().ino, d.ino);
    assert_eq!((out.new_dir().mtime, out.new_dir().nlink), (r.now, 2));
    let InodeData::Dir(rr) = out.old_dir.data else {
        panic!()
    };
    assert_eq!(rr.entries, 1);
    let InodeData::Dir(dr) = out.new_dir().data else {
        panic!()
    };
    assert_eq!(dr.entries, 1);
    assert_eq!(e.lookup(d.ino, "c").unwrap().ino, a.ino);
    assert_eq!(e.inode(d.ino), *out.new_dir());
    e.checkpoint("moved to a subdirectory");
    let r = e.mv(ROOT_INO, "b", d.ino, "c2");
    assert_err!(e.rename(&r), Error::NotFound);
    let r = e.mv(ROOT_INO, "b", d.ino, "..");
    assert_err!(e.rename(&r), Error::Invalid);
    e.remove(d.ino, "c");
    e.remove(ROOT_INO, "d");
    e.assert_fresh();
}

pub fn rename_replace<I: BlockIo>(e: &mut Env<I>)
where
    I::Error: Debug,
{
    let x = e.file(ROOT_INO, "x");
    let y = e.file(ROOT_INO, "y");
    let y = e.fill(y.ino, 3);
    let r = e.mv(ROOT_INO, "x", ROOT_INO, "y");
    let out = e.rename(&r).unwrap();
    let o = out.other.unwrap();
    assert_eq!((o.ino, o.nlink, o.ctime, o.blocks), (y.ino, 0, r.now, 3));
    assert_eq!(out.moved.ino, x.ino);
    assert!(e.lookup(ROOT_INO, "x").is_none());
    assert_eq!(e.lookup(ROOT_INO, "y").unwrap().ino, x.ino);
    assert_eq!(e.orphans(), vec![y.ino]);
    e.free(y.ino, 1);
    e.checkpoint("file replaced");

    // A target with another link keeps it.
    let z = e.file(ROOT_INO, "z");
    let now = e.tick();
    e.ctx().link(ROOT_INO, b"z2", z.ino, now).unwrap();
    let r = e.mv(ROOT_INO, "y", ROOT_INO, "z");
    let out = e.rename(&r).unwrap();
    assert_eq!(out.other.unwrap().nlink, 1);
    assert!(e.orphans().is_empty());
    e.checkpoint("linked file replaced");

    // An empty directory replaced by a directory from another parent.
    let p = e.mkdir(ROOT_INO, "p");
    let q = e.mkdir(ROOT_INO, "q");
    let s = e.mkdir(p.ino, "s");
    assert_eq!(e.inode(ROOT_INO).nlink, 4);
    let r = e.mv(p.ino, "s", ROOT_INO, "q");
    let out = e.rename(&r).unwrap();
    let o = out.other.unwrap();
    assert_eq!((o.ino, o.nlink), (q.ino, 0));
    // The root lost q and gained s; p lost s.
    assert_eq!((out.new_dir().nlink, out.old_dir.nlink), (4, 2));
    let InodeData::Dir(sr) = out.moved.data else {
        panic!()
    };
    assert_eq!(sr.parent, ROOT_INO);
    assert_eq!(e.lookup(ROOT_INO, "q").unwrap().ino, s.ino);
    assert_eq!(e.orphans(), vec![q.ino]);
    e.free(q.ino, 1);
    e.checkpoint("directory replaced");

    // Non-empty directory targets, and kinds that differ, are refused without change.
    e.file(p.ino, "inside");
    let t = e.mkdir(ROOT_INO, "t");
    let before = (
        e.counts(),
        e.inode(ROOT_INO),
        e.inode(p.ino),
        e.inode(t.ino),
    );
    let r = e.mv(ROOT_INO, "t", ROOT_INO, "p");
    assert_err!(e.rename(&r), Error::NotEmpty);
    let r = e.mv(ROOT_INO, "t", ROOT_INO, "z");
    assert_err!(e.rename(&r), Error::Invalid);
    let r = e.mv(ROOT_INO, "z", ROOT_INO, "t");
    assert_err!(e.rename(&r), Error::Invalid);
    let after = (
        e.counts(),
        e.inode(ROOT_INO),
        e.inode(p.ino),
        e.inode(t.ino),
    );
    assert_eq!(before, after);
    e.checkpoint("after refusals");

    for (d, n) in [
        (p.ino, "inside"),
        (ROOT_INO, "p"),
        (ROOT_INO, "q"),
        (ROOT_INO, "t"),
    ] {
        e.remove(d, n);
    }
    // "z" names x's inode now, "z2" the old z.
    assert_eq!(e.lookup(ROOT_INO, "z").unwrap().ino, x.ino);
    assert_eq!(e.lookup(ROOT_INO, "z2").unwrap().ino, z.ino);
    e.remove(ROOT_INO, "z");
    e.remove(ROOT_INO, "z2");
    e.assert_fresh();
}

pub fn rename_exchange<I: BlockIo>(e: &mut Env<I>)
where
    I::Error: Debug,
{
    let a = e.mkdir(ROOT_INO, "A");
    let b = e.mkdir(ROOT_INO, "B");
    let f = e.file(a.ino, "f");
    let g = e.mkdir(b.ino, "g");
    assert_eq!((e.inode(a.ino).nlink, e.inode(b.ino).nlink), (2, 3));
    let mut r = e.mv(a.ino, "f", b.ino, "g");
    r.exchange = true;
    let out = e.rename(&r).unwrap();
    assert_eq!(out.moved.ino, f.ino);
    let o = out.other.unwrap();
    assert_eq!((o.ino, o.nlink, o.ctime), (g.ino, 2, r.now));
    assert_eq!((out.moved.nlink, out.moved.ctime), (1, r.now));
    let InodeData::Dir(gr) = o.data else { panic!() };
    assert_eq!(gr.parent, a.ino);
    assert_eq!((out.old_dir.nlink, out.new_dir().nlink), (3, 2));
    let fa = e.lookup(a.ino, "f").unwrap();
    assert_eq!((fa.ino, fa.ftype), (g.ino, FT_DIR));
    let gb = e.lookup(b.ino, "g").unwrap();
    assert_eq!((gb.ino, gb.ftype), (f.ino, FT_REG));
    assert_eq!(e.inode(a.ino), out.old_dir);
    assert_eq!(e.inode(b.ino), *out.new_dir());
    e.checkpoint("file and directory exchanged");

    // In one directory.
    let h = e.file(b.ino, "h");
    let mut r = e.mv(b.ino, "g", b.ino, "h");
    r.exchange = true;
    e.rename(&r).unwrap();
    assert_eq!(e.lookup(b.ino, "g").unwrap().ino, h.ino);
    assert_eq!(e.lookup(b.ino, "h").unwrap().ino, f.ino);
    assert_eq!(e.inode(b.ino).nlink, 2);
    e.checkpoint("exchanged in one directory");

    let mut r = e.mv(b.ino, "g", b.ino, "missing");
    r.exchange = true;
    assert_err!(e.rename(&r), Error::NotFound);
    let mut r = e.mv(b.ino, "g", b.ino, "h");
    r.exchange = true;
    r.whiteout = Some(e.attr(S_IFCHR));
    assert_err!(e.rename(&r), Error::Invalid);

    e.remove(a.ino, "f");
    e.remove(b.ino, "g");
    e.remove(b.ino, "h");
    e.remove(ROOT_INO, "A");
    e.remove(ROOT_INO, "B");
    e.assert_fresh();
}

pub fn rename_whiteout<I: BlockIo>(e: &mut Env<I>)
where
    I::Error: Debug,
{
    let a = e.file(ROOT_INO, "a");
    let (_, i0) = e.counts();
    let mut r = e.mv(ROOT_INO, "a", ROOT_INO, "b");
    let mut w = e.attr(S_IFCHR);
    w.rdev = 0x1234;
    r.whiteout = Some(w);
    let out = e.rename(&r).unwrap();
    let wi = out.whiteout.unwrap();
    assert_eq!((wi.mode, wi.rdev, wi.nlink), (S_IFCHR, 0, 1));
    assert_eq!((wi.uid, wi.ctime), (1000, w.now));
    assert_eq!(e.inode(wi.ino), wi);
    let at_a = e.lookup(ROOT_INO, "a").unwrap();
    assert_eq!((at_a.ino, at_a.ftype), (wi.ino, FT_CHR));
    assert_eq!(e.lookup(ROOT_INO, "b").unwrap().ino, a.ino);
    assert_eq!(e.counts().1, i0 - 1);
    let InodeData::Dir(rr) = out.old_dir.data else {
        panic!()
    };
    assert_eq!(rr.entries, 2);
    e.checkpoint("whiteout");
    e.remove(ROOT_INO, "a");
    e.remove(ROOT_INO, "b");
    e.assert_fresh();
}

pub fn rename_dir_cross<I: BlockIo>(e: &mut Env<I>)
where
    I::Error: Debug,
{
    let p = e.mkdir(ROOT_INO, "P");
    let q = e.mkdir(ROOT_INO, "Q");
    let d = e.mkdir(p.ino, "D");
    e.file(d.ino, "file");
    let r = e.mv(p.ino, "D", q.ino, "E");
    let out = e.rename(&r).unwrap();
    let InodeData::Dir(dr) = out.moved.data else {
        panic!()
    };
    assert_eq!((dr.parent, dr.entries), (q.ino, 1));
    assert_eq!((out.old_dir.nlink, out.new_dir().nlink), (2, 3));
    assert_eq!(out.moved.nlink, 2);
    assert_eq!(e.inode(d.ino), out.moved);
    assert_eq!(e.lookup(q.ino, "E").unwrap().ino, d.ino);
    assert!(e.lookup(p.ino, "D").is_none());
    assert_eq!(e.inode(ROOT_INO).nlink, 4);
    e.checkpoint("directory moved");
    // A directory cannot move into itself.
    let r = e.mv(q.ino, "E", d.ino, "self");
    assert_err!(e.rename(&r), Error::Invalid);
    // Within one parent, link counts stay.
    let r = e.mv(q.ino, "E", q.ino, "F");
    let out = e.rename(&r).unwrap();
    assert_eq!(out.new_dir().nlink, 3);
    e.remove(d.ino, "file");
    e.remove(q.ino, "F");
    e.remove(ROOT_INO, "P");
    e.remove(ROOT_INO, "Q");
    e.assert_fresh();
}

pub fn rename_same_inode<I: BlockIo>(e: &mut Env<I>)
where
    I::Error: Debug,
{
    let a = e.file(ROOT_INO, "a");
    let now = e.tick();
    e.ctx().link(ROOT_INO, b"b", a.ino, now).unwrap();
    let before = (e.inode(ROOT_INO), e.inode(a.ino));
    let r = e.mv(ROOT_INO, "a", ROOT_INO, "b");
    let out = e.rename(&r).unwrap();
    assert!(out.other.is_none());
    let r = e.mv(ROOT_INO, "a", ROOT_INO, "a");
    e.rename(&r).unwrap();
    assert_eq!((e.inode(ROOT_INO), e.inode(a.ino)), before);
    assert_eq!(e.lookup(ROOT_INO, "a").unwrap().ino, a.ino);
    assert_eq!(e.lookup(ROOT_INO, "b").unwrap().ino, a.ino);
    e.checkpoint("no-op renames");
    e.remove(ROOT_INO, "a");
    e.remove(ROOT_INO, "b");
    e.assert_fresh();
}

pub fn symlinks<I: BlockIo>(e: &mut Env<I>)
where
    I::Error: Debug,
{
    let (c0, _) = e.counts();
    let mut out = [0u8; 4096];
    for (name, len) in [
        ("s1", 1usize),
        ("s140", 140),
        ("s141", 141),
        ("s4095", 4095),
    ] {
        let target: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
        let a = e.attr(0o777);
        let (_, s) = e
            .ctx()
            .symlink(ROOT_INO, name.as_bytes(), &target, &a)
            .unwrap();
        assert_eq!((s.mode, s.size, s.nlink), (S_IFLNK | 0o777, len as u64, 1));
        let inline = len <= INLINE_DATA_MAX;
        assert_eq!(s.flags, if inline { INODE_FLAG_INLINE } else { 0 });
        assert_eq!(s.blocks, if inline { 0 } else { 1 });
        let s = e.inode(s.ino);
        let n = e.ctx().read_link(&s, &mut out).unwrap();
        assert_eq!(&out[..n], &target[..]);
        assert_err!(e.ctx().read_link(&s, &mut out[..len - 1]), Error::Invalid);
        assert_eq!(e.lookup(ROOT_INO, name).unwrap().ftype, FT_LNK);
        e.check_blocks(s.ino);
        if !inline {
            let ExtentLookup::Mapped(x) = e.ctx().map(&s, 0).unwrap() else {
                panic!()
            };
            assert_eq!((x.logical, x.len), (0, 1));
        }
    }
    // Two data blocks and the root's leaf.
    assert_eq!(e.counts().0, c0 - 3);
    e.checkpoint("four symlinks");
    let a = e.attr(0o777);
    assert_err!(
        e.ctx().symlink(ROOT_INO, b"x", &[b'x'; 4096], &a),
        Error::NameTooLong
    );
    assert_err!(e.ctx().symlink(ROOT_INO, b"x", b"", &a), Error::Invalid);
    assert_err!(e.ctx().symlink(ROOT_INO, b"s1", b"t", &a), Error::Exists);
    let f = e.file(ROOT_INO, "f");
    assert_err!(e.ctx().read_link(&f, &mut out), Error::Invalid);
    for n in ["s1", "s140", "s141", "s4095", "f"] {
        e.remove(ROOT_INO, n);
    }
    e.assert_fresh();
}

pub fn tmpfile_link<I: BlockIo>(e: &mut Env<I>)
where
    I::Error: Debug,
{
    let a = e.attr(S_IFREG | 0o600);
    let t = e.ctx().create_tmpfile(&a).unwrap();
    assert_eq!((t.nlink, t.mode, t.ctime), (0, S_IFREG | 0o600, a.now));
    assert_eq!(e.inode(t.ino), t);
    assert_eq!(e.orphans(), vec![t.ino]);
    let t = e.fill(t.ino, 4);
    let now = e.tick();
    let (_, l) = e.ctx().link(ROOT_INO, b"kept", t.ino, now).unwrap();
    assert_eq!((l.nlink, l.blocks), (1, 4));
    assert!(e.orphans().is_empty());
    e.checkpoint("tmpfile linked");
    for mode in [S_IFDIR | 0o755, S_IFLNK | 0o777, 0] {
        let a = e.attr(mode);
        assert_err!(e.ctx().create_tmpfile(&a), Error::Invalid);
    }
    let a = e.attr(S_IFREG | 0o600);
    let u = e.ctx().create_tmpfile(&a).unwrap();
    e.fill(u.ino, 600);
    assert_eq!(e.free(u.ino, 32), 1);
    e.remove(ROOT_INO, "kept");
    e.assert_fresh();
}

pub fn alloc_large<I: BlockIo>(e: &mut Env<I>)
where
    I::Error: Debug,
{
    let mut f = e.file(ROOT_INO, "big");
    // The root's leaf took the first data block.
    let mut c = e.ctx();
    let x = c.alloc(&mut f, 0, 2000, MAX_FILE_BLOCKS).unwrap();
    // Counted as one whole aligned 2 MiB extent.
    assert_eq!(
        c.allocs,
        AllocEvents {
            extents: 1,
            huge: 1,
            huge_fallbacks: 0
        }
    );
    assert_eq!(
        x,
        Extent {
            logical: 0,
            physical: 1024,
            len: 512
        }
    );
    assert_eq!(f.blocks, 512);
    let x = e.ctx().alloc(&mut f, 512, 1488, MAX_FILE_BLOCKS).unwrap();
    assert_eq!(
        x,
        Extent {
            logical: 512,
            physical: 1536,
            len: 512
        }
    );
    // Merged with the first.
    assert_eq!(
        e.ctx().map(&f, 700).unwrap(),
        ExtentLookup::Mapped(Extent {
            logical: 0,
            physical: 1024,
            len: 1024
        })
    );
    // A write far out gets the whole aligned chunk around it.
    assert_eq!(
        e.ctx().map(&f, 5000).unwrap(),
        ExtentLookup::Hole {
            end: MAX_FILE_BLOCKS
        }
    );
    let x = e.ctx().alloc(&mut f, 5000, 1, MAX_FILE_BLOCKS).unwrap();
    assert_eq!(
        x,
        Extent {
            logical: 4608,
            physical: 2048,
            len: 512
        }
    );
    assert!(x.logical < 5000 && x.end() > 5000);
    // A bounded hole inside a large file: small, from the first partial chunk.
    assert_eq!(
        e.ctx().map(&f, 1030).unwrap(),
        ExtentLookup::Hole { end: 4608 }
    );
    // The search starts at the goal's chunk (after the extent before: 2048) and wraps: the
    // last chunk (31) is the first partial chunk it meets.
    let x = e.ctx().alloc(&mut f, 1030, 70, 1100).unwrap();
    assert_eq!(
        x,
        Extent {
            logical: 1030,
            physical: 15872,
            len: 70
        }
    );
    assert_eq!(f.blocks, 3 * 512 + 70);
    assert_eq!(e.inode(f.ino), f);
    e.check_blocks(f.ino);
    assert_eq!(e.counts().0, FREE_BLOCKS - 1 - 3 * 512 - 70);
    // Chunk-aligned extents of a file made in one go.
    let g = e.file(ROOT_INO, "g");
    e.fill(g.ino, 1500);
    let xs = e.extents(g.ino);
    assert_eq!(xs[0].logical, 0);
    assert_eq!(xs[0].physical % 512, 0);
    assert_eq!(xs[0].len, 1024);
    assert_eq!(xs.iter().map(|x| x.len).sum::<u64>(), 1500);
    assert_eq!(e.check_blocks(g.ino), 1500);
    e.checkpoint("large files");
    e.remove(ROOT_INO, "big");
    e.remove(ROOT_INO, "g");
    e.assert_fresh();
}

pub fn alloc_small_policy<I: BlockIo>(e: &mut Env<I>)
where
    I::Error: Debug,
{
    let mut s = e.file(ROOT_INO, "s");
    // Near the inode (the data area shared out among the inodes: 15868 / 4096 = 3 blocks
    // each, block 521 for inode 2), in the partial chunk 1 (blocks 512..1024).
    let mut c = e.ctx();
    let x = c.alloc(&mut s, 0, 10, MAX_FILE_BLOCKS).unwrap();
    // A small request wants no 2 MiB extent: neither one nor a fallback.
    assert_eq!(
        (c.allocs.extents, c.allocs.huge, c.allocs.huge_fallbacks),
        (1, 0, 0)
    );
    assert_eq!(
        x,
        Extent {
            logical: 0,
            physical: 521,
            len: 10
        }
    );
    // Appends continue in place.
    let x = e.ctx().alloc(&mut s, 10, 5, MAX_FILE_BLOCKS).unwrap();
    assert_eq!(
        x,
        Extent {
            logical: 10,
            physical: 531,
            len: 5
        }
    );
    for l in 15..35 {
        let x = e.ctx().alloc(&mut s, l, 1, MAX_FILE_BLOCKS).unwrap();
        assert_eq!(x.physical, 521 + l);
    }
    assert_eq!(
        e.extents(s.ino),
        vec![Extent {
            logical: 0,
            physical: 521,
            len: 35
        }]
    );
    let InodeData::Extents(r) = e.inode(s.ino).data else {
        panic!()
    };
    assert_eq!((r.count, r.tree.blk), (1, 0));

    // Small files fill the partial chunks (1, then the last one, 31) before any free chunk is
    // broken, and then take a free chunk from its start.
    let mut k = 0;
    let mut phys = Vec::new();
    loop {
        let f = e.file(ROOT_INO, &format!("f{k}"));
        k += 1;
        let x = e.fill(f.ino, 200);
        assert_eq!(x.blocks, 200);
        let xs = e.extents(f.ino);
        phys.extend(xs.iter().map(|x| (x.physical, x.len)));
        if xs.iter().any(|x| x.physical >= 1024 && x.physical < 15872) {
            break;
        }
    }
    let first_free_chunk = phys
        .iter()
        .position(|(p, _)| *p >= 1024 && *p < 15872)
        .unwrap();
    for (p, l) in &phys[..first_free_chunk] {
        assert!(
            (*p >= 512 && p + l <= 1024) || (*p >= 15872 && p + l <= 16383),
            "run {p}+{l} outside the partial chunks"
        );
    }
    assert_eq!(phys[first_free_chunk].0, 1024);
    let used_before: u64 = phys[..first_free_chunk].iter().map(|(_, l)| l).sum();
    // Chunk 1 had 512 - 3 (fixed metadata) - 1 (root leaf) - 35 (s) blocks free; chunk 31 had
    // 511.
    assert_eq!(used_before, (512 - 3 - 1 - 35) + 511);
    e.checkpoint("partial chunks full");
    for i in 0..k {
        e.remove(ROOT_INO, &format!("f{i}"));
    }
    e.remove(ROOT_INO, "s");
    e.assert_fresh();
}

pub fn alloc_checks<I: BlockIo>(e: &mut Env<I>)
where
    I::Error: Debug,
{
    let mut f = e.file(ROOT_INO, "f");
    e.ctx().alloc(&mut f, 10, 10, 20).unwrap();
    let before = (e.counts(), e.inode(f.ino));
    assert_err!(e.ctx().alloc(&mut f, 0, 0, 10), Error::Invalid);
    assert_err!(e.ctx().alloc(&mut f, 5, 1, 5), Error::Invalid);
    assert_err!(e.ctx().alloc(&mut f, 15, 1, 30), Error::Exists);
    assert_err!(
        e.ctx().alloc(&mut f, MAX_FILE_BLOCKS, 1, MAX_FILE_BLOCKS),
        Error::FileTooBig
    );
    assert_err!(e.ctx().map(&f, MAX_FILE_BLOCKS), Error::FileTooBig);
    let mut root = e.inode(ROOT_INO);
    assert_err!(e.ctx().alloc(&mut root, 0, 1, 1), Error::Invalid);
    assert_err!(e.ctx().map(&root, 0), Error::Invalid);
    assert_eq!(before, (e.counts(), e.inode(f.ino)));
    // A hole end past the next extent is clipped to it.
    let x = e.ctx().alloc(&mut f, 0, 100, 100).unwrap();
    assert!(x.logical == 0 && x.end() <= 10, "{x:?}");
    // An extent outside the data area is corruption, not a mapping.
    let good = e.inode(f.ino);
    let mut bad = good;
    let InodeData::Extents(mut r) = bad.data else {
        panic!()
    };
    r.inline[0].physical = e.sb.layout.inode_table_start;
    bad.data = InodeData::Extents(r);
    e.ctx().write_inode(&bad).unwrap();
    assert_err!(
        e.ctx().map(&bad, 0),
        Error::Corrupt(Corrupt::BlockOutOfRange(_))
    );
    e.ctx().write_inode(&good).unwrap();
    e.checkpoint("after refusals");
    e.remove(ROOT_INO, "f");
    e.assert_fresh();
}

pub fn punch_budget<I: BlockIo>(e: &mut Env<I>)
where
    I::Error: Debug,
{
    let f = e.file(ROOT_INO, "frag");
    let mut f = e.fragment(f.ino, 20);
    // 20 extents: a leaf block.
    assert_eq!(e.check_blocks(f.ino), 21);
    let (c0, _) = e.counts();
    let mut calls = vec![];
    loop {
        let done = e.ctx().punch(&mut f, 5, 31, 3).unwrap();
        calls.push(done);
        assert_eq!(e.inode(f.ino), f);
        if done {
            break;
        }
    }
    // 13 extents (file blocks 6, 8, .., 30), 3 per call.
    assert_eq!(calls, vec![false, false, false, false, true]);
    assert_eq!(f.blocks, 21 - 13);
    assert_eq!(e.check_blocks(f.ino), 8);
    assert_eq!(e.counts().0, c0 + 13);
    assert_eq!(e.ctx().map(&f, 5).unwrap(), ExtentLookup::Hole { end: 32 });
    assert!(matches!(
        e.ctx().map(&f, 4).unwrap(),
        ExtentLookup::Mapped(_)
    ));
    e.checkpoint("punched with a budget");

    // Splitting one extent.
    let g = e.file(ROOT_INO, "g");
    let mut g = e.fill(g.ino, 512);
    let p = e.extents(g.ino)[0].physical;
    let (c0, _) = e.counts();
    assert!(e.ctx().punch(&mut g, 100, 200, 1).unwrap());
    assert_eq!(g.blocks, 412);
    assert_eq!(e.counts().0, c0 + 100);
    assert_eq!(
        e.extents(g.ino),
        vec![
            Extent {
                logical: 0,
                physical: p,
                len: 100
            },
            Extent {
                logical: 200,
                physical: p + 200,
                len: 312
            },
        ]
    );
    assert_eq!(
        e.ctx().map(&g, 150).unwrap(),
        ExtentLookup::Hole { end: 200 }
    );
    e.checkpoint("extent split");
    // Nothing mapped: done, nothing written.
    assert!(e.ctx().punch(&mut g, 1000, 2000, 1).unwrap());
    assert!(e.ctx().punch(&mut g, 300, 300, 1).unwrap());
    // Budget 0 counts as 1; the tail of the file.
    assert!(!e.ctx().punch(&mut g, 50, MAX_FILE_BLOCKS, 0).unwrap());
    assert!(e.ctx().punch(&mut g, 50, MAX_FILE_BLOCKS, 0).unwrap());
    assert_eq!(
        e.extents(g.ino),
        vec![Extent {
            logical: 0,
            physical: p,
            len: 50
        }]
    );
    assert_eq!(e.check_blocks(g.ino), 50);
    let mut d = e.inode(ROOT_INO);
    assert_err!(e.ctx().punch(&mut d, 0, 1, 1), Error::Invalid);
    e.remove(ROOT_INO, "frag");
    e.remove(ROOT_INO, "g");
    e.assert_fresh();
}

pub fn free_inode_chunked<I: BlockIo>(e: &mut Env<I>)
where
    I::Error: Debug,
{
    let f = e.file(ROOT_INO, "f");
    e.fragment(f.ino, 20);
    let now = e.tick();
    e.ctx().unlink(ROOT_INO, b"f", now).unwrap();
    let mut calls = 0;
    loop {
        calls += 1;
        let done = e.ctx().free_inode(f.ino, 4).unwrap();
        if done {
            break;
        }
        // Progress is written: the inode stays exact between calls.
        let left = e.check_blocks(f.ino);
        assert_eq!(left, 21 - 4 * calls);
        assert_eq!(e.orphans(), vec![f.ino]);
    }
    assert_eq!(calls, 5);
    assert!(e.orphans().is_empty());
    e.checkpoint("freed in five calls");
    // Other kinds free in one call.
    let d = e.mkdir(ROOT_INO, "d");
    let a = e.attr(S_IFLNK | 0o777);
    let (_, s) = e.ctx().symlink(ROOT_INO, b"s", b"short", &a).unwrap();
    let a = e.attr(S_IFIFO | 0o600);
    let (_, p) = e.ctx().create(ROOT_INO, b"p", &a).unwrap();
    let now = e.tick();
    e.ctx().rmdir(ROOT_INO, b"d", now).unwrap();
    e.ctx().unlink(ROOT_INO, b"s", now).unwrap();
    e.ctx().unlink(ROOT_INO, b"p", now).unwrap();
    for ino in [d.ino, s.ino, p.ino] {
        assert!(e.ctx().free_inode(ino, 1).unwrap());
    }
    e.assert_fresh();
}

pub fn orphans_scan<I: BlockIo>(e: &mut Env<I>)
where
    I::Error: Debug,
{
    let inos: Vec<u64> = ["a", "b", "c", "d"]
        .iter()
        .map(|n| e.file(ROOT_INO, n).ino)
        .collect();
    let now = e.tick();
    e.ctx().unlink(ROOT_INO, b"b", now).unwrap();
    e.ctx().unlink(ROOT_INO, b"d", now).unwrap();
    let a = e.attr(S_IFREG | 0o600);
    let t = e.ctx().create_tmpfile(&a).unwrap();
    assert_eq!(e.orphans(), vec![inos[1], inos[3], t.ino]);
    for ino in [inos[1], inos[3], t.ino] {
        e.free(ino, 1);
    }
    assert!(e.orphans().is_empty());
    e.checkpoint("orphans freed");
    e.remove(ROOT_INO, "a");
    e.remove(ROOT_INO, "c");
    e.assert_fresh();
}

pub fn inode_exhaustion<I: BlockIo>(e: &mut Env<I>)
where
    I::Error: Debug,
{
    let mut n = 0u64;
    loop {
        let a = e.attr(S_IFREG | 0o644);
        match e.ctx().create(ROOT_INO, format!("f{n}").as_bytes(), &a) {
            Ok(_) => n += 1,
            Err(Error::NoSpace) => break,
            Err(x) => panic!("{x:?}"),
        }
    }
    assert_eq!(n, FREE_INODES);
    assert_eq!(e.counts().1, 0);
    let before = (e.counts(), e.inode(ROOT_INO));
    let a = e.attr(S_IFREG | 0o644);
    assert_err!(e.ctx().create_tmpfile(&a), Error::NoSpace);
    assert_err!(e.ctx().symlink(ROOT_INO, b"s", b"t", &a), Error::NoSpace);
    assert_err!(
        e.ctx().symlink(ROOT_INO, b"s", &[b't'; 200], &a),
        Error::NoSpace
    );
    let mut r = e.mv(ROOT_INO, "f0", ROOT_INO, "moved");
    r.whiteout = Some(a);
    assert_err!(e.rename(&r), Error::NoSpace);
    assert_eq!(before, (e.counts(), e.inode(ROOT_INO)));
    assert!(e.lookup(ROOT_INO, "f0").is_some());
    e.check_blocks(ROOT_INO);
    e.checkpoint("no inode free");
    for i in 0..n {
        e.remove(ROOT_INO, &format!("f{i}"));
    }
    e.assert_fresh();
}

pub fn device_full<I: BlockIo>(e: &mut Env<I>)
where
    I::Error: Debug,
{
    let mut f = e.file(ROOT_INO, "big");
    let mut lblk = 0;
    loop {
        match e.ctx().alloc(&mut f, lblk, 512, MAX_FILE_BLOCKS) {
            Ok(x) => lblk = x.end(),
            Err(Error::NoSpace) => break,
            Err(x) => panic!("{x:?}"),
        }
    }
    // Everything but the root's leaf.
    assert_eq!(lblk, FREE_BLOCKS - 1);
    assert_eq!(e.counts().0, 0);
    assert_eq!(e.check_blocks(f.ino), FREE_BLOCKS - 1);
    assert_eq!(e.inode(f.ino), f);
    // Whole 2 MiB chunks first, then the partial chunks.
    let xs = e.extents(f.ino);
    assert_eq!(
        xs[0],
        Extent {
            logical: 0,
            physical: 1024,
            len: 29 * 512 + 511
        }
    );
    assert_eq!(
        xs[1],
        Extent {
            logical: 29 * 512 + 511,
            physical: 516,
            len: 508
        }
    );
    assert_eq!(xs.len(), 2);

    // Refusals leave everything as it was.
    let before = (e.counts(), e.inode(f.ino), e.inode(ROOT_INO));
    assert_err!(
        e.ctx().alloc(&mut f, lblk, 1, MAX_FILE_BLOCKS),
        Error::NoSpace
    );
    let a = e.attr(0o777);
    assert_err!(
        e.ctx().symlink(ROOT_INO, b"long", &[b'l'; 300], &a),
        Error::NoSpace
    );
    assert_eq!(before, (e.counts(), e.inode(f.ino), e.inode(ROOT_INO)));
    e.checkpoint("no block free");
    // Names still fit in the root's leaf until it must split.
    let mut n = 0;
    loop {
        let a = e.attr(S_IFREG | 0o644);
        let (_, i0) = e.counts();
        match e
            .ctx()
            .create(ROOT_INO, format!("name-{n:04}").as_bytes(), &a)
        {
            Ok(_) => n += 1,
            Err(Error::NoSpace) => {
                assert_eq!(e.counts(), (0, i0));
                break;
            }
            Err(x) => panic!("{x:?}"),
        }
    }
    assert!(n > 50, "{n}");
    assert_eq!(e.check_blocks(ROOT_INO), 1);
    let g = e.lookup(ROOT_INO, "name-0000").unwrap().ino;
    let mut g = e.inode(g);
    assert_err!(e.ctx().alloc(&mut g, 0, 1, 1), Error::NoSpace);
    e.checkpoint("root leaf full");

    // Freeing makes room again.
    assert!(e.ctx().punch(&mut f, 0, 100, 1).unwrap());
    assert_eq!(e.counts().0, 100);
    let x = e.ctx().alloc(&mut g, 0, 1, 1).unwrap();
    assert_eq!(x.physical, 1024);
    for i in 0..n {
        e.remove(ROOT_INO, &format!("name-{i:04}"));
    }
    e.remove(ROOT_INO, "big");
    e.assert_fresh();
}

/// Sets `name` of `index` on `ino` to `value` (`None`: removes it).
fn setx<I: BlockIo>(
    e: &mut Env<I>,
    ino: u64,
    index: u8,
    name: &str,
    value: Option<&[u8]>,
    mode: XattrMode,
) -> Result<DiskInode, Error<I::Error>>
where
    I::Error: Debug,
{
    let now = e.tick();
    e.ctx()
        .xattr_set(ino, index, name.as_bytes(), value, mode, now)
}

/// The value of `name` of `index` on `ino`, if any.
fn getx<I: BlockIo>(e: &mut Env<I>, ino: u64, index: u8, name: &str) -> Option<Vec<u8>>
where
    I::Error: Debug,
{
    let len = match e.ctx().xattr_get(ino, index, name.as_bytes(), &mut []) {
        Ok(n) => n,
        Err(Error::NotFound) => return None,
        Err(x) => panic!("{x:?}"),
    };
    let mut v = vec![0u8; len];
    // A buffer one byte short gets the length only.
    if len > 0 {
        let mut short = vec![0xee; len - 1];
        assert_eq!(
            e.ctx()
                .xattr_get(ino, index, name.as_bytes(), &mut short)
                .unwrap(),
            len
        );
        assert!(short.iter().all(|&b| b == 0xee));
    }
    assert_eq!(
        e.ctx()
            .xattr_get(ino, index, name.as_bytes(), &mut v)
            .unwrap(),
        len
    );
    Some(v)
}

/// Every attribute of `ino`, in order.
fn listx<I: BlockIo>(e: &mut Env<I>, ino: u64) -> Vec<(u8, String)>
where
    I::Error: Debug,
{
    let mut v = Vec::new();
    e.ctx()
        .xattr_list(ino, &mut |i, n| {
            v.push((i, String::from_utf8_lossy(n).into_owned()))
        })
        .unwrap();
    v
}

pub fn xattrs<I: BlockIo>(e: &mut Env<I>)
where
    I::Error: Debug,
{
    use XattrMode::*;
    let f = e.file(ROOT_INO, "f");
    let (u, t, acl) = (
        XATTR_INDEX_USER,
        XATTR_INDEX_TRUSTED,
        XATTR_INDEX_POSIX_ACL_ACCESS,
    );
    assert_eq!(getx(e, f.ino, u, "a"), None);
    assert_eq!(listx(e, f.ino), vec![]);
    // Too long for the 12 bytes a regular file's record has free: in the block.
    let r = setx(e, f.ino, u, "b", Some(b"two-two-two"), Any).unwrap();
    assert_eq!((r.blocks, r.ctime.sec), (1, e.clock));
    assert_ne!(r.xattr, 0);
    assert!(e.ix(f.ino).is_empty());
    setx(e, f.ino, t, "a", Some(b""), Create).unwrap();
    setx(e, f.ino, u, "a", Some(b"one"), Create).unwrap();
    setx(e, f.ino, acl, "", Some(&[2, 0, 0, 0]), Any).unwrap();
    // trusted.a (5 bytes) is in the record, the others in the block; listed in order.
    assert_eq!(
        e.ix(f.ino)
            .entries()
            .map(|x| (x.index, x.name.to_vec()))
            .collect::<Vec<_>>(),
        [(t, b"a".to_vec())]
    );
    assert_eq!(
        listx(e, f.ino),
        vec![
            (u, "a".into()),
            (u, "b".into()),
            (acl, "".into()),
            (t, "a".into())
        ]
    );
    assert_eq!(getx(e, f.ino, u, "a").unwrap(), b"one");
    assert_eq!(getx(e, f.ino, t, "a").unwrap(), b"");
    assert_eq!(getx(e, f.ino, u, "c"), None);
    // XATTR_CREATE of an existing one, XATTR_REPLACE or removal of a missing one: refused, and
    // nothing changes.
    let before = e.inode(f.ino);
    assert_err!(setx(e, f.ino, u, "a", Some(b"x"), Create), Error::Exists);
    assert_err!(setx(e, f.ino, u, "c", Some(b"x"), Replace), Error::NotFound);
    assert_err!(setx(e, f.ino, u, "c", None, Any), Error::NotFound);
    assert_eq!(e.inode(f.ino), before);
    // Over the limits.
    let long = "n".repeat(256);
    assert_err!(setx(e, f.ino, u, &long, Some(b"x"), Any), Error::Invalid);
    assert_err!(
        setx(e, f.ino, u, "big", Some(&vec![1; 65537]), Any),
        Error::Invalid
    );
    // The largest value, in 16 value blocks; then a name of 255 bytes.
    let big: Vec<u8> = (0..65536u32).map(|i| (i * 7 % 251) as u8).collect();
    setx(e, f.ino, u, "big", Some(&big), Any).unwrap();
    assert_eq!(getx(e, f.ino, u, "big").unwrap(), big);
    assert_eq!(e.check_blocks(f.ino), 17);
    setx(e, f.ino, u, &"n".repeat(255), Some(b"v"), Any).unwrap();
    // A value just over the inline limit takes one value block; replacing it by a short one frees
    // that block.
    let mid = vec![9u8; XATTR_INLINE_VALUE_MAX + 1];
    setx(e, f.ino, u, "big", Some(&mid), Replace).unwrap();
    assert_eq!(e.check_blocks(f.ino), 2);
    assert_eq!(getx(e, f.ino, u, "big").unwrap(), mid);
    setx(
        e,
        f.ino,
        u,
        "big",
        Some(&mid[..XATTR_INLINE_VALUE_MAX]),
        Replace,
    )
    .unwrap();
    assert_eq!(e.check_blocks(f.ino), 1);
    // A corrupt value block is found by its checksum.
    setx(e, f.ino, u, "big", Some(&big), Replace).unwrap();
    let blk = {
        let x = e.inode(f.ino).xattr;
        e.io.read(x, &mut e.scratch.a).unwrap();
        let b = xattr_entries(&e.scratch.a)
            .find(|x| x.name == b"big")
            .unwrap()
            .value
            .blocks()
            .nth(3)
            .unwrap();
        b
    };
    let mut raw = [0u8; BLOCK_SIZE];
    e.io.read(blk, &mut raw).unwrap();
    raw[100] ^= 1;
    e.io.write(blk, &raw).unwrap();
    let mut out = vec![0u8; 65536];
    assert_err!(
        e.ctx().xattr_get(f.ino, u, b"big", &mut out),
        Error::Corrupt(Corrupt::BadXattr(_))
    );
    raw[100] ^= 1;
    e.io.write(blk, &raw).unwrap();
    // Removing every attribute frees the block.
    for (i, n) in listx(e, f.ino) {
        setx(e, f.ino, i, &n, None, Any).unwrap();
    }
    let r = e.inode(f.ino);
    assert_eq!((r.xattr, r.blocks), (0, 0));
    // A file freed with its attributes frees them too.
    let g = e.file(ROOT_INO, "g");
    setx(e, g.ino, u, "big", Some(&big), Any).unwrap();
    setx(e, g.ino, u, "small", Some(b"s"), Any).unwrap();
    let d = e.mkdir(ROOT_INO, "d");
    setx(
        e,
        d.ino,
        XATTR_INDEX_POSIX_ACL_DEFAULT,
        "",
        Some(&[2, 0, 0, 0]),
        Any,
    )
    .unwrap();
    // A directory's record has room for a default ACL: no block.
    assert_eq!((e.check_blocks(d.ino), e.inode(d.ino).xattr), (0, 0));
    e.remove(ROOT_INO, "f");
    e.remove(ROOT_INO, "g");
    e.remove(ROOT_INO, "d");
    e.assert_fresh();
}

/// The names of the attributes in the record of `ino`, in order.
fn inline_names<I: BlockIo>(e: &mut Env<I>, ino: u64) -> Vec<String>
where
    I::Error: Debug,
{
    e.ix(ino)
        .entries()
        .map(|x| String::from_utf8_lossy(x.name).into_owned())
        .collect()
}

pub fn xattrs_inline<I: BlockIo>(e: &mut Env<I>)
where
    I::Error: Debug,
{
    use XattrMode::*;
    let u = XATTR_INDEX_USER;
    let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    // A directory has 108 bytes in its record; an entry takes 4 + name + value.
    let d = e.mkdir(ROOT_INO, "d");
    assert_eq!(d.xattr_room(), 108);
    let r = setx(e, d.ino, u, "a", Some(&[1; 50]), Any).unwrap();
    assert_eq!((r.xattr, r.blocks, e.ix(d.ino).used()), (0, 0, 55));
    assert_eq!(r.ctime.sec, e.clock);
    // 55 + 54 > 108: to the block. 55 + 53 = 108: in the record, which is then full.
    let r = setx(e, d.ino, u, "b", Some(&[2; 49]), Any).unwrap();
    assert_ne!(r.xattr, 0);
    assert_eq!((r.blocks, e.ix(d.ino).used()), (1, 55));
    setx(e, d.ino, u, "c", Some(&[3; 48]), Any).unwrap();
    assert_eq!(e.ix(d.ino).used(), 108);
    assert_eq!(inline_names(e, d.ino), names(&["a", "c"]));
    assert_eq!(
        listx(e, d.ino),
        vec![(u, "a".into()), (u, "b".into()), (u, "c".into())]
    );
    assert_eq!(getx(e, d.ino, u, "a").unwrap(), [1; 50]);
    assert_eq!(getx(e, d.ino, u, "b").unwrap(), [2; 49]);
    assert_eq!(getx(e, d.ino, u, "c").unwrap(), [3; 48]);
    // Create of one in the record, replace or remove of a missing one: refused, nothing changed.
    let before = (e.inode(d.ino), e.ix(d.ino));
    assert_err!(setx(e, d.ino, u, "c", Some(b"x"), Create), Error::Exists);
    assert_err!(setx(e, d.ino, u, "z", Some(b"x"), Replace), Error::NotFound);
    assert_eq!((e.inode(d.ino), e.ix(d.ino)), before);
    // Growing one past the room moves it to the block...
    setx(e, d.ino, u, "a", Some(&[9; 60]), Replace).unwrap();
    assert_eq!(inline_names(e, d.ino), names(&["c"]));
    assert_eq!(getx(e, d.ino, u, "a").unwrap(), [9; 60]);
    // ... and shrinking it back, with the block's last other entry removed, frees the block.
    setx(e, d.ino, u, "b", None, Any).unwrap();
    let r = setx(e, d.ino, u, "a", Some(b"x"), Replace).unwrap();
    assert_eq!((r.xattr, r.blocks), (0, 0));
    assert_eq!(inline_names(e, d.ino), names(&["a", "c"]));
    assert_eq!(listx(e, d.ino), vec![(u, "a".into()), (u, "c".into())]);
    // The record keeps them through the directory's own changes.
    for i in 0..40 {
        e.file(d.ino, &format!("f{i}"));
    }
    let x = e.mkdir(ROOT_INO, "x");
    let mv = e.mv(ROOT_INO, "d", x.ino, "d2");
    e.rename(&mv).unwrap();
    assert_eq!(getx(e, d.ino, u, "a").unwrap(), b"x");
    assert_eq!(getx(e, d.ino, u, "c").unwrap(), [3; 48]);
    e.check_blocks(d.ino);

    // A regular file has 12 bytes past its extent root; they stay through writes.
    let f = e.file(ROOT_INO, "f");
    assert_eq!(f.xattr_room(), 12);
    let r = setx(e, f.ino, u, "a", Some(b"1234567"), Any).unwrap();
    assert_eq!((r.xattr, e.ix(f.ino).used()), (0, 12));
    let r = setx(e, f.ino, u, "b", Some(b""), Any).unwrap();
    assert_ne!(r.xattr, 0);
    e.fragment(f.ino, 20);
    assert_eq!(getx(e, f.ino, u, "a").unwrap(), b"1234567");
    assert_eq!(listx(e, f.ino), vec![(u, "a".into()), (u, "b".into())]);
    e.check_blocks(f.ino);

    // Devices, FIFOs and sockets have the whole 140 bytes; a short symlink what its target
    // leaves.
    let mut a = e.attr(S_IFIFO | 0o600);
    a.rdev = 0;
    let (_, p) = e.ctx().create(ROOT_INO, b"p", &a).unwrap();
    assert_eq!(p.xattr_room(), 140);
    let r = setx(e, p.ino, u, "p", Some(&[7; 135]), Any).unwrap();
    assert_eq!((r.xattr, e.ix(p.ino).used()), (0, 140));
    let a = e.attr(0o777);
    let (_, l) = e.ctx().symlink(ROOT_INO, b"l", &[b't'; 100], &a).unwrap();
    assert_eq!(l.xattr_room(), 40);
    setx(e, l.ino, u, "l", Some(&[8; 35]), Any).unwrap();
    let l = e.inode(l.ino);
    let mut out = [0u8; 200];
    let n = e.ctx().read_link(&l, &mut out).unwrap();
    assert_eq!(&out[..n], &[b't'; 100][..]);
    assert_eq!(getx(e, l.ino, u, "l").unwrap(), [8; 35]);
    assert_eq!(l.xattr, 0);

    // Everything freed with its inode.
    for i in 0..40 {
        e.remove(d.ino, &format!("f{i}"));
    }
    e.remove(x.ino, "d2");
    for n in ["x", "f", "p", "l"] {
        e.remove(ROOT_INO, n);
    }
    e.assert_fresh();
}

pub fn xattrs_full<I: BlockIo>(e: &mut Env<I>)
where
    I::Error: Debug,
{
    let f = e.file(ROOT_INO, "f");
    let u = XATTR_INDEX_USER;
    // Entries of 8 + 4 + 100 bytes, padded to 112: 36 fit in the block's 4060 bytes.
    let v = [5u8; 100];
    for i in 0..36 {
        setx(e, f.ino, u, &format!("{i:04}"), Some(&v), XattrMode::Any).unwrap();
    }
    let before = (e.inode(f.ino), e.counts());
    assert_err!(
        setx(e, f.ino, u, "more", Some(&v), XattrMode::Any),
        Error::NoSpace
    );
    // Growing one does not fit either; a value of the same size does.
    assert_err!(
        setx(e, f.ino, u, "0007", Some(&[1u8; 200]), XattrMode::Any),
        Error::NoSpace
    );
    assert_eq!((e.inode(f.ino), e.counts()), before);
    setx(e, f.ino, u, "0007", Some(&[1u8; 100]), XattrMode::Any).unwrap();
    // A long value goes to value blocks, so its entry is small: it fits after one removal.
    setx(e, f.ino, u, "0000", None, XattrMode::Any).unwrap();
    setx(e, f.ino, u, "long", Some(&[3u8; 5000]), XattrMode::Any).unwrap();
    assert_eq!(e.check_blocks(f.ino), 3);
    assert_eq!(listx(e, f.ino).len(), 36);
    e.remove(ROOT_INO, "f");
    e.assert_fresh();
}

/// (file block, device block) of every mapped block of `ino`.
fn block_map<I: BlockIo>(e: &mut Env<I>, ino: u64) -> Vec<(u64, u64)>
where
    I::Error: Debug,
{
    let mut v = Vec::new();
    for x in e.extents(ino) {
        for k in 0..x.len {
            v.push((x.logical + k, x.physical + k));
        }
    }
    v
}

pub fn shift_extents<I: BlockIo>(e: &mut Env<I>)
where
    I::Error: Debug,
{
    // 300 one-block extents at file blocks 0, 2, .. 598: a tree of several leaves.
    let f = e.file(ROOT_INO, "f");
    e.fragment(f.ino, 300);
    let before = block_map(e, f.ino);
    // Collapse file blocks 100..110: punched, then everything from 110 moves down by 10, a few
    // extents per step.
    let mut i = e.inode(f.ino);
    while !e.ctx().punch(&mut i, 100, 110, 8).unwrap() {}
    let mut cursor = Some(110);
    let mut steps = 0;
    while let Some(c) = cursor {
        cursor = e.ctx().shift_down(&mut i, c, 10, 7).unwrap();
        steps += 1;
        assert_eq!(e.inode(f.ino), i);
        e.check_blocks(f.ino);
    }
    assert!(steps > 30, "{steps} steps");
    let want: Vec<(u64, u64)> = before
        .iter()
        .filter(|(l, _)| !(100..110).contains(l))
        .map(|&(l, p)| if l >= 110 { (l - 10, p) } else { (l, p) })
        .collect();
    assert_eq!(block_map(e, f.ino), want);
    // A hole that is not punched: the crossing extent is refused.
    let g = e.file(ROOT_INO, "g");
    e.fill(g.ino, 20);
    let mut gi = e.inode(g.ino);
    assert_err!(e.ctx().shift_down(&mut gi, 10, 5, 4), Error::Invalid);

    // Insert 5 blocks at file block 301 (inside the extent at 300? it is at 290 now): every
    // extent at or after it moves up by 5, the highest first; one that crosses it is split.
    let before = block_map(e, f.ino);
    let mut hi = Some(MAX_FILE_BLOCKS);
    while let Some(h) = hi {
        hi = e.ctx().shift_up(&mut i, 301, h, 5, 6).unwrap();
        assert_eq!(e.inode(f.ino), i);
        e.check_blocks(f.ino);
    }
    let want: Vec<(u64, u64)> = before
        .iter()
        .map(|&(l, p)| if l >= 301 { (l + 5, p) } else { (l, p) })
        .collect();
    assert_eq!(block_map(e, f.ino), want);
    // The file's 20-block extent split in its middle.
    let mut gi = e.inode(g.ino);
    let gb = block_map(e, g.ino);
    assert_eq!(
        e.ctx().shift_up(&mut gi, 7, MAX_FILE_BLOCKS, 3, 4).unwrap(),
        None
    );
    let want: Vec<(u64, u64)> = gb
        .iter()
        .map(|&(l, p)| if l >= 7 { (l + 3, p) } else { (l, p) })
        .collect();
    assert_eq!(block_map(e, g.ino), want);
    e.check_blocks(g.ino);
    // Past the largest file.
    let mut gi = e.inode(g.ino);
    assert_err!(
        e.ctx()
            .shift_up(&mut gi, 0, MAX_FILE_BLOCKS, MAX_FILE_BLOCKS - 5, 4),
        Error::FileTooBig
    );
    e.remove(ROOT_INO, "f");
    e.remove(ROOT_INO, "g");
    e.assert_fresh();
}
