// SPDX-License-Identifier: GPL-2.0

//! ferrite's ioctls: `FS_IOC_GETFSLABEL`, `FS_IOC_SETFSLABEL` and `FS_IOC_SHUTDOWN` (the ioctl
//! ext4, XFS and f2fs share). The VFS answers the others it knows (`FS_IOC_GETFLAGS` and
//! `FS_IOC_SETFLAGS`, `FS_IOC_FSGETXATTR`, `FS_IOC_GETFSUUID`, `FIBMAP`, `FIEMAP`) itself.

use super::format::LABEL_MAX;
use super::inode::mount_of;
use super::{File, Mount};
use crate::bindings;
use crate::vfs::file::IoctlArg;
use core::sync::atomic::Ordering;
use kernel::prelude::*;

/// The size of the label buffer of the label ioctls (`FSLABEL_MAX`).
const FSLABEL_MAX: usize = 256;
/// `FS_IOC_SHUTDOWN` modes.
const SHUTDOWN_DEFAULT: u32 = 0;
const SHUTDOWN_LOGFLUSH: u32 = 1;
const SHUTDOWN_NOLOGFLUSH: u32 = 2;

/// The ioctls of ferrite's files and directories.
pub(crate) fn ioctl(file: &File, cmd: u32, arg: IoctlArg) -> Result<i64> {
    let mount = mount_of(file.inode().super_block())?;
    match cmd {
        bindings::FS_IOC_GETFSLABEL => get_label(mount, arg),
        bindings::FS_IOC_SETFSLABEL => set_label(file, mount, arg),
        bindings::FS_IOC_SHUTDOWN => shutdown(file, mount, arg),
        _ => Err(ENOTTY),
    }
    .map(|()| 0)
}

/// `FS_IOC_GETFSLABEL`: the label, NUL-padded to `FSLABEL_MAX` bytes.
fn get_label(mount: &Mount, arg: IoctlArg) -> Result {
    let mut out = [0u8; FSLABEL_MAX];
    {
        let meta = mount.meta.lock();
        if let Some(d) = out.get_mut(..LABEL_MAX) {
            d.copy_from_slice(&meta.sb.label);
        }
    }
    arg.write_bytes(&out)
}

/// `FS_IOC_SETFSLABEL` (`CAP_SYS_ADMIN`): a label of up to 64 bytes of UTF-8 without control
/// characters (`EINVAL` otherwise), written to both superblocks in one transaction.
fn set_label(file: &File, mount: &Mount, arg: IoctlArg) -> Result {
    if !crate::vfs::capable_sys_admin() {
        return Err(EPERM);
    }
    let mut buf = [0u8; FSLABEL_MAX];
    arg.read_bytes(&mut buf)?;
    let len = buf.iter().position(|&b| b == 0).ok_or(EINVAL)?;
    let text = buf.get(..len).ok_or(EINVAL)?;
    // The rule mkfs and ferrite-tune apply too.
    if !super::format::label_is_valid(text) {
        return Err(EINVAL);
    }
    let mut label = [0u8; LABEL_MAX];
    if let Some(d) = label.get_mut(..len) {
        d.copy_from_slice(text);
    }
    let _write = file.want_write()?;
    mount.set_label(&label)
}

/// `FS_IOC_SHUTDOWN` (`CAP_SYS_ADMIN`): from now on every operation fails with `EIO`, and the
/// filesystem is left as a crash would leave it for the next mount to recover. Every committed
/// transaction is durable already. The default mode first empties the journal, as freezing does
/// (ext4 and XFS freeze the device in this mode, and their logs are then clean). `LOGFLUSH` and
/// `NOLOGFLUSH` leave the journal for the next mount to replay, as ext4 and XFS leave theirs:
/// `LOGFLUSH` asks that what is committed be in the log, which in ferrite it is at commit.
fn shutdown(file: &File, mount: &Mount, arg: IoctlArg) -> Result {
    if !crate::vfs::capable_sys_admin() {
        return Err(EPERM);
    }
    let mode = arg.read_u32()?;
    let checkpoint = match mode {
        SHUTDOWN_DEFAULT => true,
        SHUTDOWN_LOGFLUSH | SHUTDOWN_NOLOGFLUSH => false,
        _ => return Err(EINVAL),
    };
    let sb = file.inode().super_block();
    if checkpoint && !sb.read_only() {
        // Already shut down: nothing more to do.
        if mount.checkpoint().is_err() && mount.shut_down.load(Ordering::Acquire) {
            return Ok(());
        }
    }
    {
        // Under the metadata lock: no transaction is half-way when the flag flips.
        let _meta = mount.meta.lock();
        if mount.shut_down.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
    }
    pr_info!(
        "{}: shut down (mode {}): every operation fails with EIO until it is unmounted\n",
        sb.id(),
        mode
    );
    Ok(())
}
