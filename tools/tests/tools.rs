//! The tools, run as binaries on image files in a temporary directory.

mod common;
use common::*;
use ferrite_format::*;
use ferrite_tools::fsops::Fs;
use ferrite_tools::image::Image;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

fn mkfs(img: &Path) {
    let o = run(MKFS, &["-q", "-f"], img);
    assert_eq!(code(&o), 0, "{}", text(&o));
}

#[test]
fn mkfs_then_fsck_clean_on_many_sizes() {
    let t = Tmp::new("sizes");
    for blocks in [1024u64, 1025, 1537, 4099, 32_255, 32_257, 70_001] {
        let img = t.image(&format!("s{blocks}"), blocks * 4096 + 123);
        mkfs(&img);
        assert_clean(&img);
    }
    let img = t.image("1g", 1 << 30);
    let o = run(MKFS, &["-L", "one-gig"], &img);
    assert_eq!(code(&o), 0);
    let s = text(&o);
    for w in [
        "1.0 GiB",
        "262144 blocks",
        "inodes:",
        "journal:",
        "UUID:",
        "one-gig",
    ] {
        assert!(s.contains(w), "summary lacks {w}: {s}");
    }
    assert_clean(&img);
}

#[test]
fn mkfs_8g_is_sparse_and_clean() {
    let t = Tmp::new("8g");
    let img = t.image("8g", 8 << 30);
    mkfs(&img);
    let on_disk = std::fs::metadata(&img).unwrap().blocks() * 512;
    assert!(on_disk < 64 << 20, "image uses {on_disk} bytes on disk");
    assert_clean(&img);
}

/// The inode table is zeroed by punching a hole, not by reading and writing it (which took
/// 55 s for the 16 GiB table of a 1 TiB image): over a fully written image, mkfs leaves the
/// table unallocated, and a 1 TiB sparse image stays sparse.
#[test]
fn mkfs_zeroes_the_inode_table_without_writing_it() {
    let t = Tmp::new("punch");
    let img = t.image("img", 256 << 20);
    std::fs::write(&img, vec![0xa5u8; 256 << 20]).unwrap();
    let before = std::fs::metadata(&img).unwrap().blocks() * 512;
    mkfs(&img);
    assert_clean(&img);
    let l = layout_of(&img);
    let table = l.inode_table_blocks * 4096;
    assert!(table >= 4 << 20, "inode table of {table} bytes");
    let after = std::fs::metadata(&img).unwrap().blocks() * 512;
    // Written zeros would keep the table allocated; a hole frees all of it but the root's block
    // and, at most, one block the host filesystem takes to map the file's new extents (ext4's
    // extent tree, seen here: 8192 bytes less than the table freed).
    assert!(
        after + table - 2 * 4096 <= before,
        "{before} bytes allocated before mkfs, {after} after; the table is {table}"
    );
    let big = t.image("1t", 1 << 40);
    mkfs(&big);
    let on_disk = std::fs::metadata(&big).unwrap().blocks() * 512;
    assert!(
        on_disk < 256 << 20,
        "a 1 TiB image uses {on_disk} bytes on disk"
    );
}

#[test]
fn mkfs_refuses_and_reports() {
    let t = Tmp::new("refuse");
    let small = t.image("small", 1 << 20);
    let o = run(MKFS, &[], &small);
    assert_eq!(code(&o), 1);
    assert!(text(&o).contains("too small"), "{}", text(&o));
    let img = t.image("img", 16 << 20);
    mkfs(&img);
    let o = run(MKFS, &[], &img);
    assert_ne!(code(&o), 0);
    assert!(
        text(&o).contains("existing ferrite filesystem") && text(&o).contains("-f"),
        "{}",
        text(&o)
    );
    // Unknown options and missing arguments.
    let o = run(MKFS, &["-Z"], &img);
    assert_eq!(code(&o), 1);
    assert!(text(&o).contains("unknown option '-Z'"));
    let o = Command::new(MKFS).output().unwrap();
    assert_eq!(code(&o), 1);
    // The way mkfs(8) passes options through, as xfstests calls it.
    let o = run(MKFS, &["-f", "-q", "--"], &img);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let o = run(MKFS, &["-L", &"x".repeat(65), "-f"], &img);
    assert!(text(&o).contains("longer than 64"));
}

/// The labels mkfs refuses, each with its reason, before it writes anything.
#[test]
fn mkfs_refuses_labels_the_kernel_would() {
    use std::os::unix::ffi::OsStrExt;
    let t = Tmp::new("mkfs-label");
    let img = t.image("img", 16 << 20);
    let cases: [(&[u8], &str); 4] = [
        (&[b'x'; 65], "is longer than 64 bytes"),
        (b"red\x1b[31m", "contains a control character"),
        (b"two\nlines", "contains a control character"),
        (b"caf\xe9", "is not valid UTF-8"),
    ];
    for (label, why) in cases {
        let o = Command::new(MKFS)
            .args(["-q", "-f", "-L"])
            .arg(std::ffi::OsStr::from_bytes(label))
            .arg(&img)
            .output()
            .unwrap();
        assert_eq!(code(&o), 1, "{}", text(&o));
        let s = text(&o);
        assert!(s.contains(why), "{label:?}: {s}");
        // The label is shown escaped in the message, never as raw bytes.
        assert!(!o.stderr.contains(&0x1b), "{s}");
        assert_eq!(
            std::fs::read(&img).unwrap(),
            vec![0u8; 16 << 20],
            "written before refusing"
        );
    }
    // The longest label (64 bytes, of two-byte characters) is taken.
    let o = run(MKFS, &["-q", "-f", "-L", &"\u{e9}".repeat(32)], &img);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let sb = Fs::open(&img).unwrap().sb;
    assert_eq!(sb.label_bytes(), "\u{e9}".repeat(32).as_bytes());
}

fn blkid_available() -> bool {
    ferrite_tools::mkfs::find_blkid().is_some()
}

/// Runs `prog args... img`, expecting success (the programs that make other filesystems).
fn make_other(prog: &str, args: &[&str], img: &Path) -> bool {
    match Command::new(prog).args(args).arg(img).output() {
        Ok(o) if o.status.success() => true,
        Ok(o) => panic!("{prog}: {}", text(&o)),
        Err(_) => false,
    }
}

