// SPDX-License-Identifier: GPL-2.0

//! ferrite's own bindings to the kernel's VFS, iomap and DAX headers.
//!
//! Generated at build time by `bindgen` from `src/bindings_helper.h`, with the kernel's own bindgen
//! flags (see `Kbuild`). Types here are distinct from `kernel::bindings`: where a pointer crosses
//! from one set to the other, the conversion is a pointer cast in the abstraction that needs it.

#![allow(
    dead_code,
    missing_docs,
    non_camel_case_types,
    non_upper_case_globals,
    non_snake_case,
    improper_ctypes,
    unreachable_pub,
    unsafe_op_in_unsafe_fn,
    unknown_lints,
    unnecessary_transmutes,
    clippy::all,
    clippy::undocumented_unsafe_blocks
)]

use kernel::ffi;

// The kernel's bindgen parameters blocklist these; define them as `rust/bindings` does.
type __kernel_size_t = usize;
type __kernel_ssize_t = isize;
type __kernel_ptrdiff_t = isize;

include!("bindings_generated.rs");
