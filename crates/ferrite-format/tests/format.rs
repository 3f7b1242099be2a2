//! Round trips and mutation tests for the superblock, inodes, bitmaps and the layout.
use ferrite_format::*;
use ferrite_testing::*;

#[test]
fn crc32c_known_answer() {
    assert_eq!(crc32c(b"123456789"), 0xE306_9283);
    assert_eq!(crc32c(b""), 0);
    let split = crc32c_update(crc32c(b"1234"), b"56789");
    assert_eq!(split, 0xE306_9283);
}

#[test]
fn siphash_reference_vectors() {
    let key: [u8; 16] = core::array::from_fn(|i| i as u8);
    assert_eq!(siphash24(&key, b""), 0x726f_db47_dd0e_0e31);
    let msg: Vec<u8> = (0u8..15).collect();
    assert_eq!(siphash24(&key, &msg), 0xa129_ca61_49be_45e5);
}

fn sample_sb() -> DiskSuperblock {
    DiskSuperblock {
        version: VERSION,
        compat: 0,
        incompat: 0,
        ro_compat: 0,
        uuid: [0xab; 16],
        hash_seed: [0x5a; 16],
        label: {
            let mut l = [0u8; LABEL_MAX];
            l[..4].copy_from_slice(b"data");
            l
        },
        layout: Layout::compute(262_144, None, None).unwrap(),
        root_ino: ROOT_INO,
        free_blocks: 1000,
        free_inodes: 100,
        state: STATE_CLEAN,
        mount_count: 3,
        mkfs_time: 1_700_000_000,
        mkfs_nsec: 123,
        write_time: 1_700_000_001,
    }
}

#[test]
fn superblock_round_trip() {
    let sb = sample_sb();
    let mut b = [0u8; BS];
    sb.encode(&mut b);
    let d = DiskSuperblock::decode(&b).unwrap();
    assert_eq!(d, sb);
    let mut b2 = [0u8; BS];
    d.encode(&mut b2);
    assert_eq!(b, b2, "encode is the mirror of decode");
    assert_eq!(d.label_bytes(), b"data");
    assert_eq!(d.mount_mode(), MountMode::ReadWrite);
}

fn reseal(b: &mut Block) {
    let c = crc32c(&b[..BLOCK_CRC_OFF]);
    b[BLOCK_CRC_OFF..].copy_from_slice(&c.to_le_bytes());
}

fn sb_with(f: impl Fn(&mut Block)) -> Result<DiskSuperblock, Corrupt> {
    let mut b = [0u8; BS];
    sample_sb().encode(&mut b);
    f(&mut b);
    reseal(&mut b);
    DiskSuperblock::decode(&b)
}

fn put64(b: &mut [u8], off: usize, v: u64) {
    b[off..off + 8].copy_from_slice(&v.to_le_bytes());
}
fn put32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

#[test]
fn superblock_mutations_give_specific_errors() {
    let off = |n| superblock_field_offset(n).unwrap();
    // Without resealing, any flipped byte is a checksum error.
    let mut b = [0u8; BS];
    sample_sb().encode(&mut b);
    for i in (8..BLOCK_CRC_OFF).step_by(97) {
        let mut c = b;
        c[i] ^= 0x10;
        assert_eq!(
            DiskSuperblock::decode(&c),
            Err(Corrupt::BadSuperblockCrc),
            "byte {i}"
        );
    }
    let mut c = b;
    c[0] ^= 1;
    assert_eq!(DiskSuperblock::decode(&c), Err(Corrupt::BadMagic));
    // Field by field, with a valid crc.
    assert_eq!(sb_with(|b| b[off("magic")] = b'X'), Err(Corrupt::BadMagic));
    assert_eq!(
        sb_with(|b| put32(b, off("version"), 2)),
        Err(Corrupt::UnsupportedVersion(2))
    );
    assert_eq!(
        sb_with(|b| put32(b, off("block_size"), 8192)),
        Err(Corrupt::BadBlockSize(8192))
    );
    assert_eq!(
        sb_with(|b| put64(b, off("incompat"), 1 << 5)),
        Err(Corrupt::UnknownIncompat(1 << 5))
    );
    let ro = sb_with(|b| put64(b, off("ro_compat"), 1 << 3)).unwrap();
    assert_eq!(ro.mount_mode(), MountMode::ReadOnly);
    assert_eq!(
        sb_with(|b| put64(b, off("block_count"), 262_145)),
        Err(Corrupt::BadLayout("block_bitmap_blocks")).or(Err(Corrupt::BadLayout("backup_sb")))
    );
    assert!(matches!(
        sb_with(|b| put64(b, off("block_count"), 10)),
        Err(Corrupt::BadLayout("block_count"))
    ));
    assert!(matches!(
        sb_with(|b| put64(b, off("inode_count"), 17)),
        Err(Corrupt::BadLayout("inode_count"))
    ));
    assert!(matches!(
        sb_with(|b| put64(b, off("data_start"), 5)),
        Err(Corrupt::BadLayout("data_start"))
    ));
    assert_eq!(
        sb_with(|b| put32(b, off("state"), 0x80)),
        Err(Corrupt::BadState(0x80))
    );
    assert_eq!(
        sb_with(|b| put64(b, off("free_blocks"), u64::MAX)),
        Err(Corrupt::BadFreeCount)
    );
    assert_eq!(
        sb_with(|b| put64(b, off("root_ino"), 7)),
        Err(Corrupt::BadRootInode(7))
    );
}

