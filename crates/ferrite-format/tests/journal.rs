//! Journal tests: header round trip and mutations, replay, torn and corrupt transactions, wrap.
use ferrite_format::*;
use ferrite_testing::*;

fn layout(jblocks: u64) -> Layout {
    Layout::compute(4096, Some(1024), Some(jblocks)).unwrap()
}

fn setup(l: &Layout, nonce: u64) -> (MemIo, JournalHeader) {
    let mut io = MemIo::new(l.block_count);
    let h = JournalHeader::new(l, nonce);
    let mut b = [0u8; BS];
    h.encode(&mut b);
    io.write(l.journal_start, &b).unwrap();
    (io, h)
}

/// Recomputes the crc of header slot 0 (the first half block).
fn reseal(b: &mut Block) {
    let c = crc32c(&b[..JH_SLOT - 4]);
    b[JH_SLOT - 4..JH_SLOT].copy_from_slice(&c.to_le_bytes());
}

#[test]
fn header_round_trip_and_mutations() {
    let l = layout(64);
    let h = JournalHeader {
        tail: 4096,
        head: 8192,
        checkpoint_seq: 17,
        ..JournalHeader::new(&l, 0xfeed)
    };
    let mut b = [0u8; BS];
    h.encode(&mut b);
    assert_eq!(JournalHeader::decode(&b, &l), Ok(h));
    let mut c = b;
    c[100] ^= 1;
    assert_eq!(JournalHeader::decode(&c, &l), Err(Corrupt::BadJournalCrc));
    let with = |off: usize, v: u64| {
        let mut c = b;
        c[off..off + 8].copy_from_slice(&v.to_le_bytes());
        reseal(&mut c);
        JournalHeader::decode(&c, &l)
    };
    let mut c = b;
    c[0] ^= 1;
    reseal(&mut c);
    assert_eq!(JournalHeader::decode(&c, &l), Err(Corrupt::BadJournalMagic));
    assert_eq!(with(8, 5), Err(Corrupt::BadJournalHeader), "log size");
    assert_eq!(
        with(16, 9000),
        Err(Corrupt::BadJournalHeader),
        "tail after head"
    );
    assert_eq!(
        with(24, 4096 + 63 * 4096 + 8),
        Err(Corrupt::BadJournalHeader),
        "head too far"
    );
    assert_eq!(with(24, 8193), Err(Corrupt::BadJournalHeader), "unaligned");
    assert_eq!(with(24, u64::MAX - 7), Err(Corrupt::BadJournalHeader));
    assert!(with(32, 99).is_ok());
}

#[test]
fn header_slots_newest_valid_copy_wins() {
    let l = layout(64);
    let h0 = JournalHeader::new(&l, 0xfeed);
    let mut b = [0u8; BS];
    assert_eq!(h0.encode(&mut b), 0..JH_SLOT);
    let h1 = h0.next(4096, 4096, 3);
    assert_eq!(h1.generation, 1);
    assert_eq!(
        h1.encode(&mut b),
        JH_SLOT..BS,
        "generation 1 goes to the second slot"
    );
    assert_eq!(
        JournalHeader::decode(&b, &l),
        Ok(h1),
        "the newer copy is in force"
    );
    let h2 = h1.next(8192, 8192, 5);
    let before = b;
    assert_eq!(
        h2.encode(&mut b),
        0..JH_SLOT,
        "and generation 2 to the first again"
    );
    assert_eq!(
        &b[JH_SLOT..],
        &before[JH_SLOT..],
        "the copy in force is left as it is"
    );
    assert_eq!(JournalHeader::decode(&b, &l), Ok(h2));
    // A torn write of generation 3: some of its 8-byte units reached pmem, the crc did not.
    let mut torn = b;
    let mut new = b;
    let h3 = h2.next(12288, 12288, 9);
    h3.encode(&mut new);
    torn[JH_SLOT + 16..JH_SLOT + 24].copy_from_slice(&new[JH_SLOT + 16..JH_SLOT + 24]);
    assert_eq!(
        JournalHeader::decode(&torn, &l),
        Ok(h2),
        "a torn write leaves the older copy"
    );
    // A copy in the slot of the wrong parity is refused.
    let mut wrong = [0u8; BS];
    h1.encode(&mut wrong);
    wrong.copy_within(JH_SLOT..BS, 0);
    wrong[JH_SLOT..].fill(0);
    assert_eq!(
        JournalHeader::decode(&wrong, &l),
        Err(Corrupt::BadJournalHeader)
    );
    // No valid copy at all: the first copy's error.
    let mut none = b;
    none[100] ^= 1;
    none[JH_SLOT + 100] ^= 1;
    assert_eq!(
        JournalHeader::decode(&none, &l),
        Err(Corrupt::BadJournalCrc)
    );
}

