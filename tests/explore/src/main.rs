// SPDX-License-Identifier: GPL-2.0

//! `ferrite-explore`: the crash-state explorer's command line.
//!
//! ```text
//! ferrite-explore check --image IMG --trace TRACE --name WORKLOAD [--quick] [--seed N]
//!                       [--max-violations K] [--accept-program-order] [--data-not-atomic]
//! ferrite-explore dump-trace TRACE
//! ferrite-explore sites TRACE
//! ```
//!
//! `check` prints one `VIOLATION` line per violation (with indented details), then the summary
//! line `WORKLOAD: S states, C crash points, V violations`, always last; it exits 0 when no
//! crash state violates anything, 1 when some do, 2 on an error (a trace cut short or with
//! dropped records, an unreadable image, bad arguments). `dump-trace` prints the records one
//! per line. `sites` prints the call sites of the trace's fences and flushes, one per line, each
//! once (the mutants of `scripts/crash-explore`).

use ferrite_explore::explore::{explore, ExploreOptions};
use ferrite_explore::trace::Trace;
use std::io::Write;
use std::process::ExitCode;

const USAGE: &str =
    "usage: ferrite-explore check --image IMG --trace TRACE --name WORKLOAD [--quick] [--seed N]
                              [--max-violations K] [--accept-program-order] [--data-not-atomic]
       ferrite-explore dump-trace TRACE
       ferrite-explore sites TRACE";

fn fail(msg: &str) -> ExitCode {
    eprintln!("ferrite-explore: {msg}");
    ExitCode::from(2)
}

fn read_trace(path: &str) -> Result<Trace, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read the trace {path}: {e}"))?;
    Trace::parse(bytes).map_err(|e| format!("{path}: {e}"))
}

fn check(args: &[String]) -> ExitCode {
    let mut image = None;
    let mut trace = None;
    let mut name = None;
    let mut opts = ExploreOptions::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |what: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{a} needs {what}\n{USAGE}"))
        };
        let r = match a.as_str() {
            "--image" => value("a file").map(|v| image = Some(v)),
            "--trace" => value("a file").map(|v| trace = Some(v)),
            "--name" => value("a name").map(|v| name = Some(v)),
            "--quick" => {
                opts.quick = true;
                Ok(())
            }
            "--accept-program-order" => {
                opts.accept_program_order = true;
                Ok(())
            }
            "--data-not-atomic" => {
                opts.data_not_atomic = true;
                Ok(())
            }
            "--seed" => value("a number").and_then(|v| {
                v.parse()
                    .map(|n| opts.seed = n)
                    .map_err(|_| format!("--seed: not a number: {v}"))
            }),
            "--max-violations" => value("a number").and_then(|v| {
                v.parse()
                    .map(|n| opts.max_violations = n)
                    .map_err(|_| format!("--max-violations: not a number: {v}"))
            }),
            _ => Err(format!("unknown argument {a}\n{USAGE}")),
        };
        if let Err(m) = r {
            return fail(&m);
        }
    }
    let (Some(image), Some(trace), Some(name)) = (image, trace, name) else {
        return fail(&format!("check needs --image, --trace and --name\n{USAGE}"));
    };
    let t = match read_trace(&trace) {
        Ok(t) => t,
        Err(m) => return fail(&m),
    };
    let img = match std::fs::read(&image) {
        Ok(b) => match ferrite_explore::snapshot::load_image(b) {
            Ok(img) => img,
            Err(m) => return fail(&format!("{image}: {m}")),
        },
        Err(e) => return fail(&format!("cannot read the image {image}: {e}")),
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let r = explore(&name, img, &t, &opts, &mut out);
    let _ = out.flush();
    match r {
        Err(m) => fail(&format!("{name}: {m}")),
        Ok(s) => {
            if s.violations > 0 {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
    }
}

/// Dumps what can be parsed of a trace, then says what is wrong with the rest (exit 2).
fn dump(path: &str) -> ExitCode {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => return fail(&format!("cannot read the trace {path}: {e}")),
    };
    let (t, err) = Trace::parse_prefix(bytes);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match t.dump(&mut out) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return ExitCode::SUCCESS,
        Err(e) => return fail(&format!("write: {e}")),
    }
    let _ = out.flush();
    match err {
        Some(e) => fail(&format!("{path}: {e}")),
        None => ExitCode::SUCCESS,
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("check") => check(&args[1..]),
        Some("dump-trace") if args.len() == 2 => dump(&args[1]),
        Some("sites") if args.len() == 2 => match read_trace(&args[1]) {
            Ok(t) => {
                for s in t.sites() {
                    println!("{s}");
                }
                ExitCode::SUCCESS
            }
            Err(m) => fail(&m),
        },
        Some("-h" | "--help") => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => fail(USAGE),
    }
}
