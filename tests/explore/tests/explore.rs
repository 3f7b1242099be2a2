// SPDX-License-Identifier: GPL-2.0

//! The explorer against synthetic traces of the kernel's commit protocol (`common`): the correct
//! protocol passes, and each break of it that matters is caught.

mod common;

use common::{opts, run, violations, Emu, Mutant};
use ferrite_explore::explore::explore;
use ferrite_explore::trace::Trace;

/// Calls that each commit one transaction and never free a block (so never checkpoint).
fn no_checkpoint_workload(e: &mut Emu) {
    e.mark("W create-fallocate-unlink");
    let a = e.call("creat /a", |e| e.create("a"));
    e.call("creat /b", |e| e.create("b"));
    e.call("fallocate /a 0 4096", |e| e.fallocate(a, 0, 1));
    e.call("unlink /b", |e| e.unlink("b"));
}

/// Calls whose last one frees data blocks, so that the kernel checkpoints the journal.
fn checkpoint_workload(e: &mut Emu) {
    let a = e.call("creat /a", |e| e.create("a"));
    e.call("fallocate /a 0 8192", |e| e.fallocate(a, 0, 2));
    e.call("unlink /a", |e| e.unlink("a"));
}

#[test]
fn correct_protocol_has_no_violations() {
    let mut e = Emu::new(Mutant::default());
    no_checkpoint_workload(&mut e);
    let (s, out) = run("correct", e, &opts());
    assert_eq!(s.violations, 0, "{out}");
    assert!(violations(&out).is_empty(), "{out}");
    // Two fences per transaction (five transactions: unlink frees the inode in a second one),
    // one after the zeroing of fallocate, and one crash point per E mark and at the end.
    assert_eq!(s.crash_points, 5 * 2 + 1 + 4 + 1, "{out}");
    assert!(s.states > 100, "{out}");
    assert_eq!(
        out.lines().last(),
        Some(
            format!(
                "correct: {} states, {} crash points, 0 violations",
                s.states, s.crash_points
            )
            .as_str()
        )
    );
}

#[test]
fn dropped_journal_fence_is_caught() {
    let m = Mutant {
        drop_journal_fence: true,
        ..Mutant::default()
    };
    let mut e = Emu::new(m);
    no_checkpoint_workload(&mut e);
    let (s, out) = run("no-journal-fence", e, &opts());
    assert!(s.violations > 0, "{out}");
    let v = violations(&out);
    assert_eq!(v.len(), s.violations);
    // In-place copies persisted without their commit record: a torn tree, inside a call.
    assert!(
        v.iter().any(|l| l.contains("point=fence")
            && !l.contains("in-flight=none")
            && (l.contains("matches none") || l.contains("fsck -n exits"))),
        "{out}"
    );
}

#[test]
fn dropped_inplace_fence_is_caught() {
    // The checkpoint's header write can tear even in the correct protocol (mount then refuses
    // the journal header): those are the only violations there.
    let mut e = Emu::new(Mutant::default());
    checkpoint_workload(&mut e);
    let (_, good) = run("correct", e, &opts());
    for l in violations(&good) {
        assert!(
            l.contains("mount refuses: corrupt journal header"),
            "{good}"
        );
    }
    // Without the fence after the in-place copies, the checkpoint can persist before them:
    // the journal no longer replays the transaction and its blocks are half written.
    let m = Mutant {
        drop_inplace_fence: true,
        ..Mutant::default()
    };
    let mut e = Emu::new(m);
    checkpoint_workload(&mut e);
    let (s, out) = run("no-inplace-fence", e, &opts());
    assert!(s.violations > 0, "{out}");
    assert!(
        violations(&out)
            .iter()
            .any(|l| !l.contains("mount refuses") && l.contains("in-flight=3:unlink_/a")),
        "{out}"
    );
}

