"""Output formats byte for byte: what Alembic 1.8.1 printed, recorded.

tests/shell/expected_alembic.json holds, for fixed histories (migrations/ and
tests/shell/fixtures/*), Alembic's stdout for history, heads, branches, show and
current (plain and -v, ranges, -i), and the "Running upgrade ..." lines it
logged while the database was brought to the case's state. It was written by
tests/shell/record_alembic.py from a real Alembic project with the same graph;
this test needs no Alembic.

Each case runs the same setup steps and command through sqlite-migrate in a
fresh folder and compares: stdout byte for byte ("{DIR}" in a Path: line is the
--dir given), the exit status (a case Alembic refused must fail with 1), and the
progress lines on stderr with their " (N ms)" removed. One deliberate
difference: `current` lists the version rows only (see version_rows_only).
"""

import json
import os
import re
import unittest

from shell_support import FIXTURES, EXAMPLE, HERE, Tmp, run, versions

FOLDERS = {
    "example": EXAMPLE,
    "deps": os.path.join(FIXTURES, "deps"),
    "linear": os.path.join(FIXTURES, "linear"),
}


def progress(stderr):
    lines = []
    for line in stderr.splitlines():
        if line.startswith("Running upgrade") or line.startswith("Running downgrade"):
            m = re.match(r"^(.*) \((\d+) ms\)$", line)
            if not m:
                raise AssertionError("progress line without its time: %r" % line)
            lines.append(m.group(1))
    return lines


def version_rows_only(stdout, rows):
    """Alembic's `current` output reduced to the revisions in the version
    table. Alembic's current lists get_all_current(): also a revision that
    is applied only because a version row depends on it (x1 when c1, which
    depends on x1, is the row). Ours lists the version rows, the revisions
    history -i marks and show current shows (README: "Targets"), so those
    extra lines (or -v blocks) are left out; everything else is compared
    byte for byte."""
    head, blocks = "", [stdout]
    if stdout.startswith("Current revision(s)"):
        head, rest = stdout.split("\n", 1)
        head += "\n"
        blocks = re.split(r"(?m)^(?=Rev: )", rest)
    else:
        blocks = stdout.splitlines(True)
    kept = [b for b in blocks
            if b and re.match(r"^(Rev: )?(\w+)", b).group(2) in rows]
    return head + "".join(kept)


class AlembicFormatsTest(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        with open(os.path.join(HERE, "expected_alembic.json")) as f:
            cls.recorded = json.load(f)

    def test_recorded_with_alembic_1_8_1(self):
        self.assertEqual(self.recorded["alembic"], "1.8.1")
        self.assertGreater(len(self.recorded["cases"]), 40)

    def test_cases(self):
        for case in self.recorded["cases"]:
            with self.subTest(fixture=case["fixture"], setup=case["setup"],
                              args=" ".join(case["args"])):
                self.check(case)

    def check(self, case):
        folder = FOLDERS[case["fixture"]]
        with Tmp() as tmp:
            running = []
            for step in case["setup"]:
                p = run(["-d", "test.db", "--dir", folder] + step, cwd=tmp)
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertEqual(p.stdout, "")
                running += progress(p.stderr)
            self.assertEqual(running, case["running"])
            p = run(["-d", "test.db", "--dir", folder] + case["args"], cwd=tmp)
            if case["exit"] != 0:
                self.assertEqual(p.returncode, 1, "Alembic refused this; we gave "
                                 "%d: %s%s" % (p.returncode, p.stdout, p.stderr))
                self.assertEqual(p.stdout, "")
                self.assertTrue(p.stderr.startswith("FAILED: "), p.stderr)
                return
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(p.stderr, "")
            expected = case["stdout"].replace("{DIR}", folder)
            if case["args"][0] == "current":
                expected = version_rows_only(expected, versions(os.path.join(tmp, "test.db")))
            self.assertEqual(p.stdout, expected)


if __name__ == "__main__":
    unittest.main()
