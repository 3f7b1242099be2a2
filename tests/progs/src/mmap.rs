//! `fstest mmap`: DAX mmap probes.
//!
//! ```text
//! fstest mmap basic DIR         shared and private mappings, one line per check; the same output
//!                               on every DAX filesystem (ext4 -o dax is the oracle)
//! fstest mmap race DIR [--secs N]
//!                               faulting threads (in two processes) against truncate, hole
//!                               punching and block reuse: never another file's data, only SIGBUS
//!                               past EOF
//! fstest mmap blocks DIR [--secs N]
//!                               files into whose holes threads store at once through one shared
//!                               mapping (PTE faults, each allocating); prints each file's block
//!                               count as stat sees it, for comparing after a remount
//! fstest mmap dirty FILE --size BYTES --pages K [--pte] [--stats PATH] [--trace TRACEFS]
//!                               dirty K pages of an allocated file, time fsync; with --stats,
//!                               the stores must be K PMD (with --pte: PTE) faults; with
//!                               --trace, the kernel's DAX writeback must have flushed exactly
//!                               one entry for each page stored to, and nothing else
//! fstest mmap pmd FILE --size BYTES [--stats PATH] [--min-share P] [--fallocate] [--sync]
//!                               write faults over a sparse (or fallocated) file, one per 2 MiB,
//!                               through a shared (or MAP_SYNC) mapping; with --stats, the share
//!                               of PMD faults must be at least P% (default 100)
//! fstest mmap sync-run FILE --pages N [--msync] [--pte]
//!                               crash workload: page after page stored through a MAP_SYNC
//!                               mapping (or msync'd after each page), progress on stdout; with
//!                               --pte, in PTE faults only (MADV_NOHUGEPAGE)
//! fstest mmap sync-check FILE --min M [--pages N]
//!                               after the crash: the first M pages (at least) are whole, the
//!                               rest whole or zero, and the size is N pages
//! fstest mmap bench FILE --size BYTES
//!                               the DAX mmap figures of `make bench` (fault rates, store and
//!                               msync rate, fsync times)
//! ```

use crate::sys::{self, Errno, Res};
use crate::trace::Trace;
use std::collections::{BTreeSet, HashMap};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const PAGE: usize = 4096;
const HUGE: usize = 2 << 20;
/// `MAP_SYNC` and `MAP_SHARED_VALIDATE` (include/uapi/asm-generic/mman-common.h, linux/mman.h).
const MAP_SYNC: i32 = 0x80000;
const MAP_SHARED_VALIDATE: i32 = 0x3;

/// A memory mapping, unmapped on drop.
pub(crate) struct Map {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: the mapping stays valid until drop; the threads of `race_worker` share it through
// `Map::word` (atomic accesses) only.
unsafe impl Sync for Map {}

impl Map {
    /// Maps `len` bytes of `f` at a 2 MiB-aligned address.
    pub(crate) fn new(f: &File, len: usize, prot: i32, flags: i32) -> Res<Map> {
        // Reserve room for an aligned window, then map the file over it.
        // SAFETY: an anonymous PROT_NONE reservation; nothing else uses the range.
        let res = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len + HUGE,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if res == libc::MAP_FAILED {
            return Err(Errno::last());
        }
        let base = res as usize;
        let aligned = (base + HUGE - 1) & !(HUGE - 1);
        // SAFETY: `aligned..aligned+len` lies inside the reservation made above, which this
        // process owns; MAP_FIXED replaces that part of it.
        let p = unsafe {
            libc::mmap(
                aligned as *mut libc::c_void,
                len,
                prot,
                flags | libc::MAP_FIXED,
                f.as_raw_fd(),
                0,
            )
        };
        let err = Errno::last();
        // Give back the parts of the reservation around the window (or all of it on failure).
        // SAFETY: these ranges belong to the reservation and nothing points into them.
        unsafe {
            if p == libc::MAP_FAILED {
                libc::munmap(res, len + HUGE);
            } else {
                if aligned > base {
                    libc::munmap(res, aligned - base);
                }
                let end = aligned + len;
                let rend = base + len + HUGE;
                if rend > end {
                    libc::munmap(end as *mut libc::c_void, rend - end);
                }
            }
        }
        if p == libc::MAP_FAILED {
            return Err(err);
        }
        Ok(Map { ptr: p.cast(), len })
    }

    pub(crate) fn shared(f: &File, len: usize) -> Res<Map> {
        Map::new(f, len, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_SHARED)
    }

    /// A `MAP_SHARED_VALIDATE | MAP_SYNC` mapping: refused where the filesystem cannot honour it.
    pub(crate) fn shared_sync(f: &File, len: usize) -> Res<Map> {
        Map::new(
            f,
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            MAP_SHARED_VALIDATE | MAP_SYNC,
        )
    }

    fn private(f: &File, len: usize) -> Res<Map> {
        Map::new(
            f,
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE,
        )
    }

    pub(crate) fn rd(&self, off: usize) -> u8 {
        assert!(off < self.len);
        // SAFETY: in bounds of the mapping; a fault past EOF raises SIGBUS, which the probes
        // only provoke in forked children.
        unsafe { self.ptr.add(off).read_volatile() }
    }