/// mkfs without -f refuses a device holding another filesystem or a partition table, as blkid
/// finds them, and says what it found; -f overrides, and what it writes replaces the signature.
#[test]
fn mkfs_refuses_other_filesystems_found_by_blkid() {
    if !blkid_available() {
        eprintln!("blkid is not installed: skipped");
        return;
    }
    let t = Tmp::new("blkid");
    let mut cases: Vec<(PathBuf, &str)> = Vec::new();
    let ext4 = t.image("ext4", 16 << 20);
    if make_other("mkfs.ext4", &["-q", "-F"], &ext4) {
        cases.push((ext4, "contains an ext4 filesystem (found by blkid); use -f"));
    } else {
        eprintln!("mkfs.ext4 is not installed: the ext4 case is skipped");
    }
    // mkfs.xfs wants 300 MB at least; the image stays sparse.
    let xfs = t.image("xfs", 320 << 20);
    if make_other("mkfs.xfs", &["-q", "-f"], &xfs) {
        cases.push((xfs, "contains a xfs filesystem (found by blkid); use -f"));
    } else {
        eprintln!("mkfs.xfs is not installed: the xfs case is skipped");
    }
    // A DOS partition table: one partition entry and the boot signature.
    let mbr = t.image("mbr", 16 << 20);
    let mut sector = [0u8; 512];
    sector[446 + 4] = 0x83;
    sector[446 + 8..446 + 12].copy_from_slice(&2048u32.to_le_bytes());
    sector[446 + 12..446 + 16].copy_from_slice(&4096u32.to_le_bytes());
    sector[510] = 0x55;
    sector[511] = 0xaa;
    Image::open(&mbr, true)
        .unwrap()
        .write_bytes(0, &sector)
        .unwrap();
    cases.push((mbr, "contains a dos partition table (found by blkid)"));
    for (img, want) in &cases {
        let before = std::fs::read(img).unwrap();
        let o = run(MKFS, &["-q"], img);
        assert_eq!(code(&o), 1, "{}", text(&o));
        assert!(text(&o).contains(want), "{}: {}", img.display(), text(&o));
        assert!(std::fs::read(img).unwrap() == before, "mkfs wrote");
        let o = run(MKFS, &["-q", "-f"], img);
        assert_eq!(code(&o), 0, "{}", text(&o));
        assert_clean(img);
        // Now it is ferrite's: blkid finds nothing else there, mkfs finds ferrite.
        let o = Command::new(ferrite_tools::mkfs::find_blkid().unwrap())
            .args(["-p", "-o", "export"])
            .arg(img)
            .output()
            .unwrap();
        assert_eq!(code(&o), 2, "blkid still finds: {}", text(&o));
        let o = run(MKFS, &["-q"], img);
        assert!(
            text(&o).contains("existing ferrite filesystem"),
            "{}",
            text(&o)
        );
    }
    // Nothing on it: taken, with no warning.
    let zero = t.image("zero", 16 << 20);
    let o = run(MKFS, &["-q"], &zero);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(o.stderr.is_empty(), "{}", text(&o));
}

/// A ferrite filesystem is found by its backup superblock where the primary is gone: mkfs
/// refuses it without -f (fsck could have restored it).
#[test]
fn mkfs_refuses_a_ferrite_filesystem_whose_primary_superblock_is_gone() {
    let t = Tmp::new("backup-only");
    // Made on the whole device: the backup is its last block.
    let img = t.image("whole", 16 << 20);
    mkfs(&img);
    patch_block(&img, 0, |b| b.fill(0), false);
    let o = run(MKFS, &["-q"], &img);
    assert_eq!(code(&o), 1, "{}", text(&o));
    assert!(
        text(&o).contains("its backup superblock (block 4095) is intact"),
        "{}",
        text(&o)
    );
    // Garbage rather than zeros in block 0: the same.
    patch_block(&img, 0, |b| b.fill(0xa5), false);
    let o = run(MKFS, &["-q"], &img);
    assert!(text(&o).contains("(block 4095) is intact"), "{}", text(&o));
    // What mkfs says is true: fsck restores the primary from that backup.
    assert_eq!(fsck(&img, "-y").0, 1);
    assert_clean(&img);
    // Made smaller than the device (BLOCKS): the backup is inside the device, found through the
    // size the journal header (block 1) gives.
    for blocks in ["1500", "3000", "9000"] {
        let img = t.image(&format!("part{blocks}"), 64 << 20);
        let o = run(MKFS, &["-q", "-f"], &img);
        assert_eq!(code(&o), 0);
        let o = Command::new(MKFS)
            .args(["-q", "-f"])
            .arg(&img)
            .arg(blocks)
            .output()
            .unwrap();
        assert_eq!(code(&o), 0, "{}", text(&o));
        patch_block(&img, 0, |b| b.fill(0), false);
        // The old whole-device filesystem's backup is gone too: only the real one is left.
        patch_block(&img, 16383, |b| b.fill(0), false);
        let o = run(MKFS, &["-q"], &img);
        assert_eq!(code(&o), 1, "{blocks}: {}", text(&o));
        let bk: u64 = blocks.parse::<u64>().unwrap() - 1;
        assert!(
            text(&o).contains(&format!("(block {bk}) is intact")),
            "{}",
            text(&o)
        );
        // And fsck finds it there too.
        let (c, s) = fsck(&img, "-y");
        assert_eq!(c, 1, "{s}");
        assert!(
            s.contains(&format!("backup superblock (block {bk}) is valid")),
            "{s}"
        );
        assert_clean(&img);
        assert_eq!(code(&run(MKFS, &["-q", "-f"], &img)), 0);
    }
    // A primary with the ferrite magic but damaged is refused by itself.
    let img = t.image("damaged", 16 << 20);
    mkfs(&img);
    patch_block(&img, 0, |b| b[200] ^= 1, false);
    let o = run(MKFS, &["-q"], &img);
    assert!(
        text(&o).contains("primary superblock is damaged (bad superblock checksum)"),
        "{}",
        text(&o)
    );
}

