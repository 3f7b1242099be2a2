//! Directory tree tests: large directories, readdir cookies under concurrent change, mutations.
use ferrite_format::*;
use ferrite_testing::*;
use std::collections::{BTreeMap, HashMap, HashSet};

const DIR: u64 = 7;
const SEED: [u8; 16] = *b"ferrite-dir-seed";

fn name(i: u64) -> Vec<u8> {
    format!("entry-{i:07}-{}", "x".repeat((i % 40) as usize)).into_bytes()
}

fn all_entries(io: &MemIo, root: &DirRoot) -> Vec<DirEntry> {
    let mut v = Vec::new();
    let mut buf = [0u8; BS];
    let next = dir_iter(io, DIR, root, COOKIE_START, &mut buf, &mut |e| {
        v.push(*e);
        true
    })
    .unwrap();
    assert_eq!(next, COOKIE_END);
    v
}

#[test]
fn hundred_thousand_entries() {
    let mut io = MemIo::new(1 << 40);
    let mut s = Box::new(Scratch::new());
    let mut root = DirRoot::empty(1);
    let n = 100_000u64;
    for i in 0..n {
        dir_insert(
            &mut io,
            DIR,
            &SEED,
            &mut root,
            &name(i),
            i + 2,
            FT_REG,
            &mut s,
        )
        .unwrap();
    }
    assert_eq!(root.entries, n);
    assert!(root.tree.depth >= 1);
    // Lookup is a descent, not a scan: count block reads.
    let mut buf = [0u8; BS];
    for i in (0..n).step_by(97) {
        let e = dir_lookup(&io, DIR, &SEED, &root, &name(i), &mut buf)
            .unwrap()
            .unwrap();
        assert_eq!(e.ino, i + 2);
        assert_eq!(e.name(), &name(i)[..]);
        assert_eq!(e.ftype, FT_REG);
    }
    assert_eq!(
        dir_lookup(&io, DIR, &SEED, &root, b"missing", &mut buf).unwrap(),
        None
    );
    assert_eq!(
        dir_insert(&mut io, DIR, &SEED, &mut root, &name(5), 99, FT_REG, &mut s),
        Err(Error::Exists)
    );
    let v = all_entries(&io, &root);
    assert_eq!(v.len() as u64, n);
    assert!(v.windows(2).all(|w| w[0].key < w[1].key));
    assert!(v.iter().all(|e| e.key >= 256 && e.key < COOKIE_END));
    // Remove every other entry, then all.
    for i in (0..n).step_by(2) {
        let e = dir_remove(&mut io, DIR, &SEED, &mut root, &name(i), &mut s).unwrap();
        assert_eq!(e.ino, i + 2);
    }
    assert_eq!(root.entries, n / 2);
    assert_eq!(
        dir_remove(&mut io, DIR, &SEED, &mut root, &name(0), &mut s),
        Err(Error::NotFound)
    );
    for i in (1..n).step_by(2) {
        assert!(dir_lookup(&io, DIR, &SEED, &root, &name(i), &mut buf)
            .unwrap()
            .is_some());
        assert!(dir_lookup(&io, DIR, &SEED, &root, &name(i - 1), &mut buf)
            .unwrap()
            .is_none());
    }
    for i in (1..n).step_by(2) {
        dir_remove(&mut io, DIR, &SEED, &mut root, &name(i), &mut s).unwrap();
    }
    assert_eq!(root, DirRoot::empty(1));
    assert!(
        io.live_meta.is_empty(),
        "leaked {} directory nodes",
        io.live_meta.len()
    );
}

#[test]
fn lookup_reads_few_blocks() {
    struct Counting<'a>(&'a MemIo, std::cell::Cell<u64>);
    impl BlockIo for Counting<'_> {
        type Error = String;
        fn block_count(&self) -> u64 {
            self.0.count
        }
        fn read(&self, blk: u64, buf: &mut Block) -> Result<(), String> {
            self.1.set(self.1.get() + 1);
            self.0.read(blk, buf)
        }
        fn write(&mut self, _: u64, _: &Block) -> Result<(), String> {
            unreachable!()
        }
        fn alloc_meta_block(&mut self, _: u64) -> Result<Option<u64>, String> {
            unreachable!()
        }
        fn free_meta_block(&mut self, _: u64) -> Result<(), String> {
            unreachable!()
        }
    }
    let mut io = MemIo::new(1 << 40);
    let mut s = Box::new(Scratch::new());
    let mut root = DirRoot::empty(1);
    for i in 0..50_000u64 {
        dir_insert(
            &mut io,
            DIR,
            &SEED,
            &mut root,
            &name(i),
            i + 2,
            FT_REG,
            &mut s,
        )
        .unwrap();
    }
    let c = Counting(&io, std::cell::Cell::new(0));
    let mut buf = [0u8; BS];
    for i in 0..1000u64 {
        assert!(dir_lookup(&c, DIR, &SEED, &root, &name(i * 37), &mut buf)
            .unwrap()
            .is_some());
    }
    let per = c.1.get() as f64 / 1000.0;
    assert!(
        per <= f64::from(root.tree.depth) + 2.0,
        "{per} reads per lookup at depth {}",
        root.tree.depth
    );
}