    pub(crate) fn wr(&self, off: usize, v: u8) {
        assert!(off < self.len);
        // SAFETY: as for `rd`; the mapping is writable where the probes store.
        unsafe { self.ptr.add(off).write_volatile(v) }
    }

    fn wr64(&self, off: usize, v: u64) {
        assert!(off + 8 <= self.len && off.is_multiple_of(8));
        // SAFETY: in bounds and aligned (the mapping is page-aligned).
        unsafe { self.ptr.add(off).cast::<u64>().write_volatile(v) }
    }

    /// The word at `off`, for loads and stores shared between threads.
    fn word(&self, off: usize) -> &AtomicU64 {
        assert!(off + 8 <= self.len && off.is_multiple_of(8));
        // SAFETY: in bounds and aligned, valid while `self` lives; threads that share the mapping
        // reach shared words only through this atomic view.
        unsafe { AtomicU64::from_ptr(self.ptr.add(off).cast::<u64>()) }
    }

    fn wr_bytes(&self, off: usize, data: &[u8]) {
        for (i, b) in data.iter().enumerate() {
            self.wr(off + i, *b);
        }
    }

    fn rd_bytes(&self, off: usize, n: usize) -> Vec<u8> {
        (0..n).map(|i| self.rd(off + i)).collect()
    }

    pub(crate) fn msync(&self, off: usize, len: usize, flags: i32) -> Res<()> {
        assert!(off + len <= self.len);
        // SAFETY: a range of this mapping.
        let rc = unsafe { libc::msync(self.ptr.add(off).cast(), len, flags) };
        if rc == 0 {
            Ok(())
        } else {
            Err(Errno::last())
        }
    }

    fn madvise(&self, advice: i32) -> Res<()> {
        // SAFETY: the whole of this mapping.
        let rc = unsafe { libc::madvise(self.ptr.cast(), self.len, advice) };
        if rc == 0 {
            Ok(())
        } else {
            Err(Errno::last())
        }
    }
}

impl Drop for Map {
    fn drop(&mut self) {
        // SAFETY: the mapping made by `new`; no reference into it outlives `self`.
        unsafe { libc::munmap(self.ptr.cast(), self.len) };
    }
}

/// How a forked child ended.
#[derive(Debug, PartialEq)]
pub(crate) enum Ended {
    Exit(i32),
    Signal(i32),
}

impl std::fmt::Display for Ended {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ended::Exit(c) => write!(f, "exit {c}"),
            Ended::Signal(libc::SIGBUS) => f.write_str("SIGBUS"),
            Ended::Signal(libc::SIGSEGV) => f.write_str("SIGSEGV"),
            Ended::Signal(s) => write!(f, "signal {s}"),
        }
    }
}

/// Runs `f` in a forked child; its return value is the exit status.
pub(crate) fn in_child(f: impl FnOnce() -> i32) -> Result<Ended, String> {
    std::io::stdout().flush().ok();
    // SAFETY: the child only touches memory and makes system calls, then `_exit`s.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(format!("fork: {}", Errno::last()));
    }
    if pid == 0 {
        let c = f();
        // SAFETY: leaves the child without running the parent's exit handlers.
        unsafe { libc::_exit(c) };
    }
    wait(pid)
}

fn wait(pid: libc::pid_t) -> Result<Ended, String> {
    let mut st = 0;
    // SAFETY: waits for our own child.
    if unsafe { libc::waitpid(pid, &mut st, 0) } != pid {
        return Err(format!("waitpid: {}", Errno::last()));
    }
    Ok(if libc::WIFSIGNALED(st) {
        Ended::Signal(libc::WTERMSIG(st))
    } else {
        Ended::Exit(libc::WEXITSTATUS(st))
    })
}

fn e2s(e: Errno) -> String {
    e.name()
}

fn create(path: &Path) -> Result<File, String> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))
}

fn pread(f: &File, off: u64, n: usize) -> Result<Vec<u8>, String> {
    let mut b = vec![0; n];
    f.read_exact_at(&mut b, off)
        .map_err(|e| format!("pread at {off}: {e}"))?;
    Ok(b)
}

/// The byte of the basic test file at `off`.
fn pat(off: usize) -> u8 {
    ((off >> 12) as u8).wrapping_mul(7).wrapping_add(1) ^ (off as u8)
}

/// The lines of `basic`; each check's result is printed, failures counted.
struct Out {
    bad: Vec<String>,
}

impl Out {
    fn check(&mut self, name: &str, ok: bool, detail: impl std::fmt::Display) {
        println!(
            "{name}: {}",
            if ok {
                "ok".to_string()
            } else {
                format!("{detail}")
            }
        );
        if !ok {
            self.bad.push(name.to_string());
        }
    }
    fn show(&mut self, name: &str, v: impl std::fmt::Display) {
        println!("{name}: {v}");
    }
}

