"""Promises that hold at the edges: TEMP objects, echoed bytes, connection
settings, statements the SQL function cannot run, partial commits.

Each test asserts the exact message (for refusals) and what the database
(.dump, version, log, stored scripts) and the connection's settings are
afterwards; each runs the real build/migrate.so on real files.
"""

import os
import socket
import re
import sqlite3
import subprocess
import time
import unittest

from helpers import (REPO, TempDir, close_connections, connect, snapshot,
                     write_revision)


def tearDownModule():
    close_connections()


def main_rows(conn, sql):
    return conn.execute(sql).fetchall()


class Base(unittest.TestCase):

    maxDiff = None

    def setUp(self):
        self.tmp = TempDir()
        self.addCleanup(self.tmp.cleanup)
        self.db = self.tmp.path("app.db")
        self.conn = connect(self.db)

    def two_revisions(self, none_b2=False):
        """a1 creates table a; b2 inserts into it (Transaction: none when
        none_b2)."""
        folder = self.tmp.path("m")
        write_revision(folder, "a1", "", "CREATE TABLE a(x);",
                       "DROP TABLE a;", message="Create a")
        write_revision(folder, "b2", "a1", "INSERT INTO a VALUES ('b2');",
                       "DELETE FROM a;", message="Fill a",
                       headers=["Transaction: none"] if none_b2 else [])
        return folder


class TempShadowsNothing(Base):
    """A TEMP table named like one of the engine's tables takes none of its
    reads or writes: the version goes into main, where the next connection
    finds it."""

    SHAPES = {
        "migrate_version": "version_num TEXT",
        "migrate_log": "id INTEGER PRIMARY KEY, revision, direction, "
                       "version_before, version_after, checksum, "
                       "started_at, duration_ms",
        "migrate_scripts": "revision PRIMARY KEY, file, parents, depends_on,"
                           " message, checksum, downgrade_sql, "
                           "transaction_none",
        "migrate_lock": "id INTEGER PRIMARY KEY, pid, revision, since",
    }

    def check_table(self, name, none_b2=False):
        folder = self.two_revisions(none_b2)
        self.conn.execute("CREATE TEMP TABLE %s(%s)"
                          % (name, self.SHAPES[name]))
        self.conn.execute("INSERT INTO temp.%s(rowid) VALUES (7)" % name)
        temp_before = main_rows(self.conn, "SELECT * FROM temp.%s" % name)
        self.conn.execute("SELECT migrate_to('a1', migrate_bundle(?))",
                          (folder,))
        self.conn.execute("SELECT migrate_to('b2', migrate_bundle(?))",
                          (folder,))
        # the TEMP table is untouched
        self.assertEqual(main_rows(self.conn, "SELECT * FROM temp.%s" % name),
                         temp_before)
        # main holds the bookkeeping
        self.assertEqual(main_rows(self.conn, "SELECT version_num FROM "
                                   "main.migrate_version"), [("b2",)])
        self.assertEqual(main_rows(self.conn, "SELECT revision, direction, "
                                   "version_before, version_after FROM "
                                   "main.migrate_log ORDER BY id"),
                         [("a1", "upgrade", None, "a1"),
                          ("b2", "upgrade", "a1", "b2")])
        self.assertEqual(main_rows(self.conn, "SELECT revision, "
                                   "transaction_none FROM "
                                   "main.migrate_scripts ORDER BY 1"),
                         [("a1", 0), ("b2", 1 if none_b2 else 0)])
        self.assertEqual(main_rows(self.conn, "SELECT name FROM "
                                   "main.sqlite_master WHERE name = "
                                   "'migrate_lock'"), [])
        # a new connection (no TEMP table) sees the version and the data
        other = connect(self.db)
        self.assertEqual(other.execute("SELECT migrate_current()").fetchone(),
                         ("b2",))
        self.assertEqual(other.execute("SELECT * FROM a").fetchall(),
                         [("b2",)])
        self.assertEqual(other.execute(
            "SELECT migrate_to('head', migrate_bundle(?))",
            (folder,)).fetchone(), ("b2",))
        # and the shadowed connection reads main too
        self.assertEqual(self.conn.execute(
            "SELECT migrate_current()").fetchone(), ("b2",))
        other.close()

    def test_migrate_version(self):
        self.check_table("migrate_version")

    def test_migrate_log(self):
        self.check_table("migrate_log")

    def test_migrate_scripts(self):
        self.check_table("migrate_scripts")

    def test_migrate_lock(self):
        # the lock is taken around a Transaction: none revision
        self.check_table("migrate_lock", none_b2=True)


class EchoedBytesAreQuoted(Base):
    """An argument with control characters or bytes that are not UTF-8 is
    echoed with those bytes as \\xHH: the caller gets the database error
    (sqlite3.OperationalError), never a UnicodeDecodeError, and nothing
    changes."""

    def refused(self, sql, message):
        folder = self.two_revisions()
        self.conn.execute("SELECT migrate_to('a1', migrate_bundle(?))",
                          (folder,))
        before = snapshot(self.conn)
        with self.assertRaises(sqlite3.OperationalError) as cm:
            self.conn.execute(sql, (folder,)).fetchall()
        self.assertEqual(str(cm.exception), message)
        self.assertEqual(snapshot(self.conn), before)

    def test_invalid_utf8_with_nul_target(self):
        self.refused("SELECT migrate_to(x'ff00fe', migrate_bundle(?))",
                     "migrate_to('\\xff\\x00\\xfe'): No such revision or "
                     "branch '\\xff\\x00\\xfe'")

    def test_invalid_utf8_text_target(self):
        self.refused("SELECT migrate_to(CAST(x'61ff31' AS TEXT), "
                     "migrate_bundle(?))",
                     "migrate_to('a\\xff1'): No such revision or branch "
                     "'a\\xff1'")

    def test_valid_utf8_is_kept_and_bad_bytes_quoted(self):
        self.refused("SELECT migrate_stamp(x'c3a9ff', migrate_bundle(?))",
                     "migrate_stamp('\u00e9\\xff'): No such revision or "
                     "branch '\u00e9\\xff'")

    def test_control_characters(self):
        self.refused("SELECT migrate_sql(char(10) || 'a1' || char(27), "
                     "migrate_bundle(?))",
                     "migrate_sql('\\x0aa1\\x1b'): No such revision or "
                     "branch '\\x0aa1\\x1b'")

    def test_c1_control_characters(self):
        self.refused("SELECT migrate_to(x'61c285c2a0', migrate_bundle(?))",
                     "migrate_to('a\\xc2\\x85\u00a0'): No such revision or "
                     "branch 'a\\xc2\\x85\u00a0'")

    def test_fixture_target(self):
        if sqlite3.sqlite_version_info < (3, 39, 0):
            # the fixture path is refused there, quoting the target too
            self.refused(
                "SELECT migrate_fixture(x'fe', migrate_bundle(?))",
                "migrate_fixture('\\xfe'): this SQLite (%s) does not offer "
                "sqlite3_serialize() to this build (a loadable module needs "
                "SQLite 3.39 or newer); use migrate_to('\\xfe'). Nothing "
                "was changed" % sqlite3.sqlite_version)
            return
        # into an empty database (the fixture's own precondition) ...
        folder = self.two_revisions()
        with self.assertRaises(sqlite3.OperationalError) as cm:
            self.conn.execute("SELECT migrate_fixture(x'fe', "
                              "migrate_bundle(?))", (folder,))
        self.assertEqual(str(cm.exception), "migrate_fixture('\\xfe'): No "
                         "such revision or branch '\\xfe'")
        self.assertEqual(list(self.conn.iterdump()),
                         ["BEGIN TRANSACTION;", "COMMIT;"])
        # ... and the refusal of a database that is not empty
        self.refused("SELECT migrate_fixture(x'fe', migrate_bundle(?))",
                     "migrate_fixture('\\xfe'): the database is not empty "
                     "(6 schema objects, user_version 0, application_id 0); "
                     "a fixture is copied only into a new, empty database. "
                     "Use migrate_to('\\xfe') to migrate this one. Nothing "
                     "was changed")

    def test_bundle_path(self):
        # the path itself is used as given (a file name may hold such bytes)
        missing = self.tmp.path("no").encode() + b"\xff"
        self.refused("SELECT migrate_bundle(CAST(x'%s' AS TEXT)) WHERE ? "
                     "NOT NULL" % missing.hex(),
                     "migrate_bundle('%s\\xff'): cannot open %s\\xff: No "
                     "such file or directory"
                     % (self.tmp.path("no"), self.tmp.path("no")))

    def test_the_quoted_form_names_nothing(self):
        # the quoted text itself, given as a target, is not found either
        self.refused("SELECT migrate_to('\\xff', migrate_bundle(?))",
                     "migrate_to('\\xff'): No such revision or branch "
                     "'\\xff'")


