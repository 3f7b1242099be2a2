// SPDX-License-Identifier: GPL-2.0

//! ferrite: a filesystem for persistent memory, used through DAX.
//!
//! This is the crate root of `ferrite.ko`. `src/` holds the kernel glue and the safe abstractions
//! of the VFS objects; the filesystem itself lives in `fs/` (safe Rust only).

use kernel::prelude::*;

// The abstractions of kernel objects are whole APIs; the filesystem does not use every part yet.
mod bindings;
mod errno;
#[allow(dead_code)]
mod fs_context;
mod fs_type;
mod kvec;
mod mem;
mod ops;
#[allow(dead_code)]
mod pmem;
mod stats;
#[allow(dead_code)]
mod super_block;
#[allow(dead_code)]
mod vfs;

#[path = "../dax/mod.rs"]
#[allow(dead_code)]
mod dax;

#[path = "../iomap/mod.rs"]
mod iomap;

#[path = "../fs/mod.rs"]
mod fs;

module! {
    type: FerriteModule,
    name: "ferrite",
    author: "the ferrite developers",
    description: "ferrite: a DAX filesystem for persistent memory",
    license: "GPL",
}

/// The `ferrite` filesystem type, in static memory as lockdep requires.
static FERRITE_TYPE: fs_type::FsTypeSlot = fs_type::FsTypeSlot::new();

/// Dropped in field order: the filesystem type is unregistered before `/sys/fs/ferrite` goes.
struct FerriteModule {
    _fs: fs_type::Registration,
    _sysfs: stats::SysfsRoot,
    #[cfg(ferrite_trace)]
    _trace: pmem::trace::Registration,
}

impl kernel::Module for FerriteModule {
    fn init(module: &'static ThisModule) -> Result<Self> {
        #[cfg(ferrite_trace)]
        let trace = pmem::trace::Registration::new()?;
        let sysfs = stats::SysfsRoot::new()?;
        let fs = fs_type::Registration::new::<fs::Ferrite>(&FERRITE_TYPE, module)?;
        pr_info!("filesystem type registered\n");
        Ok(FerriteModule {
            _fs: fs,
            _sysfs: sysfs,
            #[cfg(ferrite_trace)]
            _trace: trace,
        })
    }
}

impl Drop for FerriteModule {
    fn drop(&mut self) {
        pr_info!("unloading\n");
    }
}
