// SPDX-License-Identifier: GPL-2.0

//! Error codes that `kernel::error::code` does not name in 6.12.

use kernel::error::Error;

macro_rules! errnos {
    ($($(#[$doc:meta])* $fn:ident = $name:ident;)*) => {$(
        $(#[$doc])*
        #[allow(dead_code)]
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
    /// File name too long.
    enametoolong = ENAMETOOLONG;
    /// Directory not empty.
    enotempty = ENOTEMPTY;
    /// No data available (no such extended attribute).
    enodata = ENODATA;
    /// Value too large for defined data type.
    eoverflow = EOVERFLOW;
}
