// SPDX-License-Identifier: GPL-2.0

//! The tools' bash completions, generated from the option tables their parsers use
//! (`ferrite_tools::cli`): each script is valid bash and completes options, option values and
//! ferrite-dump's views; every option in a table is one its parser handles.

use ferrite_tools::cli::{Spec, DUMP, FSCK, MKFS, TUNE};
use std::process::Command;

const TOOLS: [(&str, &Spec); 4] = [
    (env!("CARGO_BIN_EXE_mkfs-ferrite"), &MKFS),
    (env!("CARGO_BIN_EXE_fsck-ferrite"), &FSCK),
    (env!("CARGO_BIN_EXE_ferrite-dump"), &DUMP),
    (env!("CARGO_BIN_EXE_ferrite-tune"), &TUNE),
];

fn script(bin: &str) -> String {
    let o = Command::new(bin).arg("--bash-completion").output().unwrap();
    assert!(o.status.success(), "{bin} --bash-completion");
    String::from_utf8(o.stdout).unwrap()
}

/// What the completion function of `spec` offers for the words `words`, the last one being
/// completed.
fn complete(bin: &str, spec: &Spec, words: &[&str]) -> Vec<String> {
    let words: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let func = format!("_{}", spec.name.replace(['.', '-'], "_"));
    let prog = format!(
        "{}\nCOMP_WORDS=({})\nCOMP_CWORD={}\n{func}\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        script(bin),
        words.join(" "),
        words.len() - 1
    );
    let o = Command::new("bash").arg("-c").arg(&prog).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn scripts_are_valid_bash_and_register_the_installed_names() {
    for (bin, spec) in TOOLS {
        let s = script(bin);
        let o = Command::new("bash")
            .args(["-n", "-c", &s])
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{}: {}",
            spec.name,
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(s.contains(&format!(" {}\n", spec.name)), "{s}");
    }
}

#[test]
fn options_values_and_views_complete() {
    let (mkfs, tune, dump, fsck) = (TOOLS[0].0, TOOLS[3].0, TOOLS[2].0, TOOLS[1].0);
    assert_eq!(
        complete(mkfs, &MKFS, &["mkfs.ferrite", "--la"]),
        ["--label"]
    );
    assert_eq!(
        complete(mkfs, &MKFS, &["mkfs.ferrite", "-O", ""]),
        ["xattr", "^xattr"]
    );
    // A free value (the label): nothing offered.
    assert!(complete(mkfs, &MKFS, &["mkfs.ferrite", "-L", "x"]).is_empty());
    assert_eq!(
        complete(tune, &TUNE, &["ferrite-tune", "-U", "r"]),
        ["random"]
    );
    let all = complete(fsck, &FSCK, &["fsck.ferrite", "-"]);
    for f in ["-n", "-y", "-p", "-a", "-f"] {
        assert!(all.iter().any(|x| x == f), "{all:?}");
    }
    assert_eq!(
        complete(dump, &DUMP, &["ferrite-dump", "/dev/pmem0", "ex"]),
        ["extents"]
    );
    assert_eq!(
        complete(dump, &DUMP, &["ferrite-dump", "/dev/pmem0", "j"]),
        ["journal"]
    );
}

#[test]
fn every_option_in_a_table_is_handled_by_its_parser() {
    for (bin, spec) in TOOLS {
        for o in spec.opts {
            for name in o.names {
                let mut args = vec![name.to_string()];
                if o.value.is_some() {
                    args.push(o.choices.first().unwrap_or(&"1").to_string());
                }
                args.push("/nonexistent/device".into());
                let out = Command::new(bin).args(&args).output().unwrap();
                let err = String::from_utf8_lossy(&out.stderr);
                assert!(
                    !err.contains("not handled") && !err.contains("unknown option"),
                    "{} {args:?}: {err}",
                    spec.name
                );
            }
        }
    }
}
