//! `fstest`: small probes that ferrite's VM tests run in the guest, on ferrite and on ext4 or
//! XFS in DAX mode, so that both can be compared line for line.
//!
//! ```text
//! fstest statx PATH     print the statx attributes of PATH, and whether it is DAX
//! ```

use std::ffi::CString;
use std::process::ExitCode;

/// `STATX_ATTR_DAX` (include/uapi/linux/stat.h).
const STATX_ATTR_DAX: u64 = 0x0020_0000;

fn statx(path: &str) -> Result<libc::statx, String> {
    let c = CString::new(path).map_err(|_| format!("{path}: path contains a NUL byte"))?;
    let mut st = std::mem::MaybeUninit::<libc::statx>::zeroed();
    // SAFETY: `c` is a NUL-terminated path and `st` is valid for writing one `statx`.
    let rc = unsafe {
        libc::statx(
            libc::AT_FDCWD,
            c.as_ptr(),
            0,
            libc::STATX_ALL,
            st.as_mut_ptr(),
        )
    };
    if rc != 0 {
        return Err(format!(
            "{path}: statx: {}",
            std::io::Error::last_os_error()
        ));
    }
    // SAFETY: `statx` returned 0, so it filled `st`.
    Ok(unsafe { st.assume_init() })
}

fn cmd_statx(path: &str) -> Result<(), String> {
    let st = statx(path)?;
    println!("attributes 0x{:x}", st.stx_attributes);
    println!("attributes_mask 0x{:x}", st.stx_attributes_mask);
    println!("dax {}", u8::from(st.stx_attributes & STATX_ATTR_DAX != 0));
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["statx", path] => cmd_statx(path),
        _ => Err("usage: fstest statx PATH".to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fstest: {e}");
            ExitCode::FAILURE
        }
    }
}