/// Without blkid, mkfs still refuses ferrite, XFS and ext2/3/4 by their magic, and says that it
/// could look for nothing else.
#[test]
fn mkfs_without_blkid_falls_back_to_its_own_checks() {
    use ferrite_tools::mkfs::{blkid_probe, existing_signature};
    let t = Tmp::new("no-blkid");
    let ext = t.image("ext", 16 << 20);
    Image::open(&ext, true)
        .unwrap()
        .write_bytes(1080, &[0x53, 0xEF])
        .unwrap();
    let xfs = t.image("xfs", 16 << 20);
    Image::open(&xfs, true)
        .unwrap()
        .write_bytes(0, b"XFSB")
        .unwrap();
    let zero = t.image("zero", 16 << 20);
    let fer = t.image("ferrite", 16 << 20);
    mkfs(&fer);
    let missing = t.0.join("no-such-blkid");
    for blkid in [None, Some(missing.as_path())] {
        let sig = |p: &Path| existing_signature(&Image::open(p, false).unwrap(), p, blkid).unwrap();
        let s = sig(&ext);
        assert_eq!(s.found.as_deref(), Some("an existing ext2/3/4 filesystem"));
        let why = s.incomplete.unwrap();
        assert!(why.contains("only ferrite, XFS and ext2/3/4"), "{why}");
        if blkid.is_some() {
            assert!(why.contains("cannot be run"), "{why}");
        } else {
            assert!(why.contains("not installed"), "{why}");
        }
        assert_eq!(
            sig(&xfs).found.as_deref(),
            Some("an existing xfs filesystem")
        );
        let s = sig(&zero);
        assert_eq!(s.found, None);
        assert!(s.incomplete.is_some());
        // ferrite's own check needs no blkid, and is complete.
        let s = sig(&fer);
        assert_eq!(s.found.as_deref(), Some("an existing ferrite filesystem"));
        assert_eq!(s.incomplete, None);
    }
    assert!(blkid_probe(&missing, &zero).is_err());
    if let Some(b) = ferrite_tools::mkfs::find_blkid() {
        assert_eq!(blkid_probe(&b, &zero), Ok(None));
        // blkid takes an ext2 magic over zeros for an empty ext2 filesystem.
        let found = blkid_probe(&b, &ext).unwrap().unwrap();
        assert!(found.contains("ext2 filesystem"), "{found}");
    }
}

#[test]
fn fsck_usage_and_operational_errors() {
    let t = Tmp::new("usage");
    let img = t.image("img", 16 << 20);
    assert_eq!(fsck(&img, "-x").0, 16);
    assert_eq!(code(&Command::new(FSCK).output().unwrap()), 16);
    assert_eq!(
        code(
            &Command::new(FSCK)
                .args(["-n", "-y"])
                .arg(&img)
                .output()
                .unwrap()
        ),
        16
    );
    let (c, s) = fsck(&img, "-n");
    assert_eq!(c, 8, "{s}");
    assert!(s.contains("no ferrite filesystem"), "{s}");
    assert_eq!(fsck(&t.0.join("missing"), "-n").0, 8);
}

/// A filesystem with directories, big and fragmented files, symlinks and hard links.
fn populated(t: &Tmp, name: &str) -> (PathBuf, Vec<u64>) {
    let img = t.image(name, 64 << 20);
    mkfs(&img);
    let mut fs = Fs::open(&img).unwrap();
    let d1 = fs.mkdir(ROOT_INO, "dir1").unwrap();
    let d2 = fs.mkdir(d1, "dir2").unwrap();
    let big = fs.create_file(ROOT_INO, "big", 1500).unwrap();
    let frag = fs.create_fragmented(d1, "frag", 600).unwrap();
    let small = fs.create_file(d2, "small", 3).unwrap();
    fs.link(ROOT_INO, "small-link", small).unwrap();
    let sym = fs.symlink(d1, "sym", "../big").unwrap();
    for i in 0..300 {
        fs.create_file(d2, &format!("f{i}"), i % 3).unwrap();
    }
    fs.finish().unwrap();
    (img, vec![d1, d2, big, frag, small, sym])
}

#[test]
fn populated_filesystem_is_clean_and_dumpable() {
    let t = Tmp::new("pop");
    let (img, inos) = populated(&t, "img");
    assert_clean(&img);
    let [d1, _d2, big, frag, ..] = inos[..] else {
        panic!()
    };
    let o = run(DUMP, &[], &img);
    assert!(text(&o).contains("FERRITFS"));
    let o = Command::new(DUMP)
        .arg(&img)
        .args(["extents", &big.to_string()])
        .output()
        .unwrap();
    assert!(text(&o).contains("2M-aligned"), "{}", text(&o));
    let o = Command::new(DUMP)
        .arg(&img)
        .args(["extents", &frag.to_string()])
        .output()
        .unwrap();
    assert!(text(&o).contains("600 extents"), "{}", text(&o));
    let o = Command::new(DUMP)
        .arg(&img)
        .args(["dir", &d1.to_string()])
        .output()
        .unwrap();
    for n in ["frag", "sym", "dir2", " .."] {
        assert!(text(&o).contains(n), "{}", text(&o));
    }
    let o = Command::new(DUMP)
        .arg(&img)
        .args(["inode", &inos[5].to_string()])
        .output()
        .unwrap();
    assert!(text(&o).contains("../big"));
    let o = Command::new(DUMP)
        .arg(&img)
        .args(["journal"])
        .output()
        .unwrap();
    assert!(text(&o).contains("replay 0 transaction"), "{}", text(&o));
    let o = Command::new(DUMP)
        .arg(&img)
        .args(["inode", "99999999"])
        .output()
        .unwrap();
    assert_eq!(code(&o), 1);
}

fn with_fs(img: &Path, f: impl FnOnce(&mut Fs)) {
    let mut fs = Fs::open(img).unwrap();
    f(&mut fs);
    fs.img.sync().unwrap();
}

/// Commits one journal transaction to `img` (not applied in place) that writes the blocks
/// `blocks` makes from the open filesystem.
fn commit_to_journal(img: &Path, blocks: impl FnOnce(&Fs) -> Vec<(u64, Block)>) {
    with_fs(img, |fs| {
        let l = fs.sb.layout;
        let mut b = [0u8; BLOCK_SIZE];
        fs.img.read(l.journal_start, &mut b).unwrap();
        let h = JournalHeader::decode(&b, &l).unwrap();
        let mut w = JournalWriter::new(&l, &h);
        for (blk, data) in blocks(fs) {
            w.add(&mut fs.img, blk, 0, &data, &mut fs.scratch).unwrap();
        }
        w.commit(&mut fs.img, &mut fs.scratch).unwrap();
    });
}

