// SPDX-License-Identifier: GPL-2.0

//! Error codes that `kernel::error::code` does not name in 6.12.

use kernel::error::Error;

macro_rules! errnos {
    ($($(#[$doc:meta])* $fn:ident = $name:ident;)*) => {$(
        $(#[$doc])*
        pub(crate) fn $fn() -> Error {
            // The kernel's errno constants are small positive numbers, so the negation is exact.
            Error::from_errno(-(kernel::bindings::$name as i32))
        }
    )*};
}

errnos! {
    /// Operation not supported.
    eopnotsupp = EOPNOTSUPP;
    /// Structure needs cleaning: on-media metadata is corrupt (`EFSCORRUPTED`).
    euclean = EUCLEAN;
    /// Directory not empty.
    enotempty = ENOTEMPTY;
    /// File name too long.
    enametoolong = ENAMETOOLONG;
    /// No such attribute (`ENOATTR`).
    enodata = ENODATA;
    /// Stale file handle.
    estale = ESTALE;
}