/// What a header block claims of the log's size without a layout (mkfs looks for a filesystem
/// whose superblock is gone by it): the valid copy of the highest generation.
#[test]
fn header_claims_its_log_size_without_a_layout() {
    let l = layout(64);
    let mut b = [0u8; BS];
    assert_eq!(JournalHeader::claimed_log_blocks(&b), None, "zeros");
    let h0 = JournalHeader::new(&l, 7);
    h0.encode(&mut b);
    assert_eq!(JournalHeader::claimed_log_blocks(&b), Some(63));
    // Generation 1 in the second slot claims another size: the newer copy is believed.
    let h1 = JournalHeader {
        log_blocks: 99,
        ..h0.next(0, 0, 0)
    };
    h1.encode(&mut b);
    assert_eq!(JournalHeader::claimed_log_blocks(&b), Some(99));
    // A copy with a bad crc is not.
    b[JH_SLOT + 8] ^= 1;
    assert_eq!(JournalHeader::claimed_log_blocks(&b), Some(63));
    b[0] ^= 1;
    assert_eq!(JournalHeader::claimed_log_blocks(&b), None);
}

/// Writes a transaction setting `n` target blocks' bytes at varied offsets; returns the records.
fn txn(
    io: &mut MemIo,
    w: &mut JournalWriter,
    s: &mut Scratch,
    tag: u8,
    n: u64,
) -> Vec<(u64, usize, Vec<u8>)> {
    let mut recs = Vec::new();
    for k in 0..n {
        let target = 1000 + (u64::from(tag) * 7 + k) % 2000;
        let off = ((k * 517) % 4000) as usize;
        let len = 1 + ((k * 331 + u64::from(tag)) % (4096 - off as u64)) as usize;
        let data: Vec<u8> = (0..len).map(|i| tag ^ (i as u8)).collect();
        w.add(io, target, off, &data, s).unwrap();
        recs.push((target, off, data));
    }
    w.commit(io, s).unwrap();
    recs
}

fn apply_model(base: &MemIo, recs: &[(u64, usize, Vec<u8>)], into: &mut MemIo) {
    let _ = base;
    for (t, off, d) in recs {
        let mut b = [0u8; BS];
        into.read(*t, &mut b).unwrap();
        b[*off..*off + d.len()].copy_from_slice(d);
        into.write(*t, &b).unwrap();
    }
}

fn data_blocks_equal(a: &MemIo, b: &MemIo) -> bool {
    let mut x = [0u8; BS];
    let mut y = [0u8; BS];
    (1000..3000).all(|blk| {
        a.read(blk, &mut x).unwrap();
        b.read(blk, &mut y).unwrap();
        x == y
    })
}

#[test]
fn replay_applies_committed_transactions() {
    let l = layout(64);
    let (mut io, h) = setup(&l, 1);
    let mut s = Box::new(Scratch::new());
    let mut w = JournalWriter::new(&l, &h);
    let mut model = MemIo::new(l.block_count);
    let mut all = Vec::new();
    for tag in 1..=5u8 {
        let r = txn(&mut io, &mut w, &mut s, tag, 3 + u64::from(tag));
        apply_model(&io, &r, &mut model);
        all.extend(r);
    }
    let rep = journal_replay(&mut io, &l, &h, &mut s).unwrap();
    assert_eq!(rep.transactions, 5);
    assert_eq!(rep.records, all.len() as u64);
    assert_eq!(rep.last_seq, 5);
    assert_eq!(rep.end, w.head);
    assert!(!rep.discarded_partial);
    assert!(data_blocks_equal(&io, &model));
    // Replaying again from the new tail does nothing.
    let h2 = JournalHeader {
        tail: rep.end,
        head: rep.end,
        checkpoint_seq: rep.last_seq,
        ..h
    };
    let rep2 = journal_replay(&mut io, &l, &h2, &mut s).unwrap();
    assert_eq!(
        (rep2.transactions, rep2.end, rep2.last_seq),
        (0, rep.end, 5)
    );
    // An empty journal replays nothing.
    let (mut io3, h3) = setup(&l, 1);
    assert_eq!(
        journal_replay(&mut io3, &l, &h3, &mut s).unwrap(),
        ReplayReport::default()
    );
}

