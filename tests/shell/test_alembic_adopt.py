"""A database Alembic migrated, continued by sqlite-migrate (README.md,
"Coming from Alembic", step 5).

fixtures/adopt/app.db was made by real Alembic 1.8.1 (`alembic upgrade
2b7d4e8f0a52` with the project in fixtures/adopt/: alembic.ini, alembic/env.py,
alembic/versions/*.py); fixtures/adopt/migrations/ holds the same revisions as
SQL scripts (same ids) and a newer one, 4d2f8b0c6e74.  record_alembic_adopt.py
remakes app.db and checks ALEMBIC_CURRENT below against real Alembic; this test
needs neither.

Until its first change such a database has no migrate_version: the version is
read from alembic_version.  The first upgrade, downgrade or stamp copies it
into migrate_version (migrate_log rows with direction 'adopt') in the same
transaction, and every transaction after that keeps alembic_version equal to
migrate_version.
"""

import hashlib
import os
import re
import shutil
import sqlite3
import unittest

from shell_support import (EXTENSION, FIXTURES, Tmp, extension_available, run, snapshot,
                           versions)

ADOPT = os.path.join(FIXTURES, "adopt")
MIGRATIONS = os.path.join(ADOPT, "migrations")
USERS, POSTS, TAGS, POST_TAGS = ("1f0a6c2e9b31", "2b7d4e8f0a52", "3c9e1a5d7f63",
                                 "4d2f8b0c6e74")

# `alembic current` (Alembic 1.8.1, stdout + stderr) on a copy of app.db after
# these sqlite-migrate commands, recorded by record_alembic_adopt.py.  Alembic's
# project knows the first three revisions only: after `upgrade head` it cannot
# find the revision sqlite-migrate wrote into alembic_version, which is the
# point (alembic_version moved with migrate_version).
ALEMBIC_CURRENT = {
    "upgrade_tags": (["upgrade " + TAGS], "3c9e1a5d7f63 (head)\n"),
    "downgrade_users": (["downgrade " + USERS], "1f0a6c2e9b31\n"),
    "upgrade_head": (["upgrade head"],
                     "FAILED: Can't locate revision identified by '4d2f8b0c6e74'\n"),
}

NOTE = ("sqlite-migrate: read from alembic_version (Alembic migrated app.db); the "
        "first upgrade, downgrade or stamp adopts it into migrate_version and keeps "
        "alembic_version in step\n")

# The rows of the application's tables after upgrading to each revision.
USERS_ROWS = [(1, "ada"), (2, "bob")]
POSTS_ROWS = [(1, 1, "hello")]


def table_rows(path, *tables):
    conn = sqlite3.connect(path)
    try:
        out = {}
        for t in tables:
            if conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (t,)).fetchone():
                out[t] = conn.execute('SELECT * FROM "%s" ORDER BY 1, 2' % t).fetchall()
            else:
                out[t] = None
        return out
    finally:
        conn.close()


def alembic_rows(path):
    conn = sqlite3.connect(path)
    try:
        return [r[0] for r in conn.execute(
            "SELECT version_num FROM alembic_version ORDER BY 1")]
    finally:
        conn.close()


