"""migrate_diff(): the schema differ (autogenerate).

Exact cases: for each kind of statement the differ writes, and for each
refusal, the exact text.  The property test does not trust the differ: for
many schema pairs (from, to), hand-written ones and pairs from a seeded
random generator and mutator (schemagen.py), it builds `from`, fills every
table with rows (NULLs included, child rows referencing parent rows),
applies the upgrade and checks, with SQLite and the engine's schema
comparison (migrate_schema_diff(), the comparison migrate_check uses):

  - the schema equals `to`;
  - every row keeps the values of every column present on both sides;
  - PRAGMA foreign_key_check and integrity_check are clean;
  - diffing the result against `to` again gives NULL;
  - the downgrade (the same differ the other way round, renames inverted)
    gives back `from`'s schema.

    AUTOGEN_PAIRS=20000 AUTOGEN_SEED=7 /usr/bin/python3 -m unittest \
        tests/python/test_autogen.py      (make test-autogen-long)

Everything runs in this one process on the real build/migrate.so.
"""
import os
import random
import re
import sqlite3
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from helpers import close_connections, connect  # noqa: E402
import schemagen as G  # noqa: E402

PAIRS = int(os.environ.get("AUTOGEN_PAIRS", "2000"))
SEED = int(os.environ.get("AUTOGEN_SEED", "1"))

tearDownModule = close_connections

_TOOL = []


def tool():
    if not _TOOL:
        _TOOL.append(connect())
    return _TOOL[0]


def diff(a, b, *direction):
    """migrate_diff(a, b) or, with a direction, migrate_diff(a, b, d)."""
    if direction:
        return tool().execute("SELECT migrate_diff(?, ?, ?)",
                              (a, b) + direction).fetchone()[0]
    return tool().execute("SELECT migrate_diff(?, ?)", (a, b)).fetchone()[0]


def schema_diff(a, b):
    """The engine's schema comparison (as migrate_check compares)."""
    return tool().execute("SELECT migrate_schema_diff(?, ?)",
                          (a, b)).fetchone()[0]


def virtual_and_shadow(conn):
    """Names of conn's virtual tables, and of their shadow tables by SQLite's
    naming rule (VTAB_suffix; PRAGMA table_list knows them only from 3.37)."""
    vtabs = {n for (n,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' "
        "AND sql LIKE 'CREATE VIRTUAL TABLE%'")}
    shadow = {n for (n,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'")
        if any(n.lower().startswith(v.lower() + "_") for v in vtabs)}
    return vtabs, shadow


def dump(conn):
    """conn's schema as SQL text that builds it again (tables first;
    virtual tables' shadow tables left to their module)."""
    shadow = virtual_and_shadow(conn)[1]
    out = []
    for name, sql in conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL "
            "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
            "ORDER BY type <> 'table', rowid"):
        if name not in shadow:
            out.append(sql + ";\n")
    return "".join(out)


def norm(v):
    if v is None:
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        return str(v)


FALSE_KIND = re.compile(r"^(NULL|TEXT|INTEGER|REAL|BLOB) value in "
                        r"([^.]+)\.(.+)$")


def integrity_problems(db):
    """integrity_check's lines, less SQLite 3.40-3.41's false "NULL value
    in T.C" / "TEXT value in T.C" for WITHOUT ROWID tables whose primary
    key is not in column order (the column really holds no such value; the
    same report comes from a table made with that CREATE and filled
    directly), and 3.45's false "NULL value in T.C" for a NOT NULL column
    that ALTER TABLE ADD COLUMN gave a REAL default (3.45.1: CREATE TABLE
    t(id INTEGER PRIMARY KEY, a); INSERT INTO t VALUES(1,2); ALTER TABLE t
    ADD COLUMN c NUMERIC NOT NULL DEFAULT 1.5; PRAGMA integrity_check
    says "NULL value in t.c" while c is 1.5; 3.40 and 3.54 say ok)."""
    out = []
    for (line,) in db.execute("PRAGMA integrity_check"):
        if line == "ok":
            continue
        m = FALSE_KIND.match(line)
        v = sqlite3.sqlite_version_info
        if m and ((3, 40, 0) <= v < (3, 42, 0) or
                  (m.group(1) == "NULL" and (3, 45, 0) <= v < (3, 46, 0))):
            kind, t, c = m.groups()
            n = db.execute('SELECT count(*) FROM "%s" WHERE typeof("%s") = ?'
                           % (t, c), (kind.lower(),)).fetchone()[0]
            if n == 0:
                continue
        out.append(line)
    return out


# Messages of migrate_rebuild() when the rows do not fit the other side:
# a downgrade that re-adds a NOT NULL / UNIQUE / foreign-key column cannot
# fill it, whatever generated the script.
DATA_REFUSALS = ("does not fit the new definition",
                 "FOREIGN KEY constraint failed after the rebuild",
                 "cannot copy the rows into the new definition",
                 "UNIQUE constraint failed", "NOT NULL constraint failed",
                 "CHECK constraint failed")


def fill(db, a, b):
    for t, cols in G.fill_plan(a, b):
        names = ",".join('"%s"' % c[0] for c in cols)
        for r in range(G.ROWS):
            db.execute('INSERT INTO "%s"(%s) VALUES(%s)' % (
                t, names, ",".join("?" * len(cols))), G.row_values(cols, r))


