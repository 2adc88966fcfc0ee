"""Atomicity and transactions of migrate_to() (README.md, "Virtual tables").

- One call is all or nothing: a failing statement, wherever it is, leaves
  the database logically as it was (.dump, schema_version, migrate_version,
  migrate_log), and the message names the function, target, revision,
  file:line, SQLite's message and the statement.
- In autocommit mode the call commits before it returns; inside the
  caller's transaction it works in a savepoint and leaves COMMIT/ROLLBACK to
  the caller; if SQLite itself rolls back the caller's transaction
  (RAISE(ROLLBACK)) the error says so.
- It must run as a statement of its own, and never from a view or trigger.
- Transaction: none revisions (the example's head switches to WAL).

Connections use isolation_level=None, so BEGIN/COMMIT/ROLLBACK are the
test's own SQL; one test checks Python's default mode as well.
"""

import sqlite3
import unittest

from helpers import (TempDir, close_connections, connect, log_rows,
                     read_folder, snapshot, table_exists, versions,
                     write_revision)

HEAD = "f05c3b8d2e76"
MERGE = "4e92a7c0b6d1"
WAL_FILE = "f05c3b8d2e76_switch_to_wal_journal_mode.sql"

# First line of the upgrade section in helpers.revision_text() files
# without extra headers: message, "--", Revision ID, Revises, "", directive.
UP = 7

NOT_ALONE = ("%s('head'): must run as a statement of its own, e.g. SELECT "
             "%s(...); another statement on this connection is still "
             "active (an unfinished SELECT, or a call inside INSERT ... "
             "SELECT, a trigger or a CHECK); finish or reset it first. "
             "Nothing was changed")
READS_TABLES = ("%s('head'): must run as a statement of its own, e.g. SELECT "
                "%s(...); it was called from a statement that reads "
                "tables (SELECT ... FROM), which keeps them locked. Nothing "
                "was changed")


class Base(unittest.TestCase):

    maxDiff = None

    def setUp(self):
        self.tmp = TempDir()
        self.addCleanup(self.tmp.cleanup)
        self.db = self.tmp.path("app.db")
        self.conn = connect(self.db)
        # some data of the application's own, before any migration
        self.conn.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, note TEXT)")
        self.conn.execute("INSERT INTO t(note) VALUES ('before')")

    def assertRefused(self, sql, args, message, error=sqlite3.Error):
        """sql raises `error` with exactly `message` and changes nothing."""
        before = snapshot(self.conn)
        with self.assertRaises(error) as cm:
            self.conn.execute(sql, args).fetchall()
        self.assertEqual(str(cm.exception), message)
        self.assertEqual(snapshot(self.conn), before)
        return cm.exception

    def failing_history(self, name="m"):
        """a1, b2 fine; c3 fails on its second statement (line UP+1)."""
        folder = self.tmp.path(name)
        write_revision(folder, "a1", "", "CREATE TABLE a(x);\n"
                       "INSERT INTO a VALUES ('a1');", "DROP TABLE a;",
                       message="Create a")
        write_revision(folder, "b2", "a1", "CREATE INDEX ix_a ON a(x);\n"
                       "INSERT INTO a VALUES ('b2');",
                       "DELETE FROM a WHERE x = 'b2';\nDROP INDEX ix_a;",
                       message="Index a")
        write_revision(folder, "c3", "b2", "INSERT INTO a VALUES ('c3');\n"
                       "UPDATE nosuch SET y = 1;\n"
                       "INSERT INTO a VALUES ('c3 again');",
                       "DELETE FROM a WHERE x LIKE 'c3%';",
                       message="Use a missing table")
        return folder

    def good_history(self, name="good"):
        folder = self.tmp.path(name)
        write_revision(folder, "a1", "", "CREATE TABLE a(x);",
                       "DROP TABLE a;")
        write_revision(folder, "b2", "a1", "INSERT INTO a VALUES (1);",
                       "DELETE FROM a;")
        return folder


