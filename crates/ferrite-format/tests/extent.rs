//! Extent tree tests against a block-by-block model.
use ferrite_format::*;
use ferrite_testing::*;
use std::collections::BTreeMap;

const OWNER: u64 = 42;

/// What [`remove_range`] calls with each unmapped piece.
type Freed<'a> = dyn FnMut(&mut MemIo, Extent) -> Result<(), Error<String>> + 'a;

/// Unmaps file blocks `start..end` piece by piece, as truncate does (without its budget),
/// passing each piece to `freed`.
fn remove_range(
    io: &mut MemIo,
    owner: u64,
    root: &mut ExtentRoot,
    start: u64,
    end: u64,
    scratch: &mut Scratch,
    freed: &mut Freed<'_>,
) -> Result<(), Error<String>> {
    let mut from = start;
    while let Some(x) = extent_remove_one(io, owner, root, from, end, scratch)? {
        from = x.end();
        freed(io, x)?;
    }
    Ok(())
}

fn expand(io: &MemIo, root: &ExtentRoot) -> BTreeMap<u64, u64> {
    let mut m = BTreeMap::new();
    let mut buf = [0u8; BS];
    let mut prev_end = 0;
    extent_iter(io, OWNER, root, 0, &mut buf, &mut |e| {
        assert!(
            e.logical >= prev_end,
            "extents overlap or are unordered: {e:?}"
        );
        prev_end = e.end();
        for k in 0..e.len {
            m.insert(e.logical + k, e.physical + k);
        }
        true
    })
    .unwrap();
    m
}

fn check_lookups(
    io: &MemIo,
    root: &ExtentRoot,
    model: &BTreeMap<u64, u64>,
    rng: &mut Rng,
    span: u64,
) {
    let mut buf = [0u8; BS];
    for _ in 0..200 {
        let l = rng.below(span);
        match extent_lookup(io, OWNER, root, l, &mut buf).unwrap() {
            ExtentLookup::Mapped(e) => {
                assert!(e.logical <= l && l < e.end());
                assert_eq!(
                    model.get(&l),
                    Some(&(e.physical + (l - e.logical))),
                    "block {l}"
                );
            }
            ExtentLookup::Hole { end } => {
                assert!(!model.contains_key(&l), "block {l} should be mapped");
                let next = model
                    .range(l..)
                    .next()
                    .map(|(k, _)| *k)
                    .unwrap_or(MAX_FILE_BLOCKS);
                assert_eq!(end, next, "hole end after {l}");
            }
        }
    }
}

#[test]
fn random_insert_remove_against_model() {
    let mut io = MemIo::new(1 << 40);
    let mut s = Box::new(Scratch::new());
    let mut root = ExtentRoot::new();
    let mut model: BTreeMap<u64, u64> = BTreeMap::new();
    let mut rng = Rng(0x1234_5678);
    let span = 200_000u64;
    let mut next_phys = 1_000u64;
    for round in 0..3000 {
        if rng.below(3) != 0 {
            let l = rng.below(span);
            let len = 1 + rng.below(64);
            // Sometimes physically contiguous with the previous allocation, to exercise merging.
            let phys = if rng.below(4) == 0 {
                next_phys
            } else {
                next_phys + 1 + rng.below(5)
            };
            let e = Extent {
                logical: l,
                physical: phys,
                len,
            };
            let overlaps = (l..l + len).any(|k| model.contains_key(&k));
            match extent_insert(&mut io, OWNER, &mut root, e, &mut s) {
                Ok(()) => {
                    assert!(!overlaps, "round {round}: overlapping insert accepted");
                    for k in 0..len {
                        model.insert(l + k, phys + k);
                    }
                    next_phys = phys + len;
                }
                Err(Error::Exists) => {
                    assert!(overlaps, "round {round}: insert refused without overlap")
                }
                Err(e) => panic!("round {round}: {e:?}"),
            }
        } else {
            let a = rng.below(span);
            let b = a + 1 + rng.below(3000);
            let mut removed = BTreeMap::new();
            remove_range(&mut io, OWNER, &mut root, a, b, &mut s, &mut |_, x| {
                for k in 0..x.len {
                    assert!(removed.insert(x.logical + k, x.physical + k).is_none());
                }
                Ok(())
            })
            .unwrap();
            let want: BTreeMap<u64, u64> = model.range(a..b).map(|(k, v)| (*k, *v)).collect();
            assert_eq!(removed, want, "round {round}: removed pieces");
            for k in want.keys() {
                model.remove(k);
            }
        }
        if round % 100 == 0 {
            assert_eq!(expand(&io, &root), model, "round {round}");
            check_lookups(&io, &root, &model, &mut rng, span);
        }
    }
    assert_eq!(expand(&io, &root), model);
    // Remove everything: the tree goes back to an empty inline root and frees every node.
    remove_range(
        &mut io,
        OWNER,
        &mut root,
        0,
        MAX_FILE_BLOCKS,
        &mut s,
        &mut |_, _| Ok(()),
    )
    .unwrap();
    assert_eq!((root.tree.blk, root.count), (0, 0), "the map is empty");
    assert!(
        io.live_meta.is_empty(),
        "leaked tree nodes: {:?}",
        io.live_meta
    );
}

