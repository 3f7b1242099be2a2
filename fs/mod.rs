// SPDX-License-Identifier: GPL-2.0

//! The ferrite filesystem, in safe Rust.

use crate::fs_context::FsContext;
use crate::fs_type::FileSystem;
use kernel::c_str;
use kernel::prelude::*;

/// The `ferrite` filesystem type.
pub(crate) struct Ferrite;

impl FileSystem for Ferrite {
    const NAME: &'static CStr = c_str!("ferrite");

    fn get_tree(fc: &FsContext) -> Result {
        // The on-media format does not exist yet: refuse every mount, and say why.
        fc.error(c_str!(
            "mounting is not supported yet: this build has no on-media format"
        ));
        Err(crate::errno::eopnotsupp())
    }
}
