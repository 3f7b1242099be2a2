// SPDX-License-Identifier: GPL-2.0

//! `mkfs.ferrite [-L label] [-f] [-q] [-N inodes] [-J journal-blocks] [-O [^]xattr] DEVICE [BLOCKS]`

use ferrite_tools::cli;
use ferrite_tools::mkfs::{mkfs, print_summary, MkfsOptions};
use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;
use std::process::exit;

const USAGE: &str =
    "usage: mkfs.ferrite [-L label] [-f] [-q] [-N inodes] [-J journal-blocks] [-O [^]xattr] DEVICE [BLOCKS]";

fn die(msg: &str) -> ! {
    eprintln!("mkfs.ferrite: {msg}");
    eprintln!("{USAGE}");
    exit(1);
}

/// An argument that must be text (an option's number or feature list).
fn text(opt: &str, v: Option<OsString>) -> String {
    let v = v.unwrap_or_else(|| die(&format!("option {opt} needs a value")));
    v.into_string().unwrap_or_else(|v| {
        die(&format!(
            "option {opt}: '{}' is not text",
            v.to_string_lossy()
        ))
    })
}

fn num(opt: &str, v: Option<OsString>) -> u64 {
    let v = text(opt, v);
    v.parse()
        .unwrap_or_else(|_| die(&format!("option {opt}: '{v}' is not a number")))
}

fn main() {
    cli::completion_requested(&cli::MKFS);
    let mut opts = MkfsOptions::default();
    let mut pos: Vec<OsString> = Vec::new();
    // Arguments as bytes: a label (or a device path) need not be UTF-8, and is checked as such.
    let mut args = std::env::args_os().skip(1);
    let mut only_pos = false;
    while let Some(arg) = args.next() {
        let a = arg.to_string_lossy().into_owned();
        if only_pos || !a.starts_with('-') || a == "-" {
            pos.push(arg);
            continue;
        }
        if a == "--" {
            only_pos = true;
            continue;
        }
        // The table the bash completion is made from (ferrite_tools::cli::MKFS) names the
        // options; each is handled here by its first spelling.
        match cli::MKFS.find(&a) {
            Some("-f") => opts.force = true,
            Some("-q") => opts.quiet = true,
            Some("-L") => {
                opts.label = Some(
                    args.next()
                        .unwrap_or_else(|| die("option -L needs a label"))
                        .into_vec(),
                )
            }
            Some("-N") => opts.inodes = Some(num("-N", args.next())),
            Some("-J") => opts.journal_blocks = Some(num("-J", args.next())),
            Some("-O") => {
                let v = text("-O", args.next());
                for f in v.split(',') {
                    match f {
                        "xattr" => opts.no_xattr = false,
                        "^xattr" => opts.no_xattr = true,
                        _ => die(&format!("unknown feature '{f}' (known: xattr)")),
                    }
                }
            }
            Some("-V") => cli::MKFS.version(),
            Some("-h") => cli::MKFS.help(USAGE),
            Some(o) => die(&format!("option {o} is not handled")),
            None if a.starts_with("-L") && a.len() > 2 => {
                opts.label = Some(arg.as_bytes()[2..].to_vec())
            }
            None => die(&format!("unknown option '{a}'")),
        }
    }
    let dev = match pos.len() {
        1 | 2 => PathBuf::from(&pos[0]),
        0 => die("no device given"),
        _ => die("too many arguments"),
    };
    if let Some(b) = pos.get(1) {
        let b = b.to_string_lossy();
        opts.blocks = Some(
            b.parse()
                .unwrap_or_else(|_| die(&format!("'{b}' is not a block count"))),
        );
    }
    match mkfs(&dev, &opts) {
        Ok(s) => {
            for w in &s.warnings {
                eprintln!("mkfs.ferrite: {w}");
            }
            if !opts.quiet {
                let _ = print_summary(&mut std::io::stdout(), &dev, &s);
            }
        }
        Err(m) => {
            eprintln!("mkfs.ferrite: {m}");
            exit(1);
        }
    }
}
