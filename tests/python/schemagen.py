"""A seeded random schema generator and mutator for the differ's property test
(test_autogen.py).

    rng = random.Random(seed)
    a = gen_schema(rng)                 # a schema model
    b = mutate(a, rng)                  # a copy changed in 1-3 ways
    render(a, inverse_of=b)             # SQL text, renames declared the other way
    render(b)                           # SQL text with "-- migrate:renamed-from"
    respell(render(a), rng)             # the same schema spelt differently

The model keeps what the test needs to fill tables with rows that are valid
on both sides: every table has "id INTEGER" as its first column (in the
primary key), a column with a foreign key holds parent ids (1..ROWS), every
other column a distinct small integer, NULL only where both sides allow it.
Nothing here calls the differ: the test derives its expectations from the
two models and from SQLite.
"""

import copy
import re
import sqlite3

ROWS = 4
TYPES = ["INTEGER", "TEXT", "REAL", "NUMERIC", ""]
STRICT_TYPES = ["INTEGER", "INT", "TEXT", "REAL", "ANY"]
COLLATES = [None, "NOCASE", "RTRIM", "BINARY"]


def col(name, rng, typ=None):
    return {
        "name": name,
        "type": typ if typ is not None else rng.choice(TYPES),
        "notnull": False,
        "default": None,
        "collate": None,
        "check": False,
        "unique": False,
        "fk": None,
        "gen": None,
        "from": None,
    }


class Namer:
    def __init__(self, rng):
        self.n = rng.randrange(1000)

    def __call__(self, prefix):
        self.n += 1
        return "%s%d" % (prefix, self.n)


def gen_table(rng, name, names, parents):
    t = {
        "kind": "table",
        "name": name,
        "cols": [col("id", rng, "INTEGER")],
        "pk": ["id"],
        "strict": False,
        "norowid": False,
        "autoinc": False,
        "from": None,
    }
    for _ in range(rng.randrange(1, 5)):
        c = col(names("c"), rng)
        decorate(c, rng, parents)
        t["cols"].append(c)
    r = rng.random()
    if r < 0.1:
        t["norowid"] = True
    elif r < 0.2:
        t["autoinc"] = True
    if rng.random() < 0.1 and not t["cols"][1]["gen"]:
        t["pk"] = ["id", t["cols"][1]["name"]]
        t["autoinc"] = False
    if rng.random() < 0.1:
        make_strict(t)
    return t


def decorate(c, rng, parents):
    """Random constraints for a new column (valid with the test's rows)."""
    r = rng.random()
    if r < 0.15 and parents:
        c["fk"] = rng.choice(parents)
        c["type"] = "INTEGER"
    elif r < 0.25:
        c["gen"] = rng.choice(["VIRTUAL", "STORED"])
        c["type"] = "INTEGER"
        return
    if rng.random() < 0.2:
        c["notnull"] = True
    if rng.random() < 0.3:
        c["default"] = rng.choice(["0", "'x'", "NULL", "1.5", "-1"])
    if rng.random() < 0.15:
        c["collate"] = rng.choice(COLLATES[1:])
    if rng.random() < 0.15:
        c["check"] = True
    if rng.random() < 0.1 and not c["fk"]:
        c["unique"] = True


def make_strict(t):
    if sqlite3.sqlite_version_info < (3, 37, 1):
        # STRICT tables exist from SQLite 3.37; 3.37.0 refuses some REAL
        # values in a REAL column of one ("cannot store REAL value in REAL
        # column"), seen when filling generated tables
        return
    t["strict"] = True
    for c in t["cols"]:
        if c["type"] not in STRICT_TYPES:
            c["type"] = "ANY" if c["type"] == "" else "INTEGER"
        # a default must fit a STRICT column's type
        if c["type"] in ("INTEGER", "INT") and c["default"] not in (
                None, "NULL", "0", "42", "-1"):
            c["default"] = "0"
        if c["type"] == "REAL" and c["default"] not in (
                None, "NULL", "0", "42", "-1", "1.5"):
            c["default"] = "1.5"