/// Overwrites log bytes at positions `from..to` of `dst` with those of `src`.
fn restore_log(l: &Layout, h: &JournalHeader, dst: &mut MemIo, src: &MemIo, from: u64, to: u64) {
    let lb = h.log_bytes();
    for p in from..to {
        let q = p % lb;
        let blk = l.journal_start + 1 + q / 4096;
        let off = (q % 4096) as usize;
        let mut a = [0u8; BS];
        let mut b = [0u8; BS];
        src.read(blk, &mut a).unwrap();
        dst.read(blk, &mut b).unwrap();
        b[off] = a[off];
        dst.write(blk, &b).unwrap();
    }
}

#[test]
fn torn_transaction_is_all_or_nothing_at_every_byte() {
    let l = layout(64);
    for garbage in [false, true] {
        let (mut io, h) = setup(&l, 2);
        if garbage {
            // Old bytes in the log: random, and stale records of a previous filesystem.
            let mut rng = Rng(5);
            for blk in l.journal_start + 1..l.journal_start + l.journal_blocks {
                let mut b = [0u8; BS];
                b.iter_mut().for_each(|x| *x = rng.next_u64() as u8);
                io.write(blk, &b).unwrap();
            }
            let old = JournalHeader::new(&l, 999);
            let mut wo = JournalWriter::new(&l, &old);
            let mut s = Box::new(Scratch::new());
            for tag in 1..4 {
                txn(&mut io, &mut wo, &mut s, tag, 5);
            }
        }
        let mut s = Box::new(Scratch::new());
        let mut w = JournalWriter::new(&l, &h);
        let r1 = txn(&mut io, &mut w, &mut s, 10, 4);
        let before_t2 = MemIo {
            blocks: io.blocks.clone(),
            ..MemIo::new(io.count)
        };
        let t2_start = w.head;
        // T2: three records; we also need the start of its last DATA record.
        let mut r2 = Vec::new();
        for k in 0..2u64 {
            let d = vec![0xa0 + k as u8; 700];
            w.add(&mut io, 2500 + k, 100, &d, &mut s).unwrap();
            r2.push((2500 + k, 100usize, d));
        }
        let last_start = w.head;
        let d = vec![0xee; 333];
        w.add(&mut io, 2600, 5, &d, &mut s).unwrap();
        r2.push((2600, 5, d));
        w.commit(&mut io, &mut s).unwrap();
        let t2_end = w.head;
        assert!(t2_start < last_start);
        let mut m1 = MemIo::new(l.block_count);
        apply_model(&io, &r1, &mut m1);
        let mut m12 = MemIo::new(l.block_count);
        m12.blocks = m1.blocks.clone();
        apply_model(&io, &r2, &mut m12);
        let full = MemIo {
            blocks: io.blocks.clone(),
            ..MemIo::new(io.count)
        };
        for cut in last_start..=t2_end {
            let mut t = MemIo {
                blocks: full.blocks.clone(),
                ..MemIo::new(io.count)
            };
            restore_log(&l, &h, &mut t, &before_t2, cut, t2_end);
            // Replay into the data blocks of a fresh copy of "before".
            for blk in 1000..3000 {
                t.blocks.remove(&blk);
            }
            let rep = journal_replay(&mut t, &l, &h, &mut s).unwrap();
            if cut == t2_end {
                assert_eq!(rep.transactions, 2, "cut {cut}");
                assert!(data_blocks_equal(&t, &m12));
            } else {
                assert_eq!(
                    rep.transactions, 1,
                    "cut {cut} (garbage {garbage}): {rep:?}"
                );
                assert_eq!(rep.end, t2_start);
                assert!(data_blocks_equal(&t, &m1), "cut {cut}: T2 partly applied");
            }
        }
    }
}

