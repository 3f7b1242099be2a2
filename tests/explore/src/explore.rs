// SPDX-License-Identifier: GPL-2.0

//! The crash-state explorer: every crash state a trace allows, recovered and checked against
//! what the workload's completed calls promised.
//!
//! # The persistence model
//!
//! The trace is walked keeping the *persisted* image (what is certainly durable) and the
//! *pending* stores (what may or may not have reached pmem). A cached STORE becomes durable at
//! the first FENCE after a FLUSH that covers its 64-byte cache lines (line by line); until then,
//! even across fences, it may or may not have persisted. NT, ZERO and DATA stores become durable
//! at the next FENCE. Every store is kept as the 8-byte units it covers (a byte mask and the
//! unit's value once the store is applied); a pending store may be torn at unit granularity.
//!
//! A store is an *item* of the crash points it is pending at if it changes at least one unit
//! relative to the image it saw (the image with every earlier store applied); a store that
//! changes nothing is not an item. When a store becomes durable, the bytes it covers are taken
//! out of earlier stores that are still pending: both persisted, the later one wins.
//!
//! # Crash points and states
//!
//! Crash points are just before each FENCE, at each `E` mark and at the end of the trace. A
//! crash state is the persisted image plus a subset of the pending items, applied in trace
//! order: all subsets when there are at most [`FULL_ENUMERATION`] items, else every prefix in
//! trace order, every item left out once (the others applied: a commit record durable without
//! one of its records) and [`RANDOM_SUBSETS`] seeded random subsets; and for every item changing
//! more than one unit, torn variants (the first half of its changed units, a random part of
//! them), with the other items all applied and with none applied.
//!
//! States are built in place in one working image and undone after their check. The identity of
//! a state is the XOR of [`unit_hash`] over its units, kept incrementally: a state whose hash was
//! seen is not checked again. Its check ([`Checker`]) recovers it as mount does; since after a
//! recovery the log is never read again (replay from the new tail stops where recovery stopped),
//! the recovered image's identity leaves the log out, and states that recover to the same blocks
//! share one `fsck -n`, one snapshot and one stale-data scan.
//!
//! # The oracle
//!
//! `S(-1)` is the recovered image; `S(n)`, for a call `n` with an `E` mark, the recovered image
//! with every store up to that mark applied; a call left without `E` at the end of the trace has
//! the state at the end as `S(n)`. A crash point where no call is in flight must give the snapshot
//! of the last completed call; one where call `n` is in flight, that of the last call completed
//! before `n`, or `S(n)` (all or nothing). Independently of the oracle, every state must recover
//! (mount must not refuse it), be clean for `fsck -n` and expose no stale device contents.
//!
//! A call the workload marks `S` instead of `B` is one ferrite makes in steps: one that stores
//! file data (`write`, a store through a mapping; file data is not journaled and POSIX makes no
//! such call atomic) or `fallocate` (one transaction per extent, then the size and times). While
//! one is in flight, the states of its program order are accepted and the content of the files
//! it writes is not compared; every state must still recover, be clean for fsck and show no
//! stale data, and once it returned all of it must be there. Any other call made of several
//! transactions passes through states that are neither: a mismatching tree that is the tree of
//! the *program-order* state at one of the call's fences (every store up to it persisted, no crash reordering) is
//! reported as such ("the call is not atomic"), and with
//! [`ExploreOptions::accept_program_order`] accepted. File data is not journaled: a call in
//! flight may have persisted part of the data it stores; with
//! [`ExploreOptions::data_not_atomic`] the content of the files its DATA and ZERO stores write
//! is not compared while it is in flight.
//!
//! # Violations
//!
//! A violation is reported once per distinct finding: a refusal once per crash point and
//! message, fsck and stale-data problems once per recovered image (many crash states recover to
//! the same blocks), a tree mismatch once per tree and set of accepted trees.

use crate::hash::{mix64, unit_hash, Rng};
use crate::recover::{self, Undo};
use crate::snapshot::{self, Snapshot, Stale};
use crate::trace::{Kind, Mark, Record, Trace};
use ferrite_format::{DiskSuperblock, BLOCK_SIZE};
use ferrite_tools::fsck::{fsck_image, FsckOptions, Mode, EXIT_OK};
use ferrite_tools::image::Image;
use std::collections::{HashMap, HashSet};
use std::io::Write;

const BS: u64 = BLOCK_SIZE as u64;
/// Up to this many pending items, every subset is a crash state.
pub const FULL_ENUMERATION: usize = 12;
/// Random subsets per crash point with more items.
pub const RANDOM_SUBSETS: usize = 1000;
/// Random subsets per crash point with more items, with `--quick`.
pub const RANDOM_SUBSETS_QUICK: usize = 100;
/// Lines of fsck output and of snapshot differences shown per violation.
const DETAIL_LINES: usize = 8;
/// Pending stores listed per violation.
const LISTED_STORES: usize = 48;