def column_pairs(a, b):
    """{table in a: (table in b, [(column in a, column in b)])} for tables
    and plain columns on both sides."""
    pairs = {}
    for t in G.tables(a):
        tb = next((x for x in G.tables(b)
                   if (x["from"] or x["name"]).lower() == t["name"].lower()),
                  None)
        if tb is None:
            continue
        cm = []
        for c in t["cols"]:
            cb = next((x for x in tb["cols"]
                       if (x["from"] or x["name"]).lower() == c["name"].lower()
                       and not x.get("new")), None)
            if cb is not None and not c["gen"] and not cb["gen"]:
                cm.append((c["name"], cb["name"]))
        pairs[t["name"]] = (tb["name"], cm)
    return pairs


def table_rows(db, t, cols):
    sel = ", ".join(['id'] + ['"%s"' % c for c in cols])
    return {r[0]: [norm(x) for x in r[1:]]
            for r in db.execute('SELECT %s FROM "%s"' % (sel, t))}


def run_script(db, sql):
    db.executescript("BEGIN;\n" + sql + "COMMIT;")


def check_pair(a, b, label):
    """None when the pair passes, else a report with both schemas."""
    from_sql = G.render(a, G.inverse_notes(a, b))
    to_sql = G.render(b, G.notes_of(b))
    ctx = "%s\n--- from:\n%s--- to:\n%s" % (label, from_sql, to_sql)
    try:
        up = diff(from_sql, to_sql)
        down = diff(to_sql, from_sql)
        down3 = diff(from_sql, to_sql, "downgrade")
    except sqlite3.Error as e:
        return "migrate_diff fails: %s\n%s" % (e, ctx)
    if down3 != down:
        # the declared renames inverted give what `from`'s own notes give
        return "migrate_diff(from, to, 'downgrade') gives:\n%s\n%s" % (
            down3, ctx)
    ctx += "--- up:\n%s--- down:\n%s" % (up, down)
    db = connect()
    try:
        db.executescript(from_sql)
        fill(db, a, b)
        if db.execute("PRAGMA foreign_key_check").fetchall():
            return "the generator's rows break a foreign key\n" + ctx
        pairs = column_pairs(a, b)
        before = {t: table_rows(db, t, [x[0] for x in cm])
                  for t, (tb, cm) in pairs.items()}
        db.execute("PRAGMA foreign_keys = ON")
        if up is None:
            rep = schema_diff(from_sql, to_sql)
            if rep is not None:
                return "NULL, but the schemas differ: %s\n%s" % (rep, ctx)
        else:
            try:
                run_script(db, up)
            except sqlite3.Error as e:
                return "the upgrade fails: %s\n%s" % (e, ctx)
        rep = schema_diff(dump(db), to_sql)
        if rep is not None:
            return "after the upgrade: %s\n%s" % (rep, ctx)
        for t, (tb, cm) in pairs.items():
            now = table_rows(db, tb, [x[1] for x in cm])
            if now != before[t]:
                return "rows of %s: %r became %r\n%s" % (t, before[t], now, ctx)
        if db.execute("PRAGMA foreign_key_check").fetchall():
            return "foreign_key_check after the upgrade\n" + ctx
        bad = integrity_problems(db)
        if bad:
            return "integrity_check after the upgrade: %s\n%s" % (bad, ctx)
        again = diff(dump(db), to_sql)
        if again is not None:
            return "diffing again gives:\n%s\n%s" % (again, ctx)
        if down is not None:
            try:
                run_script(db, down)
            except sqlite3.Error as e:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                if not any(m in str(e) for m in DATA_REFUSALS):
                    return "the downgrade fails: %s\n%s" % (e, ctx)
                # the rows cannot go back: the schema still must
                db.execute("PRAGMA foreign_keys = OFF")
                vtabs, shadow = virtual_and_shadow(db)
                for (t,) in db.execute(
                        "SELECT name FROM sqlite_master WHERE type = 'table' "
                        "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
                        ).fetchall():
                    if t not in vtabs and t not in shadow:
                        db.execute('DELETE FROM "%s"' % t)
                db.execute("PRAGMA foreign_keys = ON")
                try:
                    run_script(db, down)
                except sqlite3.Error as e2:
                    return "the downgrade fails on empty tables: %s\n%s" % (
                        e2, ctx)
        rep = schema_diff(dump(db), from_sql)
        if rep is not None:
            return "after the downgrade: %s\n%s" % (rep, ctx)
        return None
    finally:
        db.close()

# ---------------------------------------------------------------------------
# Exact cases: (name, from_sql, to_sql, the exact upgrade migrate_diff()
# returns).  Each was checked by hand against SQLite's ALTER TABLE rules
# (sqlite.org/lang_altertable.html); the property test below checks that
# every one of them also runs and gives `to`.