/// The label rule of `FS_IOC_SETFSLABEL`, mkfs and ferrite-tune: at most 64 bytes of UTF-8
/// without control characters.
#[test]
fn label_rule() {
    for ok in [
        &b""[..],
        b"data",
        "caf\u{e9} \u{2603}".as_bytes(),
        &[b'x'; LABEL_MAX],
        // 64 bytes of two-byte characters.
        "\u{e9}".repeat(32).as_bytes(),
    ] {
        assert_eq!(label_check(ok), Ok(()), "{ok:?}");
        assert!(label_is_valid(ok));
    }
    assert_eq!(label_check(&[b'x'; LABEL_MAX + 1]), Err(BadLabel::TooLong));
    // The length is in bytes, not characters: 33 two-byte characters are 66 bytes.
    assert_eq!(
        label_check("\u{e9}".repeat(33).as_bytes()),
        Err(BadLabel::TooLong)
    );
    for bad in [&b"a\xffb"[..], b"\xc3", b"\xed\xa0\x80", b"\xc0\xaf"] {
        assert_eq!(label_check(bad), Err(BadLabel::NotUtf8), "{bad:?}");
    }
    for bad in [
        &b"a\0b"[..],
        b"\n",
        b"tab\there",
        b"\x1b[31mred",
        b"del\x7f",
        "c1 \u{85}".as_bytes(),
        "\u{9b}31m".as_bytes(),
    ] {
        assert_eq!(label_check(bad), Err(BadLabel::ControlChar), "{bad:?}");
        assert!(!label_is_valid(bad));
    }
    assert_eq!(
        BadLabel::TooLong.to_string(),
        format!("is longer than {LABEL_MAX} bytes")
    );
}

#[test]
fn superblock_every_layout_field_is_checked() {
    // Flipping any layout field (offsets 136..232) must fail, never pass silently.
    for off in (136..232).step_by(8) {
        for delta in [1u64, 1 << 20, u64::MAX] {
            let r = sb_with(|b| {
                let v = u64::from_le_bytes(b[off..off + 8].try_into().unwrap());
                put64(b, off, v.wrapping_add(delta));
            });
            assert!(
                matches!(r, Err(Corrupt::BadLayout(_))),
                "offset {off} delta {delta}: {r:?}"
            );
        }
    }
}

#[test]
fn layout_for_many_sizes() {
    assert_eq!(
        Layout::compute(1023, None, None),
        Err(LayoutError::TooSmall)
    );
    assert_eq!(
        Layout::compute(MAX_BLOCKS + 1, None, None),
        Err(LayoutError::TooBig)
    );
    for n in [
        1024u64,
        1025,
        2047,
        4099,
        32_255,
        32_256,
        32_257,
        100_000,
        262_144,
        2_097_152,
        1 << 30,
    ] {
        let l = Layout::compute(n, None, None).unwrap();
        l.check().unwrap();
        assert_eq!(l.backup_sb, n - 1);
        assert!(l.data_start + 16 <= l.backup_sb);
        assert!(l.inode_bitmap_blocks * BITS_PER_BITMAP_BLOCK >= l.inode_count);
        assert!(l.block_bitmap_blocks * BITS_PER_BITMAP_BLOCK >= l.block_count);
    }
    assert_eq!(
        Layout::compute(1024, Some(1 << 20), None),
        Err(LayoutError::BadParameter)
    );
    assert_eq!(BITS_PER_BITMAP_BLOCK % HUGE_BLOCKS, 0);
}

