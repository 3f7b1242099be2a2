//! ferrite-tune, run as a binary on image files (and, as root, on loop devices), and its offline
//! update through the journal, cut by a crash at every point.

mod common;
use common::*;
use ferrite_format::*;
use ferrite_tools::fsck::{fsck_image, FsckOptions, Mode, EXIT_CORRECTED, EXIT_OK};
use ferrite_tools::fsops::Fs;
use ferrite_tools::image::Image;
use ferrite_tools::tune::{
    commit_superblocks, parse_mountinfo, patched_superblock, prepare, Change, MountEntry,
};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;

fn tune(args: &[&str], img: &Path) -> (i32, String) {
    let o = run(TUNE, args, img);
    (code(&o), text(&o))
}
/// A fresh filesystem of 16 MiB labelled `old`.
fn fresh(t: &Tmp, name: &str) -> PathBuf {
    let img = t.image(name, 16 << 20);
    let o = run(MKFS, &["-q", "-f", "-L", "old"], &img);
    assert_eq!(code(&o), 0, "{}", text(&o));
    img
}
fn read_block(img: &Path, blk: u64) -> Block {
    let mut b = [0u8; BLOCK_SIZE];
    Image::open(img, false)
        .unwrap()
        .read_bytes(blk * 4096, &mut b)
        .unwrap();
    b
}
fn write_block(img: &Path, blk: u64, b: &Block) {
    Image::open(img, true)
        .unwrap()
        .write_bytes(blk * 4096, b)
        .unwrap();
}
fn patch_block(img: &Path, blk: u64, f: impl FnOnce(&mut Block), seal: bool) {
    let mut b = read_block(img, blk);
    f(&mut b);
    if seal {
        block_seal(&mut b);
    }
    write_block(img, blk, &b);
}
/// Both superblocks, decoded.
fn superblocks(img: &Path) -> (DiskSuperblock, DiskSuperblock) {
    let p = DiskSuperblock::decode(&read_block(img, 0)).unwrap();
    let b = DiskSuperblock::decode(&read_block(img, p.layout.backup_sb)).unwrap();
    (p, b)
}
fn off(field: &str) -> usize {
    superblock_field_offset(field).unwrap()
}
/// Commits one journal transaction to `img` (not applied in place) writing `blocks`.
fn commit_to_journal(img: &Path, blocks: impl FnOnce(&Fs) -> Vec<(u64, Block)>) {
    let mut fs = Fs::open(img).unwrap();
    let l = fs.sb.layout;
    let h = JournalHeader::decode(&read_block(img, l.journal_start), &l).unwrap();
    let mut w = JournalWriter::new(&l, &h);
    for (blk, data) in blocks(&fs) {
        w.add(&mut fs.img, blk, 0, &data, &mut fs.scratch).unwrap();
    }
    w.commit(&mut fs.img, &mut fs.scratch).unwrap();
    fs.img.sync().unwrap();
}
const UUID: &str = "0f1e2d3c-4b5a-4697-8877-665544332211";

