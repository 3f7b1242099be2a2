// SPDX-License-Identifier: GPL-2.0

//! `ferrite-fuzz`: seed images and mutated cases of them, for the VM to mount.
//!
//!     ferrite-fuzz seeds DIR            every seed as DIR/NAME.img; prints the names
//!     ferrite-fuzz make SEED.img N OUT  case N of the seed to OUT (a file, or a block device,
//!                                       written from offset 0); prints `NAME N: <what>`
//!     ferrite-fuzz show SEED.img N      prints `NAME N: <what>` only
//!
//! Bad arguments (a seed that cannot be read or is no valid filesystem included): a message
//! and exit status 2; a failure to write: a message and status 1.

use ferrite_fuzz::seeds;
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::{FileExt, FileTypeExt};
use std::path::Path;
use std::process::exit;

const USAGE: &str = "usage: ferrite-fuzz seeds DIR | make SEED.img N OUT | show SEED.img N";

fn usage(msg: &str) -> ! {
    eprintln!("ferrite-fuzz: {msg}");
    eprintln!("{USAGE}");
    exit(2);
}

fn fail(msg: String) -> ! {
    eprintln!("ferrite-fuzz: {msg}");
    exit(1);
}

fn case_number(s: &str) -> u64 {
    s.parse()
        .unwrap_or_else(|_| usage(&format!("'{s}' is not a case number")))
}

/// The seed image at `path`; one that cannot be read is a bad argument.
fn read_seed(path: &str) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| usage(&format!("cannot read {path}: {e}")))
}

/// Writes `img` to `out`: a regular file is replaced by it; a block device gets its bytes at
/// offset 0 (the rest of the device is left alone, nothing is truncated). Both are synced.
fn write_out(out: &str, img: &[u8]) -> std::io::Result<()> {
    let is_blk = std::fs::metadata(out).is_ok_and(|m| m.file_type().is_block_device());
    if !is_blk {
        let mut f = std::fs::File::create(out)?;
        f.write_all(img)?;
        return f.sync_all();
    }
    let f = OpenOptions::new().write(true).open(out)?;
    let size = std::io::Seek::seek(&mut &f, std::io::SeekFrom::End(0))?;
    if size < img.len() as u64 {
        return Err(std::io::Error::other(format!(
            "the device has {size} bytes, the image {}",
            img.len()
        )));
    }
    f.write_all_at(img, 0)?;
    f.sync_all()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    match a.as_slice() {
        ["seeds", dir] => {
            let dir = Path::new(dir);
            if !dir.is_dir() {
                usage(&format!("{} is not a directory", dir.display()));
            }
            let mut stdout = std::io::stdout().lock();
            for name in seeds::SEEDS {
                let img = match seeds::build(name) {
                    Some(Ok(img)) => img,
                    Some(Err(e)) => fail(format!("seed {name}: {e}")),
                    None => fail(format!("seed {name} has no builder")),
                };
                let p = dir.join(format!("{name}.img"));
                std::fs::write(&p, &img)
                    .unwrap_or_else(|e| fail(format!("cannot write {}: {e}", p.display())));
                let _ = writeln!(stdout, "{name}");
            }
        }
        ["make", seed, n, out] => {
            let n = case_number(n);
            let (img, line) = ferrite_fuzz::case(&read_seed(seed), n)
                .unwrap_or_else(|e| usage(&format!("{seed} is not a seed image: {e}")));
            write_out(out, &img).unwrap_or_else(|e| fail(format!("cannot write {out}: {e}")));
            println!("{line}");
        }
        ["show", seed, n] => {
            let n = case_number(n);
            let (_, line) = ferrite_fuzz::case(&read_seed(seed), n)
                .unwrap_or_else(|e| usage(&format!("{seed} is not a seed image: {e}")));
            println!("{line}");
        }
        [] => usage("no command given"),
        [cmd, ..] if matches!(*cmd, "seeds" | "make" | "show") => {
            usage(&format!("wrong number of arguments for '{cmd}'"))
        }
        [cmd, ..] => usage(&format!("unknown command '{cmd}'")),
    }
}