pub fn basic(dir: &Path) -> Result<bool, String> {
    let mut o = Out { bad: vec![] };
    let d = dir.join("fstest-mmap");
    std::fs::create_dir_all(&d).map_err(|e| format!("{}: {e}", d.display()))?;
    let path = d.join("f");
    let f = create(&path)?;
    let size = 6 << 20;
    let data: Vec<u8> = (0..size).map(pat).collect();
    f.write_all_at(&data, 0).map_err(|e| e.to_string())?;

    let m = Map::shared(&f, size).map_err(e2s)?;
    let offs = [0, 4095, 4096, HUGE - 1, HUGE, 4 * HUGE / 2 + 5, size - 1];
    o.check(
        "shared mapping reads the file",
        offs.iter().all(|&x| m.rd(x) == pat(x)),
        "differs",
    );
    m.wr_bytes(PAGE - 8, b"0123456789abcdef");
    o.check(
        "store across a page boundary, then pread",
        pread(&f, (PAGE - 8) as u64, 16)? == b"0123456789abcdef",
        "pread differs",
    );
    m.wr_bytes(HUGE - 8, b"fedcba9876543210");
    o.check(
        "store across a 2 MiB boundary, then pread",
        pread(&f, (HUGE - 8) as u64, 16)? == b"fedcba9876543210",
        "pread differs",
    );
    f.write_all_at(b"hello", (3 << 20) + 100)
        .map_err(|e| e.to_string())?;
    o.check(
        "pwrite is seen by the mapping",
        m.rd_bytes((3 << 20) + 100, 5) == b"hello",
        "mapping differs",
    );

    // Private mappings.
    let p = Map::private(&f, size).map_err(e2s)?;
    o.check(
        "private mapping reads the file",
        p.rd_bytes((3 << 20) + 100, 5) == b"hello" && p.rd(HUGE + 100) == pat(HUGE + 100),
        "differs",
    );
    p.wr_bytes(100, b"private");
    o.check(
        "private store stays private",
        p.rd_bytes(100, 7) == b"private"
            && pread(&f, 100, 7)? == data[100..107]
            && m.rd_bytes(100, 7) == data[100..107],
        "seen by the file or the shared mapping",
    );
    p.wr(300, 0x11);
    let child = in_child(|| {
        p.wr(300, 0x22);
        i32::from(p.rd(300) != 0x22)
    })?;
    o.check(
        "fork: the child's private store",
        child == Ended::Exit(0) && p.rd(300) == 0x11 && pread(&f, 300, 1)?[0] == pat(300),
        format!("child {child}, parent sees {:#x}", p.rd(300)),
    );
    let child = in_child(|| {
        m.wr(400, 0x33);
        0
    })?;
    o.check(
        "fork: the child's shared store",
        child == Ended::Exit(0) && m.rd(400) == 0x33 && pread(&f, 400, 1)?[0] == 0x33,
        format!("child {child}, parent sees {:#x}", m.rd(400)),
    );
    drop(p);

    // msync.
    o.show(
        "msync MS_SYNC",
        m.msync(0, size, libc::MS_SYNC)
            .map_or_else(e2s, |_| "0".into()),
    );
    o.show(
        "msync MS_ASYNC",
        m.msync(0, size, libc::MS_ASYNC)
            .map_or_else(e2s, |_| "0".into()),
    );

    // Punching a hole under the mapping.
    let punch = sys::fallocate(
        &f,
        libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
        1 << 20,
        1 << 20,
    );
    o.show(
        "punch 1 MiB under the mapping",
        punch.map_or_else(e2s, |_| "0".into()),
    );
    o.check(
        "the punched range reads zeros through the mapping",
        (0..256).all(|i| m.rd((1 << 20) + i * PAGE + 5) == 0)
            && m.rd((2 << 20) + 100) == pat((2 << 20) + 100),
        "stale data",
    );
    m.wr((1 << 20) + 5, 0x44);
    o.check(
        "a store refills the punched range",
        pread(&f, (1 << 20) + 5, 1)?[0] == 0x44,
        "pread differs",
    );

    // EOF: the rest of the last page reads zeros; pages past it SIGBUS.
    drop(m);
    f.set_len((6 << 20) + 100).map_err(|e| e.to_string())?;
    let m = Map::shared(&f, 8 << 20).map_err(e2s)?;
    o.check(
        "the rest of the last page reads zeros",
        ((6 << 20) + 100..(6 << 20) + PAGE).all(|x| m.rd(x) == 0),
        "not zero",
    );
    let r = in_child(|| i32::from(m.rd((6 << 20) + PAGE)))?;
    o.show("read of a page past EOF", &r);
    let r = in_child(|| {
        m.wr((6 << 20) + PAGE + 1, 1);
        0
    })?;
    o.show("store to a page past EOF", &r);
    f.set_len(8 << 20).map_err(|e| e.to_string())?;
    o.check(
        "after ftruncate up, the new range reads zeros",
        m.rd(7 << 20) == 0 && m.rd((8 << 20) - 1) == 0,
        "not zero",
    );
    m.wr(7 << 20, 0x55);
    o.check(
        "and takes stores",
        pread(&f, 7 << 20, 1)?[0] == 0x55,
        "pread differs",
    );
    f.set_len(5 << 20).map_err(|e| e.to_string())?;
    let r = in_child(|| i32::from(m.rd((5 << 20) + 10)))?;
    o.show("after ftruncate down, read of a removed page", &r);
    o.check(
        "the page before the new EOF still reads",
        m.rd((5 << 20) - 1) == pat((5 << 20) - 1),
        "differs",
    );
    drop(m);

    // MAP_SYNC.
    let r = Map::shared_sync(&f, 4 << 20);
    o.show(
        "mmap MAP_SHARED_VALIDATE|MAP_SYNC",
        r.as_ref().map_or_else(|e| e2s(*e), |_| "0".into()),
    );
    if let Ok(s) = r {
        s.wr_bytes(PAGE * 3, b"sync");
        o.check(
            "MAP_SYNC store, then pread",
            pread(&f, (PAGE * 3) as u64, 4)? == b"sync",
            "pread differs",
        );
    }
    let r = Map::new(
        &f,
        4 << 20,
        libc::PROT_READ | libc::PROT_WRITE,
        libc::MAP_PRIVATE | MAP_SYNC,
    );
    o.show(
        "mmap MAP_PRIVATE|MAP_SYNC",
        r.as_ref().map_or_else(|e| e2s(*e), |_| "0".into()),
    );
    drop(r);

    // Stores into holes allocate.
    let hp = d.join("hole");
    let h = create(&hp)?;
    h.set_len(4 << 20).map_err(|e| e.to_string())?;
    let hm = Map::shared(&h, 4 << 20).map_err(e2s)?;
    let blocks0 = sys::fstat(&h).map_err(e2s)?.st_blocks;
    o.check(
        "a mapped hole reads zeros, nothing allocated",
        hm.rd(1 << 20) == 0 && blocks0 == 0,
        format!("blocks {blocks0}"),
    );
    hm.wr((1 << 20) + 3, 0x66);
    let blocks1 = sys::fstat(&h).map_err(e2s)?.st_blocks;
    let data_at = sys::lseek(&h, 0, libc::SEEK_DATA).map_err(e2s)?;
    o.check(
        "a store into the hole allocates",
        blocks1 > 0 && data_at <= 1 << 20 && pread(&h, (1 << 20) + 3, 1)?[0] == 0x66,
        format!("blocks {blocks1}, SEEK_DATA {data_at}"),
    );
    drop(hm);
    drop(f);
    drop(h);
    std::fs::remove_dir_all(&d).map_err(|e| e.to_string())?;
    if !o.bad.is_empty() {
        eprintln!("fstest mmap basic: failed: {}", o.bad.join(", "));
    }
    Ok(o.bad.is_empty())
}

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