fn patch_block(img: &Path, blk: u64, f: impl FnOnce(&mut Block), seal: bool) {
    let i = Image::open(img, true).unwrap();
    let mut b = [0u8; BLOCK_SIZE];
    i.read_bytes(blk * 4096, &mut b).unwrap();
    f(&mut b);
    if seal {
        block_seal(&mut b);
    }
    i.write_bytes(blk * 4096, &b).unwrap();
}

/// Plants a corruption, expects `fsck -n` to name it (exit 4, unchanged image), then `fsck -y`
/// to exit `fixed_code` and a second `fsck -n` to be clean when it was repairable.
fn planted(tag: &str, plant: impl FnOnce(&Path, &[u64]), expect: &str, repairable: bool) {
    let t = Tmp::new(tag);
    let (img, inos) = populated(&t, "img");
    plant(&img, &inos);
    let before = std::fs::read(&img).unwrap();
    let (c, s) = fsck(&img, "-n");
    assert_eq!(c, 4, "{tag}: fsck -n exit\n{s}");
    assert!(s.contains(expect), "{tag}: expected '{expect}' in\n{s}");
    assert!(
        std::fs::read(&img).unwrap() == before,
        "{tag}: fsck -n wrote"
    );
    let (c, s) = fsck(&img, "-y");
    if repairable {
        assert_eq!(c, 1, "{tag}: fsck -y\n{s}");
        assert!(s.contains("[fixed]"));
        assert_clean(&img);
    } else {
        assert_eq!(c, 4, "{tag}: fsck -y\n{s}");
    }
}

fn layout_of(img: &Path) -> Layout {
    Fs::open(img).unwrap().sb.layout
}

#[test]
fn fsck_restores_primary_superblock_from_backup() {
    planted(
        "sb",
        |img, _| patch_block(img, 0, |b| b[200] ^= 0xff, false),
        "primary superblock (block 0): bad superblock checksum",
        true,
    );
    // -n reports it uncorrected (4); -y restores and reports corrected (1), then clean.
    let t = Tmp::new("sb2");
    let (img, _) = populated(&t, "img");
    patch_block(&img, 0, |b| b[0] = 0, false);
    let (c, s) = fsck(&img, "-y");
    assert_eq!(c, 1, "{s}");
    assert!(s.contains("bad superblock magic"));
    assert_clean(&img);
}

#[test]
fn fsck_repairs_backup_superblock() {
    planted(
        "bsb",
        |img, _| {
            let l = layout_of(img);
            patch_block(img, l.backup_sb, |b| b[300] ^= 1, false)
        },
        "backup superblock",
        true,
    );
}

#[test]
fn fsck_repairs_block_bitmap() {
    planted(
        "bbm-free",
        |img, inos| {
            // Mark a block of the big file free.
            let mut fs = Fs::open(img).unwrap();
            let InodeData::Extents(r) = fs.inode(inos[2]).unwrap().data else {
                panic!()
            };
            let blk = r.inline[0].physical + 5;
            let bm = Bitmap::blocks(&fs.sb.layout);
            let mut b = [0u8; BLOCK_SIZE];
            bm.set_range(&mut fs.img, blk, 1, false, &mut b).unwrap();
        },
        "block(s) in use are marked free",
        true,
    );
    planted(
        "bbm-leak",
        |img, _| {
            let mut fs = Fs::open(img).unwrap();
            let bm = Bitmap::blocks(&fs.sb.layout);
            let mut b = [0u8; BLOCK_SIZE];
            let (free, _) = bm
                .find_run(&fs.img, 0, AllocPolicy::Huge, 512, 512, &mut b)
                .unwrap()
                .unwrap();
            bm.set_range(&mut fs.img, free + 7, 1, true, &mut b)
                .unwrap();
        },
        "marked in use belong to nothing",
        true,
    );
    planted(
        "bbm-crc",
        |img, _| {
            let l = layout_of(img);
            patch_block(img, l.block_bitmap_start, |b| b[10] ^= 1, false)
        },
        "bad checksum",
        true,
    );
}

/// Plants an unlinked file that is still allocated (as a crash leaves one that was open, or whose
/// last link was just removed), on a filesystem left clean.
/// As a crash leaves the filesystem: the clean flag off (both superblocks).
fn mark_unclean(fs: &mut Fs) {
    fs.sb.state &= !STATE_CLEAN;
    fs.sb.encode(&mut fs.scratch.a);
    let b = fs.scratch.a;
    fs.img.write(0, &b).unwrap();
    fs.img.write(fs.sb.layout.backup_sb, &b).unwrap();
}

/// fsck -y frees the orphan an unclean image holds, and -n is clean after it.
fn assert_orphan_freed(img: &Path) {
    let (c, s) = fsck(img, "-y");
    assert!(c == 0 || c == 1, "fsck -y exit {c}\n{s}");
    assert!(s.contains("freed"), "{s}");
    let (c, s) = fsck(img, "-n");
    assert_eq!(c, 0, "{s}");
    assert!(
        !s.contains("an orphan of the"),
        "the orphan is still there after fsck -y:\n{s}"
    );
}

fn plant_orphan(fs: &mut Fs) {
    let d = fs.mkdir(ROOT_INO, "tmp").unwrap();
    let f = fs.create_file(d, "gone", 4).unwrap();
    unlink_as_orphan(fs, d, f, "gone", 0);
    fs.finish().unwrap();
}

/// Removes `name` (inode `ino`) from directory `d`, the last entry there, leaving `ino` with no
/// link; `d` loses `subdir` links (1 for a directory).
fn unlink_as_orphan(fs: &mut Fs, d: u64, ino: u64, name: &str, subdir: u32) {
    let mut i = fs.inode(ino).unwrap();
    i.nlink = 0;
    fs.write_inode(&i).unwrap();
    let mut di = fs.inode(d).unwrap();
    let InodeData::Dir(mut r) = di.data else {
        panic!()
    };
    let seed = fs.sb.hash_seed;
    dir_remove(
        &mut fs.img,
        d,
        &seed,
        &mut r,
        name.as_bytes(),
        &mut fs.scratch,
    )
    .unwrap();
    di.data = InodeData::Dir(r);
    di.nlink -= subdir;
    di.blocks = 0;
    fs.write_inode(&di).unwrap();
}