fn sample_inode(mode: u32) -> DiskInode {
    let mut i = DiskInode::new(
        77,
        mode,
        Timespec {
            sec: -5,
            nsec: 999_999_999,
        },
    );
    i.uid = 1000;
    i.gid = 100;
    i.nlink = 3;
    // A symlink's target in a block is shorter than a block.
    i.size = if mode & S_IFMT == S_IFLNK {
        3000
    } else {
        123_456
    };
    i.blocks = 31;
    i.generation = 9;
    i.mtime = Timespec {
        sec: 1_700_000_000,
        nsec: 1,
    };
    match &mut i.data {
        InodeData::Extents(r) => {
            r.count = 2;
            r.inline[0] = Extent {
                logical: 0,
                physical: 600,
                len: 10,
            };
            r.inline[1] = Extent {
                logical: 20,
                physical: 1024,
                len: 512,
            };
        }
        InodeData::Dir(d) => {
            d.parent = 1;
            d.tree = TreeRoot {
                blk: 4242,
                depth: 2,
            };
            d.entries = 1_000_000;
        }
        _ => {}
    }
    if mode & S_IFMT == S_IFLNK {
        // A symlink's target block: one extent of one block at file block 0.
        if let InodeData::Extents(r) = &mut i.data {
            r.count = 1;
            r.inline[0].len = 1;
            r.inline[1] = Extent::default();
        }
    }
    i
}

#[test]
fn inode_round_trips() {
    for mode in [
        S_IFREG | 0o644,
        S_IFDIR | 0o755,
        S_IFCHR | 0o600,
        S_IFBLK,
        S_IFIFO,
        S_IFSOCK,
        S_IFLNK | 0o777,
    ] {
        let mut i = sample_inode(mode);
        if mode & S_IFMT == S_IFCHR {
            i.rdev = 0x0010_0005;
        }
        let mut rec = [0u8; INODE_SIZE];
        i.encode(&mut rec);
        let d = DiskInode::decode(&rec, 77).unwrap();
        assert_eq!(d, i);
        let mut rec2 = [0u8; INODE_SIZE];
        d.encode(&mut rec2);
        assert_eq!(rec, rec2);
    }
    // Inline symlink.
    let mut i = sample_inode(S_IFLNK | 0o777);
    let target = [b'x'; INLINE_DATA_MAX];
    i.flags = INODE_FLAG_INLINE;
    i.size = INLINE_DATA_MAX as u64;
    i.data = InodeData::Inline(target);
    let mut rec = [0u8; INODE_SIZE];
    i.encode(&mut rec);
    let d = DiskInode::decode(&rec, 77).unwrap();
    assert_eq!(d.inline_bytes().unwrap(), &target[..]);
    // A tree-rooted extent map.
    let mut i = sample_inode(S_IFREG);
    i.data = InodeData::Extents(ExtentRoot {
        tree: TreeRoot { blk: 999, depth: 3 },
        ..ExtentRoot::new()
    });
    // (A record of its own: encode leaves the symlink's bytes past 128, which are not a valid
    // inline attribute area.)
    let mut rec = [0u8; INODE_SIZE];
    i.encode(&mut rec);
    assert_eq!(DiskInode::decode(&rec, 77).unwrap(), i);
}

fn inode_with(mode: u32, f: impl Fn(&mut [u8])) -> Result<DiskInode, Corrupt> {
    let mut rec = [0u8; INODE_SIZE];
    sample_inode(mode).encode(&mut rec);
    f(&mut rec);
    let c = crc32c(&rec[..252]);
    rec[252..].copy_from_slice(&c.to_le_bytes());
    DiskInode::decode(&rec, 77)
}