CASES = [
    # found by the property test: a foreign key that goes away is dropped
    # before its parent's key changes; a renamed generated column is
    # computed by the new definition, never copied; a table that goes is
    # dropped before a table it references changes its key
    ('child_goes_before_parent_key_changes',
     'CREATE TABLE p(id INTEGER PRIMARY KEY, k);\nCREATE TABLE c(x REFERENCES p(id))',
     'CREATE TABLE p(id INTEGER, k, PRIMARY KEY (id, k))',
     "-- destructive: drops table c and its rows\nDROP TABLE c;\nSELECT migrate_rebuild('p', 'CREATE TABLE p(id INTEGER, k, PRIMARY KEY (id, k))');\n"),
    ('parent_key_changes_after_child_drops_fk',
     'CREATE TABLE p(id INTEGER PRIMARY KEY, k);\nCREATE TABLE c(x REFERENCES p(id))',
     'CREATE TABLE p(id INTEGER, k, PRIMARY KEY (id, k));\nCREATE TABLE c(x)',
     "SELECT migrate_rebuild('c', 'CREATE TABLE c(x)');\nSELECT migrate_rebuild('p', 'CREATE TABLE p(id INTEGER, k, PRIMARY KEY (id, k))');\n"),
    # found by test-autogen-long (seed 14553): a table that goes but is
    # referenced by a kept table is dropped once that table has lost the
    # reference, and before a table it references changes its key
    ('gone_table_between_child_and_parent_changes',
     'CREATE TABLE p(id INTEGER PRIMARY KEY, k);\nCREATE TABLE g(id INTEGER PRIMARY KEY, x REFERENCES p(id));\nCREATE TABLE c(id INTEGER PRIMARY KEY, y REFERENCES g(id))',
     'CREATE TABLE p(id INTEGER, k, PRIMARY KEY (id, k));\nCREATE TABLE c(id INTEGER PRIMARY KEY, y)',
     "SELECT migrate_rebuild('c', 'CREATE TABLE c(id INTEGER PRIMARY KEY, y)');\n-- destructive: drops table g and its rows\nDROP TABLE g;\nSELECT migrate_rebuild('p', 'CREATE TABLE p(id INTEGER, k, PRIMARY KEY (id, k))');\n"),
    ('rename_generated_in_rebuild',
     'CREATE TABLE t(a INTEGER, g AS (a * 2) VIRTUAL)',
     'CREATE TABLE t(\n  a TEXT,\n  -- migrate:renamed-from g\n  h AS (a * 2) VIRTUAL\n)',
     "-- destructive: column t.a changes type from INTEGER to TEXT; its values are converted\nSELECT migrate_rebuild('t', 'CREATE TABLE t(\n  a TEXT,\n  h AS (a * 2) VIRTUAL\n)');\n"),
    ('add_column_last_with_comment',
     'CREATE TABLE t(a)',
     "CREATE TABLE t(\n  a,\n  b TEXT DEFAULT 'x' -- a note\n)",
     "ALTER TABLE t ADD COLUMN b TEXT DEFAULT 'x';\n"),
    ('add_column',
     'CREATE TABLE t(a)',
     'CREATE TABLE t(a, b INTEGER NOT NULL DEFAULT 0)',
     'ALTER TABLE t ADD COLUMN b INTEGER NOT NULL DEFAULT 0;\n'),
    # literal defaults as SQLite's tokenizer reads them (one token each)
    ('add_column_exponent_default',
     'CREATE TABLE t(a)',
     'CREATE TABLE t(a, b REAL DEFAULT 1e+5)',
     'ALTER TABLE t ADD COLUMN b REAL DEFAULT 1e+5;\n'),
    ('add_column_blob_default',
     'CREATE TABLE t(a)',
     "CREATE TABLE t(a, b BLOB DEFAULT x'00ff')",
     "ALTER TABLE t ADD COLUMN b BLOB DEFAULT x'00ff';\n"),
    ('add_column_signed_fraction_default',
     'CREATE TABLE t(a)',
     'CREATE TABLE t(a, b DEFAULT -.5)',
     'ALTER TABLE t ADD COLUMN b DEFAULT -.5;\n'),
    ('add_column_fk_null',
     'CREATE TABLE p(id INTEGER PRIMARY KEY);\nCREATE TABLE t(a)',
     'CREATE TABLE p(id INTEGER PRIMARY KEY);\nCREATE TABLE t(a, p INTEGER REFERENCES p(id))',
     'ALTER TABLE t ADD COLUMN p INTEGER REFERENCES p(id);\n'),
    ('add_column_fk_default',
     'CREATE TABLE p(id INTEGER PRIMARY KEY);\nCREATE TABLE t(a)',
     'CREATE TABLE p(id INTEGER PRIMARY KEY);\nCREATE TABLE t(a, p INTEGER DEFAULT 1 REFERENCES p(id))',
     "SELECT migrate_rebuild('t', 'CREATE TABLE t(a, p INTEGER DEFAULT 1 REFERENCES p(id))');\n"),
    ('add_column_notnull_nodefault',
     'CREATE TABLE t(a)',
     'CREATE TABLE t(a, b TEXT NOT NULL)',
     "SELECT migrate_rebuild('t', 'CREATE TABLE t(a, b TEXT NOT NULL)');\n"),
    ('add_column_expr_default',
     'CREATE TABLE t(a)',
     "CREATE TABLE t(a, b TEXT DEFAULT (datetime('now')))",
     "SELECT migrate_rebuild('t', 'CREATE TABLE t(a, b TEXT DEFAULT (datetime(''now'')))');\n"),
    ('add_column_unique',
     'CREATE TABLE t(a)',
     'CREATE TABLE t(a, b TEXT UNIQUE)',
     "SELECT migrate_rebuild('t', 'CREATE TABLE t(a, b TEXT UNIQUE)');\n"),
    ('add_column_virtual',
     'CREATE TABLE t(a)',
     'CREATE TABLE t(a, b AS (a * 2) VIRTUAL)',
     'ALTER TABLE t ADD COLUMN b AS (a * 2) VIRTUAL;\n'),
    ('add_column_stored',
     'CREATE TABLE t(a)',
     'CREATE TABLE t(a, b AS (a * 2) STORED)',
     "SELECT migrate_rebuild('t', 'CREATE TABLE t(a, b AS (a * 2) STORED)');\n"),
    ('add_column_middle',
     'CREATE TABLE t(a, c)',
     'CREATE TABLE t(a, b, c)',
     "SELECT migrate_rebuild('t', 'CREATE TABLE t(a, b, c)');\n"),
    ('drop_column',
     'CREATE TABLE t(a, b)',
     'CREATE TABLE t(a)',
     '-- destructive: drops column t.b and its values\nALTER TABLE t DROP COLUMN b;\n'),
    ('drop_column_indexed',
     'CREATE TABLE t(a, b);\nCREATE INDEX t_b ON t(b)',
     'CREATE TABLE t(a)',
     'DROP INDEX t_b;\n-- destructive: drops column t.b and its values\nALTER TABLE t DROP COLUMN b;\n'),
    ('drop_column_pk',
     'CREATE TABLE t(a, b, PRIMARY KEY (a, b))',
     'CREATE TABLE t(a PRIMARY KEY)',
     "-- destructive: drops column t.b and its values\nSELECT migrate_rebuild('t', 'CREATE TABLE t(a PRIMARY KEY)');\n"),
    ('type',
     'CREATE TABLE t(a INTEGER)',
     'CREATE TABLE t(a TEXT)',
     "-- destructive: column t.a changes type from INTEGER to TEXT; its values are converted\nSELECT migrate_rebuild('t', 'CREATE TABLE t(a TEXT)');\n"),
    ('notnull',
     'CREATE TABLE t(a INTEGER)',
     'CREATE TABLE t(a INTEGER NOT NULL)',
     "SELECT migrate_rebuild('t', 'CREATE TABLE t(a INTEGER NOT NULL)');\n"),
    ('default',
     'CREATE TABLE t(a INTEGER DEFAULT 1)',
     'CREATE TABLE t(a INTEGER DEFAULT 2)',
     "SELECT migrate_rebuild('t', 'CREATE TABLE t(a INTEGER DEFAULT 2)');\n"),
    ('collate',
     'CREATE TABLE t(a TEXT)',
     'CREATE TABLE t(a TEXT COLLATE NOCASE)',
     "SELECT migrate_rebuild('t', 'CREATE TABLE t(a TEXT COLLATE NOCASE)');\n"),
    ('check',
     'CREATE TABLE t(a INTEGER)',
     'CREATE TABLE t(a INTEGER CHECK (a > 0))',
     "SELECT migrate_rebuild('t', 'CREATE TABLE t(a INTEGER CHECK (a > 0))');\n"),
    ('pk',
     'CREATE TABLE t(a INTEGER, b TEXT)',
     'CREATE TABLE t(a INTEGER PRIMARY KEY AUTOINCREMENT, b TEXT)',
     "SELECT migrate_rebuild('t', 'CREATE TABLE t(a INTEGER PRIMARY KEY AUTOINCREMENT, b TEXT)');\n"),
    ('fk_action',
     'CREATE TABLE p(id INTEGER PRIMARY KEY);\nCREATE TABLE c(p REFERENCES p(id))',
     'CREATE TABLE p(id INTEGER PRIMARY KEY);\nCREATE TABLE c(p REFERENCES p(id) ON DELETE CASCADE)',
     "SELECT migrate_rebuild('c', 'CREATE TABLE c(p REFERENCES p(id) ON DELETE CASCADE)');\n"),
    ('strict',
     'CREATE TABLE t(a INTEGER)',
     'CREATE TABLE t(a INTEGER) STRICT',
     "SELECT migrate_rebuild('t', 'CREATE TABLE t(a INTEGER) STRICT');\n"),
    ('without_rowid',
     'CREATE TABLE t(a INTEGER PRIMARY KEY, b)',
     'CREATE TABLE t(a INTEGER PRIMARY KEY, b) WITHOUT ROWID',
     "SELECT migrate_rebuild('t', 'CREATE TABLE t(a INTEGER PRIMARY KEY, b) WITHOUT ROWID');\n"),
    ('rename_table',
     'CREATE TABLE t(a);\nCREATE TABLE c(x REFERENCES t(a))',
     '-- migrate:renamed-from t\nCREATE TABLE u(a);\nCREATE TABLE c(x REFERENCES u(a))',
     'ALTER TABLE t RENAME TO u;\n'),
    ('rename_column',
     'CREATE TABLE t(a, b)',
     'CREATE TABLE t(\n  a,\n  -- migrate:renamed-from b\n  c\n)',
     'ALTER TABLE t RENAME COLUMN b TO c;\n'),
    ('rename_column_rebuild',
     'CREATE TABLE t(a, b TEXT)',
     'CREATE TABLE t(\n  a,\n  -- migrate:renamed-from b\n  c INTEGER\n)',
     '-- destructive: column t.c changes type from TEXT to INTEGER; its values are converted\nSELECT migrate_rebuild(\'t\', \'CREATE TABLE t(\n  a,\n  c INTEGER\n)\', \'{"c": "b"}\');\n'),
    ('rename_done',
     'CREATE TABLE u(a, c)',
     '-- migrate:renamed-from t\nCREATE TABLE u(\n  a,\n  -- migrate:renamed-from b\n  c\n)',
     None),
    ('undeclared_column_rename',
     'CREATE TABLE t(a, b)',
     'CREATE TABLE t(a, c)',
     "-- table t: columns dropped and added; a renamed column is declared with '-- migrate:renamed-from OLD' above its definition\n-- destructive: drops column t.b and its values\nALTER TABLE t DROP COLUMN b;\nALTER TABLE t ADD COLUMN c;\n"),
    ('undeclared_table_rename',
     'CREATE TABLE t(a)',
     'CREATE TABLE u(a)',
     "-- tables dropped and created: a renamed table is declared with '-- migrate:renamed-from OLD' above its CREATE TABLE\nCREATE TABLE u(a);\n-- destructive: drops table t and its rows\nDROP TABLE t;\n"),
    ('new_tables_order',
     '',
     'CREATE TABLE c(p REFERENCES p(id));\nCREATE TABLE p(id INTEGER PRIMARY KEY)',
     'CREATE TABLE p(id INTEGER PRIMARY KEY);\nCREATE TABLE c(p REFERENCES p(id));\n'),
    ('view_dependent',
     'CREATE TABLE t(a, b);\nCREATE TABLE o(x);\nCREATE VIEW v AS SELECT a FROM t;\nCREATE VIEW w AS SELECT * FROM v;\nCREATE VIEW z AS SELECT x FROM o',
     'CREATE TABLE t(a);\nCREATE TABLE o(x);\nCREATE VIEW v AS SELECT a FROM t;\nCREATE VIEW w AS SELECT * FROM v;\nCREATE VIEW z AS SELECT x FROM o',
     'DROP VIEW w;\nDROP VIEW v;\n-- destructive: drops column t.b and its values\nALTER TABLE t DROP COLUMN b;\nCREATE VIEW v AS SELECT a FROM t;\nCREATE VIEW w AS SELECT * FROM v;\n'),
    ('view_change',
     'CREATE TABLE t(a, b);\nCREATE VIEW v AS SELECT a FROM t',
     'CREATE TABLE t(a, b);\nCREATE VIEW v AS SELECT a, b FROM t',
     'DROP VIEW v;\nCREATE VIEW v AS SELECT a, b FROM t;\n'),
    ('trigger',
     'CREATE TABLE t(a);\nCREATE TABLE log(x)',
     'CREATE TABLE t(a);\nCREATE TABLE log(x);\nCREATE TRIGGER t_ins AFTER INSERT ON t BEGIN INSERT INTO log VALUES (new.a); END',
     'CREATE TRIGGER t_ins AFTER INSERT ON t BEGIN INSERT INTO log VALUES (new.a); END;\n'),
    ('index',
     'CREATE TABLE t(a, b);\nCREATE INDEX t_a ON t(a);\nCREATE INDEX t_old ON t(b)',
     'CREATE TABLE t(a, b);\nCREATE UNIQUE INDEX t_a ON t(a) WHERE a IS NOT NULL;\nCREATE INDEX t_lower ON t(lower(b))',
     'DROP INDEX t_a;\nDROP INDEX t_old;\nCREATE UNIQUE INDEX t_a ON t(a) WHERE a IS NOT NULL;\nCREATE INDEX t_lower ON t(lower(b));\n'),
    ('vtab',
     'CREATE VIRTUAL TABLE f USING fts5(a)',
     'CREATE VIRTUAL TABLE f USING fts5(a, b);\nCREATE VIRTUAL TABLE g USING fts5(x)',
     '-- destructive: drops virtual table f and its rows\nDROP TABLE f;\nCREATE VIRTUAL TABLE f USING fts5(a, b);\nCREATE VIRTUAL TABLE g USING fts5(x);\n'),
    ('drop_tables_order',
     'CREATE TABLE p(id INTEGER PRIMARY KEY);\nCREATE TABLE c(p REFERENCES p(id));\nCREATE TABLE k(x)',
     'CREATE TABLE k(x)',
     '-- destructive: drops table c and its rows\nDROP TABLE c;\n-- destructive: drops table p and its rows\nDROP TABLE p;\n'),
    # INT and INTEGER are one type (one affinity, one STRICT type) except
    # for the only PRIMARY KEY column of a rowid table, where INTEGER alone
    # makes the column an alias of the rowid
    ('int_integer_alike',
     'CREATE TABLE t(a INT, b INTEGER NOT NULL, c int, PRIMARY KEY (a, b))',
     'CREATE TABLE t(a INTEGER, b INT NOT NULL, c integer, PRIMARY KEY (a, b))',
     None),
    ('int_integer_alike_without_rowid',
     'CREATE TABLE t(a INT PRIMARY KEY, b INT) WITHOUT ROWID',
     'CREATE TABLE t(a INTEGER PRIMARY KEY, b INTEGER) WITHOUT ROWID',
     None),
    ('rowid_alias_gained',
     'CREATE TABLE t(a INT PRIMARY KEY, b INT)',
     'CREATE TABLE t(a INTEGER PRIMARY KEY, b INTEGER)',
     "SELECT migrate_rebuild('t', 'CREATE TABLE t(a INTEGER PRIMARY KEY, b INTEGER)');\n"),
    ('rowid_alias_lost',
     'CREATE TABLE t(a INTEGER, b INTEGER, PRIMARY KEY (a))',
     'CREATE TABLE t(a INT PRIMARY KEY, b INT)',
     "SELECT migrate_rebuild('t', 'CREATE TABLE t(a INT PRIMARY KEY, b INT)');\n"),
    ('equal_respelt',
     'CREATE TABLE t(a INTEGER NOT NULL DEFAULT 0, b TEXT);\nCREATE INDEX i ON t(a)',
     'create table "t" (\n  [a]   integer default 0 not null,\n  `b` text\n);\ncreate index I on T (A);',
     None),
]

