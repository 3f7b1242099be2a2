"""Tests of tests/xfstests/chunks: outcomes parsed from boots' console output, later boots
winning except with "not finished", over the outcomes recorded in docs/xfstests.md's table."""

import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TOOL = os.path.join(ROOT, "tests", "xfstests", "chunks")

BOOTS = {
    "boot-ferrite-1.out": """FSTYP         -- ferrite
generic/001         12s
generic/002        [not run] this test requires a valid $SCRATCH_LOGDEV.
generic/003        - output mismatch (see /run/ferrite/results/xfstests-ferrite/generic/003.out.bad)
    --- tests/generic/003.out
generic/004        qemu-system-x86_64: terminating on signal 15 from pid 1
""",
    "boot-ferrite-2.out": """generic/004         5s
generic/003        
""",
    "boot-ext4-1.out": """generic/001         10s ...  11s
generic/003         7s
generic/005        [failed, exit status 1]- output mismatch (see x)
generic/006        _check_dmesg: something found in dmesg (see y)
generic/007        /work/scripts/vm: line 177: 16609 Killed   "${qemu[@]}" < /dev/null
""",
}


RECORD = """# ferrite under xfstests

| test | ferrite | ext4 `-o dax` |
|---|---|---|
| generic/001 | failed: - output mismatch (see x) | passed, 9s |
| generic/002 | not run yet | passed, 3s |
| generic/005 | passed, 4s | not finished (the boot stopped during it) |
| generic/006 | passed, 1s | not run yet |
"""


def chunks(args, boots, record=None):
    """Runs the tool on a state directory holding `boots` and a record holding `record`."""
    with tempfile.TemporaryDirectory() as d:
        for name, text in boots.items():
            with open(os.path.join(d, name), "w") as f:
                f.write(text)
        doc = os.path.join(d, "xfstests.md")
        if record is not None:
            with open(doc, "w") as f:
                f.write(record)
        r = subprocess.run(
            [sys.executable, TOOL] + args, capture_output=True, text=True,
            env=dict(os.environ, FERRITE_XFSTESTS_RUNS=d, FERRITE_XFSTESTS_DOC=doc))
        # The record as the tool left it.
        r.doc = open(doc).read() if os.path.exists(doc) else None
        return r


class Chunks(unittest.TestCase):
    def test_table(self):
        r = chunks(["table"] + ["generic/%03d" % i for i in range(1, 8)], BOOTS)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines(), [
            "| generic/001 | passed, 12s | passed, 11s |",
            "| generic/002 | not run (this test requires a valid $SCRATCH_LOGDEV) | not run yet |",
            "| generic/003 | failed: - output mismatch (see "
            "/run/ferrite/results/xfstests-ferrite/generic/003.out.bad) | passed, 7s |",
            "| generic/004 | passed, 5s | not run yet |",
            "| generic/005 | not run yet | failed: [failed, exit status 1]- output mismatch (see x) |",
            "| generic/006 | not run yet | failed: _check_dmesg: something found in dmesg (see y) |",
            "| generic/007 | not run yet | not finished (the boot stopped during it) |",
        ])

    def test_record(self):
        """The boots' outcomes win over the record's; "not run yet" and "not finished" in the
        record are no outcome, and a boot's "not finished" does not hide a recorded one; status
        counts no "not finished", wherever it comes from."""
        boots = {"boot-ferrite-1.out": "generic/001         12s\ngeneric/006        \n",
                 "boot-ext4-1.out": "generic/005        \n"}
        r = chunks(["table"] + ["generic/%03d" % i for i in range(1, 8)], boots, RECORD)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines(), [
            "| generic/001 | passed, 12s | passed, 9s |",
            "| generic/002 | not run yet | passed, 3s |",
            "| generic/005 | passed, 4s | not finished (the boot stopped during it) |",
            "| generic/006 | passed, 1s | not run yet |",
        ])
        r = chunks(["status", "generic/001", "generic/002", "generic/005", "generic/006"],
                   boots, RECORD)
        self.assertEqual(r.stdout.splitlines(), [
            "ferrite: 3 of 4 with an outcome, 3 passed",
            "ext4: 2 of 4 with an outcome, 2 passed",
        ])

    def test_write_record(self):
        """record rewrites the table's rows, and only them."""
        doc = RECORD + "\nWhere the two differ: generic/001.\n"
        boots = {"boot-ferrite-1.out": "generic/002         7s\n",
                 "boot-ext4-1.out": "generic/006         2s\n"}
        r = chunks(["record"] + ["generic/%03d" % i for i in range(1, 8)], boots, doc)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.doc, """# ferrite under xfstests

| test | ferrite | ext4 `-o dax` |
|---|---|---|
| generic/001 | failed: - output mismatch (see x) | passed, 9s |
| generic/002 | passed, 7s | passed, 3s |
| generic/005 | passed, 4s | not run yet |
| generic/006 | passed, 1s | passed, 2s |

Where the two differ: generic/001.
""")

    def test_diff(self):
        """diff: each test ext4 passed and ferrite did not, and whether the prose names it."""
        doc = RECORD + "\n- **generic/001** is explained; so are generic/040, 041.\n"
        boots = {"boot-ext4-1.out": "generic/041         2s\ngeneric/042         2s\n"
                                    "generic/005         2s\n",
                 "boot-ferrite-1.out": "generic/041        [not run] no\n"
                                       "generic/042        - output mismatch\n"}
        tests = ["generic/%03d" % i for i in (1, 2, 5, 6, 41, 42)]
        r = chunks(["diff"] + tests, boots, doc)
        self.assertEqual(r.returncode, 1, r.stderr)
        got = [l.rsplit(" in ", 1)[0] for l in r.stdout.splitlines()]
        self.assertEqual(got, [
            "generic/001: ferrite failed: - output mismatch (see x); explained",
            "generic/002: ferrite not run yet; NOT EXPLAINED",
            "generic/041: ferrite not run (no); explained",
            "generic/042: ferrite failed: - output mismatch; NOT EXPLAINED",
        ])


if __name__ == "__main__":
    unittest.main()
