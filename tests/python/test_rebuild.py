"""migrate_rebuild(table, create_sql [, column_map]) (README.md, "Rebuilding a table", issue #4
item 1): SQLite's 12-step table rebuild, loaded from the real module.

    /usr/bin/python3 -m unittest tests/python/test_rebuild.py
    MIGRATE_SO=/path/to/migrate /usr/bin/python3 -m unittest tests/python/test_rebuild.py
    /usr/bin/python3 tests/python/test_rebuild.py --bench [ROWS]

Every test asserts exact results and exact error text. Refusals must leave the
database exactly as it was (compared with iterdump()) and the connection's
foreign_keys and legacy_alter_table settings as they were, in autocommit
mode, inside the caller's transaction, and inside migrate_to().

--bench times a rebuild of a table with two indexes against the same 12 steps
written by hand in SQL (not a test: nothing is asserted about time).
"""

import os
import shutil
import sqlite3
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
EXTENSION = os.environ.get("MIGRATE_SO", os.path.join(REPO, "build", "migrate"))

SQLITE_DIRECTONLY = 0x80000


def connect(path=":memory:", **kw):
    conn = sqlite3.connect(path, isolation_level=None, **kw)
    conn.enable_load_extension(True)
    conn.load_extension(EXTENSION)
    return conn


def dump(conn):
    return list(conn.iterdump())


def schema(conn, table):
    """(type, name, sql) of a table's own rows in sqlite_schema, by name."""
    return conn.execute(
        "SELECT type, name, sql FROM sqlite_schema WHERE tbl_name = ? "
        "ORDER BY type, name", (table,)).fetchall()


def settings(conn):
    return (conn.execute("PRAGMA foreign_keys").fetchone()[0],
            conn.execute("PRAGMA legacy_alter_table").fetchone()[0])


def revision(folder, rev, parent, upgrade, downgrade=None):
    with open(os.path.join(folder, "%s_r.sql" % rev), "w") as f:
        f.write("-- %s\n--\n-- Revision ID: %s\n-- Revises: %s\n\n"
                "-- migrate:upgrade\n%s\n" % (rev, rev, parent, upgrade))
        if downgrade is not None:
            f.write("\n-- migrate:downgrade\n%s\n" % downgrade)


