"""migrate_bundle(path) and the optional bundle argument.

    SELECT migrate_to('head', migrate_bundle('/path/to/migrations'));
    SELECT * FROM migrations(migrate_bundle('/path/to/migrations'));

Small histories are written into temporary folders; a bundle can also be a
file holding the BLOB migrate_bundle() returns.  Bad input (a missing path, a
folder with a broken script, text or garbage where the BLOB belongs) must
give the exact message and change nothing.

Calls that hand the engine a damaged BLOB run in a child process
(helpers.run_python): if one crashes, that test fails and says so, instead
of the whole suite dying with it.
"""

import json
import os
import sqlite3
import struct
import unittest
import zlib

from helpers import (MIGRATIONS, TempDir, close_connections, connect,
                     describe_exit, log_rows, parse_script, read_folder,
                     run_python, snapshot, table_exists, versions,
                     write_revision)


def linear_history(folder):
    """a1 -> b2 -> c3: a table, some rows, a column."""
    write_revision(folder, "a1", "", "CREATE TABLE items(id INTEGER PRIMARY "
                   "KEY, name TEXT NOT NULL);", "DROP TABLE items;",
                   message="Create items", slug="create_items")
    write_revision(folder, "b2", "a1", "INSERT INTO items(name) VALUES "
                   "('one'), ('two');", "DELETE FROM items;",
                   message="Seed items", slug="seed_items")
    write_revision(folder, "c3", "b2", "ALTER TABLE items ADD COLUMN "
                   "price REAL;", "ALTER TABLE items DROP COLUMN price;",
                   message="Add price", slug="add_price")