#[test]
fn fsck_repairs_counts() {
    planted(
        "nlink",
        |img, inos| {
            with_fs(img, |fs| {
                let mut i = fs.inode(inos[4]).unwrap();
                i.nlink = 5;
                fs.write_inode(&i).unwrap();
            })
        },
        "link count is 5, should be 2",
        true,
    );
    planted(
        "dirnlink",
        |img, inos| {
            with_fs(img, |fs| {
                let mut i = fs.inode(inos[0]).unwrap();
                i.nlink = 2;
                fs.write_inode(&i).unwrap();
            })
        },
        "link count is 2, should be 3",
        true,
    );
    planted(
        "blocks",
        |img, inos| {
            with_fs(img, |fs| {
                let mut i = fs.inode(inos[3]).unwrap();
                i.blocks += 9;
                fs.write_inode(&i).unwrap();
            })
        },
        "block count is",
        true,
    );
    planted(
        "free",
        |img, _| {
            with_fs(img, |fs| {
                fs.sb.free_blocks -= 3;
                let mut b = [0u8; BLOCK_SIZE];
                fs.sb.encode(&mut b);
                fs.img.write(0, &b).unwrap();
            })
        },
        "free block count is",
        true,
    );
    planted(
        "entries",
        |img, inos| {
            with_fs(img, |fs| {
                let mut i = fs.inode(inos[1]).unwrap();
                if let InodeData::Dir(d) = &mut i.data {
                    d.entries += 1;
                }
                fs.write_inode(&i).unwrap();
            })
        },
        "entry count is",
        true,
    );
    planted(
        "parent",
        |img, inos| {
            with_fs(img, |fs| {
                let mut i = fs.inode(inos[1]).unwrap();
                if let InodeData::Dir(d) = &mut i.data {
                    d.parent = ROOT_INO;
                }
                fs.write_inode(&i).unwrap();
            })
        },
        "parent is recorded as 1",
        true,
    );
    planted(
        "orphan",
        |img, _| with_fs(img, plant_orphan),
        "was not freed (orphan)",
        true,
    );
}

/// After an unclean unmount an orphan (a crash between the unlink of a file's last link and the
/// freeing of its inode) is a state the next mount repairs: fsck -n notes it and exits 0, fsck -y
/// frees it. (On a clean filesystem it is a problem: the "orphan" case of `fsck_repairs_counts`.)
#[test]
fn fsck_accepts_orphans_after_an_unclean_unmount() {
    let t = Tmp::new("orphan-unclean");
    let (img, _) = populated(&t, "img");
    with_fs(&img, |fs| {
        plant_orphan(fs);
        mark_unclean(fs);
    });
    let before = std::fs::read(&img).unwrap();
    let (c, s) = fsck(&img, "-n");
    assert_eq!(c, 0, "fsck -n exit\n{s}");
    assert!(s.contains("an orphan of the unclean unmount"), "{s}");
    assert!(std::fs::read(&img).unwrap() == before, "fsck -n wrote");
    assert_orphan_freed(&img);
}

#[test]
fn fsck_accepts_an_emptied_directory_orphan_after_an_unclean_unmount() {
    // rmdir of a directory still in use (or a crash between rmdir and the freeing) leaves it
    // with no link and no entry: an orphan like a file, not an error.
    let t = Tmp::new("orphan-dir");
    let (img, _) = populated(&t, "img");
    with_fs(&img, |fs| {
        let d = fs.mkdir(ROOT_INO, "tmp").unwrap();
        let e = fs.mkdir(d, "empty").unwrap();
        unlink_as_orphan(fs, d, e, "empty", 1);
        fs.finish().unwrap();
        mark_unclean(fs);
    });
    let (c, s) = fsck(&img, "-n");
    assert_eq!(c, 0, "fsck -n exit\n{s}");
    assert!(
        s.contains("unlinked directory, an orphan of the unclean unmount"),
        "{s}"
    );
    assert_orphan_freed(&img);
}

#[test]
fn fsck_reports_corrupt_inodes_and_trees_it_cannot_repair() {
    planted(
        "icrc",
        |img, inos| {
            let l = layout_of(img);
            let (blk, off) = inode_location(&l, inos[3]).unwrap();
            patch_block(img, blk, |b| b[off + 20] ^= 1, false);
        },
        "bad checksum",
        false,
    );
    planted(
        "ext-meta",
        |img, inos| {
            with_fs(img, |fs| {
                // Point the small file's extent into the inode table.
                let mut i = fs.inode(inos[4]).unwrap();
                if let InodeData::Extents(r) = &mut i.data {
                    r.inline[0].physical = fs.sb.layout.inode_table_start;
                }
                fs.write_inode(&i).unwrap();
            })
        },
        "outside the data area",
        false,
    );
    planted(
        "shared",
        |img, inos| {
            with_fs(img, |fs| {
                let big = fs.inode(inos[2]).unwrap();
                let InodeData::Extents(br) = big.data else {
                    panic!()
                };
                let mut i = fs.inode(inos[4]).unwrap();
                if let InodeData::Extents(r) = &mut i.data {
                    r.inline[0].physical = br.inline[0].physical;
                }
                fs.write_inode(&i).unwrap();
            })
        },
        "is also used by inode",
        false,
    );
    planted(
        "node",
        |img, inos| {
            with_fs(img, |fs| {
                let InodeData::Extents(r) = fs.inode(inos[3]).unwrap().data else {
                    panic!()
                };
                let blk = r.tree.blk;
                patch_block(img, blk, |b| b[100] ^= 1, false);
            })
        },
        "bad checksum",
        false,
    );
}

