// SPDX-License-Identifier: GPL-2.0

//! Directory reading contexts.
//!
//! C header: [`include/linux/fs.h`](srctree/include/linux/fs.h) (`struct dir_context`,
//! `dir_emit`).

use super::{File, FileSystem};
use crate::bindings;
use kernel::types::Opaque;

/// A `readdir` in progress, borrowed for an `iterate_shared` callback.
///
/// # Invariants
///
/// The wrapped context is valid, and changed by this callback only, while the wrapper is
/// borrowed.
#[repr(transparent)]
pub(crate) struct DirContext(Opaque<bindings::dir_context>);

impl DirContext {
    /// The position (cookie).
    pub(crate) fn pos(&self) -> i64 {
        // SAFETY: the context is valid for the callback and only this callback changes it.
        unsafe { (*self.0.get()).pos }
    }

    /// Sets the position.
    pub(crate) fn set_pos(&self, pos: i64) {
        // SAFETY: as above.
        unsafe { (*self.0.get()).pos = pos };
    }

    /// Emits `.` and `..` if the position is before them (`dir_emit_dots`).
    pub(crate) fn emit_dots<T: FileSystem>(&self, file: &File<T>) -> bool {
        // SAFETY: both valid for the callback.
        unsafe { bindings::ferrite_dir_emit_dots(file.as_ptr(), self.0.get()) != 0 }
    }

    /// Emits one entry at the current position; false when the caller's buffer is full.
    pub(crate) fn emit(&self, name: &[u8], ino: u64, dtype: u8) -> bool {
        let len = i32::try_from(name.len()).unwrap_or(0);
        // SAFETY: the context is valid; `name` is `len` readable bytes.
        unsafe {
            bindings::ferrite_dir_emit(self.0.get(), name.as_ptr().cast(), len, ino, dtype.into())
                != 0
        }
    }
}