/// How to explore.
#[derive(Clone, Copy, Debug)]
pub struct ExploreOptions {
    /// Fewer random subsets per crash point ([`RANDOM_SUBSETS_QUICK`]).
    pub quick: bool,
    /// Seed of the random subsets and torn variants.
    pub seed: u64,
    /// Violations printed in full (all are counted).
    pub max_violations: usize,
    /// While a call is in flight, also accept the trees of its program-order states (at each of
    /// its fences, every store so far persisted): calls need not be atomic across their
    /// transactions, only every crash state must be one the call passes through in order.
    pub accept_program_order: bool,
    /// While a call is in flight, do not compare the content of the regular files whose blocks
    /// its file data stores (DATA, ZERO) write: file data is not journaled, so a call's data may
    /// be partly persisted (metadata must still be all or nothing; stale data is still found).
    pub data_not_atomic: bool,
}

impl Default for ExploreOptions {
    fn default() -> Self {
        ExploreOptions {
            quick: false,
            seed: 1,
            max_violations: 20,
            accept_program_order: false,
            data_not_atomic: false,
        }
    }
}

/// What an exploration found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Distinct crash states checked.
    pub states: usize,
    /// Crash points.
    pub crash_points: usize,
    /// Violations.
    pub violations: usize,
}

/// The log area of the journal, as byte offsets: left out of the identity of recovered images.
#[derive(Clone, Copy, Debug)]
struct LogArea {
    lo: u64,
    hi: u64,
}

impl LogArea {
    fn contains(&self, off: u64) -> bool {
        off >= self.lo && off < self.hi
    }
}

/// An image in memory and its identity: `hash` over every unit, `nolog` over the units outside
/// the journal's log (both as XOR relative to the starting image).
struct Mem {
    img: Image,
    hash: u64,
    nolog: u64,
}

impl Mem {
    fn new(data: Vec<u8>) -> Mem {
        Mem {
            img: Image::from_vec(data),
            hash: 0,
            nolog: 0,
        }
    }

    fn bytes(&self) -> &[u8] {
        self.img.memory().unwrap_or(&[])
    }

    fn word(&self, off: u64) -> u64 {
        let o = off as usize;
        let mut w = [0u8; 8];
        w.copy_from_slice(&self.bytes()[o..o + 8]);
        u64::from_le_bytes(w)
    }

    /// Sets the unit at `off` to `new`; returns the old value.
    fn set(&mut self, off: u64, new: u64, log: &LogArea) -> u64 {
        let old = self.word(off);
        if old != new {
            let d = unit_hash(off, old) ^ unit_hash(off, new);
            self.hash ^= d;
            if !log.contains(off) {
                self.nolog ^= d;
            }
            let o = off as usize;
            if let Some(m) = self.img.memory_mut() {
                m[o..o + 8].copy_from_slice(&new.to_le_bytes());
            }
        }
        old
    }
}

/// One 8-byte unit of a store.
#[derive(Clone, Copy, Debug)]
struct Unit {
    /// Device offset (8-aligned).
    off: u64,
    /// The unit's value with the store applied (only the bytes of `mask` matter).
    val: u64,
    /// The bytes the store covers (0xff per byte), less those a later durable store took.
    mask: u64,
    /// Whether the store changed the unit relative to the image it saw.
    changes: bool,
    /// A cached store's unit whose line was flushed after the store.
    flushed: bool,
}

impl Unit {
    fn on(&self, base: u64) -> u64 {
        (base & !self.mask) | (self.val & self.mask)
    }
}

/// A store that may or may not have persisted.
struct Pending {
    /// Its record index.
    rec: usize,
    kind: Kind,
    units: Vec<Unit>,
}

/// Which units of a pending store a crash state has.
#[derive(Clone, Debug)]
enum Sel {
    /// All of them.
    All,
    /// These (indices into its units): a torn store.
    Units(Vec<usize>),
}

/// A crash state: pending stores (indices into the pending list, increasing) and their units.
type Choice = Vec<(usize, Sel)>;

/// A pending item at one crash point.
struct Item {
    /// Index in the pending list.
    p: usize,
    /// Its units that change something.
    changing: Vec<usize>,
    /// Its units whose offset another item also writes.
    shared: Vec<usize>,
    /// Hash change of applying all its units that no other item writes.
    delta: u64,
}

/// The outcome of checking a recovered image.
struct PostOutcome {
    fsck_exit: i32,
    fsck_text: String,
    digest: u64,
    stale: Vec<Stale>,
}

/// One snapshot the oracle accepts.
#[derive(Clone, Debug)]
struct Expect {
    label: String,
    /// The snapshot digest, or why mount refused.
    outcome: Result<u64, String>,
}

/// Checks crash states once each, by identity.
struct Checker {
    name: String,
    log: LogArea,
    /// State identity -> recovered identity, or mount's refusal.
    states: HashMap<u64, Result<u64, String>>,
    posts: HashMap<u64, PostOutcome>,
    snaps: HashMap<u64, Snapshot>,
    undo: Undo,
}

