// SPDX-License-Identifier: GPL-2.0

//! `fsck.ferrite [-n|-y|-p|-a] [-f] DEVICE`, with fsck(8) exit codes.

use ferrite_tools::cli;
use ferrite_tools::fsck::{fsck, FsckOptions, Mode, EXIT_USAGE};
use std::path::PathBuf;
use std::process::exit;

const USAGE: &str = "usage: fsck.ferrite [-n|-y|-p|-a] [-f] [-v] DEVICE";

fn usage(msg: &str) -> ! {
    eprintln!("fsck.ferrite: {msg}");
    eprintln!("{USAGE}");
    exit(EXIT_USAGE);
}

fn main() {
    cli::completion_requested(&cli::FSCK);
    let mut mode: Option<Mode> = None;
    let mut force = false;
    let mut dev: Option<PathBuf> = None;
    let set = |m: Mode, mode: &mut Option<Mode>| {
        if mode.is_some_and(|x| x != m) {
            usage("only one of -n, -y, -p/-a may be given");
        }
        *mode = Some(m);
    };
    for a in std::env::args().skip(1) {
        if let Some(flags) = a
            .strip_prefix('-')
            .filter(|f| !f.is_empty() && !f.starts_with('-'))
        {
            // Each letter is an option of the table the bash completion is made from
            // (ferrite_tools::cli::FSCK), handled by its first spelling.
            for c in flags.chars() {
                match cli::FSCK.find(&format!("-{c}")) {
                    Some("-n") => set(Mode::Check, &mut mode),
                    Some("-y") => set(Mode::Yes, &mut mode),
                    Some("-p") => set(Mode::Preen, &mut mode),
                    Some("-f") => force = true,
                    Some("-v") => {}
                    Some(o) => usage(&format!("option {o} is not handled")),
                    None => usage(&format!("unknown option '-{c}'")),
                }
            }
            continue;
        }
        if a.starts_with("--") {
            usage(&format!("unknown option '{a}'"));
        }
        if dev.is_some() {
            usage("more than one device given");
        }
        dev = Some(PathBuf::from(a));
    }
    let Some(dev) = dev else {
        usage("no device given")
    };
    let opts = FsckOptions {
        mode: mode.unwrap_or(Mode::Check),
        force,
    };
    let r = fsck(&dev, &opts, &mut std::io::stdout());
    exit(r.exit);
}