const RACE_SIZE: usize = 8 << 20;

fn word_of(tag: u64, off: usize) -> u64 {
    (tag << 56) | off as u64
}

fn fill(f: &File, tag: u64, from: usize, to: usize) -> Result<(), String> {
    let buf: Vec<u8> = (from / 8..to / 8)
        .flat_map(|w| word_of(tag, w * 8).to_le_bytes())
        .collect();
    f.write_all_at(&buf, from as u64)
        .map_err(|e| format!("pwrite: {e}"))
}

/// Faulting threads in each race worker process: they share one mapping and its page tables.
const RACE_THREADS: u64 = 3;

/// A worker process of `race`: `RACE_THREADS` threads loading and storing through one shared
/// mapping of file A until `deadline`. Its exit status is the worst of theirs (3: foreign data);
/// a SIGBUS in any thread ends it.
fn race_worker(path: &Path, seed: u64, deadline: Instant) -> i32 {
    let Ok(f) = OpenOptions::new().read(true).write(true).open(path) else {
        return 4;
    };
    let Ok(m) = Map::shared(&f, RACE_SIZE) else {
        return 4;
    };
    let m = &m;
    std::thread::scope(|s| {
        let threads: Vec<_> = (0..RACE_THREADS)
            .map(|t| s.spawn(move || race_thread(m, seed * RACE_THREADS + t, deadline)))
            .collect();
        threads
            .into_iter()
            .map(|h| h.join().unwrap_or(5))
            .max()
            .unwrap_or(0)
    })
}

/// One faulting thread: every word it loads is a hole's zero or file a's own pattern.
fn race_thread(m: &Map, seed: u64, deadline: Instant) -> i32 {
    let mut rng = Rng(seed | 1);
    while Instant::now() < deadline {
        for _ in 0..1000 {
            let off = rng.below((RACE_SIZE / 8) as u64) as usize * 8;
            let w = m.word(off);
            let v = w.load(Ordering::Relaxed);
            if v != 0 && v != word_of(0xA, off) {
                println!("race: worker saw {v:#x} at offset {off:#x}");
                return 3;
            }
            if rng.next().is_multiple_of(4) {
                w.store(word_of(0xA, off), Ordering::Relaxed);
            }
        }
    }
    0
}

