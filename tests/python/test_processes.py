"""Two processes migrating the same file (ext/README.md, "Concurrency"): the
engine takes the write lock before it reads the version, honouring the busy
timeout, so no revision is applied twice.

Each child process waits for a "go" file, then calls migrate_to() once and
prints the result (or the error) as JSON.
"""

import collections
import json
import os
import sqlite3
import subprocess
import sys
import time
import unittest

from helpers import (HERE, TempDir, close_connections, connect, log_rows,
                     snapshot, versions, write_revision)

HEAD = "f05c3b8d2e76"

CHILD = r"""
import json, os, sys, time
from helpers import connect
db, go, folder = sys.argv[1], sys.argv[2], sys.argv[3]
conn = connect(db, timeout=30)
deadline = time.time() + 30
while not os.path.exists(go) and time.time() < deadline:
    time.sleep(0.001)
try:
    if folder:
        row = conn.execute("SELECT migrate_to('head', migrate_bundle(?))",
                           (folder,)).fetchone()
    else:
        row = conn.execute("SELECT migrate_to('head')").fetchone()
    print(json.dumps({"result": row[0]}))
except Exception as e:
    print(json.dumps({"error": str(e)}))
"""


def race(db, folder="", n=2):
    """Start n processes on db, release them together, return their JSON."""
    go = db + ".go"
    env = dict(os.environ)
    env["PYTHONPATH"] = HERE + os.pathsep + env.get("PYTHONPATH", "")
    procs = [subprocess.Popen([sys.executable, "-c", CHILD, db, go, folder],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=env) for _ in range(n)]
    time.sleep(0.3)  # let both load the extension and open the file
    with open(go, "w"):
        pass
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=120)
        if p.returncode != 0 or not stdout.strip():
            out.append({"crash": "exit %d: %s" % (p.returncode,
                                                  stderr[-1000:])})
        else:
            out.append(json.loads(stdout))
    os.unlink(go)
    return out


class ConcurrencyTest(unittest.TestCase):

    maxDiff = None

    def setUp(self):
        self.tmp = TempDir()
        self.addCleanup(self.tmp.cleanup)

    def test_two_processes_migrate_one_file(self):
        for round_ in range(3):
            with self.subTest(round=round_):
                db = self.tmp.path("race%d.db" % round_)
                self.assertEqual(race(db), [{"result": HEAD}] * 2)
                conn = sqlite3.connect(db)
                counts = collections.Counter(
                    (r[1], r[2]) for r in log_rows(conn))
                self.assertEqual(len(counts), 12)
                self.assertEqual(set(counts.values()), {1})
                self.assertEqual(versions(conn), [HEAD])
                self.assertEqual(conn.execute("PRAGMA journal_mode")
                                 .fetchone(), ("wal",))
                conn.close()

    def test_transaction_none_revision_runs_once(self):
        """b2 runs outside a transaction; while it runs the other process
        must not be able to decide to run it as well."""
        folder = self.tmp.path("m")
        write_revision(folder, "a1", "", "CREATE TABLE t(x);\n"
                       "INSERT INTO t VALUES ('a1 ran');", "DROP TABLE t;")
        # a slow read gives the other process time to look at the version
        write_revision(folder, "b2", "a1", "INSERT INTO t VALUES ('b2 ran');"
                       "\nSELECT count(*) FROM (WITH RECURSIVE r(i) AS "
                       "(SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < "
                       "2000000) SELECT i FROM r);",
                       "DELETE FROM t WHERE x = 'b2 ran';",
                       headers=["Transaction: none"])
        db = self.tmp.path("none.db")
        results = race(db, folder)
        conn = sqlite3.connect(db)
        self.assertEqual(
            (results, conn.execute("SELECT x FROM t ORDER BY rowid")
             .fetchall(), [r[1:3] for r in log_rows(conn)], versions(conn)),
            ([{"result": "b2"}] * 2, [("a1 ran",), ("b2 ran",)],
             [("a1", "upgrade"), ("b2", "upgrade")], ["b2"]))

    def test_write_lock_taken_by_another_connection(self):
        db = self.tmp.path("locked.db")
        holder = sqlite3.connect(db, isolation_level=None)
        holder.execute("CREATE TABLE x(y)")
        conn = connect(db, timeout=0)
        before = snapshot(conn)
        holder.execute("BEGIN IMMEDIATE")
        message = ("migrate_to('head'): cannot take the write lock: database "
                   "is locked (another connection is writing and the busy "
                   "timeout expired or is not set; PRAGMA busy_timeout sets "
                   "it)")
        with self.assertRaises(sqlite3.OperationalError) as cm:
            conn.execute("SELECT migrate_to('head')")
        self.assertEqual(str(cm.exception), message)
        self.assertEqual(cm.exception.sqlite_errorname, "SQLITE_BUSY")
        # with a busy timeout it waits that long before giving up
        waiting = connect(db, timeout=0.3)
        t0 = time.monotonic()
        with self.assertRaises(sqlite3.OperationalError) as cm:
            waiting.execute("SELECT migrate_to('head')")
        self.assertGreaterEqual(time.monotonic() - t0, 0.25)
        self.assertEqual(str(cm.exception), message)
        holder.execute("ROLLBACK")
        self.assertEqual(snapshot(conn), before)
        # and once the lock is free it goes through
        self.assertEqual(conn.execute("SELECT migrate_to('head')").fetchone(),
                         (HEAD,))


def tearDownModule():
    close_connections()


if __name__ == "__main__":
    unittest.main()
