"""What the tests of tests/shell/ share: running build/sqlite-migrate.

    from shell_support import REPO, SHELL, run, Tmp
    p = run(["history"], cwd=tmp)          # CompletedProcess, text mode
    p = run(["-d", "a.db", "upgrade"], cwd=tmp, env={"DATABASE_URL": ...})

Every run is checked for sanitizer reports: under `make SANITIZE=1` the program
is built with AddressSanitizer and UBSan, and leaks count (detect_leaks=1 for
the program itself, whatever the test runner set for the Python process). A
report on stderr fails the test that ran the command.
"""

import os
import re
import shutil
import sqlite3
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SHELL = os.environ.get("SQLITE_MIGRATE", os.path.join(REPO, "build", "sqlite-migrate"))
EXTENSION = os.environ.get("MIGRATE_SO", os.path.join(REPO, "build", "migrate"))
EXAMPLE = os.path.join(REPO, "migrations")
FIXTURES = os.path.join(HERE, "fixtures")

SANITIZER_REPORT = re.compile(
    r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: \w+Sanitizer")

USAGE_LINE = re.compile(r"^usage: sqlite-migrate ", re.M)


class SanitizerReport(AssertionError):
    pass


def program_env(extra=None, drop=()):
    """The environment for the program: no database settings unless given."""
    env = dict(os.environ)
    for name in ("MIGRATE_DATABASE", "DATABASE_URL") + tuple(drop):
        env.pop(name, None)
    # the program is instrumented itself; the runtime preloaded into the
    # Python/sqlite3 hosts is not needed, and leaks must be reported
    env.pop("LD_PRELOAD", None)
    env["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=0"
    env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
    if extra:
        env.update(extra)
    return env


def run(args, cwd, env=None, input=None):
    """Run sqlite-migrate with args; fail on any sanitizer report."""
    if not os.path.exists(SHELL):
        raise AssertionError("%s is missing: build it with `make`" % SHELL)
    p = subprocess.run([SHELL] + list(args), cwd=cwd, env=program_env(env),
                       capture_output=True, text=True, input=input)
    if SANITIZER_REPORT.search(p.stderr):
        raise SanitizerReport("sanitizer report for %r:\n%s" % (args, p.stderr))
    return p


class Tmp:
    """A scratch folder (context manager)."""

    def __enter__(self):
        self.path = tempfile.mkdtemp(prefix="sqlite-migrate-test-")
        return self.path

    def __exit__(self, *exc):
        shutil.rmtree(self.path)


def copy_folder(src, dst):
    shutil.copytree(src, dst)
    return dst


def db_rows(path, sql, params=()):
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def versions(path):
    """The rows of migrate_version, sorted ([] when the table is missing)."""
    conn = sqlite3.connect(path)
    try:
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'migrate_version'"
                            ).fetchone():
            return []
        return [r[0] for r in conn.execute(
            "SELECT version_num FROM migrate_version ORDER BY 1")]
    finally:
        conn.close()


def snapshot(path, skip_log_times=True):
    """Schema, every table's rows, in a comparable form. migrate_log's start
    times and durations are left out (they differ between any two runs)."""
    conn = sqlite3.connect(path)
    try:
        schema = conn.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master "
            "WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name").fetchall()
        data = {}
        for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"):
            cols = [r[1] for r in conn.execute('PRAGMA table_info("%s")' % name)]
            if name == "migrate_log" and skip_log_times:
                cols = [c for c in cols if c not in ("id", "started_at", "duration_ms")]
            data[name] = sorted(
                conn.execute('SELECT %s FROM "%s"' % (
                    ", ".join('"%s"' % c for c in cols), name)).fetchall(),
                key=repr)
        return schema, data
    finally:
        conn.close()


def extension_available():
    conn = sqlite3.connect(":memory:")
    try:
        conn.enable_load_extension(True)
        conn.load_extension(EXTENSION)
        return True
    except (AttributeError, sqlite3.Error):
        return False
    finally:
        conn.close()