#[test]
fn large_fragmented_file_builds_multiple_levels() {
    let mut io = MemIo::new(1 << 40);
    let mut s = Box::new(Scratch::new());
    let mut root = ExtentRoot::new();
    let n = 100_000u64;
    // Every other block, physically scattered: no merging possible.
    for i in 0..n {
        let l = (i * 7919) % n * 2; // a permutation, so inserts hit every part of the tree
        extent_insert(
            &mut io,
            OWNER,
            &mut root,
            Extent {
                logical: l,
                physical: 10 + l * 3,
                len: 1,
            },
            &mut s,
        )
        .unwrap();
    }
    assert!(root.tree.depth >= 2, "depth {}", root.tree.depth);
    let mut buf = [0u8; BS];
    let mut count = 0u64;
    let mut nodes = 0;
    extent_iter(&io, OWNER, &root, 0, &mut buf, &mut |e| {
        assert_eq!(e.logical, count * 2);
        count += 1;
        true
    })
    .unwrap();
    assert_eq!(count, n);
    extent_tree_nodes(&io, OWNER, &root, &mut buf, &mut |_, _| nodes += 1).unwrap();
    assert_eq!(nodes as usize, io.live_meta.len());
    for l in [0u64, 1, 2, 99_999, 199_998, 199_999, 200_000] {
        let r = extent_lookup(&io, OWNER, &root, l, &mut buf).unwrap();
        if l % 2 == 0 && l < 2 * n {
            assert_eq!(
                r,
                ExtentLookup::Mapped(Extent {
                    logical: l,
                    physical: 10 + l * 3,
                    len: 1
                })
            );
        } else {
            let end = if l + 1 < 2 * n {
                l + 1
            } else {
                MAX_FILE_BLOCKS
            };
            assert_eq!(r, ExtentLookup::Hole { end });
        }
    }
    // Truncate to half, then to nothing.
    remove_range(
        &mut io,
        OWNER,
        &mut root,
        n,
        MAX_FILE_BLOCKS,
        &mut s,
        &mut |_, _| Ok(()),
    )
    .unwrap();
    let m = expand(&io, &root);
    assert_eq!(m.len() as u64, n / 2);
    remove_range(
        &mut io,
        OWNER,
        &mut root,
        0,
        MAX_FILE_BLOCKS,
        &mut s,
        &mut |_, _| Ok(()),
    )
    .unwrap();
    assert_eq!((root.tree.blk, root.count), (0, 0), "the map is empty");
    assert!(io.live_meta.is_empty());
}

