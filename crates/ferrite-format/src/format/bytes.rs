// SPDX-License-Identifier: GPL-2.0

//! Little-endian field access at fixed offsets, without panics.
//!
//! Every persistent integer in ferrite is little-endian. These helpers read and write one at a
//! byte offset. Offsets are constants of the format; a read past the end of the slice yields 0 and
//! a write past the end does nothing, so a wrong constant can never panic (the format's tests
//! catch it instead).

pub(crate) fn get_u8(b: &[u8], off: usize) -> u8 {
    b.get(off).copied().unwrap_or(0)
}

pub(crate) fn get_u16(b: &[u8], off: usize) -> u16 {
    match b
        .get(off..off.saturating_add(2))
        .and_then(|s| s.try_into().ok())
    {
        Some(a) => u16::from_le_bytes(a),
        None => 0,
    }
}

pub(crate) fn get_u32(b: &[u8], off: usize) -> u32 {
    match b
        .get(off..off.saturating_add(4))
        .and_then(|s| s.try_into().ok())
    {
        Some(a) => u32::from_le_bytes(a),
        None => 0,
    }
}

pub(crate) fn get_u64(b: &[u8], off: usize) -> u64 {
    match b
        .get(off..off.saturating_add(8))
        .and_then(|s| s.try_into().ok())
    {
        Some(a) => u64::from_le_bytes(a),
        None => 0,
    }
}

pub(crate) fn get_i64(b: &[u8], off: usize) -> i64 {
    match b
        .get(off..off.saturating_add(8))
        .and_then(|s| s.try_into().ok())
    {
        Some(a) => i64::from_le_bytes(a),
        None => 0,
    }
}

pub(crate) fn get_array<const N: usize>(b: &[u8], off: usize) -> [u8; N] {
    match b
        .get(off..off.saturating_add(N))
        .and_then(|s| s.try_into().ok())
    {
        Some(a) => a,
        None => [0; N],
    }
}

/// Copies `src` into the start of `dst` (as much as fits). Unlike `copy_from_slice`, it has no
/// panic path for a length mismatch, so none is compiled into the kernel module.
pub fn copy_bytes(dst: &mut [u8], src: &[u8]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d = *s;
    }
}

pub(crate) fn put_bytes(b: &mut [u8], off: usize, v: &[u8]) {
    if let Some(s) = b.get_mut(off..off.saturating_add(v.len())) {
        copy_bytes(s, v);
    }
}

pub(crate) fn put_u8(b: &mut [u8], off: usize, v: u8) {
    if let Some(s) = b.get_mut(off) {
        *s = v;
    }
}

pub(crate) fn put_u16(b: &mut [u8], off: usize, v: u16) {
    put_bytes(b, off, &v.to_le_bytes());
}

pub(crate) fn put_u32(b: &mut [u8], off: usize, v: u32) {
    put_bytes(b, off, &v.to_le_bytes());
}

pub(crate) fn put_u64(b: &mut [u8], off: usize, v: u64) {
    put_bytes(b, off, &v.to_le_bytes());
}

pub(crate) fn put_i64(b: &mut [u8], off: usize, v: i64) {
    put_bytes(b, off, &v.to_le_bytes());
}

/// Fills `b[from..to]` with zeros (clipped to the slice).
pub(crate) fn zero_range(b: &mut [u8], from: usize, to: usize) {
    let to = to.min(b.len());
    if let Some(s) = b.get_mut(from.min(to)..to) {
        s.fill(0);
    }
}
