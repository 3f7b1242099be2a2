// SPDX-License-Identifier: GPL-2.0

//! Safe abstractions of the kernel's DAX core (`fs/dax.c`, `drivers/dax/super.c`).

pub(crate) mod device;
pub(crate) mod fault;
pub(crate) mod rw;
