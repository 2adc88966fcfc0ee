"""A SQLite older than the supported range (3.34) is refused when the module
loads, naming both versions: in the sqlite3 shell, in Python, and in the
sqlite-migrate program (static library) started against an older
libsqlite3.so.0.

Run by tools/sqlite-versions.sh (make test-sqlite-versions), which builds
SQLite 3.31.1 and this project against 3.34's headers:

    OLD_SQLITE=build/sqlite-versions/3.31.1 \\
    BUILT_TREE=build/sqlite-versions/3.34.0/tree \\
        /usr/bin/python3 tests/versions/test_old_sqlite.py
"""
import os
import subprocess
import sys
import tempfile
import unittest

OLD = os.environ.get("OLD_SQLITE", "")
TREE = os.environ.get("BUILT_TREE", "")
REFUSAL = ("migrate needs SQLite 3.34.0 or newer, this is SQLite 3.31.1: use "
           "a newer libsqlite3 (or link one in)")


@unittest.skipUnless(OLD and TREE, "set OLD_SQLITE and BUILT_TREE (make "
                     "test-sqlite-versions does)")
class OldSqliteRefused(unittest.TestCase):
    def env(self):
        return dict(os.environ, LD_LIBRARY_PATH=os.path.join(OLD, "lib"))

    def test_shell_load_refused(self):
        p = subprocess.run(
            [os.path.join(OLD, "bin", "sqlite3"), ":memory:",
             "SELECT sqlite_version();",
             ".load " + os.path.join(TREE, "build", "migrate")],
            capture_output=True, text=True, env=self.env())
        self.assertEqual((p.returncode, p.stdout, p.stderr),
                         (1, "3.31.1\n", "Error: error during initialization: "
                          + REFUSAL + "\n"))

    def test_python_load_refused(self):
        code = ("import sqlite3\n"
                "print(sqlite3.sqlite_version)\n"
                "c = sqlite3.connect(':memory:')\n"
                "c.enable_load_extension(True)\n"
                "try:\n"
                "    c.load_extension(%r)\n"
                "except sqlite3.OperationalError as e:\n"
                "    print(e)\n"
                "print(c.execute(\"SELECT count(*) FROM pragma_function_list "
                "WHERE name LIKE 'migrate%%'\").fetchone()[0])\n"
                % os.path.join(TREE, "build", "migrate"))
        p = subprocess.run([sys.executable, "-c", code], capture_output=True,
                           text=True, env=self.env())
        self.assertEqual((p.stdout, p.stderr),
                         ("3.31.1\nerror during initialization: " + REFUSAL
                          + "\n0\n", ""))

    def test_program_refuses_old_library(self):
        with tempfile.TemporaryDirectory() as tmp:
            db = os.path.join(tmp, "app.db")
            p = subprocess.run(
                [os.path.join(TREE, "build", "sqlite-migrate"), "-d", db,
                 "upgrade"], capture_output=True, text=True, env=self.env())
            self.assertEqual(
                (p.returncode, p.stdout, p.stderr),
                (1, "", "FAILED: cannot use database %s: %s\n" % (db, REFUSAL)))


if __name__ == "__main__":
    unittest.main(verbosity=2)