#[test]
fn readdir_cookies_survive_adds_and_removes() {
    let mut io = MemIo::new(1 << 40);
    let mut s = Box::new(Scratch::new());
    let mut root = DirRoot::empty(1);
    let mut rng = Rng(7);
    let mut present: HashSet<u64> = HashSet::new();
    for i in 0..20_000u64 {
        dir_insert(
            &mut io,
            DIR,
            &SEED,
            &mut root,
            &name(i),
            i + 2,
            FT_REG,
            &mut s,
        )
        .unwrap();
        present.insert(i);
    }
    let stable: HashSet<u64> = (0..20_000).filter(|i| i % 3 == 0).collect();
    let mut next_new = 20_000u64;
    let mut seen: HashMap<u64, u32> = HashMap::new();
    let mut cookie = COOKIE_DOTDOT;
    let mut buf = [0u8; BS];
    loop {
        // A small getdents buffer: 50 entries.
        let mut got = 0;
        cookie = dir_iter(&io, DIR, &root, cookie, &mut buf, &mut |e| {
            if got == 50 {
                return false;
            }
            got += 1;
            let i: u64 = e.ino - 2;
            *seen.entry(i).or_default() += 1;
            true
        })
        .unwrap();
        if cookie == COOKIE_END {
            break;
        }
        // Between calls: remove some non-stable entries, add new ones.
        for _ in 0..30 {
            let i = rng.below(next_new);
            if stable.contains(&i) {
                continue;
            }
            if present.remove(&i) {
                dir_remove(&mut io, DIR, &SEED, &mut root, &name(i), &mut s).unwrap();
            } else {
                dir_insert(
                    &mut io,
                    DIR,
                    &SEED,
                    &mut root,
                    &name(next_new),
                    next_new + 2,
                    FT_REG,
                    &mut s,
                )
                .unwrap();
                present.insert(next_new);
                next_new += 1;
            }
        }
    }
    for i in &stable {
        assert_eq!(
            seen.get(i),
            Some(&1),
            "entry {i} present throughout was returned {:?} times",
            seen.get(i)
        );
    }
    assert!(
        seen.values().all(|&c| c == 1),
        "an entry was returned twice"
    );
}

#[test]
fn hash_collisions_get_distinct_keys() {
    // Force collisions through the public key scheme: many names, then check that keys that
    // share a hash base differ only in the counter, and that lookups still find each name.
    let mut io = MemIo::new(1 << 30);
    let mut s = Box::new(Scratch::new());
    let mut root = DirRoot::empty(1);
    let seed = [0u8; 16];
    let mut by_base: BTreeMap<u64, Vec<Vec<u8>>> = BTreeMap::new();
    for i in 0..5000u64 {
        let n = format!("c{i}").into_bytes();
        by_base
            .entry(dir_hash(&seed, &n))
            .or_default()
            .push(n.clone());
        let key = dir_insert(&mut io, DIR, &seed, &mut root, &n, i + 2, FT_REG, &mut s).unwrap();
        assert_eq!(key >> 8, dir_hash(&seed, &n));
    }
    let mut buf = [0u8; BS];
    for names in by_base.values() {
        for n in names {
            assert!(dir_lookup(&io, DIR, &seed, &root, n, &mut buf)
                .unwrap()
                .is_some());
        }
    }
}

#[test]
fn names_and_types_are_checked() {
    let mut io = MemIo::new(1 << 30);
    let mut s = Box::new(Scratch::new());
    let mut root = DirRoot::empty(1);
    let long = vec![b'a'; 256];
    let max = vec![b'a'; 255];
    assert_eq!(
        dir_insert(&mut io, DIR, &SEED, &mut root, &long, 5, FT_REG, &mut s),
        Err(Error::NameTooLong)
    );
    for bad in [&b""[..], b".", b"..", b"a/b", b"a\0b"] {
        assert_eq!(
            dir_insert(&mut io, DIR, &SEED, &mut root, bad, 5, FT_REG, &mut s),
            Err(Error::Invalid)
        );
    }
    assert_eq!(
        dir_insert(&mut io, DIR, &SEED, &mut root, b"x", 0, FT_REG, &mut s),
        Err(Error::Invalid)
    );
    assert_eq!(
        dir_insert(&mut io, DIR, &SEED, &mut root, b"x", 5, 3, &mut s),
        Err(Error::Invalid)
    );
    // 255-byte names, many of them: leaves hold at least 14 and split correctly.
    for i in 0..300u64 {
        let mut n = max.clone();
        n[..5].copy_from_slice(format!("{i:05}").as_bytes());
        dir_insert(
            &mut io,
            DIR,
            &SEED,
            &mut root,
            &n,
            i + 2,
            [FT_REG, FT_DIR, FT_LNK, FT_CHR, FT_BLK, FT_FIFO, FT_SOCK][i as usize % 7],
            &mut s,
        )
        .unwrap();
    }
    let v = all_entries(&io, &root);
    assert_eq!(v.len(), 300);
    assert!(v.iter().all(|e| e.name().len() == 255));
}

