// SPDX-License-Identifier: GPL-2.0

//! ferrite's on-media format and the filesystem operations built on it, as a `no_std` crate for
//! userspace. See `docs/FORMAT.md`.
//!
//! The kernel module compiles the same two source trees, `src/format/` and `src/ops/`, as its
//! modules `crate::fs::format` and `crate::fs::ops` (by `#[path]` from `fs/mod.rs`: the kernel
//! build does not use cargo), so mkfs, fsck and the kernel can never disagree about the format.
//!
//! What only the tools and tests use is behind two features, never enabled in the kernel build:
//! `mkfs` (making a filesystem: [`ops::mkfs`], [`Layout::compute`], ...) and `inspect` (walking
//! every tree node, the readdir cookies before the entries, the field offset tables, ...).

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

mod format;

pub use format::*;

/// Filesystem operations on any [`BlockIo`]: the kernel module's `crate::fs::ops`.
pub mod ops;