class FolderBundleTest(unittest.TestCase):

    maxDiff = None

    def setUp(self):
        self.tmp = TempDir()
        self.addCleanup(self.tmp.cleanup)
        self.folder = self.tmp.path("migrations")
        linear_history(self.folder)
        self.conn = connect(self.tmp.path("app.db"))

    def to(self, target, folder=None):
        return self.conn.execute("SELECT migrate_to(?, migrate_bundle(?))",
                                 (target, folder or self.folder)).fetchone()[0]

    def test_upgrade_and_downgrade_with_a_folder(self):
        self.assertEqual(self.to("head"), "c3")
        self.assertEqual(
            self.conn.execute("SELECT * FROM items ORDER BY id").fetchall(),
            [(1, "one", None), (2, "two", None)])
        self.assertEqual(versions(self.conn), ["c3"])
        revs = read_folder(self.folder)
        self.assertEqual(log_rows(self.conn), [
            (1, "a1", "upgrade", None, "a1", revs["a1"]["checksum"]),
            (2, "b2", "upgrade", "a1", "b2", revs["b2"]["checksum"]),
            (3, "c3", "upgrade", "b2", "c3", revs["c3"]["checksum"]),
        ])
        self.assertEqual(self.to("a1"), "a1")
        self.assertEqual(self.conn.execute("SELECT * FROM items").fetchall(),
                         [])
        self.assertEqual(
            [r[1] for r in self.conn.execute("PRAGMA table_info(items)")],
            ["id", "name"])
        self.assertEqual(self.to("base"), None)
        self.assertFalse(table_exists(self.conn, "items"))
        self.assertEqual(versions(self.conn), [])
        self.assertEqual([r[1:5] for r in log_rows(self.conn)[3:]], [
            ("c3", "downgrade", "c3", "b2"),
            ("b2", "downgrade", "b2", "a1"),
            ("a1", "downgrade", "a1", None),
        ])
        # the embedded bundle does not know a1..c3, but at base that is fine
        self.assertEqual(self.conn.execute("SELECT migrate_current()")
                         .fetchone(), (None,))

    def test_migrations_table_of_a_folder(self):
        rows = self.conn.execute(
            "SELECT * FROM migrations(migrate_bundle(?))",
            (self.folder,)).fetchall()
        revs = read_folder(self.folder)
        self.assertEqual(rows, [
            ("a1", None, "Create items", None, None, None, 0, 1, 0, 0, 0,
             revs["a1"]["checksum"],
             "CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT NOT "
             "NULL);\n\n", "DROP TABLE items;\n"),
            ("b2", "a1", "Seed items", None, None, None, 0, 0, 0, 0, 0,
             revs["b2"]["checksum"],
             "INSERT INTO items(name) VALUES ('one'), ('two');\n\n",
             "DELETE FROM items;\n"),
            ("c3", "b2", "Add price", None, None, None, 1, 0, 0, 0, 0,
             revs["c3"]["checksum"],
             "ALTER TABLE items ADD COLUMN price REAL;\n\n",
             "ALTER TABLE items DROP COLUMN price;\n"),
        ])
        self.to("b2")
        self.assertEqual(self.conn.execute(
            "SELECT revision, is_current, is_applied FROM "
            "migrations(migrate_bundle(?))", (self.folder,)).fetchall(),
            [("a1", 0, 1), ("b2", 1, 1), ("c3", 0, 0)])
        # the same with the bundle as a named hidden column
        self.assertEqual(self.conn.execute(
            "SELECT revision FROM migrations WHERE bundle = "
            "migrate_bundle(?)", (self.folder,)).fetchall(),
            [("a1",), ("b2",), ("c3",)])
        self.assertEqual(self.conn.execute(
            "SELECT revision, direction, message, checksum_ok FROM "
            "migration_history(migrate_bundle(?))", (self.folder,))
            .fetchall(),
            [("a1", "upgrade", "Create items", 1),
             ("b2", "upgrade", "Seed items", 1)])
        # against the embedded bundle the same log rows have no message
        self.assertEqual(self.conn.execute(
            "SELECT revision, message, checksum_ok FROM migration_history")
            .fetchall(), [("a1", None, None), ("b2", None, None)])

    def test_labels_depends_and_merge_columns(self):
        folder = self.tmp.path("branches")
        write_revision(folder, "base1", "", "CREATE TABLE t(x);",
                       "DROP TABLE t;")
        write_revision(folder, "left1", "base1", "INSERT INTO t VALUES "
                       "('left');", "DELETE FROM t WHERE x = 'left';",
                       headers=["Branch Labels: lefty, l2"])
        write_revision(folder, "right1", "base1", "INSERT INTO t VALUES "
                       "('right');", "DELETE FROM t WHERE x = 'right';",
                       headers=["Create Date: 2026-01-02 03:04:05"])
        write_revision(folder, "other1", "", "CREATE TABLE o(x);",
                       "DROP TABLE o;", headers=["Branch Labels: other"])
        write_revision(folder, "merge1", "left1, right1", "SELECT 1;",
                       "SELECT 1;", headers=["Depends On: other"])
        rows = self.conn.execute(
            "SELECT revision, down_revision, create_date, branch_labels, "
            "depends_on, is_head, is_base, is_merge FROM "
            "migrations(migrate_bundle(?))", (folder,)).fetchall()
        by_id = {r[0]: r[1:] for r in rows}
        self.assertEqual(by_id, {
            "base1": (None, None, None, None, 0, 1, 0),
            "left1": ("base1", None, "lefty,l2", None, 0, 0, 0),
            "right1": ("base1", "2026-01-02 03:04:05", None, None, 0, 0, 0),
            "other1": (None, None, "other", None, 1, 1, 0),  # as Alembic: a
            # revision only depended on has no child, so it is a head
            "merge1": ("left1,right1", None, None, "other", 1, 0, 1),
        })
        order = [r[0] for r in rows]
        for child, parents in (("left1", ["base1"]), ("right1", ["base1"]),
                               ("merge1", ["left1", "right1"])):
            for p in parents:
                self.assertLess(order.index(p), order.index(child))
        # Depends On is applied first, not a parent
        self.assertEqual(self.to("merge1", folder), "merge1")
        self.assertEqual(sorted(r[0] for r in self.conn.execute(
            "SELECT x FROM t")), ["left", "right"])
        self.assertTrue(table_exists(self.conn, "o"))
        self.assertEqual(versions(self.conn), ["merge1"])

    def test_crlf_and_bom_do_not_change_the_checksum(self):
        lf, crlf = self.tmp.path("lf"), self.tmp.path("crlf")
        up = "CREATE TABLE t(\n  x TEXT\n);\nINSERT INTO t VALUES ('a;b');"
        write_revision(lf, "r1", "", up, "DROP TABLE t;")
        name = write_revision(crlf, "r1", "", up, "DROP TABLE t;",
                              newline="\r\n")
        path = os.path.join(crlf, name)
        with open(path, "rb") as f:
            data = f.read()
        self.assertIn(b"\r\n", data)
        with open(path, "wb") as f:
            f.write(b"\xef\xbb\xbf" + data)
        want = parse_script(os.path.join(lf, name))
        self.assertEqual(parse_script(path)["checksum"], want["checksum"])
        self.assertEqual(want["checksum"], "%08x" % zlib.crc32(
            (up + "\n\n").encode()))
        for folder in (lf, crlf):
            with self.subTest(folder=os.path.basename(folder)):
                self.assertEqual(self.conn.execute(
                    "SELECT checksum, upgrade_sql, downgrade_sql FROM "
                    "migrations(migrate_bundle(?))", (folder,)).fetchall(),
                    [(want["checksum"], up + "\n\n", "DROP TABLE t;\n")])

    def test_bundle_file_round_trip(self):
        blob = self.conn.execute("SELECT migrate_bundle(?)",
                                 (self.folder,)).fetchone()[0]
        self.assertIsInstance(blob, bytes)
        self.assertEqual(blob[:8], b"SQLMIGR\x1a")
        path = self.tmp.path("history.bundle")
        with open(path, "wb") as f:
            f.write(blob)
        from_file = self.conn.execute(
            "SELECT * FROM migrations(migrate_bundle(?))", (path,)).fetchall()
        from_folder = self.conn.execute(
            "SELECT * FROM migrations(migrate_bundle(?))",
            (self.folder,)).fetchall()
        self.assertEqual(from_file, from_folder)
        self.assertEqual(self.to("head", path), "c3")
        # a BLOB kept by the application works as well
        self.assertEqual(self.conn.execute("SELECT migrate_to('a1', ?)",
                                           (blob,)).fetchone(), ("a1",))
        self.assertEqual(versions(self.conn), ["a1"])

    def test_bundle_of_the_example_folder_equals_the_embedded_one(self):
        self.assertEqual(
            self.conn.execute("SELECT * FROM migrations(migrate_bundle(?))",
                              (MIGRATIONS,)).fetchall(),
            self.conn.execute("SELECT * FROM migrations").fetchall())

    def test_only_sql_files_are_read(self):
        with open(os.path.join(self.folder, "README.md"), "w") as f:
            f.write("not a script")
        with open(os.path.join(self.folder, ".draft.sql"), "w") as f:
            f.write("not a script either")
        with open(os.path.join(self.folder, "notes.sql.bak"), "w") as f:
            f.write("nor this")
        os.mkdir(os.path.join(self.folder, "old.sql"))
        self.assertEqual(self.conn.execute(
            "SELECT group_concat(revision) FROM migrations(migrate_bundle(?))",
            (self.folder,)).fetchone(), ("a1,b2,c3",))

    def test_empty_folder(self):
        """In a child process: an empty folder hands qsort() a NULL array
        (bundle.c fromNamed), undefined behaviour that stops the process
        under UBSan (make SANITIZE=1 test)."""
        empty = self.tmp.path("empty")
        os.mkdir(empty)
        code = (
            "import json, sys\n"
            "from helpers import connect, snapshot\n"
            "conn = connect(sys.argv[1])\n"
            "before = snapshot(conn)\n"
            "n = conn.execute('SELECT count(*) FROM migrations("
            "migrate_bundle(?))', (sys.argv[2],)).fetchone()[0]\n"
            "to = conn.execute('SELECT migrate_to(\\'head\\', "
            "migrate_bundle(?))', (sys.argv[2],)).fetchone()[0]\n"
            "print(json.dumps([n, to, snapshot(conn) == before]))\n")
        p = run_python(code, self.tmp.path("app.db"), empty)
        if p.returncode != 0:
            self.fail("an empty migrations folder: the process was %s\n%s"
                      % (describe_exit(p), p.stderr[-2000:]))
        self.assertEqual(json.loads(p.stdout), [0, None, True])


