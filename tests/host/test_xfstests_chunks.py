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
        return subprocess.run(
            [sys.executable, TOOL] + args, capture_output=True, text=True,
            env=dict(os.environ, FERRITE_XFSTESTS_RUNS=d, FERRITE_XFSTESTS_DOC=doc))


class Chunks(unittest.TestCase):
    def test_table(self):
        r = chunks(["table"] + ["generic/%03d" % i for i in range(1, 7)], BOOTS)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines(), [
            "| generic/001 | passed, 12s | passed, 11s |",
            "| generic/002 | not run (this test requires a valid $SCRATCH_LOGDEV) | not run yet |",
            "| generic/003 | failed: - output mismatch (see "
            "/run/ferrite/results/xfstests-ferrite/generic/003.out.bad) | passed, 7s |",
            "| generic/004 | passed, 5s | not run yet |",
            "| generic/005 | not run yet | failed: [failed, exit status 1]- output mismatch (see x) |",
        ])

    def test_record(self):
        """The boots' outcomes win over the record's; "not run yet" and "not finished" in the
        record are no outcome, and a boot's "not finished" does not hide a recorded one."""
        boots = {"boot-ferrite-1.out": "generic/001         12s\ngeneric/006        \n"}
        r = chunks(["table"] + ["generic/%03d" % i for i in range(1, 8)], boots, RECORD)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines(), [
            "| generic/001 | passed, 12s | passed, 9s |",
            "| generic/002 | not run yet | passed, 3s |",
            "| generic/005 | passed, 4s | not run yet |",
            "| generic/006 | passed, 1s | not run yet |",
        ])
        r = chunks(["status", "generic/001", "generic/002", "generic/005", "generic/006"],
                   boots, RECORD)
        self.assertEqual(r.stdout.splitlines(), [
            "ferrite: 3 of 4 with an outcome, 3 passed",
            "ext4: 2 of 4 with an outcome, 2 passed",
        ])


if __name__ == "__main__":
    unittest.main()