# (name, from_sql, to_sql, the exact error message)
REFUSALS = [
    ('insert',
     '',
     'CREATE TABLE t(a);\n\nINSERT INTO t VALUES (1);',
     'migrate_diff(): to_sql:3: INSERT does not belong in a schema: it holds CREATE TABLE, CREATE INDEX, CREATE VIEW, CREATE TRIGGER and CREATE VIRTUAL TABLE statements for the main database, and comments'),
    ('pragma',
     '',
     'PRAGMA foreign_keys = ON;',
     'migrate_diff(): to_sql:1: PRAGMA does not belong in a schema: it holds CREATE TABLE, CREATE INDEX, CREATE VIEW, CREATE TRIGGER and CREATE VIRTUAL TABLE statements for the main database, and comments'),
    ('temp',
     '',
     'CREATE TEMP TABLE t(a);',
     'migrate_diff(): to_sql:1: CREATE TEMP TABLE does not belong in a schema: it holds CREATE TABLE, CREATE INDEX, CREATE VIEW, CREATE TRIGGER and CREATE VIRTUAL TABLE statements for the main database, and comments'),
    ('syntax',
     '',
     'CREATE TABLE t(a);\nCREATE TABLE u(a,\n  b;',
     'migrate_diff(): to_sql:2: near ";": syntax error'),
    ('duplicate',
     '',
     'CREATE TABLE t(a);\nCREATE TABLE T(b);',
     'migrate_diff(): to_sql:2: table T already exists'),
    ('renamed_nothing_table',
     'CREATE TABLE t(a)',
     '-- migrate:renamed-from x\nCREATE TABLE u(a);',
     "migrate_diff(): to_sql:1: '-- migrate:renamed-from x': from_sql has no table x (nor u)"),
    ('renamed_nothing_column',
     'CREATE TABLE t(a)',
     'CREATE TABLE t(\n  -- migrate:renamed-from x\n  b\n);',
     "migrate_diff(): to_sql:2: '-- migrate:renamed-from x': table t in from_sql has no column x (nor b)"),
    ('renamed_above_index',
     'CREATE TABLE t(a)',
     'CREATE TABLE t(a);\n-- migrate:renamed-from i\nCREATE INDEX j ON t(a);',
     "migrate_diff(): to_sql:2: '-- migrate:renamed-from i' stands above CREATE INDEX; it renames a table on its own line above CREATE TABLE, or a column on its own line inside CREATE TABLE above the column's definition"),
    ('renamed_mid_column',
     'CREATE TABLE t(a)',
     'CREATE TABLE t(b -- migrate:renamed-from a\n);',
     "migrate_diff(): to_sql:1: '-- migrate:renamed-from a' in CREATE TABLE t does not stand on its own line directly above a column definition; it renames a table on its own line above CREATE TABLE, or a column on its own line inside CREATE TABLE above the column's definition"),
    ('renamed_above_constraint',
     'CREATE TABLE t(a)',
     'CREATE TABLE t(a,\n  -- migrate:renamed-from a\n  PRIMARY KEY (a)\n);',
     "migrate_diff(): to_sql:2: '-- migrate:renamed-from a' in CREATE TABLE t stands above a table constraint, not a column definition; it renames a table on its own line above CREATE TABLE, or a column on its own line inside CREATE TABLE above the column's definition"),
    ('renamed_at_end',
     'CREATE TABLE t(a)',
     'CREATE TABLE t(a);\n-- migrate:renamed-from t\n',
     "migrate_diff(): to_sql:2: '-- migrate:renamed-from t' is not followed by a CREATE TABLE statement; it renames a table on its own line above CREATE TABLE, or a column on its own line inside CREATE TABLE above the column's definition"),
    ('renamed_empty',
     'CREATE TABLE t(a)',
     '-- migrate:renamed-from\nCREATE TABLE t(a);',
     "migrate_diff(): to_sql:1: '-- migrate:renamed-from' names no table; it renames a table on its own line above CREATE TABLE, or a column on its own line inside CREATE TABLE above the column's definition"),
    ('renamed_both_exist',
     'CREATE TABLE t(a);\nCREATE TABLE u(a)',
     '-- migrate:renamed-from t\nCREATE TABLE u(a);',
     "migrate_diff(): to_sql:1: '-- migrate:renamed-from t': table u is declared as renamed from t, but from_sql has a table u already"),
    ('renamed_twice',
     'CREATE TABLE t(a)',
     '-- migrate:renamed-from t\nCREATE TABLE u(a);\n-- migrate:renamed-from t\nCREATE TABLE v(a);',
     "migrate_diff(): to_sql:3: '-- migrate:renamed-from t': table t is renamed twice"),
    ('from_error',
     'CREATE TABLE t(a',
     'CREATE TABLE t(a)',
     'migrate_diff(): from_sql:1: incomplete input'),
]