/// Adds to directory `dir` an entry `name` naming inode `ino` of type `ftype`, whatever that
/// inode is.
fn add_entry(img: &Path, dir: u64, name: &[u8], ino: u64, ftype: u8) {
    with_fs(img, |fs| {
        let mut d = fs.inode(dir).unwrap();
        let InodeData::Dir(mut r) = d.data else {
            panic!()
        };
        let seed = fs.sb.hash_seed;
        dir_insert(
            &mut fs.img,
            dir,
            &seed,
            &mut r,
            name,
            ino,
            ftype,
            &mut fs.scratch,
        )
        .unwrap();
        d.data = InodeData::Dir(r);
        fs.write_inode(&d).unwrap();
    })
}

#[test]
fn fsck_reports_entries_it_cannot_repair() {
    planted(
        "dangling",
        |img, inos| add_entry(img, inos[0], b"dangling", 4000, FT_REG),
        "entry 'dangling' points to unallocated inode 4000",
        false,
    );
    planted(
        "ftype",
        |img, inos| add_entry(img, inos[0], b"wrongtype", inos[4], FT_DIR),
        "has type directory but inode",
        false,
    );
}

#[test]
fn fsck_repairs_journal_header_and_replays_journal() {
    planted(
        "jhdr",
        |img, _| {
            let l = layout_of(img);
            patch_block(img, l.journal_start, |b| b[20] ^= 1, false)
        },
        "journal header",
        true,
    );
    // A committed transaction that renames the filesystem: -n checks as if replayed and leaves
    // the device alone; -y replays it.
    let t = Tmp::new("jreplay");
    let (img, _) = populated(&t, "img");
    commit_to_journal(&img, |fs| {
        let mut b = [0u8; BLOCK_SIZE];
        let mut sb = fs.sb;
        sb.set_label(b"replayed").unwrap();
        sb.encode(&mut b);
        // The superblock and its backup change together, as the kernel must do it.
        vec![(0, b), (fs.sb.layout.backup_sb, b)]
    });
    let before = std::fs::read(&img).unwrap();
    let (c, s) = fsck(&img, "-n");
    assert_eq!(c, 0, "{s}");
    assert!(s.contains("checked as if replayed"), "{s}");
    assert!(std::fs::read(&img).unwrap() == before);
    let (c, s) = fsck(&img, "-y");
    assert_eq!(c, 1, "{s}");
    assert!(s.contains("replayed"));
    let o = run(DUMP, &[], &img);
    assert!(
        text(&o).contains("label:             replayed"),
        "{}",
        text(&o)
    );
    assert_clean(&img);
}

/// A committed transaction whose superblock is invalid: fsck -n reports what the replay would
/// leave (not the superblock before it), fsck -y writes the good one back over it, and the
/// backup is compared with the superblock the replay leaves.
#[test]
fn fsck_checks_the_superblock_the_journal_replays() {
    let t = Tmp::new("jsb");
    let (img, _) = populated(&t, "img");
    commit_to_journal(&img, |fs| {
        let mut b = [0u8; BLOCK_SIZE];
        fs.sb.encode(&mut b);
        // block_size 4095, crc recomputed: a superblock mount refuses.
        b[12..16].copy_from_slice(&4095u32.to_le_bytes());
        let c = crc32c(&b[..BLOCK_CRC_OFF]);
        b[BLOCK_CRC_OFF..].copy_from_slice(&c.to_le_bytes());
        vec![(0, b)]
    });
    let (c, s) = fsck(&img, "-n");
    assert_eq!(c, 4, "{s}");
    assert!(
        s.contains("the replayed primary superblock (block 0) is invalid"),
        "{s}"
    );
    let (c, s) = fsck(&img, "-y");
    assert_eq!(c, 1, "{s}");
    assert_clean(&img);
    // A label change replayed into the primary only: the backup differs from what the replay
    // leaves, not from the primary before it.
    commit_to_journal(&img, |fs| {
        let mut b = [0u8; BLOCK_SIZE];
        let mut sb = fs.sb;
        sb.set_label(b"primary only").unwrap();
        sb.encode(&mut b);
        vec![(0, b)]
    });
    let (c, s) = fsck(&img, "-n");
    assert_eq!(c, 4, "{s}");
    assert!(s.contains("backup superblock"), "{s}");
    let (c, s) = fsck(&img, "-y");
    assert_eq!(c, 1, "{s}");
    assert_clean(&img);
}

#[test]
fn fsck_preen_skips_clean_unless_forced() {
    let t = Tmp::new("preen");
    let (img, inos) = populated(&t, "img");
    with_fs(&img, |fs| {
        let mut i = fs.inode(inos[4]).unwrap();
        i.nlink = 9;
        fs.write_inode(&i).unwrap();
    });
    let (c, s) = fsck(&img, "-p");
    assert_eq!(c, 0, "{s}");
    assert!(s.contains("clean"));
    let o = Command::new(FSCK)
        .args(["-p", "-f"])
        .arg(&img)
        .output()
        .unwrap();
    assert_eq!(code(&o), 1, "{}", text(&o));
    assert_clean(&img);
    let o = Command::new(FSCK).args(["-af"]).arg(&img).output().unwrap();
    assert_eq!(code(&o), 0, "{}", text(&o));
}

#[test]
fn tools_refuse_what_is_not_a_device_or_an_image_at_once() {
    // A FIFO would block the open until something writes to it; a directory cannot hold a
    // filesystem. Each tool says what the path is and exits non-zero, without waiting.
    let t = Tmp::new("not-an-image");
    let fifo = t.0.join("fifo");
    let st = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(st.success());
    let dir = t.0.join("dir");
    std::fs::create_dir(&dir).unwrap();
    for (p, what) in [(&fifo, "a FIFO"), (&dir, "a directory")] {
        let (c, s) = fsck(p, "-n");
        assert_ne!(c, 0, "{s}");
        assert!(s.contains(what), "fsck on {what}: {s}");
        let o = run(MKFS, &["-f", "-q"], p);
        assert_ne!(code(&o), 0);
        assert!(text(&o).contains(what), "mkfs on {what}: {}", text(&o));
    }
}

