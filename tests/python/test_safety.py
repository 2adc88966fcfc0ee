"""Safety features of the applier (issue #4 items 2, 3; ext/README.md, "Foreign
keys"): checksums of applied revisions, downgrades past revisions the bundle
does not know (two modules built from two folders), and foreign keys during
migrations.  Real .so files, real database files."""
import os
import shutil
import sqlite3
import tempfile
import unittest
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, "build")
SO = os.environ.get("MIGRATE_SO", os.path.join(BUILD, "migrate"))
FW1 = os.path.join(BUILD, "fw1", "migrate")
FW2 = os.path.join(BUILD, "fw2", "migrate")
FIXTURES = os.path.join(ROOT, "tests", "fixtures")


def connect(path, so=SO, **kw):
    conn = sqlite3.connect(path, isolation_level=None, **kw)
    conn.enable_load_extension(True)
    conn.load_extension(so)
    return conn


def script(rid, parents, up, down=None, message=None):
    text = "-- %s\n--\n-- Revision ID: %s\n-- Revises: %s\n\n-- migrate:upgrade\n%s\n" % (
        message or "rev " + rid, rid, parents, up)
    if down is not None:
        text += "\n-- migrate:downgrade\n%s\n" % down
    return text


def write(folder, rid, text, newline="\n"):
    with open(os.path.join(folder, rid + "_r.sql"), "w", newline=newline) as f:
        f.write(text)


def snapshot(conn):
    return (list(conn.iterdump()),
            conn.execute("PRAGMA schema_version").fetchone()[0])


