"""sqlite-migrate: every command and exit code on fixed histories.

Histories: the repository's migrations/ (the example) and the folders under
tests/shell/fixtures/ (linear: a1 -> b2 -> c3 -> d4 -> e5). Each test works in
a scratch folder with its own database. The output formats of history, heads,
branches, show and current are checked byte for byte against Alembic in
test_formats.py; the parity of upgrade/downgrade with Alembic in
test_parity_shell.py. Exit codes: 0 done, 1 failure or "no", 2 usage error.
"""

import os
import re
import shutil
import sqlite3
import subprocess
import unittest

from shell_support import (EXAMPLE, EXTENSION, FIXTURES, HERE,
                           SANITIZER_REPORT, SHELL, USAGE_LINE, Tmp, extension_available, program_env,
                           run, snapshot, versions)

LINEAR = os.path.join(FIXTURES, "linear")
HEAD = "f05c3b8d2e76"
PROGRESS = re.compile(r"^Running (upgrade|downgrade) (.*) -> (.*) \((\d+) ms\)$")


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def ex(*args):
    """Arguments with the example history."""
    return ["--dir", EXAMPLE] + list(args)


class UsageTest(unittest.TestCase):
    """Bad usage exits 2 with a usage line; help and version exit 0."""

    def assertUsage(self, args, message, tmp):
        p = run(args, cwd=tmp)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertEqual(p.stdout, "")
        self.assertRegex(p.stderr, USAGE_LINE)
        self.assertIn(message, p.stderr)

    def test_usage_errors(self):
        with Tmp() as tmp:
            for args, message in [
                ([], "a command is required"),
                (["frobnicate"], "unknown command 'frobnicate'"),
                (["--bogus", "history"], "unrecognized option '--bogus'"),
                (["history", "--bogus"], "unrecognized option '--bogus'"),
                (["-d"], "option -d expects a value"),
                (["history", "-r"], "option -r expects a value"),
                (["history", "-r", "abc"], "History range requires [start]:[end]"),
                (["history", "-v=1"], "option -v takes no value"),
                (["downgrade"], "the following arguments are required: TARGET"),
                (["stamp"], "the following arguments are required: TARGET"),
                (["show"], "the following arguments are required: REV"),
                (["merge", "-m", "x"], "the following arguments are required: REV"),
                (["show", "a", "b"], "unrecognized arguments: b"),
                (["upgrade", "head", "extra"], "unrecognized arguments: extra"),
                (["current", "now"], "unrecognized arguments: now"),
                (["--dir", EXAMPLE, "--bundle", "x", "heads"],
                 "give --dir or --bundle, not both"),
                (ex("upgrade"), "no database: give -d DATABASE"),
                (["-d", "a.db", "upgrade", "a1:b2"], "a range FROM:TO is only allowed "
                 "with --sql"),
                (["-d", "a.db", "upgrade", "--sql", "--backup", "x"],
                 "--backup and --sql do not go together"),
                (ex("downgrade", "base", "--sql"),
                 "downgrade with --sql needs <fromrev>:<torev>"),
                (["bundle"], "the following arguments are required: -o FILE"),
            ]:
                with self.subTest(args=args):
                    self.assertUsage(args, message, tmp)
            self.assertEqual(os.listdir(tmp), [], "a usage error created a file")

    def test_usage_line_names_the_command(self):
        with Tmp() as tmp:
            p = run(["downgrade"], cwd=tmp)
            self.assertEqual(p.stderr,
                             "usage: sqlite-migrate downgrade TARGET [--sql] [--backup FILE]\n"
                             "sqlite-migrate downgrade: error: the following arguments "
                             "are required: TARGET\n")

    def test_help_and_version(self):
        with Tmp() as tmp:
            p = run(["--help"], cwd=tmp)
            self.assertEqual(p.returncode, 0)
            self.assertTrue(p.stdout.startswith(
                "usage: sqlite-migrate [-d DATABASE] [--dir FOLDER | --bundle FILE] "
                "COMMAND [ARGS]\n"))
            for cmd in ("init", "revision", "upgrade", "downgrade", "current", "history",
                        "heads", "branches", "show", "stamp", "merge", "check", "test",
                        "bundle", "graph"):
                self.assertRegex(p.stdout, r"\n  %s +\S" % cmd)
                q = run([cmd, "--help"], cwd=tmp)
                self.assertEqual(q.returncode, 0, q.stderr)
                self.assertTrue(q.stdout.startswith("usage: sqlite-migrate %s" % cmd))
            p = run(["--version"], cwd=tmp)
            self.assertEqual(p.returncode, 0)
            self.assertRegex(p.stdout, r"^sqlite-migrate \d+\.\d+\.\d+ \(SQLite 3\.\d+\.\d+\)\n$")

    def test_negative_targets_are_not_options(self):
        with Tmp() as tmp:
            run(["--dir", LINEAR, "-d", "a.db", "upgrade"], cwd=tmp)
            p = run(["--dir", LINEAR, "-d", "a.db", "downgrade", "-2"], cwd=tmp)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(versions(os.path.join(tmp, "a.db")), ["c3"])

    def test_global_options_after_the_command(self):
        with Tmp() as tmp:
            p = run(["upgrade", "b2", "-d", "a.db", "--dir", LINEAR], cwd=tmp)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(versions(os.path.join(tmp, "a.db")), ["b2"])
            p = run(["history", "--dir=" + LINEAR, "-da.db", "-i"], cwd=tmp)
            self.assertIn("a1 -> b2 (tail) (current), Second step\n", p.stdout)


