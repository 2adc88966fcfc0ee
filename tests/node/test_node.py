"""The README's Node.js example (tests/node/example.js) with better-sqlite3 12,
against build/migrate.so.

better-sqlite3 is installed once into build/node (NODE_CACHE overrides), from
the npm registry: its prebuilt binaries live elsewhere, so npm compiles it
against the local Node headers (about two minutes, once).  Without node and
npm the test is not defined and the reason is printed.

    /usr/bin/python3 tests/node/test_node.py
"""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CACHE = os.environ.get("NODE_CACHE", os.path.join(REPO, "build", "node"))
PACKAGE = "better-sqlite3@12.11.1"
EXTENSION = os.environ.get("MIGRATE_SO", os.path.join(REPO, "build", "migrate"))
HEAD = "f05c3b8d2e76"


def node_dir():
    """Directory of a node_modules with better-sqlite3 built (installs it on
    first use)."""
    marker = os.path.join(CACHE, "installed-" + PACKAGE)
    if not os.path.exists(marker):
        os.makedirs(CACHE, exist_ok=True)
        nodedir = os.path.dirname(os.path.dirname(shutil.which("node")))
        p = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--no-save",
             "--nodedir=" + nodedir, PACKAGE],
            cwd=CACHE, capture_output=True, text=True)
        if p.returncode != 0:
            raise AssertionError("npm install %s failed:\n%s%s"
                                 % (PACKAGE, p.stdout, p.stderr[-3000:]))
        open(marker, "w").close()
    return os.path.join(CACHE, "node_modules")


if shutil.which("node") and shutil.which("npm"):
    class NodeExampleTest(unittest.TestCase):
        def test_example_migrates_and_reports_refusals(self):
            modules = node_dir()
            with tempfile.TemporaryDirectory() as tmp:
                db = os.path.join(tmp, "app.db")
                p = subprocess.run(
                    ["node", os.path.join(HERE, "example.js"), db], cwd=tmp,
                    capture_output=True, text=True,
                    env=dict(os.environ, NODE_PATH=modules,
                             MIGRATE_SO=EXTENSION))
                self.assertEqual(p.stderr, "")
                self.assertEqual(p.returncode, 0)
                lines = p.stdout.splitlines()
                self.assertRegex(lines[0], r"^migrated to %s \(SQLite 3\.\d+\.\d+\)$"
                                 % HEAD)
                self.assertEqual(lines[1:], [
                    "SQLITE_ERROR: migrate_to('nosuch'): No such revision or "
                    "branch 'nosuch'",
                    "head %s (current)" % HEAD])
                # the file really is migrated: Python's sqlite3 reads it
                import sqlite3
                conn = sqlite3.connect(db)
                try:
                    self.assertEqual(
                        conn.execute("SELECT version_num FROM migrate_version"
                                     ).fetchall(), [(HEAD,)])
                finally:
                    conn.close()
else:
    sys.stderr.write("tests/node: node and npm are not both on PATH, so the "
                     "better-sqlite3 example is not run\n")


if __name__ == "__main__":
    unittest.main()
