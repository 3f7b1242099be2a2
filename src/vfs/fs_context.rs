// SPDX-License-Identifier: GPL-2.0

//! Mount contexts.
//!
//! C header: [`include/linux/fs_context.h`](srctree/include/linux/fs_context.h).

use crate::bindings;
use kernel::ffi;
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

    /// Asks for POSIX ACLs on or off (`acl`/`noacl`): the VFS applies `SB_POSIXACL` to the new
    /// super block, or to the mounted one on remount.
    pub(crate) fn set_posix_acl(&self, on: bool) {
        let bit = bindings::SB_POSIXACL as kernel::ffi::c_uint;
        // SAFETY: the context is valid and owned by the mount call parsing its options, which is
        // this call's caller; nothing else writes the flags meanwhile.
        unsafe {
            let fc = self.as_ptr();
            (*fc).sb_flags_mask |= bit;
            if on {
                (*fc).sb_flags |= bit;
            } else {
                (*fc).sb_flags &= !bit;
            }
        }
    }

    /// Whether the options asked for POSIX ACLs (`Some(true)`), against them (`Some(false)`) or
    /// said nothing.
    pub(crate) fn posix_acl_choice(&self) -> Option<bool> {
        // SAFETY: the context is valid; its flags are set while the options are parsed, before.
        let (flags, mask) = unsafe { ((*self.as_ptr()).sb_flags, (*self.as_ptr()).sb_flags_mask) };
        let bit = bindings::SB_POSIXACL as kernel::ffi::c_uint;
        (mask & bit != 0).then_some(flags & bit != 0)
    }

    /// Adds `bits` to the filesystem's own option bits in this context (mount options the VFS
    /// has no flag for). They are kept in `fs_private` as an integer, not a pointer: the context
    /// operations have no `free`, and nothing dereferences it.
    pub(crate) fn add_option_bits(&self, bits: usize) {
        // SAFETY: the context is valid and owned by the mount call parsing its options, which is
        // this call's caller; `fs_private` is the filesystem's, and only these two functions use
        // it (an integer in a pointer field, zero in a new context).
        unsafe {
            let fc = self.as_ptr();
            let old = (*fc).fs_private as usize;
            (*fc).fs_private = (old | bits) as *mut ffi::c_void;
        }
    }

    /// The filesystem's own option bits the options set ([`add_option_bits`](Self::add_option_bits)).
    pub(crate) fn option_bits(&self) -> usize {
        // SAFETY: the context is valid; `fs_private` holds the integer `add_option_bits` left
        // there, or zero.
        unsafe { (*self.as_ptr()).fs_private as usize }
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

/// One mount parameter a filesystem accepts (`struct fs_parameter_spec`), as the C macros
/// `fsparam_flag` and `fsparam_enum` make them.
#[repr(transparent)]
pub(crate) struct Param(bindings::fs_parameter_spec);

impl Param {
    /// A flag: `name` with no value (`fsparam_flag`), reported as option `opt`.
    pub(crate) const fn flag(name: &'static CStr, opt: u8) -> Self {
        Self(bindings::fs_parameter_spec {
            name: name.as_char_ptr(),
            type_: None,
            opt,
            flags: 0,
            data: core::ptr::null(),
        })
    }

    /// `name=VALUE` with VALUE one of `values` (`fsparam_enum`), reported as option `opt` with
    /// the value's number.
    pub(crate) const fn enumerated<const N: usize>(
        name: &'static CStr,
        opt: u8,
        values: &'static ParamValues<N>,
    ) -> Self {
        Self(bindings::fs_parameter_spec {
            name: name.as_char_ptr(),
            type_: Some(bindings::fs_param_is_enum),
            opt,
            flags: 0,
            data: core::ptr::from_ref(values).cast(),
        })
    }
}

/// The values of an enumerated parameter (`struct constant_table[]`), NULL-terminated by
/// construction.
#[repr(C)]
pub(crate) struct ParamValues<const N: usize> {
    values: [bindings::constant_table; N],
    end: bindings::constant_table,
}

// SAFETY: the table is never written after it is built; its pointers are to `'static` strings.
unsafe impl<const N: usize> Sync for ParamValues<N> {}

impl<const N: usize> ParamValues<N> {
    /// The table of `(name, number)` pairs.
    pub(crate) const fn new(values: [(&'static CStr, i32); N]) -> Self {
        let mut t = [bindings::constant_table {
            name: core::ptr::null(),
            value: 0,
        }; N];
        let mut i = 0;
        while i < N {
            t[i] = bindings::constant_table {
                name: values[i].0.as_char_ptr(),
                value: values[i].1,
            };
            i += 1;
        }
        Self {
            values: t,
            end: bindings::constant_table {
                name: core::ptr::null(),
                value: 0,
            },
        }
    }
}

/// The mount parameters of a filesystem (`struct fs_parameter_spec[]`), NULL-terminated by
/// construction; the VFS parses the options of a mount against it (`fs_parse`).
#[repr(C)]
pub(crate) struct Params<const N: usize> {
    specs: [Param; N],
    end: bindings::fs_parameter_spec,
}

// SAFETY: the table is never written after it is built; its pointers are to `'static` strings,
// value tables and functions.
unsafe impl<const N: usize> Sync for Params<N> {}

impl<const N: usize> Params<N> {
    /// The table of `specs`.
    pub(crate) const fn new(specs: [Param; N]) -> Self {
        Self {
            specs,
            end: bindings::fs_parameter_spec {
                name: core::ptr::null(),
                type_: None,
                opt: 0,
                flags: 0,
                data: core::ptr::null(),
            },
        }
    }

    /// The table, for [`FileSystem::PARAMS`](super::FileSystem::PARAMS).
    pub(crate) const fn table(&'static self) -> ParamTable {
        ParamTable(core::ptr::from_ref(self).cast())
    }
}

/// A NUL-terminated `fs_parameter_spec` table in static memory, made by [`Params::table`].
#[derive(Clone, Copy)]
pub(crate) struct ParamTable(*const bindings::fs_parameter_spec);

// SAFETY: it points to a `Params`, which is `Sync` and `'static`.
unsafe impl Sync for ParamTable {}

impl ParamTable {
    /// The raw pointer, for `file_system_type::parameters`.
    pub(crate) fn as_ptr(self) -> *const bindings::fs_parameter_spec {
        self.0
    }
}

/// A mount option of the filesystem's table, parsed: the option number its [`Param`] gave, and
/// for an enumerated one the value's number.
pub(crate) struct MountOption {
    /// The option number.
    pub(crate) opt: u8,
    /// The value's number (enumerated options; 0 for flags).
    pub(crate) value: u32,
}

/// Parses one mount parameter against the filesystem's table `params` (`fs_parse`).
///
/// Returns `Ok(None)` for a parameter the table does not have, which the VFS then handles
/// (`source`) or refuses with a message naming it.
///
/// # Safety
///
/// `fc` and `param` must be valid for the call, as the VFS passes them to `parse_param`.
pub(crate) unsafe fn parse_param(
    fc: *mut bindings::fs_context,
    param: *mut bindings::fs_parameter,
    params: ParamTable,
) -> Result<Option<MountOption>> {
    let mut value = 0u32;
    // SAFETY: `fc` and `param` are valid by the caller's guarantee; the table is a static,
    // NULL-terminated `fs_parameter_spec` array (`ParamTable`); `value` is a valid out-pointer.
    let opt = unsafe { bindings::ferrite_fs_parse(fc, params.as_ptr(), param, &mut value) };
    if opt == ENOPARAM.to_errno() {
        return Ok(None);
    }
    kernel::error::to_result(opt)?;
    let opt = u8::try_from(opt).map_err(|_| EINVAL)?;
    Ok(Some(MountOption { opt, value }))
}