#[test]
fn list_shows_label_uuid_features_and_layout() {
    let t = Tmp::new("list");
    let img = fresh(&t, "img");
    let (sb, _) = superblocks(&img);
    let (c, s) = tune(&["-l"], &img);
    assert_eq!(c, 0, "{s}");
    for want in [
        "label:             old".to_string(),
        format!(
            "UUID:              {}",
            ferrite_tools::uuid_string(&sb.uuid)
        ),
        "features:          xattr".into(),
        "ro_compat 0x1".into(),
        "state:             clean".into(),
        "block count:       4096 (16.0 MiB)".into(),
        format!("inode count:       {}", sb.layout.inode_count),
        format!("free blocks:       {}", sb.free_blocks),
        "journal:           64 blocks (1..65), empty".into(),
        "backup superblock: block 4095".into(),
    ] {
        assert!(s.contains(&want), "no '{want}' in\n{s}");
    }
    // Without the feature, and without a label.
    let o = run(MKFS, &["-q", "-f", "-O", "^xattr"], &img);
    assert_eq!(code(&o), 0);
    let (c, s) = tune(&["-l"], &img);
    assert_eq!(c, 0, "{s}");
    assert!(s.contains("features:          (none)"), "{s}");
    assert!(s.contains("label:             <none>"), "{s}");
    // A journal with a committed transaction: shown as recovery will leave it, and said so.
    commit_to_journal(&img, |fs| {
        let mut sb = fs.sb;
        sb.set_label(b"pending").unwrap();
        let mut b = [0u8; BLOCK_SIZE];
        sb.encode(&mut b);
        vec![(0, b), (sb.layout.backup_sb, b)]
    });
    let (c, s) = tune(&["-l"], &img);
    assert_eq!(c, 0, "{s}");
    assert!(s.contains("label:             pending"), "{s}");
    assert!(s.contains("1 committed transaction(s) to replay"), "{s}");
    // Not a ferrite filesystem.
    let zero = t.image("zero", 16 << 20);
    let (c, s) = tune(&["-l"], &zero);
    assert_eq!(c, 1);
    assert!(s.contains("no ferrite filesystem"), "{s}");
}

/// -L and -U change both superblocks, and nothing else of them but the write time, through a
/// journal transaction that is checkpointed: the log holds it, committed, so that a crash after
/// the commit is completed by recovery.
#[test]
fn changes_both_superblocks_through_a_checkpointed_transaction() {
    let t = Tmp::new("change");
    let img = fresh(&t, "img");
    let (sb, _) = superblocks(&img);
    let l = sb.layout;
    let (p0, b0, j0) = (
        read_block(&img, 0),
        read_block(&img, l.backup_sb),
        read_block(&img, l.journal_start),
    );
    let h0 = JournalHeader::decode(&j0, &l).unwrap();
    let (c, s) = tune(&["-L", "new label", "-U", UUID], &img);
    assert_eq!(c, 0, "{s}");
    assert!(s.is_empty(), "{s}");
    let (p, b) = superblocks(&img);
    for x in [&p, &b] {
        assert_eq!(x.label_bytes(), b"new label");
        assert_eq!(ferrite_tools::uuid_string(&x.uuid), UUID);
    }
    // Every other byte as it was (reserved ones included).
    let (p1, b1) = (read_block(&img, 0), read_block(&img, l.backup_sb));
    let changed = [
        off("uuid")..off("uuid") + 16,
        off("label")..off("label") + LABEL_MAX,
        off("write_time")..off("write_time") + 8,
        BLOCK_CRC_OFF..BLOCK_SIZE,
    ];
    for (old, new) in [(&p0, &p1), (&b0, &b1)] {
        for i in 0..BLOCK_SIZE {
            if !changed.iter().any(|r| r.contains(&i)) {
                assert_eq!(old[i], new[i], "byte {i} changed");
            }
        }
    }
    // The journal: one transaction, checkpointed in the next generation's slot.
    let j1 = read_block(&img, l.journal_start);
    let h1 = JournalHeader::decode(&j1, &l).unwrap();
    assert_eq!(h1.generation, h0.generation + 1);
    assert_eq!(h1.checkpoint_seq, h0.checkpoint_seq + 1);
    assert_eq!(h1.tail, h1.head);
    assert!(h1.tail > h0.tail);
    assert_eq!(
        j1[..JH_SLOT],
        j0[..JH_SLOT],
        "the copy in force was rewritten"
    );
    assert_clean(&img);
    let o = Command::new(DUMP)
        .arg(&img)
        .arg("journal")
        .output()
        .unwrap();
    assert!(text(&o).contains("replay 0 transaction"), "{}", text(&o));
    // A crash after the commit and before anything else: the old superblocks and the old
    // header. Recovery finds the transaction and applies it.
    write_block(&img, 0, &p0);
    write_block(&img, l.backup_sb, &b0);
    write_block(&img, l.journal_start, &j0);
    assert_eq!(superblocks(&img).0.label_bytes(), b"old");
    let (c, s) = fsck(&img, "-y");
    assert_eq!(c, 1, "{s}");
    assert!(s.contains("1 committed transaction(s)"), "{s}");
    let (p, b) = superblocks(&img);
    assert_eq!(
        (p.label_bytes(), b.label_bytes()),
        (&b"new label"[..], &b"new label"[..])
    );
    assert_eq!(p.uuid, b.uuid);
    assert_clean(&img);
    // The same values again: nothing to write.
    let before = std::fs::read(&img).unwrap();
    assert_eq!(tune(&["-L", "new label"], &img).0, 0);
    assert!(std::fs::read(&img).unwrap() == before);
    // The empty label clears it.
    assert_eq!(tune(&["-L", ""], &img).0, 0);
    let (p, b) = superblocks(&img);
    assert_eq!((p.label_bytes(), b.label_bytes()), (&b""[..], &b""[..]));
    assert_clean(&img);
}