/// Whatever an image holds is printed escaped: a label, directory entry names and symlink
/// targets with terminal escape sequences, other control bytes and invalid UTF-8 come out as
/// `\x1b`, `\n`, `\xff`..., never as the raw bytes (which could rewrite the terminal).
#[test]
fn tools_print_what_an_image_holds_escaped() {
    let t = Tmp::new("escape");
    let img = t.image("img", 16 << 20);
    mkfs(&img);
    let (d, sym) = {
        let mut fs = Fs::open(&img).unwrap();
        let d = fs.mkdir(ROOT_INO, "d").unwrap();
        fs.create_file(d, "clear\x1b[2J", 0).unwrap();
        let sym = fs.symlink(d, "title", "\x1b]0;owned\x07").unwrap();
        fs.finish().unwrap();
        (d, sym)
    };
    // A name that is not UTF-8, naming no inode (so that fsck names it in a problem).
    add_entry(&img, d, b"bad\xff\nname", 4000, FT_REG);
    // A label planted as mkfs would never write it.
    let lo = superblock_field_offset("label").unwrap();
    for blk in [0, layout_of(&img).backup_sb] {
        patch_block(
            &img,
            blk,
            |b| b[lo..lo + 9].copy_from_slice(b"red\x1b[31m\\"),
            true,
        );
    }
    let views: [(&str, &[&str], &[&str]); 4] = [
        (DUMP, &[], &[r"label:             red\x1b[31m\\"]),
        (
            DUMP,
            &["dir", &d.to_string()],
            &[r"clear\x1b[2J", r"title", r"bad\xff\nname"],
        ),
        (
            DUMP,
            &["inode", &sym.to_string()],
            &[r"target:     \x1b]0;owned\x07"],
        ),
        (
            FSCK,
            &["-n"],
            &[r"entry 'bad\xff\nname' points to unallocated inode 4000"],
        ),
    ];
    for (bin, args, want) in views {
        let o = Command::new(bin).arg(&img).args(args).output().unwrap();
        let out = [&o.stdout[..], &o.stderr[..]].concat();
        let s = String::from_utf8(out.clone()).expect("the output is UTF-8");
        for w in want {
            assert!(s.contains(w), "{bin} {args:?}: no {w:?} in\n{s}");
        }
        assert!(
            !out.iter().any(|&b| b < 0x20 && b != b'\n'),
            "{bin} {args:?}: raw control bytes in {s:?}"
        );
    }
}

/// An image with a file carrying attributes: a short value, one in value blocks, an ACL.
fn with_xattrs(t: &Tmp) -> (PathBuf, u64) {
    let img = t.image("img", 64 << 20);
    mkfs(&img);
    let mut fs = Fs::open(&img).unwrap();
    let f = fs.create_file(ROOT_INO, "f", 2).unwrap();
    let now = Timespec { sec: 5, nsec: 0 };
    let mut ctx = fs.ctx();
    ctx.xattr_set(
        f,
        XATTR_INDEX_USER,
        b"note",
        Some(b"hi\x01"),
        ferrite_format::ops::XattrMode::Any,
        now,
    )
    .unwrap();
    ctx.xattr_set(
        f,
        XATTR_INDEX_USER,
        b"big",
        Some(&[7u8; 9000]),
        ferrite_format::ops::XattrMode::Any,
        now,
    )
    .unwrap();
    ctx.xattr_set(
        f,
        XATTR_INDEX_POSIX_ACL_ACCESS,
        b"",
        Some(&[2, 0, 0, 0]),
        ferrite_format::ops::XattrMode::Any,
        now,
    )
    .unwrap();
    fs.finish().unwrap();
    (img, f)
}

#[test]
fn xattrs_are_checked_dumped_and_repaired() {
    let t = Tmp::new("xattr");
    let (img, f) = with_xattrs(&t);
    assert_clean(&img);
    let o = Command::new(DUMP)
        .arg(&img)
        .args(["inode", &f.to_string()])
        .output()
        .unwrap();
    let s = text(&o);
    assert!(s.contains("user.note: 3 bytes \"hi\\x01\""), "{s}");
    assert!(s.contains("user.big: 9000 bytes in value blocks"), "{s}");
    assert!(s.contains("system.posix_acl_access: 4 bytes"), "{s}");
    assert!(text(&run(DUMP, &[], &img)).contains("ro_compat 0x1 (xattr)"));

    // A value block that no longer matches its checksum: the attributes are dropped, their
    // blocks freed, the inode's block count fixed.
    let xblk = Fs::open(&img).unwrap().inode(f).unwrap().xattr;
    let mut b = [0u8; BLOCK_SIZE];
    Image::open(&img, false)
        .unwrap()
        .read_bytes(xblk * 4096, &mut b)
        .unwrap();
    let vblk = xattr_entries(&b)
        .find(|e| e.name == b"big")
        .unwrap()
        .value
        .blocks()
        .nth(1)
        .unwrap();
    patch_block(&img, vblk, |b| b[10] ^= 0xff, false);
    let (c, s) = fsck(&img, "-n");
    assert_eq!(c, 4, "{s}");
    assert!(
        s.contains("the value of user.big does not match its checksum"),
        "{s}"
    );
    let (c, s) = fsck(&img, "-y");
    assert_eq!(c, 1, "{s}");
    assert_clean(&img);
    let i = Fs::open(&img).unwrap().inode(f).unwrap();
    assert_eq!((i.xattr, i.blocks), (0, 2));

    // A damaged xattr block: the same.
    let t2 = Tmp::new("xattr2");
    let (img, _) = with_xattrs(&t2);
    let xblk = Fs::open(&img).unwrap().inode(f).unwrap().xattr;
    patch_block(&img, xblk, |b| b[40] ^= 1, false);
    let (c, s) = fsck(&img, "-n");
    assert_eq!(c, 4, "{s}");
    assert!(
        s.contains(&format!("xattr block {xblk}: bad checksum")),
        "{s}"
    );
    let (c, _) = fsck(&img, "-y");
    assert_eq!(c, 1);
    assert_clean(&img);
}

