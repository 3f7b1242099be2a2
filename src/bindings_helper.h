/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel headers ferrite binds for itself (the kernel crate's bindings do not cover the VFS,
 * iomap or DAX). What is generated is limited by src/bindgen_allowlist.
 */
#include <linux/dax.h>
#include <linux/falloc.h>
#include <linux/fiemap.h>
#include <linux/exportfs.h>
#include <linux/fileattr.h>
#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/fs_parser.h>
#include <linux/iomap.h>
#include <linux/libnvdimm.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/posix_acl.h>
#include <linux/posix_acl_xattr.h>
#include <linux/capability.h>
#include <linux/statfs.h>
#include <linux/uio.h>
#include <linux/xarray.h>
#include <linux/xattr.h>

#include "helpers.h"
#include "vfs/vfs.h"
#include "vfs/xattr.h"
#include "../dax/dax.h"

/* Constants bindgen cannot evaluate by itself become FERRITE_CONST_* and are renamed after. */
const unsigned long FERRITE_CONST_SB_RDONLY = SB_RDONLY;
const unsigned long FERRITE_CONST_SB_POSIXACL = SB_POSIXACL;
const unsigned int FERRITE_CONST_FS_IOC_GETFSLABEL = FS_IOC_GETFSLABEL;
const unsigned int FERRITE_CONST_FS_IOC_SETFSLABEL = FS_IOC_SETFSLABEL;
/* The shutdown ioctl of ext4 (EXT4_IOC_SHUTDOWN), XFS (XFS_IOC_GOINGDOWN) and f2fs. */
const unsigned int FERRITE_CONST_FS_IOC_SHUTDOWN = _IOR('X', 125, __u32);
const int FERRITE_CONST_IOCB_NOWAIT = IOCB_NOWAIT;
const unsigned int FERRITE_CONST_VM_FAULT_NEEDDSYNC = (__force unsigned int)VM_FAULT_NEEDDSYNC;
const unsigned int FERRITE_CONST_FOP_MMAP_SYNC = (__force unsigned int)FOP_MMAP_SYNC;
const unsigned int FERRITE_CONST_FMODE_CAN_ODIRECT = (__force unsigned int)FMODE_CAN_ODIRECT;
const unsigned int FERRITE_CONST_VM_FAULT_FALLBACK = (__force unsigned int)VM_FAULT_FALLBACK;
const unsigned int FERRITE_CONST_VM_FAULT_ERROR = (__force unsigned int)VM_FAULT_ERROR;
const unsigned int FERRITE_CONST_VM_FAULT_RETRY = (__force unsigned int)VM_FAULT_RETRY;
const unsigned int FERRITE_CONST_VM_FAULT_SIGBUS = (__force unsigned int)VM_FAULT_SIGBUS;
const unsigned int FERRITE_CONST_PMD_ORDER = PMD_ORDER;