impl Checker {
    /// The outcome of the state in `mem` (whose identity is `mem.hash`), checking it if it is
    /// new. `mem` is unchanged afterwards.
    fn check(&mut self, mem: &mut Mem) -> Result<u64, String> {
        if let Some(r) = self.states.get(&mem.hash) {
            return r.clone();
        }
        let r = match recover::recover(&mut mem.img, &mut self.undo) {
            Err(msg) => Err(msg),
            Ok(_) => {
                let mut post = mem.nolog;
                for (blk, old) in &self.undo {
                    let base = blk * BS;
                    let new = &mem.bytes()[base as usize..(base + BS) as usize];
                    for (k, (o, n)) in old.chunks_exact(8).zip(new.chunks_exact(8)).enumerate() {
                        let off = base + 8 * k as u64;
                        if o != n && !self.log.contains(off) {
                            let mut a = [0u8; 8];
                            let mut b = [0u8; 8];
                            a.copy_from_slice(o);
                            b.copy_from_slice(n);
                            post ^= unit_hash(off, u64::from_le_bytes(a))
                                ^ unit_hash(off, u64::from_le_bytes(b));
                        }
                    }
                }
                if !self.posts.contains_key(&post) {
                    let o = self.check_recovered(&mut mem.img);
                    self.posts.insert(post, o);
                }
                Ok(post)
            }
        };
        recover::undo(&mut mem.img, &mut self.undo);
        self.states.insert(mem.hash, r.clone());
        r
    }

    /// fsck -n, the snapshot and the stale-data scan of a recovered image.
    fn check_recovered(&mut self, img: &mut Image) -> PostOutcome {
        let mut out = Vec::new();
        let opts = FsckOptions {
            mode: Mode::Check,
            force: true,
        };
        let rep = fsck_image(img, &self.name, &opts, &mut out);
        let (snap, stale) = snapshot::take(img);
        let digest = snap.digest;
        self.snaps.entry(digest).or_insert(snap);
        PostOutcome {
            fsck_exit: rep.exit,
            // The problems first (the notes of an unclean unmount are not), then fsck's verdict.
            fsck_text: if rep.exit == EXIT_OK {
                String::new()
            } else {
                let text = String::from_utf8_lossy(&out);
                let mut lines: Vec<String> = rep.problems.iter().map(|p| p.msg.clone()).collect();
                lines.extend(text.lines().last().map(str::to_string));
                lines.join("\n")
            },
            digest,
            stale,
        }
    }

    /// The oracle's view of an outcome.
    fn expect(&self, label: String, r: &Result<u64, String>) -> Expect {
        Expect {
            label,
            outcome: match r {
                Ok(post) => Ok(self.posts.get(post).map_or(0, |p| p.digest)),
                Err(m) => Err(m.clone()),
            },
        }
    }
}

/// Where a crash point is.
#[derive(Clone, Copy, Debug)]
enum Point {
    Fence,
    EndOfCall(u64),
    End,
}

impl std::fmt::Display for Point {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Point::Fence => f.write_str("fence"),
            Point::EndOfCall(n) => write!(f, "end-of-call-{n}"),
            Point::End => f.write_str("end"),
        }
    }
}

/// What the trace promises: the snapshots after each call.
struct Oracle {
    before_all: Expect,
    after: HashMap<u64, Expect>,
    /// Per call: the trees of its program-order states at its fences (record index, digest).
    program_order: HashMap<u64, Vec<(usize, u64)>>,
}

/// Explores every crash state of `trace` on `image` (the device's first bytes, as before mount),
/// writing one `VIOLATION` line per violation (and detail lines) to `out`, then the summary
/// line. An error is a trace or image that cannot be explored (it does not mount, a store lies
/// outside it, the marks are inconsistent).
pub fn explore(
    name: &str,
    image: Vec<u8>,
    trace: &Trace,
    opts: &ExploreOptions,
    out: &mut dyn Write,
) -> Result<Summary, String> {
    if image.len() < 2 * BLOCK_SIZE {
        return Err(format!(
            "the image is {} bytes: too small for a filesystem",
            image.len()
        ));
    }
    let sb = DiskSuperblock::decode(
        image[..BLOCK_SIZE]
            .try_into()
            .map_err(|_| "the image is too small".to_string())?,
    )
    .map_err(|c| format!("the image has no valid superblock: {c}"))?;
    let l = sb.layout;
    let log = LogArea {
        lo: (l.journal_start + 1) * BS,
        hi: (l.journal_start + l.journal_blocks) * BS,
    };
    let mut ck = Checker {
        name: name.to_string(),
        log,
        states: HashMap::new(),
        posts: HashMap::new(),
        snaps: HashMap::new(),
        undo: Vec::new(),
    };
    let oracle = expectations(&mut ck, image.clone(), trace)?;
    let mut ex = Explorer {
        name,
        trace,
        opts,
        out,
        ck,
        oracle,
        work: Mem::new(image.clone()),
        cur: Mem::new(image),
        pending: Vec::new(),
        crash_points: 0,
        violations: 0,
        reported_refusals: HashSet::new(),
        reported_posts: HashSet::new(),
        reported_trees: HashSet::new(),
        relaxed: HashMap::new(),
        call_data: Vec::new(),
        internal: None,
    };
    ex.run()?;
    let s = Summary {
        states: ex.ck.states.len(),
        crash_points: ex.crash_points,
        violations: ex.violations,
    };
    if s.violations > opts.max_violations {
        let _ = writeln!(
            ex.out,
            "({} more violations not shown: --max-violations {})",
            s.violations - opts.max_violations,
            opts.max_violations
        );
    }
    let _ = writeln!(
        ex.out,
        "{name}: {} states, {} crash points, {} violations",
        s.states, s.crash_points, s.violations
    );
    Ok(s)
}

