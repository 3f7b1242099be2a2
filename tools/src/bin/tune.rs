// SPDX-License-Identifier: GPL-2.0

//! `ferrite-tune [-l] [-L label] [-U uuid|random|clear] DEVICE`

use ferrite_tools::cli;
use ferrite_tools::tune::{tune, TuneOptions, UuidArg};
use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;
use std::process::exit;

const USAGE: &str = "usage: ferrite-tune [-l] [-L label] [-U uuid|random|clear] DEVICE
  -l          show the label, the UUID, the features and the rest of the superblock
  -L label    set the label (up to 64 bytes of UTF-8 without control characters; \"\" clears it)
  -U uuid     set the UUID: xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, random, or clear (all zeros)
The label of a mounted filesystem is set through the kernel; the UUID only while unmounted.";

fn die(msg: &str) -> ! {
    eprintln!("ferrite-tune: {msg}");
    eprintln!("{USAGE}");
    exit(1);
}

fn uuid(v: Option<OsString>) -> UuidArg {
    let v = v.unwrap_or_else(|| die("option -U needs a UUID, random or clear"));
    let s = v.to_string_lossy();
    UuidArg::parse(&s).unwrap_or_else(|| {
        die(&format!(
            "'{s}' is not a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx), random or clear"
        ))
    })
}

fn main() {
    cli::completion_requested(&cli::TUNE);
    let mut opts = TuneOptions::default();
    let mut dev: Option<PathBuf> = None;
    // Arguments as bytes: a label (or a device path) need not be UTF-8, and is checked as such.
    let mut args = std::env::args_os().skip(1);
    let mut only_pos = false;
    while let Some(arg) = args.next() {
        let a = arg.to_string_lossy().into_owned();
        if only_pos || !a.starts_with('-') || a == "-" {
            if dev.is_some() {
                die("more than one device given");
            }
            dev = Some(PathBuf::from(arg));
            continue;
        }
        if a == "--" {
            only_pos = true;
            continue;
        }
        // The table the bash completion is made from (ferrite_tools::cli::TUNE) names the
        // options; each is handled here by its first spelling.
        match cli::TUNE.find(&a) {
            Some("-l") => opts.list = true,
            Some("-L") => {
                let v = args
                    .next()
                    .unwrap_or_else(|| die("option -L needs a label"));
                opts.label = Some(v.into_vec());
            }
            Some("-U") => opts.uuid = Some(uuid(args.next())),
            Some("-V") => cli::TUNE.version(),
            Some("-h") => cli::TUNE.help(USAGE),
            Some(o) => die(&format!("option {o} is not handled")),
            None if a.starts_with("-L") && a.len() > 2 => {
                opts.label = Some(arg.as_bytes()[2..].to_vec())
            }
            None if a.starts_with("-U") && a.len() > 2 => {
                opts.uuid = Some(uuid(Some(OsString::from(&a[2..]))))
            }
            None => die(&format!("unknown option '{a}'")),
        }
    }
    let Some(dev) = dev else {
        die("no device given")
    };
    if !opts.list && opts.label.is_none() && opts.uuid.is_none() {
        die("nothing to do: give -l, -L or -U");
    }
    if let Err(m) = tune(&dev, &opts, &mut std::io::stdout()) {
        eprintln!("ferrite-tune: {m}");
        exit(1);
    }
}