class Base(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        self.conn = connect()

    def tearDown(self):
        self.conn.close()

    def rebuild(self, *args, conn=None):
        conn = conn or self.conn
        sql = "SELECT migrate_rebuild(%s)" % ", ".join("?" * len(args))
        return conn.execute(sql, args).fetchone()[0]

    def refused(self, args, message, conn=None, error=sqlite3.OperationalError):
        """The call fails with exactly `message` and changes nothing."""
        conn = conn or self.conn
        before, fk = dump(conn), settings(conn)
        with self.assertRaises(sqlite3.Error) as cm:
            self.rebuild(*args, conn=conn)
        self.assertEqual(str(cm.exception), message)
        self.assertIs(type(cm.exception), error)
        self.assertEqual(dump(conn), before)
        self.assertEqual(settings(conn), fk)

    def rows(self, sql, params=(), conn=None):
        return (conn or self.conn).execute(sql, params).fetchall()


class Changes(Base):
    """What ALTER TABLE cannot do, each with its data kept."""

    def test_type_change(self):
        c = self.conn
        c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, n TEXT, s)")
        c.execute("INSERT INTO t (n, s) VALUES ('1', 'a'), ('22', 'b'), ('x', 'c')")
        self.assertEqual(self.rebuild(
            "t", "CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER, s TEXT)"), 3)
        self.assertEqual(self.rows("SELECT id, n, typeof(n), s FROM t"),
                         [(1, 1, "integer", "a"), (2, 22, "integer", "b"),
                          (3, "x", "text", "c")])
        self.assertEqual(
            self.rows("SELECT sql FROM sqlite_schema WHERE name = 't'"),
            [('CREATE TABLE "t" (id INTEGER PRIMARY KEY, n INTEGER, s TEXT)',)])

    def test_add_not_null_with_data(self):
        c = self.conn
        c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
        c.execute("INSERT INTO t (name) VALUES ('a'), ('b')")
        self.assertEqual(self.rebuild(
            "t", "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL)"), 2)
        self.assertEqual(self.rows("SELECT * FROM t"), [(1, "a"), (2, "b")])
        with self.assertRaises(sqlite3.IntegrityError):
            c.execute("INSERT INTO t (name) VALUES (NULL)")

    def test_add_not_null_refused_naming_the_row(self):
        c = self.conn
        c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
        c.execute("INSERT INTO t (name) VALUES ('a'), (NULL), (NULL)")
        self.refused(
            ("t", "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL)"),
            "migrate_rebuild('t'): the row with rowid 2 does not fit the new "
            "definition (NOT NULL constraint failed: t.name); fix or delete "
            "that row first, or convert its value with column_map. Nothing "
            "was changed", error=sqlite3.IntegrityError)
        # ... and the map is the way to convert it
        self.assertEqual(self.rebuild(
            "t", "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL)",
            '{"name": "coalesce(name, \'?\')"}'), 3)
        self.assertEqual(self.rows("SELECT * FROM t"), [(1, "a"), (2, "?"), (3, "?")])

    def test_add_check(self):
        c = self.conn
        c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, age INTEGER)")
        c.execute("INSERT INTO t (age) VALUES (5), (40)")
        new = "CREATE TABLE t (id INTEGER PRIMARY KEY, age INTEGER CHECK (age >= 0))"
        self.assertEqual(self.rebuild("t", new), 2)
        with self.assertRaises(sqlite3.IntegrityError) as cm:
            c.execute("INSERT INTO t (age) VALUES (-1)")
        self.assertEqual(str(cm.exception), "CHECK constraint failed: age >= 0")
        c.execute("PRAGMA ignore_check_constraints = ON")  # a bad row slips in
        c.execute("UPDATE t SET age = -3 WHERE id = 2")
        c.execute("PRAGMA ignore_check_constraints = OFF")
        self.refused(
            ("t", "CREATE TABLE t (id INTEGER PRIMARY KEY, age INTEGER "
                  "CHECK (age >= 0 AND age < 150))"),
            "migrate_rebuild('t'): the row with rowid 2 does not fit the new "
            "definition (CHECK constraint failed: age >= 0 AND age < 150); fix "
            "or delete that row first, or convert its value with column_map. "
            "Nothing was changed", error=sqlite3.IntegrityError)

    def test_change_primary_key(self):
        c = self.conn
        c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, code TEXT, v)")
        c.execute("INSERT INTO t VALUES (10, 'b', 1), (20, 'a', 2), (30, 'c', 3)")
        # the PRIMARY KEY moves to code; the rowids stay what the ids were
        self.assertEqual(self.rebuild(
            "t", "CREATE TABLE t (id INTEGER, code TEXT PRIMARY KEY, v)"), 3)
        self.assertEqual(self.rows("SELECT rowid, id, code, v FROM t ORDER BY rowid"),
                         [(10, 10, "b", 1), (20, 20, "a", 2), (30, 30, "c", 3)])
        self.assertEqual(self.rows("SELECT name FROM pragma_table_info('t') WHERE pk"),
                         [("code",)])
        # a composite key, WITHOUT ROWID
        self.assertEqual(self.rebuild(
            "t", "CREATE TABLE t (id INTEGER, code TEXT, v, PRIMARY KEY (code, id))"
                 " WITHOUT ROWID"), 3)
        self.assertEqual(self.rows("SELECT id, code, v FROM t"),
                         [(20, "a", 2), (10, "b", 1), (30, "c", 3)])
        # a key the data does not satisfy
        c.execute("INSERT INTO t VALUES (40, 'c', 4)")
        self.refused(
            ("t", "CREATE TABLE t (id INTEGER, code TEXT PRIMARY KEY, v)"),
            "migrate_rebuild('t'): cannot copy the rows into the new "
            "definition: UNIQUE constraint failed: t.code. Nothing was changed",
            error=sqlite3.IntegrityError)

    def test_without_rowid_to_rowid(self):
        c = self.conn
        c.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v) WITHOUT ROWID")
        c.execute("INSERT INTO t VALUES ('b', 2), ('a', 1)")
        self.assertEqual(self.rebuild("t", "CREATE TABLE t (k TEXT PRIMARY KEY, v)"), 2)
        self.assertEqual(self.rows("SELECT rowid, k, v FROM t ORDER BY rowid"),
                         [(1, "a", 1), (2, "b", 2)])

    def test_add_foreign_key(self):
        c = self.conn
        c.execute("PRAGMA foreign_keys = ON")
        c.execute("CREATE TABLE p (id INTEGER PRIMARY KEY)")
        c.execute("CREATE TABLE ch (id INTEGER PRIMARY KEY, pid INTEGER)")
        c.execute("INSERT INTO p VALUES (1), (2)")
        c.execute("INSERT INTO ch (pid) VALUES (1), (2), (2)")
        self.assertEqual(self.rebuild(
            "ch", "CREATE TABLE ch (id INTEGER PRIMARY KEY, "
                  "pid INTEGER REFERENCES p(id) ON DELETE CASCADE)"), 3)
        self.assertEqual(self.rows("SELECT \"table\", \"from\", \"to\", on_delete "
                                   "FROM pragma_foreign_key_list('ch')"),
                         [("p", "pid", "id", "CASCADE")])
        c.execute("DELETE FROM p WHERE id = 2")
        self.assertEqual(self.rows("SELECT * FROM ch"), [(1, 1)])
        self.assertEqual(settings(c), (1, 0))

    def test_drop_column(self):
        c = self.conn
        # a column ALTER TABLE DROP COLUMN refuses: it is UNIQUE
        c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, a, b UNIQUE, c)")
        c.execute("INSERT INTO t VALUES (1, 'a1', 'b1', 'c1'), (2, 'a2', 'b2', 'c2')")
        with self.assertRaises(sqlite3.OperationalError):
            c.execute("ALTER TABLE t DROP COLUMN b")
        self.assertEqual(self.rebuild("t", "CREATE TABLE t (id INTEGER PRIMARY KEY, a, c)"), 2)
        self.assertEqual(self.rows("SELECT * FROM t"), [(1, "a1", "c1"), (2, "a2", "c2")])
        self.assertEqual(self.rows("SELECT name FROM sqlite_schema WHERE tbl_name = 't'"),
                         [("t",)])

    def test_rename_via_column_map(self):
        c = self.conn
        c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, email TEXT, \"old name\" TEXT)")
        c.execute("INSERT INTO t VALUES (1, 'x@y', 'Ann'), (2, 'z@y', 'Bob')")
        self.assertEqual(self.rebuild(
            "t", "CREATE TABLE t (id INTEGER PRIMARY KEY, mail TEXT NOT NULL, "
                 "\"full name\" TEXT)",
            '{"mail": "email", "full name": "old name"}'), 2)
        self.assertEqual(self.rows("SELECT * FROM t"), [(1, "x@y", "Ann"), (2, "z@y", "Bob")])

    def test_conversion_expression_via_column_map(self):
        c = self.conn
        c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, price TEXT, first, last)")
        c.execute("INSERT INTO t VALUES (1, '12.50', 'Ann', 'Lee'), (2, '3', 'Bo', 'Ng')")
        self.assertEqual(self.rebuild(
            "t", "CREATE TABLE t (id INTEGER PRIMARY KEY, cents INTEGER NOT NULL, "
                 "name TEXT)",
            '{"cents": "CAST(round(CAST(price AS REAL) * 100) AS INTEGER)", '
            '"name": "first || \' \' || last"}'), 2)
        self.assertEqual(self.rows("SELECT id, cents, typeof(cents), name FROM t"),
                         [(1, 1250, "integer", "Ann Lee"), (2, 300, "integer", "Bo Ng")])

    def test_rowids_and_integer_primary_key_kept(self):
        c = self.conn
        c.execute("CREATE TABLE r (v)")  # no INTEGER PRIMARY KEY: bare rowids
        c.execute("INSERT INTO r (rowid, v) VALUES (5, 'a'), (9, 'b'), (100, 'c')")
        c.execute("DELETE FROM r WHERE rowid = 9")
        self.assertEqual(self.rebuild("r", "CREATE TABLE r (v TEXT NOT NULL)"), 2)
        self.assertEqual(self.rows("SELECT rowid, v FROM r"), [(5, "a"), (100, "c")])
        # rowid table -> INTEGER PRIMARY KEY: the rowids become the ids
        self.assertEqual(self.rebuild("r", "CREATE TABLE r (id INTEGER PRIMARY KEY, v)"), 2)
        self.assertEqual(self.rows("SELECT id, rowid, v FROM r"), [(5, 5, "a"), (100, 100, "c")])
        # an INTEGER PRIMARY KEY under another type keeps its values
        c.execute("CREATE TABLE k (id INTEGER PRIMARY KEY, v)")
        c.execute("INSERT INTO k VALUES (7, 'x'), (3, 'y')")
        self.assertEqual(self.rebuild(
            "k", "CREATE TABLE k (id INTEGER PRIMARY KEY, v TEXT, w DEFAULT 0)"), 2)
        self.assertEqual(self.rows("SELECT id, rowid, v, w FROM k"),
                         [(3, 3, "y", 0), (7, 7, "x", 0)])

    def test_autoincrement_sequence_kept(self):
        c = self.conn
        c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, v)")
        c.executemany("INSERT INTO t (v) VALUES (?)", [("a",), ("b",), ("c",)])
        c.execute("DELETE FROM t WHERE id >= 2")   # high-water mark stays 3
        self.assertEqual(self.rebuild(
            "t", "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT)"), 1)
        self.assertEqual(self.rows("SELECT name, seq FROM sqlite_sequence"), [("t", 3)])
        c.execute("INSERT INTO t (v) VALUES ('d')")
        self.assertEqual(self.rows("SELECT * FROM t"), [(1, "a"), (4, "d")])
        # without AUTOINCREMENT in the new definition the row goes
        self.assertEqual(self.rebuild("t", "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"), 2)
        self.assertEqual(self.rows("SELECT name, seq FROM sqlite_sequence"), [])

    def test_generated_columns(self):
        c = self.conn
        c.execute("CREATE TABLE g (a, b, s AS (a + b) STORED, v AS (a * b))")
        c.execute("INSERT INTO g (a, b) VALUES (1, 2), (3, 4)")
        # an old generated column's values can fill a stored one
        self.assertEqual(self.rebuild(
            "g", "CREATE TABLE g (a INTEGER NOT NULL, b INTEGER, v AS (a - b), "
                 "s INTEGER)"), 2)
        self.assertEqual(self.rows("SELECT a, b, v, s FROM g"), [(1, 2, -1, 3), (3, 4, -1, 7)])
        self.refused(
            ("g", "CREATE TABLE g (a, b, v AS (a - b), s)", '{"v": "1"}'),
            "migrate_rebuild('g'): column_map fills column v, which the new "
            "definition generates; leave it out of the map. Nothing was changed")

    def test_strict_conversion_refused(self):
        c = self.conn
        c.execute("CREATE TABLE st (id INTEGER PRIMARY KEY, n)")
        c.execute("INSERT INTO st (n) VALUES (1), ('x')")
        if sqlite3.sqlite_version_info < (3, 37):
            # STRICT tables came with SQLite 3.37
            self.refused(
                ("st", "CREATE TABLE st (id INTEGER PRIMARY KEY, n INTEGER) "
                 "STRICT"),
                "migrate_rebuild('st'): create_sql does not create a table: "
                "near \"STRICT\": syntax error. Nothing was changed")
            return
        self.refused(
            ("st", "CREATE TABLE st (id INTEGER PRIMARY KEY, n INTEGER) STRICT"),
            "migrate_rebuild('st'): cannot copy the rows into the new "
            "definition: cannot store TEXT value in INTEGER column st.n. "
            "Nothing was changed", error=sqlite3.IntegrityError)