#[test]
fn mkfs_without_xattrs_and_an_inode_that_has_some() {
    let t = Tmp::new("noxattr");
    let img = t.image("img", 64 << 20);
    let o = run(MKFS, &["-q", "-f", "-O", "^xattr"], &img);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let o = run(MKFS, &["-q", "-f", "-O", "acl"], &img);
    assert_eq!(code(&o), 1);
    assert!(text(&o).contains("unknown feature 'acl'"), "{}", text(&o));
    assert_clean(&img);
    let mut fs = Fs::open(&img).unwrap();
    assert!(!fs.sb.has_xattr());
    let f = fs.create_file(ROOT_INO, "f", 0).unwrap();
    let now = Timespec { sec: 5, nsec: 0 };
    assert!(matches!(
        fs.ctx().xattr_set(
            f,
            XATTR_INDEX_USER,
            b"a",
            Some(b"v"),
            ferrite_format::ops::XattrMode::Any,
            now
        ),
        Err(Error::Invalid)
    ));
    // An xattr field set anyway is refused by fsck and cleared.
    let mut i = fs.inode(f).unwrap();
    i.xattr = 600;
    fs.write_inode(&i).unwrap();
    fs.finish().unwrap();
    let (c, s) = fsck(&img, "-n");
    assert_eq!(c, 4, "{s}");
    assert!(s.contains("does not have the xattr feature"), "{s}");
    assert_eq!(fsck(&img, "-y").0, 1);
    assert_clean(&img);
}

/// Sets `name` of `user.` on `ino` of `fs`.
fn set_user_xattr(fs: &mut Fs, ino: u64, name: &[u8], value: &[u8]) {
    let now = Timespec { sec: 6, nsec: 0 };
    fs.ctx()
        .xattr_set(
            ino,
            XATTR_INDEX_USER,
            name,
            Some(value),
            ferrite_format::ops::XattrMode::Any,
            now,
        )
        .unwrap();
}

/// Rewrites the record of `ino` with `f` applied to its bytes and its crc recomputed.
fn patch_record(img: &Path, ino: u64, f: impl FnOnce(&mut [u8])) {
    let l = layout_of(img);
    let (blk, off) = inode_location(&l, ino).unwrap();
    patch_block(
        img,
        blk,
        |b| {
            let rec = &mut b[off..off + INODE_SIZE];
            f(rec);
            let c = crc32c(&rec[..INODE_SIZE - 4]);
            rec[INODE_SIZE - 4..].copy_from_slice(&c.to_le_bytes());
        },
        false,
    );
}

#[test]
fn inline_xattrs_are_checked_dumped_and_repaired() {
    let t = Tmp::new("ixattr");
    let img = t.image("img", 64 << 20);
    mkfs(&img);
    let mut fs = Fs::open(&img).unwrap();
    let d = fs.mkdir(ROOT_INO, "d").unwrap();
    set_user_xattr(&mut fs, d, b"color", b"blue");
    set_user_xattr(&mut fs, d, b"big", &[7u8; 9000]);
    fs.finish().unwrap();
    assert_clean(&img);
    let (i, ix) = Fs::open(&img).unwrap().ctx().read_inode_xattrs(d).unwrap();
    assert_eq!(ix.used(), 13);
    assert_ne!(i.xattr, 0);
    let o = Command::new(DUMP)
        .arg(&img)
        .args(["inode", &d.to_string()])
        .output()
        .unwrap();
    let s = text(&o);
    assert!(
        s.contains("xattrs:     in the record (13 of 108 bytes)"),
        "{s}"
    );
    assert!(s.contains("user.color: 4 bytes \"blue\""), "{s}");
    assert!(s.contains("user.big: 9000 bytes in value blocks"), "{s}");

    // An unknown namespace in the record (its crc right): the record's attributes are dropped,
    // the inode and its block kept.
    let data = inode_field_offset("data").unwrap();
    patch_record(&img, d, |r| r[data + 32] = 99);
    let (c, s) = fsck(&img, "-n");
    assert_eq!(c, 4, "{s}");
    assert!(
        s.contains("bad extended attributes in the inode record; they are dropped"),
        "{s}"
    );
    let (c, s) = fsck(&img, "-y");
    assert_eq!(c, 1, "{s}");
    assert_clean(&img);
    let mut fs = Fs::open(&img).unwrap();
    assert!(fs.ctx().read_inode_xattrs(d).unwrap().1.is_empty());
    let mut v = vec![0u8; 9000];
    assert_eq!(
        fs.ctx()
            .xattr_get(d, XATTR_INDEX_USER, b"big", &mut v)
            .unwrap(),
        9000
    );

    // The same attribute in the record and in the block: the record's copy goes.
    let (i, mut ix) = fs.ctx().read_inode_xattrs(d).unwrap();
    ix.push(XATTR_INDEX_USER, b"big", b"x", 108).unwrap();
    fs.ctx().write_inode_xattrs(&i, &ix).unwrap();
    fs.finish().unwrap();
    let (c, s) = fsck(&img, "-n");
    assert_eq!(c, 4, "{s}");
    assert!(
        s.contains("user.big both in the record and in block"),
        "{s}"
    );
    assert_eq!(fsck(&img, "-y").0, 1);
    assert_clean(&img);
    let mut fs = Fs::open(&img).unwrap();
    assert!(fs.ctx().read_inode_xattrs(d).unwrap().1.is_empty());
    assert_eq!(
        fs.ctx()
            .xattr_get(d, XATTR_INDEX_USER, b"big", &mut v)
            .unwrap(),
        9000
    );
}

#[test]
fn inline_xattrs_without_the_feature_are_dropped() {
    let t = Tmp::new("noixattr");
    let img = t.image("img", 64 << 20);
    let o = run(MKFS, &["-q", "-f", "-O", "^xattr"], &img);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let mut fs = Fs::open(&img).unwrap();
    let d = fs.mkdir(ROOT_INO, "d").unwrap();
    let i = fs.inode(d).unwrap();
    let mut ix = InlineXattrs::default();
    ix.push(XATTR_INDEX_USER, b"a", b"v", 108).unwrap();
    fs.ctx().write_inode_xattrs(&i, &ix).unwrap();
    // The operations refuse to read them.
    assert!(matches!(
        fs.ctx().xattr_list(d, &mut |_, _| {}),
        Err(Error::Corrupt(Corrupt::BadInlineXattr(_)))
    ));
    fs.finish().unwrap();
    let (c, s) = fsck(&img, "-n");
    assert_eq!(c, 4, "{s}");
    assert!(
        s.contains("extended attributes in the record, but the filesystem does not have"),
        "{s}"
    );
    assert_eq!(fsck(&img, "-y").0, 1);
    assert_clean(&img);
}
