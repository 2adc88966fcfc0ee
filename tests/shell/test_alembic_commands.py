"""Alembic's remaining commands and options in sqlite-migrate: stamp --purge,
edit REV ($VISUAL / $EDITOR), history --indicate-current, --raiseerr, and
Alembic's CLI words for an unknown revision."""

import os
import shutil
import stat
import unittest

from shell_support import FIXTURES, Tmp, run, versions

LINEAR = os.path.join(FIXTURES, "linear")
DEPS = os.path.join(FIXTURES, "deps")


def lin(*args):
    return ["--dir", LINEAR] + list(args)


class StampPurgeTest(unittest.TestCase):

    def setUp(self):
        self._tmp = Tmp()
        self.tmp = self._tmp.__enter__()
        self.db = os.path.join(self.tmp, "a.db")
        for target in ("a1", "x1"):  # two bases applied: two rows
            p = run(["--dir", DEPS, "-d", self.db, "upgrade", target], cwd=self.tmp)
            self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(versions(self.db), ["a1", "x1"])

    def tearDown(self):
        self._tmp.__exit__(None, None, None)

    def test_without_purge_only_the_lineage_moves(self):
        p = run(["--dir", DEPS, "-d", self.db, "stamp", "b1"], cwd=self.tmp)
        self.assertEqual(p.stderr, "Running stamp_revision a1, x1 -> b1, x1\n")
        self.assertEqual(versions(self.db), ["b1", "x1"])

    def test_purge_empties_the_version_table_first(self):
        p = run(["--dir", DEPS, "-d", self.db, "stamp", "--purge", "b1"], cwd=self.tmp)
        self.assertEqual((p.returncode, p.stderr), (0, "Running stamp_revision  -> b1\n"))
        self.assertEqual(versions(self.db), ["b1"])

    def test_failed_purge_changes_nothing(self):
        p = run(["--dir", DEPS, "-d", self.db, "stamp", "--purge", "nope"], cwd=self.tmp)
        self.assertEqual((p.returncode, p.stderr),
                         (1, "FAILED: Can't locate revision identified by 'nope'\n"))
        self.assertEqual(versions(self.db), ["a1", "x1"])

    def test_purge_on_a_new_database(self):
        db = os.path.join(self.tmp, "new.db")
        p = run(["--dir", DEPS, "-d", db, "stamp", "--purge", "heads"], cwd=self.tmp)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(versions(db), ["c1", "c2"])

    def test_purge_and_sql(self):
        p = run(["--dir", DEPS, "-d", self.db, "stamp", "--purge", "--sql", "b1"],
                cwd=self.tmp)
        self.assertEqual(p.returncode, 2)
        self.assertEqual(p.stderr.splitlines()[-1], "sqlite-migrate stamp: error: --purge "
                         "and --sql do not go together (--sql changes nothing)")


class EditTest(unittest.TestCase):

    def editor(self, tmp, status=0):
        """An editor that logs its arguments; returns its path."""
        path = os.path.join(tmp, "editor.sh")
        with open(path, "w") as f:
            f.write('#!/bin/sh\nfor a in "$@"; do echo "$a" >> "%s/edits"; done\nexit %d\n'
                    % (tmp, status))
        os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)
        return path

    def edits(self, tmp):
        with open(os.path.join(tmp, "edits")) as f:
            return f.read().splitlines()

    def test_opens_the_revision_file(self):
        with Tmp() as tmp:
            ed = self.editor(tmp)
            p = run(lin("edit", "c3"), cwd=tmp, env={"EDITOR": ed + " --wait"})
            self.assertEqual((p.returncode, p.stdout, p.stderr), (0, "", ""))
            self.assertEqual(self.edits(tmp), ["--wait", LINEAR + "/c3_third_step.sql"])

    def test_visual_comes_first_and_heads_opens_each(self):
        with Tmp() as tmp:
            ed = self.editor(tmp)
            p = run(["--dir", DEPS, "edit", "heads"], cwd=tmp,
                    env={"VISUAL": ed, "EDITOR": "/nonexistent/editor"})
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(self.edits(tmp), [DEPS + "/c1_add_cards.sql",
                                               DEPS + "/c2_add_coupons.sql"])

    def test_current(self):
        with Tmp() as tmp:
            ed = self.editor(tmp)
            run(lin("-d", "a.db", "upgrade", "b2"), cwd=tmp)
            p = run(lin("-d", "a.db", "edit", "current"), cwd=tmp, env={"EDITOR": ed})
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(self.edits(tmp), [LINEAR + "/b2_second_step.sql"])

    def test_refusals(self):
        with Tmp() as tmp:
            ed = self.editor(tmp, status=3)
            run(lin("bundle", "-o", "h.bundle"), cwd=tmp)
            cases = [
                (lin("edit", "c3"), {"EDITOR": "", "VISUAL": ""},
                 "FAILED: edit: set $VISUAL or $EDITOR to the editor to open "
                 "%s/c3_third_step.sql with\n" % LINEAR),
                (lin("edit", "nope"), {"EDITOR": ed},
                 "FAILED: Can't locate revision identified by 'nope'\n"),
                (lin("edit", "base"), {"EDITOR": ed},
                 "FAILED: No revision files indicated by symbol 'base'\n"),
                (["--bundle", "h.bundle", "edit", "c3"], {"EDITOR": ed},
                 "FAILED: edit needs the revisions' files: give their folder with --dir "
                 "(these revisions come from bundle file h.bundle)\n"),
                (lin("edit", "c3"), {"EDITOR": ed},
                 "FAILED: the editor '%s' failed on %s/c3_third_step.sql (exit status "
                 "3)\n" % (ed, LINEAR)),
            ]
            for args, env, message in cases:
                with self.subTest(args=args):
                    p = run(args, cwd=tmp, env=env)
                    self.assertEqual((p.returncode, p.stderr), (1, message))
            p = run(lin("edit"), cwd=tmp)
            self.assertEqual(p.returncode, 2)


