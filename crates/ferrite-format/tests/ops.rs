//! ferrite's filesystem operations (`ferrite_format::ops`) on a filesystem in memory: every
//! scenario of `ferrite_testing::scenarios` (which the tools also run on image files, followed by
//! fsck), plus checks that need the in-memory device: mkfs over old contents, and the number of
//! distinct blocks one call writes.

use ferrite_format::ops::{mkfs, Ctx, MkfsParams};
use ferrite_format::*;
use ferrite_testing::scenarios::{self, Env, BLOCKS, T0};
use ferrite_testing::FsIo;

/// A fresh test filesystem in memory.
fn fresh() -> Env<FsIo> {
    let mut io = FsIo::new(BLOCKS);
    let sb = scenarios::format(&mut io);
    io.layout = Some(sb.layout);
    Env::new(io, sb)
}

macro_rules! mem_test {
    ($name:ident) => {
        #[test]
        fn $name() {
            let mut e = fresh();
            scenarios::$name(&mut e);
        }
    };
}

ferrite_testing::for_each_scenario!(mem_test);

/// A filesystem of `blocks` blocks, its blocks first filled with garbage.
fn formatted_over_garbage(blocks: u64) -> Env<FsIo> {
    let mut io = FsIo::new(blocks);
    for b in 0..blocks {
        io.blocks.insert(b, Box::new([0xa5; BLOCK_SIZE]));
    }
    let layout = Layout::compute(blocks, None, None).unwrap();
    let p = MkfsParams {
        layout,
        uuid: [3; 16],
        hash_seed: [4; 16],
        label: [0; LABEL_MAX],
        journal_nonce: 9,
        now: T0,
        inode_table_zeroed: false,
        ro_compat: ferrite_format::RO_COMPAT_XATTR,
    };
    let mut buf = [0u8; BLOCK_SIZE];
    let mut flushes = 0;
    let sb = mkfs(&mut io, &p, &mut buf, &mut |_| {
        flushes += 1;
        Ok(())
    })
    .unwrap();
    assert_eq!(flushes, 2);
    io.layout = Some(sb.layout);
    io.written.clear();
    Env::new(io, sb)
}

#[test]
fn mkfs_over_old_contents() {
    let mut e = formatted_over_garbage(70_000);
    let l = e.sb.layout;
    assert_eq!(l.block_bitmap_blocks, 3);
    assert_eq!(e.counts(), (l.backup_sb - l.data_start, l.inode_count - 2));
    assert!(e.orphans().is_empty());
    // Every record but the root's reads as free.
    assert_eq!(e.inode(ROOT_INO).nlink, 2);
    for ino in [2, 17, l.inode_count - 1] {
        assert!(matches!(
            e.ctx().read_inode(ino),
            Err(Error::Corrupt(Corrupt::BadInodeCrc(_)))
        ));
    }
    let mut buf = [0u8; BLOCK_SIZE];
    e.io.read(0, &mut buf).unwrap();
    assert_eq!(DiskSuperblock::decode(&buf).unwrap(), e.sb);
    // A layout larger than the device is refused.
    let mut small = FsIo::new(2000);
    let p = MkfsParams {
        layout: l,
        uuid: [0; 16],
        hash_seed: [0; 16],
        label: [0; LABEL_MAX],
        journal_nonce: 0,
        now: T0,
        inode_table_zeroed: true,
        ro_compat: ferrite_format::RO_COMPAT_XATTR,
    };
    assert!(matches!(
        mkfs(&mut small, &p, &mut buf, &mut |_| Ok(())),
        Err(Error::Invalid)
    ));
    assert!(small.blocks.is_empty());
}

#[test]
fn freeing_stays_within_one_bitmap_block_per_piece() {
    // Whole chunks on both sides of the first bitmap block's end (block 32256) merge into one
    // extent; freeing splits it there.
    let mut e = formatted_over_garbage(70_000);
    let f = e.file(ROOT_INO, "big");
    let f = e.fill(f.ino, 60_000);
    let xs = e.extents(f.ino);
    assert!(
        xs.iter()
            .any(|x| x.physical < 32_256 && x.physical + x.len > 32_256),
        "{xs:?}"
    );
    let now = e.tick();
    e.ctx().unlink(ROOT_INO, b"big", now).unwrap();
    let (c0, _) = e.counts();
    let mut calls = 0;
    loop {
        e.io.written.clear();
        calls += 1;
        let done = e.ctx().free_inode(f.ino, 1).unwrap();
        let bitmaps = e
            .io
            .written
            .iter()
            .filter(|b| (e.sb.layout.block_bitmap_start..e.sb.layout.inode_table_start).contains(b))
            .count();
        assert!(bitmaps <= 1, "call {calls}: {:?}", e.io.written);
        assert!(e.io.written.len() <= 3, "call {calls}: {:?}", e.io.written);
        if done {
            break;
        }
    }
    assert_eq!(calls as usize, xs.len() + 1);
    assert_eq!(e.counts().0, c0 + 60_000);
}