fn reseal(b: &mut Block) {
    let c = crc32c(&b[..BLOCK_CRC_OFF]);
    b[BLOCK_CRC_OFF..].copy_from_slice(&c.to_le_bytes());
}

#[test]
fn dir_node_mutations_give_specific_errors() {
    let mut io = MemIo::new(1 << 30);
    let mut s = Box::new(Scratch::new());
    let mut root = DirRoot::empty(1);
    for i in 0..3000u64 {
        dir_insert(
            &mut io,
            DIR,
            &SEED,
            &mut root,
            &name(i),
            i + 2,
            FT_REG,
            &mut s,
        )
        .unwrap();
    }
    assert_eq!(root.tree.depth, 1);
    let mut b = [0u8; BS];
    io.read(root.tree.blk, &mut b).unwrap();
    let leaf = u64::from_le_bytes(b[40..48].try_into().unwrap());
    let scan = |io: &MemIo| -> Result<(), Error<String>> {
        let mut buf = [0u8; BS];
        dir_iter(io, DIR, &root, 0, &mut buf, &mut |_| true)?;
        dir_tree_nodes(io, DIR, &root, &mut buf, &mut |_, _| {})
    };
    scan(&io).unwrap();
    let mutate = |f: &dyn Fn(&mut Block)| -> Error<String> {
        let mut io2 = MemIo::new(io.count);
        io2.blocks = io.blocks.clone();
        let mut b = [0u8; BS];
        io2.read(leaf, &mut b).unwrap();
        f(&mut b);
        reseal(&mut b);
        io2.write(leaf, &b).unwrap();
        scan(&io2).unwrap_err()
    };
    let c = |e| Error::<String>::Corrupt(e);
    assert_eq!(
        mutate(&|b| b[32 + 16] = 0),
        c(Corrupt::BadDirEntry(leaf)),
        "name length 0"
    );
    assert_eq!(
        mutate(&|b| b[32 + 17] = 3),
        c(Corrupt::BadDirEntry(leaf)),
        "file type"
    );
    assert_eq!(
        mutate(&|b| b[40..48].fill(0)),
        c(Corrupt::BadDirEntry(leaf)),
        "inode 0"
    );
    assert_eq!(
        mutate(&|b| b[16..18].copy_from_slice(&5000u16.to_le_bytes())),
        c(Corrupt::BadTreeNodeCount(leaf))
    );
    assert_eq!(
        mutate(&|b| b[16..18].copy_from_slice(&30u16.to_le_bytes())),
        c(Corrupt::BadDirEntry(leaf)),
        "entry crosses used"
    );
    assert_eq!(
        mutate(&|b| {
            let n = u16::from_le_bytes([b[6], b[7]]);
            b[6..8].copy_from_slice(&(n + 1).to_le_bytes());
        }),
        c(Corrupt::BadTreeNodeCount(leaf))
    );
    // Second entry's key below the first.
    assert_eq!(
        mutate(&|b| {
            let len = b[32 + 16] as usize;
            let second = 32 + ((18 + len + 7) & !7);
            b[second..second + 8].copy_from_slice(&300u64.to_le_bytes());
        }),
        c(Corrupt::KeysOutOfOrder(leaf))
    );
    // Names readdir would hand to the VFS: a '/', a NUL, "." and "..".
    for (what, bytes) in [
        ("a slash", &b"a/b"[..]),
        ("a NUL", &b"a\0b"[..]),
        ("dot", &b"."[..]),
        ("dot-dot", &b".."[..]),
    ] {
        assert_eq!(
            mutate(&|b| {
                b[32 + 16] = bytes.len() as u8;
                b[32 + 18..32 + 18 + bytes.len()].copy_from_slice(bytes);
                b[32 + 18 + bytes.len()..32 + 24].fill(0);
            }),
            c(Corrupt::BadDirEntry(leaf)),
            "name with {what}"
        );
    }
    // The first leaf's last key at or past the separator of the next leaf: the two key ranges
    // overlap, and a lookup would not find what readdir shows.
    let next_sep = u64::from_le_bytes(b[48..56].try_into().unwrap());
    assert_eq!(
        mutate(&|b| {
            let used = u16::from_le_bytes([b[16], b[17]]) as usize;
            let mut o = 32;
            let mut last = o;
            while o < 32 + used {
                last = o;
                o += (18 + b[o + 16] as usize + 7) & !7;
            }
            b[last..last + 8].copy_from_slice(&next_sep.to_le_bytes());
        }),
        c(Corrupt::BadTreeKey(leaf))
    );
}