class IndicateCurrentTest(unittest.TestCase):

    def test_long_form_equals_short_form(self):
        with Tmp() as tmp:
            run(lin("-d", "a.db", "upgrade", "c3"), cwd=tmp)
            short = run(lin("-d", "a.db", "history", "-i"), cwd=tmp)
            long = run(lin("-d", "a.db", "history", "--indicate-current"), cwd=tmp)
            self.assertEqual(long.returncode, 0, long.stderr)
            self.assertEqual(long.stdout, short.stdout)
            self.assertIn("b2 -> c3 (tail) (current), Third step\n", long.stdout)


class RaiseErrTest(unittest.TestCase):

    def test_accepted_before_and_after_the_command(self):
        with Tmp() as tmp:
            for args in (["--raiseerr"] + lin("heads"), lin("heads", "--raiseerr")):
                with self.subTest(args=args):
                    p = run(args, cwd=tmp)
                    self.assertEqual((p.returncode, p.stdout, p.stderr),
                                     (0, "e5 (tail) (head)\n", ""))
            # errors read the same with it
            p = run(["--raiseerr"] + lin("show", "nope"), cwd=tmp)
            self.assertEqual(p.stderr, "FAILED: Can't locate revision identified by 'nope'\n")


class UnknownRevisionWordingTest(unittest.TestCase):

    def test_every_command_says_it_as_alembic(self):
        with Tmp() as tmp:
            run(lin("-d", "a.db", "upgrade", "b2"), cwd=tmp)
            locate = "FAILED: Can't locate revision identified by 'nope'\n"
            for args, message in [
                (["upgrade", "nope"], locate),
                (["upgrade", "nope+1"], locate),
                (["downgrade", "nope"], locate),
                (["stamp", "nope"], locate),
                (["show", "nope"], locate),
                (["history", "-r", "nope:"], locate),
                (["upgrade", "--sql", "nope:head"], locate),
                (["downgrade", "--sql", "e5:nope"], locate),
                (["upgrade", "x7"], "FAILED: Can't locate revision identified by 'x7'; "
                                    "please ensure at least four characters are present "
                                    "for partial revision identifier matches\n"),
            ]:
                with self.subTest(args=args):
                    p = run(lin("-d", "a.db", *args), cwd=tmp)
                    self.assertEqual((p.returncode, p.stderr), (1, message))
                    self.assertEqual(versions(os.path.join(tmp, "a.db")), ["b2"])

    def test_revision_and_merge_say_it_as_alembic_and_write_nothing(self):
        # Alembic 1.8.1: `alembic revision --head nope -m x` and `alembic merge
        # nope` both print "FAILED: Can't locate revision identified by 'nope'"
        with Tmp() as tmp:
            folder = os.path.join(tmp, "m")
            shutil.copytree(LINEAR, folder)
            files = sorted(os.listdir(folder))
            for args in (["revision", "--head", "nope", "-m", "x"], ["merge", "nope"],
                         ["merge", "nope", "e5"], ["merge", "e5", "nope"]):
                with self.subTest(args=args):
                    p = run(["--dir", folder] + args, cwd=tmp)
                    self.assertEqual((p.returncode, p.stdout, p.stderr), (
                        1, "", "FAILED: Can't locate revision identified by 'nope'\n"))
                    self.assertEqual(sorted(os.listdir(folder)), files)


if __name__ == "__main__":
    unittest.main()