class Recreated(Base):
    """Indexes, triggers and views around the rebuilt table."""

    def setUp(self):
        super().setUp()
        c = self.conn
        c.executescript("""
            CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, name TEXT,
                                active INTEGER, nick TEXT);
            CREATE TABLE audit (what TEXT);
            CREATE UNIQUE INDEX users_email ON users(email);
            CREATE INDEX users_active_name ON users(name) WHERE active = 1;
            CREATE INDEX users_lower_name ON users(lower(name));
            CREATE TRIGGER users_ins AFTER INSERT ON users
              BEGIN INSERT INTO audit VALUES ('ins ' || new.email); END;
            CREATE TRIGGER users_upd AFTER UPDATE OF name ON users
              BEGIN INSERT INTO audit VALUES ('upd ' || new.name); END;
            CREATE VIEW active_users AS SELECT id, name FROM users WHERE active = 1;
            INSERT INTO users VALUES (1, 'a@x', 'Ann', 1, 'an'),
                                     (2, 'b@x', 'Bob', 0, NULL),
                                     (3, 'c@x', 'Cy', 1, 'cy');
        """)

    def test_indexes_and_triggers_recreated(self):
        c = self.conn
        c.execute("CREATE TEMP TRIGGER users_del AFTER DELETE ON main.users "
                  "BEGIN INSERT INTO audit VALUES ('del ' || old.id); END")
        c.execute("DELETE FROM audit")
        before = [r for r in schema(c, "users") if r[0] != "table"]
        temp = self.rows("SELECT name, sql FROM temp.sqlite_schema")
        self.assertEqual(self.rebuild(
            "users", "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, "
                     "name TEXT NOT NULL, active INTEGER NOT NULL DEFAULT 0, nick TEXT)"), 3)
        self.assertEqual([r for r in schema(c, "users") if r[0] != "table"], before)
        self.assertEqual(self.rows("SELECT name, sql FROM temp.sqlite_schema"), temp)
        # the unique index works ...
        with self.assertRaises(sqlite3.IntegrityError) as cm:
            c.execute("INSERT INTO users (email, name) VALUES ('a@x', 'Dup')")
        self.assertEqual(str(cm.exception), "UNIQUE constraint failed: users.email")
        # ... the partial and the expression index are used ...
        plan = " ".join(r[3] for r in c.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM users WHERE active = 1 AND name = 'Ann'"))
        self.assertIn("users_active_name", plan)
        plan = " ".join(r[3] for r in c.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM users WHERE lower(name) = 'ann'"))
        self.assertIn("users_lower_name", plan)
        # ... and the triggers fire
        c.execute("INSERT INTO users (email, name) VALUES ('d@x', 'Di')")
        c.execute("UPDATE users SET name = 'Bo' WHERE id = 2")
        c.execute("DELETE FROM users WHERE id = 4")
        self.assertEqual(self.rows("SELECT what FROM audit"),
                         [("ins d@x",), ("upd Bo",), ("del 4",)])
        self.assertEqual(self.rows("SELECT * FROM active_users"), [(1, "Ann"), (3, "Cy")])

    def test_index_on_dropped_column_refused(self):
        self.refused(
            ("users", "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, "
                      "active INTEGER, nick TEXT)"),
            "migrate_rebuild('users'): index users_email uses a column the new "
            "definition does not have (no such column: email); drop the index "
            "before migrate_rebuild() and create it again after, or keep the "
            "column [CREATE UNIQUE INDEX users_email ON users(email)]. Nothing "
            "was changed")
        # and the way out the message gives
        c = self.conn
        c.execute("BEGIN")
        c.execute("DROP INDEX users_email")
        c.execute("DROP TRIGGER users_ins")
        self.assertEqual(self.rebuild(
            "users", "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, "
                     "active INTEGER, nick TEXT)"), 3)
        c.execute("COMMIT")
        self.assertEqual(self.rows("SELECT * FROM users"),
                         [(1, "Ann", 1, "an"), (2, "Bob", 0, None), (3, "Cy", 1, "cy")])

    def test_partial_and_expression_index_on_dropped_column_refused(self):
        self.refused(
            ("users", "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, "
                      "name TEXT, nick TEXT)"),
            "migrate_rebuild('users'): index users_active_name uses a column "
            "the new definition does not have (no such column: active); drop "
            "the index before migrate_rebuild() and create it again after, or "
            "keep the column [CREATE INDEX users_active_name ON users(name) "
            "WHERE active = 1]. Nothing was changed")
        self.conn.execute("DROP INDEX users_active_name")
        self.conn.execute("DROP VIEW active_users")
        self.refused(
            ("users", "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, "
                      "active INTEGER, nick TEXT)"),
            "migrate_rebuild('users'): index users_lower_name uses a column "
            "the new definition does not have (no such column: name); drop "
            "the index before migrate_rebuild() and create it again after, or "
            "keep the column [CREATE INDEX users_lower_name ON users(lower(name))]."
            " Nothing was changed")

    def test_trigger_on_dropped_column_refused(self):
        c = self.conn
        c.execute("DROP INDEX users_email")
        # the body uses new.email
        self.refused(
            ("users", "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, "
                      "active INTEGER, nick TEXT)"),
            "migrate_rebuild('users'): trigger users_ins no longer compiles "
            "against the new definition (no such column: new.email); drop the "
            "trigger before migrate_rebuild() and create it again after, or "
            "keep the column [CREATE TRIGGER users_ins AFTER INSERT ON users\n"
            "              BEGIN INSERT INTO audit VALUES ('ins ' || new.email); END]."
            " Nothing was changed")
        # UPDATE OF a column that goes: SQLite itself would never notice
        c.execute("DROP TRIGGER users_upd")
        c.execute("CREATE TRIGGER users_nick AFTER UPDATE OF nick ON users "
                  "BEGIN SELECT 1; END")
        self.refused(
            ("users", "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, "
                      "name TEXT, active INTEGER)"),
            "migrate_rebuild('users'): trigger users_nick fires on UPDATE OF "
            "nick, a column the new definition does not have; drop the trigger "
            "before migrate_rebuild() and create it again after, or keep the "
            "column [CREATE TRIGGER users_nick AFTER UPDATE OF nick ON users "
            "BEGIN SELECT 1; END]. Nothing was changed")

    def test_trigger_on_other_table_refused(self):
        c = self.conn
        c.execute("CREATE TRIGGER audit_ins AFTER INSERT ON audit "
                  "BEGIN UPDATE users SET nick = 'x' WHERE id = 0; END")
        self.refused(
            ("users", "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, "
                      "name TEXT, active INTEGER)"),
            "migrate_rebuild('users'): trigger audit_ins on audit would no "
            "longer work with the new definition of users: no such column: "
            "nick; change or drop it in the same revision first. Nothing was "
            "changed")

    def test_view_still_works(self):
        c = self.conn
        c.execute("CREATE TEMP VIEW user_names AS SELECT name FROM main.users")
        self.assertEqual(self.rebuild(
            "users", "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, "
                     "name TEXT COLLATE NOCASE, active INTEGER, nick TEXT)"), 3)
        self.assertEqual(self.rows("SELECT * FROM active_users"), [(1, "Ann"), (3, "Cy")])
        self.assertEqual(self.rows("SELECT * FROM user_names"), [("Ann",), ("Bob",), ("Cy",)])
        self.assertEqual(
            self.rows("SELECT sql FROM sqlite_schema WHERE name = 'active_users'"),
            [("CREATE VIEW active_users AS SELECT id, name FROM users WHERE active = 1",)])

    def test_view_on_dropped_column_refused(self):
        self.conn.execute("DROP INDEX users_active_name")
        self.refused(
            ("users", "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, "
                      "name TEXT, nick TEXT)"),
            "migrate_rebuild('users'): view active_users would no longer work "
            "with the new definition of users: no such column: active; DROP "
            "VIEW it first and CREATE VIEW it again after the rebuild. Nothing "
            "was changed")


class ForeignKeys(Base):
    """A parent table rebuilt never loses or nulls child rows."""

    def setUp(self):
        super().setUp()
        self.conn.executescript("""
            CREATE TABLE parent (id INTEGER PRIMARY KEY, code TEXT UNIQUE);
            CREATE TABLE cascade_child (id INTEGER PRIMARY KEY,
                pid INTEGER REFERENCES parent(id) ON DELETE CASCADE);
            CREATE TABLE setnull_child (id INTEGER PRIMARY KEY,
                pid INTEGER REFERENCES parent(id) ON DELETE SET NULL);
            CREATE TABLE code_child (id INTEGER PRIMARY KEY,
                pcode TEXT REFERENCES parent(code));
            INSERT INTO parent VALUES (1, 'a'), (2, 'b');
            INSERT INTO cascade_child (pid) VALUES (1), (2), (2);
            INSERT INTO setnull_child (pid) VALUES (1), (2);
            INSERT INTO code_child (pcode) VALUES ('a'), ('b');
        """)
        self.children = self.child_rows()

    def child_rows(self):
        return [self.rows("SELECT * FROM %s" % t)
                for t in ("cascade_child", "setnull_child", "code_child")]

    NEW_PARENT = ("CREATE TABLE parent (id INTEGER PRIMARY KEY, "
                  "code TEXT NOT NULL UNIQUE, note TEXT)")

    def test_children_kept_with_foreign_keys_on(self):
        c = self.conn
        c.execute("PRAGMA foreign_keys = ON")
        self.assertEqual(self.rebuild("parent", self.NEW_PARENT), 2)
        self.assertEqual(self.child_rows(), self.children)
        self.assertEqual(self.rows("PRAGMA foreign_key_check"), [])
        self.assertEqual(settings(c), (1, 0))
        # the foreign keys still act on the new table
        c.execute("DELETE FROM code_child WHERE pcode = 'b'")
        c.execute("DELETE FROM parent WHERE id = 2")
        self.assertEqual(self.rows("SELECT * FROM cascade_child"), [(1, 1)])
        self.assertEqual(self.rows("SELECT * FROM setnull_child"), [(1, 1), (2, None)])

    def test_children_kept_inside_a_transaction(self):
        c = self.conn
        c.execute("PRAGMA foreign_keys = ON")
        c.execute("BEGIN")
        self.assertEqual(self.rebuild("parent", self.NEW_PARENT), 2)
        self.assertEqual(settings(c), (1, 0))
        c.execute("COMMIT")
        self.assertEqual(self.child_rows(), self.children)

    def test_new_violation_rolled_back(self):
        c = self.conn
        c.execute("PRAGMA foreign_keys = ON")
        # converting the referenced codes orphans code_child's rows
        self.refused(
            ("parent", self.NEW_PARENT, '{"code": "upper(code)"}'),
            "migrate_rebuild('parent'): FOREIGN KEY constraint failed after "
            "the rebuild: table code_child, row 1 references parent, which "
            "has no matching row (PRAGMA foreign_key_check); fix the data or "
            "the new definition first. Nothing was changed",
            error=sqlite3.IntegrityError)
        # a foreign key added to a table whose data breaks it
        c.execute("CREATE TABLE orphan (id INTEGER PRIMARY KEY, pid INTEGER)")
        c.execute("INSERT INTO orphan (pid) VALUES (1), (7)")
        self.refused(
            ("orphan", "CREATE TABLE orphan (id INTEGER PRIMARY KEY, "
                       "pid INTEGER REFERENCES parent(id))"),
            "migrate_rebuild('orphan'): FOREIGN KEY constraint failed after "
            "the rebuild: table orphan, row 2 references parent, which has "
            "no matching row (PRAGMA foreign_key_check); fix the data or the "
            "new definition first. Nothing was changed",
            error=sqlite3.IntegrityError)
        c.execute("BEGIN")
        self.refused(
            ("orphan", "CREATE TABLE orphan (id INTEGER PRIMARY KEY, "
                       "pid INTEGER REFERENCES parent(id))"),
            "migrate_rebuild('orphan'): FOREIGN KEY constraint failed after "
            "the rebuild: table orphan, row 2 references parent, which has "
            "no matching row (PRAGMA foreign_key_check); fix the data or the "
            "new definition first. Nothing was changed",
            error=sqlite3.IntegrityError)
        self.assertTrue(c.in_transaction)
        c.execute("ROLLBACK")

    def test_dropping_a_referenced_key_refused(self):
        self.conn.execute("PRAGMA foreign_keys = ON")
        self.refused(
            ("parent", "CREATE TABLE parent (id INTEGER PRIMARY KEY, code TEXT)"),
            "migrate_rebuild('parent'): the new definition breaks a foreign "
            "key that references it: foreign key mismatch - \"code_child\" "
            "referencing \"parent\" (a referenced column must keep a PRIMARY "
            "KEY or UNIQUE constraint). Nothing was changed")

    def test_old_violations_do_not_block(self):
        c = self.conn
        c.execute("INSERT INTO code_child (pcode) VALUES ('zz')")  # FKs off
        c.execute("PRAGMA foreign_keys = ON")
        self.assertEqual(self.rebuild("parent", self.NEW_PARENT), 2)
        self.assertEqual(self.rows("PRAGMA foreign_key_check"),
                         [("code_child", 3, "parent", 0)])

    def test_self_reference(self):
        c = self.conn
        c.execute("PRAGMA foreign_keys = ON")
        c.execute("CREATE TABLE tree (id INTEGER PRIMARY KEY, parent INTEGER "
                  "REFERENCES tree(id) ON DELETE CASCADE, name)")
        c.execute("INSERT INTO tree VALUES (1, NULL, 'root'), (2, 1, 'a'), (3, 2, 'b')")
        new = ("CREATE TABLE tree (id INTEGER PRIMARY KEY, parent INTEGER "
               "REFERENCES tree(id) ON DELETE CASCADE, name TEXT NOT NULL)")
        self.assertEqual(self.rebuild("tree", new), 3)
        self.assertEqual(self.rows("SELECT * FROM tree"),
                         [(1, None, "root"), (2, 1, "a"), (3, 2, "b")])
        self.refused(
            ("tree", new, '{"parent": "parent + 10"}'),
            "migrate_rebuild('tree'): FOREIGN KEY constraint failed after the "
            "rebuild: table tree, row 2 references tree, which has no "
            "matching row (PRAGMA foreign_key_check); fix the data or the new "
            "definition first. Nothing was changed", error=sqlite3.IntegrityError)

    def test_not_checked_when_not_enforced(self):
        c = self.conn
        self.assertEqual(self.rebuild("parent", self.NEW_PARENT,
                                      '{"code": "upper(code)"}'), 2)
        self.assertEqual(self.child_rows(), self.children)
        self.assertEqual(self.rows("PRAGMA foreign_key_check"),
                         [("code_child", 1, "parent", 0),
                          ("code_child", 2, "parent", 0)])
        self.assertEqual(settings(c), (0, 0))


class Modes(Base):
    """Autocommit, the caller's transaction, a revision run by migrate_to."""

    NEW = "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)"
    BAD = "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL CHECK (v <> 'b'))"
    BAD_MESSAGE = ("migrate_rebuild('t'): the row with rowid 2 does not fit the "
                   "new definition (CHECK constraint failed: v <> 'b'); fix or "
                   "delete that row first, or convert its value with "
                   "column_map. Nothing was changed")

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="migrate-rebuild-")
        self.path = os.path.join(self.tmp, "test.db")
        self.conn = connect(self.path)
        self.conn.executescript("""
            CREATE TABLE t (id INTEGER PRIMARY KEY, v);
            INSERT INTO t (v) VALUES ('a'), ('b');
        """)

    def tearDown(self):
        self.conn.close()
        shutil.rmtree(self.tmp)

    def definition(self, conn=None):
        return self.rows("SELECT sql FROM sqlite_schema WHERE name = 't'", conn=conn)[0][0]

    def test_autocommit_commits(self):
        for fk, legacy in ((0, 0), (1, 0), (0, 1), (1, 1)):
            with self.subTest(foreign_keys=fk, legacy_alter_table=legacy):
                c = self.conn
                c.execute("PRAGMA foreign_keys = %d" % fk)
                c.execute("PRAGMA legacy_alter_table = %d" % legacy)
                self.assertEqual(self.rebuild("t", self.NEW), 2)
                self.assertFalse(c.in_transaction)
                self.assertEqual(settings(c), (fk, legacy))
                other = sqlite3.connect(self.path)
                self.assertEqual(self.definition(other), 'CREATE TABLE "t" '
                                 '(id INTEGER PRIMARY KEY, v TEXT NOT NULL)')
                other.close()
                self.refused(("t", self.BAD), self.BAD_MESSAGE,
                             error=sqlite3.IntegrityError)
                self.assertFalse(c.in_transaction)
                self.assertEqual(settings(c), (fk, legacy))

    def test_inside_transaction_commit_and_rollback(self):
        for fk, legacy in ((0, 0), (1, 0), (0, 1), (1, 1)):
            with self.subTest(foreign_keys=fk, legacy_alter_table=legacy):
                c = self.conn
                c.execute("PRAGMA foreign_keys = %d" % fk)
                c.execute("PRAGMA legacy_alter_table = %d" % legacy)
                before = self.definition()
                c.execute("BEGIN")
                c.execute("INSERT INTO t (v) VALUES ('c')")
                self.assertEqual(self.rebuild("t", "CREATE TABLE t (id INTEGER "
                                              "PRIMARY KEY, v TEXT, w)"), 3)
                self.assertTrue(c.in_transaction)
                self.assertEqual(settings(c), (fk, legacy))
                c.execute("ROLLBACK")   # undoes the rebuild and the insert
                self.assertEqual(self.definition(), before)
                self.assertEqual(self.rows("SELECT * FROM t"), [(1, "a"), (2, "b")])

                c.execute("BEGIN")
                c.execute("INSERT INTO t (v) VALUES ('c')")
                self.refused(("t", self.BAD), self.BAD_MESSAGE,
                             error=sqlite3.IntegrityError)
                self.assertTrue(c.in_transaction)   # the caller's work stays
                self.assertEqual(settings(c), (fk, legacy))
                self.assertEqual(self.rebuild("t", self.NEW), 3)
                c.execute("COMMIT")
                self.assertEqual(settings(c), (fk, legacy))
                self.assertEqual(self.rows("SELECT * FROM t"),
                                 [(1, "a"), (2, "b"), (3, "c")])
                c.execute("DELETE FROM t WHERE id = 3")

    def test_inside_a_savepoint(self):
        c = self.conn
        c.execute("SAVEPOINT outer_sp")
        self.assertEqual(self.rebuild("t", self.NEW), 2)
        c.execute("ROLLBACK TO outer_sp")
        c.execute("RELEASE outer_sp")
        self.assertEqual(self.definition(), "CREATE TABLE t (id INTEGER PRIMARY KEY, v)")

    def test_python_default_isolation_level(self):
        c = sqlite3.connect(self.path)   # implicit BEGIN before DML
        c.enable_load_extension(True)
        c.load_extension(EXTENSION)
        c.execute("INSERT INTO t (v) VALUES ('c')")
        self.assertEqual(c.execute("SELECT migrate_rebuild('t', ?)",
                                   (self.NEW,)).fetchone()[0], 3)
        c.rollback()
        self.assertEqual(self.definition(c), "CREATE TABLE t (id INTEGER PRIMARY KEY, v)")
        self.assertEqual(c.execute("SELECT migrate_rebuild('t', ?)",
                                   (self.NEW,)).fetchone()[0], 2)
        self.assertFalse(c.in_transaction)   # a SELECT: autocommit, committed
        c.close()
        self.assertEqual(self.definition(), 'CREATE TABLE "t" (id INTEGER PRIMARY KEY, '
                                            'v TEXT NOT NULL)')

    def migrations(self, upgrade, downgrade=None):
        folder = os.path.join(self.tmp, "migrations")
        shutil.rmtree(folder, ignore_errors=True)
        os.mkdir(folder)
        revision(folder, "a1", "", "CREATE TABLE note (x);")
        revision(folder, "b2", "a1", upgrade, downgrade)
        return folder

    def test_from_a_revision_run_by_migrate_to(self):
        c = self.conn
        c.executescript("""
            PRAGMA foreign_keys = ON;
            CREATE TABLE child (id INTEGER PRIMARY KEY,
                                tid INTEGER REFERENCES t(id) ON DELETE CASCADE);
            INSERT INTO child (tid) VALUES (1), (2), (2);
        """)
        folder = self.migrations(
            "SELECT migrate_rebuild('t', 'CREATE TABLE t (id INTEGER PRIMARY KEY, "
            "v TEXT NOT NULL, n INTEGER NOT NULL DEFAULT 0)');\n"
            "UPDATE t SET n = length(v);",
            "SELECT migrate_rebuild('t', 'CREATE TABLE t (id INTEGER PRIMARY KEY, v)');")
        self.assertEqual(self.rows("SELECT migrate_to('head', migrate_bundle(?))",
                                   (folder,)), [("b2",)])
        self.assertFalse(c.in_transaction)
        self.assertEqual(self.rows("SELECT * FROM t"), [(1, "a", 1), (2, "b", 1)])
        self.assertEqual(self.rows("SELECT * FROM child"), [(1, 1), (2, 2), (3, 2)])
        self.assertEqual(settings(c), (1, 0))
        self.assertEqual(self.rows("SELECT migrate_to('a1', migrate_bundle(?))",
                                   (folder,)), [("a1",)])
        self.assertEqual(self.rows("SELECT * FROM t"), [(1, "a"), (2, "b")])
        self.assertEqual(self.rows("SELECT * FROM child"), [(1, 1), (2, 2), (3, 2)])
        self.assertEqual(settings(c), (1, 0))
        # inside the caller's transaction too
        c.execute("BEGIN")
        self.assertEqual(self.rows("SELECT migrate_to('head', migrate_bundle(?))",
                                   (folder,)), [("b2",)])
        self.assertEqual(settings(c), (1, 0))
        c.execute("ROLLBACK")
        self.assertEqual(self.rows("SELECT migrate_current()"), [("a1",)])
        self.assertEqual(self.rows("SELECT * FROM t"), [(1, "a"), (2, "b")])

    def test_from_a_transaction_none_revision(self):
        c = self.conn
        c.executescript("""
            PRAGMA foreign_keys = ON;
            CREATE TABLE child (tid INTEGER REFERENCES t(id) ON DELETE CASCADE);
            INSERT INTO child VALUES (1), (2);
        """)
        folder = os.path.join(self.tmp, "none")
        os.mkdir(folder)
        with open(os.path.join(folder, "n1_r.sql"), "w") as f:
            f.write("-- n1\n--\n-- Revision ID: n1\n-- Revises:\n"
                    "-- Transaction: none\n\n-- migrate:upgrade\n"
                    "SELECT migrate_rebuild('t', '%s');\n" % self.NEW)
        self.assertEqual(self.rows("SELECT migrate_to('head', migrate_bundle(?))",
                                   (folder,)), [("n1",)])
        self.assertEqual(self.definition(), 'CREATE TABLE "t" (id INTEGER PRIMARY '
                                            'KEY, v TEXT NOT NULL)')
        self.assertEqual(self.rows("SELECT * FROM child"), [(1,), (2,)])
        self.assertEqual(settings(c), (1, 0))

    def test_failing_revision_rolls_everything_back(self):
        c = self.conn
        c.execute("PRAGMA foreign_keys = ON")
        c.execute("SELECT migrate_to('a1', migrate_bundle(?))",
                  (self.migrations("SELECT 1;"),))
        before = dump(c)
        folder = self.migrations(
            "INSERT INTO note VALUES (1);\n"
            "SELECT migrate_rebuild('t', '%s');" % self.BAD.replace("'", "''"))
        with self.assertRaises(sqlite3.Error) as cm:
            c.execute("SELECT migrate_to('head', migrate_bundle(?))", (folder,))
        self.assertEqual(
            str(cm.exception),
            "migrate_to('head'): upgrade of b2 (b2) failed at b2_r.sql:8: "
            + self.BAD_MESSAGE + " [statement: SELECT migrate_rebuild('t', "
            "'CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL CHECK "
            "(v <> ''b''))');]; nothing was changed")
        self.assertEqual(dump(c), before)
        self.assertEqual(settings(c), (1, 0))


class Refusals(Base):
    """Arguments, state, and what is not a table."""

    def setUp(self):
        super().setUp()
        self.tmp = tempfile.mkdtemp(prefix="migrate-rebuild-")
        self.addCleanup(shutil.rmtree, self.tmp)
        self.conn.executescript("""
            CREATE TABLE t (id INTEGER PRIMARY KEY, v);
            INSERT INTO t (v) VALUES ('a'), ('b');
        """)

    NEW = "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"

    def test_bad_arguments(self):
        cases = [
            ((None, self.NEW),
             "migrate_rebuild(): table is NULL; give the name of the table to "
             "rebuild"),
            (("t", None),
             "migrate_rebuild('t'): create_sql is NULL; give the table's new "
             "definition, CREATE TABLE t (...). Nothing was changed"),
            (("t", "CREATE INDEX t_v ON t(v)"),
             "migrate_rebuild('t'): create_sql must be one CREATE TABLE "
             "statement, the new definition of t under its own name; got: "
             "CREATE INDEX t_v ON t(v). Nothing was changed"),
            (("t", "DROP TABLE t"),
             "migrate_rebuild('t'): create_sql must be one CREATE TABLE "
             "statement, the new definition of t under its own name; got: "
             "DROP TABLE t. Nothing was changed"),
            (("t", "CREATE TABLE u (id INTEGER PRIMARY KEY, v TEXT)"),
             "migrate_rebuild('t'): create_sql defines table u, not t; write "
             "the new definition under the table's own name (rename it "
             "afterwards with ALTER TABLE ... RENAME TO). Nothing was changed"),
            (("t", "CREATE TEMP TABLE t (id INTEGER PRIMARY KEY, v TEXT)"),
             "migrate_rebuild('t'): create_sql creates a TEMP table; the "
             "rebuilt table stays in the main database, so write CREATE TABLE "
             "t (...). Nothing was changed"),
            (("t", "CREATE TABLE aux.t (id INTEGER PRIMARY KEY, v TEXT)"),
             "migrate_rebuild('t'): create_sql names schema aux; only tables "
             "of the main database can be rebuilt. Nothing was changed"),
            (("t", "CREATE TABLE t AS SELECT * FROM t"),
             "migrate_rebuild('t'): create_sql is CREATE TABLE ... AS SELECT, "
             "which declares no constraints; write the column definitions. "
             "Nothing was changed"),
            (("t", self.NEW + "; DROP TABLE t"),
             "migrate_rebuild('t'): create_sql holds more than one statement; "
             "give exactly one CREATE TABLE statement. Nothing was changed"),
            (("t", "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, )"),
             "migrate_rebuild('t'): create_sql does not create a table: near "
             "\")\": syntax error. Nothing was changed"),
            (("nope", "CREATE TABLE nope (x)"),
             "migrate_rebuild('nope'): no table named nope in the main "
             "database; check the name (SELECT name FROM sqlite_schema WHERE "
             "type = 'table'). Nothing was changed"),
            (("t", self.NEW, "{bad json"),
             "migrate_rebuild('t'): column_map is not valid JSON: malformed "
             "JSON. Nothing was changed"),
            (("t", self.NEW, '["v"]'),
             "migrate_rebuild('t'): column_map must be a JSON object {\"new "
             "column\": \"old column or expression\"}; got a JSON array. "
             "Nothing was changed"),
            (("t", self.NEW, 42),
             "migrate_rebuild('t'): column_map must be JSON text such as "
             "'{\"new column\": \"old column or expression\"}', or NULL. "
             "Nothing was changed"),
            (("t", self.NEW, '{"w": "v"}'),
             "migrate_rebuild('t'): column_map names column w, which the new "
             "definition does not have; its keys are the new table's column "
             "names. Nothing was changed"),
            (("t", self.NEW, '{"v": 1}'),
             "migrate_rebuild('t'): column_map entry v must be a string: an "
             "old column's name or a SQL expression over the old columns. "
             "Nothing was changed"),
            (("t", self.NEW, '{"v": "nosuch"}'),
             "migrate_rebuild('t'): column_map does not compile; cannot copy "
             "the rows: no such column: nosuch. Nothing was changed"),
            (("t", "CREATE TABLE t (a, b)"),
             "migrate_rebuild('t'): the new definition shares no column with "
             "the old one, so no data would be kept; name the sources in "
             "column_map {\"new column\": \"old column or expression\"}. "
             "Nothing was changed"),
        ]
        for args, message in cases:
            with self.subTest(args=args):
                self.refused(args, message)
        # NULL column_map is no map
        self.assertEqual(self.rebuild("t", self.NEW, None), 2)

    def test_not_a_rebuildable_table(self):
        c = self.conn
        c.executescript("""
            CREATE VIEW v AS SELECT * FROM t;
            CREATE VIRTUAL TABLE vt USING fts5(body);
            CREATE TABLE a (id INTEGER PRIMARY KEY AUTOINCREMENT);
            CREATE TEMP TABLE tt (x);
            CREATE TEMP TABLE t (x);
        """)
        cases = [
            (("v", "CREATE TABLE v (id)"),
             "migrate_rebuild('v'): v is a view; rebuild the tables it reads, "
             "or DROP VIEW and CREATE VIEW it again. Nothing was changed"),
            (("vt", "CREATE TABLE vt (body)"),
             "migrate_rebuild('vt'): vt is a virtual table; its module owns "
             "its storage, so drop and create it again instead. Nothing was "
             "changed"),
            (("vt_data", "CREATE TABLE vt_data (id INTEGER PRIMARY KEY, block BLOB)"),
             "migrate_rebuild('vt_data'): vt_data is a shadow table that a "
             "virtual table keeps its data in; it cannot be rebuilt. Nothing "
             "was changed"),
            (("sqlite_sequence", "CREATE TABLE sqlite_sequence (name, seq)"),
             "migrate_rebuild('sqlite_sequence'): sqlite_sequence is an "
             "internal table of SQLite and cannot be rebuilt. Nothing was "
             "changed"),
            (("tt", "CREATE TABLE tt (x)"),
             "migrate_rebuild('tt'): table tt is in schema temp; only tables "
             "of the main database can be rebuilt. Nothing was changed"),
            (("t", self.NEW),
             "migrate_rebuild('t'): a TEMP table or view is also named t and "
             "hides the main table; drop it first (DROP TABLE temp.t). Nothing "
             "was changed"),
        ]
        for args, message in cases:
            with self.subTest(args=args):
                self.refused(args, message)

    def test_refused_while_another_statement_is_active(self):
        c = self.conn
        busy = "migrate_rebuild('t'): must run as a statement of its own, " \
               "e.g. " \
               "SELECT migrate_rebuild(...); another statement on this " \
               "connection is still active (an unfinished SELECT, or a call " \
               "inside INSERT ... SELECT, a trigger or a CHECK); finish or " \
               "reset it first. Nothing was changed"
        cur = c.cursor()
        cur.execute("SELECT id FROM t")
        self.assertEqual(cur.fetchone(), (1,))     # unfinished
        self.refused(("t", self.NEW), busy)
        cur.close()
        c.execute("CREATE TABLE log (n)")
        before = dump(c)
        with self.assertRaises(sqlite3.OperationalError) as cm:
            c.execute("INSERT INTO log SELECT migrate_rebuild('t', ?)", (self.NEW,))
        self.assertEqual(str(cm.exception), busy)
        self.assertEqual(dump(c), before)
        with self.assertRaises(sqlite3.OperationalError) as cm:
            c.execute("SELECT migrate_rebuild('t', ?) FROM t", (self.NEW,))
        self.assertEqual(
            str(cm.exception),
            "migrate_rebuild('t'): must run as a statement of its own, e.g. "
            "SELECT migrate_rebuild(...); it was called from a statement that reads "
            "tables (SELECT ... FROM), which keeps them locked. Nothing was "
            "changed")
        self.assertEqual(dump(c), before)
        self.assertEqual(self.rebuild("t", self.NEW), 2)

    def test_busy(self):
        path = os.path.join(self.tmp, "busy.db")
        # no busy timeout: meet the lock at once
        c = connect(path, timeout=0)
        other = sqlite3.connect(path, isolation_level=None)
        try:
            c.executescript("CREATE TABLE t (id INTEGER PRIMARY KEY, v); "
                            "INSERT INTO t (v) VALUES ('a');")
            other.execute("BEGIN IMMEDIATE")   # holds the write lock
            self.refused(
                ("t", self.NEW),
                "migrate_rebuild('t'): cannot take the write lock: database "
                "is locked (another connection is writing; set a busy timeout "
                "to wait for it). Nothing was changed", conn=c)
            c.execute("BEGIN")   # deferred: the first write meets the lock
            self.refused(
                ("t", self.NEW),
                "migrate_rebuild('t'): cannot take the write lock: database "
                "is locked (another connection is writing; set a busy timeout "
                "to wait for it). Nothing was changed", conn=c)
            self.assertTrue(c.in_transaction)
            c.execute("ROLLBACK")
            other.execute("ROLLBACK")
            self.assertEqual(self.rebuild("t", self.NEW, conn=c), 1)
        finally:
            c.close()
            other.close()

    def test_registered_direct_only(self):
        c = self.conn
        self.assertEqual(
            self.rows("SELECT narg, flags & ? FROM pragma_function_list "
                      "WHERE name = 'migrate_rebuild' ORDER BY narg",
                      (SQLITE_DIRECTONLY,)),
            [(2, SQLITE_DIRECTONLY), (3, SQLITE_DIRECTONLY)])
        c.execute("CREATE VIEW sneaky AS SELECT migrate_rebuild('t', 'CREATE TABLE t (v)')")
        with self.assertRaises(sqlite3.OperationalError) as cm:
            c.execute("SELECT * FROM sneaky")
        self.assertEqual(str(cm.exception), "unsafe use of migrate_rebuild()")

    def test_quoted_names(self):
        c = self.conn
        c.execute('CREATE TABLE "my ""odd"" table" ("the id" INTEGER PRIMARY KEY, '
                  '"v v" TEXT)')
        c.execute('INSERT INTO "my ""odd"" table" VALUES (3, \'x\')')
        c.execute('CREATE INDEX "odd idx" ON "my ""odd"" table"("v v")')
        self.assertEqual(self.rebuild(
            'MY "ODD" TABLE',
            'CREATE TABLE IF NOT EXISTS main.[my "odd" table] /* new */ '
            '("the id" INTEGER PRIMARY KEY, "v v" TEXT NOT NULL);'), 1)
        self.assertEqual(
            self.rows("SELECT type, name, sql FROM sqlite_schema WHERE tbl_name "
                      "= 'my \"odd\" table' ORDER BY type"),
            [("index", "odd idx", 'CREATE INDEX "odd idx" ON "my ""odd"" table"("v v")'),
             ("table", 'my "odd" table',
              'CREATE TABLE "my ""odd"" table" /* new */ ("the id" INTEGER '
              'PRIMARY KEY, "v v" TEXT NOT NULL)')])
        self.assertEqual(self.rows('SELECT * FROM "my ""odd"" table"'), [(3, "x")])


def bench(n=1_000_000):
    """A rebuild of an n-row table with two indexes, against the same 12 steps
    written by hand in SQL, each on a fresh copy of one file."""
    tmp = tempfile.mkdtemp(prefix="migrate-rebuild-bench-")
    try:
        seed = os.path.join(tmp, "seed.db")
        c = sqlite3.connect(seed, isolation_level=None)
        c.executescript("""
            CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, email TEXT, n);
            WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s
                                    WHERE i < %d)
            INSERT INTO t SELECT i, 'name ' || i, 'user' || i || '@example.com',
                                 i %% 1000 FROM s;
            CREATE INDEX t_name ON t(name);
            CREATE UNIQUE INDEX t_email ON t(email);
        """ % n)
        c.close()
        new = ("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, "
               "email TEXT NOT NULL, n INTEGER NOT NULL)")
        by_hand = """
            PRAGMA foreign_keys = OFF;
            BEGIN IMMEDIATE;
            CREATE TABLE t_new (id INTEGER PRIMARY KEY, name TEXT NOT NULL,
                                email TEXT NOT NULL, n INTEGER NOT NULL);
            INSERT INTO t_new (id, name, email, n) SELECT id, name, email, n FROM t;
            DROP TABLE t;
            PRAGMA legacy_alter_table = ON;
            ALTER TABLE t_new RENAME TO t;
            PRAGMA legacy_alter_table = OFF;
            CREATE INDEX t_name ON t(name);
            CREATE UNIQUE INDEX t_email ON t(email);
            PRAGMA foreign_key_check(t);
            COMMIT;
            PRAGMA foreign_keys = ON;
        """
        results = []
        for label in ("migrate_rebuild", "by hand") * 3:
            path = os.path.join(tmp, "run.db")
            shutil.copyfile(seed, path)
            c = connect(path)
            c.execute("PRAGMA foreign_keys = ON")
            t0, cpu0 = time.perf_counter(), time.process_time()
            if label == "by hand":
                c.executescript(by_hand)
            else:
                c.execute("SELECT migrate_rebuild('t', ?)", (new,)).fetchone()
            results.append((label, time.perf_counter() - t0,
                            time.process_time() - cpu0))
            c.close()
            os.remove(path)
        print("%d rows, two indexes (rollback journal, synchronous=FULL):" % n)
        for label, sec, cpu in results:
            print("  %-16s %.2f s wall, %.2f s CPU" % (label, sec, cpu))
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--bench":
        bench(int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000)
    else:
        unittest.main()