#[test]
fn inode_mutations_give_specific_errors() {
    let off = |n| inode_field_offset(n).unwrap();
    let mut rec = [0u8; INODE_SIZE];
    sample_inode(S_IFREG).encode(&mut rec);
    for i in 0..252 {
        let mut r = rec;
        r[i] ^= 4;
        assert_eq!(
            DiskInode::decode(&r, 77),
            Err(Corrupt::BadInodeCrc(77)),
            "byte {i}"
        );
    }
    assert_eq!(
        DiskInode::decode(&rec, 78),
        Err(Corrupt::BadInodeNumber(78))
    );
    assert_eq!(
        inode_with(S_IFREG, |r| put64(r, off("ino"), 5)),
        Err(Corrupt::BadInodeNumber(77))
    );
    assert_eq!(
        inode_with(S_IFREG, |r| put32(r, off("mode"), 0o170644)),
        Err(Corrupt::BadInodeMode(77))
    );
    assert_eq!(
        inode_with(S_IFREG, |r| put32(r, off("mode"), 0)),
        Err(Corrupt::BadInodeMode(77))
    );
    assert_eq!(
        inode_with(S_IFREG, |r| put32(r, off("mtime_nsec"), 1_000_000_000)),
        Err(Corrupt::BadTimestamp(77))
    );
    // (uid_t)-1 is no owner.
    for at in [4, 8] {
        assert_eq!(
            inode_with(S_IFREG, |r| put32(r, at, u32::MAX)),
            Err(Corrupt::BadInodeOwner(77))
        );
    }
    assert!(inode_with(S_IFREG, |r| put32(r, 4, u32::MAX - 1)).is_ok());
    // A mode bit above the 16 of Linux's umode_t would be dropped on the way in: another mode.
    assert_eq!(
        inode_with(S_IFREG, |r| put32(
            r,
            off("mode"),
            0x1_0000 | S_IFREG | 0o644
        )),
        Err(Corrupt::BadInodeMode(77))
    );
    // Sizes: past the largest file (also negative as a loff_t); symlink targets of 0 bytes or
    // a block and more, inline ones of 0 bytes.
    assert!(inode_with(S_IFREG, |r| put64(r, off("size"), MAX_FILE_SIZE)).is_ok());
    for size in [MAX_FILE_SIZE + 1, 1 << 63, u64::MAX] {
        for mode in [S_IFREG, S_IFDIR, S_IFCHR] {
            assert_eq!(
                inode_with(mode, |r| put64(r, off("size"), size)),
                Err(Corrupt::BadInodeSize(77)),
                "mode {mode:o} size {size}"
            );
        }
    }
    for size in [0, 4096, 4097] {
        assert_eq!(
            inode_with(S_IFLNK, |r| put64(r, off("size"), size)),
            Err(Corrupt::BadInodeSize(77)),
            "symlink size {size}"
        );
    }
    assert!(inode_with(S_IFLNK, |r| put64(r, off("size"), 4095)).is_ok());
    // The target block mapped anywhere but file block 0, or by more than one block.
    let d = off("data");
    for (what, at, v) in [("logical", 16, 1u32), ("len", 20, 2), ("count", 10, 2)] {
        assert_eq!(
            inode_with(S_IFLNK, |r| if at == 10 {
                r[d + 10..d + 12].copy_from_slice(&(v as u16).to_le_bytes())
            } else {
                put32(r, d + at, v)
            }),
            Err(Corrupt::BadExtentRoot(77)),
            "symlink extent {what}"
        );
    }
    assert_eq!(
        inode_with(S_IFLNK, |r| {
            put32(r, off("flags"), INODE_FLAG_INLINE);
            put64(r, off("size"), 0);
        }),
        Err(Corrupt::BadInlineSize(77))
    );
    let d = off("data");
    // Extent root: inline count too large, depth with inline, unsorted, zero length, past 2^32.
    assert_eq!(
        inode_with(S_IFREG, |r| r[d + 10] = 8),
        Err(Corrupt::BadExtentRoot(77))
    );
    assert_eq!(
        inode_with(S_IFREG, |r| r[d + 8] = 1),
        Err(Corrupt::BadExtentRoot(77))
    );
    assert_eq!(
        inode_with(S_IFREG, |r| put32(r, d + 32, 5)),
        Err(Corrupt::BadExtentRoot(77))
    );
    assert_eq!(
        inode_with(S_IFREG, |r| put32(r, d + 20, 0)),
        Err(Corrupt::BadExtentRoot(77))
    );
    assert_eq!(
        inode_with(S_IFREG, |r| put32(r, d + 32, u32::MAX)),
        Err(Corrupt::BadExtentRoot(77))
    );
    assert_eq!(
        inode_with(S_IFREG, |r| {
            put64(r, d, 55);
        }),
        Err(Corrupt::BadExtentRoot(77))
    );
    // Directory root.
    assert_eq!(
        inode_with(S_IFDIR, |r| put64(r, d + 16, 0)),
        Err(Corrupt::BadDirRoot(77))
    );
    assert_eq!(
        inode_with(S_IFDIR, |r| put64(r, d, 0)),
        Err(Corrupt::BadDirRoot(77))
    );
    assert_eq!(
        inode_with(S_IFDIR, |r| r[d + 8] = 9),
        Err(Corrupt::BadDirRoot(77))
    );
    // Inline symlink too long.
    assert_eq!(
        inode_with(S_IFLNK, |r| {
            put32(r, off("flags"), INODE_FLAG_INLINE);
            put64(r, off("size"), 141);
        }),
        Err(Corrupt::BadInlineSize(77))
    );
}

