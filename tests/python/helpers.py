"""Shared helpers for the Python tests of the migrate extension.

Every test loads the REAL build/migrate.so (MIGRATE_SO overrides the path,
without or with the suffix) into Debian's /usr/bin/python3 sqlite3 module and
works on real files in temporary folders.

    from helpers import connect, TempDir, write_revision, snapshot
    with TempDir() as tmp:
        conn = connect(tmp.path("test.db"))
        conn.execute("SELECT migrate_to('head')")

Nothing here knows the engine's internals: the expected values the tests use
come from the revision files themselves (parse_script), from README.md and ext/README.md, or are
written out in the test.
"""

import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
EXTENSION = os.environ.get("MIGRATE_SO", os.path.join(REPO, "build", "migrate"))
MIGRATIONS = os.path.join(REPO, "migrations")
SQLITE3 = os.environ.get("SQLITE3", "sqlite3")

# sqlite3.h function flags, as pragma_function_list shows them
SQLITE_DETERMINISTIC = 0x000000800
SQLITE_DIRECTONLY = 0x000080000
SQLITE_INNOCUOUS = 0x000200000


def makefile_version():
    """VERSION from the Makefile: what migrate_version() must return."""
    with open(os.path.join(REPO, "Makefile")) as f:
        m = re.search(r"^VERSION\s*:?=\s*(\S+)\s*$", f.read(), re.M)
    return m.group(1)


def extension_problem():
    """None when the extension loads, else a message saying what to do."""
    if not hasattr(sqlite3.Connection, "enable_load_extension"):
        return ("this Python's sqlite3 module was built without extension "
                "loading (enable_load_extension); use /usr/bin/python3")
    if not any(os.path.isfile(EXTENSION + suffix)
               for suffix in ("", ".so", ".dylib", ".dll")):
        return ("the migrate extension was not found at %s(.so): build it "
                "with `make` (build/migrate.so) or point MIGRATE_SO at it"
                % EXTENSION)
    return None


# Connections with the extension loaded, so that close_connections() can
# close them.  SQLite loads an extension with RTLD_GLOBAL: while one stays
# open, its symbols are in the process's global scope, and another build of
# the module loaded later (tests/fixtures/fw1, fw2) binds to them.
_OPEN = []


def close_connections():
    """Close every connection connect() opened (use as tearDownModule, so a
    module's connections do not outlive it and leave the .so loaded)."""
    while _OPEN:
        _OPEN.pop().close()


def connect(path=":memory:", isolation_level=None, timeout=5.0, load=True):
    """A connection with the extension loaded.  isolation_level=None by
    default: the tests write BEGIN/COMMIT themselves."""
    problem = extension_problem()
    if problem:
        raise AssertionError(problem)
    conn = sqlite3.connect(path, isolation_level=isolation_level,
                           timeout=timeout)
    if load:
        conn.enable_load_extension(True)
        conn.load_extension(EXTENSION)
        conn.enable_load_extension(False)
        _OPEN.append(conn)
    return conn


class TempDir:
    """A temporary folder removed on exit; path(*parts) joins inside it."""

    def __init__(self):
        self.root = tempfile.mkdtemp(prefix="migrate-test-")

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    def cleanup(self):
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()


# ---------------------------------------------------------------------------
# Writing revision scripts

def revision_text(rid, revises="", upgrade="SELECT 1;", downgrade=None,
                  message=None, headers=(), newline="\n"):
    """One revision script (README.md, "Revision scripts").  revises: "" for a base, an id,
    or "a, b".  headers: extra "Key: value" strings.  downgrade None means no
    downgrade section (an irreversible revision)."""
    lines = [
        "-- %s" % (message if message is not None else "rev %s" % rid),
        "--",
        "-- Revision ID: %s" % rid,
        ("-- Revises: %s" % revises).rstrip(),
    ]
    lines += ["-- %s" % h for h in headers]
    lines += ["", "-- migrate:upgrade"] + upgrade.rstrip("\n").split("\n")
    if downgrade is not None:
        lines += ["", "-- migrate:downgrade"] + downgrade.rstrip("\n").split("\n")
    return newline.join(lines) + newline


def write_revision(folder, rid, revises="", upgrade="SELECT 1;",
                   downgrade=None, message=None, headers=(), slug="rev",
                   newline="\n"):
    """Write <folder>/<rid>_<slug>.sql; returns the file name."""
    os.makedirs(folder, exist_ok=True)
    name = "%s_%s.sql" % (rid, slug)
    with open(os.path.join(folder, name), "w", newline="") as f:
        f.write(revision_text(rid, revises, upgrade, downgrade, message,
                              headers, newline))
    return name


# ---------------------------------------------------------------------------
# Reading revision scripts, independently of the engine

def parse_script(path):
    """The parts of a well-formed revision script that the tests compare
    with the engine: id, parents, message, create_date, labels, depends,
    transaction_none, upgrade, downgrade (None when absent), checksum.

    The checksum is the one README.md ("Revision scripts") defines: zlib CRC-32 of the upgrade section
    (the text after the '-- migrate:upgrade' line up to the next directive
    line or the end) with CRLF/CR normalized to LF and a BOM dropped."""
    with open(path, "rb") as f:
        raw = f.read()
    return parse_text(raw, os.path.basename(path))


