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


if __name__ == "__main__":
    unittest.main()
