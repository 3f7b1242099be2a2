// SPDX-License-Identifier: GPL-2.0

//! Hostile images for ferrite. A filesystem is a parser of untrusted bytes: this crate makes
//! the bytes. [`seeds`] builds small deterministic filesystems, [`mutate`] changes one named
//! thing in one of them per case number, and [`check`] runs fsck, recovery, the format code's
//! walks and dump on the result and says which promise, if any, was broken. The binary
//! `ferrite-fuzz` writes seeds and cases for the VM, which mounts them; the host fuzz target
//! (`tests/fuzz.rs`) runs the checks on thousands of cases.

#![forbid(unsafe_code)]

pub mod catalog;
pub mod check;
pub mod mutate;
pub mod rng;
pub mod seeds;

use catalog::Catalog;

/// Case `case` of the seed image `seed`: the mutated image and its one-line description
/// `NAME N: <what was mutated>`.
pub fn case(seed: &[u8], case: u64) -> Result<(Vec<u8>, String), String> {
    let cat = Catalog::of(seed)?;
    Ok(case_of(&cat, seed, case))
}

/// [`case`] with the seed's catalog already made (the fuzz target makes it once per seed).
pub fn case_of(cat: &Catalog, seed: &[u8], case: u64) -> (Vec<u8>, String) {
    let mut img = seed.to_vec();
    let what = mutate::mutate(cat, &mut img, case);
    (img, format!("{} {case}: {what}", cat.name))
}