class DatabaseSettingTest(unittest.TestCase):
    """-d, then MIGRATE_DATABASE, then DATABASE_URL (sqlite:/// forms)."""

    def up(self, tmp, args=(), env=None):
        p = run(["--dir", LINEAR] + list(args) + ["upgrade", "b2"], cwd=tmp, env=env)
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_database_url_relative(self):
        with Tmp() as tmp:
            os.mkdir(os.path.join(tmp, "sub"))
            self.up(tmp, env={"DATABASE_URL": "sqlite:///sub/rel.db"})
            self.assertEqual(versions(os.path.join(tmp, "sub", "rel.db")), ["b2"])

    def test_database_url_absolute(self):
        with Tmp() as tmp:
            path = os.path.join(tmp, "abs.db")
            self.assertTrue(path.startswith("/"))
            self.up(tmp, env={"DATABASE_URL": "sqlite:///" + path})
            self.assertEqual(versions(path), ["b2"])
            p = run(["--dir", LINEAR, "current", "-v"], cwd=tmp,
                    env={"DATABASE_URL": "sqlite:///" + path})
            self.assertTrue(p.stdout.startswith(
                "Current revision(s) for sqlite:///%s:\n" % path), p.stdout)

    def test_database_url_percent_escapes_and_driver(self):
        with Tmp() as tmp:
            self.up(tmp, env={"DATABASE_URL": "sqlite+pysqlite:///my%20app.db"})
            self.assertEqual(versions(os.path.join(tmp, "my app.db")), ["b2"])

    def test_precedence(self):
        with Tmp() as tmp:
            env = {"DATABASE_URL": "sqlite:///url.db", "MIGRATE_DATABASE": "env.db"}
            self.up(tmp, env=env)
            self.assertTrue(os.path.exists(os.path.join(tmp, "env.db")))
            self.assertFalse(os.path.exists(os.path.join(tmp, "url.db")))
            self.up(tmp, args=["-d", "opt.db"], env=env)
            self.assertTrue(os.path.exists(os.path.join(tmp, "opt.db")))
            self.up(tmp, args=["-d", "sqlite:///dopt.db"], env=env)
            self.assertEqual(versions(os.path.join(tmp, "dopt.db")), ["b2"])
            self.assertFalse(os.path.exists(os.path.join(tmp, "url.db")))

    def test_bad_urls(self):
        with Tmp() as tmp:
            for url, message in [
                ("postgresql://user:secret@host/db", "DATABASE_URL is a 'postgresql' URL"),
                ("sqlite:///a.db?mode=ro", "query parameters are not supported"),
                ("sqlite://host/a.db", "names a host"),
                ("sqlite:a.db", "is not a URL of the form"),
            ]:
                with self.subTest(url=url):
                    p = run(["--dir", LINEAR, "current"], cwd=tmp,
                            env={"DATABASE_URL": url})
                    self.assertEqual(p.returncode, 2, p.stderr)
                    self.assertRegex(p.stderr, USAGE_LINE)
                    self.assertIn(message, p.stderr)
                    self.assertNotIn("secret", p.stderr)
            self.assertEqual(os.listdir(tmp), [])


class ReadOnlyTest(unittest.TestCase):
    """current, history -i, check, show current: a missing file is an error,
    and none of them creates one."""

    def test_missing_database(self):
        with Tmp() as tmp:
            for args in (["current"], ["current", "-v"], ["history", "-i"],
                         ["history", "-r", "current:"], ["check"], ["show", "current"],
                         ["graph"], ["downgrade", "base"]):
                with self.subTest(args=args):
                    p = run(ex("-d", "missing.db", *args), cwd=tmp)
                    self.assertEqual(p.returncode, 1, p.stderr)
                    self.assertEqual(p.stdout, "")
                    self.assertTrue(p.stderr.startswith(
                        "FAILED: database missing.db does not exist"), p.stderr)
                    self.assertEqual(os.listdir(tmp), [])
            p = run(ex("-d", "missing.db", "history", "-i"), cwd=tmp)
            self.assertIn("this command never creates it", p.stderr)

    def test_no_database_configured(self):
        with Tmp() as tmp:
            for args in (["current"], ["check"], ["history", "-i"], ["stamp", "head"]):
                with self.subTest(args=args):
                    p = run(ex(*args), cwd=tmp)
                    self.assertEqual(p.returncode, 2)
                    self.assertIn("no database: give -d DATABASE, or set "
                                  "MIGRATE_DATABASE or DATABASE_URL", p.stderr)

    def test_not_a_database(self):
        with Tmp() as tmp:
            with open(os.path.join(tmp, "junk.db"), "w") as f:
                f.write("this is not a database" * 100)
            p = run(ex("-d", "junk.db", "current"), cwd=tmp)
            self.assertEqual(p.returncode, 1)
            self.assertIn("FAILED: cannot use database junk.db: file is not a database",
                          p.stderr)

    def test_read_only_commands_do_not_write(self):
        with Tmp() as tmp:
            db = os.path.join(tmp, "a.db")
            run(ex("-d", db, "upgrade", "7b5e"), cwd=tmp)
            before = read_bytes(db)
            os.chmod(db, 0o444)
            try:
                for args in (["current"], ["history", "-i"], ["check"], ["show", "current"]):
                    p = run(ex("-d", db, *args), cwd=tmp)
                    self.assertIn(p.returncode, (0, 1), p.stderr)
                    self.assertNotIn("readonly", p.stderr)
            finally:
                os.chmod(db, 0o644)
            self.assertEqual(read_bytes(db), before)

    def test_unknown_revision_in_database(self):
        with Tmp() as tmp:
            run(ex("-d", "a.db", "upgrade", "5d21"), cwd=tmp)
            p = run(["--dir", LINEAR, "-d", "a.db", "current"], cwd=tmp)
            self.assertEqual(p.returncode, 1)
            self.assertIn("FAILED: Can't locate revision identified by '5d21b7e0c9a3'",
                          p.stderr)


