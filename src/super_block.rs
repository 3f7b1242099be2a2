// SPDX-License-Identifier: GPL-2.0

//! Super blocks.
//!
//! C header: [`include/linux/fs.h`](srctree/include/linux/fs.h) (`struct super_block`).

use crate::bindings;
use crate::dax::device::DaxDevice;
use kernel::types::Opaque;

/// A super block being set up or in use, borrowed for the duration of a VFS callback.
#[repr(transparent)]
pub(crate) struct SuperBlock(Opaque<bindings::super_block>);

impl SuperBlock {
    /// Borrows the super block behind `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a valid `super_block` that stays valid for `'a`, with `s_bdev` set (a
    /// block-device filesystem).
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::super_block) -> &'a Self {
        // SAFETY: `SuperBlock` is a transparent wrapper of `super_block`; the caller guarantees
        // validity for `'a`.
        unsafe { &*ptr.cast::<Self>() }
    }

    /// The raw pointer, for the abstractions in `src/`.
    pub(crate) fn as_ptr(&self) -> *mut bindings::super_block {
        self.0.get()
    }

    /// The DAX device behind the super block's block device, if it has one.
    pub(crate) fn dax_device(&self) -> Option<DaxDevice> {
        // SAFETY: `s_bdev` of a mounted block-device super block is valid and stays open until the
        // super block is killed, which is after the mount's data (holding the `DaxDevice`) is
        // dropped in `kill_sb`.
        unsafe { DaxDevice::from_bdev((*self.as_ptr()).s_bdev) }
    }

    /// The size of the block device in bytes.
    pub(crate) fn device_size(&self) -> u64 {
        // SAFETY: as in `dax_device`, `s_bdev` is valid.
        let n = unsafe { bindings::ferrite_bdev_nr_bytes((*self.as_ptr()).s_bdev) };
        u64::try_from(n).unwrap_or(0)
    }

    /// The device name (`s_id`), for messages.
    pub(crate) fn id(&self) -> &kernel::str::CStr {
        // SAFETY: `s_id` is a NUL-terminated array set when the super block was created, and it
        // does not change while the super block lives.
        unsafe { kernel::str::CStr::from_char_ptr((*self.as_ptr()).s_id.as_ptr()) }
    }

    /// Whether the super block is read-only (`sb_rdonly`).
    pub(crate) fn read_only(&self) -> bool {
        // SAFETY: `s_flags` is readable while the super block is valid; a racy read of a flag word
        // gives a value that was current at some point, which is all callers need.
        let flags = unsafe { (*self.as_ptr()).s_flags };
        flags & bindings::SB_RDONLY as kernel::ffi::c_ulong != 0
    }

    /// Sets a new super block up: magic, operations, size and link limits, 4 KiB blocks, UUID.
    pub(crate) fn init(
        &self,
        magic: u64,
        ops: &'static bindings::super_operations,
        max_bytes: u64,
        max_links: u32,
        uuid: &[u8; 16],
    ) -> kernel::error::Result {
        let max = i64::try_from(max_bytes).unwrap_or(i64::MAX);
        // SAFETY: the super block is being filled in by `fill_super` and not yet visible; the
        // operations table is static; `uuid` is 16 readable bytes.
        kernel::error::to_result(unsafe {
            bindings::ferrite_sb_init(
                self.as_ptr(),
                magic as kernel::ffi::c_ulong,
                core::ptr::from_ref(ops).cast(),
                max,
                max_links,
                uuid.as_ptr(),
            )
        })
    }
}
