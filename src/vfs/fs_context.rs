// SPDX-License-Identifier: GPL-2.0

//! Mount contexts.
//!
//! C header: [`include/linux/fs_context.h`](srctree/include/linux/fs_context.h).

use crate::bindings;
use kernel::prelude::*;
use kernel::str::CString;
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

    /// The raw pointer, for the abstractions.
    pub(crate) fn as_ptr(&self) -> *mut bindings::fs_context {
        self.0.get()
    }

    /// The root dentry of the mount being reconfigured (NULL for a new mount).
    pub(crate) fn root(&self) -> *mut bindings::dentry {
        // SAFETY: the context is valid; `root` is set by the VFS before `reconfigure` and not
        // changed during it.
        unsafe { (*self.as_ptr()).root }
    }

    /// For a reconfiguration: `Some(true)` to make the mount read-only, `Some(false)` to make it
    /// read-write, `None` to leave it.
    pub(crate) fn read_only_change(&self) -> Option<bool> {
        // SAFETY: the context is valid; the flags are set by the VFS before `reconfigure`.
        let (flags, mask) = unsafe { ((*self.as_ptr()).sb_flags, (*self.as_ptr()).sb_flags_mask) };
        let ro = bindings::SB_RDONLY as kernel::ffi::c_uint;
        (mask & ro != 0).then_some(flags & ro != 0)
    }

    /// Logs an error message against this mount: `mount(8)` shows it, and so does the kernel log.
    pub(crate) fn error(&self, msg: &CStr) {
        // SAFETY: `self.0.get()` is a valid context by the type's construction, and `msg` is a
        // NUL-terminated string that outlives the call.
        unsafe { bindings::ferrite_fc_error(self.0.get(), msg.as_char_ptr()) };
    }

    /// Logs a formatted error message against this mount (see [`FsContext::error`]).
    pub(crate) fn error_fmt(&self, args: core::fmt::Arguments<'_>) {
        match CString::try_from_fmt(args) {
            Ok(msg) => self.error(&msg),
            Err(_) => self.error(kernel::c_str!("out of memory while reporting an error")),
        }
    }
}

/// A mount option ferrite knows.
pub(crate) enum MountOption {
    /// `dax`.
    Dax,
    /// `dax=MODE`.
    DaxMode(DaxMode),
}

/// The values of `dax=`.
pub(crate) enum DaxMode {
    /// `dax=always`.
    Always,
    /// `dax=never`.
    Never,
    /// `dax=inode`.
    Inode,
}

/// Parses one mount parameter against ferrite's option table (`src/vfs/vfs.c`).
///
/// Returns `Ok(None)` for a parameter ferrite does not know, which the VFS then handles (`source`)
/// or refuses with a message naming it.
///
/// # Safety
///
/// `fc` and `param` must be valid for the call, as the VFS passes them to `parse_param`.
pub(crate) unsafe fn parse_param(
    fc: *mut bindings::fs_context,
    param: *mut bindings::fs_parameter,
) -> Result<Option<MountOption>> {
    let mut value = 0u32;
    // SAFETY: `fc` and `param` are valid by the caller's guarantee; `value` is a valid out-pointer.
    let opt = unsafe { bindings::ferrite_parse_param(fc, param, &mut value) };
    if opt == ENOPARAM.to_errno() {
        return Ok(None);
    }
    kernel::error::to_result(opt)?;
    Ok(Some(match opt as u32 {
        bindings::ferrite_opt_FERRITE_OPT_DAX => MountOption::Dax,
        bindings::ferrite_opt_FERRITE_OPT_DAX_MODE => MountOption::DaxMode(match value {
            bindings::ferrite_dax_mode_FERRITE_DAX_ALWAYS => DaxMode::Always,
            bindings::ferrite_dax_mode_FERRITE_DAX_NEVER => DaxMode::Never,
            bindings::ferrite_dax_mode_FERRITE_DAX_INODE => DaxMode::Inode,
            _ => return Err(EINVAL),
        }),
        _ => return Err(EINVAL),
    }))
}