#[test]
fn merging_and_punch_hole_splits() {
    let mut io = MemIo::new(1 << 30);
    let mut s = Box::new(Scratch::new());
    let mut root = ExtentRoot::new();
    // Contiguous appends merge into one extent (a 2 MiB aligned one).
    for i in 0..4 {
        extent_insert(
            &mut io,
            OWNER,
            &mut root,
            Extent {
                logical: i * 128,
                physical: 1024 + i * 128,
                len: 128,
            },
            &mut s,
        )
        .unwrap();
    }
    assert_eq!(root.count, 1);
    assert_eq!(
        root.inline[0],
        Extent {
            logical: 0,
            physical: 1024,
            len: 512
        }
    );
    // Merge on both sides at once.
    extent_insert(
        &mut io,
        OWNER,
        &mut root,
        Extent {
            logical: 1000,
            physical: 5000,
            len: 10,
        },
        &mut s,
    )
    .unwrap();
    extent_insert(
        &mut io,
        OWNER,
        &mut root,
        Extent {
            logical: 1020,
            physical: 5020,
            len: 10,
        },
        &mut s,
    )
    .unwrap();
    assert_eq!(root.count, 3);
    extent_insert(
        &mut io,
        OWNER,
        &mut root,
        Extent {
            logical: 1010,
            physical: 5010,
            len: 10,
        },
        &mut s,
    )
    .unwrap();
    assert_eq!(root.count, 2);
    assert_eq!(
        root.inline[1],
        Extent {
            logical: 1000,
            physical: 5000,
            len: 30
        }
    );
    // Punch a hole in the middle: one extent becomes two, the hole reads as a hole.
    let mut freed = Vec::new();
    remove_range(&mut io, OWNER, &mut root, 100, 200, &mut s, &mut |_, x| {
        freed.push(x);
        Ok(())
    })
    .unwrap();
    assert_eq!(
        freed,
        vec![Extent {
            logical: 100,
            physical: 1124,
            len: 100
        }]
    );
    let m = expand(&io, &root);
    assert_eq!(m.len(), 512 - 100 + 30);
    let mut buf = [0u8; BS];
    assert_eq!(
        extent_lookup(&io, OWNER, &root, 150, &mut buf).unwrap(),
        ExtentLookup::Hole { end: 200 }
    );
    assert_eq!(
        extent_lookup(&io, OWNER, &root, 200, &mut buf).unwrap(),
        ExtentLookup::Mapped(Extent {
            logical: 200,
            physical: 1224,
            len: 312
        })
    );
    // Many punches in one extent overflow the inline root into a tree.
    for k in 0..20 {
        remove_range(
            &mut io,
            OWNER,
            &mut root,
            210 + k * 10,
            215 + k * 10,
            &mut s,
            &mut |_, _| Ok(()),
        )
        .unwrap();
    }
    assert_ne!(root.tree.blk, 0);
    let m2 = expand(&io, &root);
    for k in 0..20u64 {
        assert!(!m2.contains_key(&(212 + k * 10)));
        assert_eq!(m2.get(&(216 + k * 10)), Some(&(1024 + 216 + k * 10)));
    }
    // Errors.
    let e = |l, p, n| Extent {
        logical: l,
        physical: p,
        len: n,
    };
    assert_eq!(
        extent_insert(&mut io, OWNER, &mut root, e(306, 9, 1), &mut s),
        Err(Error::Exists)
    );
    assert_eq!(
        extent_insert(
            &mut io,
            OWNER,
            &mut root,
            e(MAX_FILE_BLOCKS - 1, 9, 2),
            &mut s
        ),
        Err(Error::FileTooBig)
    );
    assert_eq!(
        extent_insert(&mut io, OWNER, &mut root, e(MAX_FILE_BLOCKS, 9, 1), &mut s),
        Err(Error::FileTooBig)
    );
    assert_eq!(
        extent_insert(&mut io, OWNER, &mut root, e(5, 9, 0), &mut s),
        Err(Error::Invalid)
    );
    assert_eq!(
        extent_lookup(&io, OWNER, &root, MAX_FILE_BLOCKS, &mut buf),
        Err(Error::FileTooBig)
    );
    // The last block of the largest file can be mapped.
    extent_insert(
        &mut io,
        OWNER,
        &mut root,
        e(MAX_FILE_BLOCKS - 1, 77, 1),
        &mut s,
    )
    .unwrap();
    assert_eq!(
        extent_lookup(&io, OWNER, &root, MAX_FILE_BLOCKS - 1, &mut buf).unwrap(),
        ExtentLookup::Mapped(e(MAX_FILE_BLOCKS - 1, 77, 1))
    );
}

#[test]
fn out_of_metadata_space_is_nospace() {
    let mut io = MemIo::new(1 << 30);
    io.meta_limit = Some(3);
    let mut s = Box::new(Scratch::new());
    let mut root = ExtentRoot::new();
    let mut err = None;
    for i in 0..10_000u64 {
        if let Err(e) = extent_insert(
            &mut io,
            OWNER,
            &mut root,
            Extent {
                logical: i * 2,
                physical: 100 + i * 2,
                len: 1,
            },
            &mut s,
        ) {
            err = Some((i, e));
            break;
        }
    }
    let (i, e) = err.unwrap();
    assert_eq!(e, Error::NoSpace);
    assert!(i > 7 + 253);
    // The tree is still readable.
    let mut buf = [0u8; BS];
    extent_iter(&io, OWNER, &root, 0, &mut buf, &mut |_| true).unwrap();
}

