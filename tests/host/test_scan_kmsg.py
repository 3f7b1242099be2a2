"""Tests of scripts/scan-kmsg against sample kernel logs in tests/host/kmsg/."""

import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SCANNER = os.path.join(ROOT, "scripts", "scan-kmsg")
SAMPLES = os.path.join(HERE, "kmsg")


def scan(*names):
    paths = [os.path.join(SAMPLES, n) for n in names]
    return subprocess.run([sys.executable, SCANNER, *paths], capture_output=True, text=True)


class ScanKmsg(unittest.TestCase):
    def assert_flags(self, sample, category):
        r = scan(sample)
        self.assertEqual(r.returncode, 1, f"{sample} was not flagged:\n{r.stderr}")
        self.assertIn(f": {category}:", r.stderr, f"{sample} flagged as something else:\n{r.stderr}")

    def test_clean_boot_log_passes(self):
        r = scan("clean-boot.log")
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_benign_lines_pass(self):
        r = scan("benign.log")
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_warning(self):
        self.assert_flags("warning.log", "warning")

    def test_lockdep(self):
        self.assert_flags("lockdep.log", "lockdep")

    def test_kfence(self):
        self.assert_flags("kfence.log", "kfence")

    def test_slub_redzone(self):
        self.assert_flags("slub-redzone.log", "bug")

    def test_kmemleak_in_dmesg(self):
        self.assert_flags("kmemleak-dmesg.log", "kmemleak")

    def test_kmemleak_report(self):
        self.assert_flags("kmemleak-report.txt", "kmemleak")

    def test_kmemleak_disabled(self):
        self.assert_flags("kmemleak-disabled.log", "kmemleak")

    def test_list_corruption(self):
        self.assert_flags("list-corruption.log", "list")

    def test_refcount(self):
        self.assert_flags("refcount.log", "refcount")

    def test_hung_task(self):
        self.assert_flags("hung-task.log", "hung task")

    def test_oops(self):
        self.assert_flags("oops.log", "bug")
        self.assertIn(": oops:", scan("oops.log").stderr)

    def test_rust_panic(self):
        self.assert_flags("rust-panic.log", "panic")

    def test_dev_kmsg_record_format(self):
        self.assert_flags("kmsg-format.log", "warning")

    def test_bad_among_several_files(self):
        r = scan("clean-boot.log", "benign.log", "refcount.log")
        self.assertEqual(r.returncode, 1)
        self.assertIn("refcount.log:1: refcount", r.stderr)

    def test_missing_file_is_an_error(self):
        r = scan("no-such-log")
        self.assertEqual(r.returncode, 2)

    def test_no_arguments_is_usage_error(self):
        r = subprocess.run([sys.executable, SCANNER], capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)

    def test_by_mark_charges_each_problem_to_its_part(self):
        # A warning in image 1's part, a flood of ferrite lines in image 2's, and /dev/kmsg and
        # console prefixes mixed: each part is judged apart.
        log = "\n".join([
            "[    0.100000] Linux version 6.12",
            "5,10,100,-;fuzz-mount: image 0: tree 7",
            "3,11,101,-;ferrite: pmem0: bad superblock",
            "[    2.000000] fuzz-mount: image 1: files 8",
            "[    2.100000] WARNING: CPU: 0 PID: 9 at fs/x.c:1 f+0x1/0x2",
            "5,13,103,-;fuzz-mount: image 2: tree 9",
        ] + ["6,14,104,-;ferrite: cannot write inode"] * 3) + "\n"
        import tempfile
        with tempfile.NamedTemporaryFile("w", suffix=".log", delete=False) as f:
            f.write(log)
        try:
            r = subprocess.run([sys.executable, SCANNER, "--by-mark", r"fuzz-mount: image (\d+):", f.name],
                               capture_output=True, text=True)
        finally:
            os.unlink(f.name)
        self.assertEqual(r.returncode, 1, r.stderr)
        rows = [line.split("\t") for line in r.stdout.splitlines()]
        self.assertEqual([row[:3] for row in rows],
                         [["boot", "0", "0"], ["0", "0", "1"], ["1", "1", "0"], ["2", "0", "3"]])
        self.assertTrue(rows[2][3].startswith("WARNING: CPU: 0"), rows[2])

    def test_by_mark_clean_log_passes(self):
        r = subprocess.run([sys.executable, SCANNER, "--by-mark", r"image (\d+):",
                            os.path.join(SAMPLES, "clean-boot.log")], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.split("\t")[0], "boot")


if __name__ == "__main__":
    unittest.main()
