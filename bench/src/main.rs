//! `fbench`: the benchmarks `make bench` runs in the VM, on each filesystem in turn.
//!
//! ```text
//! fbench meta DIR N         create, stat, rename and unlink N empty files: operations per second
//! fbench io FILE MIB        sequential and random 4 KiB write and read through write()/read()
//! fbench meta-mt DIR N T one|separate
//!                           T threads creating, then unlinking, N files each, in one directory
//!                           or in one directory each; then T threads stat'ing one file N times
//!                           each: operations per second of all threads together
//! fbench ceiling PATH|anon MIB
//!                           the copy loops the data paths are compared with: non-temporal and
//!                           plain 64-byte stores over MIB MiB of a shared mapping of PATH (a
//!                           device-DAX device) or of anonymous memory, in MiB/s
//! ```
//! Each prints `name value unit` lines; `scripts/bench` puts the filesystems side by side.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

/// A small deterministic generator (xorshift), so that every filesystem sees the same offsets.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn rate(name: &str, n: u64, start: Instant) {
    let secs = start.elapsed().as_secs_f64().max(1e-9);
    println!("{name} {:.0} ops/s", n as f64 / secs);
}

fn meta(dir: &Path, n: u64) -> std::io::Result<()> {
    let d = dir.join("fbench-meta");
    fs::create_dir(&d)?;
    let name = |i: u64| d.join(format!("f{i:08}"));
    let t = Instant::now();
    for i in 0..n {
        File::create(name(i))?;
    }
    rate("create", n, t);
    let t = Instant::now();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..n {
        fs::metadata(name(rng.next() % n))?;
    }
    rate("stat", n, t);
    let t = Instant::now();
    for i in 0..n {
        fs::rename(name(i), d.join(format!("r{i:08}")))?;
    }
    rate("rename", n, t);
    let t = Instant::now();
    for i in 0..n {
        fs::remove_file(d.join(format!("r{i:08}")))?;
    }
    rate("unlink", n, t);
    fs::remove_dir(&d)
}

fn throughput(name: &str, bytes: u64, start: Instant) {
    let secs = start.elapsed().as_secs_f64().max(1e-9);
    println!("{name} {:.1} MiB/s", bytes as f64 / secs / (1 << 20) as f64);
}

fn io(path: &Path, mib: u64) -> std::io::Result<()> {
    const BS: u64 = 4096;
    let blocks = mib * 256;
    let buf = vec![0x5au8; BS as usize];
    let mut rbuf = vec![0u8; BS as usize];
    let mut f = OpenOptions::new()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .open(path)?;
    let t = Instant::now();
    for _ in 0..blocks {
        f.write_all(&buf)?;
    }
    f.sync_all()?;
    throughput("seq-write-4k", blocks * BS, t);
    let t = Instant::now();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for _ in 0..blocks {
        f.write_all_at(&buf, (rng.next() % blocks) * BS)?;
    }
    f.sync_all()?;
    throughput("rand-write-4k", blocks * BS, t);
    let t = Instant::now();
    for i in 0..blocks {
        f.read_exact_at(&mut rbuf, i * BS)?;
    }
    throughput("seq-read-4k", blocks * BS, t);
    let t = Instant::now();
    for _ in 0..blocks {
        f.read_exact_at(&mut rbuf, (rng.next() % blocks) * BS)?;
    }
    throughput("rand-read-4k", blocks * BS, t);
    drop(f);
    fs::remove_file(path)
}

/// `meta-mt`: `threads` threads, each creating then unlinking `n` files in `dir` (one directory
/// for all, or one each), then each stat'ing one file `n` times. Rows `create-mt-one` and so on,
/// with the thread count as a suffix: `create-one-2t`.
fn meta_mt(dir: &Path, n: u64, threads: u64, shared: bool) -> std::io::Result<()> {
    let d = dir.join("fbench-meta-mt");
    fs::create_dir(&d)?;
    let sub = |t: u64| {
        if shared {
            d.clone()
        } else {
            d.join(format!("t{t}"))
        }
    };
    if !shared {
        for t in 0..threads {
            fs::create_dir(sub(t))?;
        }
    }
    let name = |t: u64, i: u64| sub(t).join(format!("t{t}-{i:08}"));
    let layout = if shared { "one" } else { "separate" };
    let run = |what: &str, f: &(dyn Fn(u64, u64) -> std::io::Result<()> + Sync)| {
        let t = Instant::now();
        let r: std::io::Result<()> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..threads)
                .map(|th| s.spawn(move || (0..n).try_for_each(|i| f(th, i))))
                .collect();
            hs.into_iter().try_for_each(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(std::io::Error::other("a thread panicked")))
            })
        });
        r.map(|()| rate(&format!("{what}-{layout}-{threads}t"), n * threads, t))
    };
    run("create", &|t, i| File::create(name(t, i)).map(drop))?;
    run("unlink", &|t, i| fs::remove_file(name(t, i)))?;
    let one = d.join("stat-target");
    File::create(&one)?;
    if shared {
        run("stat", &|_, _| fs::metadata(&one).map(drop))?;
    }
    fs::remove_file(&one)?;
    if !shared {
        for t in 0..threads {
            fs::remove_dir(sub(t))?;
        }
    }
    fs::remove_dir(&d)
}