/// Builds a depth-2 tree and returns (io, root, one leaf block, the root block).
fn two_level_tree() -> (MemIo, ExtentRoot) {
    let mut io = MemIo::new(1 << 30);
    let mut s = Box::new(Scratch::new());
    let mut root = ExtentRoot::new();
    for i in 0..70_000u64 {
        extent_insert(
            &mut io,
            OWNER,
            &mut root,
            Extent {
                logical: i * 2,
                physical: 100 + i * 3,
                len: 1,
            },
            &mut s,
        )
        .unwrap();
    }
    assert_eq!(root.tree.depth, 2);
    (io, root)
}

fn reseal(b: &mut Block) {
    let c = crc32c(&b[..BLOCK_CRC_OFF]);
    b[BLOCK_CRC_OFF..].copy_from_slice(&c.to_le_bytes());
}

fn full_scan(io: &MemIo, root: &ExtentRoot) -> Result<(), Error<String>> {
    let mut buf = [0u8; BS];
    extent_iter(io, OWNER, root, 0, &mut buf, &mut |_| true)?;
    extent_tree_nodes(io, OWNER, root, &mut buf, &mut |_, _| {})
}

#[test]
fn tree_node_mutations_give_specific_errors() {
    let (io, root) = two_level_tree();
    full_scan(&io, &root).unwrap();
    let rblk = root.tree.blk;
    let mut b = [0u8; BS];
    io.read(rblk, &mut b).unwrap();
    let child = u64::from_le_bytes(b[40..48].try_into().unwrap()); // entry 0's child (level 1)
    let mut c = [0u8; BS];
    io.read(child, &mut c).unwrap();
    let leaf = u64::from_le_bytes(c[40..48].try_into().unwrap());
    let leaf1 = u64::from_le_bytes(c[56..64].try_into().unwrap());
    let sep1 = u64::from_le_bytes(c[48..56].try_into().unwrap());
    let sep_root = u64::from_le_bytes(b[48..56].try_into().unwrap());

    let mutate = |blk: u64, f: &dyn Fn(&mut Block), seal: bool| -> Error<String> {
        let mut io2 = MemIo::new(io.count);
        io2.blocks = io.blocks.clone();
        let mut b = [0u8; BS];
        io2.read(blk, &mut b).unwrap();
        f(&mut b);
        if seal {
            reseal(&mut b);
        }
        io2.write(blk, &b).unwrap();
        full_scan(&io2, &root).unwrap_err()
    };
    let c = |e: Corrupt| Error::<String>::Corrupt(e);
    assert_eq!(
        mutate(leaf, &|b| b[100] ^= 1, false),
        c(Corrupt::BadTreeNodeCrc(leaf))
    );
    assert_eq!(
        mutate(leaf, &|b| b[0] ^= 1, true),
        c(Corrupt::BadTreeNodeMagic(leaf))
    );
    assert_eq!(
        mutate(leaf, &|b| b[4] = 1, true),
        c(Corrupt::BadTreeNodeLevel(leaf))
    );
    assert_eq!(
        mutate(leaf, &|b| b[8] ^= 1, true),
        c(Corrupt::BadTreeNodeOwner(leaf))
    );
    assert_eq!(
        mutate(
            leaf,
            &|b| b[6..8].copy_from_slice(&0u16.to_le_bytes()),
            true
        ),
        c(Corrupt::BadTreeNodeCount(leaf))
    );
    assert_eq!(
        mutate(
            leaf,
            &|b| b[6..8].copy_from_slice(&254u16.to_le_bytes()),
            true
        ),
        c(Corrupt::BadTreeNodeCount(leaf))
    );
    // Second extent's logical below the first: keys out of order.
    assert_eq!(
        mutate(
            leaf,
            &|b| b[48..52].copy_from_slice(&0u32.to_le_bytes()),
            true
        ),
        c(Corrupt::KeysOutOfOrder(leaf))
    );
    // Zero-length extent; extent overlapping the next.
    assert_eq!(
        mutate(
            leaf,
            &|b| b[36..40].copy_from_slice(&0u32.to_le_bytes()),
            true
        ),
        c(Corrupt::BadExtent(leaf))
    );
    assert_eq!(
        mutate(
            leaf,
            &|b| b[36..40].copy_from_slice(&5u32.to_le_bytes()),
            true
        ),
        c(Corrupt::BadExtent(leaf))
    );
    // First key differs from the parent's key for it.
    assert_eq!(
        mutate(
            leaf1,
            &|b| {
                let v = u32::from_le_bytes(b[32..36].try_into().unwrap());
                b[32..36].copy_from_slice(&(v - 1).to_le_bytes());
            },
            true
        ),
        c(Corrupt::BadTreeKey(leaf1))
    );
    // Key ranges of siblings overlap: the first leaf's last extent reaches into the second
    // leaf's range (each leaf is sorted and disjoint alone), or the first level-1 node's last
    // key is at the root's separator for the next subtree.
    assert_eq!(
        mutate(
            leaf,
            &|b| {
                let n = u16::from_le_bytes([b[6], b[7]]) as usize;
                let o = 32 + 16 * (n - 1);
                let start = u64::from(u32::from_le_bytes(b[o..o + 4].try_into().unwrap()));
                b[o + 4..o + 8].copy_from_slice(&((sep1 - start + 1) as u32).to_le_bytes());
            },
            true
        ),
        c(Corrupt::BadTreeKey(leaf))
    );
    assert_eq!(
        mutate(
            child,
            &|b| {
                let n = u16::from_le_bytes([b[6], b[7]]) as usize;
                let o = 32 + 16 * (n - 1);
                b[o..o + 8].copy_from_slice(&sep_root.to_le_bytes());
            },
            true
        ),
        c(Corrupt::BadTreeKey(child))
    );
    // Internal node: unsorted keys, child out of range, wrong level, zero count.
    assert_eq!(
        mutate(
            child,
            &|b| b[48..56].copy_from_slice(&0u64.to_le_bytes()),
            true
        ),
        c(Corrupt::KeysOutOfOrder(child))
    );
    assert_eq!(
        mutate(
            child,
            &|b| b[40..48].copy_from_slice(&u64::MAX.to_le_bytes()),
            true
        ),
        c(Corrupt::BlockOutOfRange(u64::MAX))
    );
    assert_eq!(
        mutate(
            child,
            &|b| b[40..48].copy_from_slice(&0u64.to_le_bytes()),
            true
        ),
        c(Corrupt::BlockOutOfRange(0))
    );
    assert_eq!(
        mutate(child, &|b| b[4] = 2, true),
        c(Corrupt::BadTreeNodeLevel(child))
    );
    assert_eq!(
        mutate(
            child,
            &|b| b[6..8].copy_from_slice(&0u16.to_le_bytes()),
            true
        ),
        c(Corrupt::BadTreeNodeCount(child))
    );
    assert_eq!(
        mutate(
            rblk,
            &|b| b[6..8].copy_from_slice(&300u16.to_le_bytes()),
            true
        ),
        c(Corrupt::BadTreeNodeCount(rblk))
    );
    // A child pointing back at the root (a cycle) is a level error, not a loop.
    assert_eq!(
        mutate(
            child,
            &|b| b[40..48].copy_from_slice(&rblk.to_le_bytes()),
            true
        ),
        c(Corrupt::BadTreeNodeLevel(rblk))
    );
    // A root deeper than the format allows.
    let deep = ExtentRoot {
        tree: TreeRoot {
            blk: rblk,
            depth: MAX_TREE_DEPTH as u16,
        },
        ..root
    };
    let mut buf = [0u8; BS];
    assert_eq!(
        extent_lookup(&io, OWNER, &deep, 0, &mut buf),
        Err(c(Corrupt::TreeTooDeep))
    );
}