def tables(s):
    return [o for o in s if o["kind"] == "table"]


def find(s, kind, name):
    for o in s:
        if o["kind"] == kind and o["name"].lower() == name.lower():
            return o
    return None


def plain_cols(t):
    return [c for c in t["cols"] if not c["gen"]]


def gen_schema(rng, names=None):
    names = names or Namer(rng)
    s = []
    for _ in range(rng.randrange(1, 5)):
        parents = [t["name"] for t in tables(s)]
        s.append(gen_table(rng, names("t"), names, parents))
    for _ in range(rng.randrange(0, 3)):
        add_index(s, rng, names)
    for _ in range(rng.randrange(0, 3)):
        add_view(s, rng, names)
    for _ in range(rng.randrange(0, 2)):
        add_trigger(s, rng, names)
    if rng.random() < 0.15:
        s.append({"kind": "vtab", "name": names("f"),
                  "cols": ["a", "b"][: rng.randrange(1, 3)]})
    return fixup(s)


def add_index(s, rng, names):
    t = rng.choice(tables(s))
    cs = [c for c in plain_cols(t) if c["name"] != "id"] or t["cols"][:1]
    c = rng.choice(cs)
    r = rng.random()
    s.append({
        "kind": "index", "name": names("i"), "table": t["name"],
        "col": c["name"], "unique": rng.random() < 0.3,
        "desc": rng.random() < 0.2,
        "where": r < 0.2, "expr": 0.2 <= r < 0.35,
    })


def add_view(s, rng, names):
    views = [o for o in s if o["kind"] == "view"]
    if views and rng.random() < 0.3:
        s.append({"kind": "view", "name": names("v"), "view": rng.choice(views)["name"]})
        return
    t = rng.choice(tables(s))
    c = rng.choice(t["cols"])
    s.append({"kind": "view", "name": names("v"), "table": t["name"],
              "col": c["name"]})


def add_trigger(s, rng, names):
    t = rng.choice(tables(s))
    c = rng.choice(plain_cols(t))
    s.append({"kind": "trigger", "name": names("tr"), "table": t["name"],
              "col": c["name"], "when": rng.choice(["AFTER", "BEFORE"])})


# ---------------------------------------------------------------------------
# Mutations

def fixup(s):
    """Make a mutated model valid again: drop what names missing tables or
    columns, keep STRICT types and primary keys possible."""
    changed = True
    while changed:
        changed = False
        names = {t["name"].lower(): t for t in tables(s)}
        for t in tables(s):
            colnames = {c["name"].lower() for c in t["cols"]}
            t["pk"] = [p for p in t["pk"] if p.lower() in colnames] or ["id"]
            if t["norowid"] or t["pk"] != ["id"]:
                t["autoinc"] = False
            if t["strict"]:
                make_strict(t)
            for c in t["cols"]:
                if c.get("new"):
                    # the rows already there get the default: it must fit
                    if c["fk"] or c["unique"]:
                        c["default"] = None
                        c["notnull"] = False
                    if c["notnull"] and c["default"] in (None, "NULL"):
                        c["default"] = "0"
                # a parent is referenced by its primary key "id" alone
                if c["fk"] and (c["fk"].lower() not in names or
                                names[c["fk"].lower()]["pk"] != ["id"]):
                    c["fk"] = None
        keep = []
        for o in s:
            if o["kind"] == "index" and o["unique"]:
                # a new column holds its default in every row already there
                t = names.get(o["table"].lower())
                c = t and next((x for x in t["cols"]
                                if x["name"].lower() == o["col"].lower()), None)
                if c and c.get("new"):
                    o["unique"] = False
            ok = True
            if o["kind"] in ("index", "trigger") or (o["kind"] == "view" and "table" in o):
                t = names.get(o["table"].lower())
                ok = t is not None and any(
                    c["name"].lower() == o["col"].lower() for c in t["cols"])
                if ok and o["kind"] in ("index", "trigger"):
                    ok = not next(c for c in t["cols"]
                                  if c["name"].lower() == o["col"].lower())["gen"] \
                        or o["kind"] == "index"
            elif o["kind"] == "view":
                ok = find(s, "view", o["view"]) is not None
            if ok:
                keep.append(o)
            else:
                changed = True
        s[:] = keep
    return s