class AtomicityTest(Base):

    def test_third_revision_fails_from_base(self):
        folder = self.failing_history()
        e = self.assertRefused(
            "SELECT migrate_to('head', migrate_bundle(?))", (folder,),
            "migrate_to('head'): upgrade of c3 (Use a missing table) failed "
            "at c3_rev.sql:%d: no such table: nosuch [statement: UPDATE "
            "nosuch SET y = 1;]; nothing was changed" % (UP + 1),
            sqlite3.OperationalError)
        self.assertFalse(table_exists(self.conn, "a"))
        self.assertFalse(table_exists(self.conn, "migrate_version"))
        self.assertFalse(self.conn.in_transaction)
        del e

    def test_failure_after_earlier_calls(self):
        folder = self.failing_history()
        self.conn.execute("SELECT migrate_to('a1', migrate_bundle(?))",
                          (folder,))
        self.conn.execute("INSERT INTO a VALUES ('user data')")
        self.assertRefused(
            "SELECT migrate_to('head', migrate_bundle(?))", (folder,),
            "migrate_to('head'): upgrade of c3 (Use a missing table) failed "
            "at c3_rev.sql:%d: no such table: nosuch [statement: UPDATE "
            "nosuch SET y = 1;]; nothing was changed" % (UP + 1))
        self.assertEqual(versions(self.conn), ["a1"])
        self.assertEqual(self.conn.execute("SELECT x FROM a").fetchall(),
                         [("a1",), ("user data",)])

    def test_constraint_failure_in_the_middle_of_a_revision(self):
        folder = self.tmp.path("m")
        write_revision(folder, "a1", "", "CREATE TABLE a(id INTEGER "
                       "PRIMARY KEY, x);", "DROP TABLE a;")
        write_revision(folder, "b2", "a1", "INSERT INTO a VALUES (1, 'x');\n"
                       "-- a comment, then a blank line\n\n"
                       "INSERT INTO a VALUES (1, 'again');\n"
                       "CREATE TABLE never(x);", "DELETE FROM a;",
                       message="Duplicate key")
        self.assertRefused(
            "SELECT migrate_to('head', migrate_bundle(?))", (folder,),
            "migrate_to('head'): upgrade of b2 (Duplicate key) failed at "
            "b2_rev.sql:%d: UNIQUE constraint failed: a.id [statement: "
            "INSERT INTO a VALUES (1, 'again');]; nothing was changed"
            % (UP + 3), sqlite3.IntegrityError)

    def test_long_multi_line_statement_is_shortened_in_the_message(self):
        folder = self.tmp.path("m")
        cols = ", ".join("column_number_%02d" % i for i in range(12))
        write_revision(folder, "a1", "", "SELECT 1;\n\nINSERT INTO nosuch\n"
                       "    (%s)\nVALUES (1);" % cols, "SELECT 1;",
                       message="Long")
        flat = "INSERT INTO nosuch (%s) VALUES (1);" % cols
        self.assertGreater(len(flat), 120)
        self.assertNotEqual(flat[119], " ")
        self.assertRefused(
            "SELECT migrate_to('a1', migrate_bundle(?))", (folder,),
            "migrate_to('a1'): upgrade of a1 (Long) failed at a1_rev.sql:%d: "
            "no such table: nosuch [statement: %s...]; nothing was changed"
            % (UP + 2, flat[:120]))

    def test_failing_downgrade_changes_nothing(self):
        folder = self.tmp.path("m")
        write_revision(folder, "a1", "", "CREATE TABLE a(x);",
                       "DROP TABLE a;")
        write_revision(folder, "b2", "a1", "CREATE TABLE b(x);\n"
                       "INSERT INTO b VALUES (1);",
                       "DELETE FROM b;\nDROP TABLE nosuch;\nDROP TABLE b;",
                       message="Make b")
        self.conn.execute("SELECT migrate_to('head', migrate_bundle(?))",
                          (folder,))
        # "-- migrate:downgrade" is line UP+3 of a two-statement upgrade
        self.assertRefused(
            "SELECT migrate_to('base', migrate_bundle(?))", (folder,),
            "migrate_to('base'): downgrade of b2 (Make b) failed at "
            "b2_rev.sql:%d: no such table: nosuch [statement: DROP TABLE "
            "nosuch;]; nothing was changed" % (UP + 5))
        self.assertEqual(versions(self.conn), ["b2"])
        self.assertEqual(self.conn.execute("SELECT * FROM b").fetchall(),
                         [(1,)])

    def test_failure_after_a_transaction_none_revision(self):
        """The documented exception: steps before a Transaction: none
        revision are committed first.  When a later revision fails, the
        Transaction: none revision (already run, outside any transaction)
        must stay recorded as applied, and the message must not claim that
        nothing was changed."""
        folder = self.tmp.path("m")
        write_revision(folder, "a1", "", "CREATE TABLE a(x);",
                       "DROP TABLE a;")
        write_revision(folder, "b2", "a1", "PRAGMA journal_mode=WAL;",
                       "PRAGMA journal_mode=DELETE;",
                       headers=["Transaction: none"])
        write_revision(folder, "c3", "b2", "INSERT INTO nosuch VALUES (1);",
                       "SELECT 1;", message="Fails")
        with self.assertRaises(sqlite3.OperationalError) as cm:
            self.conn.execute("SELECT migrate_to('head', migrate_bundle(?))",
                              (folder,))
        self.assertEqual(self.conn.execute("PRAGMA journal_mode").fetchone(),
                         ("wal",))
        revs = read_folder(folder)
        self.assertEqual(
            (str(cm.exception), versions(self.conn), log_rows(self.conn)),
            ("migrate_to('head'): upgrade of c3 (Fails) failed at "
             "c3_rev.sql:%d: no such table: nosuch [statement: INSERT INTO "
             "nosuch VALUES (1);]; the steps committed before the failure "
             "stay done: upgrade a1, upgrade b2; the database is at version "
             "b2; the rest was rolled back; fix what failed and call again: it "
             "continues from version b2"
             % UP, ["b2"],
             [(1, "a1", "upgrade", None, "a1", revs["a1"]["checksum"]),
              (2, "b2", "upgrade", "a1", "b2", revs["b2"]["checksum"])]))

    def test_failure_inside_a_transaction_none_revision(self):
        folder = self.tmp.path("m")
        write_revision(folder, "a1", "", "CREATE TABLE a(x);",
                       "DROP TABLE a;")
        write_revision(folder, "b2", "a1", "INSERT INTO nosuch VALUES (1);",
                       "SELECT 1;", headers=["Transaction: none"],
                       message="Outside")
        with self.assertRaises(sqlite3.OperationalError) as cm:
            self.conn.execute("SELECT migrate_to('head', migrate_bundle(?))",
                              (folder,))
        self.assertEqual(
            str(cm.exception),
            "migrate_to('head'): upgrade of b2 (Outside) failed at "
            "b2_rev.sql:%d: no such table: nosuch [statement: INSERT INTO "
            "nosuch VALUES (1);]; the steps committed before the failure "
            "stay done: upgrade a1; the database is at version a1; b2 ran "
            "outside a transaction (Transaction: none) and stopped at this "
            "statement: what it did up to there stays done although the "
            "version says b2 did not run; undo that (or make b2 idempotent) "
            "before calling again"
            % (UP + 1))
        self.assertEqual(versions(self.conn), ["a1"])
        self.assertFalse(self.conn.in_transaction)