/// `ceiling`: copies a 2 MiB source over `mib` MiB of a shared mapping of `path` (or of
/// anonymous memory), once with non-temporal stores and a fence, once with plain stores, each
/// pass three times over the whole mapping.
fn ceiling(path: &str, mib: u64) -> std::io::Result<()> {
    const CHUNK: usize = 2 << 20;
    let len = usize::try_from(mib << 20).map_err(std::io::Error::other)?;
    if len == 0 || len % CHUNK != 0 {
        return Err(std::io::Error::other(
            "MIB must be a non-zero multiple of 2",
        ));
    }
    let (fd, flags, what) = if path == "anon" {
        (-1, libc::MAP_SHARED | libc::MAP_ANONYMOUS, "anon")
    } else {
        let f = OpenOptions::new().read(true).write(true).open(path)?;
        use std::os::fd::IntoRawFd;
        (f.into_raw_fd(), libc::MAP_SHARED, "devdax")
    };
    // SAFETY: a new shared mapping of `len` bytes (of the device, or anonymous); nothing else
    // uses the range, which is unmapped below.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            flags,
            fd,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return Err(std::io::Error::last_os_error());
    }
    let dst = p.cast::<u8>();
    let src: Vec<u64> = (0..CHUNK as u64 / 8)
        .map(|i| i.wrapping_mul(0x9e37_79b9))
        .collect();
    // Touch every page first, so that the passes measure stores, not faults.
    for off in (0..len).step_by(4096) {
        // SAFETY: `off` is inside the mapping.
        unsafe { dst.add(off).write_volatile(0) };
    }
    for nt in [true, false] {
        let t = Instant::now();
        for _ in 0..3 {
            for off in (0..len).step_by(CHUNK) {
                // SAFETY: `off..off + CHUNK` is inside the mapping, which does not overlap `src`.
                unsafe { copy_chunk(dst.add(off), src.as_ptr(), CHUNK, nt) };
            }
        }
        let name = if nt { "nt" } else { "plain" };
        throughput(&format!("ceiling-{name}-{what}"), 3 * len as u64, t);
    }
    // SAFETY: the mapping made above, not used after this.
    unsafe { libc::munmap(p, len) };
    if fd >= 0 {
        // SAFETY: the descriptor opened above.
        unsafe { libc::close(fd) };
    }
    Ok(())
}

/// Copies `len` bytes (a multiple of 64) from `src` to `dst`: 8-byte non-temporal stores then a
/// fence (`nt`), or plain 8-byte stores.
///
/// # Safety
///
/// `dst` and `src` must be valid for `len` bytes, 8-byte aligned, and not overlap.
unsafe fn copy_chunk(dst: *mut u8, src: *const u64, len: usize, nt: bool) {
    let d = dst.cast::<u64>();
    for i in 0..len / 8 {
        // SAFETY: in bounds by the function's contract.
        unsafe {
            let v = src.add(i).read();
            if nt {
                core::arch::x86_64::_mm_stream_si64(d.add(i).cast(), v as i64);
            } else {
                d.add(i).write_volatile(v);
            }
        }
    }
    if nt {
        // SAFETY: a store fence has no precondition.
        unsafe { core::arch::x86_64::_mm_sfence() };
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = match argv.as_slice() {
        ["meta", dir, n] => match n.parse() {
            Ok(n) => meta(Path::new(dir), n),
            Err(_) => Err(std::io::Error::other("N must be a number")),
        },
        ["io", file, mib] => match mib.parse() {
            Ok(m) => io(Path::new(file), m),
            Err(_) => Err(std::io::Error::other("MIB must be a number")),
        },
        ["meta-mt", dir, n, t, layout @ ("one" | "separate")] => match (n.parse(), t.parse()) {
            (Ok(n), Ok(t)) => meta_mt(Path::new(dir), n, t, *layout == "one"),
            _ => Err(std::io::Error::other("N and T must be numbers")),
        },
        ["ceiling", path, mib] => match mib.parse() {
            Ok(m) => ceiling(path, m),
            Err(_) => Err(std::io::Error::other("MIB must be a number")),
        },
        _ => Err(std::io::Error::other(
            "usage: fbench meta DIR N | io FILE MIB | meta-mt DIR N T one|separate | ceiling PATH|anon MIB",
        )),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fbench: {e}");
            ExitCode::FAILURE
        }
    }
}