# STRICT tables exist from SQLite 3.37: before it that case is not a case.
if sqlite3.sqlite_version_info < (3, 37, 0):
    CASES = [c for c in CASES if c[0] != "strict"]

# Before SQLite 3.35 there is no DROP COLUMN: these cases rebuild instead.
OLD_DROP = {
    "drop_column": "-- destructive: drops column t.b and its values\n"
                   "SELECT migrate_rebuild('t', 'CREATE TABLE t(a)');\n",
    "drop_column_indexed": "DROP INDEX t_b;\n"
                           "-- destructive: drops column t.b and its values\n"
                           "SELECT migrate_rebuild('t', 'CREATE TABLE t(a)');\n",
    "undeclared_column_rename":
        "-- destructive: drops column t.b and its values\n"
        "SELECT migrate_rebuild('t', 'CREATE TABLE t(a, c)');\n",
    "view_dependent": "DROP VIEW w;\nDROP VIEW v;\n"
                      "-- destructive: drops column t.b and its values\n"
                      "SELECT migrate_rebuild('t', 'CREATE TABLE t(a)');\n"
                      "CREATE VIEW v AS SELECT a FROM t;\n"
                      "CREATE VIEW w AS SELECT * FROM v;\n",
}


def expected(name, text):
    if sqlite3.sqlite_version_info < (3, 35, 0) and name in OLD_DROP:
        return OLD_DROP[name]
    return text