class CallerTransactionTest(Base):

    def test_rollback_undoes_the_call(self):
        before = snapshot(self.conn)
        self.conn.execute("BEGIN")
        self.assertEqual(self.conn.execute("SELECT migrate_to(?)", (MERGE,))
                         .fetchone(), (MERGE,))
        self.assertTrue(self.conn.in_transaction)
        self.assertEqual(versions(self.conn), [MERGE])
        self.conn.execute("ROLLBACK")
        self.assertEqual(snapshot(self.conn), before)

    def test_rollback_undoes_head_of_a_folder(self):
        folder = self.good_history()
        before = snapshot(self.conn)
        self.conn.execute("BEGIN")
        self.assertEqual(self.conn.execute(
            "SELECT migrate_to('head', migrate_bundle(?))", (folder,))
            .fetchone(), ("b2",))
        self.conn.execute("ROLLBACK")
        self.assertEqual(snapshot(self.conn), before)

    def test_commit_keeps_the_call_and_the_callers_work(self):
        self.conn.execute("BEGIN")
        self.conn.execute("INSERT INTO t(note) VALUES ('in txn')")
        self.conn.execute("SELECT migrate_to(?)", (MERGE,))
        other = sqlite3.connect(self.db)
        self.assertEqual(versions(other), [])   # not committed yet
        self.conn.execute("COMMIT")
        self.assertEqual(versions(other), [MERGE])
        self.assertEqual(other.execute("SELECT note FROM t ORDER BY id")
                         .fetchall(), [("before",), ("in txn",)])
        self.assertEqual(len(log_rows(other)), 11)

    def test_failure_rolls_back_to_the_savepoint_only(self):
        folder = self.failing_history()
        self.conn.execute("BEGIN")
        self.conn.execute("INSERT INTO t(note) VALUES ('in txn')")
        inside = snapshot(self.conn)
        with self.assertRaises(sqlite3.OperationalError) as cm:
            self.conn.execute("SELECT migrate_to('head', migrate_bundle(?))",
                              (folder,))
        self.assertEqual(
            str(cm.exception),
            "migrate_to('head'): upgrade of c3 (Use a missing table) failed "
            "at c3_rev.sql:%d: no such table: nosuch [statement: UPDATE "
            "nosuch SET y = 1;]; nothing was changed" % (UP + 1))
        self.assertTrue(self.conn.in_transaction)
        self.assertEqual(snapshot(self.conn), inside)
        self.conn.execute("COMMIT")
        other = sqlite3.connect(self.db)
        self.assertEqual(other.execute("SELECT note FROM t ORDER BY id")
                         .fetchall(), [("before",), ("in txn",)])
        self.assertFalse(table_exists(other, "a"))
        self.assertFalse(table_exists(other, "migrate_version"))

    def raise_rollback_history(self):
        folder = self.tmp.path("rr")
        write_revision(folder, "a1", "", "CREATE TABLE a(x);\n"
                       "CREATE TRIGGER no99 BEFORE INSERT ON a WHEN NEW.x = 99"
                       "\nBEGIN\n  SELECT RAISE(ROLLBACK, 'x may not be 99');"
                       "\nEND;", "DROP TABLE a;")
        write_revision(folder, "b2", "a1", "INSERT INTO a VALUES (1);\n"
                       "INSERT INTO a VALUES (99);", "DELETE FROM a;",
                       message="Insert 99")
        self.conn.execute("SELECT migrate_to('a1', migrate_bundle(?))",
                          (folder,))
        return folder

    def test_raise_rollback_in_the_callers_transaction(self):
        folder = self.raise_rollback_history()
        committed = snapshot(self.conn)
        self.conn.execute("BEGIN")
        self.conn.execute("INSERT INTO t(note) VALUES ('lost')")
        with self.assertRaises(sqlite3.IntegrityError) as cm:
            self.conn.execute("SELECT migrate_to('head', migrate_bundle(?))",
                              (folder,))
        self.assertEqual(
            str(cm.exception),
            "migrate_to('head'): upgrade of b2 (Insert 99) failed at "
            "b2_rev.sql:%d: x may not be 99 [statement: INSERT INTO a VALUES "
            "(99);]; SQLite rolled back the caller's whole transaction, so "
            "everything since its BEGIN is undone" % (UP + 1))
        self.assertFalse(self.conn.in_transaction)
        self.assertEqual(snapshot(self.conn), committed)

    def test_raise_rollback_in_autocommit_mode(self):
        folder = self.raise_rollback_history()
        self.assertRefused(
            "SELECT migrate_to('head', migrate_bundle(?))", (folder,),
            "migrate_to('head'): upgrade of b2 (Insert 99) failed at "
            "b2_rev.sql:%d: x may not be 99 [statement: INSERT INTO a VALUES "
            "(99);]; nothing was changed" % (UP + 1), sqlite3.IntegrityError)
        self.assertFalse(self.conn.in_transaction)

    def test_autocommit_call_is_committed_when_it_returns(self):
        other = sqlite3.connect(self.db, timeout=0)
        self.assertEqual(self.conn.execute("SELECT migrate_to(?)", (MERGE,))
                         .fetchone(), (MERGE,))
        self.assertFalse(self.conn.in_transaction)
        self.assertEqual(versions(other), [MERGE])
        self.assertEqual(len(log_rows(other)), 11)
        # and the write lock is free again
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")

    def test_python_default_isolation_level(self):
        """SQLite and Python: with Python's default isolation_level a SELECT opens
        no transaction (the call commits), after an INSERT it does (the call
        runs in a savepoint and conn.rollback() undoes it)."""
        conn = connect(self.db, isolation_level="")
        conn.execute("INSERT INTO t(note) VALUES ('implicit begin')")
        self.assertTrue(conn.in_transaction)
        conn.execute("SELECT migrate_to(?)", (MERGE,))
        conn.rollback()
        self.assertEqual(versions(conn), [])
        self.assertEqual(conn.execute("SELECT count(*) FROM t").fetchone(),
                         (1,))
        conn.execute("SELECT migrate_to(?)", (MERGE,))
        self.assertFalse(conn.in_transaction)
        self.assertEqual(versions(sqlite3.connect(self.db)), [MERGE])


