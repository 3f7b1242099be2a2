// SPDX-License-Identifier: GPL-2.0

//! ferrite's on-media format for userspace: the same source as the kernel module's `format`
//! module (`fs/format/`), compiled as a `no_std` crate. See `docs/FORMAT.md`. The filesystem
//! operations built on it (`fs/ops/`, the kernel's `ops` module) are [`ops`].

#![no_std]
#![forbid(unsafe_code)]
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::arithmetic_side_effects,
    clippy::unreachable,
    clippy::todo,
    clippy::unimplemented,
    missing_docs
)]

#[path = "../../../fs/format/mod.rs"]
mod format;

pub use format::*;

/// Filesystem operations on any [`BlockIo`]: the kernel module's `fs/ops/`.
#[path = "../../../fs/ops/mod.rs"]
pub mod ops;
