// SPDX-License-Identifier: GPL-2.0

//! ferrite: a filesystem for persistent memory, used through DAX.
//!
//! This is the crate root of `ferrite.ko`. The crate has three abstraction layers, which never
//! know the filesystem: `src/vfs/` (the VFS objects and their operation tables, [`vfs`]),
//! `iomap/` ([`iomap`]) and `dax/` ([`dax`]), with the crate's own services beside them in `src/`
//! (persistence primitives, statistics, errnos). The filesystem itself lives in `fs/`, in safe
//! Rust only, and implements the layers' traits.

use kernel::prelude::*;

mod bindings;
mod errno;
mod kvec;
mod pmem;
mod stats;
mod sys;
mod vfs;

#[path = "../dax/mod.rs"]
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
static FERRITE_TYPE: vfs::fs_type::FsTypeSlot = vfs::fs_type::FsTypeSlot::new();

/// Dropped in field order: the filesystem type is unregistered before `/sys/fs/ferrite` goes.
struct FerriteModule {
    _fs: vfs::fs_type::Registration,
    _sysfs: stats::SysfsRoot,
    #[cfg(ferrite_trace)]
    _trace: pmem::trace::TraceDir,
}

impl kernel::Module for FerriteModule {
    fn init(module: &'static ThisModule) -> Result<Self> {
        #[cfg(ferrite_trace)]
        let trace = pmem::trace::TraceDir::new()?;
        let sysfs = stats::SysfsRoot::new()?;
        let fs = vfs::fs_type::Registration::new::<fs::Ferrite>(&FERRITE_TYPE, module)?;
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