def rename_table(s, t, new):
    old = t["name"]
    if t["from"] is None and not t.get("new"):
        t["from"] = old
    t["name"] = new
    for o in s:
        if o.get("table", "").lower() == old.lower():
            o["table"] = new
        if o["kind"] == "table":
            for c in o["cols"]:
                if c["fk"] and c["fk"].lower() == old.lower():
                    c["fk"] = new


def rename_column(s, t, c, new):
    old = c["name"]
    if c["from"] is None and not c.get("new"):
        c["from"] = old
    c["name"] = new
    t["pk"] = [new if p.lower() == old.lower() else p for p in t["pk"]]
    for o in s:
        if o.get("table", "").lower() == t["name"].lower() and \
                o.get("col", "").lower() == old.lower():
            o["col"] = new


MUTATIONS = [
    "add_table", "drop_table", "rename_table", "add_column", "drop_column",
    "rename_column", "type", "notnull", "default", "check", "collate",
    "unique", "fk", "strict", "norowid", "autoinc", "pk", "add_index",
    "drop_index", "change_index", "add_view", "drop_view", "change_view",
    "add_trigger", "drop_trigger", "change_trigger", "vtab", "move_column",
]


def mutate(a, rng, names=None, n=None):
    """A copy of schema a changed in n (1-3) random ways; returns (b, what)."""
    names = names or Namer(rng)
    s = copy.deepcopy(a)
    what = []
    for _ in range(n or rng.randrange(1, 4)):
        m = rng.choice(MUTATIONS)
        if apply_mutation(s, m, rng, names):
            what.append(m)
        fixup(s)
    return s, what


def pick_col(t, rng, pred=lambda c: True):
    cs = [c for c in t["cols"] if c["name"] != "id" and pred(c)]
    return rng.choice(cs) if cs else None