class OwnStatementTest(Base):
    """migrate_to/migrate_stamp refuse to run inside another statement."""

    def setUp(self):
        super().setUp()
        self.conn.execute("INSERT INTO t(note) VALUES ('second row')")

    def test_select_from_a_table(self):
        for f in ("migrate_to", "migrate_stamp"):
            with self.subTest(function=f):
                self.assertRefused("SELECT %s('head') FROM t" % f, (),
                                   READS_TABLES % (f, f))

    def test_unfinished_cursor(self):
        cur = self.conn.cursor()
        cur.execute("SELECT note FROM t ORDER BY id")
        self.assertEqual(cur.fetchone(), ("before",))
        for f in ("migrate_to", "migrate_stamp"):
            with self.subTest(function=f):
                self.assertRefused("SELECT %s('head')" % f, (),
                                   NOT_ALONE % (f, f))
        # the refusal did not disturb the open cursor
        self.assertEqual(cur.fetchall(), [("second row",)])
        self.assertEqual(self.conn.execute("SELECT migrate_to(?)", (MERGE,))
                         .fetchone(), (MERGE,))

    def test_insert_select(self):
        self.assertRefused("INSERT INTO t(note) SELECT migrate_to('head')",
                           (), NOT_ALONE % ("migrate_to", "migrate_to"))
        self.assertEqual(self.conn.execute("SELECT count(*) FROM t")
                         .fetchone(), (2,))

    def test_check_constraint(self):
        if sqlite3.sqlite_version_info >= (3, 52):
            # from 3.52 SQLite refuses the DIRECTONLY function at CREATE
            with self.assertRaises(sqlite3.OperationalError) as cm:
                self.conn.execute("CREATE TABLE ck(x CHECK (migrate_to('head') "
                                  "IS NOT NULL))")
            self.assertEqual(str(cm.exception), "unsafe use of migrate_to()")
            return
        # before 3.52 DIRECTONLY does not cover CHECK; the busy-statement
        # check does
        self.conn.execute("CREATE TABLE ck(x CHECK (migrate_to('head') IS "
                          "NOT NULL))")
        self.assertRefused("INSERT INTO ck VALUES (1)", (),
                           NOT_ALONE % ("migrate_to", "migrate_to"))

    def test_revision_script_cannot_migrate(self):
        folder = self.tmp.path("m")
        write_revision(folder, "a1", "", "CREATE TABLE a(x);",
                       "DROP TABLE a;")
        write_revision(folder, "b2", "a1", "INSERT INTO a VALUES (1);\n"
                       "SELECT migrate_stamp('base');", "DELETE FROM a;",
                       message="Nested")
        self.assertRefused(
            "SELECT migrate_to('head', migrate_bundle(?))", (folder,),
            "migrate_to('head'): upgrade of b2 (Nested) failed at "
            "b2_rev.sql:%d: migrate_stamp() cannot be called from a revision "
            "script while the database is being migrated; write the "
            "revision's SQL directly [statement: SELECT "
            "migrate_stamp('base');]; nothing was changed" % (UP + 1))
        # the readers may be used there
        write_revision(folder, "b2", "a1", "INSERT INTO a SELECT "
                       "migrate_version();", "DELETE FROM a;")
        self.assertEqual(self.conn.execute(
            "SELECT migrate_to('head', migrate_bundle(?))", (folder,))
            .fetchone(), ("b2",))
        self.assertEqual(self.conn.execute("SELECT x FROM a").fetchall(),
                         [("0.1.0",)])

    def test_view_and_trigger_are_unsafe_use(self):
        for f in ("migrate_to('head')", "migrate_stamp('head')",
                  "migrate_bundle('migrations')"):
            name = f.split("(")[0]
            with self.subTest(function=name):
                self.conn.execute("CREATE VIEW v_%s AS SELECT %s" % (name, f))
                self.assertRefused("SELECT * FROM v_%s" % name, (),
                                   "unsafe use of %s()" % name)
        self.conn.execute("CREATE TRIGGER trg AFTER INSERT ON t BEGIN "
                          "SELECT migrate_to('head'); END")
        self.assertRefused("INSERT INTO t(note) VALUES ('x')", (),
                           "unsafe use of migrate_to()")
        self.assertEqual(self.conn.execute("SELECT count(*) FROM t")
                         .fetchone(), (2,))

    def test_virtual_tables_in_a_view_are_unsafe_use(self):
        for table in ("migrations", "migration_history"):
            with self.subTest(table=table):
                self.conn.execute("CREATE VIEW v_%s AS SELECT * FROM %s"
                                  % (table, table))
                self.assertRefused("SELECT * FROM v_%s" % table, (),
                                   'unsafe use of virtual table "%s"' % table)

    def test_readers_are_allowed_in_a_view(self):
        self.conn.execute("SELECT migrate_to(?)", (MERGE,))
        self.conn.execute("CREATE VIEW status AS SELECT migrate_current() AS "
                          "cur, migrate_version() AS ver")
        self.assertEqual(self.conn.execute("SELECT cur FROM status")
                         .fetchone(), (MERGE,))


