"""sqlite-migrate revision --autogenerate, diff and check with a declared
schema: the Alembic workflow on a copy of the example history
(migrations/ with its schema.sql).

Each test copies the example into a scratch folder, edits schema.sql, and
runs the real program: the written revision must pass mkbundle --check and
sqlite-migrate test, upgrade a database, and leave check clean.
"""

import os
import random
import re
import sqlite3
import subprocess
import sys
import unittest

from shell_support import EXAMPLE, REPO, Tmp, copy_folder, run

sys.path.insert(0, os.path.join(REPO, "tests", "python"))
import schemagen as G  # noqa: E402

MKBUNDLE = os.path.join(REPO, "build", "mkbundle")
HEAD = "f05c3b8d2e76"

PREFS = """CREATE TABLE user_preferences (
    user_id TEXT NOT NULL,
    preference_key TEXT NOT NULL,
    preference_value TEXT,
    PRIMARY KEY (user_id, preference_key)
);"""


def edit(path, old, new):
    with open(path) as f:
        text = f.read()
    assert old in text, old
    with open(path, "w") as f:
        f.write(text.replace(old, new))


def read(path):
    with open(path) as f:
        return f.read()


class AutogenerateTest(unittest.TestCase):

    def setUp(self):
        self.tmp_ctx = Tmp()
        self.tmp = self.tmp_ctx.__enter__()
        self.mig = copy_folder(EXAMPLE, os.path.join(self.tmp, "migrations"))
        self.schema = os.path.join(self.mig, "schema.sql")

    def tearDown(self):
        self.tmp_ctx.__exit__(None, None, None)

    def files(self):
        return sorted(os.listdir(self.mig))

    def test_example_schema_equals_its_head(self):
        p = run(["diff"], cwd=self.tmp)
        self.assertEqual((p.returncode, p.stdout, p.stderr),
                         (0, "", "No changes in schema detected.\n"))
        before = self.files()
        p = run(["revision", "--autogenerate", "-m", "nothing"], cwd=self.tmp)
        self.assertEqual((p.returncode, p.stdout),
                         (0, "No changes in schema detected.\n"))
        self.assertEqual(self.files(), before)

    def test_workflow(self):
        edit(self.schema, PREFS, PREFS.replace(
            "    preference_value TEXT,\n",
            "    preference_value TEXT,\n    updated_at TEXT,\n"))
        edit(self.schema, "CREATE TABLE audit_log (",
             "CREATE TABLE tags (\n    id INTEGER PRIMARY KEY,\n"
             "    name TEXT NOT NULL UNIQUE\n);\n\nCREATE TABLE audit_log (")
        want_up = ("CREATE TABLE tags (\n    id INTEGER PRIMARY KEY,\n"
                   "    name TEXT NOT NULL UNIQUE\n);\n"
                   "ALTER TABLE user_preferences ADD COLUMN updated_at "
                   "TEXT;\n")
        p = run(["diff"], cwd=self.tmp)
        self.assertEqual((p.returncode, p.stdout, p.stderr), (0, want_up, ""))
        # check, on a database at head: the schema differs from the head
        self.assertEqual(run(["-d", "app.db", "upgrade"], cwd=self.tmp)
                         .returncode, 0)
        p = run(["-d", "app.db", "check"], cwd=self.tmp)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stdout, (
            "schema: table tags: only in migrations/schema.sql\n"
            "schema: table user_preferences: column updated_at: only in "
            "migrations/schema.sql\n"
            "migrations/schema.sql differs from the history's head: run "
            "'sqlite-migrate revision --autogenerate -m MESSAGE' to write "
            "the revision.\n"))
        # the revision
        p = run(["revision", "--autogenerate", "-m", "tags and updated_at",
                 "--rev-id", "a1b2c3d4e5f6"], cwd=self.tmp)
        self.assertEqual(p.returncode, 0, p.stderr)
        path = os.path.join(self.mig, "a1b2c3d4e5f6_tags_and_updated_at.sql")
        self.assertEqual(p.stdout, "migrations/a1b2c3d4e5f6_tags_and_updated_at.sql\n")
        text = read(path)
        self.assertRegex(text, re.compile(
            r"\A-- tags and updated_at\n--\n-- Revision ID: a1b2c3d4e5f6\n"
            r"-- Revises: %s\n-- Create Date: \S+ \S+\n\n"
            r"-- migrate:upgrade\n" % HEAD))
        up = text.split("-- migrate:upgrade\n")[1].split(
            "\n-- migrate:downgrade\n")[0]
        down = text.split("-- migrate:downgrade\n")[1]
        self.assertEqual(up, want_up)
        if sqlite3.sqlite_version_info >= (3, 35, 0):
            self.assertEqual(down, (
                "-- destructive: drops table tags and its rows\n"
                "DROP TABLE tags;\n"
                "-- destructive: drops column user_preferences.updated_at "
                "and its values\n"
                "ALTER TABLE user_preferences DROP COLUMN updated_at;\n"))
        # the bundler and the round trip accept it
        m = subprocess.run([MKBUNDLE, "--check", self.mig],
                           capture_output=True, text=True)
        self.assertEqual(m.returncode, 0, m.stderr)
        p = run(["test"], cwd=self.tmp)
        self.assertEqual((p.returncode, p.stdout), (0, (
            "13 revisions passed the round trip (upgrade, downgrade, "
            "upgrade; schemas compared).\n")))
        # upgrade keeps the rows; check is clean; nothing more to write
        conn = sqlite3.connect(os.path.join(self.tmp, "app.db"))
        conn.execute("INSERT INTO user_preferences VALUES ('u', 'k', 'v')")
        conn.commit()
        conn.close()
        self.assertEqual(run(["-d", "app.db", "upgrade"], cwd=self.tmp)
                         .returncode, 0)
        conn = sqlite3.connect(os.path.join(self.tmp, "app.db"))
        self.assertEqual(conn.execute(
            "SELECT * FROM user_preferences WHERE user_id = 'u'").fetchall(),
            [("u", "k", "v", None)])
        self.assertEqual(conn.execute(
            "SELECT count(*) FROM user_preferences").fetchone()[0], 6)
        conn.close()
        p = run(["-d", "app.db", "check"], cwd=self.tmp)
        self.assertEqual((p.returncode, p.stdout), (0, (
            "No pending revisions; the database is at head "
            "(a1b2c3d4e5f6).\n")))
        p = run(["revision", "--autogenerate", "-m", "again"], cwd=self.tmp)
        self.assertEqual((p.returncode, p.stdout),
                         (0, "No changes in schema detected.\n"))

    def test_rename_round_trip(self):
        edit(self.schema, PREFS, "-- migrate:renamed-from user_preferences\n"
             + PREFS.replace("user_preferences", "settings").replace(
                 "    preference_value TEXT,\n",
                 "    -- migrate:renamed-from preference_value\n"
                 "    value TEXT,\n"))
        p = run(["revision", "--autogenerate", "-m", "rename",
                 "--rev-id", "r1"], cwd=self.tmp)
        self.assertEqual(p.returncode, 0, p.stderr)
        text = read(os.path.join(self.mig, "r1_rename.sql"))
        self.assertIn("-- migrate:upgrade\n"
                      "ALTER TABLE user_preferences RENAME TO settings;\n"
                      "ALTER TABLE settings RENAME COLUMN preference_value TO "
                      "value;\n\n"
                      "-- migrate:downgrade\n"
                      "ALTER TABLE settings RENAME TO user_preferences;\n"
                      "ALTER TABLE user_preferences RENAME COLUMN value TO "
                      "preference_value;\n", text)
        p = run(["test"], cwd=self.tmp)
        self.assertEqual(p.returncode, 0, p.stdout)
        # the notes stay in schema.sql: once applied they are done
        p = run(["diff"], cwd=self.tmp)
        self.assertEqual((p.returncode, p.stdout), (0, ""))

    def test_diff_against_a_database(self):
        db = os.path.join(self.tmp, "old.db")
        conn = sqlite3.connect(db)
        conn.execute("CREATE TABLE contexts (id TEXT PRIMARY KEY NOT NULL)")
        conn.close()
        p = run(["-d", db, "diff", "--schema",
                 os.path.join(self.tmp, "s.sql")], cwd=self.tmp)
        self.assertEqual(p.returncode, 1)
        self.assertIn("cannot read the declared schema", p.stderr)
        with open(os.path.join(self.tmp, "s.sql"), "w") as f:
            f.write("CREATE TABLE contexts (id TEXT PRIMARY KEY NOT NULL, "
                    "name TEXT);\n")
        with open(db, "rb") as f:
            before = f.read()
        p = run(["-d", db, "diff", "--schema", "s.sql"], cwd=self.tmp)
        self.assertEqual((p.returncode, p.stdout),
                         (0, "ALTER TABLE contexts ADD COLUMN name TEXT;\n"))
        with open(db, "rb") as f:
            self.assertEqual(f.read(), before)

    def test_baseline_from_db(self):
        legacy = os.path.join(self.tmp, "legacy.db")
        conn = sqlite3.connect(legacy)
        conn.executescript("CREATE TABLE a (id INTEGER PRIMARY KEY);"
                           "CREATE TABLE b (a_id REFERENCES a (id));"
                           "CREATE INDEX b_a ON b (a_id);")
        conn.close()
        fresh = os.path.join(self.tmp, "fresh")
        os.mkdir(fresh)
        p = run(["--dir", fresh, "revision", "--autogenerate", "--from-db",
                 legacy, "-m", "baseline", "--rev-id", "base1"], cwd=self.tmp)
        self.assertEqual(p.returncode, 0, p.stderr)
        text = read(os.path.join(fresh, "base1_baseline.sql"))
        self.assertIn("-- Revises:\n", text)
        self.assertTrue(text.endswith(
            "-- migrate:upgrade\n"
            "CREATE TABLE a (id INTEGER PRIMARY KEY);\n"
            "CREATE TABLE b (a_id REFERENCES a (id));\n"
            "CREATE INDEX b_a ON b (a_id);\n\n"
            "-- migrate:downgrade\n"
            "-- destructive: drops table b and its rows\n"
            "DROP TABLE b;\n"
            "-- destructive: drops table a and its rows\n"
            "DROP TABLE a;\n"), text)
        p = run(["--dir", fresh, "test"], cwd=self.tmp)
        self.assertEqual(p.returncode, 0, p.stdout)

    def test_refusals_write_nothing(self):
        before = self.files()
        cases = [
            ("CREATE TABLE contexts (", "DELETE FROM x;\nCREATE TABLE contexts (",
             "FAILED: migrations/schema.sql:%d: DELETE does not belong in a "
             "schema: it holds CREATE TABLE, CREATE INDEX, CREATE VIEW, CREATE "
             "TRIGGER and CREATE VIRTUAL TABLE statements for the main "
             "database, and comments\n"),
            ("CREATE TABLE contexts (", "CREATE TABLE contexts (,",
             "FAILED: migrations/schema.sql:%d: near \",\": syntax error\n"),
            (PREFS, "-- migrate:renamed-from nothing_here\n"
             "CREATE TABLE settings (k);\n" + PREFS,
             "FAILED: migrations/schema.sql:%d: '-- migrate:renamed-from "
             "nothing_here': the history's head has no table nothing_here "
             "(nor settings)\n"),
        ]
        original = read(self.schema)
        for old, new, msg in cases:
            with self.subTest(new[:30]):
                with open(self.schema, "w") as f:
                    f.write(original.replace(old, new))
                line = original.split(old)[0].count("\n") + 1
                p = run(["revision", "--autogenerate", "-m", "x"],
                        cwd=self.tmp)
                self.assertEqual((p.returncode, p.stdout, p.stderr),
                                 (1, "", msg % line))
                self.assertEqual(self.files(), before)

    def test_multiple_heads_refused(self):
        with open(os.path.join(self.mig, "zz1_side.sql"), "w") as f:
            f.write("-- side\n--\n-- Revision ID: zz1\n-- Revises: %s\n\n"
                    "-- migrate:upgrade\nSELECT 1;\n" % HEAD)
        with open(os.path.join(self.mig, "zz2_side.sql"), "w") as f:
            f.write("-- side\n--\n-- Revision ID: zz2\n-- Revises: %s\n\n"
                    "-- migrate:upgrade\nSELECT 1;\n" % HEAD)
        before = self.files()
        p = run(["revision", "--autogenerate", "-m", "x"], cwd=self.tmp)
        self.assertEqual((p.returncode, p.stderr), (1, (
            "FAILED: Multiple heads are present; please specify the head "
            "revision on which the new revision should be based, or perform "
            "a merge.\n")))
        self.assertEqual(self.files(), before)
        # check compares the schema with all heads applied
        self.assertEqual(run(["-d", "app.db", "upgrade", "heads"],
                             cwd=self.tmp).returncode, 0)
        p = run(["-d", "app.db", "check"], cwd=self.tmp)
        self.assertEqual((p.returncode, p.stdout), (0, (
            "No pending revisions; the database is at head (zz1, zz2).\n")))
        edit(self.schema, PREFS, "")
        p = run(["-d", "app.db", "check"], cwd=self.tmp)
        self.assertEqual((p.returncode, p.stdout), (1, (
            "schema: table user_preferences: only in the history's head\n"
            "migrations/schema.sql differs from the history's head: run "
            "'sqlite-migrate revision --autogenerate -m MESSAGE' to write "
            "the revision.\n")))

    def test_usage(self):
        p = run(["revision", "--schema", "s.sql", "-m", "x"], cwd=self.tmp)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--schema and --from-db go with --autogenerate", p.stderr)


