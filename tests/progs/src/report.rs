//! Line-per-step output shared by the probes: `step-name: outcome`, stable between filesystems so
//! that two runs can be compared with diff. Each step also has the outcome POSIX and Linux lead
//! us to expect; a different one is marked on its line and counted.

use crate::sys::Res;
use std::fmt::Display;

/// Collects the steps whose outcome was not the expected one.
#[derive(Default)]
pub struct Report {
    steps: usize,
    unexpected: Vec<String>,
}

/// `yes` or `no`.
pub fn yn(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// `ok` or the errno name.
pub fn outcome<T>(r: &Res<T>) -> String {
    match r {
        Ok(_) => "ok".to_string(),
        Err(e) => e.name(),
    }
}

impl Report {
    /// Prints `name: got`, marked when it is not `want`.
    pub fn value(&mut self, name: &str, got: impl Display, want: impl Display) {
        let (got, want) = (got.to_string(), want.to_string());
        self.steps += 1;
        if got == want {
            println!("{name}: {got}");
        } else {
            println!("{name}: {got} (expected {want})");
            self.unexpected.push(name.to_string());
        }
    }

    /// A system call's outcome (`ok` or the errno name) against `want`; the value when it
    /// succeeded.
    pub fn step<T>(&mut self, name: &str, r: Res<T>, want: &str) -> Option<T> {
        self.value(name, outcome(&r), want);
        r.ok()
    }

    /// A condition that should hold: `name: yes`.
    pub fn yes(&mut self, name: &str, cond: bool) {
        self.value(name, yn(cond), "yes");
    }

    /// A condition computed by a fallible probe: `yes`, `no` or the errno of the probe.
    pub fn yes_res(&mut self, name: &str, r: Res<bool>) {
        match r {
            Ok(b) => self.yes(name, b),
            Err(e) => self.value(name, e, "yes"),
        }
    }

    /// Steps printed, and the names of those with an unexpected outcome.
    pub fn summary(&self) -> (usize, &[String]) {
        (self.steps, &self.unexpected)
    }
}
