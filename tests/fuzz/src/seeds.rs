// SPDX-License-Identifier: GPL-2.0

//! The seed images: small ferrite filesystems made by mkfs and populated through the tools'
//! library, each holding one group of the structures the mutator works on.
//!
//! Every seed is deterministic: a fixed UUID, hash seed, journal nonce and clock, so the same
//! seed is byte-identical on every build and a case number names the same image everywhere.
//! The seed's name is its label.

use ferrite_format::ops::{mkfs, MkfsParams, NewInodeAttrs};
use ferrite_format::*;
use ferrite_tools::fsops::Fs;
use ferrite_tools::image::Image;
use std::collections::HashMap;

/// Blocks of every seed image (4 MiB).
pub const SEED_BLOCKS: u64 = 1024;
/// Inodes of every seed image.
pub const SEED_INODES: u64 = 512;

/// Hard links in the `bigdir` seed's directory: with 250-byte names, enough leaves for a tree
/// of three levels (internal nodes under an internal root).
const BIG_LINKS: usize = 2600;

/// The clock of every operation that builds a seed.
const CLOCK: Timespec = Timespec {
    sec: 1_700_000_000,
    nsec: 123_456_789,
};

/// The seeds, by name.
pub const SEEDS: [&str; 6] = ["tree", "files", "journal", "orphans", "bigdir", "xattrs"];

type Result<T> = std::result::Result<T, String>;

fn err<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> String + '_ {
    move |e| format!("{what}: {e}")
}

/// The image of seed `name`, or `None` for a name that is not a seed.
pub fn build(name: &str) -> Option<Result<Vec<u8>>> {
    let f: fn(&mut Fs) -> Result<()> = match name {
        "tree" => tree,
        "files" => files,
        "journal" => journal,
        "orphans" => orphans,
        "bigdir" => bigdir,
        "xattrs" => xattrs,
        _ => return None,
    };
    Some(make(name, f))
}

/// mkfs with fixed parameters, then `populate`, on an image in memory.
fn make(name: &str, populate: fn(&mut Fs) -> Result<()>) -> Result<Vec<u8>> {
    let bs = BLOCK_SIZE as u64;
    let mut img = Image::from_vec(vec![0u8; (SEED_BLOCKS * bs) as usize]);
    let layout = Layout::compute(SEED_BLOCKS, Some(SEED_INODES), None)
        .map_err(|e| format!("layout: {e:?}"))?;
    let mut label = [0u8; LABEL_MAX];
    label
        .get_mut(..name.len())
        .ok_or("seed name longer than a label")?
        .copy_from_slice(name.as_bytes());
    let p = MkfsParams {
        layout,
        uuid: *b"ferrite-fuzzseed",
        hash_seed: *b"\x5e\xed\x00\x01hash-seed\x02\x03\x04",
        label,
        journal_nonce: 0x6665_7272_6974_6531,
        now: CLOCK,
        inode_table_zeroed: true,
        ro_compat: ferrite_format::RO_COMPAT_XATTR,
    };
    img.blocks = layout.block_count;
    img.layout = Some(layout);
    let mut buf = Box::new([0u8; BLOCK_SIZE]);
    mkfs(&mut img, &p, &mut buf, &mut |_| Ok(())).map_err(err("mkfs"))?;
    let mut fs = Fs::from_image(img).map_err(err("open"))?;
    fs.clock = Some(CLOCK);
    populate(&mut fs)?;
    fs.img
        .into_vec()
        .ok_or_else(|| "the seed is not in memory".to_string())
}

/// Clean: exact free counts and the clean state in both superblocks.
fn finish(fs: &mut Fs) -> Result<()> {
    fs.finish().map_err(err("finish"))
}

/// As a crash leaves it: the free counts as they were, the clean flag off in both superblocks.
fn mark_unclean(fs: &mut Fs) -> Result<()> {
    fs.sb.state &= !STATE_CLEAN;
    fs.sb.encode(&mut fs.scratch.a);
    let b = fs.scratch.a;
    fs.img.write(0, &b).map_err(err("superblock"))?;
    fs.img
        .write(fs.sb.layout.backup_sb, &b)
        .map_err(err("backup superblock"))
}

/// A long name of `len` bytes that ends in `n`.
fn long_name(n: usize, len: usize) -> String {
    let tail = format!("-{n}");
    format!("{}{tail}", "n".repeat(len.saturating_sub(tail.len())))
}

