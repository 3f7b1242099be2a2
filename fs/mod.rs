// SPDX-License-Identifier: GPL-2.0

//! The ferrite filesystem, in safe Rust.

pub(crate) mod format;
mod mount;
mod pmem_io;

use crate::dax::device::DaxDevice;
use crate::fs_context::{DaxMode, FsContext, MountOption};
use crate::fs_type::FileSystem;
use crate::pmem::Pmem;
use crate::super_block::SuperBlock;
use kernel::c_str;
use kernel::prelude::*;

/// The `ferrite` filesystem type.
pub(crate) struct Ferrite;

/// A mounted ferrite filesystem.
pub(crate) struct Mount {
    /// The device's persistent memory; dropped before `_dax`, which keeps it mapped.
    _pmem: Pmem,
    _dax: DaxDevice,
}

impl FileSystem for Ferrite {
    const NAME: &'static CStr = c_str!("ferrite");
    type Data = Mount;

    fn parse_option(fc: &FsContext, opt: MountOption) -> Result {
        match opt {
            MountOption::Dax | MountOption::DaxMode(DaxMode::Always) => Ok(()),
            MountOption::DaxMode(DaxMode::Never | DaxMode::Inode) => {
                fc.error(c_str!(
                    "only dax=always is supported: ferrite always uses DAX"
                ));
                Err(EINVAL)
            }
        }
    }

    fn fill_super(sb: &SuperBlock, fc: &FsContext) -> Result<KBox<Mount>> {
        let Some(dax) = sb.dax_device() else {
            fc.error(c_str!(
                "the device does not support DAX; ferrite needs pmem in fsdax mode"
            ));
            return Err(EINVAL);
        };
        let size = sb.device_size() & !(kernel::page::PAGE_SIZE as u64 - 1);
        let pmem = dax.map(size).inspect_err(|_| {
            fc.error(c_str!(
                "cannot map the whole device through DAX (media errors?)"
            ));
        })?;
        let loaded = mount::load(&pmem, fc)?;
        pr_info!(
            "{}: {} blocks, {} inodes, {} journal blocks, root directory of {} links; valid{}\n",
            sb.id(),
            loaded.sb.layout.block_count,
            loaded.sb.layout.inode_count,
            loaded.sb.layout.journal_blocks,
            loaded.root.nlink,
            if loaded.force_ro {
                " (read-only features)"
            } else {
                ""
            }
        );
        // Inodes and directories are not implemented in the kernel yet: the filesystem has been
        // validated and its journal recovered, but it cannot be mounted. Refuse, and say why.
        let _mount = Mount {
            _pmem: pmem,
            _dax: dax,
        };
        fc.error(c_str!(
            "mounting is not supported yet: inodes and directories are not implemented"
        ));
        Err(crate::errno::eopnotsupp())
    }
}
