// SPDX-License-Identifier: GPL-2.0

//! What ferrite's host tests share: block devices in memory ([`MemIo`] for the format's trees,
//! [`FsIo`] for whole filesystems) and the [`scenarios`] of the filesystem operations, which the
//! format crate runs in memory and the tools run on image files followed by fsck.

mod fs_io;
mod mem_io;
pub mod scenarios;

pub use fs_io::FsIo;
pub use mem_io::{MemIo, Rng, BS};