pub fn race(dir: &Path, secs: u64) -> Result<bool, String> {
    let d = dir.join("fstest-mmap-race");
    std::fs::create_dir_all(&d).map_err(|e| e.to_string())?;
    let (pa, pb) = (d.join("a"), d.join("b"));
    let a = create(&pa)?;
    let b = create(&pb)?;
    fill(&a, 0xA, 0, RACE_SIZE)?;
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let spawn = |seed: u64| -> Result<libc::pid_t, String> {
        std::io::stdout().flush().ok();
        // SAFETY: the child runs `race_worker` and `_exit`s.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(format!("fork: {}", Errno::last()));
        }
        if pid == 0 {
            let c = race_worker(&pa, seed, deadline);
            // SAFETY: ends the child.
            unsafe { libc::_exit(c) };
        }
        Ok(pid)
    };
    let mut workers = vec![spawn(1)?, spawn(2)?];
    let (mut iters, mut sigbus, mut restarts, mut bad) = (0u64, 0u64, 0u64, 0u64);
    while Instant::now() < deadline {
        iters += 1;
        let r = rng.below(RACE_SIZE as u64) as usize & !7;
        let len = (rng.below(1 << 20) as usize + 8) & !7;
        match rng.below(5) {
            0 => a.set_len(r as u64).map_err(|e| e.to_string())?,
            1 => {
                a.set_len(RACE_SIZE as u64).map_err(|e| e.to_string())?;
                fill(&a, 0xA, 0, RACE_SIZE)?;
            }
            2 => sys::fallocate(
                &a,
                libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
                r as i64,
                len as i64,
            )
            .map_err(|e| format!("punch hole {r:#x}+{len:#x}: {e}"))?,
            3 => {
                let end = (r + len).min(RACE_SIZE);
                let cur = sys::fstat(&a).map_err(e2s)?.st_size as usize;
                fill(&a, 0xA, r.min(cur) & !7, end.min(cur) & !7)?;
            }
            _ => {
                b.set_len(0).map_err(|e| e.to_string())?;
                fill(&b, 0xB, 0, RACE_SIZE)?;
            }
        }
        // Restart workers that died of SIGBUS; stop on anything else.
        for w in workers.iter_mut() {
            let mut st = 0;
            // SAFETY: polls our own child.
            let r = unsafe { libc::waitpid(*w, &mut st, libc::WNOHANG) };
            if r == *w {
                if libc::WIFSIGNALED(st) && libc::WTERMSIG(st) == libc::SIGBUS {
                    sigbus += 1;
                } else if libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == 0 {
                    // Finished at the deadline.
                } else {
                    println!("race: a worker ended with status {st:#x}");
                    bad += 1;
                }
                restarts += 1;
                *w = spawn(restarts + 2)?;
            }
        }
    }
    for w in workers {
        match wait(w)? {
            Ended::Exit(0) | Ended::Signal(libc::SIGBUS) => {}
            e => {
                println!("race: a worker ended with {e}");
                bad += 1;
            }
        }
    }
    println!(
        "race: {iters} truncate/punch/rewrite steps, {sigbus} workers died of SIGBUS, {bad} bad"
    );
    drop((a, b));
    std::fs::remove_dir_all(&d).map_err(|e| e.to_string())?;
    Ok(bad == 0)
}

/// Faulting threads of `blocks`, and the pages each stores to per file.
const BLOCKS_THREADS: usize = 4;
const BLOCKS_PAGES: usize = 256;

/// `fstest mmap blocks`: for `secs` seconds (one file at least), a fresh sparse file
/// `DIR/fstest-mmap-blocks/fN` into whose interleaved holes `BLOCKS_THREADS` threads store at
/// once through one shared mapping (PTE faults), so that their faults allocate blocks
/// concurrently. Prints `fN BLOCKS` for each file, the block count as `stat` sees it. The files
/// stay: the caller compares the counts with `stat` after a remount, which reads them from the
/// media (a count the faults set out of the order of their allocations shows as a difference;
/// `drop_caches` cannot evict a DAX inode with mapped entries, so it would compare nothing).
pub fn blocks(dir: &Path, secs: u64) -> Result<bool, String> {
    let d = dir.join("fstest-mmap-blocks");
    std::fs::create_dir_all(&d).map_err(|e| e.to_string())?;
    let len = BLOCKS_THREADS * BLOCKS_PAGES * PAGE;
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut n = 0u64;
    while n == 0 || Instant::now() < deadline {
        let name = format!("f{n}");
        let f = create(&d.join(&name))?;
        f.set_len(len as u64).map_err(|e| e.to_string())?;
        {
            let m = Map::shared(&f, len).map_err(e2s)?;
            m.madvise(libc::MADV_NOHUGEPAGE).map_err(e2s)?;
            let m = &m;
            std::thread::scope(|s| {
                for t in 0..BLOCKS_THREADS {
                    s.spawn(move || {
                        for p in 0..BLOCKS_PAGES {
                            let off = (p * BLOCKS_THREADS + t) * PAGE;
                            m.word(off).store(word_of(n, off), Ordering::Relaxed);
                        }
                    });
                }
            });
        }
        println!("{name} {}", sys::fstat(&f).map_err(e2s)?.st_blocks);
        n += 1;
    }
    Ok(true)
}

/// ferrite's counters (`/sys/fs/ferrite/<device>/stats`).
fn stats(path: Option<&str>) -> Result<HashMap<String, u64>, String> {
    let Some(p) = path else {
        return Ok(HashMap::new());
    };
    let s = std::fs::read_to_string(p).map_err(|e| format!("{p}: {e}"))?;
    s.lines()
        .map(|l| {
            let (k, v) = l.split_once(' ').ok_or(format!("{p}: bad line {l:?}"))?;
            let v = v.parse().map_err(|_| format!("{p}: bad line {l:?}"))?;
            Ok((k.to_string(), v))
        })
        .collect()
}

