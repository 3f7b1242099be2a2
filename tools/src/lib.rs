// SPDX-License-Identifier: GPL-2.0

//! ferrite's userspace tools: `mkfs.ferrite`, `fsck.ferrite`, `ferrite-dump` and `ferrite-tune`,
//! as a library (so the tests can call them) plus thin binaries.
//!
//! No `unsafe` except the label ioctls of ferrite-tune ([`tune::set_label_mounted`],
//! [`tune::label_mounted`]): one call, in the one function that allows it and says why it is
//! sound.

#![deny(unsafe_code)]

pub mod cli;
pub mod dump;
pub mod fsck;
pub mod fsops;
pub mod image;
pub mod mkfs;
pub mod tune;

/// Seconds and nanoseconds since the epoch.
pub fn now() -> ferrite_format::Timespec {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    ferrite_format::Timespec {
        sec: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        nsec: d.subsec_nanos(),
    }
}

/// `N` random bytes from the kernel.
pub fn random_bytes<const N: usize>() -> std::io::Result<[u8; N]> {
    use std::io::Read;
    let mut b = [0u8; N];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut b)?;
    Ok(b)
}

/// Text read from an image (a label, a directory entry's name, a symlink target), made safe to
/// print: valid UTF-8 stays as it is, except a backslash (`\\`), the control characters (`\n`,
/// `\t`, `\r`, `\xNN` for the other ASCII ones, `\u{NN}` for the C1 ones) and the other characters
/// Rust's `Debug` does not show as themselves (a bidirectional override, a zero-width space:
/// `\u{...}`); each byte of invalid UTF-8 is `\xNN`. What an image holds can then neither move
/// the cursor nor recolour the terminal, and different byte strings print differently.
pub fn escape_text(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                c if c.is_ascii_control() => {
                    let _ = write!(out, "\\x{:02x}", u32::from(c));
                }
                c if c.is_ascii() || (!c.is_control() && shown_as_itself(c)) => out.push(c),
                c => {
                    let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
                }
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

/// Whether `Debug` shows `c` as itself after another character (it escapes a combining mark only
/// at the start of a string, and every character it finds unprintable).
fn shown_as_itself(c: char) -> bool {
    let s: String = ['a', c].iter().collect();
    s.escape_debug().skip(1).eq(std::iter::once(c))
}

/// Parses a UUID written as text (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, hex digits of either
/// case), the form [`uuid_string`] writes.
pub fn parse_uuid(s: &str) -> Option<[u8; 16]> {
    let b = s.as_bytes();
    if b.len() != 36 {
        return None;
    }
    let mut digits = Vec::with_capacity(32);
    for (i, &c) in b.iter().enumerate() {
        if matches!(i, 8 | 13 | 18 | 23) {
            if c != b'-' {
                return None;
            }
            continue;
        }
        digits.push(char::from(c).to_digit(16)? as u8);
    }
    let mut u = [0u8; 16];
    for (i, byte) in u.iter_mut().enumerate() {
        *byte = digits[2 * i] << 4 | digits[2 * i + 1];
    }
    Some(u)
}

/// A random UUID (version 4, variant 1), as mkfs makes one.
pub fn random_uuid() -> std::io::Result<[u8; 16]> {
    let mut u: [u8; 16] = random_bytes()?;
    u[6] = (u[6] & 0x0f) | 0x40;
    u[8] = (u[8] & 0x3f) | 0x80;
    Ok(u)
}

/// Formats a UUID as text.
pub fn uuid_string(u: &[u8; 16]) -> String {
    let h: Vec<String> = u.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        h[0..4].concat(),
        h[4..6].concat(),
        h[6..8].concat(),
        h[8..10].concat(),
        h[10..16].concat()
    )
}

/// A size in human units.
pub fn human(bytes: u64) -> String {
    const U: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = bytes as f64;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < U.len() {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", U[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_text_keeps_text_and_escapes_the_rest() {
        for (raw, shown) in [
            (&b"plain name.txt"[..], "plain name.txt"),
            (
                "caf\u{e9} e\u{301} \u{2603}".as_bytes(),
                "caf\u{e9} e\u{301} \u{2603}",
            ),
            (b"a\\b", r"a\\b"),
            (b"\x1b[2J\x07\x00\x7f", r"\x1b[2J\x07\x00\x7f"),
            (b"tab\tnl\ncr\r", r"tab\tnl\ncr\r"),
            (
                "c1 \u{9b} bidi \u{202e} zw \u{200b}".as_bytes(),
                r"c1 \u{9b} bidi \u{202e} zw \u{200b}",
            ),
            (b"bad \xff \xc3 \xed\xa0\x80", r"bad \xff \xc3 \xed\xa0\x80"),
        ] {
            assert_eq!(escape_text(raw), shown, "{raw:?}");
        }
        // Different bytes, different text: a literal backslash sequence is not the byte.
        assert_ne!(escape_text(b"\\x1b"), escape_text(b"\x1b"));
    }

    #[test]
    fn uuids_parse_as_they_are_written() {
        let u = [
            0x0f, 0x1e, 0x2d, 0x3c, 0x4b, 0x5a, 0x46, 0x97, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33,
            0x22, 0x11,
        ];
        let s = uuid_string(&u);
        assert_eq!(s, "0f1e2d3c-4b5a-4697-8877-665544332211");
        assert_eq!(parse_uuid(&s), Some(u));
        assert_eq!(parse_uuid(&s.to_uppercase()), Some(u));
        for bad in [
            "",
            "0f1e2d3c4b5a46978877665544332211",
            "0f1e2d3c-4b5a-4697-8877-66554433221",
            "0f1e2d3c-4b5a-4697-8877-6655443322111",
            "0f1e2d3c-4b5a-4697-8877-66554433221g",
            "0f1e2d3c+4b5a-4697-8877-665544332211",
        ] {
            assert_eq!(parse_uuid(bad), None, "{bad}");
        }
        let r = random_uuid().unwrap();
        assert_eq!((r[6] >> 4, r[8] >> 6), (4, 2));
    }
}
