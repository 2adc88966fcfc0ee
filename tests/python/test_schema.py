"""Schema snapshots and comparison (ext/schema.c): drift and the round trip.

Through the SQL entry points that migRegisterSchema() registers:

    migrate_schema_diff(history_sql, database_sql)  -> NULL or the report
    migrate_drift([bundle])                          -> NULL or "drift: ..." lines
    migrate_roundtrip([bundle])                      -> NULL or findings

and, for leaks, a small C program linked against build/libsqlitemigrate.a
and run under AddressSanitizer with leak detection (needs cc).

    /usr/bin/python3 -m unittest discover -s tests/python -p test_schema.py
    MIGRATE_SO=/path/to/migrate /usr/bin/python3 -m unittest ...

Every expected report is exact text: the lines are what a person reads in
`sqlite-migrate check` and `sqlite-migrate test`.
"""

import os
import shutil
import sqlite3
import subprocess
import tempfile
import textwrap
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
MIGRATIONS = os.path.join(REPO, "migrations")
EXTENSION = os.environ.get("MIGRATE_SO", os.path.join(REPO, "build", "migrate"))
LIBRARY = os.path.join(REPO, "build", "libsqlitemigrate.a")


def connect(path=":memory:"):
    """A connection with the extension loaded; fails (never skips) when it
    cannot be loaded."""
    if not hasattr(sqlite3.Connection, "enable_load_extension"):
        raise AssertionError(
            "this Python's sqlite3 module cannot load extensions; use "
            "/usr/bin/python3")
    conn = sqlite3.connect(path, isolation_level=None)
    conn.enable_load_extension(True)
    try:
        conn.load_extension(EXTENSION)
    except sqlite3.Error as e:
        raise AssertionError(
            "cannot load the migrate extension %s: %s (build it with `make` "
            "or set MIGRATE_SO)" % (EXTENSION, e))
    if conn.execute("SELECT count(*) FROM pragma_function_list "
                    "WHERE name = 'migrate_schema_diff'").fetchone()[0] == 0:
        conn.close()
        raise AssertionError(
            "%s does not register migrate_schema_diff(): "
            "sqlite3_migrate_init() must call migRegisterSchema() "
            "(ext/schema.c)" % EXTENSION)
    return conn


def revision(rid, revises, upgrade, downgrade=None, message=None,
             extra=""):
    """One revision script (README.md, "Revision scripts")."""
    text = "-- %s\n--\n-- Revision ID: %s\n-- Revises: %s\n%s\n" % (
        message or "revision " + rid, rid, revises, extra)
    text += "-- migrate:upgrade\n" + textwrap.dedent(upgrade).strip() + "\n"
    if downgrade is not None:
        text += "\n-- migrate:downgrade\n" + textwrap.dedent(downgrade).strip() + "\n"
    return text


# Small histories, one problem each (file name -> script).
HISTORIES = {
    "appfunc": {
        "a1_x.sql": revision("a1", "", """
            CREATE TABLE t(a);
            INSERT INTO t VALUES (app_value());
        """, "DROP TABLE t;"),
    },
    "bad": {
        "a1_notes.sql": revision("a1", "", """
            CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);
        """, "DROP TABLE notes;"),
        "b2_tags.sql": revision("b2", "a1", """
            CREATE TABLE tags (note_id INTEGER REFERENCES notes (id),
                               tag TEXT NOT NULL);
            CREATE INDEX ix_tags_tag ON tags (tag);
            ALTER TABLE notes ADD COLUMN title TEXT;
        """, """
            DROP INDEX ix_tags_tag;
            SELECT migrate_rebuild('notes', 'CREATE TABLE notes (
                id INTEGER PRIMARY KEY, body TEXT)');
        """, message="Add tags"),
        "c3_ok.sql": revision("c3", "b2", """
            CREATE INDEX ix_notes_title ON notes (title);
        """, "DROP INDEX ix_notes_title;"),
    },
    "bad2": {
        "a1_notes.sql": revision("a1", "", """
            CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);
        """, "DROP TABLE notes;"),
        "b2_relax.sql": revision("b2", "a1", """
            CREATE TABLE new_notes (id INTEGER PRIMARY KEY, body TEXT);
            INSERT INTO new_notes SELECT * FROM notes;
            DROP TABLE notes;
            ALTER TABLE new_notes RENAME TO notes;
        """, """
            CREATE TABLE old_notes (id INTEGER PRIMARY KEY, body BLOB);
            INSERT INTO old_notes SELECT * FROM notes;
            DROP TABLE notes;
            ALTER TABLE old_notes RENAME TO notes;
        """),
    },
    "faildown": {
        "a1_notes.sql": revision("a1", "", "CREATE TABLE notes (id);",
                                 "DROP TABLE notes;"),
        "b2_view.sql": revision("b2", "a1",
                                "CREATE VIEW v_notes AS SELECT id FROM notes;",
                                "DROP VIEW v_nots;", message="Add view"),
    },
    "irrev": {
        "a1_notes.sql": revision("a1", "", "CREATE TABLE notes (id);",
                                 "DROP TABLE notes;"),
        "b2_data.sql": revision("b2", "a1",
                                "INSERT INTO notes VALUES (1);"),
    },
    "heads": {
        "a1_notes.sql": revision("a1", "", "CREATE TABLE notes (id);",
                                 "DROP TABLE notes;"),
        "b2_x.sql": revision("b2", "a1", "CREATE TABLE x (id);",
                             "DROP TABLE x;"),
        "c3_y.sql": revision("c3", "a1", "CREATE TABLE y (id);",
                             "DROP TABLE y;"),
    },
    "merge": {
        "a1_base.sql": revision("a1", "", "CREATE TABLE base (id);",
                                "DROP TABLE base;"),
        "b2_left.sql": revision("b2", "a1", "CREATE TABLE l (id);",
                                "DROP TABLE l;"),
        "c3_right.sql": revision("c3", "a1", "CREATE TABLE r (id);",
                                 "DROP TABLE r;"),
        "d4_merge.sql": revision("d4", "b2, c3",
                                 "CREATE VIEW lr AS SELECT * FROM l, r;",
                                 "DROP VIEW lr;"),
        "e5_dep.sql": revision("e5", "d4",
                               "CREATE INDEX ix_l ON l (id);",
                               "DROP INDEX ix_l;",
                               extra="-- Depends On: c3"),
    },
    "failup": {
        "a1_notes.sql": revision("a1", "", "CREATE TABLE notes (id);",
                                 "DROP TABLE notes;"),
        "b2_bad.sql": revision("b2", "a1",
                               "CREATE INDEX ix ON nothere (id);",
                               "DROP INDEX ix;", message="Bad index"),
        "c3_child.sql": revision("c3", "b2", "CREATE TABLE c (id);",
                                 "DROP TABLE c;"),
    },
    "whole": {
        "a1_base.sql": revision("a1", "", "CREATE TABLE base (x);",
                                "DROP TABLE base;"),
        "b2_left.sql": revision("b2", "a1",
                                "CREATE TABLE IF NOT EXISTS shared (x);",
                                "DROP TABLE shared;", message="Left"),
        "c3_right.sql": revision("c3", "a1",
                                 "CREATE TABLE IF NOT EXISTS shared (x);",
                                 "DROP TABLE shared;", message="Right"),
        "d4_merge.sql": revision("d4", "b2, c3", "CREATE TABLE d (x);",
                                 "DROP TABLE d;"),
    },
}


