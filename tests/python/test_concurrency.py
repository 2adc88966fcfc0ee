"""Locking (issue #4 item 6; ext/README.md, "Concurrency"): eight real processes call
migrate_to('head') on one database file at the same moment.  The engine
takes the write lock (BEGIN IMMEDIATE, honouring the busy timeout) before it
reads the version, so each revision is applied exactly once and every
process succeeds."""
import os
import sqlite3
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SO = os.environ.get("MIGRATE_SO", os.path.join(ROOT, "build", "migrate"))
N_REV = 40
N_PROC = 8

WORKER = r"""
import sqlite3, sys, time
db, so, folder, start = sys.argv[1:5]
conn = sqlite3.connect(db, timeout=60, isolation_level=None)
conn.enable_load_extension(True)
conn.load_extension(so)
while time.time() < float(start):
    time.sleep(0.001)
print(conn.execute("SELECT migrate_to('head', migrate_bundle(?))",
                   (folder,)).fetchone()[0])
"""


def write_history(folder):
    for i in range(N_REV):
        rid = "r%03d" % i
        parent = "r%03d" % (i - 1) if i else ""
        with open(os.path.join(folder, rid + "_step.sql"), "w") as f:
            f.write(
                "-- step %d\n--\n-- Revision ID: %s\n-- Revises: %s\n\n"
                "-- migrate:upgrade\n"
                "CREATE TABLE t%d (id INTEGER PRIMARY KEY, v TEXT);\n"
                "INSERT INTO t%d(v) SELECT hex(randomblob(64)) FROM "
                "(WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c "
                "WHERE x < 200) SELECT x FROM c);\n"
                "INSERT INTO counter VALUES (%d);\n\n"
                "-- migrate:downgrade\nDROP TABLE t%d;\n"
                "DELETE FROM counter WHERE rev = %d;\n"
                % (i, rid, parent, i, i, i, i, i))


class ConcurrentMigrations(unittest.TestCase):
    def test_eight_processes_apply_each_revision_once(self):
        import time
        with tempfile.TemporaryDirectory() as d:
            folder = os.path.join(d, "migrations")
            os.mkdir(folder)
            write_history(folder)
            db = os.path.join(d, "shared.db")
            conn = sqlite3.connect(db)
            # a table outside the history counts how often each script ran
            conn.execute("CREATE TABLE counter (rev INTEGER)")
            conn.commit()
            conn.close()
            start = "%f" % (time.time() + 1.0)
            procs = [subprocess.Popen(
                [sys.executable, "-c", WORKER, db, SO, folder, start],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for _ in range(N_PROC)]
            results = [p.communicate(timeout=120) for p in procs]
            for p, (out, err) in zip(procs, results):
                self.assertEqual((p.returncode, err), (0, ""))
                self.assertEqual(out, "r%03d\n" % (N_REV - 1))

            conn = sqlite3.connect(db)
            self.assertEqual(
                conn.execute("SELECT rev, count(*) FROM counter GROUP BY rev "
                             "HAVING count(*) <> 1").fetchall(), [])
            self.assertEqual(
                conn.execute("SELECT count(*) FROM counter").fetchone()[0],
                N_REV)
            log = conn.execute(
                "SELECT revision FROM migrate_log WHERE direction = 'upgrade' "
                "ORDER BY id").fetchall()
            self.assertEqual([r[0] for r in log],
                             ["r%03d" % i for i in range(N_REV)])
            self.assertEqual(
                conn.execute("SELECT version_num FROM migrate_version")
                .fetchall(), [("r%03d" % (N_REV - 1),)])
            self.assertEqual(
                conn.execute("PRAGMA integrity_check").fetchone()[0], "ok")
            conn.close()


if __name__ == "__main__":
    unittest.main()
