// SPDX-License-Identifier: GPL-2.0

//! What the tools' integration tests share: the binaries, temporary image files, running a tool.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const MKFS: &str = env!("CARGO_BIN_EXE_mkfs-ferrite");
pub const FSCK: &str = env!("CARGO_BIN_EXE_fsck-ferrite");
pub const DUMP: &str = env!("CARGO_BIN_EXE_ferrite-dump");
pub const TUNE: &str = env!("CARGO_BIN_EXE_ferrite-tune");

/// A temporary directory, removed when dropped.
pub struct Tmp(pub PathBuf);

impl Tmp {
    /// A fresh directory for test `tag` of this process.
    pub fn new(tag: &str) -> Tmp {
        let d = std::env::temp_dir().join(format!("ferrite-test-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Tmp(d)
    }

    /// A sparse image file `name` of `bytes` bytes in it.
    pub fn image(&self, name: &str, bytes: u64) -> PathBuf {
        let p = self.0.join(name);
        std::fs::File::create(&p).unwrap().set_len(bytes).unwrap();
        p
    }
}

impl Drop for Tmp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs tool `bin` with `args`, then `img`.
pub fn run(bin: &str, args: &[&str], img: &Path) -> Output {
    Command::new(bin).args(args).arg(img).output().unwrap()
}

/// What it printed, stdout then stderr.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Its exit code.
pub fn code(o: &Output) -> i32 {
    o.status.code().unwrap()
}

/// `fsck.ferrite FLAG img`: its exit code and output.
pub fn fsck(img: &Path, flag: &str) -> (i32, String) {
    let o = run(FSCK, &[flag], img);
    (code(&o), text(&o))
}

/// Fails unless `fsck.ferrite -n` finds `img` clean.
pub fn assert_clean(img: &Path) {
    let (c, s) = fsck(img, "-n");
    assert_eq!(c, 0, "fsck -n not clean:\n{s}");
}
