"""tools/python/sqlite_migrate.py, the importable helper, and its pytest
fixture example (tools/python/example), each run from a directory outside the
repository so nothing depends on the working directory.

The "cannot load extensions" error is checked with a real interpreter that
lacks enable_load_extension (pyenv's default build) when one is on PATH;
without one that test is not defined and the reason is printed.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
HELPER_DIR = os.path.join(REPO, "tools", "python")
EXAMPLE = os.path.join(HELPER_DIR, "example")
HEAD = "f05c3b8d2e76"
# migrate_fixture serves a loadable module from SQLite 3.39 on (it needs
# sqlite3_serialize in the extension API); before that the helper falls
# back to migrate_to
FIXTURE_PATH = __import__("sqlite3").sqlite_version_info >= (3, 39, 0)
PYTHON = os.environ.get("PYTHON", "/usr/bin/python3")


def run_python(code, python=PYTHON, env=None):
    """Run code under python in a scratch directory with the helper on
    PYTHONPATH; (exit status, stdout, stderr)."""
    full = dict(os.environ, PYTHONPATH=HELPER_DIR)
    full.pop("MIGRATE_SO", None)
    full.update(env or {})
    with tempfile.TemporaryDirectory() as tmp:
        p = subprocess.run([python, "-c", code], cwd=tmp, env=full,
                           capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def python_without_extensions():
    """A python3 on PATH whose sqlite3 cannot load extensions, or None."""
    seen = set()
    for d in os.environ.get("PATH", "").split(os.pathsep):
        exe = os.path.join(d, "python3")
        if not os.access(exe, os.X_OK):
            continue
        real = os.path.realpath(exe)
        if real in seen:
            continue
        seen.add(real)
        p = subprocess.run(
            [exe, "-c", "import sqlite3; print(hasattr(sqlite3.Connection, "
             "'enable_load_extension'))"], capture_output=True, text=True)
        if p.returncode == 0 and p.stdout.strip() == "False":
            return exe
    return None


NO_EXT_PYTHON = python_without_extensions()


class HelperTest(unittest.TestCase):
    def test_connect_migrates_to_head_from_anywhere(self):
        rc, out, err = run_python(
            "import sqlite_migrate\n"
            "c = sqlite_migrate.connect()\n"
            "print(c.execute('SELECT migrate_current()').fetchone()[0])\n"
            "print(sqlite_migrate.find_module())\n")
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(out, "%s\n%s\n" % (
            HEAD, os.path.join(REPO, "build", "migrate.so")))

    def test_target_and_steps(self):
        rc, out, err = run_python(
            "import sqlite_migrate\n"
            "c = sqlite_migrate.connect(target='9a39eb7fd78f')\n"
            "print(sqlite_migrate.migrate(c, '+1'))\n"
            "print(sqlite_migrate.migrate(c, 'base'))\n"
            "c2 = sqlite_migrate.connect(target=None)\n"
            "print(c2.execute('SELECT migrate_current()').fetchone()[0])\n")
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(out, "e4b7c2a91d05\nNone\nNone\n")

    def test_file_database_and_fresh_database(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "app.db")
            rc, out, err = run_python(
                "import sqlite_migrate\n"
                "c = sqlite_migrate.connect(%r, target='+2')\n"
                "c.close()\n"
                "c = sqlite_migrate.connect(%r)\n"
                "print(c.execute(\"SELECT version_num FROM migrate_version\")"
                ".fetchall())\n"
                "f = sqlite_migrate.fresh_database('3c8e5f21a7b4')\n"
                "print(f.execute('PRAGMA database_list').fetchone()[2] == '')\n"
                % (path, path))
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(out, "[('%s',)]\nTrue\n" % HEAD)

    def test_fresh_database_copies_the_template(self):
        # a copy made by the backup API has schema_version = the
        # destination's (0) + 1; migrate_to counts every schema change
        rc, out, err = run_python(
            "import sqlite_migrate\n"
            "print(sqlite_migrate.fixture_available())\n"
            "dbs = [sqlite_migrate.fresh_database() for _ in range(3)]\n"
            "slow = sqlite_migrate.connect()\n"
            "q = lambda c, sql: c.execute(sql).fetchall()\n"
            "dump = lambda c: [l for l in c.iterdump()\n"
            "                  if not l.startswith('INSERT INTO \"migrate_log')]"
            "\n"
            "for c in dbs:\n"
            "    print(q(c, 'PRAGMA schema_version'),"
            " q(c, 'SELECT migrate_current()'))\n"
            "    print(dump(c) == dump(slow))\n"
            "print(q(slow, 'PRAGMA schema_version')[0][0] > 1)\n")
        self.assertEqual((rc, err), (0, ""))
        if not FIXTURE_PATH:
            # before SQLite 3.39 a loadable module cannot serialize: the
            # helper migrates each database (schema_version counts every
            # change), and says so through fixture_available()
            self.assertEqual(out.splitlines()[0], "False")
            self.assertEqual(out.count("[('%s',)]\nTrue\n" % HEAD), 3)
            return
        # the same database but for the log's times (test_template.py
        # compares those rows too)
        self.assertEqual(out, "True\n" + ("[(1,)] [('%s',)]\nTrue\n" % HEAD)
                         * 3 + "True\n")

    def test_template_outlives_closed_databases(self):
        # SQLite unloads the module (and its templates) when the last
        # connection that loaded it closes; the helper keeps one open, so a
        # test that closes its database does not make the next one rebuild.
        # A copy carries the durations the build measured.
        rc, out, err = run_python(
            "import sqlite_migrate\n"
            "ms = []\n"
            "for _ in range(3):\n"
            "    c = sqlite_migrate.fresh_database()\n"
            "    ms.append(c.execute('SELECT group_concat(duration_ms) FROM "
            "(SELECT duration_ms FROM migrate_log ORDER BY id)').fetchone())\n"
            "    c.close()\n"
            "print(ms[0] == ms[1] == ms[2], ms[0][0].count(',') + 1)\n")
        self.assertEqual((rc, err), (0, ""))
        # before SQLite 3.39 each database is migrated: its own durations
        self.assertEqual(out.split()[1], "12")
        if FIXTURE_PATH:
            self.assertEqual(out, "True 12\n")

    def test_fresh_database_falls_back_to_migrate_to(self):
        # a file and a 'Transaction: none' revision: migrate_fixture refuses,
        # so the helper migrates; the file gets WAL as migrate_to gives it
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "app.db")
            rc, out, err = run_python(
                "import sqlite_migrate\n"
                "c = sqlite_migrate.fresh_database('head', %r)\n"
                "print(c.execute('SELECT migrate_current()').fetchone()[0])\n"
                "print(c.execute('PRAGMA journal_mode').fetchone()[0])\n"
                "print(c.execute('PRAGMA schema_version').fetchone()[0] > 1)\n"
                "c.close()\n"
                "c = sqlite_migrate.fresh_database('head', %r)\n"
                "print(c.execute('SELECT count(*) FROM migrate_log')"
                ".fetchone()[0])\n" % (path, path))
        self.assertEqual((rc, err), (0, ""))
        # the second call: not empty, so migrate_to, which has nothing to do
        self.assertEqual(out, "%s\nwal\nTrue\n12\n" % HEAD)

    def test_fresh_database_script_failure_raises(self):
        rc, out, err = run_python(
            "import sqlite3, sqlite_migrate\n"
            "try:\n"
            "    sqlite_migrate.fresh_database('nosuch')\n"
            "except sqlite3.OperationalError as e:\n"
            "    print(e)\n")
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(out, "%s('nosuch'): No such revision or branch "
                         "'nosuch'\n" % ("migrate_fixture" if FIXTURE_PATH
                                          else "migrate_to"))

    def test_migrate_so_overrides_and_missing_module_is_named(self):
        fw1 = os.path.join(REPO, "build", "fw1", "migrate")
        rc, out, err = run_python(
            "import sqlite_migrate\n"
            "print(sqlite_migrate.find_module())\n"
            "print(sqlite_migrate.connect().execute("
            "'SELECT count(*) FROM migrations').fetchone()[0])\n",
            env={"MIGRATE_SO": fw1})
        self.assertEqual((rc, out, err), (0, fw1 + ".so\n2\n", ""))
        rc, out, err = run_python(
            "import sqlite_migrate\n"
            "try:\n"
            "    sqlite_migrate.connect()\n"
            "except sqlite_migrate.ModuleNotFound as e:\n"
            "    print(e)\n", env={"MIGRATE_SO": "/nonexistent/migrate"})
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(
            out,
            "the sqlite-migrate extension (migrate.so) was not found; looked "
            "at /nonexistent/migrate.so. Build it with `make` in the source "
            "tree, install it with `make install`, or set MIGRATE_SO to its "
            "path\n")

    def test_pytest_fixture_example(self):
        probe = subprocess.run([PYTHON, "-m", "pytest", "--version"],
                               capture_output=True, text=True)
        self.assertEqual(probe.returncode, 0,
                         "pytest is missing for %s: install python3-pytest "
                         "(make test does, see tools/deps.sh)" % PYTHON)
        with tempfile.TemporaryDirectory() as tmp:
            p = subprocess.run(
                [PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                 EXAMPLE], cwd=tmp, capture_output=True, text=True,
                env=dict(os.environ, PYTHONPATH=HELPER_DIR,
                         PYTHONDONTWRITEBYTECODE="1"))
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertRegex(p.stdout, r"(?m)^4 passed in ")


if NO_EXT_PYTHON:
    class NoExtensionsTest(unittest.TestCase):
        def test_error_says_why_and_what_to_use(self):
            rc, out, err = run_python(
                "import sqlite_migrate\n"
                "try:\n"
                "    sqlite_migrate.connect()\n"
                "except sqlite_migrate.ExtensionsUnavailable as e:\n"
                "    print(e)\n", python=NO_EXT_PYTHON)
            self.assertEqual((rc, err), (0, ""))
            self.assertEqual(
                out,
                "this Python's sqlite3 module cannot load extensions (it was "
                "built without --enable-loadable-sqlite-extensions, as pyenv "
                "does by default), so migrate.so cannot be loaded. Use a "
                "Python that can, such as Debian's or Ubuntu's "
                "/usr/bin/python3, or rebuild this one with "
                "PYTHON_CONFIGURE_OPTS=--enable-loadable-sqlite-extensions; "
                "or migrate the file with the command line: sqlite-migrate -d "
                "DATABASE upgrade head\n")
else:
    sys.stderr.write("test_sqlite_migrate_helper: no python3 without "
                     "enable_load_extension on PATH, so the "
                     "ExtensionsUnavailable test is not run\n")


if __name__ == "__main__":
    unittest.main()