#[test]
fn unflushed_cached_stores_stay_pending() {
    // In-place copies as cached stores: flushed, they are as good as non-temporal ones.
    let m = Mutant {
        inplace_cached: true,
        ..Mutant::default()
    };
    let mut e = Emu::new(m);
    checkpoint_workload(&mut e);
    let (_, good) = run("flushed", e, &opts());
    for l in violations(&good) {
        assert!(
            l.contains("mount refuses: corrupt journal header"),
            "{good}"
        );
    }
    // Never flushed, they may still be lost after every later fence: once the checkpoint is
    // durable, nothing repairs them.
    let m = Mutant {
        inplace_cached: true,
        no_flush: true,
        ..Mutant::default()
    };
    let mut e = Emu::new(m);
    checkpoint_workload(&mut e);
    let (s, out) = run("unflushed", e, &opts());
    assert!(s.violations > 0, "{out}");
    let v = violations(&out);
    assert!(v.iter().any(|l| !l.contains("mount refuses")), "{out}");
    // Even at the end of the trace, after every fence, they are still pending.
    assert!(
        v.iter()
            .any(|l| l.contains("point=end ") || l.contains("point=end-of-call")),
        "{out}"
    );
}

#[test]
fn pending_zeroing_is_stale_data() {
    let workload = |e: &mut Emu| {
        let a = e.call("creat /a", |e| e.create("a"));
        e.call("fallocate /a 0 4096", |e| e.fallocate(a, 0, 1));
    };
    let mut e = Emu::new(Mutant::default());
    workload(&mut e);
    let (s, out) = run("zero-before-commit", e, &opts());
    assert_eq!(s.violations, 0, "{out}");

    // Zeroes and journal pending together (no fence between them, as `iomap_begin` has it).
    let m = Mutant {
        zero_unfenced: true,
        ..Mutant::default()
    };
    let mut e = Emu::new(m);
    workload(&mut e);
    let (s, out) = run("zero-unfenced", e, &opts());
    assert!(s.violations > 0, "{out}");
    assert!(
        violations(&out)
            .iter()
            .all(|l| l.contains(": stale data in 1 file(s)") && l.contains("in-flight=2:fallocate")),
        "{out}"
    );

    let m = Mutant {
        zero_after_journal_fence: true,
        ..Mutant::default()
    };
    let mut e = Emu::new(m);
    workload(&mut e);
    let (s, out) = run("zero-after-commit", e, &opts());
    assert!(s.violations > 0, "{out}");
    let v = violations(&out);
    assert!(
        v.iter()
            .any(|l| l.contains("stale data in 1 file(s)") && l.contains("in-flight=2:fallocate")),
        "{out}"
    );
    assert!(out.contains("stale: /a (inode"), "{out}");
}

#[test]
fn write_is_not_atomic_across_its_transactions() {
    // A write into a new block allocates in one transaction and sets the size in another: in
    // between, the file has its blocks but not its size, which is neither before nor after. Its
    // data is not journaled: the size can persist before the data, and an overwrite can tear.
    // Marked B, the writes get the strict oracle unless the options relax it; marked S (made
    // in steps, as the workloads mark them), they get the stepwise one.
    let workload = |e: &mut Emu, stepwise: bool| {
        let a = e.call("creat /a", |e| e.create("a"));
        let writes: [(&str, u64, &[u8]); 2] = [
            ("put /a 0 5000", 0, &[0x5a; 5000]),
            ("put /a 100 10", 100, &[0xa5; 10]),
        ];
        for (name, off, data) in writes {
            if stepwise {
                e.step(name, |e| e.write(a, off, data));
            } else {
                e.call(name, |e| e.write(a, off, data));
            }
        }
    };
    let explore_as = |o: &ferrite_explore::explore::ExploreOptions, stepwise: bool| {
        let mut e = Emu::new(Mutant::default());
        workload(&mut e, stepwise);
        run("write", e, o)
    };
    let explore_with = |o: &ferrite_explore::explore::ExploreOptions| explore_as(o, false);
    let (s, out) = explore_with(&opts());
    assert!(s.violations > 0, "{out}");
    let v = violations(&out);
    assert!(
        v.iter().any(|l| l.contains("in-flight=2:put_/a_0_5000")
            && l.contains("the tree matches none of S(1), S(2) (it is the tree of the program-order state at record")
            && l.contains("call 2 is not atomic")),
        "{out}"
    );
    assert!(out.contains("/a: blocks 2, expected 0"), "{out}");
    assert!(
        v.iter().any(|l| l.contains("in-flight=3:put_/a_100_10")),
        "{out}"
    );
    assert!(out.contains("/a: content "), "{out}");
    assert!(v.iter().all(|l| !l.contains("in-flight=none")), "{out}");

    // Program-order states accepted: what is left is the data.
    let po = ferrite_explore::explore::ExploreOptions {
        accept_program_order: true,
        ..opts()
    };
    let (s, out) = explore_with(&po);
    assert!(s.violations > 0, "{out}");
    assert!(
        !out.contains("not atomic") && !out.contains(": blocks "),
        "{out}"
    );
    // And the data of the call in flight not compared: nothing is left.
    let relaxed = ferrite_explore::explore::ExploreOptions {
        data_not_atomic: true,
        ..po
    };
    let (s, out) = explore_with(&relaxed);
    assert_eq!(s.violations, 0, "{out}");
    // Marked S, the calls are stepwise by themselves, with the strict options.
    let (s, out) = explore_as(&opts(), true);
    assert_eq!(s.violations, 0, "{out}");
}

