//! `fbench`: the benchmarks `make bench` runs in the VM, on each filesystem in turn.
//!
//! ```text
//! fbench meta DIR N         create, stat, rename and unlink N empty files: operations per second
//! fbench io FILE MIB        sequential and random 4 KiB write and read through write()/read()
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
        _ => Err(std::io::Error::other(
            "usage: fbench meta DIR N | fbench io FILE MIB",
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
