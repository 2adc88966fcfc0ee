"""migrate_fixture(): the template path for test fixtures.

A fixture must be exactly the database migrate_to() builds on a fresh
database: the .dump, migrate_version, migrate_scripts, migrate_log (other
than its times), user_version, application_id, page size, encoding,
auto_vacuum and journal mode are compared between the two on the example
history, on histories tools/bench/gen.py generates and on small histories
with branches, merges and dependencies, on first and on later calls.
Where a copy could differ, the call refuses: each refusal is asserted with
its exact message, and the database is checked to be unchanged.
"""

import os
import sqlite3
import subprocess
import sys
import unittest

from helpers import (MIGRATIONS, REPO, TempDir, close_connections, connect,
                     log_rows, run_shell, table_exists, versions,
                     write_revision)

HEAD = "f05c3b8d2e76"
NOTHING = " Nothing was changed"
GEN = os.path.join(REPO, "tools", "bench", "gen.py")


def tearDownModule():
    close_connections()


def state(conn):
    """Everything the two paths must agree on (the log without times)."""
    def q(sql):
        return conn.execute(sql).fetchall()

    scripts = []
    if table_exists(conn, "migrate_scripts"):
        scripts = q("SELECT * FROM migrate_scripts ORDER BY revision")
    return {
        # the log's rows carry times: compared below without them
        "dump": [line for line in conn.iterdump()
                 if not line.startswith('INSERT INTO "migrate_log"')],
        "versions": versions(conn),
        "scripts": scripts,
        "log": log_rows(conn),
        "pragmas": [q("PRAGMA main.%s" % p)[0][0] for p in (
            "user_version", "application_id", "page_size", "encoding",
            "auto_vacuum", "journal_mode")],
        "objects": q("SELECT type, name, tbl_name, sql FROM sqlite_master "
                     "ORDER BY name"),
    }


def fresh(path=":memory:", setup=()):
    conn = connect(path)
    for sql in setup:
        conn.execute(sql)
    return conn


def bundle_of(folder):
    """The bundle BLOB of a folder, as migrate_bundle() returns it."""
    return connect().execute("SELECT migrate_bundle(?)",
                             (folder,)).fetchone()[0]


class self_raises:
    """Context manager: catch the sqlite3.Error the block must raise."""

    def __enter__(self):
        return self

    def __exit__(self, typ, value, tb):
        if typ is None:
            raise AssertionError("no error was raised")
        if not issubclass(typ, sqlite3.Error):
            return False
        self.exception = value
        return True