class ExactCases(unittest.TestCase):

    def test_statements(self):
        for name, a, b, want in CASES:
            with self.subTest(name):
                self.assertEqual(diff(a, b), expected(name, want))

    def test_cases_run_and_give_to(self):
        """Every exact case, applied to `from` with a row in each table,
        gives `to`; the reverse direction too."""
        for name, a, b, want in CASES:
            for x, y in ((a, b), (b, a)):
                with self.subTest(name, reverse=x is b):
                    up = diff(x, y)
                    db = connect()
                    db.executescript(x)
                    if up:
                        run_script(db, up)
                    self.assertIsNone(schema_diff(dump(db), y))
                    self.assertIsNone(diff(dump(db), y))
                    db.close()

    def test_rows_survive_a_rename_and_a_rebuild(self):
        db = connect()
        db.executescript("CREATE TABLE t(a, b TEXT);"
                         "INSERT INTO t VALUES (1, '10'), (2, NULL);")
        run_script(db, diff("CREATE TABLE t(a, b TEXT)",
                            "CREATE TABLE t(\n  a,\n  -- migrate:renamed-from"
                            " b\n  c INTEGER\n)"))
        self.assertEqual(db.execute("SELECT a, c, typeof(c) FROM t ORDER BY a"
                                    ).fetchall(),
                         [(1, 10, "integer"), (2, None, "null")])
        db.close()

    def test_rowid_alias_follows_the_declared_type(self):
        """INT PRIMARY KEY to INTEGER PRIMARY KEY: after the upgrade the
        column is the rowid (a row inserted without it gets the next rowid);
        the downgrade makes it an ordinary column again (NULL)."""
        a = "CREATE TABLE t(a INT PRIMARY KEY, b INT)"
        b = "CREATE TABLE t(a INTEGER PRIMARY KEY, b INTEGER)"
        db = connect()
        db.executescript(a + ";INSERT INTO t VALUES (5, 1);")
        run_script(db, diff(a, b))
        db.execute("INSERT INTO t(b) VALUES (2)")
        self.assertEqual(db.execute("SELECT a, b FROM t ORDER BY b").fetchall(),
                         [(5, 1), (6, 2)])
        run_script(db, diff(b, a))
        db.execute("INSERT INTO t(b) VALUES (3)")
        self.assertEqual(db.execute("SELECT a, b FROM t ORDER BY b").fetchall(),
                         [(5, 1), (6, 2), (None, 3)])
        db.close()

    def test_refusals(self):
        for name, a, b, want in REFUSALS:
            with self.subTest(name):
                with self.assertRaises(sqlite3.OperationalError) as cm:
                    diff(a, b)
                self.assertEqual(str(cm.exception), want)

    def test_downgrade(self):
        """The third argument: 'upgrade' is the two-argument call;
        'downgrade' the way back with the declared renames inverted (the
        README's example, exact); NULL for equal schemas."""
        a = ("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);\n"
             "CREATE INDEX users_name ON users (name);")
        b = ("CREATE TABLE users (\n  id INTEGER PRIMARY KEY,\n"
             "  -- migrate:renamed-from name\n  full_name TEXT,\n"
             "  email TEXT NOT NULL DEFAULT ''\n);\n"
             "CREATE INDEX users_name ON users (full_name);\n"
             "CREATE UNIQUE INDEX users_email ON users (email);")
        up = ("DROP INDEX users_name;\n"
              "ALTER TABLE users RENAME COLUMN name TO full_name;\n"
              "ALTER TABLE users ADD COLUMN email TEXT NOT NULL DEFAULT '';\n"
              "CREATE INDEX users_name ON users (full_name);\n"
              "CREATE UNIQUE INDEX users_email ON users (email);\n")
        down = ("DROP INDEX users_name;\nDROP INDEX users_email;\n"
                "ALTER TABLE users RENAME COLUMN full_name TO name;\n"
                "-- destructive: drops column users.email and its values\n"
                "ALTER TABLE users DROP COLUMN email;\n"
                "CREATE INDEX users_name ON users (name);\n")
        if sqlite3.sqlite_version_info < (3, 35, 0):
            # no DROP COLUMN: one rebuild, which also renames by its map
            down = down.replace(
                "ALTER TABLE users RENAME COLUMN full_name TO name;\n", ""
            ).replace(
                "ALTER TABLE users DROP COLUMN email;\n",
                "SELECT migrate_rebuild('users', 'CREATE TABLE users (id "
                "INTEGER PRIMARY KEY, name TEXT)', '{\"name\": "
                "\"full_name\"}');\n")
        self.assertEqual(diff(a, b), up)
        self.assertEqual(diff(a, b, "upgrade"), up)
        self.assertEqual(diff(a, b, "downgrade"), down)
        self.assertEqual(diff(a, b, "DOWNGRADE"), down)
        self.assertIsNone(diff(a, a, "downgrade"))
        # the rows go there and back: the rename kept the values
        db = connect()
        db.executescript(a + "INSERT INTO users VALUES (1, 'ann');")
        run_script(db, up)
        run_script(db, diff(a, b, "downgrade"))
        self.assertIsNone(schema_diff(dump(db), a))
        self.assertEqual(db.execute("SELECT * FROM users").fetchall(),
                         [(1, "ann")])
        db.close()

    def test_bad_direction(self):
        for value, shown in (("sideways", "'sideways'"), (None, "NULL"),
                             ("", "''")):
            with self.subTest(value):
                with self.assertRaises(sqlite3.OperationalError) as cm:
                    diff("CREATE TABLE t(a)", "CREATE TABLE t(b)", value)
                self.assertEqual(
                    str(cm.exception),
                    "migrate_diff(from_sql, to_sql, direction): direction is "
                    "'upgrade' or 'downgrade', not %s" % shown)

    def test_null_arguments(self):
        with self.assertRaises(sqlite3.OperationalError) as cm:
            diff(None, "CREATE TABLE t(a)")
        self.assertEqual(str(cm.exception),
                         "migrate_diff(from_sql, to_sql): both arguments "
                         "must be SQL text (CREATE statements)")

    def test_equal_schemas_give_null(self):
        self.assertIsNone(diff("", ""))
        self.assertIsNone(diff("CREATE TABLE t(a)", "CREATE TABLE t(a);"))

    def test_directonly(self):
        flags = tool().execute(
            "SELECT narg, flags FROM pragma_function_list "
            "WHERE name = 'migrate_diff' ORDER BY narg").fetchall()
        self.assertEqual([n for n, f in flags], [2, 3])
        for n, f in flags:
            self.assertTrue(f & 0x80000)  # SQLITE_DIRECTONLY
        db = connect()
        db.execute("CREATE TABLE t(x)")
        db.execute("CREATE VIEW v AS SELECT migrate_diff('', x) FROM t")
        db.execute("INSERT INTO t VALUES ('CREATE TABLE u(a)')")
        with self.assertRaises(sqlite3.OperationalError) as cm:
            db.execute("SELECT * FROM v").fetchall()
        self.assertEqual(str(cm.exception),
                         "unsafe use of migrate_diff()")
        db.close()