class Checksums(unittest.TestCase):
    def test_drift_after_an_edit_that_changes_the_schema(self):
        self.to("head")
        write(self.mig, "a1", script("a1", "", "CREATE TABLE a (x, y);",
                                     "DROP TABLE a;"))
        write(self.mig, "b2", script("b2", "a1", "INSERT INTO a(x) VALUES (1);",
                                     "DELETE FROM a;"))
        report = self.conn.execute("SELECT migrate_check(migrate_bundle(?))",
                                   (self.mig,)).fetchone()[0]
        self.assertEqual(
            report,
            "checksum: a1 (a1_r.sql) was applied with checksum %s, the "
            "bundle's script has %s\n"
            "checksum: b2 (b2_r.sql) was applied with checksum %s, the "
            "bundle's script has %s\n"
            "drift: table a: column y: missing in the database" % (
                "%08x" % zlib.crc32(b"CREATE TABLE a (x);\n\n"),
                "%08x" % zlib.crc32(b"CREATE TABLE a (x, y);\n\n"),
                "%08x" % zlib.crc32(b"INSERT INTO a VALUES (1);\n\n"),
                "%08x" % zlib.crc32(b"INSERT INTO a(x) VALUES (1);\n\n")))

    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.mig = os.path.join(self.dir, "m")
        os.mkdir(self.mig)
        write(self.mig, "a1", script("a1", "", "CREATE TABLE a (x);", "DROP TABLE a;"))
        write(self.mig, "b2", script("b2", "a1", "INSERT INTO a VALUES (1);",
                                     "DELETE FROM a;"))
        self.db = os.path.join(self.dir, "t.db")
        self.conn = connect(self.db)
        self.bundle = lambda: self.conn.execute(
            "SELECT migrate_bundle(?)", (self.mig,)).fetchone()[0]

    def tearDown(self):
        self.conn.close()
        shutil.rmtree(self.dir)

    def to(self, target):
        return self.conn.execute("SELECT migrate_to(?, migrate_bundle(?))",
                                 (target, self.mig)).fetchone()[0]

    def test_checksum_is_crc32_of_upgrade_section(self):
        self.to("head")
        rows = self.conn.execute(
            "SELECT revision, checksum FROM migrate_log ORDER BY id").fetchall()
        self.assertEqual(rows, [
            ("a1", "%08x" % zlib.crc32(b"CREATE TABLE a (x);\n\n")),
            ("b2", "%08x" % zlib.crc32(b"INSERT INTO a VALUES (1);\n\n")),
        ])

    def test_crlf_checkout_is_not_a_change(self):
        self.to("a1")
        write(self.mig, "a1", script("a1", "", "CREATE TABLE a (x);",
                                     "DROP TABLE a;"), newline="\r\n")
        with open(os.path.join(self.mig, "a1_r.sql"), "rb") as f:
            self.assertIn(b"\r\n", f.read())
        self.assertEqual(self.to("head"), "b2")

    def test_edited_script_stops_the_upgrade_and_stamp_accepts_it(self):
        self.to("a1")
        # an edit that changes the checksum but not the schema
        write(self.mig, "a1", script("a1", "", "CREATE TABLE a (x); -- reviewed",
                                     "DROP TABLE a;"))
        before = snapshot(self.conn)
        with self.assertRaises(sqlite3.OperationalError) as cm:
            self.to("head")
        old = "%08x" % zlib.crc32(b"CREATE TABLE a (x);\n\n")
        new = "%08x" % zlib.crc32(b"CREATE TABLE a (x); -- reviewed\n\n")
        self.assertEqual(
            str(cm.exception),
            "migrate_to('head'): revision a1 (a1_r.sql) was applied with "
            "checksum %s but the bundle's script now has checksum %s: its "
            "upgrade section was edited after it ran. Nothing was changed. "
            "Restore the script, or accept the edit with "
            "SELECT migrate_stamp('a1')" % (old, new))
        self.assertEqual(snapshot(self.conn), before)
        self.assertEqual(
            self.conn.execute("SELECT migrate_check(migrate_bundle(?))",
                              (self.mig,)).fetchone()[0],
            "checksum: a1 (a1_r.sql) was applied with checksum %s, the "
            "bundle's script has %s\npending: b2 (rev b2) is not applied"
            % (old, new))
        self.assertEqual(
            self.conn.execute(
                "SELECT revision, direction, checksum_ok FROM "
                "migration_history(migrate_bundle(?))", (self.mig,)).fetchall(),
            [("a1", "upgrade", 0)])
        # accept the edit
        self.assertEqual(
            self.conn.execute("SELECT migrate_stamp('a1', migrate_bundle(?))",
                              (self.mig,)).fetchone()[0], "a1")
        self.assertEqual(self.to("head"), "b2")
        self.assertEqual(
            self.conn.execute(
                "SELECT revision, direction, checksum_ok FROM "
                "migration_history(migrate_bundle(?))", (self.mig,)).fetchall(),
            [("a1", "upgrade", 0), ("a1", "stamp", 1), ("b2", "upgrade", 1)])
        self.assertIsNone(self.conn.execute(
            "SELECT migrate_check(migrate_bundle(?))", (self.mig,)).fetchone()[0])

    def test_edited_ancestor_message_says_how_to_return(self):
        self.to("head")
        write(self.mig, "a1", script("a1", "", "CREATE TABLE a (x, y);",
                                     "DROP TABLE a;"))
        write(self.mig, "c3", script("c3", "b2", "CREATE TABLE c (x);",
                                     "DROP TABLE c;"))
        with self.assertRaises(sqlite3.OperationalError) as cm:
            self.to("head")
        self.assertTrue(str(cm.exception).endswith(
            "accept the edit with SELECT migrate_stamp('a1') and then "
            "SELECT migrate_stamp('b2') to return to the current version"),
            str(cm.exception))