class Folders:
    """Temporary migrations folders, removed at the end."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="schema-test-")

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def folder(self, name, scripts):
        d = os.path.join(self.tmp, name)
        os.makedirs(d)
        for fname, text in scripts.items():
            with open(os.path.join(d, fname), "w") as f:
                f.write(text)
        return d


# ---------------------------------------------------------------------------
# Comparison: one kind of difference per test, exact report text
# ---------------------------------------------------------------------------

class SchemaDiffTest(unittest.TestCase):
    def setUp(self):
        self.conn = connect()

    def tearDown(self):
        self.conn.close()

    def diff(self, history, database):
        return self.conn.execute("SELECT migrate_schema_diff(?, ?)",
                                 (history, database)).fetchone()[0]

    def test_equal_schemas_give_null(self):
        sql = """CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT);
                 CREATE INDEX ix_b ON t(b);"""
        self.assertIsNone(self.diff(sql, sql))
        self.assertIsNone(self.diff("", ""))

    def test_table_missing_and_added(self):
        self.assertEqual(
            self.diff("CREATE TABLE notes(id)", ""),
            "table notes: missing in the database")
        self.assertEqual(
            self.diff("", "CREATE TABLE notes(id)"),
            "table notes: in the database, not in the history")

    def test_column_type(self):
        self.assertEqual(
            self.diff("CREATE TABLE notes(body TEXT)",
                      "CREATE TABLE notes(body BLOB)"),
            "table notes: column body: type TEXT in the history, BLOB in the "
            "database")
        self.assertEqual(
            self.diff("CREATE TABLE t(c VARCHAR(10))", "CREATE TABLE t(c)"),
            "table t: column c: type VARCHAR(10) in the history, no type in "
            "the database")

    def test_column_not_null(self):
        self.assertEqual(
            self.diff("CREATE TABLE t(c TEXT NOT NULL)",
                      "CREATE TABLE t(c TEXT)"),
            "table t: column c: NOT NULL in the history, nullable in the "
            "database")

    def test_column_default(self):
        self.assertEqual(
            self.diff("CREATE TABLE t(c INTEGER DEFAULT 0)",
                      "CREATE TABLE t(c INTEGER DEFAULT 1)"),
            "table t: column c: default 0 in the history, 1 in the database")
        self.assertEqual(
            self.diff("CREATE TABLE t(c TEXT DEFAULT 'x')",
                      "CREATE TABLE t(c TEXT)"),
            "table t: column c: default 'x' in the history, no default in "
            "the database")

    def test_column_primary_key(self):
        self.assertEqual(
            self.diff("CREATE TABLE t(id INTEGER PRIMARY KEY, b)",
                      "CREATE TABLE t(id INTEGER, b)"),
            "table t: the rowid alias column id in the history, no rowid "
            "alias in the database\n"
            "table t: column id: PRIMARY KEY in the history, not in the "
            "PRIMARY KEY in the database")
        # only SQLite knows: a column's PRIMARY KEY DESC is no rowid alias,
        # a table constraint's PRIMARY KEY (id DESC) is one, as INTEGER
        # PRIMARY KEY is; INT and INTEGER differ only where that changes
        self.assertEqual(
            self.diff("CREATE TABLE t(id INTEGER PRIMARY KEY, b)",
                      "CREATE TABLE t(id INTEGER PRIMARY KEY DESC, b)"),
            "table t: the rowid alias column id in the history, no rowid "
            "alias in the database")
        self.assertIsNone(
            self.diff("CREATE TABLE t(id INTEGER PRIMARY KEY, b)",
                      "CREATE TABLE t(id INTEGER, b, PRIMARY KEY (id DESC))"))
        self.assertIsNone(
            self.diff("CREATE TABLE t(id INTEGER PRIMARY KEY, b INT(11))",
                      "CREATE TABLE t(id INTEGER PRIMARY KEY, b INTEGER(11))"))
        self.assertEqual(
            self.diff("CREATE TABLE t(b INT(11))", "CREATE TABLE t(b INT(10))"),
            "table t: column b: type INTEGER(11) in the history, INTEGER(10) "
            "in the database")
        self.assertIsNone(
            self.diff("CREATE TABLE t(id INT PRIMARY KEY DESC, b)",
                      "CREATE TABLE t(id INTEGER PRIMARY KEY DESC, b)"))
        self.assertIsNone(
            self.diff("CREATE TABLE t(id INT PRIMARY KEY, b) WITHOUT ROWID",
                      "CREATE TABLE t(id INTEGER PRIMARY KEY, b) WITHOUT "
                      "ROWID"))
        self.assertEqual(
            self.diff("CREATE TABLE t(id INT PRIMARY KEY, b)",
                      "CREATE TABLE t(id INTEGER PRIMARY KEY, b)"),
            "table t: no rowid alias in the history, the rowid alias column "
            "id in the database")
        self.assertEqual(
            self.diff("CREATE TABLE t(a, b, PRIMARY KEY (a, b))",
                      "CREATE TABLE t(a, b, PRIMARY KEY (b, a))"),
            "table t: column a: PRIMARY KEY column 1 of 2 in the history, "
            "PRIMARY KEY column 2 of 2 in the database\n"
            "table t: column b: PRIMARY KEY column 2 of 2 in the history, "
            "PRIMARY KEY column 1 of 2 in the database")

    def test_column_missing_added_and_order(self):
        self.assertEqual(
            self.diff("CREATE TABLE t(a, b, c)", "CREATE TABLE t(a, d)"),
            "table t: column b: missing in the database\n"
            "table t: column c: missing in the database\n"
            "table t: column d: in the database, not in the history")
        self.assertEqual(
            self.diff("CREATE TABLE t(a, b, c)", "CREATE TABLE t(a, c, b)"),
            "table t: column order (a, b, c) in the history, (a, c, b) in "
            "the database")

    def test_column_collate_and_generated(self):
        self.assertEqual(
            self.diff("CREATE TABLE t(a TEXT COLLATE NOCASE)",
                      "CREATE TABLE t(a TEXT)"),
            "table t: column a: COLLATE NOCASE in the history, no COLLATE in "
            "the database")
        self.assertEqual(
            self.diff("CREATE TABLE t(a, b AS (a + 1) STORED)",
                      "CREATE TABLE t(a, b AS (a + 2))"),
            "table t: column b: generated as (a + 1) STORED in the history, "
            "(a + 2) VIRTUAL in the database")

    def test_check_constraint(self):
        self.assertEqual(
            self.diff("CREATE TABLE t(a INTEGER CHECK (a > 0))",
                      "CREATE TABLE t(a INTEGER CHECK (a >= 0))"),
            "table t: CHECK (a > 0): missing in the database\n"
            "table t: CHECK (a >= 0): in the database, not in the history")

    def test_unique_constraint_and_table_options(self):
        self.assertEqual(
            self.diff("CREATE TABLE t(a, b, UNIQUE (a, b))",
                      "CREATE TABLE t(a, b)"),
            "table t: UNIQUE (a, b): missing in the database")
        self.assertEqual(
            self.diff("CREATE TABLE t(a PRIMARY KEY) WITHOUT ROWID",
                      "CREATE TABLE t(a PRIMARY KEY)"),
            "table t: WITHOUT ROWID in the history, a rowid table in the "
            "database\n"
            "table t: column a: NOT NULL in the history, nullable in the "
            "database")
        self.assertEqual(
            self.diff("CREATE TABLE t(id INTEGER PRIMARY KEY AUTOINCREMENT)",
                      "CREATE TABLE t(id INTEGER PRIMARY KEY)"),
            "table t: AUTOINCREMENT in the history, no AUTOINCREMENT in the "
            "database")

    def test_foreign_key(self):
        parent = "CREATE TABLE p(id INTEGER PRIMARY KEY);"
        self.assertEqual(
            self.diff(parent + "CREATE TABLE c(x REFERENCES p(id) "
                               "ON DELETE CASCADE)",
                      parent + "CREATE TABLE c(x REFERENCES p(id))"),
            "table c: foreign key (x): REFERENCES p(id) ON DELETE CASCADE in "
            "the history, REFERENCES p(id) in the database")
        self.assertEqual(
            self.diff(parent + "CREATE TABLE c(x REFERENCES p(id))",
                      parent + "CREATE TABLE c(x)"),
            "table c: foreign key (x): missing in the database")
        self.assertEqual(
            self.diff(parent + "CREATE TABLE c(x)",
                      parent + "CREATE TABLE c(x, FOREIGN KEY (x) "
                               "REFERENCES p ON UPDATE SET NULL)"),
            "table c: foreign key (x): in the database, not in the history")

    def test_index_missing_and_extra(self):
        t = "CREATE TABLE t(a, b);"
        self.assertEqual(
            self.diff(t + "CREATE INDEX ix_a ON t(a)", t),
            "index ix_a: missing in the database")
        self.assertEqual(
            self.diff(t, t + "CREATE INDEX ix_b ON t(b)"),
            "index ix_b: in the database, not in the history")

    def test_index_columns_and_unique(self):
        t = "CREATE TABLE t(a, b);"
        self.assertEqual(
            self.diff(t + "CREATE INDEX ix ON t(a, b)",
                      t + "CREATE UNIQUE INDEX ix ON t(a DESC)"),
            "index ix: not UNIQUE in the history, UNIQUE in the database\n"
            "index ix: columns (a, b) in the history, (a DESC) in the "
            "database")

    def test_partial_index_where(self):
        t = "CREATE TABLE t(a, archived);"
        self.assertEqual(
            self.diff(t + "CREATE INDEX ix ON t(a) WHERE archived = 0",
                      t + "CREATE INDEX ix ON t(a) WHERE archived = 1"),
            "index ix: WHERE archived = 0 in the history, archived = 1 in "
            "the database")
        self.assertEqual(
            self.diff(t + "CREATE INDEX ix ON t(a) WHERE archived = 0",
                      t + "CREATE INDEX ix ON t(a)"),
            "index ix: WHERE archived = 0 in the history, no WHERE in the "
            "database")

    def test_expression_index(self):
        t = "CREATE TABLE t(a TEXT, b);"
        self.assertEqual(
            self.diff(t + "CREATE INDEX ix ON t(lower(a), b COLLATE NOCASE)",
                      t + "CREATE INDEX ix ON t(upper(a), b)"),
            "index ix: columns (lower(a), b COLLATE NOCASE) in the history, "
            "(upper(a), b) in the database")
        self.assertIsNone(
            self.diff(t + "CREATE INDEX ix ON t(LOWER( a ) DESC)",
                      t + "create index IX on T (lower(\"a\") desc)"))

    def test_trigger_body(self):
        t = "CREATE TABLE t(a, b);"
        self.assertEqual(
            self.diff(t + """CREATE TRIGGER trg AFTER INSERT ON t BEGIN
                               UPDATE t SET b = lower(NEW.b) WHERE a = NEW.a;
                             END""",
                      t + """CREATE TRIGGER trg AFTER INSERT ON t BEGIN
                               UPDATE t SET b = upper(NEW.b) WHERE a = NEW.a;
                             END"""),
            'trigger trg: differs: "...SET b = lower(new.b) WHERE a = new.a; '
            'END" in the history, "...SET b = upper(new.b) WHERE a = new.a; '
            'END" in the database')

    def test_view(self):
        t = "CREATE TABLE t(a, b);"
        self.assertEqual(
            self.diff(t + "CREATE VIEW v AS SELECT a FROM t WHERE b = 'x'",
                      t + "CREATE VIEW v AS SELECT a, b FROM t WHERE b = 'x'"),
            'view v: differs: "AS SELECT a FROM t WHERE b =..." in the '
            'history, "AS SELECT a, b FROM t WHERE b..." in the database')
        self.assertEqual(
            self.diff(t + "CREATE VIEW v AS SELECT a FROM t", t),
            "view v: missing in the database")

    def test_virtual_table(self):
        # the engine's own module is always there
        self.assertIsNone(self.diff("CREATE VIRTUAL TABLE m USING migrations",
                                    'create virtual table "M" using MIGRATIONS'))
        self.assertEqual(
            self.diff("CREATE VIRTUAL TABLE m USING migrations",
                      "CREATE VIRTUAL TABLE m USING migration_history"),
            'virtual table m: differs: "USING migrations" in the history, '
            '"USING migration_history" in the database')

    def test_shadow_tables_are_left_to_their_virtual_table(self):
        fts5 = self.conn.execute(
            "SELECT sqlite_compileoption_used('ENABLE_FTS5')").fetchone()[0]
        history = "CREATE VIRTUAL TABLE f USING fts5(a, b)"
        database = "CREATE VIRTUAL TABLE f USING fts5(a)"
        if not fts5:
            with self.assertRaises(sqlite3.OperationalError) as cm:
                self.diff(history, database)
            self.assertIn("no such module: fts5", str(cm.exception))
            return
        # f_content, f_data, ... are not reported on SQLite 3.37+
        want = ('virtual table f: differs: "USING fts5(a, b)" in the '
                'history, "USING fts5(a)" in the database')
        if sqlite3.sqlite_version_info < (3, 37):
            want = ("table f_content: column c1: missing in the database\n"
                    + want)
        self.assertEqual(self.diff(history, database), want)

    def test_strict_table(self):
        if sqlite3.sqlite_version_info < (3, 37):
            with self.assertRaises(sqlite3.OperationalError):
                self.diff("CREATE TABLE t(a INT) STRICT", "")
            return
        self.assertEqual(
            self.diff("CREATE TABLE t(a INT) STRICT",
                      "CREATE TABLE t(a INT)"),
            "table t: STRICT in the history, not STRICT in the database")

    def test_names_that_need_quotes(self):
        self.assertEqual(
            self.diff('CREATE TABLE "my table"("a b" INT, [c"d] TEXT);'
                      'CREATE INDEX "ix 1" ON "my table"("a b")',
                      'CREATE TABLE "My Table"("A B" INT, `c"d` TEXT);'
                      'CREATE INDEX "IX 1" ON "my table"("a b" DESC)'),
            'index ix 1: columns ("a b") in the history, ("a b" DESC) in '
            'the database')

    def test_a_view_whose_table_is_gone_can_still_be_compared(self):
        self.assertEqual(
            self.diff("CREATE TABLE t(a); CREATE VIEW v AS SELECT a FROM t;"
                      "DROP TABLE t;",
                      "CREATE TABLE t(a); CREATE VIEW v AS SELECT a FROM t"),
            "table t: in the database, not in the history")

    def test_string_literals_are_exact(self):
        t = "CREATE TABLE t(a, b);"
        self.assertEqual(
            self.diff(t + "CREATE VIEW v AS SELECT a FROM t WHERE b = 'X  y'",
                      t + "CREATE VIEW v AS SELECT a FROM t WHERE b = 'x y'"),
            'view v: differs: "...WHERE b = \'X  y\'" in the history, '
            '"...WHERE b = \'x y\'" in the database')

    def test_normalization_is_not_drift(self):
        history = """
            CREATE TABLE notes (
                id INTEGER PRIMARY KEY NOT NULL,
                body TEXT NOT NULL DEFAULT '' CHECK (length(body) < 100),
                kind TEXT COLLATE NOCASE,
                n INTEGER DEFAULT 0,
                UNIQUE (body, kind)
            );
            CREATE TABLE tags (
                note_id INTEGER REFERENCES notes (id) ON DELETE CASCADE,
                tag TEXT
            );
            CREATE INDEX ix_notes_kind ON notes (kind, n DESC)
                WHERE n > 0;
            CREATE VIEW v_notes AS SELECT id, body FROM notes WHERE n = -1;
            CREATE TRIGGER trg_notes AFTER INSERT ON notes
            BEGIN
                INSERT INTO tags (note_id, tag) VALUES (NEW.id, 'new; tag');
            END;
        """
        database = """
            -- written by hand, in another style
            create table "notes"("id" integer not null primary key,
              [body] text not null default ('') ,
              `kind` text collate nocase, "N" INTEGER DEFAULT (0),
              unique("body", kind), check ( LENGTH(body)<100 ));
            create table Tags(NOTE_ID integer, tag text,
              foreign key (note_id) references notes on delete cascade);
            create index "IX_NOTES_KIND" on notes(kind,"n" desc) where n>0;
            create view "v_notes" as select id,body from notes where n == - 1;
            create trigger trg_notes after insert on notes begin
              insert into tags(note_id,tag) values(new.id,'new; tag'); end;
        """
        self.assertIsNone(self.diff(history, database))

    def test_bookkeeping_and_sqlite_tables_are_ignored(self):
        history = "CREATE TABLE t(a)"
        database = """
            CREATE TABLE t(a);
            CREATE TABLE migrate_version(version_num TEXT PRIMARY KEY);
            CREATE TABLE migrate_log(id INTEGER PRIMARY KEY, revision TEXT);
            CREATE TABLE migrate_scripts(revision TEXT PRIMARY KEY);
            CREATE INDEX ix_log ON migrate_log(revision);
            CREATE TABLE s(id INTEGER PRIMARY KEY AUTOINCREMENT);
            DROP TABLE s;
            ANALYZE;
        """
        self.assertIsNone(self.diff(history, database))

    def test_report_order_is_deterministic(self):
        history = """
            CREATE TABLE b(x);
            CREATE TABLE a(x TEXT);
            CREATE INDEX ix_z ON a(x);
            CREATE VIEW v AS SELECT 1;
        """
        database = """
            CREATE VIEW w AS SELECT 1;
            CREATE TABLE a(x BLOB);
            CREATE INDEX ix_y ON a(x);
            CREATE TABLE c(x);
        """
        want = ("table a: column x: type TEXT in the history, BLOB in the "
                "database\n"
                "table b: missing in the database\n"
                "table c: in the database, not in the history\n"
                "index ix_y: in the database, not in the history\n"
                "index ix_z: missing in the database\n"
                "view v: missing in the database\n"
                "view w: in the database, not in the history")
        for _ in range(3):
            self.assertEqual(self.diff(history, database), want)

    def test_bad_sql_is_an_error(self):
        with self.assertRaises(sqlite3.OperationalError) as cm:
            self.diff("CREATE TABLE", "")
        self.assertEqual(
            str(cm.exception),
            'migrate_schema_diff(): the history SQL fails: incomplete input')

    def test_functions_are_direct_only(self):
        rows = self.conn.execute(
            "SELECT name, narg FROM pragma_function_list "
            "WHERE name IN ('migrate_schema_diff', 'migrate_drift', "
            "'migrate_roundtrip') ORDER BY name, narg").fetchall()
        self.assertEqual(rows, [("migrate_drift", 0), ("migrate_drift", 1),
                                ("migrate_roundtrip", 0),
                                ("migrate_roundtrip", 1),
                                ("migrate_schema_diff", 2)])
        self.conn.execute("CREATE TABLE t(a)")
        self.conn.execute(
            "CREATE VIEW v AS SELECT migrate_schema_diff('', '') FROM t")
        with self.assertRaises(sqlite3.OperationalError) as cm:
            self.conn.execute("SELECT * FROM v").fetchall()
        self.assertEqual(str(cm.exception),
                         "unsafe use of migrate_schema_diff()")


# ---------------------------------------------------------------------------
# Drift: the database against the schema its history gives at its version
# ---------------------------------------------------------------------------

class DriftTest(Folders, unittest.TestCase):
    def setUp(self):
        Folders.setUp(self)
        self.conn = connect()

    def tearDown(self):
        self.conn.close()
        Folders.tearDown(self)

    def drift(self, folder=MIGRATIONS):
        return self.conn.execute("SELECT migrate_drift(migrate_bundle(?))",
                                 (folder,)).fetchone()[0]

    def migrate(self, target, folder=MIGRATIONS):
        return self.conn.execute("SELECT migrate_to(?, migrate_bundle(?))",
                                 (target, folder)).fetchone()[0]

    def test_base_with_no_tables_is_clean(self):
        self.assertIsNone(self.drift())

    def test_every_version_of_the_example_history_is_clean(self):
        order = [r[0] for r in self.conn.execute(
            "SELECT revision FROM migrations(migrate_bundle(?))",
            (MIGRATIONS,))]
        self.assertEqual(len(order), 12)
        for rev in order:
            self.migrate(rev)
            self.assertIsNone(self.drift(), "at " + rev)

    def test_two_heads_are_clean(self):
        self.migrate("b3d18e7a5f60")
        self.migrate("d8f3b15c7a42")
        self.assertEqual(
            self.conn.execute("SELECT migrate_current()").fetchone()[0],
            "b3d18e7a5f60,d8f3b15c7a42")
        self.assertIsNone(self.drift())

    def test_changes_by_hand_are_reported(self):
        self.migrate("heads")
        self.conn.executescript("""
            ALTER TABLE prompts ADD COLUMN extra TEXT;
            DROP INDEX ix_audit_log_row;
            CREATE INDEX ix_prompts_role ON prompts (role);
            DROP TRIGGER trg_prompts_search_delete;
            CREATE TRIGGER trg_prompts_search_delete AFTER DELETE ON prompts
            BEGIN
                DELETE FROM prompt_search WHERE prompt_id = OLD.id || '';
            END;
            CREATE TABLE scratch (x);
        """)
        self.assertEqual(
            self.drift(),
            "drift: table prompts: column extra: in the database, not in the "
            "history\n"
            "drift: table scratch: in the database, not in the history\n"
            "drift: index ix_audit_log_row: missing in the database\n"
            "drift: index ix_prompts_role: in the database, not in the "
            "history\n"
            'drift: trigger trg_prompts_search_delete: differs: "...WHERE '
            'prompt_id = old.id; END" in the history, "...WHERE prompt_id = '
            'old.id || \'\'; END" in the database')

    def test_a_rebuilt_table_with_another_type_is_reported(self):
        self.migrate("heads")
        self.conn.executescript("""
            PRAGMA foreign_keys = OFF;
            PRAGMA legacy_alter_table = ON;
            CREATE TABLE new_contexts (
                id TEXT PRIMARY KEY NOT NULL,
                name BLOB,
                metadata TEXT NOT NULL DEFAULT '[]'
                    CHECK (json_valid(metadata)),
                created_at TEXT NOT NULL
                    DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
            );
            INSERT INTO new_contexts SELECT * FROM contexts;
            DROP TABLE contexts;
            ALTER TABLE new_contexts RENAME TO contexts;
            CREATE INDEX ix_contexts_created_at ON contexts (created_at);
        """)
        self.assertEqual(
            self.drift(),
            "drift: table contexts: column name: type TEXT in the history, "
            "BLOB in the database\n"
            "drift: table contexts: column name: NOT NULL in the history, "
            "nullable in the database\n"
            "drift: table contexts: column metadata: default '{}' in the "
            "history, '[]' in the database")

    def test_a_table_at_base_is_drift(self):
        self.conn.execute("CREATE TABLE notes(id)")
        self.assertEqual(self.drift(),
                         "drift: table notes: in the database, not in the "
                         "history")

    def test_history_that_fails_on_a_scratch_database_is_a_finding(self):
        d = self.folder("appfunc", HISTORIES["appfunc"])
        self.conn.create_function("app_value", 0, lambda: 42)
        self.migrate("head", d)
        self.assertEqual(
            self.drift(d),
            "drift: cannot compare; the history's scripts fail on an empty "
            "database at version a1: migrate_check('a1'): upgrade of a1 "
            "(revision a1) failed at a1_x.sql:8: no such function: "
            "app_value [statement: INSERT INTO t VALUES (app_value());]; "
            "nothing was changed")

    def test_unknown_version_is_an_error(self):
        self.migrate("head")
        self.conn.execute("UPDATE migrate_version SET version_num = 'zz9'")
        with self.assertRaises(sqlite3.OperationalError) as cm:
            self.drift()
        self.assertEqual(
            str(cm.exception),
            "migrate_drift(): migrate_check: the database is at revision "
            "'zz9', which the bundle does not know; use the bundle that "
            "applied it (or migrate_stamp() to a revision this bundle has)")


# ---------------------------------------------------------------------------
# Round trip: upgrade, downgrade, upgrade each revision
# ---------------------------------------------------------------------------

class RoundTripTest(Folders, unittest.TestCase):
    def setUp(self):
        Folders.setUp(self)
        self.conn = connect()

    def tearDown(self):
        self.conn.close()
        Folders.tearDown(self)

    def roundtrip(self, folder):
        return self.conn.execute(
            "SELECT migrate_roundtrip(migrate_bundle(?))",
            (folder,)).fetchone()[0]

    def test_example_history_round_trips_clean(self):
        # branches, a merge point, a data migration, Transaction: none
        self.assertIsNone(self.roundtrip(MIGRATIONS))
        # the embedded bundle is the same history
        self.assertIsNone(
            self.conn.execute("SELECT migrate_roundtrip()").fetchone()[0])

    def test_bad_downgrade_names_revision_and_difference(self):
        d = self.folder("bad", HISTORIES["bad"])
        self.assertEqual(
            self.roundtrip(d),
            "revision b2 (b2_tags.sql): downgrade does not undo the upgrade: "
            "table tags: left after the downgrade\n"
            "revision b2 (b2_tags.sql): upgrade after its downgrade fails: "
            "test('b2'): upgrade of b2 (Add tags) failed at b2_tags.sql:7: "
            "table tags already exists [statement: CREATE TABLE tags "
            "(note_id INTEGER REFERENCES notes (id), tag TEXT NOT NULL);]; "
            "nothing was changed")

    def test_downgrade_that_changes_a_column_is_reported(self):
        d = self.folder("bad2", HISTORIES["bad2"])
        self.assertEqual(
            self.roundtrip(d),
            "revision b2 (b2_relax.sql): downgrade does not undo the "
            "upgrade: table notes: column body: type TEXT before the "
            "upgrade, BLOB after the downgrade\n"
            "revision b2 (b2_relax.sql): downgrade does not undo the "
            "upgrade: table notes: column body: NOT NULL before the upgrade, "
            "nullable after the downgrade")

    def test_failing_downgrade_is_reported(self):
        d = self.folder("faildown", HISTORIES["faildown"])
        self.assertEqual(
            self.roundtrip(d),
            "revision b2 (b2_view.sql): downgrade fails: test('a1'): "
            "downgrade of b2 (Add view) failed at b2_view.sql:10: no such "
            "view: v_nots [statement: DROP VIEW v_nots;]; nothing was "
            "changed")

    def test_irreversible_revision_is_reported(self):
        d = self.folder("irrev", HISTORIES["irrev"])
        self.assertEqual(
            self.roundtrip(d),
            "revision b2 (b2_data.sql): irreversible: it has no "
            "'-- migrate:downgrade' section")

    def test_multiple_heads_are_reported(self):
        d = self.folder("heads", HISTORIES["heads"])
        self.assertEqual(
            self.roundtrip(d),
            "multiple heads: b2, c3; merge them (sqlite-migrate merge -m "
            "MESSAGE heads)")

    def test_merge_point_downgrade_restores_both_parents(self):
        d = self.folder("merge", HISTORIES["merge"])
        self.assertIsNone(self.roundtrip(d))
        # and a merge point whose downgrade forgets its view
        with open(os.path.join(d, "d4_merge.sql"), "w") as f:
            f.write(revision("d4", "b2, c3",
                             "CREATE VIEW lr AS SELECT * FROM l, r;",
                             "SELECT 1;"))
        # SQLite's own words for CREATE VIEW over an existing view differ
        # by version ("table lr already exists" before 3.37)
        probe = sqlite3.connect(":memory:")
        probe.execute("CREATE VIEW lr AS SELECT 1")
        with self.assertRaises(sqlite3.OperationalError) as cm:
            probe.execute("CREATE VIEW lr AS SELECT 1")
        probe.close()
        self.assertEqual(
            self.roundtrip(d),
            "revision d4 (d4_merge.sql): downgrade does not undo the "
            "upgrade: view lr: left after the downgrade\n"
            "revision d4 (d4_merge.sql): upgrade after its downgrade fails: "
            "test('d4'): upgrade of d4 (revision d4) failed at "
            "d4_merge.sql:7: %s [statement: CREATE VIEW "
            "lr AS SELECT * FROM l, r;]; nothing was changed" % cm.exception)

    def test_failing_upgrade_skips_what_builds_on_it(self):
        d = self.folder("failup", HISTORIES["failup"])
        self.assertEqual(
            self.roundtrip(d),
            "revision b2 (b2_bad.sql): upgrade fails: test('b2'): upgrade "
            "of b2 (Bad index) failed at b2_bad.sql:7: no such table: "
            "main.nothere [statement: CREATE INDEX ix ON nothere (id);]; "
            "nothing was changed")

    def test_whole_history_down_to_base(self):
        # each revision round-trips on its own; together the two branches
        # both drop the table they both "create if not exists"
        d = self.folder("whole", HISTORIES["whole"])
        self.assertEqual(
            self.roundtrip(d),
            "downgrade from heads to base fails: test('base'): downgrade of "
            "c3 (Right) failed at c3_right.sql:10: no such table: shared "
            "[statement: DROP TABLE shared;]; nothing was changed")


# ---------------------------------------------------------------------------
# The C API under AddressSanitizer with leak detection
# ---------------------------------------------------------------------------

C_TEST = r"""
#include <stdio.h>
#include <string.h>
#include "migrate.h"