#[test]
fn trace_without_end_is_an_error() {
    let mut e = Emu::new(Mutant::default());
    e.call("creat /a", |e| e.create("a"));
    let (_, cut) = e.unfinished();
    let err = Trace::parse(cut.clone())
        .err()
        .expect("a trace without END is refused");
    assert!(err.0.contains("without an END record"), "{err}");
    // Cut inside a record.
    let err = Trace::parse(cut[..cut.len() - 3].to_vec())
        .err()
        .expect("a truncated record is refused");
    assert!(err.0.contains("truncated"), "{err}");
    // An END that reports dropped records.
    let mut t = ferrite_explore::trace::TraceWriter::new();
    t.fence("x");
    let err = Trace::parse(t.finish(5))
        .err()
        .expect("dropped records are refused");
    assert!(err.0.contains("dropped 5 records"), "{err}");
    // Not a trace at all.
    assert!(Trace::parse(b"FTRC0002".to_vec()).is_err());
}

#[test]
fn marks_must_be_consistent() {
    let e = Emu::new(Mutant::default());
    let image = e.image.clone();
    let mut t = ferrite_explore::trace::TraceWriter::new();
    t.mark("B 1 creat");
    t.mark("B 2 creat");
    let trace = Trace::parse(t.finish(0)).expect("trace");
    let err = explore("nested", image, &trace, &opts(), &mut Vec::new())
        .expect_err("nested calls are refused");
    assert!(err.contains("not nested"), "{err}");
}

#[test]
fn torn_superblock_update_is_taken_from_the_journal() {
    // Mount's set_clean transaction copies the superblock in place; torn, its crc fails. Mount
    // (read_superblock) takes the superblock from the journal: no crash state is refused. Before
    // read_superblock, this trace had violations "mount refuses: corrupt superblock".
    let mut e = Emu::new_clean(Mutant::default());
    e.mount_superblock_update();
    e.call("creat /a", |e| e.create("a"));
    let (s, out) = run("mount", e, &opts());
    assert_eq!(s.violations, 0, "{out}");
    assert!(s.states > 1, "{out}");
}

#[test]
fn a_bad_superblock_crc_with_nothing_in_the_journal_is_refused() {
    // The fallback of read_superblock accepts only what the journal proves: a corrupted
    // superblock whose journal holds no update of block 0 still fails with its crc error.
    let e = Emu::new_clean(Mutant::default());
    let (mut image, _) = e.finish();
    image[300] ^= 0x40;
    let img = ferrite_tools::image::Image::from_vec(image);
    let mut buf = Box::new([0u8; ferrite_format::BLOCK_SIZE]);
    let mut scratch = Box::new(ferrite_format::Scratch::new());
    let r = ferrite_format::read_superblock(&img, &mut buf, &mut scratch);
    assert!(
        matches!(
            r,
            Err(ferrite_format::Error::Corrupt(
                ferrite_format::Corrupt::BadSuperblockCrc
            ))
        ),
        "{r:?}"
    );
}

#[test]
fn exploration_is_reproducible() {
    let m = Mutant {
        drop_journal_fence: true,
        ..Mutant::default()
    };
    let mut a = Emu::new(m);
    no_checkpoint_workload(&mut a);
    let mut b = Emu::new(m);
    no_checkpoint_workload(&mut b);
    let (sa, oa) = run("r", a, &opts());
    let (sb, ob) = run("r", b, &opts());
    assert_eq!(sa, sb);
    assert_eq!(oa, ob);
}

