//! What the kernel's DAX writeback did, read from its `fs_dax` tracepoints
//! (`dax_writeback_range`, `dax_writeback_one`, `dax_writeback_range_done` in fs/dax.c): the
//! entries `dax_writeback_mapping_range` flushed, each with the pages it covers. This is what the
//! kernel wrote back, not what a filesystem says it asked for.
//!
//! `fstest writeback-check TRACEFS INO --pages N` checks a trace taken by the caller: the entries
//! of inode INO written back cover pages 0..N of the file, each page exactly once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The tracepoints this module reads.
const EVENTS: [&str; 3] = [
    "dax_writeback_range",
    "dax_writeback_one",
    "dax_writeback_range_done",
];

/// A tracefs instance (usually `/sys/kernel/tracing`) with the writeback events enabled.
pub struct Trace {
    dir: PathBuf,
}

/// The writeback of one inode, as the trace shows it.
#[derive(Debug, Default)]
pub struct Writeback {
    /// Entries flushed: first page and page count, in trace order.
    pub entries: Vec<(u64, u64)>,
    /// `dax_writeback_range` calls (one per `dax_writeback_mapping_range` that had work).
    pub ranges: u64,
    /// `dax_writeback_range_done` records.
    pub ranges_done: u64,
}

impl Writeback {
    /// Pages covered, counted once per entry.
    pub fn pages(&self) -> u64 {
        self.entries.iter().map(|e| e.1).sum()
    }

    /// Pages `0..n` each covered by exactly one entry, and no page outside them: `Ok`, or what
    /// differs.
    pub fn covers_exactly(&self, n: u64) -> Result<(), String> {
        let mut count: BTreeMap<u64, u64> = BTreeMap::new();
        for &(first, len) in &self.entries {
            for p in first..first + len {
                *count.entry(p).or_default() += 1;
            }
        }
        let twice: Vec<u64> = count.iter().filter(|c| *c.1 > 1).map(|c| *c.0).collect();
        let outside: Vec<u64> = count.keys().copied().filter(|&p| p >= n).collect();
        let missing: Vec<u64> = (0..n).filter(|p| !count.contains_key(p)).collect();
        if twice.is_empty() && outside.is_empty() && missing.is_empty() {
            return Ok(());
        }
        let few = |v: &[u64]| {
            let s: Vec<String> = v.iter().take(8).map(|p| p.to_string()).collect();
            format!("{}{}", s.join(","), if v.len() > 8 { ",..." } else { "" })
        };
        Err(format!(
            "{} entries, {} pages written back; pages 0..{n}: {} missing [{}], {} written back \
             more than once [{}], {} beyond [{}]",
            self.entries.len(),
            self.pages(),
            missing.len(),
            few(&missing),
            twice.len(),
            few(&twice),
            outside.len(),
            few(&outside)
        ))
    }
}

/// The value after `key ` in a trace line's fields, as a hexadecimal `0x...` or decimal number.
fn field(line: &str, key: &str) -> Option<u64> {
    let i = line.find(&format!(" {key} "))?;
    let v = line[i + key.len() + 2..].split([' ', '-']).next()?;
    match v.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => v.parse().ok(),
    }
}

impl Trace {
    /// Enables the writeback events of the tracefs at `dir`.
    pub fn open(dir: &Path) -> Result<Trace, String> {
        for e in EVENTS {
            let p = dir.join("events/fs_dax").join(e).join("enable");
            std::fs::write(&p, "1").map_err(|err| format!("{}: {err}", p.display()))?;
        }
        Ok(Trace { dir: dir.into() })
    }

    /// Empties the trace buffer.
    pub fn clear(&self) -> Result<(), String> {
        let p = self.dir.join("trace");
        std::fs::write(&p, "").map_err(|e| format!("{}: {e}", p.display()))
    }

    /// The writeback of inode `ino` recorded since the last [`clear`](Self::clear). Fails when
    /// the buffer lost events (it was too small for what happened): then nothing can be counted.
    pub fn writeback(&self, ino: u64) -> Result<Writeback, String> {
        let p = self.dir.join("trace");
        let text = std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        parse(&text, ino).map_err(|e| format!("{}: {e}", p.display()))
    }
}