/// Directories: a chain 12 deep, a directory of 40 mixed entries, and one whose 300 entries
/// (hard links with 200-byte names) need a tree of leaves under an internal root.
fn tree(fs: &mut Fs) -> Result<()> {
    let mut d = ROOT_INO;
    for level in 0..12 {
        d = fs.mkdir(d, &format!("deep{level}")).map_err(err("mkdir"))?;
    }
    fs.create_file(d, "bottom", 2).map_err(err("create"))?;
    fs.symlink(d, "up", "../../../../..")
        .map_err(err("symlink"))?;
    let wide = fs.mkdir(ROOT_INO, "wide").map_err(err("mkdir"))?;
    for k in 0..40 {
        match k % 4 {
            0 => fs.mkdir(wide, &format!("sub{k}")).map(drop),
            1 => fs.create_file(wide, &format!("file{k}"), k % 3).map(drop),
            2 => fs.symlink(wide, &format!("link{k}"), "file1").map(drop),
            _ => fs
                .mknod(wide, &format!("fifo{k}"), S_IFIFO | 0o600, 0)
                .map(drop),
        }
        .map_err(err("wide"))?;
    }
    let big = fs.mkdir(ROOT_INO, "big").map_err(err("mkdir"))?;
    let target = fs
        .create_file(ROOT_INO, "target", 1)
        .map_err(err("create"))?;
    for k in 0..300 {
        fs.link(big, &long_name(k, 200), target)
            .map_err(err("link"))?;
    }
    finish(fs)
}

/// A directory of 2600 entries (hard links with 250-byte names) whose tree has three levels,
/// and a few files beside it.
fn bigdir(fs: &mut Fs) -> Result<()> {
    let big = fs.mkdir(ROOT_INO, "big").map_err(err("mkdir"))?;
    let target = fs
        .create_file(ROOT_INO, "target", 1)
        .map_err(err("create"))?;
    fs.create_fragmented(big, "frag", 12).map_err(err("frag"))?;
    fs.symlink(big, "ln", "../target").map_err(err("symlink"))?;
    for k in 0..BIG_LINKS {
        fs.link(big, &long_name(k, 250), target)
            .map_err(err("link"))?;
    }
    finish(fs)
}

/// Files: fragmented ones with extent trees of two levels, contiguous and empty files, inline
/// and block symlinks, every kind of device node, hard links.
fn files(fs: &mut Fs) -> Result<()> {
    let r = ROOT_INO;
    fs.create_fragmented(r, "frag300", 300)
        .map_err(err("frag"))?;
    fs.create_fragmented(r, "frag6", 6).map_err(err("frag"))?;
    fs.create_fragmented(r, "frag20", 20).map_err(err("frag"))?;
    let plain = fs.create_file(r, "plain", 40).map_err(err("create"))?;
    fs.create_file(r, "empty", 0).map_err(err("create"))?;
    fs.symlink(r, "short", "plain").map_err(err("symlink"))?;
    fs.symlink(r, "inline-max", &"i".repeat(INLINE_DATA_MAX))
        .map_err(err("symlink"))?;
    fs.symlink(r, "long", &format!("{}/plain", "d".repeat(300)))
        .map_err(err("symlink"))?;
    fs.symlink(r, "longest", &"x".repeat(BLOCK_SIZE - 1))
        .map_err(err("symlink"))?;
    let dev = fs.mkdir(r, "dev").map_err(err("mkdir"))?;
    // Linux new_encode_dev: major 1, minor 3 (/dev/null); major 8, minor 1 (/dev/sda1).
    fs.mknod(dev, "null", S_IFCHR | 0o666, 0x103)
        .map_err(err("mknod"))?;
    fs.mknod(dev, "sda1", S_IFBLK | 0o660, 0x801)
        .map_err(err("mknod"))?;
    fs.mknod(dev, "fifo", S_IFIFO | 0o644, 0)
        .map_err(err("mknod"))?;
    fs.mknod(dev, "sock", S_IFSOCK | 0o755, 0)
        .map_err(err("mknod"))?;
    let links = fs.mkdir(r, "links").map_err(err("mkdir"))?;
    for k in 0..3 {
        fs.link(links, &format!("plain{k}"), plain)
            .map_err(err("link"))?;
    }
    finish(fs)
}

/// The changes `op` makes, as blocks: run on an overlay over the image plus `pending` (the
/// blocks of earlier transactions not yet in place), whose contents it returns.
fn capture(
    fs: &mut Fs,
    pending: &HashMap<u64, Box<Block>>,
    op: &mut dyn FnMut(&mut Fs) -> Result<()>,
) -> Result<HashMap<u64, Box<Block>>> {
    fs.img.overlay = Some(pending.clone());
    let r = op(fs);
    let ov = fs.img.overlay.take().unwrap_or_default();
    r?;
    Ok(ov)
}