fn delta(a: &HashMap<String, u64>, b: &HashMap<String, u64>, k: &str) -> u64 {
    b.get(k).unwrap_or(&0) - a.get(k).unwrap_or(&0)
}

/// Options of the measuring commands.
#[derive(Default)]
pub struct Opts {
    pub size: Option<u64>,
    pub pages: Option<u64>,
    pub pte: bool,
    pub stats: Option<String>,
    pub min_share: Option<u64>,
    pub msync: bool,
    pub fallocate: bool,
    pub sync: bool,
    pub min: Option<u64>,
    pub secs: Option<u64>,
    pub trace: Option<String>,
}

pub fn dirty(path: &Path, o: &Opts) -> Result<bool, String> {
    let size = o.size.unwrap_or(1 << 30) as usize;
    let k = o.pages.ok_or("--pages is needed")? as usize;
    let regions = size / HUGE;
    if !size.is_multiple_of(HUGE) || k == 0 || (!o.pte && k > regions) || k > size / PAGE {
        return Err(format!("bad size {size} or page count {k}"));
    }
    let trace = o
        .trace
        .as_deref()
        .map(|d| Trace::open(Path::new(d)))
        .transpose()?;
    let f = create(path)?;
    sys::fallocate(&f, 0, 0, size as i64).map_err(|e| format!("fallocate: {e}"))?;
    f.sync_all().map_err(|e| e.to_string())?;
    let m = Map::shared(&f, size).map_err(e2s)?;
    if o.pte {
        m.madvise(libc::MADV_NOHUGEPAGE).map_err(e2s)?;
    }
    f.sync_all().map_err(|e| e.to_string())?;
    let s0 = stats(o.stats.as_deref())?;
    if let Some(t) = &trace {
        t.clear()?;
    }
    let npages = size / PAGE;
    // The k pages: distinct, in distinct 2 MiB regions unless --pte.
    let page_of = |i: usize| {
        if o.pte {
            (i * 7919) % npages
        } else {
            ((i * 37) % regions) * (HUGE / PAGE) + (i * 13) % (HUGE / PAGE)
        }
    };
    for i in 0..k {
        m.wr64(page_of(i) * PAGE + 8, i as u64 + 1);
    }
    let s1 = stats(o.stats.as_deref())?;
    let t = Instant::now();
    f.sync_data().map_err(|e| format!("fdatasync: {e}"))?;
    let us = t.elapsed().as_micros();
    println!("fsync_us {us}");
    let mut ok = true;
    let unit = if o.pte { PAGE } else { HUGE } as u64;
    if o.stats.is_some() {
        let pmd = delta(&s0, &s1, "pmd_faults");
        let pte = delta(&s0, &s1, "pte_faults");
        println!("faults pte {pte} pmd {pmd}");
        if !o.pte && (pmd != k as u64 || pte != 0) {
            println!("dirty: expected {k} PMD faults and no PTE faults, saw {pmd} and {pte}");
            ok = false;
        }
        if o.pte && (pmd != 0 || pte != k as u64) {
            println!("dirty: expected {k} PTE faults and no PMD faults with MADV_NOHUGEPAGE, saw {pte} and {pmd}");
            ok = false;
        }
    }
    if let Some(t) = &trace {
        // What the kernel wrote back, from the stores on: exactly one entry of `unit` bytes for
        // each page stored to, and nothing else of this file.
        let ino = sys::fstat(&f).map_err(e2s)?.st_ino;
        let w = t.writeback(ino)?;
        let unit_pages = unit / PAGE as u64;
        let want: BTreeSet<u64> = (0..k)
            .map(|i| page_of(i) as u64 / unit_pages * unit_pages)
            .collect();
        let got: BTreeSet<u64> = w.entries.iter().map(|e| e.0).collect();
        println!(
            "fsync wrote back {} entries, {} bytes (dax_writeback_one)",
            w.entries.len(),
            w.pages() * PAGE as u64
        );
        if w.entries.len() != k || got != want || w.entries.iter().any(|e| e.1 != unit_pages) {
            println!(
                "dirty: expected {k} entries of {unit} bytes, one at each page stored to; \
                 {} of them written back, {} other entries",
                want.intersection(&got).count(),
                w.entries.len() - w.entries.iter().filter(|e| want.contains(&e.0)).count()
            );
            ok = false;
        }
        if w.ranges == 0 {
            println!("dirty: no dax_writeback_range for the file");
            ok = false;
        }
    }
    for i in 0..k.min(64) {
        let page = page_of(i);
        let v = u64::from_le_bytes(
            pread(&f, (page * PAGE + 8) as u64, 8)?
                .try_into()
                .unwrap_or([0; 8]),
        );
        if v != i as u64 + 1 {
            println!("dirty: page {page} reads {v:#x}");
            ok = false;
        }
    }
    drop(m);
    drop(f);
    std::fs::remove_file(path).map_err(|e| e.to_string())?;
    Ok(ok)
}