class BadBundleTest(unittest.TestCase):
    """Each refusal: the exact message, and the database unchanged."""

    maxDiff = None

    def setUp(self):
        self.tmp = TempDir()
        self.addCleanup(self.tmp.cleanup)
        self.db = self.tmp.path("app.db")
        self.conn = connect(self.db)
        self.conn.execute("SELECT migrate_to('7b5e0d3f8c21')")

    def assertRefused(self, sql, args, message):
        before = snapshot(self.conn)
        with self.assertRaises(sqlite3.Error) as cm:
            self.conn.execute(sql, args).fetchall()
        self.assertEqual(str(cm.exception), message)
        self.assertEqual(snapshot(self.conn), before)
        return cm.exception

    def test_null_target(self):
        for f in ("migrate_to", "migrate_stamp"):
            with self.subTest(function=f):
                self.assertRefused(
                    "SELECT %s(NULL)" % f, (),
                    "%s(): target is NULL; give head, heads, base, a "
                    "revision, +N or -N" % f)
        self.assertRefused(
            "SELECT migrate_sql(NULL)", (),
            "migrate_sql(): target is NULL; give head, heads, base, a "
            "revision, +N or -N")

    def test_text_or_number_instead_of_a_bundle(self):
        for f in ("migrate_to", "migrate_stamp", "migrate_sql"):
            for arg, kind in (("migrations", "text"), (42, "a number"),
                              (4.5, "a number")):
                with self.subTest(function=f, arg=arg):
                    self.assertRefused(
                        "SELECT %s('head', ?)" % f, (arg,),
                        "%s(): the bundle argument must be the BLOB that "
                        "migrate_bundle() returns, e.g. %s('head', "
                        "migrate_bundle('migrations')); got %s"
                        % (f, f, kind))
        for table in ("migrations", "migration_history"):
            with self.subTest(table=table):
                self.assertRefused(
                    "SELECT * FROM %s(?)" % table, ("migrations",),
                    "%s: the bundle argument must be the BLOB that "
                    "migrate_bundle() returns, e.g. SELECT * FROM "
                    "%s(migrate_bundle('migrations'))" % (table, table))

    def test_text_instead_of_a_bundle_for_migrate_check(self):
        # migrate_check takes only the bundle: its example must not show a
        # target (migrate_check('head', ...) is a wrong-argument-count error)
        self.assertRefused(
            "SELECT migrate_check(?)", ("migrations",),
            "migrate_check(): the bundle argument must be the BLOB that "
            "migrate_bundle() returns, e.g. migrate_check("
            "migrate_bundle('migrations')); got text")

    def test_missing_path(self):
        missing = self.tmp.path("no", "such")
        self.assertRefused(
            "SELECT migrate_to('head', migrate_bundle(?))", (missing,),
            "migrate_bundle('%s'): cannot open %s: No such file or directory"
            % (missing, missing))
        self.assertRefused(
            "SELECT migrate_bundle(NULL)", (),
            "migrate_bundle(): path is NULL; give a migrations folder or a "
            "bundle file")
        self.assertRefused(
            "SELECT migrate_bundle('')", (),
            "migrate_bundle(''): empty path; give a migrations folder or a "
            "bundle file")

    def test_file_that_is_not_a_bundle(self):
        path = self.tmp.path("notes.txt")
        with open(path, "w") as f:
            f.write("hello, this file is longer than a bundle header\n")
        self.assertRefused(
            "SELECT migrate_bundle(?)", (path,),
            "migrate_bundle('%s'): not a bundle: bad magic (expected a "
            "file written by 'mkbundle' or 'sqlite-migrate bundle')"
            % (path,))

    def bad_folder(self, name, files):
        folder = self.tmp.path(name)
        os.makedirs(folder)
        for fname, text in files.items():
            with open(os.path.join(folder, fname), "w") as f:
                f.write(text)
        return folder

    def test_bad_folders_name_the_file(self):
        ok = ("-- ok\n-- Revision ID: a1\n-- Revises:\n\n"
              "-- migrate:upgrade\nSELECT 1;\n")
        cases = [
            ("noheader", {"x.sql": "CREATE TABLE a(x);\n"},
             "x.sql:1: no header: a script starts with '-- <message>' and "
             "'-- Revision ID: <id>' lines"),
            ("duplicate", {"a1_x.sql": ok, "a1_y.sql": ok},
             "a1_y.sql: duplicate Revision ID 'a1' (also in a1_x.sql); give "
             "one of them a new id"),
            ("unknownparent", {"a1_x.sql": ok.replace("Revises:",
                                                      "Revises: zz")},
             "a1_x.sql: Revises names unknown revision 'zz'; is its file "
             "missing from the folder?"),
            ("cycle", {
                "a1_x.sql": ok.replace("Revises:", "Revises: b2"),
                "b2_x.sql": ok.replace("a1", "b2").replace("Revises:",
                                                           "Revises: a1")},
             "Cycle is detected in revisions a1 (a1_x.sql), b2 (b2_x.sql); "
             "fix their 'Revises:' lines"),
            ("typo", {"a1_x.sql": ok.replace("-- Revises:\n",
                                             "-- Revises:\n-- Revison: x\n")},
             "a1_x.sql:4: unknown header key 'Revison' (keys: Revision ID, "
             "Revises, Create Date, Branch Labels, Depends On, Transaction)"),
            ("begin", {"a1_x.sql": ok.replace("SELECT 1;",
                                              "BEGIN;\nSELECT 1;")},
             "a1_x.sql:6: BEGIN in the upgrade section: scripts must not "
             "contain BEGIN, COMMIT, END, ROLLBACK, SAVEPOINT or RELEASE (the "
             "engine runs each revision in a transaction); remove it"),
            ("vacuum", {"a1_x.sql": ok.replace("SELECT 1;", "VACUUM;")},
             "a1_x.sql:6: VACUUM cannot run inside a transaction; add "
             "'-- Transaction: none' to the header to run this revision "
             "outside one"),
            ("noupgrade", {"a1_x.sql": ok.replace("-- migrate:upgrade\n"
                                                  "SELECT 1;\n", "")},
             "a1_x.sql: no '-- migrate:upgrade' section"),
        ]
        for name, files, message in cases:
            with self.subTest(case=name):
                folder = self.bad_folder(name, files)
                self.assertRefused(
                    "SELECT migrate_to('head', migrate_bundle(?))", (folder,),
                    "migrate_bundle('%s'): %s" % (folder, message))