#[test]
fn garbage_trees_never_panic() {
    // Random bytes in every tree block (with valid crcs, so the checks past the crc run).
    let (io, root) = two_level_tree();
    let blocks: Vec<u64> = io.blocks.keys().copied().collect();
    let mut rng = Rng(99);
    for round in 0..200 {
        let mut io2 = MemIo::new(io.count);
        io2.blocks = io.blocks.clone();
        io2.strict = false;
        let blk = blocks[rng.below(blocks.len() as u64) as usize];
        let mut b = [0u8; BS];
        io2.read(blk, &mut b).unwrap();
        for _ in 0..1 + rng.below(8) {
            let i = rng.below(4092) as usize;
            b[i] = rng.next_u64() as u8;
        }
        if round % 2 == 0 {
            reseal(&mut b);
        }
        io2.write(blk, &b).unwrap();
        let _ = full_scan(&io2, &root);
        let mut s = Box::new(Scratch::new());
        let mut r = root;
        let _ = extent_insert(
            &mut io2,
            OWNER,
            &mut r,
            Extent {
                logical: 1,
                physical: 5,
                len: 1,
            },
            &mut s,
        );
        let _ = remove_range(&mut io2, OWNER, &mut r, 1000, 1100, &mut s, &mut |_, _| {
            Ok(())
        });
    }
}