def apply_mutation(s, m, rng, names):
    ts = tables(s)
    t = rng.choice(ts) if ts else None
    if m == "add_table" or t is None:
        s.append(gen_table(rng, names("t"), names,
                           [x["name"] for x in ts if x.get("orig", True)]))
        s[-1]["new"] = True
        return True
    if m == "drop_table":
        if len(ts) < 2:
            return False
        s.remove(t)
        return True
    if m == "rename_table":
        rename_table(s, t, names("t"))
        return True
    if m == "add_column":
        c = col(names("c"), rng)
        decorate(c, rng, [x["name"] for x in ts if not x.get("new")])
        c["new"] = True
        # rows already there must fit: one default for all of them
        if c["fk"] or c["unique"]:
            c["default"] = None
            c["notnull"] = False
        if c["notnull"] and c["default"] in (None, "NULL"):
            c["default"] = "0"
        if t["strict"] and c["type"] not in STRICT_TYPES:
            c["type"] = "INTEGER"
        if rng.random() < 0.8:
            t["cols"].append(c)
        else:
            t["cols"].insert(rng.randrange(1, len(t["cols"]) + 1), c)
        return True
    if m == "move_column":
        c = pick_col(t, rng)
        if c is None:
            return False
        t["cols"].remove(c)
        t["cols"].insert(rng.randrange(1, len(t["cols"]) + 1), c)
        return True
    if m == "drop_column":
        c = pick_col(t, rng)
        if c is None or len(t["cols"]) < 3:
            return False
        t["cols"].remove(c)
        return True
    if m == "rename_column":
        c = pick_col(t, rng)
        if c is None:
            return False
        rename_column(s, t, c, names("c"))
        return True
    if m == "vtab":
        vs = [o for o in s if o["kind"] == "vtab"]
        if vs and rng.random() < 0.5:
            s.remove(vs[0])
        elif vs:
            vs[0]["cols"] = rng.choice([["a"], ["a", "b"], ["a", "b", "c"],
                                        ["b"]])
        else:
            s.append({"kind": "vtab", "name": names("f"), "cols": ["a", "b"]})
        return True
    if m in ("add_index", "add_view", "add_trigger"):
        {"add_index": add_index, "add_view": add_view,
         "add_trigger": add_trigger}[m](s, rng, names)
        return True
    if m.startswith("drop_") or m.startswith("change_"):
        kind = m.split("_")[1]
        os_ = [o for o in s if o["kind"] == kind]
        if not os_:
            return False
        o = rng.choice(os_)
        if m.startswith("drop_"):
            s.remove(o)
        elif kind == "index":
            o["unique"] = not o["unique"]
        elif kind == "view":
            if "table" in o:
                tt = find(s, "table", o["table"])
                o["col"] = rng.choice(tt["cols"])["name"]
                o["distinct"] = not o.get("distinct", False)
            else:
                o["distinct"] = not o.get("distinct", False)
        else:
            o["when"] = "BEFORE" if o["when"] == "AFTER" else "AFTER"
        return True
    # column and table attributes
    if m == "strict":
        if t["strict"]:
            t["strict"] = False
        else:
            make_strict(t)
        return True
    if m == "norowid":
        t["norowid"] = not t["norowid"]
        return True
    if m == "autoinc":
        if t["norowid"] or t["pk"] != ["id"]:
            return False
        t["autoinc"] = not t["autoinc"]
        return True
    if m == "pk":
        # rows already there: a new column (NULL in them) cannot join the key
        c = pick_col(t, rng, lambda c: not c["gen"] and not c.get("new"))
        if t["pk"] != ["id"] or c is None:
            t["pk"] = ["id"]
        else:
            t["pk"] = ["id", c["name"]]
        return True
    c = pick_col(t, rng, lambda c: not c["gen"])
    if c is None:
        return False
    if m == "type":
        c["type"] = rng.choice(STRICT_TYPES if t["strict"] else TYPES)
        if c["fk"]:
            c["type"] = "INTEGER"
    elif m == "notnull":
        c["notnull"] = not c["notnull"]
    elif m == "default":
        c["default"] = rng.choice([None, "0", "'y'", "42"])
    elif m == "check":
        c["check"] = not c["check"]
    elif m == "collate":
        c["collate"] = rng.choice(COLLATES)
    elif m == "unique":
        c["unique"] = not c["unique"]
    elif m == "fk":
        parents = [x["name"] for x in ts if not x.get("new")]
        c["fk"] = None if c["fk"] else rng.choice(parents)
        if c["fk"]:
            c["type"] = "INTEGER"
            c["unique"] = False
    return True


# ---------------------------------------------------------------------------
# Rendering

def q(name):
    return name


def render_col(c, t, note_from):
    parts = [q(c["name"])]
    if c["type"]:
        parts.append(c["type"])
    if t["pk"] == [c["name"]]:
        parts.append("PRIMARY KEY")
        if t["autoinc"]:
            parts.append("AUTOINCREMENT")
    if c["gen"]:
        parts.append("AS (id * 2) %s" % c["gen"])
    if c["notnull"]:
        parts.append("NOT NULL")
    if c["default"] is not None and not c["gen"]:
        parts.append("DEFAULT %s" % c["default"])
    if c["collate"]:
        parts.append("COLLATE %s" % c["collate"])
    if c["unique"]:
        parts.append("UNIQUE")
    if c["check"]:
        parts.append("CHECK (%s IS NOT 'bad')" % q(c["name"]))
    if c["fk"]:
        parts.append("REFERENCES %s(id)" % q(c["fk"]))
        if c.get("cascade"):
            parts.append("ON DELETE CASCADE")
    line = "    " + " ".join(parts)
    if note_from:
        line = "    -- migrate:renamed-from %s\n%s" % (note_from, line)
    return line


