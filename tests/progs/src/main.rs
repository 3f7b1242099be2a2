//! `fstest`: probes that ferrite's VM tests run in the guest, on ferrite and on ext4 or XFS in
//! DAX mode, so that both can be compared line for line.
//!
//! ```text
//! fstest statx PATH             print the statx attributes of PATH, and whether it is DAX
//! fstest ops DIR                a fixed scenario of namespace and file operations, one line per
//!                               step; identical output on every POSIX filesystem
//! fstest limits DIR [--links]   the filesystem's own limits (file size, symlink length, links)
//! fstest bigdir DIR N           N files: create, look up, readdir while deleting, unlink
//! fstest enospc DIR             fill the filesystem, then free it: blocks, then inodes
//! fstest crash-run DIR LOG [--seed S] [--ops N]
//!                               metadata workload until killed, each operation logged to LOG
//! fstest crash-check DIR LOG [--synced-only]
//!                               after a crash: every logged operation's effect is in DIR
//! fstest mmap basic|race|dirty|pmd|sync-run|sync-check ...
//!                               DAX mmap probes (see mmap.rs)
//! fstest writeback-check TRACEFS INO --pages N
//!                               the kernel's DAX writeback of inode INO in the trace buffer
//!                               covered pages 0..N, each exactly once (see trace.rs)
//! fstest handle save PATH OUT | open MOUNT IN
//!                               an export handle of PATH written to OUT; IN opened by handle
//!                               on MOUNT, its bytes printed
//! fstest explore list | fill DEV BYTES | save BYTES OUT | setup NAME DIR | run NAME DEV MNT CTL
//!                               the crash-state explorer's workloads (see explore.rs)
//! fstest fuzz run SEEDS FIRST COUNT BASE DEV MNT OUT
//!                               damaged images mounted, walked, changed and checked (fuzz.rs)
//! ```
//!
//! Exit status: 0 when every step had the expected outcome, 1 otherwise, 2 for a usage error.

mod bigdir;
mod crash;
mod enospc;
mod explore;
mod fuzz;
mod limits;
mod mmap;
mod ops;
mod report;
mod sys;
mod trace;

use std::ffi::CString;
use std::path::Path;
use std::process::ExitCode;

const USAGE: &str =
    "usage: fstest statx PATH | ops DIR | limits DIR [--links] | bigdir DIR N | enospc DIR
       fstest crash-run DIR LOG [--seed S] [--ops N] | crash-check DIR LOG [--synced-only]
       fstest mmap basic DIR | mmap race DIR [--secs N]
       fstest mmap dirty FILE --size BYTES --pages K [--pte] [--stats PATH] [--trace TRACEFS]
       fstest mmap pmd FILE --size BYTES [--stats PATH] [--min-share P] [--fallocate] [--sync]
       fstest mmap sync-run FILE --pages N [--msync] [--pte]
       fstest mmap sync-check FILE --min M [--pages N]
       fstest mmap bench FILE --size BYTES
       fstest writeback-check TRACEFS INO --pages N
       fstest handle save PATH OUT | handle open MOUNT IN
       fstest explore list | fill DEV BYTES | save BYTES OUT | setup NAME DIR | run NAME DEV MNT CTL
       fstest fuzz run SEEDS FIRST COUNT BASE DEV MNT OUT";

/// `STATX_ATTR_DAX` (include/uapi/linux/stat.h).
const STATX_ATTR_DAX: u64 = 0x0020_0000;

fn statx(path: &str) -> Result<libc::statx, String> {
    let c = CString::new(path).map_err(|_| format!("{path}: path contains a NUL byte"))?;
    let mut st = std::mem::MaybeUninit::<libc::statx>::zeroed();
    // SAFETY: `c` is a NUL-terminated path and `st` is valid for writing one `statx`.
    let rc = unsafe {
        libc::statx(
            libc::AT_FDCWD,
            c.as_ptr(),
            0,
            libc::STATX_ALL,
            st.as_mut_ptr(),
        )
    };
    if rc != 0 {
        return Err(format!(
            "{path}: statx: {}",
            std::io::Error::last_os_error()
        ));
    }
    // SAFETY: `statx` returned 0, so it filled `st`.
    Ok(unsafe { st.assume_init() })
}