/// A new UUID needs nothing else rewritten: nothing on the media is derived from it. A
/// populated filesystem stays clean for fsck (which checks every checksum, every directory key
/// against the name hash and the journal) and its names are still found.
#[test]
fn uuid_random_clear_and_set() {
    let t = Tmp::new("uuid");
    let img = fresh(&t, "img");
    {
        let mut fs = Fs::open(&img).unwrap();
        let d = fs.mkdir(ROOT_INO, "dir").unwrap();
        for i in 0..200 {
            fs.create_file(d, &format!("f{i}"), i % 3).unwrap();
        }
        fs.symlink(d, "sym", "f1").unwrap();
        fs.finish().unwrap();
    }
    let (old, _) = superblocks(&img);
    assert_eq!(tune(&["-U", "random"], &img).0, 0);
    let (p, b) = superblocks(&img);
    assert_ne!(p.uuid, old.uuid);
    assert_eq!(p.uuid, b.uuid);
    assert_eq!(
        (p.uuid[6] >> 4, p.uuid[8] >> 6),
        (4, 2),
        "version 4, variant 1"
    );
    assert_eq!(p.hash_seed, old.hash_seed);
    assert_clean(&img);
    let mut fs = Fs::open(&img).unwrap();
    let d = fs.ctx().lookup(ROOT_INO, b"dir").unwrap().unwrap().ino;
    assert!(fs.ctx().lookup(d, b"f123").unwrap().is_some());
    drop(fs);
    assert_eq!(tune(&["-U", "clear"], &img).0, 0);
    assert_eq!(superblocks(&img).1.uuid, [0; 16]);
    assert_eq!(tune(&["-U", &UUID.to_uppercase()], &img).0, 0);
    let o = run(DUMP, &[], &img);
    assert!(text(&o).contains(UUID), "{}", text(&o));
    assert_clean(&img);
    for bad in [
        "0f1e2d3c4b5a46978877665544332211",
        "0f1e2d3c-4b5a-4697-8877-66554433221g",
    ] {
        let (c, s) = tune(&["-U", bad], &img);
        assert_eq!(c, 1);
        assert!(s.contains("is not a UUID"), "{s}");
    }
}

