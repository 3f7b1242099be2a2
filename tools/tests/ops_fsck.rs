//! ferrite's filesystem operations on image files, checked by fsck: the scenarios (with their
//! exact expected results) are `ferrite_testing::scenarios`, which the format crate also runs; at each of their
//! checkpoints and at their end, `fsck -n` must find the image clean.

use ferrite_format::ops::Ctx;
use ferrite_format::{BlockIo, DiskSuperblock, Scratch, BLOCK_SIZE, STATE_CLEAN};
use ferrite_testing::scenarios::{self, Env, BLOCKS};
use ferrite_tools::fsck::{fsck, FsckOptions, Mode};
use ferrite_tools::image::Image;
use std::path::{Path, PathBuf};

/// A temporary image file, removed on drop.
struct TmpImage(PathBuf);

impl Drop for TmpImage {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Writes the superblock of `img` with exact free counts and the clean state (as an unmount
/// does), then runs `fsck -n` on `path`, which must find nothing.
fn check(path: &Path, img: &mut Image, sb: &DiskSuperblock, scratch: &mut Scratch, what: &str) {
    let mut sb = *sb;
    (sb.free_blocks, sb.free_inodes) = Ctx::new(img, &sb, scratch).free_counts().unwrap();
    sb.state = STATE_CLEAN;
    let mut b = [0u8; BLOCK_SIZE];
    sb.encode(&mut b);
    img.write(0, &b).unwrap();
    img.write(sb.layout.backup_sb, &b).unwrap();
    let mut out = Vec::new();
    let opts = FsckOptions {
        mode: Mode::Check,
        force: true,
    };
    let rep = fsck(path, &opts, &mut out);
    assert!(
        rep.exit == 0 && rep.problems.is_empty(),
        "{what}: fsck exit {}:\n{}",
        rep.exit,
        String::from_utf8_lossy(&out)
    );
}

/// Runs `scenario` on a fresh image, with fsck at its checkpoints.
fn run(tag: &str, scenario: fn(&mut Env<Image>)) {
    let path = std::env::temp_dir().join(format!("ferrite-ops-{}-{tag}", std::process::id()));
    let tmp = TmpImage(path.clone());
    std::fs::File::create(&tmp.0)
        .unwrap()
        .set_len(BLOCKS * 4096)
        .unwrap();
    let mut img = Image::open(&tmp.0, true).unwrap();
    assert_eq!(img.block_count(), BLOCKS);
    let sb = scenarios::format(&mut img);
    img.layout = Some(sb.layout);
    let mut env = Env::new(img, sb);
    let mut checks = 0;
    let tag = tag.to_string();
    env.check = Some(Box::new(move |img, sb, scratch, what| {
        checks += 1;
        check(
            &path,
            img,
            sb,
            scratch,
            &format!("{tag}, {what} (check {checks})"),
        );
    }));
    env.checkpoint("fresh");
    scenario(&mut env);
}

macro_rules! fsck_test {
    ($name:ident) => {
        #[test]
        fn $name() {
            run(stringify!($name), scenarios::$name::<Image>);
        }
    };
}

ferrite_testing::for_each_scenario!(fsck_test);