/// The byte range of a store record, checked against the image.
fn store_range(i: usize, r: &Record, size: usize) -> Result<(u64, u64), String> {
    let len = u64::from(r.len);
    match r.off.checked_add(len) {
        Some(end) if end <= size as u64 => Ok((r.off, len)),
        _ => Err(format!(
            "record {i}: {} of {len} bytes at {:#x} lies outside the image ({size} bytes)",
            r.kind.name(),
            r.off
        )),
    }
}

/// Applies a store record to `mem` (which sees every store in program order) and returns its
/// units.
fn store_units(mem: &mut Mem, log: &LogArea, off: u64, len: u64, data: Option<&[u8]>) -> Vec<Unit> {
    let end = off + len;
    let mut units = Vec::with_capacity((len / 8 + 2) as usize);
    let mut u = off & !7;
    while u < end {
        let lo = off.max(u);
        let hi = end.min(u + 8);
        let (mask, val) = if lo == u && hi == u + 8 {
            let v = match data {
                Some(d) => {
                    let s = (u - off) as usize;
                    let mut w = [0u8; 8];
                    w.copy_from_slice(&d[s..s + 8]);
                    u64::from_le_bytes(w)
                }
                None => 0,
            };
            (u64::MAX, v)
        } else {
            let mut mask = 0u64;
            let mut val = 0u64;
            for b in lo..hi {
                let sh = (b - u) * 8;
                mask |= 0xff << sh;
                let byte = data.map_or(0, |d| d[(b - off) as usize]);
                val |= u64::from(byte) << sh;
            }
            (mask, val)
        };
        let old = mem.word(u);
        let new = (old & !mask) | val;
        mem.set(u, new, log);
        units.push(Unit {
            off: u,
            val: new,
            mask,
            changes: new != old,
            flushed: false,
        });
        u += 8;
    }
    units
}

/// Pass 1: the snapshots the oracle accepts, from the trace applied in program order. Also
/// checks the marks.
fn expectations(ck: &mut Checker, image: Vec<u8>, trace: &Trace) -> Result<Oracle, String> {
    let mut cur = Mem::new(image);
    let size = cur.bytes().len();
    let log = ck.log;
    let r = ck.check(&mut cur);
    if let Err(m) = &r {
        return Err(format!("the image does not mount: {m}"));
    }
    let before_all = ck.expect("S(-1)".into(), &r);
    let mut after = HashMap::new();
    let mut program_order: HashMap<u64, Vec<(usize, u64)>> = HashMap::new();
    let mut in_flight: Option<u64> = None;
    let mut last_n: Option<u64> = None;
    for (i, rec) in trace.records.iter().enumerate() {
        match rec.kind {
            Kind::Store | Kind::Nt | Kind::Data => {
                let (off, len) = store_range(i, rec, size)?;
                store_units(&mut cur, &log, off, len, Some(trace.payload(rec)));
            }
            Kind::Zero => {
                let (off, len) = store_range(i, rec, size)?;
                store_units(&mut cur, &log, off, len, None);
            }
            Kind::Mark => {
                for m in trace.marks(rec) {
                    match m {
                        Mark::Begin { n, .. } => {
                            if let Some(f) = in_flight {
                                return Err(format!(
                                    "record {i}: call {n} begins while call {f} is in flight (calls are not nested)"
                                ));
                            }
                            if last_n.is_some_and(|l| n <= l) {
                                return Err(format!(
                                    "record {i}: call {n} begins after call {}: call numbers must increase",
                                    last_n.unwrap_or(0)
                                ));
                            }
                            in_flight = Some(n);
                            last_n = Some(n);
                        }
                        Mark::End { n, .. } => {
                            if in_flight != Some(n) {
                                return Err(format!(
                                    "record {i}: call {n} ends but {} is in flight",
                                    in_flight
                                        .map_or("no call".to_string(), |f| format!("call {f}"))
                                ));
                            }
                            in_flight = None;
                            let r = ck.check(&mut cur);
                            after.insert(n, ck.expect(format!("S({n})"), &r));
                        }
                        Mark::Other(_) => {}
                    }
                }
            }
            Kind::End => {
                if let Some(n) = in_flight {
                    let r = ck.check(&mut cur);
                    after.insert(n, ck.expect(format!("S({n}) (end of trace)"), &r));
                }
            }
            Kind::Fence => {
                if let Some(n) = in_flight {
                    let r = ck.check(&mut cur);
                    if let Ok(d) = ck.expect(String::new(), &r).outcome {
                        let v = program_order.entry(n).or_default();
                        if !v.iter().any(|(_, x)| *x == d) {
                            v.push((i, d));
                        }
                    }
                }
            }
            Kind::Flush => {}
        }
    }
    Ok(Oracle {
        before_all,
        after,
        program_order,
    })
}