fn cmd_statx(path: &str) -> Result<bool, String> {
    let st = statx(path)?;
    println!("attributes 0x{:x}", st.stx_attributes);
    println!("attributes_mask 0x{:x}", st.stx_attributes_mask);
    println!("dax {}", u8::from(st.stx_attributes & STATX_ATTR_DAX != 0));
    Ok(true)
}

fn cmd_ops(dir: &str) -> Result<bool, String> {
    let r = ops::run(Path::new(dir))?;
    let (steps, unexpected) = r.summary();
    eprintln!(
        "fstest ops: {steps} steps, {} unexpected{}",
        unexpected.len(),
        if unexpected.is_empty() {
            String::new()
        } else {
            format!(": {}", unexpected.join(" "))
        }
    );
    Ok(unexpected.is_empty())
}

fn number(s: &str) -> Result<u64, String> {
    s.parse().map_err(|_| format!("'{s}' is not a number"))
}

/// Options after the positional arguments of the crash commands.
fn crash_options(opts: &[&str]) -> Result<crash::CrashOptions, String> {
    let mut o = crash::CrashOptions::default();
    let mut it = opts.iter();
    while let Some(&a) = it.next() {
        let mut value = || it.next().copied().ok_or(format!("{a} needs a value"));
        match a {
            "--seed" => o.seed = Some(number(value()?)?),
            "--ops" => o.ops = Some(number(value()?)?),
            "--synced-only" => o.synced_only = true,
            _ => return Err(format!("unknown option {a}\n{USAGE}")),
        }
    }
    Ok(o)
}

/// A size with an optional K, M or G suffix (binary units).
fn size(s: &str) -> Result<u64, String> {
    let (n, shift) = match s.as_bytes().last() {
        Some(b'K') => (&s[..s.len() - 1], 10),
        Some(b'M') => (&s[..s.len() - 1], 20),
        Some(b'G') => (&s[..s.len() - 1], 30),
        _ => (s, 0),
    };
    number(n)?
        .checked_mul(1 << shift)
        .ok_or(format!("'{s}' is too large"))
}

/// Options of the `mmap` commands.
fn mmap_options(opts: &[&str]) -> Result<mmap::Opts, String> {
    let mut o = mmap::Opts::default();
    let mut it = opts.iter();
    while let Some(&a) = it.next() {
        let mut value = || it.next().copied().ok_or(format!("{a} needs a value"));
        match a {
            "--size" => o.size = Some(size(value()?)?),
            "--pages" => o.pages = Some(number(value()?)?),
            "--secs" => o.secs = Some(number(value()?)?),
            "--stats" => o.stats = Some(value()?.to_string()),
            "--trace" => o.trace = Some(value()?.to_string()),
            "--min-share" => o.min_share = Some(number(value()?)?),
            "--min" => o.min = Some(number(value()?)?),
            "--pte" => o.pte = true,
            "--msync" => o.msync = true,
            "--fallocate" => o.fallocate = true,
            "--sync" => o.sync = true,
            _ => return Err(format!("unknown option {a}\n{USAGE}")),
        }
    }
    Ok(o)
}