#[test]
fn inode_locations() {
    let l = Layout::compute(4096, None, None).unwrap();
    assert_eq!(inode_location(&l, 1).unwrap(), (l.inode_table_start, 256));
    assert_eq!(
        inode_location(&l, 17).unwrap(),
        (l.inode_table_start + 1, 256)
    );
    assert_eq!(inode_location(&l, 0), Err(Corrupt::InodeOutOfRange(0)));
    assert_eq!(
        inode_location(&l, l.inode_count),
        Err(Corrupt::InodeOutOfRange(l.inode_count))
    );
    assert_eq!(
        inode_location(&l, u64::MAX),
        Err(Corrupt::InodeOutOfRange(u64::MAX))
    );
}

/// A MemIo holding a fresh block bitmap for `layout`, fixed metadata marked used.
fn bitmap_io(l: &Layout) -> MemIo {
    let mut io = MemIo::new(l.block_count);
    let mut b = [0u8; BS];
    for i in 0..l.block_bitmap_blocks {
        bitmap_block_init(&mut b, BitmapKind::Block, i);
        let base = i * BITS_PER_BITMAP_BLOCK;
        for bit in l
            .block_count
            .saturating_sub(base)
            .min(BITS_PER_BITMAP_BLOCK)..BITS_PER_BITMAP_BLOCK
        {
            bitmap_set(&mut b, bit, true);
        }
        bitmap_seal(&mut b);
        io.write(l.block_bitmap_start + i, &b).unwrap();
    }
    let bm = Bitmap::blocks(l);
    bm.set_range(&mut io, 0, l.data_start, true, &mut b)
        .unwrap();
    bm.set_range(&mut io, l.backup_sb, 1, true, &mut b).unwrap();
    io
}

#[test]
fn bitmap_block_mutations() {
    let mut b = [0u8; BS];
    bitmap_block_init(&mut b, BitmapKind::Block, 3);
    bitmap_set(&mut b, 100, true);
    bitmap_seal(&mut b);
    assert!(bitmap_block_check(&b, 50, BitmapKind::Block, 3).is_ok());
    assert_eq!(
        bitmap_block_check(&b, 50, BitmapKind::Inode, 3),
        Err(Corrupt::BadBitmapHeader(50))
    );
    assert_eq!(
        bitmap_block_check(&b, 50, BitmapKind::Block, 4),
        Err(Corrupt::BadBitmapHeader(50))
    );
    let mut c = b;
    c[12] ^= 1;
    assert_eq!(
        bitmap_block_check(&c, 50, BitmapKind::Block, 3),
        Err(Corrupt::BadBitmapCrc(50))
    );
    let mut c = b;
    c[BITMAP_BYTES] ^= 1;
    assert_eq!(
        bitmap_block_check(&c, 50, BitmapKind::Block, 3),
        Err(Corrupt::BadBitmapHeader(50))
    );
    assert!(bitmap_get(&b, 100));
    assert!(!bitmap_get(&b, 101));
    assert!(
        bitmap_get(&b, BITS_PER_BITMAP_BLOCK),
        "out of range reads as used"
    );
}