#[test]
fn corrupt_record_ends_replay_and_later_transactions_are_ignored() {
    let l = layout(64);
    let (mut io, h) = setup(&l, 3);
    let mut s = Box::new(Scratch::new());
    let mut w = JournalWriter::new(&l, &h);
    let r1 = txn(&mut io, &mut w, &mut s, 1, 3);
    let t2 = w.head;
    txn(&mut io, &mut w, &mut s, 2, 3);
    txn(&mut io, &mut w, &mut s, 3, 3);
    let mut m1 = MemIo::new(l.block_count);
    apply_model(&io, &r1, &mut m1);
    // Flip one payload byte of T2's first record, and separately one header byte, and the
    // commit's transaction crc (with a valid record crc it is the chained crc that catches it).
    for off in [JREC_HDR as u64 + 1, 9, 17] {
        let mut t = MemIo {
            blocks: io.blocks.clone(),
            ..MemIo::new(io.count)
        };
        let p = t2 + off;
        let blk = l.journal_start + 1 + p / 4096;
        let mut b = [0u8; BS];
        t.read(blk, &mut b).unwrap();
        b[(p % 4096) as usize] ^= 0x40;
        t.write(blk, &b).unwrap();
        for blk in 1000..3000 {
            t.blocks.remove(&blk);
        }
        let rep = journal_replay(&mut t, &l, &h, &mut s).unwrap();
        assert_eq!(rep.transactions, 1, "flip at {off}");
        assert!(rep.discarded_partial);
        assert!(data_blocks_equal(&t, &m1));
    }
}

#[test]
fn wraps_around_the_log_with_checkpoints() {
    let l = layout(16); // 15 log blocks = 61440 bytes
    let (mut io, h) = setup(&l, 4);
    let mut s = Box::new(Scratch::new());
    let mut w = JournalWriter::new(&l, &h);
    let mut model = MemIo::new(l.block_count);
    let mut hdr = h;
    let mut laps = 0;
    for tag in 1..=200u8 {
        let start = w.head;
        let r = txn(&mut io, &mut w, &mut s, tag, 4);
        apply_model(&io, &r, &mut model);
        // Replay from the previous checkpoint must reproduce the model.
        let rep = journal_replay(&mut io, &l, &hdr, &mut s).unwrap();
        assert_eq!(rep.last_seq, u64::from(tag), "tag {tag}");
        assert_eq!(rep.end, w.head);
        assert!(data_blocks_equal(&io, &model), "tag {tag}");
        if start / h.log_bytes() != w.head / h.log_bytes() {
            laps += 1;
        }
        // Checkpoint: the blocks are in place, move the tail.
        hdr = JournalHeader {
            tail: rep.end,
            head: rep.end,
            checkpoint_seq: rep.last_seq,
            ..hdr
        };
        w.tail = hdr.tail;
    }
    assert!(laps >= 3, "only {laps} laps");
}

#[test]
fn full_journal_is_nospace() {
    let l = layout(16);
    let (mut io, h) = setup(&l, 5);
    let mut s = Box::new(Scratch::new());
    let mut w = JournalWriter::new(&l, &h);
    let d = vec![1u8; 4096];
    let mut n = 0;
    let err = loop {
        match w.add(&mut io, 1000, 0, &d, &mut s) {
            Ok(()) => n += 1,
            Err(e) => break e,
        }
    };
    assert_eq!(err, Error::NoSpace);
    assert_eq!(n, 14);
    assert_eq!(
        w.add(&mut io, 1000, 4000, &d[..97], &mut s),
        Err(Error::Invalid)
    );
    assert_eq!(w.add(&mut io, 1000, 0, &[], &mut s), Err(Error::Invalid));
}

#[test]
fn changed_range_merges_close_differences_and_skips_equal_bytes() {
    let old = [0u8; BS];
    let mut new = old;
    assert_eq!(changed_range(&old, &new, 0), None);
    // Two differences 40 bytes apart: one range; one 200 bytes further: another.
    new[100] = 1;
    new[140] = 2;
    new[400] = 3;
    new[BS - 1] = 4;
    assert_eq!(changed_range(&old, &new, 0), Some(100..141));
    assert_eq!(changed_range(&old, &new, 141), Some(400..401));
    assert_eq!(changed_range(&old, &new, 401), Some(BS - 1..BS));
    assert_eq!(changed_range(&old, &new, BS), None);
    // A gap of exactly JREC_MERGE_GAP bytes splits.
    let mut g = old;
    g[0] = 1;
    g[1 + JREC_MERGE_GAP] = 1;
    assert_eq!(changed_range(&old, &g, 0), Some(0..1));
}
