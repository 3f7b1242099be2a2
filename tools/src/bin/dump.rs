// SPDX-License-Identifier: GPL-2.0

//! `ferrite-dump DEVICE [sb|inode N|extents N|dir N|journal]`

use ferrite_tools::cli;
use ferrite_tools::dump::{dump, What};
use std::path::PathBuf;
use std::process::exit;

const USAGE: &str = "usage: ferrite-dump DEVICE [sb|inode N|extents N|dir N|journal]";

fn usage(msg: &str) -> ! {
    eprintln!("ferrite-dump: {msg}");
    eprintln!("{USAGE}");
    exit(2);
}

fn main() {
    cli::completion_requested(&cli::DUMP);
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() || args[0] == "-h" || args[0] == "--help" {
        usage("no device given");
    }
    let dev = PathBuf::from(&args[0]);
    let n = |i: usize| -> u64 {
        let v = args
            .get(i)
            .unwrap_or_else(|| usage("an inode number is needed"));
        v.parse()
            .unwrap_or_else(|_| usage(&format!("'{v}' is not an inode number")))
    };
    // The views are the words of the table the bash completion is made from
    // (ferrite_tools::cli::DUMP).
    let view = args.get(1).map(String::as_str);
    if view.is_some_and(|v| !cli::DUMP.words.contains(&v)) {
        usage(&format!("unknown view '{}'", view.unwrap_or_default()));
    }
    let what = match view {
        None | Some("sb") | Some("superblock") => What::Superblock,
        Some("inode") => What::Inode(n(2)),
        Some("extents") => What::Extents(n(2)),
        Some("dir") => What::Dir(n(2)),
        Some("journal") => What::Journal,
        Some(x) => usage(&format!("unknown view '{x}'")),
    };
    if let Err(m) = dump(&dev, what, &mut std::io::stdout()) {
        eprintln!("ferrite-dump: {m}");
        exit(1);
    }
}