class UpgradeDowngradeTest(unittest.TestCase):

    def test_upgrade_head_progress_and_results(self):
        with Tmp() as tmp:
            p = run(ex("-d", "a.db", "upgrade"), cwd=tmp)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(p.stdout, "")
            lines = p.stderr.splitlines()
            self.assertEqual(len(lines), 12)
            for line in lines:
                self.assertRegex(line, PROGRESS)
            self.assertRegex(lines[0], r"^Running upgrade  -> 3c8e5f21a7b4, Create contexts "
                                       r"table \(\d+ ms\)$")
            self.assertRegex(lines[10], r"^Running upgrade b3d18e7a5f60, d8f3b15c7a42 -> "
                                        r"4e92a7c0b6d1, Merge search and audit branches "
                                        r"\(\d+ ms\)$")
            self.assertEqual(versions(os.path.join(tmp, "a.db")), [HEAD])
            p = run(ex("-d", "a.db", "current"), cwd=tmp)
            self.assertEqual(p.stdout, HEAD + " (head)\n")

    def test_explicit_direction(self):
        with Tmp() as tmp:
            db = os.path.join(tmp, "a.db")
            run(ex("-d", db, "upgrade", "9a39"), cwd=tmp)
            # upgrade to an applied revision does nothing (Alembic)
            p = run(ex("-d", db, "upgrade", "5d21"), cwd=tmp)
            self.assertEqual((p.returncode, p.stdout, p.stderr), (0, "", ""))
            self.assertEqual(versions(db), ["9a39eb7fd78f"])
            # downgrade to a revision that is not applied is an error
            p = run(ex("-d", db, "downgrade", "7b5e"), cwd=tmp)
            self.assertEqual(p.returncode, 1)
            self.assertEqual(p.stderr, "FAILED: downgrade('7b5e'): Destination 7b5e is not "
                                       "a valid downgrade target from current head(s)\n")
            self.assertEqual(versions(db), ["9a39eb7fd78f"])
            p = run(ex("-d", db, "downgrade", "-1"), cwd=tmp)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertRegex(p.stderr, r"^Running downgrade 9a39eb7fd78f -> 1f0c2a7d44e0, "
                                       r"Add user preferences table \(\d+ ms\)\n$")
            self.assertEqual(versions(db), ["1f0c2a7d44e0"])
            p = run(ex("-d", db, "downgrade", "base"), cwd=tmp)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertRegex(p.stderr.splitlines()[-1],
                             r"^Running downgrade 3c8e5f21a7b4 -> , Create contexts table")
            self.assertEqual(versions(db), [])

    def test_bad_targets(self):
        with Tmp() as tmp:
            run(ex("-d", "a.db", "upgrade", "7b5e"), cwd=tmp)
            for args, message in [
                (["upgrade", "nope"], "FAILED: Can't locate revision identified by "
                                      "'nope'\n"),
                (["upgrade", "+1"], "FAILED: upgrade('+1'): Ambiguous walk: revision "
                                    "7b5e0d3f8c21 is a branch point"),
                (["downgrade", "-9"], "FAILED: downgrade('-9'): "),
            ]:
                with self.subTest(args=args):
                    p = run(ex("-d", "a.db", *args), cwd=tmp)
                    self.assertEqual(p.returncode, 1, p.stderr)
                    self.assertTrue(p.stderr.startswith(message), p.stderr)
                    self.assertEqual(versions(os.path.join(tmp, "a.db")), ["7b5e0d3f8c21"])

    def test_backup(self):
        with Tmp() as tmp:
            db = os.path.join(tmp, "a.db")
            run(["--dir", LINEAR, "-d", db, "upgrade", "b2"], cwd=tmp)
            before = snapshot(db)
            p = run(["--dir", LINEAR, "-d", db, "upgrade", "--backup", "a.bak"], cwd=tmp)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(snapshot(os.path.join(tmp, "a.bak")), before)
            self.assertEqual(versions(db), ["e5"])
            # an existing file is never overwritten, and nothing changes
            after = read_bytes(db)
            bak = read_bytes(os.path.join(tmp, "a.bak"))
            p = run(["--dir", LINEAR, "-d", db, "downgrade", "base", "--backup", "a.bak"],
                    cwd=tmp)
            self.assertEqual(p.returncode, 1)
            self.assertEqual(p.stderr, "FAILED: backup file a.bak already exists; refusing "
                                       "to overwrite it (nothing was changed)\n")
            self.assertEqual(read_bytes(db), after)
            self.assertEqual(read_bytes(os.path.join(tmp, "a.bak")), bak)
            p = run(["--dir", LINEAR, "-d", db, "downgrade", "c3", "--backup",
                     os.path.join(tmp, "nodir", "x.bak")], cwd=tmp)
            self.assertEqual(p.returncode, 1)
            self.assertIn("cannot create backup file", p.stderr)
            self.assertEqual(versions(db), ["e5"])

    def test_downgrade_needs_an_existing_database(self):
        with Tmp() as tmp:
            p = run(["--dir", LINEAR, "-d", "a.db", "downgrade", "base"], cwd=tmp)
            self.assertEqual(p.returncode, 1)
            self.assertEqual(os.listdir(tmp), [])