#[test]
fn allocator_prefers_aligned_runs_and_keeps_them() {
    let l = Layout::compute(8192, Some(1024), Some(64)).unwrap(); // 32 MiB, 16 chunks
    let mut io = bitmap_io(&l);
    let bm = Bitmap::blocks(&l);
    let mut b = [0u8; BS];
    // Huge: the first fully free aligned chunk, past the fixed metadata.
    let (s, n) = bm
        .find_run(&io, 0, AllocPolicy::Huge, 512, 512, &mut b)
        .unwrap()
        .unwrap();
    assert_eq!((s % 512, n), (0, 512));
    assert!(s >= l.data_start);
    let first_free_chunk = s;
    // Small allocations go into the partial chunk holding the metadata, not into free chunks.
    for _ in 0..20 {
        let (s, n) = bm
            .find_run(&io, 0, AllocPolicy::Small, 1, 8, &mut b)
            .unwrap()
            .unwrap();
        assert!(
            s < first_free_chunk,
            "small allocation {s} broke a free 2 MiB chunk"
        );
        assert!(s >= l.data_start);
        bm.set_range(&mut io, s, n, true, &mut b).unwrap();
    }
    // Fill the partial chunks (the first, with the fixed metadata, and the last, with the backup
    // superblock); only then may a small allocation break a free chunk, and at its start.
    let chunk_free = |io: &MemIo, c: u64, b: &mut Block| -> u64 {
        (c * 512..(c * 512 + 512).min(l.block_count))
            .filter(|&x| !bm.get(io, x, b).unwrap())
            .count() as u64
    };
    let chunks = l.block_count.div_ceil(512);
    let free_chunks: Vec<u64> = (0..chunks)
        .filter(|&c| chunk_free(&io, c, &mut b) == 512)
        .collect();
    assert_eq!(free_chunks.len() as u64, chunks - 2);
    loop {
        let (s, n) = bm
            .find_run(&io, 0, AllocPolicy::Small, 1, 512, &mut b)
            .unwrap()
            .unwrap();
        if free_chunks.contains(&(s / 512)) {
            assert_eq!(s % 512, 0, "a free chunk is broken at its start");
            let in_free: u64 = free_chunks
                .iter()
                .map(|&c| chunk_free(&io, c, &mut b))
                .sum();
            assert_eq!(
                in_free,
                bm.count_free(&io, &mut b).unwrap(),
                "partial chunks had room"
            );
            break;
        }
        bm.set_range(&mut io, s, n, true, &mut b).unwrap();
    }
    // Exact ENOSPC: allocate everything one run at a time, count, then nothing is left.
    let expect = bm.count_free(&io, &mut b).unwrap();
    let mut total = 0;
    while let Some((s, n)) = bm
        .find_run(&io, 0, AllocPolicy::Small, 1, 512, &mut b)
        .unwrap()
    {
        assert_eq!(
            bm.set_range(&mut io, s, n, true, &mut b).unwrap(),
            n,
            "double allocation"
        );
        total += n;
    }
    assert_eq!(total, expect);
    assert_eq!(bm.count_free(&io, &mut b).unwrap(), 0);
    assert_eq!(
        bm.find_run(&io, 0, AllocPolicy::Huge, 512, 512, &mut b)
            .unwrap(),
        None
    );
    assert_eq!(
        bm.find_run(&io, 0, AllocPolicy::Small, 1, 1, &mut b)
            .unwrap(),
        None
    );
    // Free one block: exactly that one comes back.
    bm.set_range(&mut io, 5000, 1, false, &mut b).unwrap();
    assert_eq!(
        bm.find_run(&io, 0, AllocPolicy::Small, 1, 9, &mut b)
            .unwrap(),
        Some((5000, 1))
    );
    assert_eq!(
        bm.find_run(&io, 0, AllocPolicy::Small, 2, 9, &mut b)
            .unwrap(),
        None
    );
}