# A child process: run one SQL call with a BLOB argument, print the outcome
# as JSON.  argv: sql, hex of the blob.
CHILD = r"""
import json, sys
from helpers import connect
conn = connect()
try:
    out = {"rows": conn.execute(sys.argv[1],
                                (bytes.fromhex(sys.argv[2]),)).fetchall()}
except Exception as e:
    out = {"error": str(e), "type": type(e).__name__}
print(json.dumps(out))
"""


class DamagedBlobTest(unittest.TestCase):
    """Garbage where the bundle BLOB belongs: a clear 'not a bundle' or
    'corrupt bundle' error, never a crash."""

    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.blob = connect().execute("SELECT migrate_bundle(?)",
                                     (MIGRATIONS,)).fetchone()[0]

    def call(self, sql, blob):
        p = run_python(CHILD, sql, bytes(blob).hex())
        if p.returncode != 0 or not p.stdout.strip():
            self.fail("%s with a %d-byte BLOB: the process was %s\n%s"
                      % (sql, len(blob), describe_exit(p), p.stderr[-2000:]))
        return json.loads(p.stdout)

    def assertCallError(self, blob, message, functions=None):
        calls = functions or [
            ("SELECT migrate_to('head', ?)", "migrate_to(): "),
            ("SELECT migrate_sql('head', ?)", "migrate_sql(): "),
            ("SELECT migrate_check(?)", "migrate_check(): "),
            ("SELECT count(*) FROM migrations(?)", "migrations: "),
        ]
        for sql, prefix in calls:
            with self.subTest(sql=sql):
                self.assertEqual(self.call(sql, blob).get("error"),
                                 prefix + message)

    @staticmethod
    def reseal(b):
        """Recompute the header checksum (bytes 28..31) of a bundle."""
        b = bytearray(b)
        b[28:32] = struct.pack("<I", zlib.crc32(bytes(b[:28])) & 0xffffffff)
        return bytes(b)

    def test_good_blob_in_a_child(self):
        self.assertEqual(self.call("SELECT migrate_to('head', ?)", self.blob),
                         {"rows": [["f05c3b8d2e76"]]})

    def test_empty_blob(self):
        self.assertCallError(b"", "not a bundle: 0 bytes is shorter than "
                             "the 32-byte header")

    def test_one_byte_blob(self):
        self.assertCallError(b"\x00", "not a bundle: 1 bytes is shorter "
                             "than the 32-byte header")

    def test_bad_magic(self):
        self.assertCallError(bytes(40), "not a bundle: bad magic (expected a "
                             "file written by 'mkbundle' or 'sqlite-migrate "
                             "bundle')")

    def test_header_checksum(self):
        b = bytearray(self.blob)
        b[12] ^= 1
        self.assertCallError(b, "corrupt bundle: header checksum mismatch")

    def test_format_version(self):
        b = bytearray(self.blob)
        b[8:12] = struct.pack("<I", 2)
        self.assertCallError(self.reseal(b), "bundle format version 2 is not "
                             "supported (this build reads version 1); "
                             "rebuild the bundle")

    def test_truncated(self):
        n = len(self.blob) - 32
        self.assertCallError(self.blob[:-1], "corrupt bundle: header says %d "
                             "compressed bytes, file holds %d (truncated or "
                             "padded?)" % (n, n - 1))

    def test_damaged_zlib_stream(self):
        b = bytearray(self.blob)
        b[-1] ^= 0xff
        size = struct.unpack("<I", self.blob[16:20])[0]
        self.assertCallError(b, "corrupt bundle: zlib stream does not "
                             "inflate to %d bytes (bad data)" % size)

    def test_payload_checksum(self):
        b = bytearray(self.blob)
        b[24] ^= 1
        self.assertCallError(self.reseal(b), "corrupt bundle: payload "
                             "checksum mismatch")

    def test_size_bomb_is_refused_before_inflating(self):
        b = bytearray(self.blob)
        b[16:20] = struct.pack("<I", 200 << 20)
        comp = len(self.blob) - 32
        self.assertCallError(self.reseal(b), "corrupt bundle: payload size "
                             "%d is impossible for %d compressed bytes"
                             % (200 << 20, comp))

    def test_truncated_bundle_file(self):
        tmp = TempDir()
        self.addCleanup(tmp.cleanup)
        path = tmp.path("cut.bundle")
        with open(path, "wb") as f:
            f.write(self.blob[:-10])
        code = ("import json, sys\nfrom helpers import connect\n"
                "try:\n    connect().execute('SELECT migrate_bundle(?)', "
                "(sys.argv[1],)).fetchall(); print(json.dumps({}))\n"
                "except Exception as e:\n"
                "    print(json.dumps({'error': str(e)}))\n")
        p = run_python(code, path)
        if p.returncode != 0:
            self.fail("migrate_bundle() of a truncated bundle file: the "
                      "process was %s\n%s" % (describe_exit(p),
                                              p.stderr[-2000:]))
        n = len(self.blob) - 32
        self.assertEqual(json.loads(p.stdout).get("error"),
                         "migrate_bundle('%s'): corrupt bundle: header "
                         "says %d compressed bytes, file holds %d (truncated "
                         "or padded?)" % (path, n, n - 10))


def tearDownModule():
    close_connections()


if __name__ == "__main__":
    unittest.main()