/// The writeback of inode `ino` in the text of a tracefs `trace` file.
fn parse(text: &str, ino: u64) -> Result<Writeback, String> {
    // "# entries-in-buffer/entries-written: 27/27   #P:2"
    let counts = text
        .lines()
        .find_map(|l| l.strip_prefix("# entries-in-buffer/entries-written: "))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|r| r.split_once('/'))
        .ok_or("no entries-in-buffer/entries-written header")?;
    if counts.0 != counts.1 {
        return Err(format!(
            "the trace buffer lost events ({} of {} kept)",
            counts.0, counts.1
        ));
    }
    let mut w = Writeback::default();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        if field(line, "ino") != Some(ino) {
            continue;
        }
        if line.contains(" dax_writeback_one: ") {
            let first = field(line, "pgoff").ok_or(format!("bad record: {line}"))?;
            let len = field(line, "pglen").ok_or(format!("bad record: {line}"))?;
            w.entries.push((first, len));
        } else if line.contains(" dax_writeback_range: ") {
            w.ranges += 1;
        } else if line.contains(" dax_writeback_range_done: ") {
            w.ranges_done += 1;
        }
    }
    Ok(w)
}

/// `fstest writeback-check TRACEFS INO --pages N`.
pub fn check(tracefs: &Path, ino: u64, pages: u64) -> Result<bool, String> {
    let t = Trace {
        dir: tracefs.into(),
    };
    let w = t.writeback(ino)?;
    println!(
        "writeback of inode {ino}: {} entries, {} pages, {} ranges ({} done)",
        w.entries.len(),
        w.pages(),
        w.ranges,
        w.ranges_done
    );
    let mut ok = true;
    if let Err(e) = w.covers_exactly(pages) {
        println!("writeback-check: {e}");
        ok = false;
    }
    if w.ranges == 0 || w.ranges != w.ranges_done {
        println!(
            "writeback-check: {} writeback ranges started, {} done",
            w.ranges, w.ranges_done
        );
        ok = false;
    }
    Ok(ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
# tracer: nop
#
# entries-in-buffer/entries-written: 5/5   #P:2
#
#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION
     fstest-212     [001] .....    51.107346: dax_writeback_range: dev 259:0 ino 0xc pgoff 0x0-0x3ffff
     fstest-212     [001] .....    51.107390: dax_writeback_one: dev 259:0 ino 0xc pgoff 0x200 pglen 0x200
     fstest-212     [001] .....    51.107399: dax_writeback_one: dev 259:0 ino 0xd pgoff 0x0 pglen 0x1
     fstest-212     [001] .....    51.107401: dax_writeback_one: dev 259:0 ino 0xc pgoff 0x0 pglen 0x200
     fstest-212     [001] .....    51.107410: dax_writeback_range_done: dev 259:0 ino 0xc pgoff 0x40000-0x3ffff
";

    #[test]
    fn parses_the_entries_of_one_inode() {
        let w = parse(SAMPLE, 0xc).unwrap();
        assert_eq!(w.entries, vec![(0x200, 0x200), (0, 0x200)]);
        assert_eq!((w.ranges, w.ranges_done), (1, 1));
        assert_eq!(w.pages(), 1024);
        assert!(w.covers_exactly(1024).is_ok());
        assert!(w.covers_exactly(1025).is_err());
        assert!(w.covers_exactly(1023).is_err());
        assert_eq!(parse(SAMPLE, 0xd).unwrap().entries, vec![(0, 1)]);
    }

    #[test]
    fn a_page_written_back_twice_is_caught() {
        let w = Writeback {
            entries: vec![(0, 2), (1, 1)],
            ranges: 1,
            ranges_done: 1,
        };
        assert!(w.covers_exactly(2).is_err());
    }

    #[test]
    fn lost_events_are_an_error() {
        let lost = SAMPLE.replace("5/5", "5/9");
        assert!(parse(&lost, 0xc).is_err());
        assert!(parse("no header\n", 0xc).is_err());
    }
}