/// Pass 2: the crash states.
struct Explorer<'a> {
    name: &'a str,
    trace: &'a Trace,
    opts: &'a ExploreOptions,
    out: &'a mut dyn Write,
    ck: Checker,
    oracle: Oracle,
    /// The persisted image; crash states are built on it and undone.
    work: Mem,
    /// Every store so far applied in program order.
    cur: Mem,
    pending: Vec<Pending>,
    crash_points: usize,
    violations: usize,
    /// (crash point, message) of the refusals reported.
    reported_refusals: HashSet<(usize, String)>,
    /// Recovered images whose fsck or stale-data problems were reported.
    reported_posts: HashSet<u64>,
    /// (tree, accepted trees) whose mismatch was reported.
    reported_trees: HashSet<(u64, u64)>,
    /// (tree, accepted trees) -> whether the tree is accepted without file contents.
    relaxed: HashMap<(u64, u64), bool>,
    /// Device byte ranges of the file data stores (DATA, ZERO) of the call in flight.
    call_data: Vec<(u64, u64)>,
    /// A broken invariant of the explorer itself (the exploration is then an error).
    internal: Option<String>,
}

/// The call in flight at a crash point.
#[derive(Clone, Debug)]
struct InFlight {
    n: u64,
    name: String,
    /// Marked `S`: a call ferrite makes in steps (see the module documentation).
    stepwise: bool,
}