/// Journals what `op` changes as one transaction (the kernel's commit emulated: every changed
/// byte range of every block as a DATA record, against the state the earlier transactions
/// leave), then a COMMIT record unless `commit` is false. Nothing is written in place, as after
/// a crash right after the commit.
fn journaled(
    fs: &mut Fs,
    w: &mut JournalWriter,
    pending: &mut HashMap<u64, Box<Block>>,
    commit: bool,
    op: &mut dyn FnMut(&mut Fs) -> Result<()>,
) -> Result<()> {
    let new = capture(fs, pending, op)?;
    let mut blocks: Vec<u64> = new.keys().copied().collect();
    blocks.sort_unstable();
    let mut old = Box::new([0u8; BLOCK_SIZE]);
    for blk in blocks {
        let Some(nb) = new.get(&blk) else { continue };
        match pending.get(&blk) {
            Some(p) => *old = **p,
            None => fs.img.read(blk, &mut old).map_err(err("read"))?,
        }
        let mut from = 0;
        while let Some(r) = changed_range(&old, nb, from) {
            let bytes = nb.get(r.clone()).ok_or("changed range outside the block")?;
            w.add(&mut fs.img, blk, r.start, bytes, &mut fs.scratch)
                .map_err(err("journal add"))?;
            from = r.end;
        }
    }
    if commit {
        w.commit(&mut fs.img, &mut fs.scratch)
            .map_err(err("journal commit"))?;
    }
    *pending = new;
    Ok(())
}

fn journal_writer(fs: &mut Fs) -> Result<JournalWriter> {
    let l = fs.sb.layout;
    let mut b = [0u8; BLOCK_SIZE];
    fs.img.read(l.journal_start, &mut b).map_err(err("read"))?;
    let h = JournalHeader::decode(&b, &l).map_err(err("journal header"))?;
    Ok(JournalWriter::new(&l, &h))
}

/// A small populated filesystem the journal and orphan seeds start from.
fn base(fs: &mut Fs) -> Result<u64> {
    let d = fs.mkdir(ROOT_INO, "home").map_err(err("mkdir"))?;
    fs.create_file(d, "a", 3).map_err(err("create"))?;
    fs.create_fragmented(d, "frag", 9).map_err(err("frag"))?;
    fs.symlink(d, "ln", "a").map_err(err("symlink"))?;
    Ok(d)
}

/// A journal after a crash: three committed transactions not yet in place (a create, a mkdir
/// with a file in it, and a label change that rewrites both superblocks), then a torn one: its
/// COMMIT record is there but one of its DATA records did not persist whole.
fn journal(fs: &mut Fs) -> Result<()> {
    let home = base(fs)?;
    finish(fs)?;
    mark_unclean(fs)?;
    let mut w = journal_writer(fs)?;
    let mut pending = HashMap::new();
    journaled(fs, &mut w, &mut pending, true, &mut |fs| {
        fs.create_file(home, "committed", 2)
            .map(drop)
            .map_err(err("create"))
    })?;
    journaled(fs, &mut w, &mut pending, true, &mut |fs| {
        let d = fs.mkdir(ROOT_INO, "jdir").map_err(err("mkdir"))?;
        fs.create_fragmented(d, "jfrag", 4)
            .map(drop)
            .map_err(err("frag"))
    })?;
    journaled(fs, &mut w, &mut pending, true, &mut |fs| {
        let mut sb = fs.sb;
        sb.set_label(b"journal-replayed")
            .map_err(|()| "label".to_string())?;
        sb.encode(&mut fs.scratch.a);
        let b = fs.scratch.a;
        fs.img.write(0, &b).map_err(err("superblock"))?;
        fs.img
            .write(sb.layout.backup_sb, &b)
            .map_err(err("backup superblock"))
    })?;
    let torn_at = w.head;
    journaled(fs, &mut w, &mut pending, true, &mut |fs| {
        fs.unlink(home, "a").map(drop).map_err(err("unlink"))
    })?;
    // Tear the last transaction: the last 8 bytes of its first DATA record's payload are lost.
    let l = fs.sb.layout;
    let log = l.journal_blocks.saturating_sub(1) * BLOCK_SIZE as u64;
    let mut hdr = [0u8; BLOCK_SIZE];
    let first = (l.journal_start + 1) * BLOCK_SIZE as u64 + torn_at % log;
    fs.img
        .read_bytes(first, &mut hdr[..32])
        .map_err(err("read"))?;
    let len = u64::from(u32::from_le_bytes([hdr[4], hdr[5], hdr[6], hdr[7]]));
    let at = first + 32 + len.saturating_sub(8);
    let mem = fs.img.memory_mut().ok_or("not in memory")?;
    let at = usize::try_from(at).map_err(err("offset"))?;
    mem.get_mut(at..at + 8)
        .ok_or("torn record outside the image")?
        .fill(0xa5);
    Ok(())
}

