// SPDX-License-Identifier: GPL-2.0

//! ferrite's on-media format for userspace: the same source as the kernel module's `format`
//! module (`fs/format/`), compiled as a `no_std` crate. See `docs/FORMAT.md`.

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
