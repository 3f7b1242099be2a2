// SPDX-License-Identifier: GPL-2.0

//! The persistence trace of ferrite's trace build: parsing, the marks of the workload, a writer
//! (for tests and synthetic traces) and a dump for debugging.
//!
//! Format (little-endian): the 8 bytes `FTRC0001`, then records. A record is a 16-byte header
//! (`u8 kind; u8 site_len; u16 0; u32 len; u64 off`), `site_len` bytes of ASCII call site
//! (`fs/txn.rs:258`), the payload (`len` bytes, for the kinds that carry one: STORE, NT, MARK,
//! DATA), and zero padding to a multiple of 8 bytes. The last record is END, whose `off` is the
//! number of records the tracer dropped.

use std::fmt;

/// The first 8 bytes of a trace.
pub const MAGIC: &[u8; 8] = b"FTRC0001";
/// Size of a record header.
pub const HDR: usize = 16;

/// A record kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A cached store of the payload at `off`: durable after a FLUSH of its cache lines and a
    /// FENCE.
    Store,
    /// Write-back of the cache lines of `len` bytes at `off`.
    Flush,
    /// A non-temporal copy of the payload to `off`: durable at the next FENCE.
    Nt,
    /// Non-temporal zeroing of `len` bytes at `off`.
    Zero,
    /// Everything non-temporal before it, and every flushed store, is durable after it.
    Fence,
    /// Text from the workload (`B <n> <name>`, `E <n> <ret>`, others).
    Mark,
    /// File data copied into pmem non-temporally by the kernel's DAX code (`write`).
    Data,
    /// The last record; `off` counts the records the tracer dropped.
    End,
}

impl Kind {
    /// The kind with code `c`.
    pub fn from_code(c: u8) -> Option<Kind> {
        Some(match c {
            1 => Kind::Store,
            2 => Kind::Flush,
            3 => Kind::Nt,
            4 => Kind::Zero,
            5 => Kind::Fence,
            6 => Kind::Mark,
            7 => Kind::Data,
            8 => Kind::End,
            _ => return None,
        })
    }

    /// The code of the kind.
    pub fn code(self) -> u8 {
        match self {
            Kind::Store => 1,
            Kind::Flush => 2,
            Kind::Nt => 3,
            Kind::Zero => 4,
            Kind::Fence => 5,
            Kind::Mark => 6,
            Kind::Data => 7,
            Kind::End => 8,
        }
    }

    /// Whether records of this kind carry `len` bytes of payload.
    pub fn has_payload(self) -> bool {
        matches!(self, Kind::Store | Kind::Nt | Kind::Mark | Kind::Data)
    }

    /// Whether this kind stores to pmem.
    pub fn is_store(self) -> bool {
        matches!(self, Kind::Store | Kind::Nt | Kind::Zero | Kind::Data)
    }

    /// The name used in dumps.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Store => "STORE",
            Kind::Flush => "FLUSH",
            Kind::Nt => "NT",
            Kind::Zero => "ZERO",
            Kind::Fence => "FENCE",
            Kind::Mark => "MARK",
            Kind::Data => "DATA",
            Kind::End => "END",
        }
    }
}

/// One record, pointing into the bytes of its [`Trace`].
#[derive(Clone, Copy, Debug)]
pub struct Record {
    /// Its kind.
    pub kind: Kind,
    /// Device byte offset (END: dropped records).
    pub off: u64,
    /// Length in bytes (of the payload, or of the flushed or zeroed range).
    pub len: u32,
    /// Where the record starts in the trace file.
    pub at: usize,
    site: (usize, usize),
    payload: (usize, usize),
}

/// Why a trace cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceError(pub String);

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TraceError {}

/// A parsed, complete trace.
pub struct Trace {
    bytes: Vec<u8>,
    /// The records, END last.
    pub records: Vec<Record>,
}

fn round8(n: usize) -> usize {
    n.saturating_add(7) & !7
}

impl Trace {
    /// Parses the bytes of a trace file. A trace without its END record (cut short), or whose
    /// END says records were dropped, is refused: crash states built from it would be wrong.
    pub fn parse(bytes: Vec<u8>) -> Result<Trace, TraceError> {
        match Trace::parse_prefix(bytes) {
            (t, None) => Ok(t),
            (_, Some(e)) => Err(e),
        }
    }