def render_obj(o, s, notes):
    """notes: {("table", name): old} / {("col", table, col): old}."""
    if o["kind"] == "table":
        lines = []
        for c in o["cols"]:
            lines.append(render_col(c, o, notes.get(("col", o["name"], c["name"]))))
        if o["pk"] != ["id"] or (o["pk"] == ["id"] and
                                 not any(c["name"] == "id" for c in o["cols"])):
            lines.append("    PRIMARY KEY (%s)" % ", ".join(q(p) for p in o["pk"]))
        opts = []
        if o["norowid"]:
            opts.append("WITHOUT ROWID")
        if o["strict"]:
            opts.append("STRICT")
        head = ""
        if notes.get(("table", o["name"])):
            head = "-- migrate:renamed-from %s\n" % notes[("table", o["name"])]
        return "%sCREATE TABLE %s (\n%s\n)%s;" % (
            head, q(o["name"]), ",\n".join(lines),
            (" " + ", ".join(opts)) if opts else "")
    if o["kind"] == "index":
        if o["expr"]:
            key = "(%s + 1)" % q(o["col"])
        else:
            key = q(o["col"]) + (" DESC" if o["desc"] else "")
        return "CREATE %sINDEX %s ON %s (%s)%s;" % (
            "UNIQUE " if o["unique"] else "", q(o["name"]), q(o["table"]), key,
            " WHERE %s IS NOT NULL" % q(o["col"]) if o["where"] else "")
    if o["kind"] == "view":
        d = "DISTINCT " if o.get("distinct") else ""
        if "table" in o:
            return "CREATE VIEW %s AS SELECT %sid, %s FROM %s;" % (
                q(o["name"]), d, q(o["col"]), q(o["table"]))
        return "CREATE VIEW %s AS SELECT %s* FROM %s;" % (q(o["name"]), d, q(o["view"]))
    if o["kind"] == "trigger":
        return ("CREATE TRIGGER %s %s UPDATE OF %s ON %s BEGIN\n"
                "    SELECT new.id, old.%s;\nEND;" % (
                    q(o["name"]), o["when"], q(o["col"]), q(o["table"]),
                    q(o["col"])))
    if o["kind"] == "vtab":
        return "CREATE VIRTUAL TABLE %s USING fts5(%s);" % (
            q(o["name"]), ", ".join(o["cols"]))
    raise ValueError(o["kind"])


def notes_of(b):
    """The renamed-from comments b declares: {key: old name}."""
    notes = {}
    for t in tables(b):
        if t["from"] and t["from"] != t["name"]:
            notes[("table", t["name"])] = t["from"]
        for c in t["cols"]:
            if c["from"] and c["from"] != c["name"]:
                notes[("col", t["name"], c["name"])] = c["from"]
    return notes


def inverse_notes(a, b):
    """The renames b declares, seen from a (for the downgrade's direction)."""
    notes = {}
    for t in tables(b):
        old = t["from"] or t["name"]
        ta = find(a, "table", old)
        if ta is None:
            continue
        if t["from"] and t["from"] != t["name"]:
            notes[("table", ta["name"])] = t["name"]
        for c in t["cols"]:
            if c["from"] and c["from"] != c["name"]:
                notes[("col", ta["name"], c["from"])] = c["name"]
    return notes


def render(s, notes=None):
    return "\n".join(render_obj(o, s, notes or {}) for o in s) + "\n"