typedef struct MigSchema MigSchema;
int migSchemaSnapshot(sqlite3 *, const char *, MigSchema **, char **);
int migSchemaDiff(const MigSchema *, const MigSchema *, char **, char **);
void migSchemaFree(MigSchema *);
int migrate_check_drift(sqlite3 *, migrate_bundle *, char **, char **);
int migrate_roundtrip(migrate_bundle *, char **, char **);

static int nFail = 0;
static void check(int bOk, const char *zWhat, const char *zGot) {
  if (!bOk) {
    nFail++;
    printf("FAIL %s: %s\n", zWhat, zGot ? zGot : "(null)");
  }
}

static MigSchema *snap(const char *zSql) {
  sqlite3 *db = 0;
  MigSchema *p = 0;
  char *zErr = 0;
  sqlite3_open(":memory:", &db);
  check(sqlite3_exec(db, zSql, 0, 0, 0) == SQLITE_OK, "exec", zSql);
  check(migSchemaSnapshot(db, "main", &p, &zErr) == SQLITE_OK, "snapshot",
        zErr);
  sqlite3_free(zErr);
  check(sqlite3_close(db) == SQLITE_OK, "close", 0);
  return p;
}

static void appValue(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  (void)argc;
  (void)argv;
  sqlite3_result_int(ctx, 42);
}