#[test]
fn one_call_writes_few_blocks() {
    let mut e = formatted_over_garbage(70_000);
    let f = e.file(ROOT_INO, "frag");
    e.io.written.clear();
    let f = e.fragment(f.ino, 2000);
    assert!(e.check_blocks(f.ino) > 2000);
    // Each allocation: a bitmap block, the leaf (or a split: two leaves and the parent, a new
    // node from the bitmap), the inode.
    let mut worst = 0;
    let mut g = e.file(ROOT_INO, "g");
    for k in 0..600 {
        e.io.written.clear();
        e.ctx().alloc(&mut g, 2 * k, 1, 2 * k + 1).unwrap();
        worst = worst.max(e.io.written.len());
    }
    assert!(worst <= 6, "{worst}");
    let now = e.tick();
    e.ctx().unlink(ROOT_INO, b"frag", now).unwrap();
    let mut calls = 0;
    loop {
        e.io.written.clear();
        calls += 1;
        let done = e.ctx().free_inode(f.ino, 32).unwrap();
        assert!(e.io.written.len() <= 40, "{:?}", e.io.written);
        if done {
            break;
        }
    }
    assert_eq!(calls, 2000 / 32 + 1);
}

#[test]
fn counting_adapter_counts_tree_nodes() {
    let mut e = fresh();
    let mut io = FsIo::new(BLOCKS);
    std::mem::swap(&mut io, &mut e.io);
    let mut c = ferrite_format::ops::Counting::new(&mut io);
    let a = c.alloc_meta_block(0).unwrap().unwrap();
    let b = c.alloc_meta_block(a).unwrap().unwrap();
    c.free_meta_block(a).unwrap();
    assert_eq!((c.allocated, c.freed), (2, 1));
    assert_eq!(c.adjust(10), 11);
    c.free_meta_block(b).unwrap();
    std::mem::swap(&mut io, &mut e.io);
    e.assert_fresh();
}

#[test]
fn ctx_fields_are_the_callers() {
    let mut e = fresh();
    let sb = e.sb;
    let mut scratch = Scratch::new();
    let mut ctx = Ctx::new(&mut e.io, &sb, &mut scratch);
    assert_eq!(ctx.sb.root_ino, ROOT_INO);
    let root = ctx.read_inode(ROOT_INO).unwrap();
    assert_eq!(root.ino, ROOT_INO);
    assert_eq!(
        ctx.free_counts().unwrap(),
        (scenarios::FREE_BLOCKS, scenarios::FREE_INODES)
    );
}

#[test]
fn a_live_inode_the_bitmap_lost_is_not_given_out_again() {
    let mut e = fresh();
    let f = e.file(ROOT_INO, "a");
    // A damaged inode bitmap (its crc recomputed) that marks the live inode free.
    let bm = Bitmap::inodes(&e.sb.layout);
    let mut buf = [0u8; BLOCK_SIZE];
    assert_eq!(
        bm.set_range(&mut e.io, f.ino, 1, false, &mut buf).unwrap(),
        1
    );
    let attr = e.attr(S_IFREG | 0o644);
    let r = e.ctx().create(ROOT_INO, b"b", &attr);
    assert!(
        matches!(r, Err(Error::Corrupt(Corrupt::FreeInodeInUse(i))) if i == f.ino),
        "{r:?}"
    );
    assert_eq!(e.inode(f.ino).nlink, 1, "the live inode is untouched");
}

#[test]
fn an_entry_key_must_be_its_names_hash() {
    let mut e = fresh();
    e.file(ROOT_INO, "x");
    let de = e.lookup(ROOT_INO, "x").unwrap();
    assert!(dir_key_matches(&e.sb.hash_seed, &de));
    let mut collision = de;
    collision.key ^= 7; // another collision index of the same hash
    assert!(dir_key_matches(&e.sb.hash_seed, &collision));
    let mut bad = de;
    bad.key ^= 1 << 8;
    assert!(!dir_key_matches(&e.sb.hash_seed, &bad));
}