class GeneratedHistoryTest(unittest.TestCase):
    """Random pairs through the program: a baseline from a database built
    with `from` (--from-db), then `to` (renames declared) as schema.sql and
    revision --autogenerate; the history must pass `test` (the downgrade,
    with its renames inverted, undoes the upgrade) and leave nothing to
    diff.  A few pairs: each costs four runs of the program."""

    def test_pairs(self):
        for seed in range(1, 13):
            rng = random.Random(seed * 7919)
            names = G.Namer(rng)
            a = G.gen_schema(rng, names)
            b, what = G.mutate(a, rng, names, n=2)
            for m in ("rename_column", "rename_table"):  # renames, always
                if G.apply_mutation(b, m, rng, names):
                    what.append(m)
                G.fixup(b)
            with self.subTest(seed=seed, mutations=what), Tmp() as tmp:
                mig = os.path.join(tmp, "migrations")
                os.mkdir(mig)
                conn = sqlite3.connect(os.path.join(tmp, "from.db"))
                conn.executescript(G.render(a))
                conn.close()
                p = run(["revision", "--autogenerate", "--from-db",
                         "from.db", "-m", "baseline", "--rev-id", "r1"],
                        cwd=tmp)
                self.assertEqual(p.returncode, 0, p.stderr)
                with open(os.path.join(mig, "schema.sql"), "w") as f:
                    f.write(G.render(b, G.notes_of(b)))
                p = run(["revision", "--autogenerate", "-m", "change",
                         "--rev-id", "r2"], cwd=tmp)
                self.assertEqual(p.returncode, 0, p.stderr)
                p = run(["test"], cwd=tmp)
                self.assertEqual(p.returncode, 0, p.stdout)
                p = run(["diff"], cwd=tmp)
                self.assertEqual((p.returncode, p.stdout), (0, ""))


if __name__ == "__main__":
    unittest.main()