#[test]
fn allocator_exact_enospc_counts() {
    let l = Layout::compute(3000, Some(64), Some(16)).unwrap();
    let mut io = bitmap_io(&l);
    let bm = Bitmap::blocks(&l);
    let mut b = [0u8; BS];
    let free = bm.count_free(&io, &mut b).unwrap();
    assert_eq!(free, l.backup_sb - l.data_start);
    let mut got = 0;
    while let Some((s, _)) = bm
        .find_run(&io, 7, AllocPolicy::Small, 1, 1, &mut b)
        .unwrap()
    {
        bm.set_range(&mut io, s, 1, true, &mut b).unwrap();
        got += 1;
    }
    assert_eq!(got, free);
}

#[test]
fn inode_bitmap_find_zero() {
    let l = Layout::compute(40_000, Some(40_000), None).unwrap();
    let mut io = MemIo::new(l.block_count);
    let mut b = [0u8; BS];
    for i in 0..l.inode_bitmap_blocks {
        bitmap_block_init(&mut b, BitmapKind::Inode, i);
        bitmap_seal(&mut b);
        io.write(l.inode_bitmap_start + i, &b).unwrap();
    }
    let bm = Bitmap::inodes(&l);
    bm.set_range(&mut io, 0, 33_000, true, &mut b).unwrap();
    assert_eq!(bm.find_zero(&io, 1, &mut b).unwrap(), Some(33_000));
    bm.set_range(&mut io, 33_000, l.inode_count - 33_000, true, &mut b)
        .unwrap();
    assert_eq!(bm.find_zero(&io, 1, &mut b).unwrap(), None);
    bm.set_range(&mut io, 12, 1, false, &mut b).unwrap();
    assert_eq!(
        bm.find_zero(&io, 20_000, &mut b).unwrap(),
        Some(12),
        "wraps around"
    );
    assert_eq!(
        bm.set_range(&mut io, 12, 1, false, &mut b).unwrap(),
        0,
        "double free is visible"
    );
}

/// crc32c: the standard check value, and the slice-by-8 loop against a bitwise reference at
/// every length and alignment up to 64 bytes and for a whole block.
#[test]
fn crc32c_matches_reference() {
    fn reference(data: &[u8]) -> u32 {
        let mut c = !0u32;
        for &b in data {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    (c >> 1) ^ 0x82F6_3B78
                } else {
                    c >> 1
                };
            }
        }
        !c
    }
    assert_eq!(ferrite_format::crc32c(b"123456789"), 0xE306_9283);
    let data: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    for start in 0..8 {
        for len in 0..64 {
            let d = &data[start..start + len];
            assert_eq!(
                ferrite_format::crc32c(d),
                reference(d),
                "start {start} len {len}"
            );
        }
    }
    assert_eq!(ferrite_format::crc32c(&data), reference(&data));
    let (a, b) = data.split_at(1001);
    let piecewise = ferrite_format::crc32c_update(ferrite_format::crc32c(a), b);
    assert_eq!(piecewise, reference(&data));
}

