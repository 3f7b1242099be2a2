"""Tests of tests/xfstests/chunks: outcomes parsed from boots' console output, later boots
winning except with "not finished"."""

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


class Chunks(unittest.TestCase):
    def test_table(self):
        with tempfile.TemporaryDirectory() as d:
            for name, text in BOOTS.items():
                with open(os.path.join(d, name), "w") as f:
                    f.write(text)
            r = subprocess.run(
                [sys.executable, TOOL, "table"] + ["generic/%03d" % i for i in range(1, 7)],
                capture_output=True, text=True, env=dict(os.environ, FERRITE_XFSTESTS_RUNS=d))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines(), [
            "| generic/001 | passed, 12s | passed, 11s |",
            "| generic/002 | not run (this test requires a valid $SCRATCH_LOGDEV) | not run yet |",
            "| generic/003 | failed: - output mismatch (see "
            "/run/ferrite/results/xfstests-ferrite/generic/003.out.bad) | passed, 7s |",
            "| generic/004 | passed, 5s | not run yet |",
            "| generic/005 | not run yet | failed: [failed, exit status 1]- output mismatch (see x) |",
        ])


if __name__ == "__main__":
    unittest.main()