class StoredDowngrades(unittest.TestCase):
    """Firmware 2 (fw2: a1 b2 c3 d4) upgrades the device, then firmware 1
    (fw1: a1 b2) is back and must downgrade past c3 and d4, which its
    bundle does not know, with the scripts the database stored."""

    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.db = os.path.join(self.dir, "device.db")

    def tearDown(self):
        shutil.rmtree(self.dir)

    def test_old_firmware_downgrades_past_unknown_revisions(self):
        conn = connect(self.db, FW2)
        conn.execute("PRAGMA foreign_keys = ON")
        self.assertEqual(conn.execute("SELECT migrate_to('head')").fetchone()[0], "d4")
        conn.execute("INSERT INTO devices VALUES (1, 'SN-1')")
        conn.execute("INSERT INTO readings (device_id, value) VALUES (1, 20.5)")
        self.assertEqual(
            conn.execute("SELECT revision, file, parents FROM migrate_scripts "
                         "ORDER BY revision").fetchall(),
            [("a1", "a1_devices.sql", ""), ("b2", "b2_readings.sql", "a1"),
             ("c3", "c3_units.sql", "b2"), ("d4", "d4_calibration.sql", "c3")])
        conn.close()

        conn = connect(self.db, FW1)
        conn.execute("PRAGMA foreign_keys = ON")
        # fw1's bundle ends at b2, but the stored revisions make d4 the head:
        # booting old firmware with migrate_to('head') changes nothing
        self.assertEqual(conn.execute("SELECT migrate_to('head')").fetchone()[0], "d4")
        self.assertEqual(conn.execute("SELECT migrate_to('b2')").fetchone()[0], "b2")
        self.assertEqual(
            conn.execute("SELECT revision, direction, version_after FROM "
                         "migrate_log ORDER BY id").fetchall(),
            [("a1", "upgrade", "a1"), ("b2", "upgrade", "b2"),
             ("c3", "upgrade", "c3"), ("d4", "upgrade", "d4"),
             ("d4", "downgrade", "c3"), ("c3", "downgrade", "b2")])
        self.assertEqual(
            conn.execute("SELECT sql FROM sqlite_schema WHERE name = 'readings'")
            .fetchone()[0],
            'CREATE TABLE "readings" (id INTEGER PRIMARY KEY, device_id INTEGER '
            "NOT NULL REFERENCES devices(id) ON DELETE CASCADE, value REAL NOT "
            "NULL)")
        self.assertEqual(conn.execute(
            "SELECT name FROM sqlite_schema WHERE name = 'calibration'").fetchall(), [])
        self.assertEqual(conn.execute("SELECT * FROM readings").fetchall(),
                         [(1, 1, 20.5)])
        self.assertEqual(conn.execute(
            "SELECT revision FROM migrate_scripts ORDER BY 1").fetchall(),
            [("a1",), ("b2",)])
        self.assertEqual(conn.execute("PRAGMA foreign_keys").fetchone()[0], 1)
        conn.close()

        # and fw2 can upgrade again
        conn = connect(self.db, FW2)
        self.assertEqual(conn.execute("SELECT migrate_to('head')").fetchone()[0], "d4")
        conn.close()

    def test_unknown_revision_without_stored_script_is_refused(self):
        conn = connect(self.db, FW2)
        conn.execute("SELECT migrate_to('head')")
        conn.execute("DELETE FROM migrate_scripts WHERE revision = 'd4'")
        conn.close()
        conn = connect(self.db, FW1)
        before = snapshot(conn)
        with self.assertRaises(sqlite3.OperationalError) as cm:
            conn.execute("SELECT migrate_to('b2')")
        self.assertEqual(
            str(cm.exception),
            "migrate_to('b2'): the database is at revision 'd4', which the bundle "
            "does not know and migrate_scripts does not hold; use the bundle "
            "that applied it (or migrate_stamp() to a revision this bundle has)")
        self.assertEqual(snapshot(conn), before)
        conn.close()