def parse_text(raw, file):
    """parse_script() of the bytes raw, as if read from a file so named."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    text = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n").decode("utf-8")
    lines = text.split("\n")
    header = []
    for line in lines:
        if not line.startswith("--"):
            break
        header.append(line[2:].strip())
    keys = {}
    for h in header[1:]:
        if ":" in h and not h.lower().startswith("migrate:"):
            k, v = h.split(":", 1)
            keys[k.strip().lower()] = v.strip()

    def split_list(v):
        v = (v or "").strip()
        if v in ("", "None"):
            return []
        return [x.strip() for x in v.split(",")]

    sections = {}
    current = None
    pos = 0
    for line in text.split("\n"):
        start = pos
        pos += len(line) + 1
        m = re.match(r"^--\s*migrate:(\w+)\s*$", line)
        if m:
            if current:
                sections[current] = (sections[current][0], start)
            current = m.group(1).lower()
            sections[current] = (min(pos, len(text)), None)
    if current:
        sections[current] = (sections[current][0], len(text))
    up = text[sections["upgrade"][0]:sections["upgrade"][1]]
    down = None
    if "downgrade" in sections:
        down = text[sections["downgrade"][0]:sections["downgrade"][1]]
    return {
        "file": file,
        "id": keys["revision id"],
        "parents": split_list(keys.get("revises")),
        "message": header[0],
        "create_date": keys.get("create date") or None,
        "labels": split_list(keys.get("branch labels")),
        "depends": split_list(keys.get("depends on")),
        "transaction_none": keys.get("transaction", "").lower() == "none",
        "upgrade": up,
        "downgrade": down,
        "checksum": "%08x" % (zlib.crc32(up.encode("utf-8")) & 0xffffffff),
    }


def read_folder(folder):
    """parse_script() for every *.sql of a folder but schema.sql (a
    declared schema, which the bundler skips): {id: revision}."""
    out = {}
    for name in sorted(os.listdir(folder)):
        if name.endswith(".sql") and name != "schema.sql":
            r = parse_script(os.path.join(folder, name))
            out[r["id"]] = r
    return out


# ---------------------------------------------------------------------------
# Looking at a database

def table_exists(conn, name):
    return conn.execute("SELECT count(*) FROM sqlite_master WHERE type = "
                        "'table' AND name = ?", (name,)).fetchone()[0] == 1


def rows(conn, sql, args=()):
    return conn.execute(sql, args).fetchall()


def versions(conn):
    """migrate_version rows, sorted; [] when the table does not exist."""
    if not table_exists(conn, "migrate_version"):
        return []
    return [r[0] for r in conn.execute(
        "SELECT version_num FROM migrate_version ORDER BY 1")]


def log_rows(conn):
    """migrate_log rows without the time columns (started_at, duration_ms),
    in id order; [] when the table does not exist."""
    if not table_exists(conn, "migrate_log"):
        return []
    return conn.execute(
        "SELECT id, revision, direction, version_before, version_after, "
        "checksum FROM migrate_log ORDER BY id").fetchall()


def full_log_rows(conn):
    if not table_exists(conn, "migrate_log"):
        return []
    return conn.execute("SELECT * FROM migrate_log ORDER BY id").fetchall()


def snapshot(conn):
    """Everything a migrate_to() call may change, for before/after
    comparisons: the .dump, schema_version, version and log rows."""
    return {
        "dump": list(conn.iterdump()),
        "schema_version": conn.execute("PRAGMA schema_version").fetchone()[0],
        "versions": versions(conn),
        "log": full_log_rows(conn),
    }


def schema_rows(conn):
    """sqlite_schema rows (type, name, tbl_name, sql) in a stable order."""
    return conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master "
                        "ORDER BY type, name").fetchall()


# ---------------------------------------------------------------------------
# Other processes

def run_shell(db, script, timeout=60):
    """Feed script to the real sqlite3 shell on db (cwd = repo root);
    returns the CompletedProcess (text)."""
    return subprocess.run([SQLITE3, "-batch", db], input=script, cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)


def run_python(code, *args, timeout=120):
    """Run code in a fresh Python (the one running the tests) with helpers
    importable; returns the CompletedProcess (text).  For calls that might
    crash the process: a crash then fails one test instead of the suite."""
    env = dict(os.environ)
    env["PYTHONPATH"] = HERE + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-c", code] + list(args),
                          capture_output=True, text=True, timeout=timeout,
                          env=env, cwd=REPO)


def describe_exit(p):
    """'exit 0' or 'killed by signal 11 (SIGSEGV)' for a CompletedProcess."""
    if p.returncode >= 0:
        return "exit %d" % p.returncode
    import signal
    try:
        name = signal.Signals(-p.returncode).name
    except ValueError:
        name = "?"
    return "killed by signal %d (%s)" % (-p.returncode, name)