class TransactionNoneTest(Base):
    """The example head f05c3b8d2e76 runs PRAGMA journal_mode=WAL outside a
    transaction."""

    def test_autocommit_upgrade_switches_to_wal(self):
        self.assertEqual(self.conn.execute("PRAGMA journal_mode").fetchone(),
                         ("delete",))
        self.assertEqual(self.conn.execute("SELECT migrate_to('head')")
                         .fetchone(), (HEAD,))
        self.assertEqual(self.conn.execute("PRAGMA journal_mode").fetchone(),
                         ("wal",))
        self.assertEqual(versions(self.conn), [HEAD])
        self.assertEqual(len(log_rows(self.conn)), 12)
        self.assertFalse(self.conn.in_transaction)
        # and back
        self.assertEqual(self.conn.execute("SELECT migrate_to('-1')")
                         .fetchone(), (MERGE,))
        self.assertEqual(self.conn.execute("PRAGMA journal_mode").fetchone(),
                         ("delete",))

    def test_refused_inside_the_callers_transaction(self):
        self.conn.execute("BEGIN")
        self.conn.execute("INSERT INTO t(note) VALUES ('in txn')")
        self.assertRefused(
            "SELECT migrate_to('head')", (),
            "migrate_to('head'): revision %s (%s) is marked 'Transaction: "
            "none' and cannot run inside the transaction this call was made "
            "in; COMMIT first and call migrate_to() in autocommit mode. "
            "Nothing was changed" % (HEAD, WAL_FILE))
        self.assertTrue(self.conn.in_transaction)
        self.conn.execute("COMMIT")
        self.assertEqual(self.conn.execute("PRAGMA journal_mode").fetchone(),
                         ("delete",))
        self.assertEqual(self.conn.execute("SELECT count(*) FROM t")
                         .fetchone(), (2,))

    def test_downgrade_through_it_refused_inside_a_transaction(self):
        self.conn.execute("SELECT migrate_to('head')")
        self.conn.execute("BEGIN")
        self.assertRefused(
            "SELECT migrate_to('-1')", (),
            "migrate_to('-1'): revision %s (%s) is marked 'Transaction: "
            "none' and cannot run inside the transaction this call was made "
            "in; COMMIT first and call migrate_to() in autocommit mode. "
            "Nothing was changed" % (HEAD, WAL_FILE))
        self.conn.execute("ROLLBACK")
        self.assertEqual(versions(self.conn), [HEAD])


def tearDownModule():
    close_connections()


if __name__ == "__main__":
    unittest.main()
