// SPDX-License-Identifier: GPL-2.0

//! The DAX layer: safe abstractions of the kernel's DAX core (`fs/dax.c`,
//! `drivers/dax/super.c`) for a filesystem whose regular files are DAX files.
//!
//! It owns all of DAX: the device ([`device`]), reads and writes ([`rw`]), the page fault
//! handlers and `MAP_SYNC` completion ([`fault`]), writeback of dirty entries ([`writeback`]),
//! and layout breaking before blocks are freed ([`layout`]). It never knows the filesystem: what
//! it needs of one (its iomap operations, its DAX device, where to count faults) comes through
//! [`DaxFileSystem`]. Nothing here names a type or function of `fs/`.

pub(crate) mod device;
pub(crate) mod fault;
pub(crate) mod layout;
pub(crate) mod rw;
pub(crate) mod writeback;

use crate::iomap;
use crate::vfs::inode::Ops;
use crate::vfs::{FileOperations, FileSystem, InodeOperations, SuperBlock};
use device::DaxDevice;
pub(crate) use fault::FaultEvent;

/// A filesystem whose regular files are DAX files.
pub(crate) trait DaxFileSystem: FileSystem {
    /// The iomap operations of the filesystem's files, which every DAX walk of a file uses.
    type Iomap: iomap::Operations<FileSystem = Self>;

    /// The DAX device of a mount, once it is set up.
    fn dax_device(sb: &SuperBlock<Self>) -> Option<&DaxDevice>;

    /// Counts the outcome of a page fault, in the filesystem's own counters.
    fn count_fault(sb: &SuperBlock<Self>, event: FaultEvent);
}

/// The operations of a DAX regular file: the inode operations `I`, the file operations `F`,
/// the DAX address space operations (writeback of dirty entries), and `S_DAX`.
pub(crate) const fn file_ops<T, I, F>() -> Ops<T>
where
    T: DaxFileSystem,
    I: InodeOperations<FileSystem = T>,
    F: FileOperations<FileSystem = T>,
{
    Ops::regular::<I, F>(writeback::aops::<T>(), true)
}
