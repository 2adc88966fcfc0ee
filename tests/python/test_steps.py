"""Targets and the other functions: downgrades, relative steps,
irreversible revisions, migrate_stamp(), migrate_check(), a database at a
revision the bundle does not know, and the integrity promises of ext/README.md
("What the database holds", "Atomicity") (checksums of applied revisions, stored downgrade scripts).

Each refusal asserts the exact message and that nothing changed.
"""

import os
import shutil
import sqlite3
import unittest

from helpers import (MIGRATIONS, TempDir, close_connections, connect,
                     log_rows, read_folder, run_shell, schema_rows, snapshot,
                     table_exists, versions, write_revision)

REVS = read_folder(MIGRATIONS)
HEAD = "f05c3b8d2e76"
MERGE = "4e92a7c0b6d1"
BRANCH_POINT = "7b5e0d3f8c21"
HEAD_ORDER = [
    "3c8e5f21a7b4", "5d21b7e0c9a3", "1f0c2a7d44e0", "9a39eb7fd78f",
    "e4b7c2a91d05", "7b5e0d3f8c21", "c6a04f2d9e13", "d8f3b15c7a42",
    "2a6f9c4e1b87", "b3d18e7a5f60", "4e92a7c0b6d1", "f05c3b8d2e76",
]
BASE_TABLES = {"migrate_version", "migrate_log", "migrate_scripts"}
UNKNOWN = ("%s: the database is at revision '%s', which the bundle does not "
           "know%s; use the bundle that applied it (or migrate_stamp() to a "
           "revision this bundle has)")
NOT_STORED = " and migrate_scripts does not hold"


def downgrade_log(order, applied, first_id):
    """migrate_log rows (without times) for un-applying `order` from the
    applied set `applied`: the version table keeps the applied revisions
    nothing applied builds on (ext/README.md, "Targets and Alembic parity")."""
    applied = set(applied)

    def heads():
        built_on = {p for r in applied
                    for p in REVS[r]["parents"] + REVS[r]["depends"]}
        return ",".join(sorted(applied - built_on)) or None

    out = []
    for i, rid in enumerate(order):
        before = heads()
        applied.discard(rid)
        out.append((first_id + i, rid, "downgrade", before, heads(),
                    REVS[rid]["checksum"]))
    return out