class SameDatabaseTest(unittest.TestCase):
    """The fixture equals migrate_to() on a fresh database."""

    def compare(self, target, bundle=None, path_pair=None, setup=()):
        """migrate_to and migrate_fixture (twice: building and cached) on
        fresh databases; returns the fixture connection."""
        args = (target,) if bundle is None else (target, bundle)
        sql_to = "SELECT migrate_to(?%s)" % ("" if bundle is None else ", ?")
        sql_fx = sql_to.replace("migrate_to", "migrate_fixture")
        paths = path_pair or (":memory:", ":memory:", ":memory:")
        slow = fresh(paths[0], setup)
        want_version = slow.execute(sql_to, args).fetchone()[0]
        want = state(slow)
        fixtures = []
        for path in paths[1:]:
            conn = fresh(path, setup)
            got_version = conn.execute(sql_fx, args).fetchone()[0]
            self.assertEqual(got_version, want_version)
            got = state(conn)
            for key in want:
                self.assertEqual(got[key], want[key], key)
            # times are fresh, in the format migrate_to() writes
            rows = conn.execute(
                "SELECT started_at, duration_ms FROM migrate_log"
            ).fetchall() if table_exists(conn, "migrate_log") else []
            for started, ms in rows:
                self.assertRegex(started,
                                 r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
                self.assertIsInstance(ms, float)
            fixtures.append(conn)
        return fixtures[-1]

    def test_example_history_head(self):
        conn = self.compare("head")
        self.assertEqual(versions(conn), [HEAD])
        self.assertEqual(len(log_rows(conn)), 12)

    def test_example_history_other_targets(self):
        for target in ("4e92a7c0b6d1", "c6a04f2d9e13", "+3", "base"):
            with self.subTest(target=target):
                self.compare(target)

    def test_example_history_given_as_bundle(self):
        self.compare("head", bundle_of(MIGRATIONS))

    def test_page_size_and_encoding_are_the_destinations(self):
        for setup in (["PRAGMA page_size=8192"],
                      ["PRAGMA encoding='UTF-16le'"],
                      ["PRAGMA auto_vacuum=FULL", "PRAGMA page_size=1024"],
                      ["PRAGMA foreign_keys=ON"],
                      ["PRAGMA recursive_triggers=ON"]):
            with self.subTest(setup=setup):
                conn = self.compare("head", setup=setup)
                if "8192" in setup[0]:
                    self.assertEqual(
                        conn.execute("PRAGMA page_size").fetchone()[0], 8192)

    def test_generated_histories(self):
        with TempDir() as tmp:
            for n in (10, 60):
                out = tmp.path("gen%d" % n)
                subprocess.run([sys.executable, GEN, str(n), out],
                               check=True, capture_output=True)
                blob = bundle_of(os.path.join(out, "migrations"))
                with self.subTest(n=n):
                    conn = self.compare("head", blob)
                    self.assertEqual(len(log_rows(conn)), n)
                    self.compare("+%d" % (n // 2), blob)

    def test_branches_merges_and_dependencies(self):
        with TempDir() as tmp:
            d = tmp.path("m")
            write_revision(d, "a1", upgrade="CREATE TABLE a(x);",
                           downgrade="DROP TABLE a;")
            write_revision(d, "b1", "a1", upgrade="CREATE TABLE b(x);",
                           downgrade="DROP TABLE b;",
                           headers=["Branch Labels: left"])
            write_revision(d, "c1", "a1",
                           upgrade="INSERT INTO a VALUES (1), (2);",
                           downgrade="DELETE FROM a;")
            write_revision(d, "d1", "b1, c1",
                           upgrade="CREATE VIEW v AS SELECT * FROM a, b;",
                           downgrade="DROP VIEW v;")
            write_revision(d, "e1", "", upgrade="CREATE TABLE e(y);",
                           downgrade="DROP TABLE e;",
                           headers=["Depends On: c1"])
            blob = bundle_of(d)
            for target in ("heads", "d1", "left@head", "e1"):
                with self.subTest(target=target):
                    self.compare(target, blob)

    def test_file_destination_and_the_shells_dump(self):
        with TempDir() as tmp:
            out = tmp.path("gen")
            subprocess.run([sys.executable, GEN, "25", out], check=True,
                           capture_output=True)
            blob = bundle_of(os.path.join(out, "migrations"))
            paths = (tmp.path("slow.db"), tmp.path("fx1.db"),
                     tmp.path("fx2.db"))
            self.compare("head", blob, path_pair=paths)
            close_connections()
            dumps = [run_shell(p, ".dump\n").stdout for p in paths]
            strip = [[line for line in d.splitlines()
                      if not line.startswith("INSERT INTO migrate_log")]
                     for d in dumps]
            self.assertGreater(len(strip[0]), 100)
            self.assertEqual(strip[1], strip[0])
            self.assertEqual(strip[2], strip[0])

    def test_log_times_when_a_row_holds_the_marker_text(self):
        # the copy finds the log's started_at texts by a marker; data that
        # holds the same text makes it stamp them with UPDATE instead
        with TempDir() as tmp:
            d = tmp.path("marker")
            write_revision(d, "a1", upgrade=(
                "CREATE TABLE t(x);\n"
                "INSERT INTO t VALUES ('@@migrate_fixture_time@@');"),
                downgrade="DROP TABLE t;")
            conn = self.compare("head", bundle_of(d))
            self.assertEqual(conn.execute("SELECT x FROM t").fetchall(),
                             [("@@migrate_fixture_time@@",)])

    def test_fixtures_pass_integrity_check(self):
        for setup in ([], ["PRAGMA encoding='UTF-16be'"]):
            conn = self.compare("head", setup=setup)
            self.assertEqual(conn.execute("PRAGMA integrity_check").fetchall(),
                             [("ok",)])

    def test_wal_file_destination(self):
        with TempDir() as tmp:
            d = tmp.path("w")
            write_revision(d, "a1", upgrade="CREATE TABLE t(x);\n"
                           "INSERT INTO t VALUES (1), (2);",
                           downgrade="DROP TABLE t;")
            paths = (tmp.path("slow.db"), tmp.path("fx1.db"),
                     tmp.path("fx2.db"))
            conn = self.compare("head", bundle_of(d), path_pair=paths,
                                setup=["PRAGMA journal_mode=WAL"])
            self.assertEqual(conn.execute("PRAGMA journal_mode").fetchone(),
                             ("wal",))
            self.assertEqual(conn.execute("PRAGMA integrity_check").fetchall(),
                             [("ok",)])
            close_connections()

    def test_cached_template_is_reused_for_each_fresh_database(self):
        for _ in range(3):
            self.compare("head")


class RefusalTest(unittest.TestCase):
    """Where a copy could differ, the call refuses and changes nothing."""

    def assertRefused(self, conn, msg, sql="SELECT migrate_fixture('head')",
                      args=()):
        before = list(conn.iterdump())
        with self_raises() as cm:
            conn.execute(sql, args)
        self.assertEqual(str(cm.exception), msg)
        self.assertEqual(list(conn.iterdump()), before)

    def test_database_not_empty(self):
        conn = fresh()
        conn.execute("CREATE TABLE mine(x)")
        self.assertRefused(
            conn,
            "migrate_fixture('head'): the database is not empty (1 schema "
            "objects, user_version 0, application_id 0); a fixture is "
            "copied only into a new, empty database. Use migrate_to('head') "
            "to migrate this one." + NOTHING)

    def test_user_version_or_application_id_set(self):
        conn = fresh()
        conn.execute("PRAGMA user_version=7")
        conn.execute("PRAGMA application_id=42")
        self.assertRefused(
            conn,
            "migrate_fixture('head'): the database is not empty (0 schema "
            "objects, user_version 7, application_id 42); a fixture is "
            "copied only into a new, empty database. Use migrate_to('head') "
            "to migrate this one." + NOTHING)

    def test_already_migrated(self):
        conn = fresh()
        conn.execute("SELECT migrate_fixture('head')")
        with self_raises() as cm:
            conn.execute("SELECT migrate_fixture('head')")
        self.assertTrue(str(cm.exception).startswith(
            "migrate_fixture('head'): the database is not empty ("))

    def test_callers_transaction(self):
        conn = fresh()
        conn.execute("BEGIN")
        self.assertRefused(
            conn,
            "migrate_fixture('head'): called inside a transaction; a fixture "
            "replaces the whole database, which cannot be done inside one. "
            "COMMIT first, or use migrate_to('head')." + NOTHING)
        conn.execute("ROLLBACK")

    def test_another_active_statement(self):
        conn = fresh()
        conn.execute("CREATE TEMP TABLE t(x)")
        conn.execute("INSERT INTO t VALUES (1), (2)")
        cur = conn.execute("SELECT x FROM t")
        cur.fetchone()
        with self_raises() as cm:
            conn.execute("SELECT migrate_fixture('head')")
        self.assertEqual(
            str(cm.exception),
            "migrate_fixture('head'): must run as a statement of its own, e.g. "
            "SELECT migrate_fixture(...); another statement on this "
            "connection is still active (an unfinished SELECT, or a call "
            "inside INSERT ... SELECT, a trigger or a CHECK); finish or "
            "reset it first. Nothing was changed")
        cur.close()

    def test_null_target_and_bad_bundle_argument(self):
        conn = fresh()
        self.assertRefused(
            conn,
            "migrate_fixture(): target is NULL; give head, heads, base, a "
            "revision, +N or -N",
            "SELECT migrate_fixture(NULL)")
        self.assertRefused(
            conn,
            "migrate_fixture(): the bundle argument must be the BLOB that "
            "migrate_bundle() returns, e.g. migrate_fixture('head', "
            "migrate_bundle('migrations')); got text",
            "SELECT migrate_fixture('head', 'migrations')")

    def test_transaction_none_revision_into_a_file(self):
        with TempDir() as tmp:
            conn = fresh(tmp.path("t.db"))
            self.assertRefused(
                conn,
                "migrate_fixture('head'): revision f05c3b8d2e76 "
                "(f05c3b8d2e76_switch_to_wal_journal_mode.sql) is marked "
                "'Transaction: none': it may change the database file itself "
                "(PRAGMA journal_mode), which a copy does not carry, so its "
                "fixture is copied only into an in-memory or temporary "
                "database (':memory:' or ''). Use migrate_to('head') on this "
                "file." + NOTHING)
            # below that revision the same file takes the fixture
            self.assertEqual(conn.execute(
                "SELECT migrate_fixture('4e92a7c0b6d1')").fetchone()[0],
                "4e92a7c0b6d1")
            conn.close()

    def test_transaction_none_revision_into_a_temporary_database(self):
        slow, fx = fresh(""), fresh("")
        slow.execute("SELECT migrate_to('head')")
        fx.execute("SELECT migrate_fixture('head')")
        self.assertEqual(state(fx), state(slow))

    def history(self, tmp, upgrade, rid="bad1", headers=()):
        d = tmp.path("h-" + rid)
        write_revision(d, "ok1", upgrade="CREATE TABLE t(x, y);",
                       downgrade="DROP TABLE t;")
        write_revision(d, rid, "ok1", upgrade=upgrade, downgrade="SELECT 1;",
                       headers=headers)
        return bundle_of(d)

    def refusal_for(self, upgrade, what, rid="bad1", headers=()):
        with TempDir() as tmp:
            blob = self.history(tmp, upgrade, rid, headers)
            for _ in range(2):  # building, then from the cache
                conn = fresh()
                self.assertRefused(
                    conn,
                    "migrate_fixture('head'): " + what + " Use "
                    "migrate_to('head')." + NOTHING,
                    "SELECT migrate_fixture('head', ?)", (blob,))
            # the slow path still works
            self.assertEqual(fresh().execute(
                "SELECT migrate_to('head', ?)", (blob,)).fetchone()[0], rid)

    def test_clock_reads(self):
        clock = ("revision bad1 (bad1_rev.sql) reads the clock (a date or "
                 "time function with 'now', or CURRENT_TIMESTAMP), so a copy "
                 "would not be the database migrate_to() builds.")
        for sql in ("INSERT INTO t VALUES (datetime('now'), 1);",
                    "INSERT INTO t VALUES (CURRENT_TIMESTAMP, 1);",
                    "INSERT INTO t VALUES (strftime('%s'), 1);",
                    "INSERT INTO t VALUES (julianday(), 1);",
                    "CREATE TABLE u(a, b DEFAULT (datetime('now')));\n"
                    "INSERT INTO u(a) VALUES (1);"):
            with self.subTest(sql=sql):
                self.refusal_for(sql, clock)

    def test_dates_without_now_are_deterministic(self):
        with TempDir() as tmp:
            blob = self.history(
                tmp, "INSERT INTO t VALUES (datetime('2020-01-02', '+1 day'),"
                " julianday('2000-01-01'));\n"
                "CREATE TABLE u(a, b DEFAULT (datetime('now')));")
            slow, fx = fresh(), fresh()
            slow.execute("SELECT migrate_to('head', ?)", (blob,))
            fx.execute("SELECT migrate_fixture('head', ?)", (blob,))
            self.assertEqual(state(fx), state(slow))
            self.assertEqual(fx.execute("SELECT * FROM t").fetchall(),
                             [("2020-01-03 00:00:00", 2451544.5)])

    def test_random(self):
        for sql in ("INSERT INTO t VALUES (random(), 1);",
                    "INSERT INTO t VALUES (hex(randomblob(4)), 1);"):
            with self.subTest(sql=sql):
                self.refusal_for(
                    sql, "revision bad1 (bad1_rev.sql) calls random() or "
                    "randomblob(), so a copy would not be the database "
                    "migrate_to() builds.")

    def test_random_in_a_trigger_fired_by_a_later_revision(self):
        with TempDir() as tmp:
            d = tmp.path("trig")
            write_revision(d, "a1", upgrade=(
                "CREATE TABLE t(x);\nCREATE TABLE u(r);\n"
                "CREATE TRIGGER tr AFTER INSERT ON t BEGIN\n"
                "  INSERT INTO u VALUES (random());\nEND;"),
                downgrade="DROP TABLE u; DROP TABLE t;")
            write_revision(d, "b1", "a1", upgrade="INSERT INTO t VALUES (1);",
                           downgrade="DELETE FROM t;")
            blob = bundle_of(d)
            conn = fresh()
            self.assertRefused(
                conn,
                "migrate_fixture('head'): revision b1 (b1_rev.sql) calls "
                "random() or randomblob(), so a copy would not be the "
                "database migrate_to() builds. Use migrate_to('head')."
                + NOTHING,
                "SELECT migrate_fixture('head', ?)", (blob,))
            # up to a1 nothing random ran: that fixture is fine
            self.assertEqual(conn.execute(
                "SELECT migrate_fixture('a1', ?)", (blob,)).fetchone()[0],
                "a1")

    def test_temp_objects(self):
        self.refusal_for(
            "CREATE TEMP TABLE scratch(x);",
            "the revisions leave TEMP objects on the connection, which a "
            "copy of the database does not carry.")

    def test_attached_database(self):
        self.refusal_for(
            "ATTACH ':memory:' AS aux;",
            "the revisions leave an attached database on the connection, "
            "which a copy of the database does not carry.",
            headers=["Transaction: none"])

    def test_connection_settings(self):
        # recursive_triggers, legacy_alter_table, foreign_keys and
        # defer_foreign_keys come back when the call returns; others stay
        self.refusal_for(
            "PRAGMA reverse_unordered_selects=ON;",
            "the revisions change a setting of the connection (a PRAGMA "
            "such as reverse_unordered_selects), which a copy of the "
            "database does not carry.")

    def test_failing_script_fails_as_migrate_to(self):
        with TempDir() as tmp:
            blob = self.history(tmp, "INSERT INTO nowhere VALUES (1);")
            slow, fx = fresh(), fresh()
            with self_raises() as a:
                slow.execute("SELECT migrate_to('head', ?)", (blob,))
            before = list(fx.iterdump())
            with self_raises() as b:
                fx.execute("SELECT migrate_fixture('head', ?)", (blob,))
            self.assertEqual(
                str(b.exception),
                str(a.exception).replace("migrate_to(", "migrate_fixture("))
            self.assertIn("no such table: nowhere", str(b.exception))
            self.assertEqual(list(fx.iterdump()), before)

    def test_foreign_key_violation_fails_as_migrate_to(self):
        with TempDir() as tmp:
            d = tmp.path("fk")
            write_revision(d, "a1", upgrade=(
                "CREATE TABLE p(id INTEGER PRIMARY KEY);\n"
                "CREATE TABLE c(p REFERENCES p(id));\n"
                "INSERT INTO c VALUES (7);"), downgrade="SELECT 1;")
            blob = bundle_of(d)
            on = ["PRAGMA foreign_keys=ON"]
            slow, fx = fresh(setup=on), fresh(setup=on)
            with self_raises() as a:
                slow.execute("SELECT migrate_to('head', ?)", (blob,))
            with self_raises() as b:
                fx.execute("SELECT migrate_fixture('head', ?)", (blob,))
            self.assertIn("FOREIGN KEY constraint failed", str(a.exception))
            self.assertEqual(
                str(b.exception),
                str(a.exception).replace("migrate_to(", "migrate_fixture("))
            self.assertEqual(fx.execute(
                "SELECT count(*) FROM sqlite_master").fetchone()[0], 0)
            # without enforcement both succeed, with the same database
            slow, fx = fresh(), fresh()
            slow.execute("SELECT migrate_to('head', ?)", (blob,))
            fx.execute("SELECT migrate_fixture('head', ?)", (blob,))
            self.assertEqual(state(fx), state(slow))


class RegistrationTest(unittest.TestCase):

    def test_argument_counts(self):
        conn = fresh()
        for sql in ("SELECT migrate_fixture()",
                    "SELECT migrate_fixture('head', NULL, 3)"):
            with self_raises() as cm:
                conn.execute(sql)
            self.assertEqual(
                str(cm.exception),
                "wrong number of arguments to function migrate_fixture()")

    def test_not_from_a_view(self):
        conn = fresh()
        conn.execute("CREATE VIEW v AS SELECT migrate_fixture('head')")
        with self_raises() as cm:
            conn.execute("SELECT * FROM v")
        self.assertEqual(str(cm.exception),
                         "unsafe use of migrate_fixture()")


# A loadable module reaches sqlite3_serialize() only from SQLite 3.39 (the
# API table of an older library has no such slot): there the fixture path
# is refused, and that refusal is what is tested.
if sqlite3.sqlite_version_info < (3, 39, 0):
    del SameDatabaseTest, RefusalTest

    class UnavailableTest(unittest.TestCase):

        def test_refused_naming_the_version(self):
            conn = fresh()
            with self_raises() as cm:
                conn.execute("SELECT migrate_fixture('head')")
            self.assertEqual(
                str(cm.exception),
                "migrate_fixture('head'): this SQLite (%s) does not offer "
                "sqlite3_serialize() to this build (a loadable module needs "
                "SQLite 3.39 or newer); use migrate_to('head')." % (
                    sqlite3.sqlite_version) + NOTHING)
            self.assertEqual(
                conn.execute("SELECT count(*) FROM sqlite_master").fetchone(),
                (0,))


if __name__ == "__main__":
    unittest.main()
