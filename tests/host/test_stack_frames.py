"""Tests of scripts/stack-frames against small `objdump -dC` listings."""

import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TOOL = os.path.join(ROOT, "scripts", "stack-frames")

# outer (8 + 2 pushes + 0x100) calls middle (8 + 0x800) and a kernel function; middle calls leaf
# (8 + 1 push + 0x1000) and jumps inside itself; leaf calls outer (recursion, counted once).
LISTING = """
ferrite.ko:     file format elf64-x86-64

Disassembly of section .text:

0000000000000000 <outer>:
   0:	push   %rbp
   1:	push   %rbx
   2:	sub    $0x100,%rsp
   9:	call   10 <middle>
   e:	call   0 <kfree>
  13:	ret

0000000000000010 <middle>:
  10:	sub    $0x800,%rsp
  17:	mov    %rdi,%rax
  1a:	call   40 <leaf>
  1f:	call   12 <middle+0x2>
  24:	ret

0000000000000040 <leaf>:
  40:	push   %r12
  42:	sub    $0x1000,%rsp
  49:	call   0 <outer>
  4e:	ret
"""


def run(*args):
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write(LISTING)
    try:
        return subprocess.run([sys.executable, TOOL, "--listing", f.name, *args],
                              capture_output=True, text=True)
    finally:
        os.unlink(f.name)


class StackFrames(unittest.TestCase):
    def test_frames_and_chain(self):
        r = run("--max-frame", "8192")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(" 4112  leaf", r.stdout)
        self.assertIn(" 2056  middle", r.stdout)
        self.assertIn("  280  outer", r.stdout)
        # outer > middle > leaf, the recursion back to outer not counted again
        self.assertIn(" 6448  outer (280) > middle (2056) > leaf (4112)\n", r.stdout)

    def test_frame_limit(self):
        r = run("--max-frame", "4096")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("FAIL: frame of 4112 bytes (limit 4096): leaf", r.stdout)

    def test_chain_limit(self):
        r = run("--max-frame", "8192", "--max-chain", "6000")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("FAIL: chain of 6448 bytes (limit 6000) from outer", r.stdout)
        self.assertNotIn("FAIL: frame", r.stdout)


if __name__ == "__main__":
    unittest.main()