class ForeignKeys(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.mig = os.path.join(self.dir, "m")
        os.mkdir(self.mig)
        write(self.mig, "a1", script(
            "a1", "",
            "CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT);\n"
            "CREATE TABLE child (id INTEGER PRIMARY KEY, pid INTEGER "
            "REFERENCES parent(id) ON DELETE CASCADE);\n"
            "INSERT INTO parent VALUES (1, 'one'), (2, 'two');\n"
            "INSERT INTO child VALUES (10, 1), (20, 2);",
            "DROP TABLE child; DROP TABLE parent;"))
        # b2 rebuilds the parent table by hand: with enforcement on, the
        # DROP would cascade into child
        write(self.mig, "b2", script(
            "b2", "a1",
            "CREATE TABLE parent_new (id INTEGER PRIMARY KEY, name TEXT NOT NULL "
            "DEFAULT '');\n"
            "INSERT INTO parent_new SELECT id, name FROM parent;\n"
            "DROP TABLE parent;\n"
            "ALTER TABLE parent_new RENAME TO parent;",
            "SELECT 1;"))
        self.db = os.path.join(self.dir, "t.db")

    def tearDown(self):
        shutil.rmtree(self.dir)

    def to(self, conn, target):
        return conn.execute("SELECT migrate_to(?, migrate_bundle(?))",
                            (target, self.mig)).fetchone()[0]

    def test_rebuilding_a_parent_keeps_children_autocommit(self):
        conn = connect(self.db)
        conn.execute("PRAGMA foreign_keys = ON")
        self.assertEqual(self.to(conn, "head"), "b2")
        self.assertEqual(conn.execute("SELECT * FROM child ORDER BY id").fetchall(),
                         [(10, 1), (20, 2)])
        self.assertEqual(conn.execute("PRAGMA foreign_keys").fetchone()[0], 1)
        self.assertEqual(conn.execute("PRAGMA foreign_key_check").fetchall(), [])
        conn.close()

    def test_rebuilding_a_parent_keeps_children_in_callers_transaction(self):
        conn = connect(self.db)
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("BEGIN")
        self.assertEqual(self.to(conn, "head"), "b2")
        conn.execute("COMMIT")
        self.assertEqual(conn.execute("SELECT count(*) FROM child").fetchone()[0], 2)
        self.assertEqual(conn.execute("PRAGMA foreign_keys").fetchone()[0], 1)
        conn.close()

    def test_new_violation_rolls_back_and_names_the_row(self):
        write(self.mig, "c3", script("c3", "b2", "DELETE FROM parent WHERE id = 1;",
                                     "SELECT 1;"))
        conn = connect(self.db)
        conn.execute("PRAGMA foreign_keys = ON")
        self.to(conn, "b2")
        before = snapshot(conn)
        with self.assertRaises(sqlite3.IntegrityError) as cm:
            self.to(conn, "head")
        self.assertEqual(
            str(cm.exception),
            "migrate_to('head'): FOREIGN KEY constraint failed after the "
            "migration: table child, row 10 references parent, which has no "
            "matching row (PRAGMA foreign_key_check). Nothing was changed; fix "
            "the data in the revision that removed or changed the parent rows")
        self.assertEqual(snapshot(conn), before)
        self.assertEqual(conn.execute("PRAGMA foreign_keys").fetchone()[0], 1)
        conn.close()

    def test_without_enforcement_no_check_and_setting_kept_off(self):
        write(self.mig, "c3", script("c3", "b2", "DELETE FROM parent WHERE id = 1;",
                                     "SELECT 1;"))
        conn = connect(self.db)
        self.assertEqual(self.to(conn, "head"), "c3")
        self.assertEqual(conn.execute("PRAGMA foreign_keys").fetchone()[0], 0)
        self.assertEqual(conn.execute("PRAGMA foreign_key_check").fetchall(),
                         [("child", 10, "parent", 0)])
        conn.close()

    def test_existing_violation_is_not_new(self):
        conn = connect(self.db)
        self.to(conn, "b2")
        conn.execute("INSERT INTO child VALUES (30, 99)")  # orphan, fk off
        write(self.mig, "c3", script("c3", "b2", "CREATE TABLE c (x);",
                                     "DROP TABLE c;"))
        conn.execute("PRAGMA foreign_keys = ON")
        self.assertEqual(self.to(conn, "head"), "c3")
        conn.close()


if __name__ == "__main__":
    unittest.main()
