// SPDX-License-Identifier: GPL-2.0

//! `ferrite-explore`: the crash-state explorer's command line.
//!
//! ```text
//! ferrite-explore dump-trace TRACE
//! ferrite-explore sites TRACE
//! ```
//!
//! `dump-trace` prints the records one per line (what can be parsed of a bad trace, then the
//! problem: exit 2). `sites` prints the call sites of the trace's fences and flushes, one per
//! line, each once (the mutants of `scripts/crash-explore`).

use ferrite_explore::trace::Trace;
use std::io::Write;
use std::process::ExitCode;

const USAGE: &str = "usage: ferrite-explore dump-trace TRACE
       ferrite-explore sites TRACE";

fn fail(msg: &str) -> ExitCode {
    eprintln!("ferrite-explore: {msg}");
    ExitCode::from(2)
}

fn read_trace(path: &str) -> Result<Trace, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read the trace {path}: {e}"))?;
    Trace::parse(bytes).map_err(|e| format!("{path}: {e}"))
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