/// The labels FS_IOC_SETFSLABEL refuses are refused before anything is written, with the reason.
#[test]
fn labels_are_checked_as_the_kernel_checks_them() {
    let t = Tmp::new("label");
    let img = fresh(&t, "img");
    let before = std::fs::read(&img).unwrap();
    let long = "\u{e9}".repeat(33);
    let cases: [(&[u8], &str); 5] = [
        (&[b'x'; 65], "is longer than 64 bytes"),
        (long.as_bytes(), "is longer than 64 bytes"),
        (b"\x1b]0;title\x07", "contains a control character"),
        ("c1 \u{9b}".as_bytes(), "contains a control character"),
        (b"latin1 \xe9t\xe9", "is not valid UTF-8"),
    ];
    for (label, why) in cases {
        let o = Command::new(TUNE)
            .arg("-L")
            .arg(OsStr::from_bytes(label))
            .arg(&img)
            .output()
            .unwrap();
        assert_eq!(code(&o), 1, "{}", text(&o));
        assert!(text(&o).contains(why), "{label:?}: {}", text(&o));
        assert!(
            !o.stderr.iter().any(|&b| b < 0x20 && b != b'\n'),
            "raw control bytes in the message: {:?}",
            text(&o)
        );
        assert!(std::fs::read(&img).unwrap() == before, "written");
    }
    let longest = "\u{e9}".repeat(32);
    assert_eq!(tune(&["-L", &longest], &img).0, 0);
    assert_eq!(superblocks(&img).1.label_bytes(), longest.as_bytes());
    // Usage errors.
    for args in [&["-x"][..], &["-L"], &[], &["-l", "a", "b"]] {
        let o = Command::new(TUNE).args(args).output().unwrap();
        assert_eq!(code(&o), 1, "{args:?}: {}", text(&o));
        assert!(text(&o).contains("usage: ferrite-tune"), "{}", text(&o));
    }
    let (c, s) = tune(&[], &img);
    assert_eq!(c, 1);
    assert!(s.contains("nothing to do"), "{s}");
}

/// A label planted with control bytes and invalid UTF-8 is shown escaped.
#[test]
fn list_escapes_what_the_image_holds() {
    let t = Tmp::new("escape");
    let img = fresh(&t, "img");
    patch_block(
        &img,
        0,
        |b| {
            let o = off("label");
            b[o..o + LABEL_MAX].fill(0);
            b[o..o + 10].copy_from_slice(b"a\x1b[2Jb\xff\\\n\x07");
        },
        true,
    );
    let o = run(TUNE, &["-l"], &img);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let s = String::from_utf8(o.stdout.clone()).unwrap();
    assert!(
        s.contains(r"label:             a\x1b[2Jb\xff\\\n\x07 (not a valid label)"),
        "{s}"
    );
    assert!(!o.stdout.iter().any(|&b| b < 0x20 && b != b'\n'), "{s:?}");
}