fn cmd_mmap(cmd: &str, path: &str, opts: &[&str]) -> Result<bool, String> {
    let o = mmap_options(opts)?;
    let p = Path::new(path);
    match cmd {
        "basic" => mmap::basic(p),
        "race" => mmap::race(p, o.secs.unwrap_or(5)),
        "blocks" => mmap::blocks(p, o.secs.unwrap_or(3)),
        "dirty" => mmap::dirty(p, &o),
        "pmd" => mmap::pmd(p, &o),
        "sync-run" => mmap::sync_run(p, &o),
        "sync-check" => mmap::sync_check(p, &o),
        "bench" => mmap::bench(p, &o),
        _ => Err(format!("unknown mmap command {cmd}\n{USAGE}")),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["statx", path] => cmd_statx(path),
        ["ops", dir] => cmd_ops(dir),
        ["limits", dir] => limits::run(Path::new(dir), false),
        ["limits", dir, "--links"] => limits::run(Path::new(dir), true),
        ["bigdir", dir, n] => number(n).and_then(|n| bigdir::run(Path::new(dir), n)),
        ["enospc", dir] => enospc::run(Path::new(dir)),
        ["crash-run", dir, log, opts @ ..] => {
            crash_options(opts).and_then(|o| crash::run(Path::new(dir), Path::new(log), &o))
        }
        ["mmap", cmd, path, opts @ ..] => cmd_mmap(cmd, path, opts),
        ["writeback-check", tracefs, ino, "--pages", n] => number(ino)
            .and_then(|ino| number(n).and_then(|n| trace::check(Path::new(tracefs), ino, n))),
        ["handle", "save", path, out] => cmd_handle_save(path, out),
        ["handle", "open", mount, file] => cmd_handle_open(mount, file),
        ["explore", "list"] => {
            for (name, what) in explore::WORKLOADS {
                println!("{name}\t{what}");
            }
            Ok(true)
        }
        ["explore", "fill", dev, bytes] => {
            size(bytes).and_then(|b| explore::fill(Path::new(dev), b))
        }
        ["explore", "save", bytes, out] => {
            size(bytes).and_then(|b| explore::save(b, Path::new(out)))
        }
        ["fuzz", "run", seeds, first, count, base, dev, mnt, out] => number(first).and_then(|f| {
            let (c, b) = (number(count)?, number(base)?);
            fuzz::run(
                Path::new(seeds),
                f,
                c,
                b,
                Path::new(dev),
                Path::new(mnt),
                Path::new(out),
            )
        }),
        ["explore", "setup", name, dir] => explore::setup(name, Path::new(dir)),
        ["explore", "run", name, dev, mnt, ctl] => {
            explore::run(name, Path::new(dev), Path::new(mnt), Path::new(ctl))
        }
        ["crash-check", dir, log, opts @ ..] => {
            crash_options(opts).and_then(|o| crash::check(Path::new(dir), Path::new(log), &o))
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("fstest: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `fstest handle save PATH OUT`: the handle as "TYPE HEX" in OUT.
fn cmd_handle_save(path: &str, out: &str) -> Result<bool, String> {
    let h = sys::name_to_handle(path).map_err(|e| format!("name_to_handle_at {path}: {e}"))?;
    let hex: String = h.bytes.iter().map(|b| format!("{b:02x}")).collect();
    std::fs::write(out, format!("{} {hex}\n", h.kind)).map_err(|e| format!("{out}: {e}"))?;
    Ok(true)
}

/// `fstest handle open MOUNT IN`: opens the handle in IN and prints the file's bytes, or the
/// errno (exit 1).
fn cmd_handle_open(mount: &str, file: &str) -> Result<bool, String> {
    use std::io::Read;
    let s = std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?;
    let (kind, hex) = s.trim().split_once(' ').ok_or("bad handle file")?;
    let bytes = (0..hex.len() / 2)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16))
        .collect::<Result<Vec<u8>, _>>()
        .map_err(|e| e.to_string())?;
    let h = sys::Handle {
        kind: kind.parse().map_err(|_| "bad handle type")?,
        bytes,
    };
    match sys::open_by_handle(mount, &h, libc::O_RDONLY) {
        Ok(mut f) => {
            let mut v = Vec::new();
            f.read_to_end(&mut v).map_err(|e| e.to_string())?;
            print!("{}", String::from_utf8_lossy(&v));
            Ok(true)
        }
        Err(e) => {
            println!("{}", e.name());
            Ok(false)
        }
    }
}
