// SPDX-License-Identifier: GPL-2.0

//! Mount contexts.
//!
//! C header: [`include/linux/fs_context.h`](srctree/include/linux/fs_context.h).

use crate::bindings;
use kernel::prelude::*;
use kernel::types::Opaque;

/// A mount context (`struct fs_context`), borrowed for the duration of a VFS callback.
#[repr(transparent)]
pub(crate) struct FsContext(Opaque<bindings::fs_context>);

impl FsContext {
    /// Borrows the mount context behind `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a valid `fs_context` that stays valid, and is not moved, for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::fs_context) -> &'a Self {
        // SAFETY: `FsContext` is a transparent wrapper of `fs_context`, and the caller guarantees
        // that `ptr` is valid for `'a`.
        unsafe { &*ptr.cast::<Self>() }
    }

    /// Logs an error message against this mount: `mount(8)` shows it, and so does the kernel log.
    pub(crate) fn error(&self, msg: &CStr) {
        // SAFETY: `self.0.get()` is a valid context by the type's construction, and `msg` is a
        // NUL-terminated string that outlives the call.
        unsafe { bindings::ferrite_fc_error(self.0.get(), msg.as_char_ptr()) };
    }
}