/// What an unmount does not leave is refused, unchanged, with what to do about it; fsck -y (or
/// a mount) makes it changeable.
#[test]
fn refuses_what_needs_fsck_or_recovery() {
    let t = Tmp::new("refuse");
    // What the message says, how the image is damaged, whether fsck -y repairs it.
    type Case = (&'static str, Box<dyn Fn(&Path)>, bool);
    let cases: Vec<Case> = vec![
        (
            "was not cleanly unmounted",
            Box::new(|img: &Path| {
                // As a crash leaves it (the counts exact all the same).
                patch_block(img, 0, |b| b[off("state")] = 0, true)
            }),
            true,
        ),
        (
            "the journal holds 1 committed transaction(s) not yet in place",
            Box::new(|img: &Path| {
                commit_to_journal(img, |fs| {
                    let mut sb = fs.sb;
                    sb.set_label(b"pending").unwrap();
                    let mut b = [0u8; BLOCK_SIZE];
                    sb.encode(&mut b);
                    vec![(0, b), (sb.layout.backup_sb, b)]
                })
            }),
            true,
        ),
        (
            "the error flag is set",
            Box::new(|img: &Path| patch_block(img, 0, |b| b[off("state")] = 3, true)),
            true,
        ),
        (
            "the backup superblock (block 4095) differs from the primary",
            Box::new(|img: &Path| patch_block(img, 4095, |b| b[off("label")] = b'X', true)),
            true,
        ),
        (
            "the backup superblock (block 4095) is invalid (bad superblock checksum)",
            Box::new(|img: &Path| patch_block(img, 4095, |b| b[300] ^= 1, false)),
            true,
        ),
        (
            "the primary superblock is invalid (bad checksum)",
            Box::new(|img: &Path| patch_block(img, 0, |b| b[300] ^= 1, false)),
            true,
        ),
        (
            "the journal header is invalid",
            Box::new(|img: &Path| patch_block(img, 1, |b| b[20] ^= 1, false)),
            true,
        ),
        (
            "read-only-compatible features this version does not know (0x4)",
            Box::new(|img: &Path| {
                for blk in [0, 4095] {
                    patch_block(img, blk, |b| b[off("ro_compat")] |= 4, true)
                }
            }),
            false,
        ),
    ];
    for (i, (want, plant, fsck_fixes)) in cases.iter().enumerate() {
        let img = fresh(&t, &format!("img{i}"));
        plant(&img);
        let before = std::fs::read(&img).unwrap();
        let (c, s) = tune(&["-L", "new"], &img);
        assert_eq!(c, 1, "{want}: {s}");
        assert!(s.contains(want), "expected '{want}' in {s}");
        assert!(std::fs::read(&img).unwrap() == before, "{want}: written");
        if *fsck_fixes {
            assert!(s.contains("fsck.ferrite -y"), "{s}");
            let (c, s2) = fsck(&img, "-y");
            assert!(c == 0 || c == 1, "{want}: fsck -y {c}: {s2}");
            let (c, s2) = tune(&["-L", "new", "-l"], &img);
            assert_eq!(c, 0, "{want}: after fsck -y: {s2}");
            let (p, b) = superblocks(&img);
            assert_eq!(
                (p.label_bytes(), b.label_bytes()),
                (&b"new"[..], &b"new"[..])
            );
            assert_clean(&img);
        }
    }
    // The UUID is refused the same way.
    let img = fresh(&t, "uuid");
    patch_block(&img, 0, |b| b[off("state")] = 0, true);
    let (c, s) = tune(&["-U", "random"], &img);
    assert_eq!(c, 1);
    assert!(s.contains("not cleanly unmounted"), "{s}");
}

/// A [`BlockIo`] over an image in memory that records every write and every flush.
struct Recorder {
    img: Image,
    ops: Vec<Option<(u64, Box<Block>)>>,
}

impl BlockIo for Recorder {
    type Error = std::io::Error;
    fn block_count(&self) -> u64 {
        self.img.block_count()
    }
    fn read(&self, blk: u64, buf: &mut Block) -> std::io::Result<()> {
        self.img.read(blk, buf)
    }
    fn write(&mut self, blk: u64, buf: &Block) -> std::io::Result<()> {
        self.ops.push(Some((blk, Box::new(*buf))));
        self.img.write(blk, buf)
    }
    fn alloc_meta_block(&mut self, _: u64) -> std::io::Result<Option<u64>> {
        unreachable!()
    }
    fn free_meta_block(&mut self, _: u64) -> std::io::Result<()> {
        unreachable!()
    }
}

/// (label, uuid) of a superblock.
fn ident(sb: &DiskSuperblock) -> (Vec<u8>, [u8; 16]) {
    (sb.label_bytes().to_vec(), sb.uuid)
}

/// What mount makes of a crash state (the module's `mount::load`: the superblock, through the
/// journal if torn, then the replay), and the backup after it; `Err` if mount would refuse.
fn mount_view(state: &[u8]) -> Result<(DiskSuperblock, DiskSuperblock), String> {
    let mut img = Image::from_vec(state.to_vec());
    let mut b = [0u8; BLOCK_SIZE];
    let mut s = Box::new(Scratch::new());
    let (sb, _) = read_superblock(&img, &mut b, &mut s).map_err(|e| e.to_string())?;
    let l = sb.layout;
    img.blocks = l.block_count;
    img.read(l.journal_start, &mut b).unwrap();
    let h = JournalHeader::decode(&b, &l).map_err(|c| c.to_string())?;
    let r = journal_replay(&mut img, &l, &h, &mut s).map_err(|e| e.to_string())?;
    let mut sb = sb;
    if r.transactions > 0 {
        img.read(0, &mut b).unwrap();
        sb = DiskSuperblock::decode(&b).map_err(|c| format!("replayed: {c}"))?;
    }
    img.read(l.backup_sb, &mut b).unwrap();
    let bk = DiskSuperblock::decode(&b).map_err(|c| format!("backup: {c}"))?;
    Ok((sb, bk))
}

/// The offline update cut by a power failure at every point: after each flush any subset of the
/// writes issued since may have reached the device, and any one of them torn in half (either
/// half). In every state, mount finds a valid superblock with the old label and UUID or the new
/// ones (never a mix, never a torn one it refuses), with the backup the same after recovery;
/// fsck -y leaves the same values in both copies and a clean filesystem.
#[test]
fn a_crash_at_any_point_leaves_the_old_or_the_new_superblocks() {
    let t = Tmp::new("crash");
    let img = fresh(&t, "img");
    let base = std::fs::read(&img).unwrap();
    let mut mem = Image::from_vec(base.clone());
    let p = prepare(&mut mem, "mem").unwrap();
    let change = Change {
        label: Some(b"the new one".to_vec()),
        uuid: Some(ferrite_tools::parse_uuid(UUID).unwrap()),
    };
    let primary = patched_superblock(&p.primary, &change, 1_800_000_000);
    let backup = patched_superblock(&p.backup, &change, 1_800_000_000);
    let old = ident(&p.sb);
    let new = ident(&DiskSuperblock::decode(&primary).unwrap());
    let mut rec = Recorder {
        img: mem,
        ops: Vec::new(),
    };
    let l = p.sb.layout;
    commit_superblocks(
        &mut rec,
        &l,
        &p.header,
        &primary,
        &backup,
        &mut Scratch::new(),
        &mut |r: &mut Recorder| {
            r.ops.push(None);
            Ok(())
        },
    )
    .unwrap();
    // The writes between flushes.
    let mut epochs: Vec<Vec<(u64, Box<Block>)>> = vec![Vec::new()];
    for op in rec.ops {
        match op {
            Some(w) => epochs.last_mut().unwrap().push(w),
            None => epochs.push(Vec::new()),
        }
    }
    assert_eq!(epochs.len(), 5, "four flushes");
    assert!(
        epochs.last().unwrap().is_empty(),
        "nothing after the last flush"
    );
    let apply = |state: &mut Vec<u8>, blk: u64, data: &[u8], range: std::ops::Range<usize>| {
        let at = blk as usize * BLOCK_SIZE;
        state[at + range.start..at + range.end].copy_from_slice(&data[range]);
    };
    let mut states: Vec<(String, Vec<u8>)> = Vec::new();
    let mut durable = base.clone();
    for (e, writes) in epochs.iter().enumerate() {
        assert!(writes.len() <= 10, "{} writes in epoch {e}", writes.len());
        for subset in 0u32..1 << writes.len() {
            let mut s = durable.clone();
            for (i, (blk, data)) in writes.iter().enumerate() {
                if subset & 1 << i != 0 {
                    apply(&mut s, *blk, &data[..], 0..BLOCK_SIZE);
                }
            }
            states.push((format!("epoch {e} subset {subset:#b}"), s));
        }
        for (i, (blk, data)) in writes.iter().enumerate() {
            for half in [0..BLOCK_SIZE / 2, BLOCK_SIZE / 2..BLOCK_SIZE] {
                let mut s = durable.clone();
                for (b2, d2) in &writes[..i] {
                    apply(&mut s, *b2, &d2[..], 0..BLOCK_SIZE);
                }
                apply(&mut s, *blk, &data[..], half.clone());
                states.push((
                    format!("epoch {e} write {i} (block {blk}) torn {half:?}"),
                    s,
                ));
            }
        }
        for (blk, data) in writes {
            apply(&mut durable, *blk, &data[..], 0..BLOCK_SIZE);
        }
    }
    assert!(rec.img.memory().unwrap() == &durable[..]);
    let mut seen = [0usize; 2];
    for (what, state) in &states {
        let (sb, bk) = mount_view(state).unwrap_or_else(|e| panic!("{what}: mount refuses: {e}"));
        let got = ident(&sb);
        assert!(
            got == old || got == new,
            "{what}: mount sees a mix: {got:?}"
        );
        assert_eq!(ident(&bk), got, "{what}: the backup after recovery");
        seen[usize::from(got == new)] += 1;
        let mut img = Image::from_vec(state.clone());
        let mut out = Vec::new();
        let yes = FsckOptions {
            mode: Mode::Yes,
            force: true,
        };
        let r = fsck_image(&mut img, "mem", &yes, &mut out);
        let out = String::from_utf8_lossy(&out);
        assert!(
            r.exit == EXIT_OK || r.exit == EXIT_CORRECTED,
            "{what}: fsck -y {}: {out}",
            r.exit
        );
        let v = img.into_vec().unwrap();
        let (sb, bk) = mount_view(&v).unwrap();
        assert_eq!(
            (ident(&sb), ident(&bk)),
            (got.clone(), got),
            "{what}: after fsck -y: {out}"
        );
        let mut img = Image::from_vec(v);
        let n = FsckOptions {
            mode: Mode::Check,
            force: true,
        };
        let mut out = Vec::new();
        let r = fsck_image(&mut img, "mem", &n, &mut out);
        assert_eq!(r.exit, EXIT_OK, "{what}: {}", String::from_utf8_lossy(&out));
    }
    assert!(
        seen[0] > 0 && seen[1] > 0,
        "old {} new {}",
        seen[0],
        seen[1]
    );
}

#[test]
fn mountinfo_is_parsed_with_its_escapes() {
    let text = "\
22 27 0:21 / /proc rw,relatime - proc proc rw
36 35 259:3 / /mnt/with\\040space rw,noatime shared:1 master:2 - ferrite /dev/pmem0 rw,dax=always
37 35 259:4 / /ro ro,relatime - ferrite /dev/pmem1 rw
38 35 7:0 / /other rw - ext4 /dev/loop0 ro,errors=continue
garbage line
";
    let m = parse_mountinfo(text);
    assert_eq!(m.len(), 4);
    assert_eq!(
        m[1],
        MountEntry {
            dev: (259, 3),
            mount_point: PathBuf::from("/mnt/with space"),
            fstype: "ferrite".into(),
            source: "/dev/pmem0".into(),
            read_only: false,
        }
    );
    assert!(m[2].read_only, "the mount's ro");
    assert!(m[3].read_only, "the superblock's ro");
    assert_eq!(m[3].dev, (7, 0));
}

/// Root only (else skipped): loop devices and a mounted ext4. A ferrite image on a loop device is
/// changed through the block device; a mounted device is never written offline (nor through
/// its image file): -L and -U are refused for a mount that is not ferrite's, mkfs -f too, and
/// the exclusive open fails. The label ioctl itself is checked on ext4, which has the same one.
#[test]
fn block_devices_and_mounted_filesystems() {
    let Some(t) = RootLoop::tmp() else {
        eprintln!("not root, or no loop devices: skipped");
        return;
    };
    // A ferrite image on a loop device, not mounted.
    let fimg = fresh(&t, "ferrite");
    let Some(fl) = RootLoop::attach(&fimg, None) else {
        eprintln!("losetup failed: skipped");
        return;
    };
    let dev = PathBuf::from(&fl.dev);
    let (c, s) = tune(&["-L", "on-loop", "-l"], &dev);
    assert_eq!(c, 0, "{s}");
    assert!(s.contains("label:             on-loop"), "{s}");
    drop(fl);
    assert_eq!(superblocks(&fimg).1.label_bytes(), b"on-loop");
    assert_clean(&fimg);

    // A mounted ext4.
    let eimg = t.image("ext4", 32 << 20);
    let o = Command::new("mkfs.ext4")
        .args(["-q", "-F", "-L", "before"])
        .arg(&eimg)
        .output();
    if !o.is_ok_and(|o| o.status.success()) {
        eprintln!("mkfs.ext4 failed: the mounted part is skipped");
        return;
    }
    let mp = t.0.join("mnt");
    std::fs::create_dir(&mp).unwrap();
    let Some(el) = RootLoop::attach(&eimg, Some(&mp)) else {
        eprintln!("mount failed: the mounted part is skipped");
        return;
    };
    let dev = PathBuf::from(&el.dev);
    let before = std::fs::read(&eimg).unwrap();
    for path in [&dev, &eimg] {
        let (c, s) = tune(&["-L", "x"], path);
        assert_eq!(c, 1, "{s}");
        assert!(
            s.contains("is mounted on") && s.contains("as ext4, not ferrite"),
            "{s}"
        );
        let (c, s) = tune(&["-U", "random"], path);
        assert_eq!(c, 1, "{s}");
        assert!(
            s.contains("the UUID is changed only while it is unmounted"),
            "{s}"
        );
    }
    let o = run(MKFS, &["-q", "-f"], &dev);
    assert_eq!(code(&o), 1, "{}", text(&o));
    assert!(text(&o).contains("in use"), "{}", text(&o));
    let e = Image::open_exclusive(&dev)
        .err()
        .expect("an exclusive open of a mounted device");
    assert!(e.to_string().contains("in use"), "{e}");
    assert!(ferrite_tools::tune::find_mount(&dev).unwrap().is_some());
    assert!(
        std::fs::read(&eimg).unwrap() == before,
        "written while mounted"
    );
    // The ioctl, on a filesystem that has it.
    ferrite_tools::tune::set_label_mounted(&mp, b"through-ioctl").unwrap();
    assert_eq!(
        ferrite_tools::tune::label_mounted(&mp).unwrap(),
        b"through-ioctl"
    );
    drop(el);
    let o = Command::new("e2label").arg(&eimg).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "through-ioctl");
}