    /// Parses as much of a trace as is sound, for debugging a trace that [`parse`](Self::parse)
    /// refuses: the records up to the first problem, and the problem.
    pub fn parse_prefix(bytes: Vec<u8>) -> (Trace, Option<TraceError>) {
        let mut records = Vec::new();
        let e = Trace::records(&bytes, &mut records).err();
        (Trace { bytes, records }, e)
    }

    fn records(bytes: &[u8], records: &mut Vec<Record>) -> Result<(), TraceError> {
        if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            return Err(TraceError(
                "not a ferrite persistence trace (no FTRC0001 magic)".into(),
            ));
        }
        let mut at = MAGIC.len();
        loop {
            let idx = records.len();
            if at == bytes.len() {
                return Err(TraceError(format!(
                    "the trace ends after {idx} records without an END record (cut short: was it read before the tracer stopped?)"
                )));
            }
            let Some(h) = bytes.get(at..at + HDR) else {
                return Err(TraceError(format!(
                    "record {idx} at byte {at}: truncated header ({} bytes left)",
                    bytes.len() - at
                )));
            };
            let code = h[0];
            let site_len = usize::from(h[1]);
            let zero = u16::from_le_bytes([h[2], h[3]]);
            let len = u32::from_le_bytes([h[4], h[5], h[6], h[7]]);
            let mut o = [0u8; 8];
            o.copy_from_slice(&h[8..16]);
            let off = u64::from_le_bytes(o);
            let Some(kind) = Kind::from_code(code) else {
                return Err(TraceError(format!(
                    "record {idx} at byte {at}: unknown kind {code}"
                )));
            };
            if zero != 0 {
                return Err(TraceError(format!(
                    "record {idx} at byte {at}: reserved field is {zero:#x}, not 0"
                )));
            }
            let plen = if kind.has_payload() { len as usize } else { 0 };
            let site_at = at + HDR;
            let payload_at = site_at + site_len;
            let total = round8(HDR + site_len + plen);
            if at.saturating_add(total) > bytes.len() {
                return Err(TraceError(format!(
                    "record {idx} at byte {at} ({} of {len} bytes at {off:#x}): truncated: needs {total} bytes, {} left",
                    kind.name(),
                    bytes.len() - at
                )));
            }
            records.push(Record {
                kind,
                off,
                len,
                at,
                site: (site_at, site_len),
                payload: (payload_at, plen),
            });
            at += total;
            if kind == Kind::End {
                if off != 0 {
                    return Err(TraceError(format!(
                        "the tracer dropped {off} records (its buffer was full): the trace is incomplete"
                    )));
                }
                if at != bytes.len() {
                    return Err(TraceError(format!(
                        "{} bytes after the END record (record {idx})",
                        bytes.len() - at
                    )));
                }
                return Ok(());
            }
        }
    }

    /// The call site of `r` (empty if none was recorded).
    pub fn site(&self, r: &Record) -> &str {
        let (s, n) = r.site;
        std::str::from_utf8(&self.bytes[s..s + n]).unwrap_or("?")
    }

    /// The payload of `r` (empty for kinds without one).
    pub fn payload(&self, r: &Record) -> &[u8] {
        let (s, n) = r.payload;
        &self.bytes[s..s + n]
    }

    /// The marks of a MARK record (none for other kinds).
    pub fn marks(&self, r: &Record) -> Vec<Mark> {
        if r.kind != Kind::Mark {
            return Vec::new();
        }
        parse_marks(&String::from_utf8_lossy(self.payload(r)))
    }

    /// The call sites of the fences and flushes, sorted, each once.
    pub fn sites(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .records
            .iter()
            .filter(|r| matches!(r.kind, Kind::Fence | Kind::Flush))
            .map(|r| self.site(r).to_string())
            .filter(|s| !s.is_empty())
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// Writes one line per record: index, kind, offset, length, call site and, for marks, the
    /// text.
    pub fn dump(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        for (i, r) in self.records.iter().enumerate() {
            let site = self.site(r);
            let site = if site.is_empty() { "-" } else { site };
            write!(
                out,
                "{i:8} {:<5} off={:#010x} len={:<8} site={site}",
                r.kind.name(),
                r.off,
                r.len
            )?;
            if r.kind == Kind::Mark {
                let text = String::from_utf8_lossy(self.payload(r));
                write!(out, " mark={:?}", text.trim_end_matches(['\n', '\0']))?;
            }
            writeln!(out)?;
        }
        Ok(())
    }
}