class FailingRevisionTest(unittest.TestCase):
    """A revision that fails: exit 1, the message names it, nothing changes."""

    def setUp(self):
        self.tmp_ctx = Tmp()
        self.tmp = self.tmp_ctx.__enter__()
        self.folder = os.path.join(self.tmp, "migrations")
        shutil.copytree(LINEAR, self.folder)
        with open(os.path.join(self.folder, "f6_break_things.sql"), "w") as f:
            f.write("-- Break things\n--\n-- Revision ID: f6\n-- Revises: e5\n\n"
                    "-- migrate:upgrade\nCREATE TABLE t6(x);\n"
                    "INSERT INTO no_such_table VALUES (1);\n\n"
                    "-- migrate:downgrade\nDROP TABLE t6;\n")

    def tearDown(self):
        self.tmp_ctx.__exit__(None, None, None)

    def test_failure_changes_nothing(self):
        db = os.path.join(self.tmp, "a.db")
        p = run(["-d", db, "upgrade", "c3"], cwd=self.tmp)  # ./migrations by default
        self.assertEqual(p.returncode, 0, p.stderr)
        before = snapshot(db, skip_log_times=False)
        p = run(["-d", db, "upgrade"], cwd=self.tmp)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stdout, "")
        failed = p.stderr.splitlines()[-1]
        self.assertEqual(
            failed, "FAILED: upgrade('head'): upgrade of f6 (Break things) failed at "
                    "f6_break_things.sql:8: no such table: no_such_table [statement: INSERT "
                    "INTO no_such_table VALUES (1);]; nothing was changed")
        self.assertEqual(snapshot(db, skip_log_times=False), before)
        self.assertEqual(versions(db), ["c3"])

    NOTE_LEFT_EMPTY = (
        "note: new.db did not exist and this command created it; it is left "
        "empty (another process may already have it open, so it is not "
        "deleted): delete it if nothing uses it, or run the command again "
        "once the cause is fixed\n")

    def test_failed_first_upgrade_leaves_the_empty_file_and_says_so(self):
        p = run(["-d", "new.db", "upgrade"], cwd=self.tmp)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stderr.splitlines(True)[-2:], [
            "FAILED: upgrade('head'): upgrade of f6 (Break things) failed at "
            "f6_break_things.sql:8: no such table: no_such_table [statement: "
            "INSERT INTO no_such_table VALUES (1);]; nothing was changed\n",
            self.NOTE_LEFT_EMPTY])
        self.assertEqual(os.path.getsize(os.path.join(self.tmp, "new.db")), 0)
        # an empty file is an empty database: the next upgrade uses it
        os.unlink(os.path.join(self.folder, "f6_break_things.sql"))
        p = run(["-d", "new.db", "upgrade"], cwd=self.tmp)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(versions(os.path.join(self.tmp, "new.db")), ["e5"])

    # the other process: opens the file once it exists, says so, and writes
    # a table when told to, printing what happened
    WRITER = (
        "import os, sqlite3, sys, time\n"
        "path = sys.argv[1]\n"
        "while not os.path.exists(path):\n"
        "    time.sleep(0.001)\n"
        "conn = sqlite3.connect(path, timeout=30, isolation_level=None)\n"
        "print('open', flush=True)\n"
        "sys.stdin.readline()\n"
        "try:\n"
        "    conn.execute('CREATE TABLE theirs(x)')\n"
        "    conn.execute('INSERT INTO theirs VALUES (42)')\n"
        "    print('written', flush=True)\n"
        "except sqlite3.Error as e:\n"
        "    print('error: %s' % e, flush=True)\n"
        "conn.close()\n")

    def test_failed_first_upgrade_spares_another_process_writing(self):
        # the revision fails after a slow statement, so that the other
        # process opens the file while the command still runs
        with open(os.path.join(self.folder, "f6_break_things.sql"), "w") as f:
            f.write("-- Break things\n--\n-- Revision ID: f6\n-- Revises: "
                    "e5\n\n-- migrate:upgrade\nWITH RECURSIVE n(i) AS "
                    "(SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < "
                    "3000000) SELECT count(*) FROM n;\n"
                    "INSERT INTO no_such_table VALUES (1);\n")
        db = os.path.join(self.tmp, "new.db")
        for attempt in range(5):
            if os.path.exists(db):
                os.unlink(db)
            writer = subprocess.Popen(
                ["/usr/bin/python3", "-c", self.WRITER, db],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            cli = subprocess.Popen([SHELL, "-d", "new.db", "upgrade"],
                                   cwd=self.tmp, env=program_env(),
                                   stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
            self.assertEqual(writer.stdout.readline(), "open\n")
            opened_while_running = cli.poll() is None
            out, err = cli.communicate()
            writer.stdin.write("go\n")
            writer.stdin.flush()
            said = writer.stdout.read()
            writer.wait()
            writer.stdin.close()
            writer.stdout.close()
            if opened_while_running:
                break
        else:
            self.fail("the other process never opened the file while "
                      "the command ran")
        self.assertNotRegex(err, SANITIZER_REPORT)
        self.assertEqual(cli.returncode, 1, err)
        # the other process wrote without an error, and its table is there
        self.assertEqual(said, "written\n")
        conn = sqlite3.connect(db)
        try:
            self.assertEqual(conn.execute("SELECT x FROM theirs").fetchall(),
                             [(42,)])
        finally:
            conn.close()
        self.assertEqual(err.splitlines(True)[-1], self.NOTE_LEFT_EMPTY)


class StampCheckTest(unittest.TestCase):

    def test_stamp(self):
        with Tmp() as tmp:
            db = os.path.join(tmp, "a.db")
            p = run(ex("-d", db, "stamp", "head"), cwd=tmp)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(p.stderr, "Running stamp_revision  -> %s\n" % HEAD)
            self.assertEqual(versions(db), [HEAD])
            self.assertEqual(db_tables(db), ["migrate_log", "migrate_scripts",
                                             "migrate_version"])
            p = run(ex("-d", db, "stamp", "b3d1"), cwd=tmp)
            self.assertEqual(p.stderr, "Running stamp_revision %s -> b3d18e7a5f60\n" % HEAD)
            p = run(ex("-d", db, "stamp", "base"), cwd=tmp)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(versions(db), [])
            p = run(ex("-d", db, "stamp", "nope"), cwd=tmp)
            self.assertEqual(p.returncode, 1)
            self.assertEqual("FAILED: Can't locate revision identified by 'nope'\n",
                             p.stderr)

    def test_check(self):
        with Tmp() as tmp:
            db = os.path.join(tmp, "a.db")
            run(ex("-d", db, "upgrade", "2a6f"), cwd=tmp)
            p = run(ex("-d", db, "check"), cwd=tmp)
            self.assertEqual(p.returncode, 1)
            self.assertEqual(p.stdout,
                             "pending: c6a04f2d9e13 (Add audit log for prompts) is not applied\n"
                             "pending: d8f3b15c7a42 (Audit conversation archiving and "
                             "deletion) is not applied\n"
                             "pending: b3d18e7a5f60 (Keep prompt search index in sync on "
                             "update and delete) is not applied\n"
                             "pending: 4e92a7c0b6d1 (Merge search and audit branches) is not "
                             "applied\n"
                             "pending: f05c3b8d2e76 (Switch database to WAL journal mode) is "
                             "not applied\n")
            self.assertEqual(p.stderr, "")
            run(ex("-d", db, "upgrade"), cwd=tmp)
            p = run(ex("-d", db, "check"), cwd=tmp)
            self.assertEqual((p.returncode, p.stderr), (0, ""))
            self.assertEqual(p.stdout, "No pending revisions; the database is at head "
                                       "(%s).\n" % HEAD)
            # schema drift is a finding too
            conn = sqlite3.connect(db)
            conn.execute("CREATE TABLE scratch(x)")
            conn.commit()
            conn.close()
            p = run(ex("-d", db, "check"), cwd=tmp)
            self.assertEqual(p.returncode, 1)
            self.assertEqual(p.stdout, "drift: table scratch: in the database, not in "
                                       "the history\n")


class ChecksumTest(unittest.TestCase):
    """An applied script edited afterwards: check says so, upgrade refuses."""

    def test_edited_script(self):
        with Tmp() as tmp:
            folder = shutil.copytree(LINEAR, os.path.join(tmp, "m"))
            db = os.path.join(tmp, "a.db")
            self.assertEqual(run(["--dir", folder, "-d", db, "upgrade", "c3"],
                                 cwd=tmp).returncode, 0)
            path = os.path.join(folder, "b2_second_step.sql")
            with open(path) as f:
                text = f.read()
            with open(path, "w") as f:
                f.write(text.replace("CREATE TABLE t2(x);", "CREATE TABLE t2(x, y);"))
            p = run(["--dir", folder, "-d", db, "check"], cwd=tmp)
            self.assertEqual(p.returncode, 1)
            self.assertRegex(p.stdout.splitlines()[0],
                             r"^checksum: b2 \(b2_second_step\.sql\) was applied with "
                             r"checksum [0-9a-f]{8}, the bundle's script has [0-9a-f]{8}$")
            before = snapshot(db, skip_log_times=False)
            p = run(["--dir", folder, "-d", db, "upgrade"], cwd=tmp)
            self.assertEqual(p.returncode, 1)
            self.assertIn("revision b2 (b2_second_step.sql) was applied with checksum",
                          p.stderr)
            self.assertEqual(snapshot(db, skip_log_times=False), before)


class RoundTripTest(unittest.TestCase):
    """test: every revision up, down, up again on scratch databases."""

    def test_example_passes(self):
        with Tmp() as tmp:
            p = run(ex("test"), cwd=tmp)
            self.assertEqual((p.returncode, p.stderr), (0, ""))
            self.assertEqual(p.stdout, "12 revisions passed the round trip (upgrade, "
                                       "downgrade, upgrade; schemas compared).\n")
            self.assertEqual(os.listdir(tmp), [], "test wrote a file")

    def test_findings(self):
        with Tmp() as tmp:
            folder = shutil.copytree(LINEAR, os.path.join(tmp, "m"))
            path = os.path.join(folder, "e5_fifth_step.sql")
            with open(path) as f:
                text = f.read()
            with open(path, "w") as f:
                f.write(text.replace("DROP TABLE t5;", "SELECT 1;"))
            p = run(["--dir", folder, "test"], cwd=tmp)
            self.assertEqual(p.returncode, 1)
            self.assertEqual(p.stderr, "")
            self.assertIn("revision e5 (e5_fifth_step.sql): downgrade does not undo the "
                          "upgrade: table t5: left after the downgrade\n", p.stdout)
            p = run(["--dir", os.path.join(FIXTURES, "deps"), "test"], cwd=tmp)
            self.assertEqual(p.returncode, 1)
            self.assertEqual(p.stdout, "multiple heads: c1, c2, x1; merge them "
                                       "(sqlite-migrate merge -m MESSAGE heads)\n")


def db_tables(path):
    conn = sqlite3.connect(path)
    try:
        return [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1")]
    finally:
        conn.close()


class OfflineTest(unittest.TestCase):
    """--sql prints migrate_sql()'s script; the sqlite3 shell running it on a
    fresh file reaches the online command's schema, data and version table."""

    def sqlite3_cli(self, db, script):
        env = dict(os.environ)
        # the example's downgrade of 7b5e0d3f8c21 calls migrate_rebuild()
        p = subprocess.run(["sqlite3", "-bail", "-cmd", ".load " + EXTENSION, db],
                           input=script, capture_output=True, text=True, env=env)
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_round_trip_from_base(self):
        with Tmp() as tmp:
            p = run(ex("upgrade", "--sql"), cwd=tmp)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(p.stderr, "")
            self.assertTrue(p.stdout.startswith("-- sqlite-migrate "), p.stdout[:80])
            self.assertIn("-- Running upgrade  -> 3c8e5f21a7b4, Create contexts table\n",
                          p.stdout)
            offline, online = os.path.join(tmp, "off.db"), os.path.join(tmp, "on.db")
            self.sqlite3_cli(offline, p.stdout)
            q = run(ex("-d", online, "upgrade"), cwd=tmp)
            self.assertEqual(q.returncode, 0, q.stderr)
            self.assertEqual(snapshot(offline), snapshot(online))
            self.assertEqual(versions(offline), [HEAD])
            self.assertEqual(len(db_rows_of(offline, "migrate_log")), 12)

    def test_round_trip_ranges_and_downgrade(self):
        with Tmp() as tmp:
            offline, online = os.path.join(tmp, "off.db"), os.path.join(tmp, "on.db")
            for db in (offline, online):
                self.assertEqual(run(ex("-d", db, "upgrade", "e4b7"), cwd=tmp).returncode, 0)
            # FROM:TO, no database involved
            p = run(ex("upgrade", "e4b7:audit@head", "--sql"), cwd=tmp)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.sqlite3_cli(offline, p.stdout)
            run(ex("-d", online, "upgrade", "audit@head"), cwd=tmp)
            self.assertEqual(snapshot(offline), snapshot(online))
            # from the database's own version (read-only)
            before = read_bytes(online)
            p = run(ex("-d", online, "downgrade", "9a39", "--sql"), cwd=tmp)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(read_bytes(online), before)
            self.assertIn("-- Running downgrade 7b5e0d3f8c21 -> e4b7c2a91d05", p.stdout)
            self.sqlite3_cli(offline, p.stdout)
            run(ex("-d", online, "downgrade", "9a39"), cwd=tmp)
            self.assertEqual(snapshot(offline), snapshot(online))
            self.assertEqual(versions(offline), ["9a39eb7fd78f"])
            # stamp --sql
            p = run(ex("stamp", "9a39:head", "--sql"), cwd=tmp)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.sqlite3_cli(offline, p.stdout)
            self.assertEqual(versions(offline), [HEAD])

    def test_same_text_as_migrate_sql(self):
        self.assertTrue(extension_available(), "cannot load %s" % EXTENSION)
        with Tmp() as tmp:
            db = os.path.join(tmp, "a.db")
            run(ex("-d", db, "upgrade", "1f0c"), cwd=tmp)
            for target in ("head", "c6a0", "+2", "heads"):
                with self.subTest(target=target):
                    p = run(ex("-d", db, "upgrade", target, "--sql"), cwd=tmp)
                    self.assertEqual(p.returncode, 0, p.stderr)
                    conn = sqlite3.connect(db)
                    conn.enable_load_extension(True)
                    conn.load_extension(EXTENSION)
                    want = conn.execute("SELECT migrate_sql(?, migrate_bundle(?))",
                                        (target, EXAMPLE)).fetchone()[0]
                    conn.close()
                    self.assertEqual(p.stdout, want)

    def test_bad_from(self):
        with Tmp() as tmp:
            p = run(ex("upgrade", "nope:head", "--sql"), cwd=tmp)
            self.assertEqual(p.returncode, 1)
            self.assertEqual(p.stderr, "FAILED: Can't locate revision identified by "
                                       "'nope'\n")
            p = run(ex("upgrade", ":head", "--sql"), cwd=tmp)
            self.assertEqual(p.returncode, 2)
            p = run(ex("upgrade", "base:", "--sql"), cwd=tmp)
            self.assertEqual(p.returncode, 2)


def db_rows_of(path, table):
    conn = sqlite3.connect(path)
    try:
        return conn.execute('SELECT * FROM "%s"' % table).fetchall()
    finally:
        conn.close()


class BundleTest(unittest.TestCase):

    def test_bundle_file_round_trip(self):
        with Tmp() as tmp:
            p = run(ex("bundle", "-o", "history.bundle"), cwd=tmp)
            self.assertEqual(p.returncode, 0, p.stderr)
            size = os.path.getsize(os.path.join(tmp, "history.bundle"))
            self.assertEqual(p.stdout, "history.bundle: 12 revisions, %d bytes\n" % size)
            from_dir = run(ex("history", "-v"), cwd=tmp).stdout
            from_file = run(["--bundle", "history.bundle", "history"], cwd=tmp).stdout
            self.assertEqual(from_file, run(ex("history"), cwd=tmp).stdout)
            self.assertIn("Path: f05c3b8d2e76_switch_to_wal_journal_mode.sql (in bundle "
                          "history.bundle)\n",
                          run(["--bundle", "history.bundle", "show", "head"], cwd=tmp).stdout)
            self.assertIn("Path: %s/f05c3b8d2e76_switch" % EXAMPLE, from_dir)
            # the extension reads the same file
            self.assertTrue(extension_available(), "cannot load %s" % EXTENSION)
            conn = sqlite3.connect(":memory:")
            conn.enable_load_extension(True)
            conn.load_extension(EXTENSION)
            n = conn.execute("SELECT count(*) FROM migrations(migrate_bundle(?))",
                             (os.path.join(tmp, "history.bundle"),)).fetchone()[0]
            conn.close()
            self.assertEqual(n, 12)
            # and upgrades from it
            p = run(["--bundle", "history.bundle", "-d", "a.db", "upgrade"], cwd=tmp)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(versions(os.path.join(tmp, "a.db")), [HEAD])

    def test_revision_sources(self):
        with Tmp() as tmp:
            # no ./migrations: never the example built into a plain `make`
            # (test_alembic_config.py tests every source and the message)
            p = run(["history"], cwd=tmp)
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertTrue(p.stderr.startswith("FAILED: no revisions to work with"))
            # ./migrations when it exists
            shutil.copytree(LINEAR, os.path.join(tmp, "migrations"))
            p = run(["heads"], cwd=tmp)
            self.assertEqual(p.stdout, "e5 (tail) (head)\n")
            p = run(["show", "e5"], cwd=tmp)
            self.assertIn("Path: migrations/e5_fifth_step.sql\n", p.stdout)
            # wrong kinds
            p = run(["--dir", os.path.join(LINEAR, "a1_first_step.sql"), "heads"], cwd=tmp)
            self.assertEqual(p.returncode, 1)
            self.assertIn("is not a folder", p.stderr)
            p = run(["--bundle", LINEAR, "heads"], cwd=tmp)
            self.assertEqual(p.returncode, 1)
            self.assertIn("is a folder", p.stderr)
            p = run(["--dir", os.path.join(tmp, "nope"), "heads"], cwd=tmp)
            self.assertEqual(p.returncode, 1)
            self.assertIn("cannot read migrations folder", p.stderr)

    def test_broken_folder_names_the_file(self):
        with Tmp() as tmp:
            folder = shutil.copytree(LINEAR, os.path.join(tmp, "m"))
            with open(os.path.join(folder, "zz_bad.sql"), "w") as f:
                f.write("-- bad\n--\n-- Revision ID: zz\n-- Revises: nope\n\n"
                        "-- migrate:upgrade\nSELECT 1;\n")
            p = run(["--dir", folder, "history"], cwd=tmp)
            self.assertEqual(p.returncode, 1)
            self.assertEqual(p.stderr, "FAILED: %s/zz_bad.sql: Revises names unknown "
                                       "revision 'nope'; is its file missing from the "
                                       "folder?\n" % folder)


class WriteTest(unittest.TestCase):
    """init, revision, merge."""

    def test_init(self):
        with Tmp() as tmp:
            p = run(["init"], cwd=tmp)
            self.assertEqual(p.returncode, 0, p.stderr)
            path = os.path.join(os.path.realpath(tmp), "migrations")
            self.assertEqual(p.stdout, "Creating directory %s ...  done\n"
                                       "Generating %s/README ...  done\n"
                                       "Generating %s/sqlite-migrate.ini ...  done\n"
                                       % (path, path, os.path.dirname(path)))
            self.assertEqual(os.listdir(os.path.join(tmp, "migrations")), ["README"])
            p = run(["init"], cwd=tmp)
            self.assertEqual(p.returncode, 1)
            self.assertEqual(p.stderr, "FAILED: Directory migrations already exists and "
                                       "is not empty\n")
            os.mkdir(os.path.join(tmp, "empty"))
            p = run(["init", "empty"], cwd=tmp)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertTrue(p.stdout.startswith("Generating "))
            p = run(["init", "deep/er"], cwd=tmp)
            self.assertEqual(p.returncode, 0, p.stderr)

    def test_empty_history(self):
        """Right after init: no revisions, nothing to print, nothing to do."""
        with Tmp() as tmp:
            self.assertEqual(run(["init"], cwd=tmp).returncode, 0)
            for args in (["heads"], ["history"], ["branches"]):
                p = run(args, cwd=tmp)
                self.assertEqual((p.returncode, p.stdout, p.stderr), (0, "", ""))
            p = run(["-d", "a.db", "upgrade"], cwd=tmp)
            self.assertEqual((p.returncode, p.stdout, p.stderr), (0, "", ""))
            p = run(["-d", "a.db", "current"], cwd=tmp)
            self.assertEqual((p.returncode, p.stdout), (0, ""))
            p = run(["revision", "-m", "first", "--rev-id", "r1"], cwd=tmp)
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(os.path.join(tmp, "migrations", "r1_first.sql")) as f:
                self.assertIn("-- Revision ID: r1\n-- Revises:\n", f.read())

    def new_folder(self, tmp, src=LINEAR):
        return shutil.copytree(src, os.path.join(tmp, "migrations"))

    def test_revision(self):
        with Tmp() as tmp:
            folder = self.new_folder(tmp)
            p = run(["revision", "-m", "Add the users' table, finally!"], cwd=tmp)
            self.assertEqual(p.returncode, 0, p.stderr)
            path = p.stdout.strip()
            self.assertRegex(path, r"^migrations/[0-9a-f]{12}_add_the_users_table_finally\.sql$")
            rid = os.path.basename(path)[:12]
            with open(os.path.join(tmp, path)) as f:
                text = f.read()
            self.assertRegex(text,
                             r"^-- Add the users' table, finally!\n--\n-- Revision ID: %s\n"
                             r"-- Revises: e5\n-- Create Date: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\n"
                             r"\n-- migrate:upgrade\n\n\n-- migrate:downgrade\n\n$" % rid)
            p = run(["heads"], cwd=tmp)
            self.assertEqual(p.stdout, "%s (tail) (head)\n" % rid)
            # the new empty revision applies and reverts
            p = run(["-d", "a.db", "upgrade"], cwd=tmp)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("Running upgrade e5 -> %s, Add the users' table, finally!" % rid,
                          p.stderr)
            p = run(["-d", "a.db", "downgrade", "-1"], cwd=tmp)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertTrue(os.path.isdir(folder))

    def test_revision_options(self):
        with Tmp() as tmp:
            self.new_folder(tmp)
            p = run(["revision", "-m", "side", "--rev-id", "s1", "--head", "base",
                     "--branch-label", "side"], cwd=tmp)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(p.stdout, "migrations/s1_side.sql\n")
            with open(os.path.join(tmp, "migrations", "s1_side.sql")) as f:
                text = f.read()
            self.assertIn("-- Revision ID: s1\n-- Revises:\n", text)
            self.assertIn("-- Branch Labels: side\n", text)
            # two heads now: Alembic's error without --head
            p = run(["revision", "-m", "x"], cwd=tmp)
            self.assertEqual(p.returncode, 1)
            self.assertEqual(p.stderr, "FAILED: Multiple heads are present; please specify "
                                       "the head revision on which the new revision should "
                                       "be based, or perform a merge.\n")
            p = run(["revision", "-m", "on side", "--rev-id", "s2", "--head", "side@head",
                     "--depends-on", "c3", "--depends-on", "side"], cwd=tmp)
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(os.path.join(tmp, "migrations", "s2_on_side.sql")) as f:
                self.assertIn("-- Revises: s1\n-- Create Date: ", f.read())
            with open(os.path.join(tmp, "migrations", "s2_on_side.sql")) as f:
                self.assertIn("-- Depends On: c3, side\n", f.read())
            # a prefix is resolved to the full id
            p = run(["revision", "-m", "dep", "--rev-id", "s3", "--head", "s2",
                     "--depends-on", "e5"], cwd=tmp)
            self.assertEqual(p.returncode, 0, p.stderr)
            # errors
            for args, message in [
                (["--head", "c3"], "FAILED: Revision c3 is not a head revision; please "
                                   "specify --splice to create a new branch from this "
                                   "revision\n"),
                (["--head", "e5", "--rev-id", "e5"], "FAILED: Revision ID e5 is already "
                                                     "used by e5_fifth_step.sql\n"),
                (["--head", "e5", "--rev-id", "bad-id"], "FAILED: Revision ID 'bad-id' may "
                                                         "only hold"),
                (["--head", "e5", "--rev-id", "head"], "is a reserved word"),
                (["--head", "e5", "--branch-label", "side"], "Branch name 'side'"),
                (["--head", "nope"], "FAILED: Can't locate revision identified by "
                                     "'nope'\n"),
                (["--head", "e5", "--depends-on", "nope"], "FAILED: --depends-on nope: "),
            ]:
                with self.subTest(args=args):
                    files = sorted(os.listdir(os.path.join(tmp, "migrations")))
                    p = run(["revision", "-m", "x"] + args, cwd=tmp)
                    self.assertEqual(p.returncode, 1, p.stderr)
                    self.assertIn(message, p.stderr)
                    self.assertEqual(sorted(os.listdir(os.path.join(tmp, "migrations"))),
                                     files, "a refused revision left a file behind")
            # --splice makes a branch
            p = run(["revision", "-m", "Branch from c3", "--head", "c3", "--splice",
                     "--rev-id", "c3b"], cwd=tmp)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(run(["heads"], cwd=tmp).stdout,
                             "c3b (head)\ne5 (tail) (effective head)\n"
                             "s3 (side) (head)\n")

    def test_revision_needs_a_folder(self):
        with Tmp() as tmp:
            p = run(["revision", "-m", "x"], cwd=tmp)
            self.assertEqual(p.returncode, 1)
            self.assertIn("revision writes a script into a migrations folder", p.stderr)
            self.assertEqual(os.listdir(tmp), [])

    def test_slug_and_default_message(self):
        with Tmp() as tmp:
            self.new_folder(tmp)
            p = run(["revision", "--rev-id", "n1"], cwd=tmp)
            self.assertEqual(p.stdout, "migrations/n1_.sql\n")
            with open(os.path.join(tmp, "migrations", "n1_.sql")) as f:
                self.assertTrue(f.read().startswith("-- empty message\n--\n"))
            p = run(["revision", "--rev-id", "n2", "-m",
                     "A very long message that goes on and on beyond forty characters"],
                    cwd=tmp)
            # Alembic: slug[:40].rsplit("_", 1)[0] + "_"
            self.assertEqual(p.stdout,
                             "migrations/n2_a_very_long_message_that_goes_on_and_on_.sql\n")

    def test_merge(self):
        with Tmp() as tmp:
            self.new_folder(tmp)
            run(["revision", "-m", "side", "--rev-id", "s1", "--head", "c3", "--splice"],
                cwd=tmp)
            p = run(["merge", "-m", "Merge side and main", "--rev-id", "m1", "heads"],
                    cwd=tmp)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(p.stdout, "migrations/m1_merge_side_and_main.sql\n")
            with open(os.path.join(tmp, "migrations", "m1_merge_side_and_main.sql")) as f:
                self.assertIn("-- Revision ID: m1\n-- Revises: e5, s1\n", f.read())
            self.assertEqual(run(["heads"], cwd=tmp).stdout, "m1 (tail) (head)\n")
            p = run(["merge", "-m", "again", "heads"], cwd=tmp)
            self.assertEqual(p.returncode, 1)
            self.assertIn("a merge needs two heads or more", p.stderr)
            p = run(["merge", "-m", "x", "c3", "m1"], cwd=tmp)
            self.assertEqual(p.returncode, 1)
            self.assertIn("Revision c3 is not a head revision", p.stderr)
            p = run(["merge", "-m", "x", "m1", "m1"], cwd=tmp)
            self.assertEqual(p.stderr, "FAILED: Duplicate head revisions specified\n")
            p = run(["-d", "a.db", "upgrade"], cwd=tmp)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("Running upgrade e5, s1 -> m1, Merge side and main", p.stderr)


class GraphTest(unittest.TestCase):

    def test_example_graph(self):
        with Tmp() as tmp:
            p = run(ex("graph"), cwd=tmp)
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(os.path.join(HERE, "expected_graph.dot")) as f:
                self.assertEqual(p.stdout, f.read())
            if shutil.which("dot"):
                q = subprocess.run(["dot", "-Tsvg"], input=p.stdout, capture_output=True,
                                   text=True)
                self.assertEqual(q.returncode, 0, q.stderr)

    def test_current_marked(self):
        with Tmp() as tmp:
            run(ex("-d", "a.db", "upgrade", "b3d1"), cwd=tmp)
            run(ex("-d", "a.db", "upgrade", "c6a0"), cwd=tmp)
            p = run(ex("-d", "a.db", "graph"), cwd=tmp)
            self.assertEqual(p.returncode, 0, p.stderr)
            marked = re.findall(r'^  "(\w+)" \[label="[^"]*\(current\)', p.stdout, re.M)
            self.assertEqual(sorted(marked), ["b3d18e7a5f60", "c6a04f2d9e13"])
            self.assertEqual(p.stdout.count('fillcolor="#b7e1cd"'), 2)

    def test_dependencies_and_effective_heads(self):
        with Tmp() as tmp:
            p = run(["--dir", os.path.join(FIXTURES, "deps"), "graph"], cwd=tmp)
            self.assertIn('  "x1" -> "c1" [style=dashed, label="depends on", fontsize=8];\n',
                          p.stdout)
            self.assertIn('"x1" [label="x1 (base) (effective head)\\nCreate extras", '
                          'peripheries=2', p.stdout)


if __name__ == "__main__":
    unittest.main()
