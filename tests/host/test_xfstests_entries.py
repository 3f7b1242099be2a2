"""tests/xfstests/entries: ferrite's answers in xfstests' functions, every other filesystem's
left to the original, and a tree that no longer has a function refused."""

import os
import subprocess
import tempfile
import unittest

ENTRIES = os.path.join(os.path.dirname(__file__), "..", "xfstests", "entries")

# Stand-ins for xfstests' own functions, shaped as its files define them: each says it is the
# original, with its arguments, so a wrapper that drops them or calls itself shows.
UPSTREAM = {
    "common/attr": ["_acl_get_max"],
    "common/rc": [
        "_try_scratch_mkfs_sized",
        "_scratch_mkfs_geom",
        "_scratch_mkfs_blocksized",
        "_filesystem_timestamp_range",
        "_label_get_max",
        "_require_names_are_bytes",
    ],
    "common/log": ["_scratch_dump_log", "_test_dump_log", "_print_logstate", "_require_logstate"],
}


def make_tree(root, skip=None):
    os.makedirs(os.path.join(root, "common"))
    for path, functions in UPSTREAM.items():
        with open(os.path.join(root, path), "w") as f:
            for fn in functions:
                if fn != skip:
                    f.write(f'{fn}()\n{{\n\techo "upstream {fn} $*"\n}}\n\n')
            f.write("/bin/true\n")
    # ferrite-dump's journal view, as far as the log state reads it.
    os.makedirs(os.path.join(root, "bin"))
    dump = os.path.join(root, "bin", "ferrite-dump")
    with open(dump, "w") as f:
        f.write('#!/bin/sh\necho "dump $*"\necho "  recovery would replay $REPLAY transaction(s)"\n')
    os.chmod(dump, 0o755)


def run_bash(root, script):
    prelude = (
        "_notrun() { echo \"notrun: $*\"; exit 0; }\n"
        "_check_minimal_fs_size() { :; }\n"
        "_scratch_mkfs() { echo \"scratch_mkfs $MKFS_OPTIONS\"; }\n"
        "MKFS_PROG=echo; SCRATCH_DEV=/dev/scratch; TEST_DEV=/dev/test; MKFS_OPTIONS=-f\n"
        "seqres=/dev/null\n"
        "PATH=$PWD/bin:$PATH\n"
        "for f in common/attr common/rc common/log; do . ./$f; done\n"
    )
    return subprocess.run(
        ["bash", "-c", prelude + script],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


class EntriesTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def apply(self):
        return subprocess.run([ENTRIES, self.root], capture_output=True, text=True)

    def test_ferrite_answers(self):
        make_tree(self.root)
        self.assertEqual(self.apply().returncode, 0)
        out = run_bash(
            self.root,
            "FSTYP=ferrite\n"
            "_acl_get_max; _label_get_max; _filesystem_timestamp_range\n"
            "_require_names_are_bytes && echo names-are-bytes\n"
            "_try_scratch_mkfs_sized $((64 << 20))\n"
            "_scratch_mkfs_blocksized 4096\n"
            "_scratch_mkfs_geom 2097152 1\n"
            "_require_logstate && echo logstate\n"
            "export REPLAY=2\n_print_logstate\n"
            "_scratch_dump_log\n",
        )
        self.assertEqual(
            out.splitlines(),
            [
                "8191",
                "64",
                "-9223372036854775808 9223372036854775807",
                "names-are-bytes",
                "-t ferrite -f /dev/scratch 16384",
                "scratch_mkfs -f",
                "scratch_mkfs -f",
                "logstate",
                "dirty log",
                "dump /dev/scratch journal",
                "  recovery would replay 2 transaction(s)",
            ],
        )

    def test_ferrite_refusals(self):
        make_tree(self.root)
        self.assertEqual(self.apply().returncode, 0)
        for call, expect in [
            ("_scratch_mkfs_blocksized 1024", "notrun: ferrite does not support block size 1024"),
            ("_scratch_mkfs_geom 1048576 1", "notrun: can't mkfs ferrite with geometry"),
            ("_scratch_mkfs_geom 2097152 4", "notrun: can't mkfs ferrite with geometry"),
            ("_try_scratch_mkfs_sized 1048576 1024", "notrun: ferrite has 4096-byte blocks only"),
            ("REPLAY=0 _print_logstate", "clean log\nnotrun: kernel does not support v2 logs"),
        ]:
            with self.subTest(call=call):
                self.assertEqual(run_bash(self.root, f"FSTYP=ferrite\n{call}\n").strip(), expect)

    def test_other_filesystems_reach_the_original(self):
        make_tree(self.root)
        self.assertEqual(self.apply().returncode, 0)
        script = "FSTYP=ext4\n" + "".join(f"{fn} a b\n" for fns in UPSTREAM.values() for fn in fns)
        expect = [f"upstream {fn} a b" for fns in UPSTREAM.values() for fn in fns]
        self.assertEqual(run_bash(self.root, script).splitlines(), expect)
        # The timestamp range follows its second argument, as xfstests' does.
        out = run_bash(self.root, "FSTYP=ferrite\n_filesystem_timestamp_range /dev/x ext4\n")
        self.assertEqual(out.strip(), "upstream _filesystem_timestamp_range /dev/x ext4")

    def test_applied_twice_and_sourced_twice(self):
        make_tree(self.root)
        self.assertEqual(self.apply().returncode, 0)
        self.assertEqual(self.apply().returncode, 0)
        with open(os.path.join(self.root, "common/rc")) as f:
            self.assertEqual(f.read().count("# ferrite entries"), 1)
        # Sourcing a file again (later tests in one shell do) must not make a wrapper wrap itself.
        out = run_bash(self.root, ". ./common/rc\nFSTYP=xfs\n_label_get_max\n")
        self.assertEqual(out.strip(), "upstream _label_get_max")

    def test_missing_function_refused(self):
        make_tree(self.root, skip="_scratch_mkfs_geom")
        r = self.apply()
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("no longer defines _scratch_mkfs_geom", r.stderr)
        with open(os.path.join(self.root, "common/attr")) as f:
            self.assertNotIn("ferrite entries", f.read())


if __name__ == "__main__":
    unittest.main()
