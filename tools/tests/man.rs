//! The man pages in `man/`: each renders without a single warning from `man` and from `groff`,
//! and they name what the code accepts, read from the code itself, so that an option, a view, a
//! mount option or a counter added without documentation fails here: every option of the
//! `mkfs.ferrite` and `fsck.ferrite` parsers, every view of `ferrite-dump`, every mount option
//! (and value) of the module's parameter table, every counter of the module's statistics.

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::Command;

/// The pages that must be there, by file name in `man/`.
const PAGES: [&str; 4] = [
    "mkfs.ferrite.8",
    "fsck.ferrite.8",
    "ferrite-dump.8",
    "ferrite.5",
];

/// The repository's root (the parent of `tools/`).
fn root() -> PathBuf {
    let tools = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    tools
        .parent()
        .expect("tools/ has a parent directory")
        .to_path_buf()
}

/// The text of the file at `rel`, relative to the repository's root.
fn read(rel: &str) -> String {
    let p = root().join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
}

/// Runs `cmd` (which formats `page`), and fails unless it succeeds with output on standard
/// output and nothing at all on standard error.
fn render_clean(mut cmd: Command, page: &str) {
    // Fixed width and locale, and no options from the environment, so that the result does not
    // depend on who runs the test.
    cmd.env("MANWIDTH", "80")
        .env("LC_ALL", "C.UTF-8")
        .env_remove("MANOPT")
        .env_remove("GROFF_TMAC_PATH");
    let shown = format!("{cmd:?}");
    let out = cmd.output().unwrap_or_else(|e| {
        panic!("{page}: cannot run {shown}: {e} (man-db and groff-base are needed)")
    });
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{page}: {shown} failed ({}):\n{stderr}",
        out.status
    );
    assert!(
        stderr.trim().is_empty(),
        "{page}: {shown} warned:\n{stderr}"
    );
    // `groff -z` formats without output; `man` must have written the page.
    if cmd.get_program() == "man" {
        assert!(!out.stdout.is_empty(), "{page}: {shown} wrote nothing");
    }
}

/// Every page in `man/` (a file named `NAME.SECTION`), so that a page added later is checked too.
fn all_pages() -> Vec<String> {
    let dir = root().join("man");
    let mut pages: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").file_name())
        .filter_map(|n| n.into_string().ok())
        .filter(|n| {
            n.rsplit_once('.')
                .is_some_and(|(_, sec)| sec.len() == 1 && sec.chars().all(|c| c.is_ascii_digit()))
        })
        .collect();
    pages.sort();
    pages
}

#[test]
fn pages_render_without_warnings() {
    let pages = all_pages();
    for p in PAGES {
        assert!(pages.iter().any(|x| x == p), "man/{p} is missing");
    }
    for page in &pages {
        let page = page.as_str();
        let path = root().join("man").join(page);
        let text = read(&format!("man/{page}"));
        // ASCII only: groff reads its input as Latin-1, so anything else would come out wrong
        // (roff escapes such as \(em give the other characters).
        if let Some((n, line)) = text.lines().enumerate().find(|(_, l)| !l.is_ascii()) {
            panic!("{page}:{}: not ASCII: {line}", n + 1);
        }
        let mut man = Command::new("man");
        man.args(["--warnings", "-E", "UTF-8", "-l", "-Tutf8"])
            .arg(&path);
        render_clean(man, page);
        let mut groff = Command::new("groff");
        groff.args(["-man", "-ww", "-z", "-Tutf8"]).arg(&path);
        render_clean(groff, page);
    }
}

/// The words of a page's text, as a reader sees them: without comment lines, with the roff
/// escapes for the minus sign, the circumflex and font changes turned into what they print, split
/// at blanks and at the punctuation around option names.
fn page_words(page: &str) -> HashSet<String> {
    let text: String = read(&format!("man/{page}"))
        .lines()
        .filter(|l| !l.starts_with(".\\\""))
        .map(|l| format!("{l}\n"))
        .collect();
    let text = text
        .replace("\\-", "-")
        .replace("\\(ha", "^")
        .replace("\\&", "")
        .replace("\\%", "");
    let mut t = text;
    for f in ["\\fB", "\\fI", "\\fR", "\\fP"] {
        t = t.replace(f, " ");
    }
    t.split(|c: char| c.is_whitespace() || "\"',;:|[]()".contains(c))
        .map(|w| w.trim_end_matches('.').to_string())
        .filter(|w| !w.is_empty())
        .collect()
}