/// After an unclean unmount: a file unlinked while open (with its blocks), an `O_TMPFILE`
/// file, an emptied directory removed while in use, all allocated with no link; and an
/// uncommitted transaction (a create whose COMMIT never made it) in the journal.
fn orphans(fs: &mut Fs) -> Result<()> {
    let home = base(fs)?;
    fs.create_file(home, "open-unlinked", 5)
        .map_err(err("create"))?;
    fs.unlink(home, "open-unlinked").map_err(err("unlink"))?;
    let a = NewInodeAttrs {
        mode: S_IFREG | 0o600,
        uid: 1000,
        gid: 1000,
        rdev: 0,
        now: CLOCK,
        generation: 7,
    };
    let mut t = fs.ctx().create_tmpfile(&a).map_err(err("tmpfile"))?;
    let mut ctx = fs.ctx();
    ctx.alloc(&mut t, 0, 2, 2).map_err(err("alloc"))?;
    t.size = 2 * BLOCK_SIZE as u64;
    ctx.write_inode(&t).map_err(err("tmpfile"))?;
    let gone = fs.mkdir(home, "gone").map_err(err("mkdir"))?;
    fs.create_file(gone, "x", 1).map_err(err("create"))?;
    fs.unlink(gone, "x").map_err(err("unlink"))?;
    let x = fs.ctx().lookup(gone, b"x").map_err(err("lookup"))?;
    if x.is_some() {
        return Err("unlink left the name".into());
    }
    // The file x is an orphan too; now the directory goes.
    fs.ctx().rmdir(home, b"gone", CLOCK).map_err(err("rmdir"))?;
    finish(fs)?;
    mark_unclean(fs)?;
    let mut w = journal_writer(fs)?;
    let mut pending = HashMap::new();
    journaled(fs, &mut w, &mut pending, false, &mut |fs| {
        fs.create_file(home, "uncommitted", 1)
            .map(drop)
            .map_err(err("create"))
    })
}

/// Files and directories with extended attributes: short values, values in value blocks,
/// access and default ACLs, an inode whose block is nearly full; attributes in inode records
/// (the file's `trusted.t`, the directory's default ACL, the FIFO's two).
fn xattrs(fs: &mut Fs) -> Result<()> {
    use ferrite_format::ops::XattrMode::Any;
    let f = fs.create_file(ROOT_INO, "f", 2).map_err(err("create f"))?;
    let d = fs.mkdir(ROOT_INO, "d").map_err(err("mkdir d"))?;
    let g = fs.create_file(d, "g", 0).map_err(err("create d/g"))?;
    // user:1000:rw- with a mask, in the VFS's xattr form.
    let mut acl = 2u32.to_le_bytes().to_vec();
    for (tag, perm, id) in [
        (1u16, 6u16, u32::MAX),
        (2, 6, 1000),
        (4, 4, u32::MAX),
        (0x10, 6, u32::MAX),
        (0x20, 4, u32::MAX),
    ] {
        acl.extend_from_slice(&tag.to_le_bytes());
        acl.extend_from_slice(&perm.to_le_bytes());
        acl.extend_from_slice(&id.to_le_bytes());
    }
    let big: Vec<u8> = (0..9000u32).map(|i| (i % 251) as u8).collect();
    let sets: [(u64, u8, &[u8], &[u8]); 6] = [
        (f, XATTR_INDEX_USER, b"note", b"short value"),
        (f, XATTR_INDEX_USER, b"big", &big),
        (f, XATTR_INDEX_POSIX_ACL_ACCESS, b"", &acl),
        (f, XATTR_INDEX_TRUSTED, b"t", b"trusted"),
        (d, XATTR_INDEX_POSIX_ACL_DEFAULT, b"", &acl),
        (
            g,
            XATTR_INDEX_SECURITY,
            b"selinux",
            b"system_u:object_r:etc_t:s0",
        ),
    ];
    for (ino, index, name, value) in sets {
        fs.ctx()
            .xattr_set(ino, index, name, Some(value), Any, CLOCK)
            .map_err(err("setxattr"))?;
    }
    let p = fs
        .mknod(d, "p", S_IFIFO | 0o644, 0)
        .map_err(err("mknod d/p"))?;
    for (name, value) in [(&b"a"[..], &b"in the record"[..]), (b"b", &[0u8; 60])] {
        fs.ctx()
            .xattr_set(p, XATTR_INDEX_USER, name, Some(value), Any, CLOCK)
            .map_err(err("setxattr p"))?;
    }
    let h = fs.create_file(d, "full", 0).map_err(err("create d/full"))?;
    // 28 entries of 136 bytes: 3808 of the block's 4060.
    for i in 0..28 {
        fs.ctx()
            .xattr_set(
                h,
                XATTR_INDEX_USER,
                format!("k{i:02}").as_bytes(),
                Some(&[7u8; 120]),
                Any,
                CLOCK,
            )
            .map_err(err("setxattr full"))?;
    }
    finish(fs)
}
