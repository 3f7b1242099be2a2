//! The `ferrite-fuzz` command line, as the VM script calls it.

use std::path::PathBuf;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_ferrite-fuzz");

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

struct Tmp(PathBuf);
impl Tmp {
    fn new(tag: &str) -> Tmp {
        let d = std::env::temp_dir().join(format!("ferrite-fuzz-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Tmp(d)
    }
    fn path(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }
}
impl Drop for Tmp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn seeds_make_and_show() {
    let t = Tmp::new("cli");
    let dir = t.path("");
    let o = run(&["seeds", &dir]);
    assert!(o.status.success());
    assert_eq!(
        stdout(&o),
        "tree\nfiles\njournal\norphans\nbigdir\nxattrs\n"
    );
    // Another process makes the same bytes.
    let again = Tmp::new("cli-again");
    assert!(run(&["seeds", &again.path("")]).status.success());
    for name in ferrite_fuzz::seeds::SEEDS {
        let file = format!("{name}.img");
        assert!(
            std::fs::read(t.path(&file)).unwrap() == std::fs::read(again.path(&file)).unwrap(),
            "seed {name} differs between two runs"
        );
    }
    let seed = t.path("journal.img");
    let bytes = std::fs::read(&seed).unwrap();
    assert_eq!(bytes.len(), 4 << 20);
    let show = run(&["show", &seed, "17"]);
    assert!(show.status.success());
    let line = stdout(&show);
    assert!(
        line.starts_with("journal 17: ") && line.ends_with('\n'),
        "{line}"
    );
    assert_eq!(line.lines().count(), 1);
    // make prints the same line and writes what the library makes of the case.
    let out = t.path("out.img");
    std::fs::write(&out, vec![0xeeu8; 8 << 20]).unwrap();
    let make = run(&["make", &seed, "17", &out]);
    assert!(make.status.success());
    assert_eq!(stdout(&make), line);
    let (img, _) = ferrite_fuzz::case(&bytes, 17).unwrap();
    assert!(std::fs::read(&out).unwrap() == img);
}

#[test]
fn bad_arguments_exit_2() {
    let t = Tmp::new("bad");
    let junk = t.path("junk.img");
    std::fs::write(&junk, vec![0u8; 1 << 20]).unwrap();
    for args in [
        &[][..],
        &["frob"][..],
        &["seeds"][..],
        &["seeds", "/nonexistent/dir"][..],
        &["show", &junk][..],
        &["show", &junk, "1"][..],
        &["show", "/nonexistent.img", "1"][..],
        &["make", &junk, "x", "out"][..],
        &["make", &junk, "-1", "out"][..],
    ] {
        let o = run(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(!o.stderr.is_empty(), "{args:?}");
        assert!(o.stdout.is_empty(), "{args:?}");
    }
}