pub fn pmd(path: &Path, o: &Opts) -> Result<bool, String> {
    let size = o.size.unwrap_or(1 << 30) as usize;
    if size == 0 || !size.is_multiple_of(HUGE) {
        return Err("--size must be a multiple of 2 MiB".into());
    }
    let f = create(path)?;
    if o.fallocate {
        sys::fallocate(&f, 0, 0, size as i64).map_err(|e| format!("fallocate: {e}"))?;
    } else {
        f.set_len(size as u64).map_err(|e| e.to_string())?;
    }
    f.sync_all().map_err(|e| e.to_string())?;
    let m = if o.sync {
        Map::shared_sync(&f, size)
    } else {
        Map::shared(&f, size)
    }
    .map_err(e2s)?;
    let s0 = stats(o.stats.as_deref())?;
    let t = Instant::now();
    for r in 0..size / HUGE {
        m.wr(r * HUGE + 1, (r as u8) | 1);
    }
    let secs = t.elapsed().as_secs_f64();
    let s1 = stats(o.stats.as_deref())?;
    let n = (size / HUGE) as u64;
    println!("{n} write faults, one per 2 MiB, in {secs:.3}s");
    let mut ok = true;
    for r in (0..size / HUGE).step_by(7) {
        if pread(&f, (r * HUGE + 1) as u64, 1)?[0] != (r as u8) | 1 {
            println!("pmd: region {r} reads back wrong");
            ok = false;
        }
    }
    if o.stats.is_some() {
        let pmd = delta(&s0, &s1, "pmd_faults");
        let fb = delta(&s0, &s1, "pmd_fallbacks");
        let pte = delta(&s0, &s1, "pte_faults");
        let mkwrite = delta(&s0, &s1, "mkwrite_faults");
        let sync = delta(&s0, &s1, "map_sync_faults");
        let share = 100 * pmd / n;
        println!("pmd_faults {pmd}\npmd_fallbacks {fb}\npte_faults {pte}\npmd_share {share}%");
        println!("mkwrite_faults {mkwrite}\nmap_sync_faults {sync}");
        // Every write fault that mapped was a MAP_SYNC one; fallbacks mapped nothing.
        let mapped = pmd + pte + mkwrite;
        if o.sync && sync != mapped {
            println!("pmd: {sync} MAP_SYNC faults counted, {mapped} write faults mapped");
            ok = false;
        }
        if !o.sync && sync != 0 {
            println!("pmd: {sync} MAP_SYNC faults counted without MAP_SYNC");
            ok = false;
        }
        let min = o.min_share.unwrap_or(100);
        if share < min || pmd > n {
            println!("pmd: PMD share {share}% is below {min}%");
            ok = false;
        }
        if min == 100 && fb != 0 {
            println!("pmd: {fb} PMD faults fell back");
            ok = false;
        }
    }
    drop(m);
    drop(f);
    std::fs::remove_file(path).map_err(|e| e.to_string())?;
    Ok(ok)
}

const SYNC_MAGIC: u64 = 0x5eed_0000_0000_0000;

fn sync_word(page: u64, w: u64) -> u64 {
    SYNC_MAGIC ^ (page << 20 | w)
}

pub fn sync_run(path: &Path, o: &Opts) -> Result<bool, String> {
    let n = o.pages.ok_or("--pages is needed")?;
    let f = create(path)?;
    f.set_len(n * PAGE as u64).map_err(|e| e.to_string())?;
    f.sync_all().map_err(|e| e.to_string())?;
    if let Some(parent) = path.parent() {
        sys::fsync_path(parent).map_err(e2s)?;
    }
    let len = n as usize * PAGE;
    let m = if o.msync {
        Map::shared(&f, len)
    } else {
        Map::shared_sync(&f, len)
    }
    .map_err(|e| format!("mmap: {e}"))?;
    if o.pte {
        m.madvise(libc::MADV_NOHUGEPAGE).map_err(e2s)?;
    }
    let mut out = std::io::stdout();
    for i in 0..n {
        let base = i as usize * PAGE;
        for w in 1..(PAGE / 8) as u64 {
            m.wr64(base + w as usize * 8, sync_word(i, w));
        }
        m.wr64(base, sync_word(i, 0));
        if o.msync {
            m.msync(base, PAGE, libc::MS_SYNC).map_err(e2s)?;
        }
        if i == 0 || (i + 1) % 256 == 0 || i + 1 == n {
            writeln!(out, "written {}", i + 1).map_err(|e| e.to_string())?;
            out.flush().map_err(|e| e.to_string())?;
        }
    }
    // Everything written: wait for the power cut.
    loop {
        std::thread::sleep(Duration::from_secs(60));
    }
}