/// A line of a MARK record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mark {
    /// `B <n> <name...>`: system call `n` starts; `S <n> <name...>`: the same for a call made
    /// in steps (see [`crate::explore`]).
    Begin {
        /// The call's number.
        n: u64,
        /// Its name and arguments, as the workload wrote them.
        name: String,
        /// Started with `S`: the workload declares the call made in steps.
        stepwise: bool,
    },
    /// `E <n> <ret>`: system call `n` returned `ret` (or `-errno`).
    End {
        /// The call's number.
        n: u64,
        /// What it returned.
        ret: i64,
    },
    /// Any other line (`W <workload>`, ...).
    Other(String),
}

/// The marks in the text of a MARK record, one per line; malformed `B`/`E` lines are `Other`.
pub fn parse_marks(text: &str) -> Vec<Mark> {
    let mut v = Vec::new();
    for line in text.split(['\n', '\0']) {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let mut words = line.splitn(3, ' ');
        let tag = words.next().unwrap_or("");
        let n = words.next().and_then(|w| w.parse::<u64>().ok());
        let rest = words.next().unwrap_or("").trim();
        let m = match (tag, n) {
            ("B" | "S", Some(n)) => Mark::Begin {
                n,
                name: if rest.is_empty() {
                    "?".into()
                } else {
                    rest.to_string()
                },
                stepwise: tag == "S",
            },
            ("E", Some(n)) => match rest.split(' ').next().and_then(|r| r.parse::<i64>().ok()) {
                Some(ret) => Mark::End { n, ret },
                None => Mark::Other(line.to_string()),
            },
            _ => Mark::Other(line.to_string()),
        };
        v.push(m);
    }
    v
}

/// Builds a trace in memory, record by record (tests and synthetic traces).
pub struct TraceWriter {
    bytes: Vec<u8>,
    records: usize,
}

impl Default for TraceWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl TraceWriter {
    /// An empty trace (the magic only).
    pub fn new() -> TraceWriter {
        TraceWriter {
            bytes: MAGIC.to_vec(),
            records: 0,
        }
    }

    /// Records written so far: the index the next record gets.
    pub fn len(&self) -> usize {
        self.records
    }

    /// Whether no record was written yet.
    pub fn is_empty(&self) -> bool {
        self.records == 0
    }

    /// Appends a record of `kind`; `payload` is written only for kinds that carry one, whose
    /// `len` is then its length.
    pub fn record(&mut self, kind: Kind, off: u64, len: u32, site: &str, payload: &[u8]) {
        let site = &site.as_bytes()[..site.len().min(255)];
        let len = if kind.has_payload() {
            payload.len() as u32
        } else {
            len
        };
        let start = self.bytes.len();
        self.bytes.push(kind.code());
        self.bytes.push(site.len() as u8);
        self.bytes.extend_from_slice(&[0, 0]);
        self.bytes.extend_from_slice(&len.to_le_bytes());
        self.bytes.extend_from_slice(&off.to_le_bytes());
        self.bytes.extend_from_slice(site);
        if kind.has_payload() {
            self.bytes.extend_from_slice(payload);
        }
        let total = round8(self.bytes.len() - start);
        self.bytes.resize(start + total, 0);
        self.records += 1;
    }

    /// A cached store.
    pub fn store(&mut self, off: u64, data: &[u8], site: &str) {
        self.record(Kind::Store, off, 0, site, data);
    }

    /// A cache write-back.
    pub fn flush(&mut self, off: u64, len: u32, site: &str) {
        self.record(Kind::Flush, off, len, site, &[]);
    }

    /// A non-temporal copy.
    pub fn nt(&mut self, off: u64, data: &[u8], site: &str) {
        self.record(Kind::Nt, off, 0, site, data);
    }

    /// Non-temporal zeroing.
    pub fn zero(&mut self, off: u64, len: u32, site: &str) {
        self.record(Kind::Zero, off, len, site, &[]);
    }

    /// A fence.
    pub fn fence(&mut self, site: &str) {
        self.record(Kind::Fence, 0, 0, site, &[]);
    }

    /// A mark of the workload.
    pub fn mark(&mut self, text: &str) {
        self.record(Kind::Mark, 0, 0, "", text.as_bytes());
    }

    /// File data copied by DAX.
    pub fn data(&mut self, off: u64, data: &[u8], site: &str) {
        self.record(Kind::Data, off, 0, site, data);
    }