int main(int argc, char **argv) {
  migrate_bundle *b = 0, *bad = 0;
  int i;
  MigSchema *a, *c;
  char *zRep = 0, *zErr = 0;
  sqlite3 *db = 0;
  migrate_options o = {MIGRATE_UPGRADE, "test", 0, 0, 0};

  a = snap("CREATE TABLE t(a TEXT NOT NULL, b); CREATE INDEX i ON t(a) "
           "WHERE b > 0; CREATE VIEW v AS SELECT a FROM t;"
           "CREATE TABLE p(id INTEGER PRIMARY KEY);"
           "CREATE TABLE q(x REFERENCES p, CHECK (x > 0), UNIQUE (x));");
  c = snap("CREATE TABLE t(a BLOB, c); CREATE INDEX i ON t(lower(a));"
           "CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END;"
           "CREATE TABLE p(id INTEGER PRIMARY KEY); CREATE TABLE q(x);");
  check(migSchemaDiff(a, c, &zRep, &zErr) == SQLITE_OK, "diff", zErr);
  check(zRep && strstr(zRep, "table t: column a: type TEXT in the history, "
                             "BLOB in the database") != 0, "diff text", zRep);
  sqlite3_free(zRep);
  zRep = 0;
  check(migSchemaDiff(a, a, &zRep, &zErr) == SQLITE_OK && zRep == 0,
        "diff equal", zRep);
  migSchemaFree(a);
  migSchemaFree(c);

  check(migrate_bundle_open_path(argv[1], &b, &zErr) == SQLITE_OK, "bundle",
        zErr);
  check(migrate_roundtrip(b, &zRep, &zErr) == SQLITE_OK && zRep == 0,
        "roundtrip", zRep ? zRep : zErr);
  sqlite3_free(zRep);
  zRep = 0;

  /* every problem history gives a report */
  for (i = 3; i < argc; i++) {
    check(migrate_bundle_open_path(argv[i], &bad, &zErr) == SQLITE_OK,
          "bad bundle", zErr);
    check(migrate_roundtrip(bad, &zRep, &zErr) == SQLITE_OK && zRep != 0,
          argv[i], zRep ? zRep : zErr);
    sqlite3_free(zRep);
    zRep = 0;
    migrate_bundle_free(bad);
    bad = 0;
  }

  /* a history that fails on the scratch database: a finding */
  check(migrate_bundle_open_path(argv[2], &bad, &zErr) == SQLITE_OK,
        "appfunc bundle", zErr);
  sqlite3_open(":memory:", &db);
  sqlite3_create_function(db, "app_value", 0, SQLITE_UTF8, 0, appValue, 0, 0);
  check(migrate_run(db, bad, "head", &o, 0, &zErr) == SQLITE_OK, "run app",
        zErr);
  check(migrate_check_drift(db, bad, &zRep, &zErr) == SQLITE_OK && zRep &&
            strstr(zRep, "drift: cannot compare;") == zRep,
        "drift app", zRep ? zRep : zErr);
  sqlite3_free(zRep);
  zRep = 0;
  check(sqlite3_close(db) == SQLITE_OK, "close", 0);
  migrate_bundle_free(bad);
  bad = 0;

  sqlite3_open(":memory:", &db);
  check(migrate_run(db, b, "heads", &o, 0, &zErr) == SQLITE_OK, "run", zErr);
  check(migrate_check_drift(db, b, &zRep, &zErr) == SQLITE_OK && zRep == 0,
        "drift clean", zRep ? zRep : zErr);
  sqlite3_exec(db, "DROP INDEX ix_prompts_created_at", 0, 0, 0);
  check(migrate_check_drift(db, b, &zRep, &zErr) == SQLITE_OK && zRep &&
            strcmp(zRep, "drift: index ix_prompts_created_at: missing in "
                         "the database") == 0,
        "drift", zRep ? zRep : zErr);
  sqlite3_free(zRep);
  check(sqlite3_close(db) == SQLITE_OK, "close", 0);

  sqlite3_free(zErr);
  migrate_bundle_free(b);
  migrate_bundle_free(bad);
  printf("%s\n", nFail ? "FAILED" : "OK");
  return nFail != 0;
}
"""


class LeakTest(Folders, unittest.TestCase):
    def test_c_api_has_no_leaks_under_asan(self):
        self.assertTrue(os.path.isfile(LIBRARY),
                        "build %s first (make)" % LIBRARY)
        cc = os.environ.get("CC", "cc")
        src = os.path.join(self.tmp, "schema_leaks.c")
        exe = os.path.join(self.tmp, "schema_leaks")
        with open(src, "w") as f:
            f.write(C_TEST)
        problems = [self.folder(name, HISTORIES[name])
                    for name in sorted(HISTORIES)
                    if name not in ("appfunc", "merge")]
        appfunc = self.folder("appfunc", HISTORIES["appfunc"])
        env = dict(os.environ)
        env.pop("LD_PRELOAD", None)  # the program carries its own runtime
        p = subprocess.run(
            [cc, "-std=c11", "-g", "-fsanitize=address,undefined",
             "-fno-omit-frame-pointer", "-DSQLITE_CORE",
             "-I" + os.path.join(REPO, "ext"), src, LIBRARY, "-o", exe,
             "-lsqlite3", "-lz", "-lpthread"],
            capture_output=True, text=True, env=env)
        self.assertEqual(p.returncode, 0, "cannot compile the C test:\n" +
                         p.stderr)
        env["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=0"
        env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
        p = subprocess.run([exe, MIGRATIONS, appfunc] + problems,
                           capture_output=True, text=True, env=env)
        self.assertEqual((p.returncode, p.stdout.strip()), (0, "OK"),
                         p.stdout + p.stderr)


if __name__ == "__main__":
    unittest.main()