#[test]
fn inline_xattrs_round_trip_and_are_checked() {
    let d = inode_field_offset("data").unwrap();
    let u = XATTR_INDEX_USER;
    // A directory: 108 bytes after its root.
    let i = sample_inode(S_IFDIR);
    assert_eq!(i.xattr_room(), 108);
    let mut ix = InlineXattrs::default();
    ix.push(u, b"a", b"one", 108).unwrap();
    ix.push(XATTR_INDEX_POSIX_ACL_DEFAULT, b"", &[2, 0, 0, 0], 108)
        .unwrap();
    // Full: 8 + 8 used, 92 more would be 108 + 1.
    assert!(ix.clone().push(6, b"x", &[0; 88], 108).is_none());
    let mut rec = [0u8; INODE_SIZE];
    i.encode_with_xattrs(&ix, &mut rec);
    assert_eq!(&rec[d + 32..d + 40], &[1, 1, 3, 0, b'a', b'o', b'n', b'e']);
    let (back, bix) = DiskInode::decode_with_xattrs(&rec, 77).unwrap();
    assert_eq!((back, bix), (i, ix));
    let names: Vec<(u8, &[u8])> = bix.entries().map(|e| (e.index, e.name)).collect();
    assert_eq!(
        names,
        [(u, &b"a"[..]), (XATTR_INDEX_POSIX_ACL_DEFAULT, &b""[..])]
    );
    assert_eq!(bix.find(u, b"a").unwrap().value, XattrValue::Inline(b"one"));
    // A plain encode leaves them; over a zeroed record it makes none.
    let mut j = i;
    j.nlink = 9;
    j.encode(&mut rec);
    assert_eq!(DiskInode::decode_with_xattrs(&rec, 77).unwrap(), (j, ix));
    let mut fresh = [0u8; INODE_SIZE];
    j.encode(&mut fresh);
    assert!(DiskInode::decode_with_xattrs(&fresh, 77)
        .unwrap()
        .1
        .is_empty());

    // The areas of the other kinds.
    assert_eq!(sample_inode(S_IFREG).xattr_room(), 12);
    assert_eq!(sample_inode(S_IFIFO).xattr_room(), 140);
    let mut l = sample_inode(S_IFLNK);
    l.flags = INODE_FLAG_INLINE;
    l.size = 100;
    let mut target = [0u8; INLINE_DATA_MAX];
    target[..100].fill(b't');
    l.data = InodeData::Inline(target);
    assert_eq!(l.xattr_room(), 40);
    let mut lx = InlineXattrs::default();
    lx.push(u, b"l", &[5; 35], 40).unwrap();
    l.encode_with_xattrs(&lx, &mut rec);
    let (lb, lbx) = DiskInode::decode_with_xattrs(&rec, 77).unwrap();
    assert_eq!(lb.inline_bytes().unwrap(), &[b't'; 100][..]);
    assert_eq!((lb, lbx), (l, lx));

    // Malformed areas: an unknown namespace, a named ACL, an unnamed user attribute, an entry
    // past the area's end, entries out of order or repeated, bytes after the last entry.
    let bad = |f: &dyn Fn(&mut [u8])| {
        let r = inode_with(S_IFDIR, |r| f(&mut r[d + 32..d + 140]));
        assert_eq!(r, Err(Corrupt::BadInlineXattr(77)));
        let mut rec = [0u8; INODE_SIZE];
        sample_inode(S_IFDIR).encode(&mut rec);
        f(&mut rec[d + 32..d + 140]);
        let c = crc32c(&rec[..252]);
        rec[252..].copy_from_slice(&c.to_le_bytes());
        // fsck's salvage keeps the inode without them.
        let (s, why) = DiskInode::decode_salvage(&rec, 77).unwrap();
        assert_eq!(s, sample_inode(S_IFDIR));
        assert_eq!(why, Err(Corrupt::BadInlineXattr(77)));
    };
    bad(&|a| a[..5].copy_from_slice(&[5, 1, 0, 0, b'x']));
    bad(&|a| a[..5].copy_from_slice(&[2, 1, 0, 0, b'x']));
    bad(&|a| a[..4].copy_from_slice(&[1, 0, 1, 0]));
    bad(&|a| a[..6].copy_from_slice(&[1, 1, 200, 0, b'x', 1]));
    bad(&|a| a[..10].copy_from_slice(&[1, 1, 0, 0, b'b', 1, 1, 0, 0, b'a']));
    bad(&|a| a[..10].copy_from_slice(&[1, 1, 0, 0, b'a', 1, 1, 0, 0, b'a']));
    bad(&|a| a[..7].copy_from_slice(&[1, 1, 0, 0, b'a', 0, 9]));
    // Nothing but zeros is no attributes; a valid area decodes to what it holds.
    let (_, z) = DiskInode::decode_with_xattrs(&fresh, 77).unwrap();
    assert!(z.is_empty());
    let mut rec = [0u8; INODE_SIZE];
    sample_inode(S_IFDIR).encode(&mut rec);
    rec[d + 32..d + 42].copy_from_slice(&[1, 1, 0, 0, b'a', 1, 1, 1, 0, b'b']);
    let c = crc32c(&rec[..252]);
    rec[252..].copy_from_slice(&c.to_le_bytes());
    // The second value is the zero byte after the name.
    assert_eq!(
        DiskInode::decode_with_xattrs(&rec, 77).unwrap().1.used(),
        11
    );
}