def stored_scripts(conn):
    return conn.execute("SELECT revision, checksum FROM main.migrate_scripts "
                        "ORDER BY 1").fetchall()


class NeedsTheConnectionAlone(Base):
    """VACUUM cannot run while another statement of the connection is
    active, and a SQL function's call always is one: a plan holding it is
    refused through the SQL face before anything changes (also the
    revisions before it), and runs through the command line."""

    def history(self, downgrade_vacuum=False):
        folder = self.tmp.path("m")
        write_revision(folder, "a1", "", "CREATE TABLE a(x);",
                       "DROP TABLE a;", message="Create a")
        write_revision(folder, "b2", "a1", "INSERT INTO a VALUES (2);",
                       "DELETE FROM a;", message="Fill a")
        write_revision(folder, "c3", "b2",
                       "DELETE FROM a;\nVACUUM;" if not downgrade_vacuum
                       else "DELETE FROM a;",
                       "VACUUM INTO ':memory:';\nSELECT 1;"
                       if downgrade_vacuum else "SELECT 1;",
                       message="Compact", headers=["Transaction: none"])
        return folder

    def refused(self, sql, folder, message):
        before = snapshot(self.conn)
        scripts = stored_scripts(self.conn)
        with self.assertRaises(sqlite3.OperationalError) as cm:
            self.conn.execute(sql, (folder,))
        self.assertEqual(str(cm.exception), message)
        self.assertEqual(snapshot(self.conn), before)
        self.assertEqual(stored_scripts(self.conn), scripts)

    def test_upgrade_refused_before_the_revisions_before_it(self):
        folder = self.history()
        self.conn.execute("SELECT migrate_to('a1', migrate_bundle(?))",
                          (folder,))
        self.refused(
            "SELECT migrate_to('head', migrate_bundle(?))", folder,
            "migrate_to('head'): revision c3 (c3_rev.sql) runs VACUUM "
            "(line 9), which SQLite refuses while another statement on the "
            "connection is active, as the SELECT calling migrate_to() "
            "always is; run this migration with the command line "
            "(sqlite-migrate) or migrate_run() from C. Nothing was changed")
        self.assertEqual(self.conn.execute(
            "SELECT migrate_current()").fetchone(), ("a1",))
        # b2 alone is fine
        self.assertEqual(self.conn.execute(
            "SELECT migrate_to('b2', migrate_bundle(?))",
            (folder,)).fetchone(), ("b2",))

    def test_downgrade_with_vacuum_into(self):
        folder = self.history(downgrade_vacuum=True)
        self.conn.execute("SELECT migrate_to('head', migrate_bundle(?))",
                          (folder,))
        self.refused(
            "SELECT migrate_to('a1', migrate_bundle(?))", folder,
            "migrate_to('a1'): revision c3 (c3_rev.sql) runs VACUUM "
            "(line 11), which SQLite refuses while another statement on the "
            "connection is active, as the SELECT calling migrate_to() "
            "always is; run this migration with the command line "
            "(sqlite-migrate) or migrate_run() from C. Nothing was changed")
        self.assertEqual(self.conn.execute(
            "SELECT migrate_current()").fetchone(), ("c3",))

    def test_the_command_line_runs_it(self):
        folder = self.history()
        self.conn.execute("SELECT migrate_to('a1', migrate_bundle(?))",
                          (folder,))
        self.conn.close()
        p = subprocess.run([os.path.join(REPO, "build", "sqlite-migrate"),
                            "-d", self.db, "--dir", folder, "upgrade"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(re.sub(r" \(\d+ ms\)", "", p.stderr),
                         "Running upgrade a1 -> b2, Fill a\n"
                         "Running upgrade b2 -> c3, Compact\n")
        conn = connect(self.db)
        self.assertEqual(conn.execute("SELECT migrate_current()").fetchone(),
                         ("c3",))
        self.assertEqual(conn.execute("SELECT count(*) FROM a").fetchone(),
                         (0,))
        conn.close()


SETTINGS = ("foreign_keys", "legacy_alter_table", "recursive_triggers",
            "defer_foreign_keys")


class SettingsComeBack(Base):
    """foreign_keys, legacy_alter_table, recursive_triggers and
    defer_foreign_keys are, when the call returns, as they were when it
    started: after a revision changed one, on success and on failure, in an
    ordinary and in a Transaction: none revision."""

    def settings(self):
        return {name: self.conn.execute("PRAGMA %s" % name).fetchone()[0]
                for name in SETTINGS}

    def check(self, name, caller, none=False, fail=False, in_txn=False):
        folder = self.tmp.path("m")
        write_revision(folder, "a1", "", "CREATE TABLE a(x);",
                       "DROP TABLE a;", message="Create a")
        upgrade = "PRAGMA %s=%s;\nINSERT INTO a VALUES (1);" % (
            name, "OFF" if caller else "ON")
        if fail:
            upgrade += "\nSELECT * FROM nosuch;"
        headers = ["Transaction: none"] if none else []
        write_revision(folder, "b2", "a1", upgrade, "DELETE FROM a;",
                       message="Change %s" % name, headers=headers)
        self.conn.execute("SELECT migrate_to('a1', migrate_bundle(?))",
                          (folder,))
        if in_txn:
            self.conn.execute("BEGIN")
        self.conn.execute("PRAGMA %s=%s" % (name, "ON" if caller else "OFF"))
        expected = self.settings()
        self.assertEqual(expected[name], 1 if caller else 0)
        before = snapshot(self.conn)
        if not fail:
            self.assertEqual(self.conn.execute(
                "SELECT migrate_to('b2', migrate_bundle(?))",
                (folder,)).fetchone(), ("b2",))
            self.assertEqual(self.settings(), expected)
            self.assertEqual(self.conn.execute(
                "SELECT migrate_current()").fetchone(), ("b2",))
            self.assertEqual(self.conn.execute("SELECT x FROM a").fetchall(),
                             [(1,)])
        else:
            line = 10 if none else 9
            with self.assertRaises(sqlite3.OperationalError) as cm:
                self.conn.execute("SELECT migrate_to('b2', "
                                  "migrate_bundle(?))", (folder,))
            self.assertEqual(self.settings(), expected)
            if none:
                # the revision's INSERT ran outside a transaction and stays
                self.assertEqual(self.conn.execute(
                    "SELECT x FROM a").fetchall(), [(1,)])
                self.assertEqual(self.conn.execute(
                    "SELECT migrate_current()").fetchone(), ("a1",))
                return str(cm.exception), line
            self.assertEqual(
                str(cm.exception),
                "migrate_to('b2'): upgrade of b2 (Change %s) failed at "
                "b2_rev.sql:%d: no such table: nosuch [statement: SELECT * "
                "FROM nosuch;]; nothing was changed" % (name, line))
            self.assertEqual(snapshot(self.conn), before)
        if in_txn:
            self.conn.execute("ROLLBACK")
        return None


def _add_settings_tests():
    for name in SETTINGS:
        for caller in (0, 1):
            for none in (False, True):
                if none and name == "defer_foreign_keys":
                    # it lives for one transaction; a Transaction: none
                    # revision cannot run inside the caller's
                    continue
                if not none and name == "foreign_keys":
                    # the bundle refuses PRAGMA foreign_keys in an ordinary
                    # revision (it would do nothing there)
                    continue
                for fail in (False, True):
                    in_txn = name == "defer_foreign_keys"

                    def test(self, name=name, caller=caller, none=none,
                             fail=fail, in_txn=in_txn):
                        got = self.check(name, caller, none, fail, in_txn)
                        if got is not None:
                            self.assertEqual(got[0], NONE_FAILED
                                             % (name, got[1]))
                    setattr(SettingsComeBack, "test_%s_caller_%s_%s_%s" % (
                        name, "on" if caller else "off",
                        "none" if none else "ordinary",
                        "failure" if fail else "success"), test)


NONE_FAILED = ("migrate_to('b2'): upgrade of b2 (Change %s) failed at "
               "b2_rev.sql:%d: no such table: nosuch [statement: SELECT * "
               "FROM nosuch;]; no step was committed before the failure; the "
               "database is at version a1; b2 ran outside a transaction "
               "(Transaction: none) and stopped at this statement: what it "
               "did up to there stays done although the version says b2 did "
               "not run; undo that (or make b2 idempotent) before calling "
               "again")

_add_settings_tests()


class WhatStaysAfterAPartialCommit(Base):
    """After a Transaction: none revision committed steps, every failure
    says exactly which steps stay, the version, and what a revision that
    ran outside a transaction left; the database is exactly that."""

    def state(self):
        return (self.conn.execute("SELECT migrate_current()").fetchone()[0],
                self.conn.execute("SELECT revision, direction FROM "
                                  "main.migrate_log ORDER BY id").fetchall(),
                self.conn.execute("SELECT revision FROM main.migrate_scripts "
                                  "ORDER BY 1").fetchall(),
                self.conn.execute("SELECT name FROM sqlite_master WHERE "
                                  "type = 'table' AND name NOT LIKE "
                                  "'migrate_%' ORDER BY 1").fetchall())

    def fails(self, target, folder, message,
              error=sqlite3.OperationalError):
        with self.assertRaises(error) as cm:
            self.conn.execute("SELECT migrate_to(?, migrate_bundle(?))",
                              (target, folder))
        self.assertEqual(str(cm.exception), message)
        self.assertFalse(self.conn.in_transaction)

    def test_transaction_none_revision_fails_halfway(self):
        folder = self.tmp.path("m")
        write_revision(folder, "a1", "", "CREATE TABLE a(x);",
                       "DROP TABLE a;", message="Create a")
        write_revision(folder, "b2", "a1", "CREATE TABLE b(x);", "DROP TABLE b;",
                       message="Create b")
        write_revision(folder, "c3", "b2", "CREATE TABLE z(x);\n"
                       "INSERT INTO nosuch VALUES (1);\nCREATE TABLE y(x);",
                       "DROP TABLE z;", message="Half",
                       headers=["Transaction: none"])
        self.conn.execute("SELECT migrate_to('a1', migrate_bundle(?))",
                          (folder,))
        self.fails("head", folder,
                   "migrate_to('head'): upgrade of c3 (Half) failed at "
                   "c3_rev.sql:9: no such table: nosuch [statement: INSERT "
                   "INTO nosuch VALUES (1);]; the steps committed before the "
                   "failure stay done: upgrade b2; the database is at "
                   "version b2; c3 ran outside a transaction (Transaction: "
                   "none) and stopped at this statement: what it did up to "
                   "there stays done although the version says c3 did not "
                   "run; undo that (or make c3 idempotent) before calling "
                   "again")
        # exactly that: b2 recorded, c3's first statement done, not its last
        self.assertEqual(self.state(),
                         ("b2", [("a1", "upgrade"), ("b2", "upgrade")],
                          [("a1",), ("b2",)], [("a",), ("b",), ("z",)]))
        self.assertEqual(self.conn.execute(
            "SELECT name FROM main.sqlite_master WHERE name = "
            "'migrate_lock'").fetchall(), [])

    def test_write_lock_lost_after_a_transaction_none_revision(self):
        # another connection takes the write lock while b2 runs outside a
        # transaction: b2's bookkeeping cannot be written
        folder = self.tmp.path("m")
        write_revision(folder, "a1", "", "CREATE TABLE a(x);",
                       "DROP TABLE a;", message="Create a")
        write_revision(folder, "b2", "a1", "SELECT hold_lock();",
                       "SELECT 1;", message="Outside",
                       headers=["Transaction: none"])
        write_revision(folder, "c3", "b2", "CREATE TABLE c(x);",
                       "DROP TABLE c;", message="Create c")
        other = []

        def hold_lock():
            if not other:
                o = sqlite3.connect(self.db, isolation_level=None, timeout=0)
                o.execute("BEGIN IMMEDIATE")
                other.append(o)
            return 1
        self.conn.create_function("hold_lock", 0, hold_lock)
        self.conn.execute("PRAGMA busy_timeout = 0")
        self.fails("head", folder,
                   "migrate_to('head'): cannot take the write lock again: "
                   "database is locked (another connection is writing and "
                   "the busy timeout expired or is not set; PRAGMA "
                   "busy_timeout sets it); the steps committed before the "
                   "failure stay done: upgrade a1; the database is at "
                   "version a1; b2 ran outside a transaction (Transaction: "
                   "none) and was not recorded: what it did up to there "
                   "stays done although the version says b2 did not run; "
                   "undo that (or make b2 idempotent) before calling again")
        other[0].rollback()
        other[0].close()
        self.assertEqual(self.state(),
                         ("a1", [("a1", "upgrade")], [("a1",)], [("a",)]))
        # once the other writer is gone, the next call runs b2 again
        self.conn.execute("SELECT migrate_to('head', migrate_bundle(?))",
                          (folder,))
        self.assertEqual(self.state()[0], "c3")
        self.assertEqual(self.conn.execute(
            "SELECT name FROM main.sqlite_master WHERE name = "
            "'migrate_lock'").fetchall(), [])

    def test_foreign_key_check_that_cannot_run_after_transaction_none(self):
        # b2 (outside a transaction) declares a foreign key whose parent
        # column is not a key: foreign_key_check itself fails after it
        folder = self.tmp.path("m")
        write_revision(folder, "a1", "", "CREATE TABLE a(x);",
                       "DROP TABLE a;", message="Create a")
        write_revision(folder, "b2", "a1", "CREATE TABLE p(a);\n"
                       "CREATE TABLE ch(x REFERENCES p(a));",
                       "DROP TABLE ch;\nDROP TABLE p;", message="Mismatch",
                       headers=["Transaction: none"])
        write_revision(folder, "c3", "b2", "CREATE TABLE c(x);",
                       "DROP TABLE c;", message="Create c")
        self.conn.execute("PRAGMA foreign_keys = ON")
        self.fails("head", folder,
                   "migrate_to('head'): PRAGMA foreign_key_check failed: "
                   "foreign key mismatch - \"ch\" referencing \"p\"; the "
                   "steps committed before the failure stay done: upgrade "
                   "a1, upgrade b2; the database is at version b2; the rest "
                   "was rolled back; fix what failed and call again: it "
                   "continues from version b2")
        # b2 ran to its end and is recorded as applied
        self.assertEqual(self.state(),
                         ("b2", [("a1", "upgrade"), ("b2", "upgrade")],
                          [("a1",), ("b2",)], [("a",), ("ch",), ("p",)]))
        before = snapshot(self.conn)
        self.fails("head", folder,
                   "migrate_to('head'): PRAGMA foreign_key_check failed "
                   "before the migration: foreign key mismatch - \"ch\" "
                   "referencing \"p\". Nothing was changed. Fix the foreign "
                   "key it names (a REFERENCES clause whose parent columns "
                   "are not a PRIMARY KEY or UNIQUE), or call with PRAGMA "
                   "foreign_keys off")
        self.assertEqual(snapshot(self.conn), before)

    def test_the_run_lock_is_kept_until_the_run_ends(self):
        # after b2 (outside a transaction) commits, another process must
        # still find the lock while c3 runs, or it could run c3 too
        folder = self.tmp.path("m")
        write_revision(folder, "a1", "", "CREATE TABLE a(x);",
                       "DROP TABLE a;", message="Create a")
        write_revision(folder, "b2", "a1", "CREATE TABLE b(x);",
                       "DROP TABLE b;", message="Outside",
                       headers=["Transaction: none"])
        write_revision(folder, "c3", "b2",
                       "CREATE TABLE c(x);\nSELECT look();",
                       "DROP TABLE c;", message="Look")
        seen = []

        def look():
            other = sqlite3.connect(self.db)
            try:
                seen.append(other.execute(
                    "SELECT revision FROM migrate_lock").fetchall())
                seen.append(other.execute(
                    "SELECT version_num FROM migrate_version").fetchall())
            finally:
                other.close()
            return 1
        self.conn.create_function("look", 0, look)
        self.assertEqual(self.conn.execute(
            "SELECT migrate_to('head', migrate_bundle(?))",
            (folder,)).fetchone(), ("c3",))
        self.assertEqual(seen, [[("b2",)], [("b2",)]])
        self.assertEqual(self.conn.execute(
            "SELECT name FROM main.sqlite_master WHERE name = "
            "'migrate_lock'").fetchall(), [])
        # and this process holds none now: a new run takes it again
        write_revision(folder, "d4", "c3", "CREATE TABLE d(x);",
                       "DROP TABLE d;", message="Outside again",
                       headers=["Transaction: none"])
        self.assertEqual(self.conn.execute(
            "SELECT migrate_to('head', migrate_bundle(?))",
            (folder,)).fetchone(), ("d4",))

    def test_ordinary_revision_fails_after_one(self):
        folder = self.tmp.path("m")
        write_revision(folder, "a1", "", "CREATE TABLE a(x);",
                       "DROP TABLE a;", message="Create a")
        write_revision(folder, "b2", "a1", "CREATE TABLE b(x);",
                       "DROP TABLE b;", message="Outside",
                       headers=["Transaction: none"])
        write_revision(folder, "c3", "b2", "CREATE TABLE c(x);",
                       "DROP TABLE c;", message="Create c")
        write_revision(folder, "d4", "c3", "CREATE TABLE d(x);\n"
                       "INSERT INTO nosuch VALUES (1);", "DROP TABLE d;",
                       message="Fails")
        self.fails("head", folder,
                   "migrate_to('head'): upgrade of d4 (Fails) failed at "
                   "d4_rev.sql:8: no such table: nosuch [statement: INSERT "
                   "INTO nosuch VALUES (1);]; the steps committed before the "
                   "failure stay done: upgrade a1, upgrade b2; the database "
                   "is at version b2; the rest was rolled back; fix what "
                   "failed and call again: it continues from version b2")
        self.assertEqual(self.state(),
                         ("b2", [("a1", "upgrade"), ("b2", "upgrade")],
                          [("a1",), ("b2",)], [("a",), ("b",)]))

    def test_downgrade_fails_after_one(self):
        folder = self.tmp.path("m")
        write_revision(folder, "a1", "", "CREATE TABLE a(x);",
                       "DROP TABLE nosuch;", message="Create a")
        write_revision(folder, "b2", "a1", "CREATE TABLE b(x);",
                       "DROP TABLE b;", message="Outside",
                       headers=["Transaction: none"])
        write_revision(folder, "c3", "b2", "CREATE TABLE c(x);",
                       "DROP TABLE c;", message="Create c")
        self.conn.execute("SELECT migrate_to('head', migrate_bundle(?))",
                          (folder,))
        self.fails("base", folder,
                   "migrate_to('base'): downgrade of a1 (Create a) failed at "
                   "a1_rev.sql:10: no such table: nosuch [statement: DROP "
                   "TABLE nosuch;]; the steps committed before the failure "
                   "stay done: downgrade c3, downgrade b2; the database is "
                   "at version a1; the rest was rolled back; fix what "
                   "failed and call again: it continues from version a1")
        self.assertEqual(self.state()[0], "a1")
        self.assertEqual(self.state()[2:], ([("a1",)], [("a",)]))

    def test_foreign_key_check_after_a_partial_commit(self):
        folder = self.tmp.path("m")
        write_revision(folder, "a1", "", "CREATE TABLE p(id INTEGER PRIMARY "
                       "KEY);\nCREATE TABLE c(id INTEGER PRIMARY KEY, pid "
                       "REFERENCES p(id));\nINSERT INTO p VALUES (1);\n"
                       "INSERT INTO c VALUES (1, 1);", "DROP TABLE c;\n"
                       "DROP TABLE p;", message="Parent and child")
        write_revision(folder, "b2", "a1", "CREATE TABLE b(x);",
                       "DROP TABLE b;", message="Outside",
                       headers=["Transaction: none"])
        write_revision(folder, "c3", "b2", "DELETE FROM p;",
                       "INSERT INTO p VALUES (1);", message="Orphan")
        self.conn.execute("PRAGMA foreign_keys=ON")
        self.fails("head", folder,
                   "migrate_to('head'): FOREIGN KEY constraint failed after "
                   "the migration: table c, row 1 references p, which has no "
                   "matching row (PRAGMA foreign_key_check); the steps "
                   "committed before the failure stay done: upgrade a1, "
                   "upgrade b2; the database is at version b2; the rest was "
                   "rolled back; fix the data in the revision that removed "
                   "or changed the parent rows", sqlite3.IntegrityError)
        self.assertEqual(self.state(),
                         ("b2", [("a1", "upgrade"), ("b2", "upgrade")],
                          [("a1",), ("b2",)], [("b",), ("c",), ("p",)]))
        self.assertEqual(self.conn.execute("SELECT * FROM p").fetchall(),
                         [(1,)])
        self.assertEqual(self.conn.execute(
            "PRAGMA foreign_keys").fetchone(), (1,))


PARENT_CHILD = ("CREATE TABLE p(id INTEGER PRIMARY KEY);\n"
                "CREATE TABLE c(id INTEGER PRIMARY KEY, pid REFERENCES p(id) "
                "ON DELETE CASCADE);\n"
                "INSERT INTO p VALUES (1), (2);\n"
                "INSERT INTO c VALUES (1, 1), (2, 2);")


class ForeignKeysAfterTransactionNone(Base):
    """With foreign keys enforced by the caller, foreign_key_check runs
    after every Transaction: none revision: one that orphans child rows
    (the engine runs scripts with enforcement off, so a DELETE of parent
    rows does not cascade) fails the call, the message says exactly what
    stays committed and what to do, and the database is exactly that."""

    state = WhatStaysAfterAPartialCommit.state
    fails = WhatStaysAfterAPartialCommit.fails

    def history(self, after=True):
        folder = self.tmp.path("m")
        write_revision(folder, "a1", "", PARENT_CHILD,
                       "DROP TABLE c;\nDROP TABLE p;",
                       message="Parent and child")
        write_revision(folder, "b2", "a1", "DELETE FROM p WHERE id = 1;",
                       "INSERT INTO p VALUES (1);", message="Orphan",
                       headers=["Transaction: none"])
        if after:
            write_revision(folder, "c3", "b2", "CREATE TABLE d(x);",
                           "DROP TABLE d;", message="After")
        return folder

    def orphaned(self):
        """The rows are still there (no cascade), and the orphan is."""
        self.assertEqual(self.conn.execute("SELECT * FROM c ORDER BY id")
                         .fetchall(), [(1, 1), (2, 2)])
        self.assertEqual(self.conn.execute("PRAGMA foreign_key_check")
                         .fetchall(), [("c", 1, "p", 0)])
        self.assertEqual(self.conn.execute("PRAGMA foreign_keys").fetchone(),
                         (1,))
        self.assertEqual(self.conn.execute(
            "SELECT name FROM main.sqlite_master WHERE name = "
            "'migrate_lock'").fetchall(), [])

    def test_last_revision_orphans_rows(self):
        folder = self.history(after=False)
        self.conn.execute("PRAGMA foreign_keys=ON")
        self.fails("head", folder,
                   "migrate_to('head'): FOREIGN KEY constraint failed after "
                   "upgrade of b2 (Orphan): table c, row 1 references p, "
                   "which has no matching row (PRAGMA foreign_key_check); b2 "
                   "ran outside a transaction (Transaction: none), so it "
                   "cannot be rolled back: the steps committed stay done: "
                   "upgrade a1, upgrade b2; the database is at version b2; "
                   "delete or fix the rows that PRAGMA foreign_key_check "
                   "lists (or restore their parent rows), and change b2 so "
                   "that it leaves none, before calling again",
                   sqlite3.IntegrityError)
        self.assertEqual(self.state(),
                         ("b2", [("a1", "upgrade"), ("b2", "upgrade")],
                          [("a1",), ("b2",)], [("c",), ("p",)]))
        self.orphaned()

    def test_revision_in_the_middle_orphans_rows(self):
        # the message is README.md's example (Safety)
        folder = self.history()
        self.conn.execute("PRAGMA foreign_keys=ON")
        self.fails("head", folder,
                   "migrate_to('head'): FOREIGN KEY constraint failed after "
                   "upgrade of b2 (Orphan): table c, row 1 references p, "
                   "which has no matching row (PRAGMA foreign_key_check); b2 "
                   "ran outside a transaction (Transaction: none), so it "
                   "cannot be rolled back: the steps committed stay done: "
                   "upgrade a1, upgrade b2; the database is at version b2; "
                   "the steps after it did not run; delete or fix the rows "
                   "that PRAGMA foreign_key_check lists (or restore their "
                   "parent rows), and change b2 so that it leaves none, "
                   "before calling again", sqlite3.IntegrityError)
        self.assertEqual(self.state(),
                         ("b2", [("a1", "upgrade"), ("b2", "upgrade")],
                          [("a1",), ("b2",)], [("c",), ("p",)]))
        self.orphaned()
        # doing what the message says lets the rest run
        self.conn.execute("DELETE FROM c WHERE id = 1")
        self.assertEqual(self.conn.execute(
            "SELECT migrate_to('head', migrate_bundle(?))",
            (folder,)).fetchone(), ("c3",))

    def test_downgrade_orphans_rows(self):
        folder = self.tmp.path("m")
        write_revision(folder, "a1", "", PARENT_CHILD,
                       "DROP TABLE c;\nDROP TABLE p;",
                       message="Parent and child")
        write_revision(folder, "b2", "a1", "INSERT INTO p VALUES (3);",
                       "DELETE FROM p;", message="Third parent",
                       headers=["Transaction: none"])
        self.conn.execute("SELECT migrate_to('head', migrate_bundle(?))",
                          (folder,))
        self.conn.execute("PRAGMA foreign_keys=ON")
        self.fails("a1", folder,
                   "migrate_to('a1'): FOREIGN KEY constraint failed after "
                   "downgrade of b2 (Third parent): table c, row 1 "
                   "references p, which has no matching row (PRAGMA "
                   "foreign_key_check); b2 ran outside a transaction "
                   "(Transaction: none), so it cannot be rolled back: the "
                   "steps committed stay done: downgrade b2; the database is "
                   "at version a1; delete or fix the rows that PRAGMA "
                   "foreign_key_check lists (or restore their parent rows), "
                   "and change b2 so that it leaves none, before calling "
                   "again", sqlite3.IntegrityError)
        self.assertEqual(self.state(),
                         ("a1", [("a1", "upgrade"), ("b2", "upgrade"),
                                 ("b2", "downgrade")],
                          [("a1",)], [("c",), ("p",)]))
        self.assertEqual(self.conn.execute("PRAGMA foreign_key_check")
                         .fetchall(), [("c", 1, "p", 0), ("c", 2, "p", 0)])

    def test_without_enforcement_there_is_no_check(self):
        folder = self.history()
        self.assertEqual(self.conn.execute(
            "SELECT migrate_to('head', migrate_bundle(?))",
            (folder,)).fetchone(), ("c3",))
        self.assertEqual(self.conn.execute("PRAGMA foreign_key_check")
                         .fetchall(), [("c", 1, "p", 0)])

    def test_an_orphan_from_before_the_call_is_not_blamed(self):
        folder = self.tmp.path("m")
        write_revision(folder, "a1", "", PARENT_CHILD,
                       "DROP TABLE c;\nDROP TABLE p;",
                       message="Parent and child")
        write_revision(folder, "b2", "a1", "CREATE TABLE b(x);",
                       "DROP TABLE b;", message="Outside",
                       headers=["Transaction: none"])
        self.conn.execute("SELECT migrate_to('a1', migrate_bundle(?))",
                          (folder,))
        self.conn.execute("INSERT INTO c VALUES (9, 99)")
        self.conn.execute("PRAGMA foreign_keys=ON")
        self.assertEqual(self.conn.execute(
            "SELECT migrate_to('head', migrate_bundle(?))",
            (folder,)).fetchone(), ("b2",))
        self.assertEqual(self.conn.execute("PRAGMA foreign_key_check")
                         .fetchall(), [("c", 9, "p", 0)])


class ViolationsFromBeforeTheCall(Base):
    """An orphan that was in the database before the call is not blamed on
    the migration when a revision renames its table or changes its rowid:
    violations are compared by count per (child, parent) pair, the child
    and parent followed through ALTER TABLE ... RENAME TO.  A new orphan
    beside it is still refused, and nothing changes."""

    def setUp(self):
        super().setUp()
        self.folder = self.tmp.path("m")
        write_revision(self.folder, "a1", "",
                       "CREATE TABLE p(id INTEGER PRIMARY KEY);\n"
                       "CREATE TABLE c(id INTEGER PRIMARY KEY, pid "
                       "REFERENCES p(id));\nINSERT INTO p VALUES (1);\n"
                       "INSERT INTO c VALUES (1, 1);",
                       "DROP TABLE c;\nDROP TABLE p;", message="Base")
        self.conn.execute("SELECT migrate_to('a1', migrate_bundle(?))",
                          (self.folder,))
        self.conn.execute("INSERT INTO c VALUES (5, 99)")  # the old orphan
        self.conn.execute("PRAGMA foreign_keys=ON")

    def upgrade(self, upgrade):
        write_revision(self.folder, "b2", "a1", upgrade, "SELECT 1;",
                       message="Change")
        return self.conn.execute(
            "SELECT migrate_to('head', migrate_bundle(?))",
            (self.folder,)).fetchone()

    def check(self, upgrade, violations):
        self.assertEqual(self.upgrade(upgrade), ("b2",))
        self.assertEqual(self.conn.execute("PRAGMA foreign_key_check")
                         .fetchall(), violations)

    def test_child_renamed(self):
        self.check("ALTER TABLE c RENAME TO kids;", [("kids", 5, "p", 0)])

    def test_child_renamed_twice_with_quotes_and_schema(self):
        self.check("ALTER TABLE main.\"c\" RENAME TO [k1];\n"
                   "ALTER TABLE `K1` RENAME TO kids;", [("kids", 5, "p", 0)])

    def test_parent_renamed(self):
        self.check("ALTER TABLE p RENAME TO parents;",
                   [("c", 5, "parents", 0)])

    def test_rowid_changed_by_insert_select(self):
        self.check("CREATE TABLE c2(id INTEGER PRIMARY KEY, pid REFERENCES "
                   "p(id));\nINSERT INTO c2(pid) SELECT pid FROM c ORDER BY "
                   "id DESC;\nDROP TABLE c;\nALTER TABLE c2 RENAME TO c;",
                   [("c", 1, "p", 0)])

    def test_rowid_changed_by_migrate_rebuild(self):
        self.check("SELECT migrate_rebuild('c', 'CREATE TABLE c(id INTEGER "
                   "PRIMARY KEY, pid REFERENCES p(id))', '{\"id\": \"id + "
                   "100\"}');", [("c", 105, "p", 0)])

    def test_new_orphan_beside_the_old_one_is_refused(self):
        before = snapshot(self.conn)
        with self.assertRaises(sqlite3.IntegrityError) as cm:
            self.upgrade("ALTER TABLE c RENAME TO kids;\n"
                         "INSERT INTO kids VALUES (7, 77);")
        self.assertEqual(str(cm.exception),
                         "migrate_to('head'): FOREIGN KEY constraint failed "
                         "after the migration: table kids, row 7 (one of 2 "
                         "such rows of kids, 1 before the call) references p, "
                         "which has no matching row (PRAGMA "
                         "foreign_key_check). Nothing was changed; fix the "
                         "data in the revision that removed or changed the "
                         "parent rows")
        self.assertEqual(snapshot(self.conn), before)
        self.assertEqual(self.conn.execute("PRAGMA foreign_keys").fetchone(),
                         (1,))

    def test_new_orphan_in_a_without_rowid_table_is_refused(self):
        # foreign_key_check gives every row of such a table rowid NULL, so
        # only the count tells the new orphan from the old one
        write_revision(self.folder, "b2", "a1",
                       "CREATE TABLE w(k PRIMARY KEY, pid REFERENCES p(id)) "
                       "WITHOUT ROWID;\nINSERT INTO w VALUES ('old', 99);",
                       "DROP TABLE w;", message="Without rowid")
        write_revision(self.folder, "c3", "b2",
                       "INSERT INTO w VALUES ('new', 98);", "SELECT 1;",
                       message="New orphan")
        self.conn.execute("PRAGMA foreign_keys=OFF")
        self.conn.execute("SELECT migrate_to('b2', migrate_bundle(?))",
                          (self.folder,))
        self.conn.execute("PRAGMA foreign_keys=ON")
        before = snapshot(self.conn)
        with self.assertRaises(sqlite3.IntegrityError) as cm:
            self.conn.execute("SELECT migrate_to('c3', migrate_bundle(?))",
                              (self.folder,))
        self.assertEqual(str(cm.exception),
                         "migrate_to('c3'): FOREIGN KEY constraint failed "
                         "after the migration: table w, row NULL (one of 2 "
                         "such rows of w, 1 before the call) references p, "
                         "which has no matching row (PRAGMA "
                         "foreign_key_check). Nothing was changed; fix the "
                         "data in the revision that removed or changed the "
                         "parent rows")
        self.assertEqual(snapshot(self.conn), before)


READ_ONLY = ("the database is read-only on this connection (opened with "
             "mode=ro or SQLITE_OPEN_READONLY, or a file this process may not "
             "write)")


class MessagesNameTheCallAndTheWayOut(Base):
    """Every refusal starts with the call and its argument and ends with
    what to do; the database is unchanged afterwards."""

    def setUp(self):
        super().setUp()
        self.folder = self.two_revisions()
        self.conn.execute("SELECT migrate_to('a1', migrate_bundle(?))",
                          (self.folder,))

    def refused(self, conn, sql, args, message):
        before = snapshot(self.conn)
        with self.assertRaises(sqlite3.DatabaseError) as cm:
            conn.execute(sql, args)
        self.assertEqual(str(cm.exception), message)
        self.assertFalse(conn.in_transaction)
        self.assertEqual(snapshot(self.conn), before)

    def read_only(self):
        conn = sqlite3.connect("file:%s?mode=ro" % self.db, uri=True,
                               isolation_level=None)
        self.addCleanup(conn.close)
        conn.enable_load_extension(True)
        conn.load_extension(os.path.join(REPO, "build", "migrate"))
        return conn

    def test_read_only_connection(self):
        ro = self.read_only()
        for call, target in (("migrate_stamp", "b2"), ("migrate_stamp", "base"),
                             ("migrate_to", "b2"), ("migrate_to", "base")):
            self.refused(ro, "SELECT %s(?, migrate_bundle(?))" % call,
                         (target, self.folder),
                         "%s('%s'): %s. Nothing was changed; open it "
                         "read-write and call again" % (call, target,
                                                         READ_ONLY))
        # nothing to write: the answer, as on any connection
        self.assertEqual(ro.execute("SELECT migrate_to('a1', "
                                    "migrate_bundle(?))",
                                    (self.folder,)).fetchone(), ("a1",))

    def test_read_only_connection_rebuild(self):
        self.refused(self.read_only(), "SELECT migrate_rebuild('a', 'CREATE "
                     "TABLE a(x, y)')", (),
                     "migrate_rebuild('a'): %s; open it read-write and call "
                     "again. Nothing was changed" % READ_ONLY)

    def trigger_refuses(self, table, event):
        self.conn.execute("CREATE TRIGGER no_%s BEFORE %s ON %s BEGIN SELECT "
                          "RAISE(ABORT, 'not today'); END"
                          % (event, event, table))

    def way_out(self, table):
        return ("; a trigger or constraint on %s refused the engine's write: "
                "drop or change it (SELECT name, sql FROM sqlite_master WHERE "
                "tbl_name = '%s' lists them) and call again" % (table, table))

    def test_trigger_on_migrate_version(self):
        for event in ("INSERT", "DELETE"):
            self.trigger_refuses("migrate_version", event)
            for call in ("migrate_to", "migrate_stamp"):
                self.refused(self.conn, "SELECT %s('b2', migrate_bundle(?))"
                             % call, (self.folder,),
                             "%s('b2'): cannot update migrate_version: not "
                             "today. Nothing was changed%s"
                             % (call, self.way_out("migrate_version")))
            self.conn.execute("DROP TRIGGER no_%s" % event)

    def test_trigger_on_migrate_log(self):
        self.trigger_refuses("migrate_log", "INSERT")
        for call in ("migrate_to", "migrate_stamp"):
            self.refused(self.conn, "SELECT %s('b2', migrate_bundle(?))"
                         % call, (self.folder,),
                         "%s('b2'): cannot update migrate_log: not today. "
                         "Nothing was changed%s"
                         % (call, self.way_out("migrate_log")))

    def test_trigger_on_migrate_scripts(self):
        self.trigger_refuses("migrate_scripts", "INSERT")
        self.refused(self.conn, "SELECT migrate_to('b2', migrate_bundle(?))",
                     (self.folder,),
                     "migrate_to('b2'): cannot update migrate_scripts: not "
                     "today. Nothing was changed%s"
                     % self.way_out("migrate_scripts"))

    def test_trigger_that_ignores_the_write(self):
        self.conn.execute("CREATE TRIGGER skip BEFORE INSERT ON migrate_log "
                          "BEGIN SELECT RAISE(IGNORE); END")
        self.refused(self.conn, "SELECT migrate_to('b2', migrate_bundle(?))",
                     (self.folder,),
                     "migrate_to('b2'): cannot update migrate_log: a trigger "
                     "skipped the engine's write (RAISE(IGNORE)). Nothing was "
                     "changed%s" % self.way_out("migrate_log"))

    def test_trigger_that_rolls_back_the_callers_transaction(self):
        self.conn.execute("CREATE TRIGGER rb BEFORE INSERT ON migrate_version "
                          "BEGIN SELECT RAISE(ROLLBACK, 'not today'); END")
        before = snapshot(self.conn)
        self.conn.execute("BEGIN")
        self.conn.execute("INSERT INTO a VALUES ('mine')")
        with self.assertRaises(sqlite3.IntegrityError) as cm:
            self.conn.execute("SELECT migrate_to('b2', migrate_bundle(?))",
                              (self.folder,))
        self.assertEqual(str(cm.exception),
                         "migrate_to('b2'): cannot update migrate_version: not "
                         "today; SQLite rolled back the caller's whole "
                         "transaction, so everything since its BEGIN is "
                         "undone%s" % self.way_out("migrate_version"))
        self.assertFalse(self.conn.in_transaction)
        self.assertEqual(snapshot(self.conn), before)

    def test_trigger_after_a_partial_commit(self):
        folder = self.two_revisions(none_b2=True)
        write_revision(folder, "c3", "b2", "CREATE TABLE c(x);",
                       "DROP TABLE c;", message="Create c")
        self.trigger_refuses("migrate_log", "INSERT")
        with self.assertRaises(sqlite3.IntegrityError) as cm:
            self.conn.execute("SELECT migrate_to('head', migrate_bundle(?))",
                              (folder,))
        self.assertEqual(str(cm.exception),
                         "migrate_to('head'): cannot update migrate_log: not "
                         "today; no step was committed before the failure; "
                         "the database is at version a1; b2 ran outside a "
                         "transaction (Transaction: none) and was not "
                         "recorded: what it did up to there stays done "
                         "although the version says b2 did not run; undo that "
                         "(or make b2 idempotent) before calling again%s"
                         % self.way_out("migrate_log"))
        self.assertEqual(self.conn.execute("SELECT migrate_current()")
                         .fetchone(), ("a1",))
        self.assertEqual(self.conn.execute("SELECT * FROM a").fetchall(),
                         [("b2",)])


if __name__ == "__main__":
    unittest.main()


class ForeignTablesOfTheEngineNames(Base):
    """A user table named like one of the engine's tables, that the engine
    did not create (its columns, as PRAGMA table_xinfo shows them, are not
    exactly the engine's; for migrate_lock also its rows), makes every call
    that reads the database refuse before anything changes, naming the
    table and how to get out; such a table is never written or dropped."""

    TAIL = (", and the engine keeps its own records under that name. "
            "Nothing was changed. Rename your table (ALTER TABLE main.%s "
            "RENAME TO another name) and call again")

    def refused(self, setup, name, why, call="migrate_to",
                none_b2=True):
        folder = self.two_revisions(none_b2)
        self.conn.executescript(setup)
        before = (list(self.conn.iterdump()),
                  self.conn.execute("PRAGMA schema_version").fetchone())
        with self.assertRaises(sqlite3.OperationalError) as cm:
            self.conn.execute("SELECT %s('head', migrate_bundle(?))" % call,
                              (folder,))
        self.assertEqual(str(cm.exception),
                         "%s('head'): the table main.%s was not created by "
                         "sqlite-migrate (%s)" % (call, name, why)
                         + self.TAIL % name)
        self.assertFalse(self.conn.in_transaction)
        self.assertEqual((list(self.conn.iterdump()),
                          self.conn.execute(
                              "PRAGMA schema_version").fetchone()), before)

    def test_migrate_version_other_columns(self):
        self.refused("CREATE TABLE migrate_version(v TEXT, n INT);"
                     "INSERT INTO migrate_version VALUES ('mine', 1);",
                     "migrate_version",
                     "column 1 is 'v TEXT' where the engine's is "
                     "'version_num TEXT NOT NULL PRIMARY KEY'")

    def test_migrate_version_in_another_case(self):
        self.refused("CREATE TABLE MIGRATE_VERSION(version_num TEXT);"
                     "INSERT INTO MIGRATE_VERSION VALUES ('mine');",
                     "MIGRATE_VERSION",
                     "column 1 is 'version_num TEXT' where the engine's is "
                     "'version_num TEXT NOT NULL PRIMARY KEY'")

    def test_migrate_log_fewer_columns(self):
        self.refused("CREATE TABLE migrate_log(id INTEGER PRIMARY KEY, "
                     "revision TEXT);"
                     "INSERT INTO migrate_log VALUES (1, 'mine');",
                     "migrate_log",
                     "it has 2 columns where the engine's has 8")

    def test_migrate_log_stamp(self):
        self.refused("CREATE TABLE migrate_log(id INTEGER PRIMARY KEY, "
                     "note TEXT);",
                     "migrate_log",
                     "column 2 is 'note TEXT' where the engine's is "
                     "'revision TEXT'", call="migrate_stamp")

    def test_migrate_scripts_more_columns(self):
        self.refused("CREATE TABLE migrate_scripts(revision TEXT NOT NULL "
                     "PRIMARY KEY, file TEXT NOT NULL, parents TEXT NOT "
                     "NULL, depends_on TEXT NOT NULL, message TEXT NOT NULL,"
                     " checksum TEXT NOT NULL, downgrade_sql TEXT, "
                     "transaction_none INTEGER NOT NULL, owner TEXT);",
                     "migrate_scripts",
                     "it has a column 9, 'owner TEXT'; the engine's has 8 "
                     "columns")

    def test_migrate_scripts_offline_script(self):
        self.refused("CREATE TABLE migrate_scripts(revision, file);",
                     "migrate_scripts",
                     "column 1 is 'revision' where the engine's is "
                     "'revision TEXT NOT NULL PRIMARY KEY'",
                     call="migrate_sql")

    def test_migrate_lock_other_columns(self):
        # once "no such column: pid" on every migration
        self.refused("CREATE TABLE migrate_lock(k TEXT PRIMARY KEY, v);"
                     "INSERT INTO migrate_lock VALUES ('door', 'shut');",
                     "migrate_lock",
                     "column 1 is 'k TEXT PRIMARY KEY' where the engine's "
                     "is 'id INTEGER PRIMARY KEY'", none_b2=False)

    LOCK = ("CREATE TABLE migrate_lock(id INTEGER PRIMARY KEY, pid INTEGER "
            "NOT NULL, revision TEXT NOT NULL, since TEXT NOT NULL);")
    NOT_OURS = ("its columns are the engine's but its rows are not the one "
                "lock row the engine writes")

    def test_migrate_lock_same_columns_user_rows(self):
        # once dropped with its data by the lock's take-over
        self.refused(self.LOCK + "INSERT INTO migrate_lock VALUES "
                     "(1, 10, 'front', 'monday'), (2, 11, 'back', 'tuesday');",
                     "migrate_lock", self.NOT_OURS)

    def test_migrate_lock_same_columns_one_user_row(self):
        self.refused(self.LOCK + "INSERT INTO migrate_lock VALUES "
                     "(1, 'ten', 'front', 'monday');",
                     "migrate_lock", self.NOT_OURS)

    def test_migrate_lock_same_columns_empty(self):
        # the engine creates the table with its row and drops both together
        self.refused(self.LOCK, "migrate_lock", self.NOT_OURS)

    def test_readers_refuse_too(self):
        # migrate_current() and migrate_check() read migrate_version
        self.conn.executescript("CREATE TABLE migrate_version(v TEXT);"
                                "INSERT INTO migrate_version VALUES ('x');")
        before = list(self.conn.iterdump())
        why = ("the table main.migrate_version was not created by "
               "sqlite-migrate (column 1 is 'v TEXT' where the engine's is "
               "'version_num TEXT NOT NULL PRIMARY KEY')"
               + self.TAIL % "migrate_version")
        for call, who in (("migrate_current()", "migrate_current()"),
                          ("migrate_check()", "migrate_check")):
            with self.assertRaises(sqlite3.OperationalError) as cm:
                self.conn.execute("SELECT " + call)
            self.assertEqual(str(cm.exception), "%s: %s" % (who, why))
        self.assertEqual(list(self.conn.iterdump()), before)

    def test_the_tables_refuse_too(self):
        # the migrations and migration_history tables read the same tables
        self.conn.executescript(
            "CREATE TABLE migrate_version(v TEXT);"
            "INSERT INTO migrate_version VALUES ('x');"
            "CREATE TABLE migrate_log(id INTEGER PRIMARY KEY, note TEXT);"
            "INSERT INTO migrate_log VALUES (1, 'mine');")
        before = list(self.conn.iterdump())
        why = {"migrate_version": "column 1 is 'v TEXT' where the engine's is "
                                  "'version_num TEXT NOT NULL PRIMARY KEY'",
               "migrate_log": "column 2 is 'note TEXT' where the engine's is "
                              "'revision TEXT'"}
        for vtab, table in (("migrations", "migrate_version"),
                            ("migration_history", "migrate_log")):
            if vtab == "migration_history":
                self.conn.execute("DROP TABLE migrate_version")
                before = list(self.conn.iterdump())
            with self.assertRaises(sqlite3.OperationalError) as cm:
                self.conn.execute("SELECT * FROM " + vtab).fetchall()
            self.assertEqual(str(cm.exception),
                             "%s: the table main.%s was not created by "
                             "sqlite-migrate (%s)%s"
                             % (vtab, table, why[table], self.TAIL % table))
            self.assertEqual(list(self.conn.iterdump()), before)

    def test_a_view(self):
        folder = self.two_revisions()
        self.conn.execute("CREATE VIEW migrate_log AS SELECT 1 AS id")
        before = list(self.conn.iterdump())
        with self.assertRaises(sqlite3.OperationalError) as cm:
            self.conn.execute("SELECT migrate_to('head', migrate_bundle(?))",
                              (folder,))
        self.assertEqual(str(cm.exception),
                         "migrate_to('head'): the view main.migrate_log was "
                         "not created by sqlite-migrate (it is a view), and "
                         "the engine keeps its own records under that name. "
                         "Nothing was changed. Rename your view (create it "
                         "under another name, then DROP VIEW "
                         "main.migrate_log) and call again")
        self.assertEqual(list(self.conn.iterdump()), before)

    def test_renamed_away_the_call_runs(self):
        folder = self.two_revisions(True)
        self.conn.executescript(self.LOCK + "INSERT INTO migrate_lock VALUES "
                                "(1, 10, 'front', 'monday'), "
                                "(2, 11, 'back', 'tuesday');")
        with self.assertRaises(sqlite3.OperationalError):
            self.conn.execute("SELECT migrate_to('head', migrate_bundle(?))",
                              (folder,))
        self.conn.execute("ALTER TABLE migrate_lock RENAME TO door_lock")
        self.assertEqual(self.conn.execute(
            "SELECT migrate_to('head', migrate_bundle(?))",
            (folder,)).fetchone(), ("b2",))
        self.assertEqual(self.conn.execute(
            "SELECT * FROM door_lock ORDER BY id").fetchall(),
            [(1, 10, "front", "monday"), (2, 11, "back", "tuesday")])
        self.assertEqual(self.conn.execute(
            "SELECT name FROM sqlite_master WHERE name = 'migrate_lock'"
        ).fetchall(), [])

    def test_engine_tables_with_a_user_index_are_the_engine_s(self):
        folder = self.two_revisions(True)
        self.conn.execute("SELECT migrate_to('a1', migrate_bundle(?))",
                          (folder,))
        self.conn.execute("CREATE INDEX log_by_rev ON migrate_log(revision)")
        self.assertEqual(self.conn.execute(
            "SELECT migrate_to('head', migrate_bundle(?))",
            (folder,)).fetchone(), ("b2",))


def proc_started(pid):
    """Field 22 of /proc/PID/stat (start time, clock ticks since boot)."""
    with open("/proc/%d/stat" % pid) as f:
        text = f.read()
    return int(text[text.rindex(")") + 2:].split()[19])


def boot_id(boot=None, ns=None, host=None):
    """Where a process runs, as migrate_lock.boot_id keeps it: the boot id,
    the pid namespace and the host name (each replaced when given)."""
    with open("/proc/sys/kernel/random/boot_id") as f:
        mine = f.read().strip()
    return "%s %s %s" % (boot or mine, ns or os.readlink("/proc/self/ns/pid"),
                         host or socket.gethostname())


# A real migration in another process: it runs b2 (Transaction: none),
# whose statement calls wait_for_go(), a function of that process's
# connection that says "ready" and waits for the file "go".
HOLDER = r"""
import os, sys, time
from helpers import connect
db, folder, ready, go = sys.argv[1:5]
conn = connect(db)
def wait_for_go():
    open(ready, "w").close()
    for _ in range(6000):
        if os.path.exists(go):
            return 1
        time.sleep(0.01)
    return 0
conn.create_function("wait_for_go", 0, wait_for_go)
print(conn.execute("SELECT migrate_to('b2', migrate_bundle(?))",
                   (folder,)).fetchone()[0])
"""


@unittest.skipUnless(os.path.exists("/proc/sys/kernel/random/boot_id"),
                     "the lock's owner identity needs Linux's /proc")
class StaleLocks(Base):
    """migrate_lock keeps the owner's pid, the boot id and the owner's start
    time: a lock whose owner is gone (another boot, an ended process, a pid
    that now belongs to another process) is taken over; a live owner's lock
    is refused with a message naming migrate_lock, the pid and how to clear
    a lock the user knows is stale.  Locks written before boot_id and
    started existed are read by pid alone."""

    LOCK6 = ("CREATE TABLE migrate_lock(id INTEGER PRIMARY KEY CHECK (id = 1),"
             " pid INTEGER NOT NULL, revision TEXT NOT NULL, since TEXT NOT "
             "NULL, boot_id TEXT, started INTEGER)")
    LOCK4 = ("CREATE TABLE migrate_lock(id INTEGER PRIMARY KEY CHECK (id = 1),"
             " pid INTEGER NOT NULL, revision TEXT NOT NULL, since TEXT NOT "
             "NULL)")

    def setUp(self):
        super().setUp()
        self.folder = self.tmp.path("m")
        write_revision(self.folder, "a1", "", "CREATE TABLE a(x);",
                       "DROP TABLE a;", message="Create a")
        write_revision(self.folder, "b2", "a1",
                       "INSERT INTO a VALUES ('b2');", "DELETE FROM a;",
                       message="Fill a", headers=["Transaction: none"])
        self.conn.execute("SELECT migrate_to('a1', migrate_bundle(?))",
                          (self.folder,))
        # a live owner's lock is waited for within the busy timeout
        self.conn.execute("PRAGMA busy_timeout = 0")

    def other_process(self):
        """A live process that is not a migration."""
        p = subprocess.Popen(["sleep", "60"])
        self.addCleanup(p.wait)
        self.addCleanup(p.kill)
        return p.pid

    def busy_message(self, pid):
        return ("migrate_to('head'): another migration (process %d) holds "
                "migrate_lock: its run took it at 2026-01-01T00:00:00.000Z "
                "for revision b2, which runs outside a transaction "
                "(Transaction: none), and has not ended. Try again when it "
                "has finished or set a longer busy "
                "timeout; if you know no migration is running (process %d "
                "is not one), the lock is stale: remove it with DROP TABLE "
                "main.migrate_lock; (in a shell: sqlite3 '%s' 'DROP TABLE "
                "main.migrate_lock;')" % (pid, pid, self.db))

    def lock(self, create, row):
        self.conn.execute(create)
        self.conn.execute("INSERT INTO migrate_lock VALUES (%s)"
                          % ", ".join("?" * len(row)), row)
        self.conn.commit()

    def taken_over(self):
        self.assertEqual(self.conn.execute(
            "SELECT migrate_to('head', migrate_bundle(?))",
            (self.folder,)).fetchone(), ("b2",))
        self.assertEqual(self.conn.execute("SELECT * FROM a").fetchall(),
                         [("b2",)])
        self.assertEqual(self.conn.execute(
            "SELECT name FROM sqlite_master WHERE name = 'migrate_lock'"
        ).fetchall(), [])

    def refused(self, pid):
        before = snapshot(self.conn)
        lock = self.conn.execute("SELECT * FROM migrate_lock").fetchall()
        with self.assertRaises(sqlite3.OperationalError) as cm:
            self.conn.execute("SELECT migrate_to('head', migrate_bundle(?))",
                              (self.folder,))
        self.assertEqual(str(cm.exception), self.busy_message(pid))
        self.assertEqual(snapshot(self.conn), before)
        self.assertEqual(self.conn.execute(
            "SELECT * FROM migrate_lock").fetchall(), lock)
        # the way out the message names works
        self.conn.execute("DROP TABLE main.migrate_lock")
        self.taken_over()

    def test_a_real_migration_in_another_process_holds_it(self):
        ready, go = self.tmp.path("ready"), self.tmp.path("go")
        env = dict(os.environ)
        env["PYTHONPATH"] = os.path.dirname(os.path.abspath(__file__))
        p = subprocess.Popen(["/usr/bin/python3", "-c", HOLDER, self.db,
                              self.folder, ready, go], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        self.addCleanup(p.communicate)
        self.addCleanup(p.kill)
        write_revision(self.folder, "b2", "a1",
                       "SELECT wait_for_go();\nINSERT INTO a VALUES ('b2');",
                       "DELETE FROM a;", message="Fill a",
                       headers=["Transaction: none"])
        for _ in range(3000):
            if os.path.exists(ready) or p.poll() is not None:
                break
            time.sleep(0.01)
        self.assertTrue(os.path.exists(ready), p.stderr.read() if
                        p.poll() is not None else "no ready file")
        self.assertEqual(self.conn.execute(
            "SELECT pid, revision, boot_id, started FROM migrate_lock"
        ).fetchall(), [(p.pid, "b2", boot_id(), proc_started(p.pid))])
        since = self.conn.execute(
            "SELECT since FROM migrate_lock").fetchone()[0]
        with self.assertRaises(sqlite3.OperationalError) as cm:
            self.conn.execute("SELECT migrate_to('head', migrate_bundle(?))",
                              (self.folder,))
        self.assertEqual(str(cm.exception), self.busy_message(p.pid).replace(
            "2026-01-01T00:00:00.000Z", since))
        open(go, "w").close()
        out, err = p.communicate(timeout=60)
        self.assertEqual((out, err, p.returncode), ("b2\n", "", 0))
        self.assertEqual(self.conn.execute("SELECT * FROM a").fetchall(),
                         [("b2",)])
        self.assertEqual(self.conn.execute(
            "SELECT name FROM sqlite_master WHERE name = 'migrate_lock'"
        ).fetchall(), [])

    def test_live_owner_same_boot_same_start_is_refused(self):
        pid = self.other_process()
        self.lock(self.LOCK6, (1, pid, "b2", "2026-01-01T00:00:00.000Z",
                               boot_id(), proc_started(pid)))
        self.refused(pid)

    def test_another_boot_is_taken_over(self):
        # the pid is alive, but the lock was written before a restart
        pid = self.other_process()
        self.lock(self.LOCK6, (1, pid, "b2", "2026-01-01T00:00:00.000Z",
                               boot_id(boot="00000000-0000-0000-0000-"
                                       "000000000000"),
                               proc_started(pid)))
        self.taken_over()

    def test_another_host_is_refused(self):
        # another machine sharing the file: its pids cannot be checked here
        self.lock(self.LOCK6, (1, 1, "b2", "2026-01-01T00:00:00.000Z",
                               boot_id(boot="00000000-0000-0000-0000-"
                                       "000000000000", host="elsewhere"),
                               proc_started(1) + 12345))
        self.refused(1)

    def test_another_pid_namespace_is_refused(self):
        # a container on this machine: its pid 1 is not ours, whatever our
        # pid 1 started at
        self.lock(self.LOCK6, (1, 1, "b2", "2026-01-01T00:00:00.000Z",
                               boot_id(ns="pid:[1]"),
                               proc_started(1) + 12345))
        self.refused(1)

    def test_a_pid_no_process_can_have_is_taken_over(self):
        self.lock(self.LOCK6, (1, 4294967295, "b2",
                               "2026-01-01T00:00:00.000Z", boot_id(), 1))
        self.taken_over()

    def test_pid_of_another_process_is_taken_over(self):
        # same boot, the pid alive, but started at another time: reused
        pid = self.other_process()
        self.lock(self.LOCK6, (1, pid, "b2", "2026-01-01T00:00:00.000Z",
                               boot_id(), proc_started(pid) + 1))
        self.taken_over()

    def test_this_process_holding_nothing_is_taken_over(self):
        self.lock(self.LOCK6, (1, os.getpid(), "b2",
                               "2026-01-01T00:00:00.000Z", boot_id(),
                               proc_started(os.getpid()) - 1))
        self.taken_over()

    def test_ended_process_is_taken_over(self):
        p = subprocess.Popen(["true"])
        p.wait()
        self.lock(self.LOCK6, (1, p.pid, "b2", "2026-01-01T00:00:00.000Z",
                               boot_id(), 1))
        self.taken_over()

    def test_old_lock_row_live_pid_is_refused(self):
        pid = self.other_process()
        self.lock(self.LOCK4, (1, pid, "b2", "2026-01-01T00:00:00.000Z"))
        self.refused(pid)

    def test_old_lock_row_ended_process_is_taken_over(self):
        p = subprocess.Popen(["true"])
        p.wait()
        self.lock(self.LOCK4, (1, p.pid, "b2", "2026-01-01T00:00:00.000Z"))
        self.taken_over()