def user_tables(conn):
    return {r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'")} - BASE_TABLES


class Base(unittest.TestCase):

    maxDiff = None

    def setUp(self):
        self.tmp = TempDir()
        self.addCleanup(self.tmp.cleanup)
        self.conn = connect(self.tmp.path("app.db"))

    def to(self, target, folder=None):
        if folder:
            return self.conn.execute(
                "SELECT migrate_to(?, migrate_bundle(?))",
                (target, folder)).fetchone()[0]
        return self.conn.execute("SELECT migrate_to(?)",
                                 (target,)).fetchone()[0]

    def assertRefused(self, sql, args, message):
        before = snapshot(self.conn)
        with self.assertRaises(sqlite3.Error) as cm:
            self.conn.execute(sql, args).fetchall()
        self.assertEqual(str(cm.exception), message)
        self.assertEqual(snapshot(self.conn), before)


class DowngradeTest(Base):

    def test_head_to_base(self):
        self.to("head")
        self.assertEqual(self.to("base"), None)
        self.assertEqual(versions(self.conn), [])
        self.assertEqual(user_tables(self.conn), set())
        self.assertEqual(
            self.conn.execute("SELECT count(*) FROM sqlite_master WHERE "
                              "type IN ('view', 'trigger', 'index') AND "
                              "sql IS NOT NULL").fetchone(), (0,))
        self.assertEqual(self.conn.execute("PRAGMA journal_mode").fetchone(),
                         ("delete",))
        self.assertEqual(log_rows(self.conn)[12:],
                         downgrade_log(HEAD_ORDER[::-1], HEAD_ORDER, 13))
        # the stored copies go with the applied revisions
        self.assertEqual(self.conn.execute(
            "SELECT count(*) FROM migrate_scripts").fetchone(), (0,))

    def test_head_to_a_revision(self):
        self.to("head")
        self.assertEqual(self.to(BRANCH_POINT), BRANCH_POINT)
        self.assertEqual(versions(self.conn), [BRANCH_POINT])
        self.assertEqual(user_tables(self.conn), {
            "contexts", "conversations", "prompts", "user_preferences"})
        self.assertEqual(log_rows(self.conn)[12:], downgrade_log(
            HEAD_ORDER[:5:-1], HEAD_ORDER, 13))
        self.assertEqual(self.conn.execute(
            "SELECT revision FROM migrate_scripts ORDER BY 1").fetchall(),
            [(r,) for r in sorted(HEAD_ORDER[:6])])

    def test_downgrade_one_branch_keeps_the_other(self):
        self.to("b3d18e7a5f60")
        self.to("d8f3b15c7a42")
        self.assertEqual(versions(self.conn),
                         ["b3d18e7a5f60", "d8f3b15c7a42"])
        # 2a6f's descendants go; the audit branch stays
        self.assertEqual(self.to("c6a04f2d9e13"),
                         "b3d18e7a5f60,c6a04f2d9e13")
        self.assertEqual(self.to("2a6f9c4e1b87"),
                         "2a6f9c4e1b87,c6a04f2d9e13")
        self.assertTrue(table_exists(self.conn, "audit_log"))
        self.assertTrue(table_exists(self.conn, "prompt_search"))

    def test_relative_steps(self):
        steps = [("+1", "3c8e5f21a7b4"), ("+2", "1f0c2a7d44e0"),
                 ("-1", "5d21b7e0c9a3"), ("3c8e5f21a7b4+2", "1f0c2a7d44e0"),
                 ("1f0c2a7d44e0-1", "5d21b7e0c9a3"),
                 (BRANCH_POINT, BRANCH_POINT),
                 ("search@+1", "2a6f9c4e1b87"),
                 ("audit@+1", "2a6f9c4e1b87,c6a04f2d9e13"),
                 ("audit@+1", "2a6f9c4e1b87,d8f3b15c7a42"),
                 ("search@head", HEAD), ("-1", MERGE),
                 ("b3d18e7a5f60-1", "2a6f9c4e1b87,d8f3b15c7a42"),
                 ("audit@-1", "2a6f9c4e1b87,c6a04f2d9e13")]
        for target, result in steps:
            with self.subTest(target=target):
                self.assertEqual(self.to(target), result)
                self.assertEqual(versions(self.conn), result.split(","))

    def test_relative_steps_refused(self):
        self.to(BRANCH_POINT)
        self.assertRefused(
            "SELECT migrate_to('+1')", (),
            "migrate_to('+1'): Ambiguous walk: revision 7b5e0d3f8c21 is a "
            "branch point with children (2a6f9c4e1b87, c6a04f2d9e13); name a "
            "revision or a branch ('<branchname>@+1')")
        self.to(MERGE)
        self.assertRefused(
            "SELECT migrate_to('-1')", (),
            "migrate_to('-1'): Ambiguous walk: revision 4e92a7c0b6d1 is a "
            "merge point of (b3d18e7a5f60, d8f3b15c7a42); name a revision or "
            "a branch ('<branchname>@-1')")
        self.to("base")
        self.assertRefused(
            "SELECT migrate_to('-1')", (),
            "migrate_to('-1'): Relative revision -1 didn't produce 1 "
            "migrations (the database is at base)")
        self.to("+1")
        self.assertRefused(
            "SELECT migrate_to('-5')", (),
            "migrate_to('-5'): Relative revision -5 didn't produce 5 "
            "migrations")

    def test_several_heads_and_minus_one(self):
        """The same heads give the same message, whichever order the rows
        of migrate_version were written in (sorted, as in every other
        message that lists heads)."""
        message = ("migrate_to('-1'): Relative revision -1 is ambiguous: the "
                   "database has several heads (2a6f9c4e1b87, d8f3b15c7a42); "
                   "use '<revision>-1' or '<branchname>@-1'")
        for first, second in (("2a6f9c4e1b87", "d8f3b15c7a42"),
                              ("d8f3b15c7a42", "2a6f9c4e1b87")):
            with self.subTest(first=first):
                self.to("base")
                self.to(first)
                self.to(second)
                self.assertRefused("SELECT migrate_to('-1')", (), message)

    def test_unknown_targets(self):
        self.to(BRANCH_POINT)
        self.assertRefused(
            "SELECT migrate_to('x7')", (),
            "migrate_to('x7'): No such revision or branch 'x7'; please "
            "ensure at least four characters are present for partial "
            "revision identifier matches")
        self.assertRefused(
            "SELECT migrate_to('deadbeef')", (),
            "migrate_to('deadbeef'): No such revision or branch 'deadbeef'")
        self.assertRefused(
            "SELECT migrate_to('nosuch@head')", (),
            "migrate_to('nosuch@head'): No such branch: 'nosuch'")
        # a unique prefix works
        self.assertEqual(self.to("2a6f"), "2a6f9c4e1b87")

    def test_irreversible_revision(self):
        folder = self.tmp.path("m")
        write_revision(folder, "a1", "", "CREATE TABLE q(x);", "DROP TABLE q;")
        write_revision(folder, "b2", "a1", "INSERT INTO q VALUES (1);")
        write_revision(folder, "c3", "b2", "CREATE TABLE r(x);",
                       "DROP TABLE r;")
        self.assertEqual(self.to("head", folder), "c3")
        for target in ("base", "a1", "-2"):
            with self.subTest(target=target):
                self.assertRefused(
                    "SELECT migrate_to(?, migrate_bundle(?))",
                    (target, folder),
                    "migrate_to('%s'): revision b2 (b2_rev.sql) has no "
                    "'-- migrate:downgrade' section, so it cannot be "
                    "downgraded; nothing was changed" % target)
        self.assertRefused(
            "SELECT migrate_sql('base', migrate_bundle(?))", (folder,),
            "migrate_sql('base'): revision b2 (b2_rev.sql) has no "
            "'-- migrate:downgrade' section, so it cannot be downgraded; "
            "nothing was changed")
        # down to it is fine, and so is a stamp past it
        self.assertEqual(self.to("b2", folder), "b2")
        self.assertEqual(self.conn.execute(
            "SELECT migrate_stamp('base', migrate_bundle(?))", (folder,))
            .fetchone(), (None,))
        self.assertTrue(table_exists(self.conn, "q"))


class StampTest(Base):

    def test_stamp_runs_no_script(self):
        self.assertEqual(self.conn.execute(
            "SELECT migrate_stamp(?)", (BRANCH_POINT,)).fetchone(),
            (BRANCH_POINT,))
        self.assertEqual(versions(self.conn), [BRANCH_POINT])
        self.assertEqual(user_tables(self.conn), set())
        self.assertEqual(log_rows(self.conn), [
            (1, BRANCH_POINT, "stamp", None, BRANCH_POINT,
             REVS[BRANCH_POINT]["checksum"])])
        self.assertEqual(self.conn.execute(
            "SELECT count(*) FROM migrations WHERE is_applied").fetchone(),
            (6,))
        self.assertEqual(self.conn.execute(
            "SELECT revision FROM migrate_scripts ORDER BY 1").fetchall(),
            [(r,) for r in sorted(HEAD_ORDER[:6])])

    def test_stamp_then_upgrade_runs_only_the_rest(self):
        folder = self.tmp.path("m")
        write_revision(folder, "a1", "", "CREATE TABLE a(x);",
                       "DROP TABLE a;")
        write_revision(folder, "b2", "a1", "INSERT INTO a VALUES ('b2');",
                       "DELETE FROM a;")
        self.conn.execute("CREATE TABLE a(x)")  # made before migrations
        self.conn.execute("SELECT migrate_stamp('a1', migrate_bundle(?))",
                          (folder,))
        self.assertEqual(self.to("head", folder), "b2")
        self.assertEqual(self.conn.execute("SELECT x FROM a").fetchall(),
                         [("b2",)])
        self.assertEqual([r[1:3] for r in log_rows(self.conn)],
                         [("a1", "stamp"), ("b2", "upgrade")])

    def test_stamp_down_base_and_heads(self):
        folder = self.tmp.path("m")
        write_revision(folder, "a1", "", "SELECT 1;", "SELECT 1;")
        write_revision(folder, "b2", "a1", "SELECT 1;", "SELECT 1;")
        write_revision(folder, "c3", "a1", "SELECT 1;", "SELECT 1;")
        revs = read_folder(folder)

        def stamp(target):
            return self.conn.execute(
                "SELECT migrate_stamp(?, migrate_bundle(?))",
                (target, folder)).fetchone()[0]

        self.assertEqual(stamp("heads"), "b2,c3")
        self.assertEqual(stamp("a1"), "a1")
        self.assertEqual(stamp("base"), None)
        self.assertEqual(versions(self.conn), [])
        self.assertEqual(log_rows(self.conn), [
            (1, "b2", "stamp", None, "b2,c3", revs["b2"]["checksum"]),
            (2, "c3", "stamp", None, "b2,c3", revs["c3"]["checksum"]),
            (3, "a1", "stamp", "b2,c3", "a1", revs["a1"]["checksum"]),
            (4, None, "stamp", "a1", None, None),
        ])
        self.assertRefused(
            "SELECT migrate_stamp('head', migrate_bundle(?))", (folder,),
            "migrate_stamp('head'): Multiple head revisions are present for "
            "given argument 'head'; please specify a specific target "
            "revision, '<branchname>@head' to narrow to a specific head, or "
            "'heads' for all heads (heads: b2, c3)")


class CheckTest(Base):

    def pending(self, revisions):
        return "\n".join("pending: %s (%s) is not applied"
                         % (r, REVS[r]["message"]) for r in revisions)

    def check(self):
        return self.conn.execute("SELECT migrate_check()").fetchone()[0]

    def test_pending_revisions_are_listed_in_history_order(self):
        self.assertEqual(self.check(), self.pending(HEAD_ORDER))
        self.to("2a6f9c4e1b87")
        self.assertEqual(self.check(), self.pending(
            [r for r in HEAD_ORDER[6:] if r != "2a6f9c4e1b87"]))
        self.to("head")
        self.assertIsNone(self.check())
        # migrate_check() reads only: it created nothing at base either
        fresh = connect()
        fresh.execute("SELECT migrate_check()")
        self.assertEqual(snapshot(fresh)["dump"],
                         ["BEGIN TRANSACTION;", "COMMIT;"])

    def test_check_with_a_folder(self):
        folder = self.tmp.path("m")
        write_revision(folder, "a1", "", "SELECT 1;", "SELECT 1;",
                       message="First")
        write_revision(folder, "b2", "a1", "SELECT 1;", "SELECT 1;",
                       message="Second")
        self.to("a1", folder)
        self.assertEqual(self.conn.execute(
            "SELECT migrate_check(migrate_bundle(?))", (folder,)).fetchone(),
            ("pending: b2 (Second) is not applied",))
        self.to("head", folder)
        self.assertEqual(self.conn.execute(
            "SELECT migrate_check(migrate_bundle(?))", (folder,)).fetchone(),
            (None,))


class UnknownRevisionTest(Base):
    """The database says it is at a revision the bundle does not know."""

    def setUp(self):
        super().setUp()
        self.to(BRANCH_POINT)
        self.conn.execute("UPDATE migrate_version SET version_num = 'zz9'")

    def test_every_function_refuses_and_names_it(self):
        for sql, func, why in (
                ("SELECT migrate_to('head')", "migrate_to('head')",
                 NOT_STORED),
                ("SELECT migrate_to('base')", "migrate_to('base')",
                 NOT_STORED),
                ("SELECT migrate_sql('head')", "migrate_sql('head')",
                 NOT_STORED),
                ("SELECT migrate_check()", "migrate_check", "")):
            with self.subTest(sql=sql):
                self.assertRefused(sql, (), UNKNOWN % (func, "zz9", why))

    def test_readers_still_answer(self):
        self.assertEqual(self.conn.execute("SELECT migrate_current()")
                         .fetchone(), ("zz9",))
        self.assertEqual(self.conn.execute(
            "SELECT sum(is_current), sum(is_applied) FROM migrations")
            .fetchone(), (0, 0))

    def test_stamp_recovers_as_the_message_advises(self):
        """The refusal says 'or migrate_stamp() to a revision this bundle
        has'; that advice must work."""
        self.assertEqual(self.conn.execute(
            "SELECT migrate_stamp(?)", (BRANCH_POINT,)).fetchone(),
            (BRANCH_POINT,))
        self.assertEqual(versions(self.conn), [BRANCH_POINT])


class IntegrityTest(Base):
    """README.md, "Safety" (checksums) and ext/README.md, "What the database
    holds" (stored scripts)."""

    def setUp(self):
        super().setUp()
        self.v1 = self.tmp.path("v1")
        write_revision(self.v1, "a1", "", "CREATE TABLE a(x);",
                       "DROP TABLE a;", message="Create a")
        write_revision(self.v1, "b2", "a1", "INSERT INTO a VALUES (1);",
                       "DELETE FROM a;", message="Fill a")
        self.old_sum = read_folder(self.v1)["a1"]["checksum"]

    def edit_a1(self):
        # changes the checksum, not the schema (so migrate_check shows no
        # drift besides the checksum)
        write_revision(self.v1, "a1", "", "CREATE TABLE a(x); -- edited",
                       "DROP TABLE a;", message="Create a")
        self.new_sum = read_folder(self.v1)["a1"]["checksum"]
        self.assertNotEqual(self.old_sum, self.new_sum)

    def edited(self, call):
        return ("%s: revision a1 (a1_rev.sql) was applied with checksum %s "
                "but the bundle's script now has checksum %s: its upgrade "
                "section was edited after it ran. Nothing was changed. "
                "Restore the script, or accept the edit with SELECT "
                "migrate_stamp('a1')" % (call, self.old_sum, self.new_sum))

    def test_history_shows_a_changed_checksum(self):
        self.to("a1", self.v1)
        self.edit_a1()
        self.assertEqual(self.conn.execute(
            "SELECT revision, checksum, checksum_ok FROM migration_history("
            "migrate_bundle(?))", (self.v1,)).fetchall(),
            [("a1", self.old_sum, 0)])

    def test_changed_applied_revision_is_refused(self):
        self.to("a1", self.v1)
        self.edit_a1()
        for target in ("head", "base"):
            with self.subTest(target=target):
                self.assertRefused(
                    "SELECT migrate_to(?, migrate_bundle(?))",
                    (target, self.v1),
                    self.edited("migrate_to('%s')" % target))

    def test_offline_script_is_refused_like_the_online_call(self):
        """migrate_sql() is 'the exact SQL script migrate_to would run';
        migrate_to refuses, so there is no such script."""
        self.to("a1", self.v1)
        self.edit_a1()
        self.assertRefused("SELECT migrate_sql('head', migrate_bundle(?))",
                           (self.v1,), self.edited("migrate_sql('head')"))

    def test_restamped_revision_is_accepted(self):
        self.to("a1", self.v1)
        self.edit_a1()
        self.assertEqual(self.conn.execute(
            "SELECT migrate_stamp('a1', migrate_bundle(?))", (self.v1,))
            .fetchone(), ("a1",))
        self.assertEqual(self.to("head", self.v1), "b2")
        self.assertEqual(self.conn.execute(
            "SELECT revision, direction, checksum_ok FROM migration_history("
            "migrate_bundle(?))", (self.v1,)).fetchall(),
            [("a1", "upgrade", 0), ("a1", "stamp", 1), ("b2", "upgrade", 1)])

    def test_check_reports_a_changed_checksum(self):
        self.to("head", self.v1)
        self.edit_a1()
        self.assertEqual(self.conn.execute(
            "SELECT migrate_check(migrate_bundle(?))", (self.v1,)).fetchone(),
            ("checksum: a1 (a1_rev.sql) was applied with checksum %s, the "
             "bundle's script has %s" % (self.old_sum, self.new_sum),))

    def newer_bundle(self):
        """v2 = v1 + c3; the database is upgraded to c3 with v2."""
        v2 = self.tmp.path("v2")
        shutil.copytree(self.v1, v2)
        write_revision(v2, "c3", "b2", "CREATE TABLE c(x);",
                       "DROP TABLE c;", message="Create c")
        self.assertEqual(self.to("head", v2), "c3")
        return v2

    def test_downgrade_with_the_stored_script_of_an_unknown_revision(self):
        """A newer bundle applied c3; the older bundle (v1) does not know
        it, but the database kept c3's parents and downgrade script, so
        migrate_to('b2') with v1 can undo it (ext/README.md, "What the database holds")."""
        v2 = self.newer_bundle()
        self.assertEqual(self.to("b2", self.v1), "b2")
        self.assertEqual(versions(self.conn), ["b2"])
        self.assertFalse(table_exists(self.conn, "c"))
        self.assertEqual(log_rows(self.conn)[-1],
                         (4, "c3", "downgrade", "c3", "b2",
                          read_folder(v2)["c3"]["checksum"]))

    def test_offline_downgrade_with_a_stored_script(self):
        """migrate_sql() must give the script migrate_to() runs in the same
        situation: the sqlite3 shell running it on a copy of the database
        gets what migrate_to() gets."""
        self.newer_bundle()
        before = snapshot(self.conn)
        script = self.conn.execute(
            "SELECT migrate_sql('b2', migrate_bundle(?))",
            (self.v1,)).fetchone()[0]
        self.assertEqual(snapshot(self.conn), before)
        self.assertIn("-- Running downgrade c3 -> b2, Create c\n"
                      "DROP TABLE c;\n", script)
        copy = self.tmp.path("copy.db")
        shutil.copyfile(self.tmp.path("app.db"), copy)
        p = run_shell(copy, script)
        self.assertEqual((p.returncode, p.stdout, p.stderr), (0, "", ""))
        self.assertEqual(self.to("b2", self.v1), "b2")
        offline = sqlite3.connect(copy)
        self.assertEqual(schema_rows(offline), schema_rows(self.conn))
        self.assertEqual(versions(offline), ["b2"])
        self.assertEqual(log_rows(offline), log_rows(self.conn))

    def test_migrations_table_knows_what_a_stored_revision_builds_on(self):
        """At c3 (unknown to v1, stored with its parents), a1 and b2 are
        applied."""
        self.newer_bundle()
        self.assertEqual(self.conn.execute(
            "SELECT revision, is_current, is_applied FROM "
            "migrations(migrate_bundle(?))", (self.v1,)).fetchall(),
            [("a1", 0, 1), ("b2", 0, 1)])
        self.assertEqual(self.conn.execute(
            "SELECT revision, message, checksum_ok FROM migration_history("
            "migrate_bundle(?))", (self.v1,)).fetchall(),
            [("a1", "Create a", 1), ("b2", "Fill a", 1), ("c3", None, None)])


def tearDownModule():
    close_connections()


if __name__ == "__main__":
    unittest.main()