/// The string literals in `line`.
fn literals(line: &str) -> Vec<String> {
    line.split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// Every spelling of every option in `spec`, and the choices of their values: the table the
/// tool's parser looks its options up in (`ferrite_tools::cli`).
fn spec_words(spec: &ferrite_tools::cli::Spec) -> Vec<String> {
    spec.opts
        .iter()
        .flat_map(|o| o.names.iter().chain(o.choices.iter()))
        .chain(spec.words.iter())
        .map(|s| s.to_string())
        .collect()
}

/// Fails, naming them, if any of `wanted` is not a word of `page`.
fn assert_named(page: &str, what: &str, wanted: &[String]) {
    let words = page_words(page);
    let missing: Vec<&String> = wanted.iter().filter(|w| !words.contains(*w)).collect();
    assert!(
        missing.is_empty(),
        "man/{page} does not name these {what}: {missing:?}"
    );
}

#[test]
fn mkfs_page_names_every_option() {
    let opts = spec_words(&ferrite_tools::cli::MKFS);
    assert!(opts.iter().any(|o| o == "^xattr"), "{opts:?}");
    assert_named("mkfs.ferrite.8", "mkfs.ferrite options", &opts);
}

#[test]
fn fsck_page_names_every_option() {
    let flags = spec_words(&ferrite_tools::cli::FSCK);
    assert!(flags.iter().any(|o| o == "-y"), "{flags:?}");
    assert_named("fsck.ferrite.8", "fsck.ferrite options", &flags);
    // The exit codes of tools/src/fsck.rs.
    let codes: Vec<String> = read("tools/src/fsck.rs")
        .lines()
        .filter_map(|l| l.strip_prefix("pub const EXIT_"))
        .filter_map(|l| l.split_once("i32 = ").map(|(_, v)| v))
        .map(|v| v.trim_end_matches(';').to_string())
        .collect();
    assert_eq!(
        codes,
        ["0", "1", "4", "8", "16"],
        "tools/src/fsck.rs exit codes"
    );
    assert_named("fsck.ferrite.8", "exit codes", &codes);
}

#[test]
fn dump_page_names_every_view() {
    let views = spec_words(&ferrite_tools::cli::DUMP);
    assert!(views.iter().any(|v| v == "journal"), "{views:?}");
    assert_named("ferrite-dump.8", "ferrite-dump views", &views);
}

#[test]
fn tune_page_names_every_option() {
    let opts = spec_words(&ferrite_tools::cli::TUNE);
    assert_named("ferrite-tune.8", "ferrite-tune options", &opts);
}

/// The `c_str!` literals in the lines of the `static NAME` item of `src`, up to its end (`]);`).
fn static_c_strs(src: &str, name: &str) -> Vec<(String, String)> {
    let start = format!("static {name}:");
    let mut lines = src
        .lines()
        .skip_while(|l| !l.trim_start().starts_with(&start));
    assert!(lines.next().is_some(), "no `static {name}` in fs/mod.rs");
    lines
        .take_while(|l| !l.trim_start().starts_with("]);"))
        .filter_map(|l| {
            let (_, rest) = l.split_once("c_str!(\"")?;
            let (lit, _) = rest.split_once('"')?;
            Some((lit.to_string(), l.to_string()))
        })
        .collect()
}

#[test]
fn ferrite5_names_every_mount_option_and_counter() {
    let src = read("fs/mod.rs");
    let params = static_c_strs(&src, "PARAMS");
    let mut wanted: Vec<String> = Vec::new();
    for (name, line) in &params {
        wanted.push(name.clone());
        // An enumerated option: each of its values, as `name=value`.
        if line.contains("Param::enumerated") {
            let table = line
                .rsplit_once('&')
                .and_then(|(_, t)| t.split(')').next())
                .unwrap_or_else(|| panic!("no value table in: {line}"));
            for (value, _) in static_c_strs(&src, table) {
                wanted.push(format!("{name}={value}"));
            }
        }
    }
    for o in ["dax", "acl", "noacl", "dax=always"] {
        assert!(
            wanted.iter().any(|x| x == o),
            "{o} not found in fs/mod.rs's PARAMS: {wanted:?}"
        );
    }
    assert_named("ferrite.5", "mount options", &wanted);

    // The counters of /sys/fs/ferrite/<device>/stats, as src/stats.c names them.
    let counters: Vec<String> = read("src/stats.c")
        .lines()
        .filter(|l| l.trim_start().starts_with("[FERRITE_STAT_"))
        .flat_map(literals)
        .collect();
    assert!(
        counters.iter().any(|c| c == "pmd_faults"),
        "no counter names found in src/stats.c: {counters:?}"
    );
    assert_named("ferrite.5", "counters", &counters);
}
