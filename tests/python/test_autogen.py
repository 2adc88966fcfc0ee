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


def diff(a, b):
    return tool().execute("SELECT migrate_diff(?, ?)", (a, b)).fetchone()[0]


def schema_diff(a, b):
    """The engine's schema comparison (as migrate_check compares)."""
    return tool().execute("SELECT migrate_schema_diff(?, ?)",
                          (a, b)).fetchone()[0]


def dump(conn):
    """conn's schema as SQL text that builds it again (tables first;
    virtual tables' shadow tables left to their module)."""
    shadow = {n for (n,) in conn.execute(
        "SELECT name FROM pragma_table_list WHERE type = 'shadow'")}
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


def integrity_problems(db):
    """integrity_check's lines, less SQLite 3.40-3.41's false "NULL value
    in T.C" for WITHOUT ROWID tables (the column really holds no NULL)."""
    out = []
    for (line,) in db.execute("PRAGMA integrity_check"):
        if line == "ok":
            continue
        if line.startswith("NULL value in ") and \
                (3, 40, 0) <= sqlite3.sqlite_version_info < (3, 42, 0):
            t, c = line[len("NULL value in "):].split(".")
            n = db.execute('SELECT count(*) FROM "%s" WHERE "%s" IS NULL'
                           % (t, c)).fetchone()[0]
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
    except sqlite3.Error as e:
        return "migrate_diff fails: %s\n%s" % (e, ctx)
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
                for (t,) in db.execute(
                        "SELECT name FROM sqlite_master WHERE type = 'table' "
                        "AND sql NOT LIKE 'CREATE VIRTUAL%' "
                        "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
                        ).fetchall():
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
        self.assertEqual(failures[:3], [],
                         "%d of %d pairs failed" % (len(failures), PAIRS))

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
        """Whitespace, keyword case and quoting never produce a statement."""
        for seed in range(SEED, SEED + max(PAIRS // 10, 50)):
            rng = random.Random(seed)
            s = G.render(G.gen_schema(rng))
            other = G.respell(s, rng)
            self.assertIsNone(diff(s, other), "seed %d\n%s\n%s" % (seed, s, other))
            self.assertIsNone(diff(other, s), "seed %d\n%s\n%s" % (seed, s, other))


if __name__ == "__main__":
    unittest.main()