def clear_notes(s):
    """After a pair is done, b becomes the next a: forget its renames."""
    for t in tables(s):
        t["from"] = None
        t.pop("new", None)
        for c in t["cols"]:
            c["from"] = None
            c.pop("new", None)


# ---------------------------------------------------------------------------
# Re-spelling: the same schema written differently

KEYWORDS = ["CREATE", "TABLE", "INDEX", "VIEW", "TRIGGER", "PRIMARY", "KEY",
            "NOT", "NULL", "DEFAULT", "UNIQUE", "CHECK", "REFERENCES", "AS",
            "SELECT", "FROM", "BEGIN", "END", "ON", "UPDATE", "OF", "AFTER",
            "BEFORE", "WHERE", "IS", "COLLATE", "WITHOUT", "ROWID", "STRICT",
            "AUTOINCREMENT", "VIRTUAL", "USING", "DISTINCT", "DESC", "STORED",
            "INTEGER", "TEXT", "REAL", "NUMERIC", "ANY", "INT"]


def respell_types(schema, rng):
    """A copy of schema with INT and INTEGER swapped at random where SQLite
    treats them alike: everywhere but the only PRIMARY KEY column of a rowid
    table (INTEGER alone makes that column the rowid)."""
    out = copy.deepcopy(schema)
    for t in tables(out):
        for c in t["cols"]:
            if c["type"] not in ("INT", "INTEGER"):
                continue
            if not t["norowid"] and t["pk"] == [c["name"]]:
                continue
            if rng.random() < 0.5:
                c["type"] = "INT" if c["type"] == "INTEGER" else "INTEGER"
    return out


def respell(sql, rng):
    """Other keyword case, whitespace and identifier quoting (strings and
    comments untouched)."""
    out = []
    for tok in re.findall(r"'[^']*'|--[^\n]*|\w+|\s+|.", sql):
        if tok.startswith("'") or tok.startswith("--"):
            out.append(tok)
        elif tok.isspace():
            out.append(rng.choice([" ", "  ", "\n  ", "\t"]) if "\n" not in tok
                       else "\n" + rng.choice(["", " ", "\t"]))
        elif tok.upper() in KEYWORDS:
            out.append(rng.choice([tok.upper(), tok.lower(), tok.capitalize()]))
        elif re.match(r"^[a-z]\w*$", tok) and rng.random() < 0.3 and \
                tok not in ("new", "old", "fts5", "x", "y", "bad", "nocase",
                            "rtrim", "binary"):
            out.append(rng.choice(['"%s"', "[%s]", "`%s`"]) % tok)
        else:
            out.append(tok)
    return "".join(out)


# ---------------------------------------------------------------------------
# Rows

def fill_plan(a, b):
    """For each table of a: (name, [(column, value(row), ...)]) so that every
    row is valid in a and in b."""
    plan = []
    for t in tables(a):
        tb = None
        for x in tables(b):
            if (x["from"] or x["name"]).lower() == t["name"].lower():
                tb = x
        cols = []
        for i, c in enumerate(t["cols"]):
            if c["gen"]:
                continue
            cb = None
            if tb is not None:
                for x in tb["cols"]:
                    if (x["from"] or x["name"]).lower() == c["name"].lower() \
                            and not x.get("new"):
                        cb = x
            nullable = (not c["notnull"] and c["name"] not in t["pk"] and
                        (cb is None or (not cb["notnull"] and
                                        cb["name"] not in tb["pk"])))
            fk = c["fk"] or (cb is not None and cb["fk"])
            cols.append((c["name"], i, nullable, fk))
        plan.append((t["name"], cols))
    return plan


def row_values(cols, r):
    vals = []
    for name, i, nullable, fk in cols:
        if name == "id":
            vals.append(r + 1)
        elif nullable and r == 1:
            vals.append(None)
        elif fk:
            vals.append((r % ROWS) + 1)
        else:
            vals.append((r + 1) * 10 + i)
    return vals