pub fn sync_check(path: &Path, o: &Opts) -> Result<bool, String> {
    let min = o.min.ok_or("--min is needed")?;
    let f = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let size = f.metadata().map_err(|e| e.to_string())?.len();
    let mut ok = true;
    if size % PAGE as u64 != 0 || o.pages.is_some_and(|n| n * PAGE as u64 != size) {
        println!(
            "sync-check: FAIL: size {size}, expected {:?} pages",
            o.pages
        );
        ok = false;
    }
    let pages = size / PAGE as u64;
    let chunk = 256 * PAGE;
    let mut buf = vec![0u8; chunk];
    // 0: whole pages so far; 1: after the first page that is not whole (all zero from then on,
    // but for one partly written page).
    let mut prefix = 0u64;
    let mut past = false;
    let mut partial = 0u64;
    let mut p = 0u64;
    while p < pages && ok {
        if past {
            // Past the written pages all must be zero: holes are, so only the file's data
            // (SEEK_DATA) is read, not the whole sparse file.
            match sys::lseek(&f, (p * PAGE as u64) as i64, libc::SEEK_DATA) {
                Ok(d) => p = p.max(d as u64 / PAGE as u64),
                Err(Errno(libc::ENXIO)) => break,
                Err(e) => return Err(format!("SEEK_DATA: {e}")),
            }
            if p >= pages {
                break;
            }
        }
        let n = chunk.min(((pages - p) as usize) * PAGE);
        f.read_exact_at(&mut buf[..n], p * PAGE as u64)
            .map_err(|e| format!("pread: {e}"))?;
        for pg in buf[..n].chunks(PAGE) {
            let words: Vec<u64> = pg
                .chunks(8)
                .map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
                .collect();
            let whole = words
                .iter()
                .enumerate()
                .all(|(w, &v)| v == sync_word(p, w as u64));
            let zero = words.iter().all(|&v| v == 0);
            let mixed = words
                .iter()
                .enumerate()
                .all(|(w, &v)| v == 0 || v == sync_word(p, w as u64));
            if !past && whole {
                prefix += 1;
            } else if !past && mixed {
                past = true;
                if !zero {
                    partial += 1;
                }
            } else if past && zero {
            } else {
                println!(
                    "sync-check: FAIL: page {p} is {} after {prefix} whole pages",
                    if mixed { "partly written" } else { "garbage" }
                );
                ok = false;
                break;
            }
            p += 1;
        }
    }
    println!("sync-check: {prefix} whole pages, {partial} partly written, {min} reported written, size {size}");
    if prefix < min {
        println!("sync-check: FAIL: pages reported written are missing");
        ok = false;
    }
    if ok {
        println!("sync-check: ok");
    }
    Ok(ok)
}

/// Dirties `k` distinct pseudo-random pages of `m` (of `npages` pages); returns fsync's time.
fn dirty_and_fsync(f: &File, m: &Map, npages: usize, k: usize, seed: usize) -> Result<f64, String> {
    for i in 0..k {
        let page = (seed + i * 7919) % npages;
        m.wr64(page * PAGE, (seed + i) as u64);
    }
    let t = Instant::now();
    f.sync_data().map_err(|e| format!("fdatasync: {e}"))?;
    Ok(t.elapsed().as_secs_f64() * 1e6)
}

/// `fstest mmap bench FILE --size BYTES`: the DAX mmap figures of `make bench`, as
/// `name value unit` lines: page faults per second over a fresh sparse mapping (PTE, with
/// MADV_NOHUGEPAGE, and PMD, one fault per 2 MiB), 4 KiB random stores each followed by
/// msync(MS_SYNC) per second, and fsync time after dirtying 1, 64 and 4096 pages (median of 5).
pub fn bench(path: &Path, o: &Opts) -> Result<bool, String> {
    let size = o.size.unwrap_or(1 << 30) as usize;
    if size < HUGE || !size.is_multiple_of(HUGE) {
        return Err("--size must be a multiple of 2 MiB".into());
    }
    let npages = size / PAGE;
    for pte in [true, false] {
        let f = create(path)?;
        f.set_len(size as u64).map_err(|e| e.to_string())?;
        let m = Map::shared(&f, size).map_err(e2s)?;
        if pte {
            m.madvise(libc::MADV_NOHUGEPAGE).map_err(e2s)?;
        }
        let step = if pte { PAGE } else { HUGE };
        let t = Instant::now();
        for off in (0..size).step_by(step) {
            m.wr(off, 1);
        }
        let secs = t.elapsed().as_secs_f64().max(1e-9);
        let name = if pte { "fault_pte" } else { "fault_pmd" };
        println!("{name} {:.0} fault/s", (size / step) as f64 / secs);
        drop(m);
        drop(f);
        std::fs::remove_file(path).map_err(|e| e.to_string())?;
    }
    let f = create(path)?;
    sys::fallocate(&f, 0, 0, size as i64).map_err(|e| format!("fallocate: {e}"))?;
    let m = Map::shared(&f, size).map_err(e2s)?;
    // Fault everything in first, so that the figures below are of stores and flushes.
    for off in (0..size).step_by(PAGE) {
        m.wr(off, 0);
    }
    f.sync_data().map_err(|e| e.to_string())?;
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let t = Instant::now();
    let mut n = 0u64;
    while t.elapsed() < Duration::from_secs(2) {
        let page = rng.below(npages as u64) as usize;
        for w in 0..PAGE / 8 {
            m.wr64(page * PAGE + w * 8, n);
        }
        m.msync(page * PAGE, PAGE, libc::MS_SYNC).map_err(e2s)?;
        n += 1;
    }
    println!(
        "store_msync {:.0} op/s",
        n as f64 / t.elapsed().as_secs_f64()
    );
    for k in [1, 64, 4096] {
        let mut times = Vec::new();
        for run in 0..5 {
            times.push(dirty_and_fsync(&f, &m, npages, k.min(npages), run * 101)?);
        }
        times.sort_by(f64::total_cmp);
        println!("fsync_{k} {:.0} us", times[2]);
    }
    drop(m);
    drop(f);
    std::fs::remove_file(path).map_err(|e| e.to_string())?;
    Ok(true)
}