/// A loop device (and a mount of it), detached (and unmounted) when dropped.
struct RootLoop {
    dev: String,
    mount: Option<PathBuf>,
}

impl RootLoop {
    /// A temporary directory, when the test runs as root with loop devices.
    fn tmp() -> Option<Tmp> {
        let uid = Command::new("id").arg("-u").output().ok()?;
        if String::from_utf8_lossy(&uid.stdout).trim() != "0"
            || !Path::new("/dev/loop-control").exists()
        {
            return None;
        }
        Some(Tmp::new("loop"))
    }

    fn attach(img: &Path, mount: Option<&Path>) -> Option<RootLoop> {
        let o = Command::new("losetup")
            .args(["-f", "--show"])
            .arg(img)
            .output()
            .ok()?;
        if !o.status.success() {
            return None;
        }
        let mut l = RootLoop {
            dev: String::from_utf8_lossy(&o.stdout).trim().to_string(),
            mount: None,
        };
        if let Some(mp) = mount {
            let ok = Command::new("mount")
                .arg(&l.dev)
                .arg(mp)
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                return None;
            }
            l.mount = Some(mp.to_path_buf());
        }
        Some(l)
    }
}

impl Drop for RootLoop {
    fn drop(&mut self) {
        if let Some(mp) = &self.mount {
            let _ = Command::new("umount").arg(mp).status();
        }
        let _ = Command::new("losetup").args(["-d", &self.dev]).status();
    }
}
