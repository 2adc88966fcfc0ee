"""Progress lines tell the truth: a step's "Running ..." line is printed once
its transaction commits, and a failing run prints the steps it rolled back as
"Rolled back ..." before the error.

The history: a1 -> b2 -> c3 (Transaction: none) -> d4 -> e5, and a1's
downgrade fails.  "downgrade base" commits e5 and d4 together with c3 (the
engine commits the steps before a "Transaction: none" step), then runs b2 in
a new transaction that a1's failure rolls back.
"""
import os
import re
import sqlite3
import unittest

from shell_support import Tmp, run

REVISIONS = [
    ("a1", "", "", "Create t", "CREATE TABLE t (x);", "DROP TABLE no_such_table;"),
    ("b2", "a1", "", "Create u", "CREATE TABLE u (x);", "DROP TABLE u;"),
    ("c3", "b2", "-- Transaction: none\n", "Journal in WAL",
     "PRAGMA journal_mode=WAL;", "PRAGMA journal_mode=DELETE;"),
    ("d4", "c3", "", "Create v", "CREATE TABLE v (x);", "DROP TABLE v;"),
    ("e5", "d4", "", "Create w", "CREATE TABLE w (x);", "DROP TABLE w;"),
]


def write_history(folder):
    os.makedirs(folder)
    for rev, down, extra, message, up_sql, down_sql in REVISIONS:
        with open(os.path.join(folder, rev + ".sql"), "w") as f:
            f.write("-- %s\n--\n-- Revision ID: %s\n-- Revises: %s\n%s\n"
                    "-- migrate:upgrade\n%s\n\n-- migrate:downgrade\n%s\n"
                    % (message, rev, down, extra, up_sql, down_sql))


def timing_free(text):
    return re.sub(r"\(\d+ ms\)", "(N ms)", text)


class ProgressTest(unittest.TestCase):
    def test_failed_downgrade_names_the_rolled_back_steps(self):
        with Tmp() as tmp:
            folder = os.path.join(tmp, "hist")
            write_history(folder)
            db = os.path.join(tmp, "app.db")
            p = run(["--dir", folder, "-d", db, "upgrade"], cwd=tmp)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(timing_free(p.stderr),
                             "Running upgrade  -> a1, Create t (N ms)\n"
                             "Running upgrade a1 -> b2, Create u (N ms)\n"
                             "Running upgrade b2 -> c3, Journal in WAL (N ms)\n"
                             "Running upgrade c3 -> d4, Create v (N ms)\n"
                             "Running upgrade d4 -> e5, Create w (N ms)\n")
            p = run(["--dir", folder, "-d", db, "downgrade", "base"], cwd=tmp)
            self.assertEqual(p.returncode, 1)
            self.assertEqual(p.stdout, "")
            self.assertEqual(
                timing_free(p.stderr),
                "Running downgrade e5 -> d4, Create w (N ms)\n"
                "Running downgrade d4 -> c3, Create v (N ms)\n"
                "Running downgrade c3 -> b2, Journal in WAL (N ms)\n"
                "Rolled back downgrade b2 -> a1, Create u\n"
                "FAILED: downgrade('base'): downgrade of a1 (Create t) failed "
                "at a1.sql:10: no such table: no_such_table [statement: DROP "
                "TABLE no_such_table;]; the steps committed before the "
                "failure stay done: downgrade e5, downgrade d4, downgrade c3; "
                "the database is at version b2; the rest was rolled back; "
                "fix what failed and call again: it continues from version "
                "b2\n")
            conn = sqlite3.connect(db)
            try:
                self.assertEqual(
                    conn.execute("SELECT name FROM sqlite_master WHERE name IN "
                                 "('t', 'u', 'v', 'w') ORDER BY 1").fetchall(),
                    [("t",), ("u",)])
                self.assertEqual(conn.execute("SELECT version_num FROM "
                                              "migrate_version").fetchall(),
                                 [("b2",)])
            finally:
                conn.close()


if __name__ == "__main__":
    unittest.main()