class PropertyTest(unittest.TestCase):
    """Random pairs: AUTOGEN_PAIRS (default 2000) from seed AUTOGEN_SEED."""

    def test_random_pairs(self):
        failures = []
        for seed in range(SEED, SEED + PAIRS):
            rng = random.Random(seed)
            names = G.Namer(rng)
            a = G.gen_schema(rng, names)
            b, what = G.mutate(a, rng, names)
            rep = check_pair(a, b, "seed %d, mutations %s" % (seed, what))
            if rep:
                failures.append(rep)
        heads = ["%s | %s" % tuple(f.split("\n")[:2]) for f in failures]
        self.assertEqual(failures[:3], [], "%d of %d pairs failed:\n%s" % (
            len(failures), PAIRS, "\n".join(heads)))

    def test_chains(self):
        """Each `to` becomes the next `from`: a history of 30 steps."""
        rng = random.Random(SEED + 99)
        names = G.Namer(rng)
        a = G.gen_schema(rng, names)
        for step in range(30):
            b, what = G.mutate(a, rng, names)
            rep = check_pair(a, b, "chain step %d, %s" % (step, what))
            self.assertIsNone(rep, rep)
            G.clear_notes(b)
            a = b

    def test_respelt_schema_gives_null(self):
        """Whitespace, keyword case, quoting and INT for INTEGER (where
        SQLite treats them alike) never produce a statement."""
        for seed in range(SEED, SEED + max(PAIRS // 10, 50)):
            rng = random.Random(seed)
            schema = G.gen_schema(rng)
            s = G.render(schema)
            other = G.respell(G.render(G.respell_types(schema, rng)), rng)
            self.assertIsNone(diff(s, other), "seed %d\n%s\n%s" % (seed, s, other))
            self.assertIsNone(diff(other, s), "seed %d\n%s\n%s" % (seed, s, other))


if __name__ == "__main__":
    unittest.main()