/// The command line: exit 0 for a clean exploration, 1 with violations, 2 for a bad trace, and
/// the summary line.
#[test]
fn command_line() {
    let dir = std::env::temp_dir().join(format!("ferrite-explore-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let bin = env!("CARGO_BIN_EXE_ferrite-explore");
    let save = |tag: &str, image: &[u8], trace: &[u8]| {
        let i = dir.join(format!("{tag}.img"));
        let t = dir.join(format!("{tag}.trace"));
        std::fs::write(&i, image).expect("write");
        std::fs::write(&t, trace).expect("write");
        (i, t)
    };
    let check = |i: &std::path::Path, t: &std::path::Path, name: &str| {
        std::process::Command::new(bin)
            .arg("check")
            .arg("--image")
            .arg(i)
            .arg("--trace")
            .arg(t)
            .args([
                "--name",
                name,
                "--quick",
                "--seed",
                "3",
                "--max-violations",
                "2",
            ])
            .output()
            .expect("run ferrite-explore")
    };

    let mut e = Emu::new(Mutant::default());
    e.call("creat /a", |e| e.create("a"));
    let (_, cut) = e.unfinished();
    let (image, trace) = e.finish();
    let (i, t) = save("good", &image, &trace);
    let o = check(&i, &t, "good");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{stdout}");
    let last = stdout.lines().last().unwrap_or("");
    assert!(
        last.starts_with("good: ") && last.ends_with(" crash points, 0 violations"),
        "{stdout}"
    );

    let dump = std::process::Command::new(bin)
        .arg("dump-trace")
        .arg(&t)
        .output()
        .expect("run ferrite-explore");
    let d = String::from_utf8_lossy(&dump.stdout);
    assert_eq!(dump.status.code(), Some(0));
    assert!(
        d.contains("MARK") && d.contains("mark=\"B 1 creat /a\""),
        "{d}"
    );
    assert!(
        d.contains("FENCE") && d.contains("site=fs/txn.rs:258"),
        "{d}"
    );
    assert!(d.lines().last().is_some_and(|l| l.contains("END")), "{d}");

    let m = Mutant {
        drop_journal_fence: true,
        ..Mutant::default()
    };
    let mut e = Emu::new(m);
    e.call("creat /a", |e| e.create("a"));
    let (image, trace) = e.finish();
    let (i, t) = save("bad", &image, &trace);
    let o = check(&i, &t, "bad");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{stdout}");
    assert_eq!(violations(&stdout).len(), 2, "{stdout}");
    assert!(
        stdout.lines().last().unwrap_or("").ends_with(" violations"),
        "{stdout}"
    );

    let (i, t) = save("cut", &image, &cut);
    let o = check(&i, &t, "cut");
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("without an END record"));
    // What there is of a cut trace can still be dumped.
    let dump = std::process::Command::new(bin)
        .arg("dump-trace")
        .arg(&t)
        .output()
        .expect("run ferrite-explore");
    assert_eq!(dump.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&dump.stdout).contains("mark=\"E 1 0\""));
    assert!(String::from_utf8_lossy(&dump.stderr).contains("without an END record"));
    let sites = std::process::Command::new(bin)
        .arg("sites")
        .arg(dir.join("good.trace"))
        .output()
        .expect("run ferrite-explore");
    assert_eq!(sites.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&sites.stdout),
        "fs/txn.rs:258\nfs/txn.rs:268\n"
    );
    let o = check(&dir.join("missing.img"), &dir.join("good.trace"), "missing");
    assert_eq!(o.status.code(), Some(2));

    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn delta_images_round_trip_and_reject_damage() {
    use ferrite_explore::snapshot::{load_image, pattern_word, save_image};
    let mut dev = vec![0u8; 16 * 4096];
    for (i, w) in dev.chunks_exact_mut(8).enumerate() {
        w.copy_from_slice(&pattern_word(8 * i as u64).to_le_bytes());
    }
    // Block 0 written in full, one word of block 9 changed, block 15 zeroed.
    dev[..4096].fill(0xAB);
    dev[9 * 4096 + 800] ^= 1;
    dev[15 * 4096..].fill(0);
    let delta = save_image(&dev);
    assert_eq!(
        delta.len(),
        16 + 3 * (8 + 4096),
        "only the three changed blocks are saved"
    );
    assert_eq!(load_image(delta.clone()).unwrap(), dev);
    // A raw image is taken as it is.
    assert_eq!(load_image(dev.clone()).unwrap(), dev);
    // Truncated inside a block, and a block number past the size.
    assert!(load_image(delta[..delta.len() - 1].to_vec()).is_err());
    let mut bad = delta.clone();
    bad[16..24].copy_from_slice(&16u64.to_le_bytes());
    assert!(load_image(bad).is_err());
}