def log_rows(path):
    """migrate_log without times: (revision, direction, before, after, checksum?)."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute(
            "SELECT revision, direction, version_before, version_after, "
            "checksum IS NOT NULL FROM migrate_log ORDER BY id").fetchall()
    finally:
        conn.close()


def dump(path):
    conn = sqlite3.connect(path)
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


def file_hash(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def without_ms(text):
    return re.sub(r" \(\d+ ms\)$", "", text, flags=re.M)


def alembic_current_id(text):
    """The revision `alembic current` names (a line of it, or its error)."""
    m = re.match(r"^([0-9a-f]{12})( \(head\))?\n$", text) or \
        re.search(r"identified by '([0-9a-f]{12})'", text)
    return m.group(1)


ADOPTED = (POSTS, "adopt", POSTS, POSTS, 0)


class AdoptTest(unittest.TestCase):
    """The shell on a copy of the Alembic database."""

    def setUp(self):
        self._tmp = Tmp()
        self.tmp = self._tmp.__enter__()
        self.db = os.path.join(self.tmp, "app.db")
        shutil.copyfile(os.path.join(ADOPT, "app.db"), self.db)

    def tearDown(self):
        self._tmp.__exit__(None, None, None)

    def sm(self, *args):
        return run(["-d", "app.db", "--dir", MIGRATIONS] + list(args), cwd=self.tmp)

    def assertInStep(self, want):
        self.assertEqual(versions(self.db), want)
        self.assertEqual(alembic_rows(self.db), want)

    def test_fixture_is_alembics(self):
        self.assertEqual(alembic_rows(self.db), [POSTS])
        self.assertEqual(versions(self.db), [])
        self.assertEqual(table_rows(self.db, "users", "posts", "tags"),
                         {"users": USERS_ROWS, "posts": POSTS_ROWS, "tags": None})

    def test_current_reads_alembic_version_and_changes_nothing(self):
        before = file_hash(self.db)
        p = self.sm("current")
        self.assertEqual((p.returncode, p.stdout, p.stderr), (0, POSTS + "\n", NOTE))
        p = self.sm("history", "-i")
        self.assertEqual(p.stdout.splitlines()[2],
                         "1f0a6c2e9b31 -> 2b7d4e8f0a52 (current), create posts")
        self.assertEqual(file_hash(self.db), before)

    def test_upgrade_head_applies_only_what_is_missing(self):
        p = self.sm("upgrade", "head")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(without_ms(p.stderr),
                         "Running upgrade 2b7d4e8f0a52 -> 3c9e1a5d7f63, create tags\n"
                         "Running upgrade 3c9e1a5d7f63 -> 4d2f8b0c6e74, create post_tags\n")
        self.assertEqual(log_rows(self.db), [
            ADOPTED,
            (TAGS, "upgrade", POSTS, TAGS, 1),
            (POST_TAGS, "upgrade", TAGS, POST_TAGS, 1)])
        self.assertInStep([POST_TAGS])
        self.assertEqual(table_rows(self.db, "users", "posts", "tags", "post_tags"),
                         {"users": USERS_ROWS, "posts": POSTS_ROWS,
                          "tags": [(1, "news")], "post_tags": [(1, 1)]})
        self.assertEqual(alembic_current_id(ALEMBIC_CURRENT["upgrade_head"][1]),
                         alembic_rows(self.db)[0])
        # .dump: Alembic's tables as they were, the new ones after them
        lines = dump(self.db).splitlines()
        self.assertEqual(
            [x for x in lines if re.match(r'INSERT INTO "(users|posts|tags|post_tags|'
                                          r'alembic_version)"', x)],
            ['INSERT INTO "alembic_version" VALUES(\'4d2f8b0c6e74\');',
             'INSERT INTO "post_tags" VALUES(1,1);',
             'INSERT INTO "posts" VALUES(1,1,\'hello\');',
             'INSERT INTO "tags" VALUES(1,\'news\');',
             'INSERT INTO "users" VALUES(1,\'ada\');',
             'INSERT INTO "users" VALUES(2,\'bob\');'])
        # the adopted revisions' scripts are stored, as for any applied one
        self.assertEqual(
            [r[0] for r in sqlite3.connect(self.db).execute(
                "SELECT revision FROM migrate_scripts ORDER BY 1")],
            [USERS, POSTS, TAGS, POST_TAGS])
        p = self.sm("current")
        self.assertEqual((p.stdout, p.stderr), (POST_TAGS + " (head)\n", ""))

    def test_alembic_reads_what_sqlite_migrate_wrote(self):
        for name, (steps, text) in sorted(ALEMBIC_CURRENT.items()):
            with self.subTest(name):
                shutil.copyfile(os.path.join(ADOPT, "app.db"), self.db)
                for step in steps:
                    p = self.sm(*step.split())
                    self.assertEqual(p.returncode, 0, p.stderr)
                self.assertInStep([alembic_current_id(text)])

    def test_downgrade_keeps_alembic_version_in_step(self):
        self.assertEqual(self.sm("upgrade", "head").returncode, 0)
        p = self.sm("downgrade", TAGS)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertInStep([TAGS])
        p = self.sm("downgrade", "base")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertInStep([])
        self.assertEqual(table_rows(self.db, "users", "posts"),
                         {"users": None, "posts": None})
        self.assertEqual([r[:2] for r in log_rows(self.db)], [
            (POSTS, "adopt"), (TAGS, "upgrade"), (POST_TAGS, "upgrade"),
            (POST_TAGS, "downgrade"), (TAGS, "downgrade"), (POSTS, "downgrade"),
            (USERS, "downgrade")])

    def test_downgrade_as_the_first_change(self):
        p = self.sm("downgrade", "-1")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(log_rows(self.db), [
            ADOPTED, (POSTS, "downgrade", POSTS, USERS, 1)])
        self.assertInStep([USERS])
        self.assertEqual(table_rows(self.db, "users", "posts"),
                         {"users": USERS_ROWS, "posts": None})

    def test_stamp_as_the_first_change(self):
        p = self.sm("stamp", TAGS)
        self.assertEqual((p.returncode, p.stderr),
                         (0, "Running stamp_revision 2b7d4e8f0a52 -> 3c9e1a5d7f63\n"))
        self.assertEqual([r[:4] for r in log_rows(self.db)], [
            ADOPTED[:4], (TAGS, "stamp", POSTS, TAGS)])
        self.assertInStep([TAGS])

    def test_unknown_revision_is_refused_and_nothing_changes(self):
        conn = sqlite3.connect(self.db)
        conn.execute("UPDATE alembic_version SET version_num = '9e9e9e9e9e9e'")
        conn.commit()
        conn.close()
        before, text = file_hash(self.db), dump(self.db)
        p = self.sm("upgrade", "head")
        self.assertEqual((p.returncode, p.stderr), (1, (
            "FAILED: upgrade('head'): alembic_version holds revision '9e9e9e9e9e9e', "
            "which the bundle does not know; add its script to the migrations "
            "(sqlite-migrate import-alembic converts Alembic's revisions), or stamp "
            "a revision the bundle has (migrate_stamp(), sqlite-migrate stamp)\n")))
        p = self.sm("current")
        self.assertEqual((p.returncode, p.stderr), (1, NOTE + (
            "FAILED: Can't locate revision identified by '9e9e9e9e9e9e': the "
            "database (its alembic_version) is at a revision these revisions do "
            "not include; use the migrations that applied it\n")))
        self.assertEqual((file_hash(self.db), dump(self.db)), (before, text))
        # a stamp says where the database is, and writes both tables
        p = self.sm("stamp", POSTS)
        self.assertEqual((p.returncode, p.stderr),
                         (0, "Running stamp_revision 9e9e9e9e9e9e -> 2b7d4e8f0a52\n"))
        self.assertInStep([POSTS])

    def test_tables_that_disagree_are_refused_until_a_stamp(self):
        self.assertEqual(self.sm("upgrade", TAGS).returncode, 0)
        conn = sqlite3.connect(self.db)  # as `alembic downgrade -1` would
        conn.execute("DROP TABLE tags")
        conn.execute("UPDATE alembic_version SET version_num = ?", (POSTS,))
        conn.commit()
        conn.close()
        before = file_hash(self.db)
        p = self.sm("check")
        self.assertEqual((p.returncode, p.stdout), (1, (
            "pending: 4d2f8b0c6e74 (create post_tags) is not applied\n"
            "version: migrate_version (3c9e1a5d7f63) and alembic_version "
            "(2b7d4e8f0a52) disagree; stamp the true version, which writes both\n"
            "drift: table tags: missing in the database\n")))
        for args in (["upgrade", "head"], ["downgrade", "base"]):
            p = self.sm(*args)
            self.assertEqual((p.returncode, p.stderr), (1, (
                "FAILED: %s('%s'): migrate_version (3c9e1a5d7f63) and alembic_version "
                "(2b7d4e8f0a52) disagree, so the database's version is unknown (did "
                "Alembic migrate it after sqlite-migrate did?). Nothing was changed. "
                "Stamp the true version (SELECT migrate_stamp('REV') or "
                "sqlite-migrate stamp REV): a stamp writes both tables\n") % tuple(args)))
        self.assertEqual(file_hash(self.db), before)
        p = self.sm("stamp", POSTS)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertInStep([POSTS])
        p = self.sm("upgrade", "head")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertInStep([POST_TAGS])

    def test_empty_alembic_version_is_base(self):
        conn = sqlite3.connect(self.db)
        conn.executescript("DELETE FROM alembic_version; DROP TABLE posts; "
                           "DROP TABLE users;")
        conn.close()
        p = self.sm("current")
        self.assertEqual((p.returncode, p.stdout, p.stderr), (0, "", NOTE))
        p = self.sm("upgrade", POSTS)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(log_rows(self.db), [
            (None, "adopt", None, None, 0),
            (USERS, "upgrade", None, USERS, 1),
            (POSTS, "upgrade", USERS, POSTS, 1)])
        self.assertInStep([POSTS])

    def test_alembic_version_of_another_shape_is_refused(self):
        conn = sqlite3.connect(self.db)
        conn.executescript("DROP TABLE alembic_version; "
                           "CREATE TABLE alembic_version(version TEXT);")
        conn.close()
        before = file_hash(self.db)
        p = self.sm("upgrade", "head")
        self.assertEqual((p.returncode, p.stderr), (1, (
            "FAILED: upgrade('head'): the table alembic_version has no version_num "
            "column, so it is not Alembic's version table and cannot be read or kept "
            "in step; rename or drop it\n")))
        p = self.sm("current")
        self.assertEqual((p.returncode, p.stderr), (1, (
            "FAILED: cannot read the version of app.db: migrate_version_source: the "
            "table alembic_version has no version_num column, so it is not Alembic's "
            "version table and cannot be read or kept in step; rename or drop it\n")))
        self.assertEqual(file_hash(self.db), before)

    def test_alembic_version_is_not_schema(self):
        # check's drift and autogenerate leave it out, as Alembic leaves out
        # its own table
        p = self.sm("upgrade", "head")
        self.assertEqual(p.returncode, 0, p.stderr)
        p = self.sm("check")
        self.assertEqual((p.returncode, p.stdout), (0, (
            "No pending revisions; the database is at head (4d2f8b0c6e74).\n")))
        folder = os.path.join(self.tmp, "baseline")
        os.mkdir(folder)
        p = run(["--dir", folder, "revision", "--autogenerate", "--from-db", "app.db",
                 "-m", "baseline"], cwd=self.tmp)
        self.assertEqual(p.returncode, 0, p.stderr)
        (name,) = os.listdir(folder)
        with open(os.path.join(folder, name)) as f:
            text = f.read()
        self.assertEqual(re.findall(r"^CREATE TABLE (\w+)", text, re.M),
                         ["users", "posts", "tags", "post_tags"])

    def test_transaction_none_commits_keep_it_in_step(self):
        folder = os.path.join(self.tmp, "migrations")
        shutil.copytree(MIGRATIONS, folder)
        with open(os.path.join(folder, "5e1b9c3d8a85_vacuum_then_fail.sql"), "w") as f:
            f.write("-- vacuum then fail\n--\n-- Revision ID: 5e1b9c3d8a85\n"
                    "-- Revises: 4d2f8b0c6e74\n-- Transaction: none\n\n"
                    "-- migrate:upgrade\nVACUUM;\nINSERT INTO no_such_table VALUES (1);\n\n"
                    "-- migrate:downgrade\nSELECT 1;\n")
        p = run(["-d", "app.db", "--dir", folder, "upgrade", "head"], cwd=self.tmp)
        self.assertEqual(p.returncode, 1)
        # the steps before the Transaction: none revision were committed, with
        # the adoption and alembic_version, before it ran
        self.assertInStep([POST_TAGS])
        self.assertEqual([r[:2] for r in log_rows(self.db)], [
            (POSTS, "adopt"), (TAGS, "upgrade"), (POST_TAGS, "upgrade")])


@unittest.skipUnless(extension_available(), "build/migrate.so does not load here")
class AdoptSqlTest(unittest.TestCase):
    """The SQL functions on a copy of the Alembic database."""

    def setUp(self):
        self._tmp = Tmp()
        self.tmp = self._tmp.__enter__()
        self.db = os.path.join(self.tmp, "app.db")
        shutil.copyfile(os.path.join(ADOPT, "app.db"), self.db)
        self.conn = sqlite3.connect(self.db, isolation_level=None)
        self.conn.enable_load_extension(True)
        self.conn.load_extension(EXTENSION)

    def tearDown(self):
        self.conn.close()
        self._tmp.__exit__(None, None, None)

    def one(self, sql, *params):
        return self.conn.execute(sql, params).fetchone()[0]

    def test_current_and_migrations_read_alembic_version(self):
        self.assertEqual(self.one("SELECT migrate_current()"), POSTS)
        self.assertEqual(self.conn.execute(
            "SELECT revision, is_current, is_applied FROM "
            "migrations(migrate_bundle(?)) ORDER BY revision", (MIGRATIONS,)).fetchall(),
            [(USERS, 0, 1), (POSTS, 1, 1), (TAGS, 0, 0), (POST_TAGS, 0, 0)])

    def test_migrate_to_head(self):
        self.assertEqual(self.one("SELECT migrate_to('head', migrate_bundle(?))",
                                  MIGRATIONS), POST_TAGS)
        self.assertEqual(log_rows(self.db), [
            ADOPTED, (TAGS, "upgrade", POSTS, TAGS, 1),
            (POST_TAGS, "upgrade", TAGS, POST_TAGS, 1)])
        self.assertEqual(alembic_rows(self.db), versions(self.db))
        self.assertEqual(versions(self.db), [POST_TAGS])
        self.assertEqual(table_rows(self.db, "tags", "post_tags"),
                         {"tags": [(1, "news")], "post_tags": [(1, 1)]})
        self.assertEqual(self.one("SELECT migrate_to(?, migrate_bundle(?))",
                                  USERS, MIGRATIONS), USERS)
        self.assertEqual(alembic_rows(self.db), [USERS])
        self.assertEqual(versions(self.db), [USERS])

    def test_same_result_as_the_shell(self):
        self.one("SELECT migrate_to('head', migrate_bundle(?))", MIGRATIONS)
        shell_db = os.path.join(self.tmp, "shell.db")
        shutil.copyfile(os.path.join(ADOPT, "app.db"), shell_db)
        p = run(["-d", "shell.db", "--dir", MIGRATIONS, "upgrade", "head"], cwd=self.tmp)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(snapshot(self.db), snapshot(shell_db))

    def test_migrate_stamp_adopts(self):
        self.assertEqual(self.one("SELECT migrate_stamp(?, migrate_bundle(?))",
                                  TAGS, MIGRATIONS), TAGS)
        self.assertEqual([r[:4] for r in log_rows(self.db)], [
            ADOPTED[:4], (TAGS, "stamp", POSTS, TAGS)])
        self.assertEqual((alembic_rows(self.db), versions(self.db)), ([TAGS], [TAGS]))

    def test_inside_the_callers_transaction(self):
        self.conn.execute("BEGIN")
        self.one("SELECT migrate_to('head', migrate_bundle(?))", MIGRATIONS)
        self.conn.execute("ROLLBACK")
        self.assertEqual((alembic_rows(self.db), versions(self.db)), ([POSTS], []))

    def test_unknown_revision_is_refused_and_nothing_changes(self):
        self.conn.execute("UPDATE alembic_version SET version_num = '9e9e9e9e9e9e'")
        before, text = file_hash(self.db), dump(self.db)
        with self.assertRaises(sqlite3.OperationalError) as cm:
            self.one("SELECT migrate_to('head', migrate_bundle(?))", MIGRATIONS)
        self.assertEqual(str(cm.exception), (
            "migrate_to('head'): alembic_version holds revision '9e9e9e9e9e9e', "
            "which the bundle does not know; add its script to the migrations "
            "(sqlite-migrate import-alembic converts Alembic's revisions), or stamp "
            "a revision the bundle has (migrate_stamp(), sqlite-migrate stamp)"))
        self.assertEqual((file_hash(self.db), dump(self.db)), (before, text))

    def test_offline_script_adopts_too(self):
        script = self.one("SELECT migrate_sql('head', migrate_bundle(?))", MIGRATIONS)
        self.assertEqual(versions(self.db), [])
        self.conn.executescript(script)
        self.assertEqual([r[:4] for r in log_rows(self.db)], [
            ADOPTED[:4], (TAGS, "upgrade", POSTS, TAGS),
            (POST_TAGS, "upgrade", TAGS, POST_TAGS)])
        self.assertEqual((alembic_rows(self.db), versions(self.db)),
                         ([POST_TAGS], [POST_TAGS]))


if __name__ == "__main__":
    unittest.main()
