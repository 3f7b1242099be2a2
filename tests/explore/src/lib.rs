// SPDX-License-Identifier: GPL-2.0

//! The host side of ferrite's crash-state explorer.
//!
//! The trace build of the kernel module records every persistent store, flush and fence ferrite
//! makes, in order and with their bytes, plus the marks the workload writes around each system
//! call ([`trace`]). From that trace and the image of the device taken just before mount, the
//! explorer ([`explore`]) rebuilds every crash state the persistence model allows, recovers each
//! as mount does ([`recover`]), runs `fsck -n` on it, takes its semantic snapshot ([`snapshot`]:
//! the visible tree, and stale device contents exposed through files) and compares it with what
//! the workload's completed calls promised.

#![forbid(unsafe_code)]

pub mod explore;
pub mod hash;
pub mod recover;
pub mod snapshot;
pub mod trace;