    /// The trace so far, without an END record (a trace cut short).
    pub fn unfinished(&self) -> Vec<u8> {
        self.bytes.clone()
    }

    /// The trace with its END record (`dropped`: records the tracer lost).
    pub fn finish(mut self, dropped: u64) -> Vec<u8> {
        self.record(Kind::End, dropped, 0, "", &[]);
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writer_and_parser_agree() {
        let mut w = TraceWriter::new();
        w.store(0x1003, b"abc", "fs/a.rs:1");
        w.flush(0x1000, 64, "fs/a.rs:2");
        w.nt(0x2000, &[7; 13], "");
        w.zero(0x3000, 4096, "fs/file.rs:27");
        w.fence("fs/txn.rs:258");
        w.mark("B 1 creat /a\nW demo");
        w.data(0x4000, &[1; 9], "fs/file.rs:114");
        assert_eq!(w.len(), 7);
        let bytes = w.finish(0);
        assert_eq!(bytes.len() % 8, 0);
        let t = Trace::parse(bytes).expect("parse");
        let k: Vec<Kind> = t.records.iter().map(|r| r.kind).collect();
        assert_eq!(
            k,
            [
                Kind::Store,
                Kind::Flush,
                Kind::Nt,
                Kind::Zero,
                Kind::Fence,
                Kind::Mark,
                Kind::Data,
                Kind::End
            ]
        );
        let r = &t.records;
        assert_eq!(
            (r[0].off, r[0].len, t.payload(&r[0])),
            (0x1003, 3, &b"abc"[..])
        );
        assert_eq!(t.site(&r[0]), "fs/a.rs:1");
        assert_eq!(
            (r[1].off, r[1].len, t.payload(&r[1]).len()),
            (0x1000, 64, 0)
        );
        assert_eq!((t.site(&r[2]), t.payload(&r[2])), ("", &[7u8; 13][..]));
        assert_eq!((r[3].len, t.payload(&r[3]).len()), (4096, 0));
        assert_eq!(
            t.marks(&r[5]),
            [
                Mark::Begin {
                    n: 1,
                    name: "creat /a".into(),
                    stepwise: false,
                },
                Mark::Other("W demo".into())
            ]
        );
        assert_eq!(t.sites(), ["fs/a.rs:2", "fs/txn.rs:258"]);
        let mut out = Vec::new();
        t.dump(&mut out).expect("dump");
        let text = String::from_utf8(out).expect("utf-8");
        assert_eq!(text.lines().count(), 8);
        assert!(text.contains("mark=\"B 1 creat /a\\nW demo\""), "{text}");
    }

    #[test]
    fn bad_traces_are_refused() {
        let mut w = TraceWriter::new();
        w.fence("x");
        let good = w.finish(0);
        assert!(Trace::parse(good.clone()).is_ok());
        // Unknown kind, reserved field, trailing bytes, cut short.
        let mut b = good.clone();
        b[8] = 9;
        assert!(Trace::parse(b).is_err_and(|e| e.0.contains("unknown kind 9")));
        let mut b = good.clone();
        b[10] = 1;
        assert!(Trace::parse(b).is_err_and(|e| e.0.contains("reserved")));
        let mut b = good.clone();
        b.extend_from_slice(&[0; 8]);
        assert!(Trace::parse(b).is_err_and(|e| e.0.contains("after the END")));
        assert!(Trace::parse(good[..good.len() - 16].to_vec())
            .is_err_and(|e| e.0.contains("without an END")));
        assert!(
            Trace::parse(good[..good.len() - 5].to_vec()).is_err_and(|e| e.0.contains("truncated"))
        );
    }

    #[test]
    fn marks() {
        assert_eq!(parse_marks("E 3 -17\n"), [Mark::End { n: 3, ret: -17 }]);
        assert_eq!(
            parse_marks("B 2"),
            [Mark::Begin {
                n: 2,
                name: "?".into(),
                stepwise: false,
            }]
        );
        assert_eq!(
            parse_marks("S 4 pwrite /a"),
            [Mark::Begin {
                n: 4,
                name: "pwrite /a".into(),
                stepwise: true,
            }]
        );
        assert_eq!(parse_marks("E x 1"), [Mark::Other("E x 1".into())]);
        assert_eq!(parse_marks("E 1"), [Mark::Other("E 1".into())]);
        assert!(parse_marks("\0\n").is_empty());
    }
}