impl Explorer<'_> {
    fn run(&mut self) -> Result<(), String> {
        let trace = self.trace;
        let size = self.work.bytes().len();
        let log = self.ck.log;
        let mut in_flight: Option<InFlight> = None;
        let mut last_done: Option<u64> = None;
        for (i, rec) in trace.records.iter().enumerate() {
            match rec.kind {
                Kind::Store | Kind::Nt | Kind::Data | Kind::Zero => {
                    let (off, len) = store_range(i, rec, size)?;
                    if matches!(rec.kind, Kind::Data | Kind::Zero) && in_flight.is_some() {
                        self.call_data.push((off, len));
                    }
                    let data = (rec.kind != Kind::Zero).then(|| trace.payload(rec));
                    let units = store_units(&mut self.cur, &log, off, len, data);
                    self.pending.push(Pending {
                        rec: i,
                        kind: rec.kind,
                        units,
                    });
                }
                Kind::Flush => {
                    let lo = rec.off & !63;
                    let hi = rec
                        .off
                        .saturating_add(u64::from(rec.len))
                        .saturating_add(63)
                        & !63;
                    for p in self.pending.iter_mut().filter(|p| p.kind == Kind::Store) {
                        for u in p.units.iter_mut() {
                            if u.off >= lo && u.off < hi {
                                u.flushed = true;
                            }
                        }
                    }
                }
                Kind::Fence => {
                    self.crash_point(i, Point::Fence, in_flight.as_ref(), last_done);
                    self.fence();
                }
                Kind::Mark => {
                    for m in trace.marks(rec) {
                        match m {
                            Mark::Begin { n, name, stepwise } => {
                                self.call_data.clear();
                                in_flight = Some(InFlight {
                                    n,
                                    name: name.split_whitespace().collect::<Vec<_>>().join("_"),
                                    stepwise,
                                })
                            }
                            Mark::End { n, .. } => {
                                in_flight = None;
                                last_done = Some(n);
                                self.crash_point(i, Point::EndOfCall(n), None, last_done);
                            }
                            Mark::Other(_) => {}
                        }
                    }
                }
                Kind::End => self.crash_point(i, Point::End, in_flight.as_ref(), last_done),
            }
        }
        match self.internal.take() {
            Some(m) => Err(m),
            None => Ok(()),
        }
    }

    /// A FENCE: every NT, ZERO and DATA store, and every flushed unit of a cached store, is
    /// durable.
    fn fence(&mut self) {
        let log = self.ck.log;
        let durable = |k: Kind, u: &Unit| k != Kind::Store || u.flushed;
        let remaining = self
            .pending
            .iter()
            .any(|p| p.units.iter().any(|u| !durable(p.kind, u)));
        if remaining {
            // A unit still pending loses the bytes a later durable store covers.
            let mut later: HashMap<u64, u64> = HashMap::new();
            for p in self.pending.iter_mut().rev() {
                for u in p.units.iter_mut() {
                    if !durable(p.kind, u) {
                        if let Some(m) = later.get(&u.off) {
                            u.mask &= !m;
                        }
                    }
                }
                for u in p.units.iter() {
                    if durable(p.kind, u) {
                        *later.entry(u.off).or_insert(0) |= u.mask;
                    }
                }
            }
        }
        let pending = std::mem::take(&mut self.pending);
        for mut p in pending {
            for u in p.units.iter().filter(|u| durable(p.kind, u)) {
                let w = self.work.word(u.off);
                self.work.set(u.off, u.on(w), &log);
            }
            let kind = p.kind;
            p.units.retain(|u| !durable(kind, u) && u.mask != 0);
            if !p.units.is_empty() {
                self.pending.push(p);
            }
        }
    }

    /// The snapshots accepted at a crash point.
    fn accepted(&self, in_flight: Option<&InFlight>, last_done: Option<u64>) -> Vec<Expect> {
        let last = match last_done.and_then(|n| self.oracle.after.get(&n)) {
            Some(e) => e.clone(),
            None => self.oracle.before_all.clone(),
        };
        let mut v = vec![last];
        if let Some(e) = in_flight.and_then(|f| self.oracle.after.get(&f.n)) {
            v.push(e.clone());
        }
        if self.opts.accept_program_order || in_flight.is_some_and(|f| f.stepwise) {
            if let Some(po) = in_flight.and_then(|f| self.oracle.program_order.get(&f.n)) {
                for (rec, d) in po {
                    if !v.iter().any(|e| e.outcome == Ok(*d)) {
                        v.push(Expect {
                            label: format!("program order at record {rec}"),
                            outcome: Ok(*d),
                        });
                    }
                }
            }
        }
        v
    }

    fn crash_point(
        &mut self,
        pos: usize,
        point: Point,
        in_flight: Option<&InFlight>,
        last_done: Option<u64>,
    ) {
        self.crash_points += 1;
        let accepted = self.accepted(in_flight, last_done);
        let items = self.items();
        let mut rng = Rng::new(self.opts.seed ^ mix64(pos as u64));
        let mut choices: Vec<Choice> = Vec::new();
        let n = items.len();
        let all = |skip: Option<usize>| -> Choice {
            items
                .iter()
                .enumerate()
                .filter(|(k, _)| Some(*k) != skip)
                .map(|(_, it)| (it.p, Sel::All))
                .collect()
        };
        if n <= FULL_ENUMERATION {
            for m in 0u32..(1 << n) {
                choices.push(
                    items
                        .iter()
                        .enumerate()
                        .filter(|(k, _)| m & (1 << k) != 0)
                        .map(|(_, it)| (it.p, Sel::All))
                        .collect(),
                );
            }
        } else {
            for k in 0..=n {
                choices.push(items[..k].iter().map(|it| (it.p, Sel::All)).collect());
            }
            for k in 0..n {
                choices.push(all(Some(k)));
            }
            let r = if self.opts.quick {
                RANDOM_SUBSETS_QUICK
            } else {
                RANDOM_SUBSETS
            };
            for _ in 0..r {
                choices.push(
                    items
                        .iter()
                        .filter(|_| rng.coin())
                        .map(|it| (it.p, Sel::All))
                        .collect(),
                );
            }
        }
        for (k, it) in items.iter().enumerate() {
            let c = it.changing.len();
            if c < 2 {
                continue;
            }
            let half = it.changing[..c / 2].to_vec();
            let mut part: Vec<usize> = it.changing.iter().copied().filter(|_| rng.coin()).collect();
            if part.is_empty() {
                part.push(it.changing[rng.below(c)]);
            } else if part.len() == c {
                part.remove(rng.below(c));
            }
            for sel in [half, part] {
                let mut with_all = all(Some(k));
                let at = with_all.partition_point(|(p, _)| *p < it.p);
                with_all.insert(at, (it.p, Sel::Units(sel.clone())));
                choices.push(with_all);
                choices.push(vec![(it.p, Sel::Units(sel))]);
            }
        }
        let mut seen = HashSet::new();
        for choice in &choices {
            let h = self.state_hash(&items, choice);
            if !seen.insert(h) {
                continue;
            }
            if !self.ck.states.contains_key(&h) {
                let undo = self.apply(choice);
                if self.work.hash != h && self.internal.is_none() {
                    self.internal = Some(format!(
                        "internal error: crash point at record {pos}: the state's identity {:#x} is not the one predicted ({h:#x})",
                        self.work.hash
                    ));
                }
                let _ = self.ck.check(&mut self.work);
                self.revert(undo);
            }
            self.judge(pos, point, in_flight, &accepted, &items, choice, h);
        }
    }

    /// The pending items now.
    fn items(&self) -> Vec<Item> {
        let mut writers: HashMap<u64, u32> = HashMap::new();
        let live: Vec<usize> = (0..self.pending.len())
            .filter(|&p| {
                self.pending[p]
                    .units
                    .iter()
                    .any(|u| u.changes && u.mask != 0)
            })
            .collect();
        for &p in &live {
            let mut last = None;
            for u in self.pending[p].units.iter().filter(|u| u.mask != 0) {
                if last != Some(u.off) {
                    *writers.entry(u.off).or_insert(0) += 1;
                }
                last = Some(u.off);
            }
        }
        live.into_iter()
            .map(|p| {
                let units = &self.pending[p].units;
                let mut it = Item {
                    p,
                    changing: Vec::new(),
                    shared: Vec::new(),
                    delta: 0,
                };
                for (k, u) in units.iter().enumerate() {
                    if u.mask == 0 {
                        continue;
                    }
                    if u.changes {
                        it.changing.push(k);
                    }
                    if writers.get(&u.off).copied().unwrap_or(0) > 1 {
                        it.shared.push(k);
                    } else {
                        it.delta ^= self.unit_delta(u);
                    }
                }
                it
            })
            .collect()
    }

    /// Hash change of applying `u` alone to the persisted image.
    fn unit_delta(&self, u: &Unit) -> u64 {
        let w = self.work.word(u.off);
        let n = u.on(w);
        if n == w {
            0
        } else {
            unit_hash(u.off, w) ^ unit_hash(u.off, n)
        }
    }

    /// The identity of a crash state, without building it.
    fn state_hash(&self, items: &[Item], choice: &Choice) -> u64 {
        let mut h = self.work.hash;
        let mut sim: HashMap<u64, u64> = HashMap::new();
        let shared_in = |it: &Item, k: usize| it.shared.binary_search(&k).is_ok();
        for (p, sel) in choice {
            let Ok(i) = items.binary_search_by_key(p, |it| it.p) else {
                continue;
            };
            let it = &items[i];
            let units = &self.pending[*p].units;
            let apply_shared = |u: &Unit, sim: &mut HashMap<u64, u64>| {
                let base = sim
                    .get(&u.off)
                    .copied()
                    .unwrap_or_else(|| self.work.word(u.off));
                sim.insert(u.off, u.on(base));
            };
            match sel {
                Sel::All => {
                    h ^= it.delta;
                    for &k in &it.shared {
                        apply_shared(&units[k], &mut sim);
                    }
                }
                Sel::Units(v) => {
                    for &k in v {
                        if shared_in(it, k) {
                            apply_shared(&units[k], &mut sim);
                        } else {
                            h ^= self.unit_delta(&units[k]);
                        }
                    }
                }
            }
        }
        for (off, val) in sim {
            let w = self.work.word(off);
            if w != val {
                h ^= unit_hash(off, w) ^ unit_hash(off, val);
            }
        }
        h
    }

    /// Builds a crash state on the persisted image; returns what to undo.
    fn apply(&mut self, choice: &Choice) -> Vec<(u64, u64)> {
        let log = self.ck.log;
        let mut undo = Vec::new();
        for (p, sel) in choice {
            let units = std::mem::take(&mut self.pending[*p].units);
            let mut one = |u: &Unit, work: &mut Mem| {
                if u.mask == 0 {
                    return;
                }
                let w = work.word(u.off);
                let n = u.on(w);
                if n != w {
                    work.set(u.off, n, &log);
                    undo.push((u.off, w));
                }
            };
            match sel {
                Sel::All => units.iter().for_each(|u| one(u, &mut self.work)),
                Sel::Units(v) => v.iter().for_each(|&k| one(&units[k], &mut self.work)),
            }
            self.pending[*p].units = units;
        }
        undo
    }

    fn revert(&mut self, undo: Vec<(u64, u64)>) {
        let log = self.ck.log;
        for (off, old) in undo.into_iter().rev() {
            self.work.set(off, old, &log);
        }
    }

    /// Compares the outcome of state `h` with the oracle and reports what is wrong.
    #[allow(clippy::too_many_arguments)]
    fn judge(
        &mut self,
        pos: usize,
        point: Point,
        in_flight: Option<&InFlight>,
        accepted: &[Expect],
        items: &[Item],
        choice: &Choice,
        h: u64,
    ) {
        let Some(outcome) = self.ck.states.get(&h).cloned() else {
            return;
        };
        let mut reasons = Vec::new();
        let mut details = Vec::new();
        match &outcome {
            Err(msg) => {
                if self.reported_refusals.insert((pos, msg.clone())) {
                    reasons.push(format!("mount refuses: {msg}"));
                }
            }
            Ok(post) => {
                let Some(po) = self.ck.posts.get(post) else {
                    return;
                };
                let first = self.reported_posts.insert(*post);
                if first && po.fsck_exit != EXIT_OK {
                    reasons.push(format!("fsck -n exits {}", po.fsck_exit));
                    for l in po.fsck_text.lines().take(DETAIL_LINES) {
                        details.push(format!("fsck: {l}"));
                    }
                }
                if first && !po.stale.is_empty() {
                    reasons.push(format!("stale data in {} file(s)", po.stale.len()));
                    for s in po.stale.iter().take(DETAIL_LINES) {
                        details.push(format!("stale: {}", s.describe()));
                    }
                }
                let key = accepted
                    .iter()
                    .fold(0u64, |k, e| mix64(k ^ e.outcome.as_ref().map_or(1, |d| *d)));
                let digest = po.digest;
                let ok = accepted.iter().any(|e| e.outcome == Ok(digest))
                    || ((self.opts.data_not_atomic || in_flight.is_some_and(|f| f.stepwise))
                        && in_flight.is_some()
                        && self.accepted_without_data(digest, key, accepted));
                let Some(po) = self.ck.posts.get(post) else {
                    return;
                };
                if !ok && self.reported_trees.insert((po.digest, key)) {
                    let labels: Vec<&str> = accepted.iter().map(|e| e.label.as_str()).collect();
                    let mut r = format!("the tree matches none of {}", labels.join(", "));
                    let po_rec = in_flight
                        .and_then(|f| self.oracle.program_order.get(&f.n).map(|v| (f.n, v)))
                        .and_then(|(n, v)| {
                            v.iter()
                                .find(|(_, d)| *d == po.digest)
                                .map(|(i, _)| (n, *i))
                        });
                    if let Some((n, rec)) = po_rec {
                        r.push_str(&format!(
                            " (it is the tree of the program-order state at record {rec}: call {n} is not atomic)"
                        ));
                    }
                    reasons.push(r);
                    self.explain(po.digest, accepted, &mut details);
                }
            }
        }
        if reasons.is_empty() {
            return;
        }
        self.violations += 1;
        if self.violations > self.opts.max_violations {
            return;
        }
        let persisted = self.describe_choice(items, choice, &mut details);
        let flight = in_flight.map_or("none".to_string(), |f| format!("{}:{}", f.n, f.name));
        let _ = writeln!(
            self.out,
            "VIOLATION {} pos={pos} point={point} in-flight={flight} persisted={persisted} : {}",
            self.name,
            reasons.join("; ")
        );
        for d in details {
            let _ = writeln!(self.out, "    {d}");
        }
    }

    /// Whether tree `got` equals an accepted one, the content of the files the in-flight call's
    /// data stores write aside.
    fn accepted_without_data(&mut self, got: u64, key: u64, accepted: &[Expect]) -> bool {
        if self.call_data.is_empty() {
            return false;
        }
        if let Some(r) = self.relaxed.get(&(got, key)) {
            return *r;
        }
        let Some(g) = self.ck.snaps.get(&got) else {
            return false;
        };
        let mut ok = false;
        for e in accepted {
            let Some(w) = e.outcome.as_ref().ok().and_then(|d| self.ck.snaps.get(d)) else {
                continue;
            };
            let mut ignore = g.files_over(&self.call_data);
            ignore.extend(w.files_over(&self.call_data));
            if snapshot::diff(w, g, 0, &ignore).0 == 0 {
                ok = true;
                break;
            }
        }
        self.relaxed.insert((got, key), ok);
        ok
    }

    /// The difference between snapshot `got` and the closest accepted one.
    fn explain(&self, got: u64, accepted: &[Expect], details: &mut Vec<String>) {
        let Some(g) = self.ck.snaps.get(&got) else {
            return;
        };
        let mut best: Option<(usize, &str, Vec<String>)> = None;
        for e in accepted {
            match &e.outcome {
                Ok(d) => {
                    if let Some(w) = self.ck.snaps.get(d) {
                        let (n, lines) = snapshot::diff(w, g, DETAIL_LINES, &HashSet::new());
                        if best.as_ref().is_none_or(|(b, _, _)| n < *b) {
                            best = Some((n, &e.label, lines));
                        }
                    }
                }
                Err(m) => details.push(format!("{}: mount refuses: {m}", e.label)),
            }
        }
        if let Some((n, label, lines)) = best {
            details.push(format!("against {label} ({n} differences):"));
            details.extend(lines.into_iter().map(|l| format!("  {l}")));
        }
    }

    /// The pending stores of a crash state, as `rec` or `rec:k/n` for a torn one (k of its n
    /// changed units); torn stores get a detail line.
    fn describe_choice(
        &self,
        items: &[Item],
        choice: &Choice,
        details: &mut Vec<String>,
    ) -> String {
        if choice.is_empty() {
            return "none".into();
        }
        let mut parts = Vec::new();
        for (p, sel) in choice {
            let pend = &self.pending[*p];
            match sel {
                Sel::All => parts.push(pend.rec.to_string()),
                Sel::Units(v) => {
                    let n = items
                        .iter()
                        .find(|it| it.p == *p)
                        .map_or(0, |it| it.changing.len());
                    parts.push(format!("{}:{}/{n}", pend.rec, v.len()));
                    let r = &self.trace.records[pend.rec];
                    let offs: Vec<String> = v
                        .iter()
                        .take(8)
                        .map(|&k| format!("{:#x}", pend.units[k].off))
                        .collect();
                    details.push(format!(
                        "torn: record {} ({} of {} bytes at {:#x}, {}): {} of {n} changed units persisted, at {}{}",
                        pend.rec,
                        r.kind.name(),
                        r.len,
                        r.off,
                        self.trace.site(r),
                        v.len(),
                        offs.join(" "),
                        if v.len() > 8 { " ..." } else { "" }
                    ));
                }
            }
        }
        let more = parts.len().saturating_sub(LISTED_STORES);
        parts.truncate(LISTED_STORES);
        let mut s = parts.join(",");
        if more > 0 {
            s.push_str(&format!(",+{more}more"));
        }
        s
    }
}
