#!/usr/bin/python3
"""Record what the real Alembic does on the graphs of tests/parity/cases.json.

    /usr/bin/python3 tools/alembic_oracle.py            # rewrite tests/parity/expected.json
    /usr/bin/python3 tools/alembic_oracle.py --check    # compare, exit 1 on any difference
    /usr/bin/python3 tools/alembic_oracle.py --case NAME --print   # look, write nothing

Needs Alembic (recorded with 1.8.1 and SQLAlchemy 1.4); the test suite does not:
tests/python/test_parity.py only reads the JSON files this writes.

For each case a throwaway Alembic project is built in a temporary folder
(alembic.ini, env.py, versions/<id>_rev.py), with a SQLite database file that
already holds `CREATE TABLE trace(n INTEGER PRIMARY KEY, step TEXT)`. Each
revision's upgrade() inserts 'up <id>' into trace and its downgrade() inserts
'down <id>'. The steps run in-process through alembic.command.upgrade /
alembic.command.downgrade, online, against the real file. After each step:

    cmd, target   the step, as in cases.json
    ran           the trace rows that step added, in order
    heads         the rows of alembic_version, sorted
    error         str() of the exception Alembic raised, or null
    error_type    its class name, or null
    warnings      the messages of the warnings emitted during the step
    alternatives  for a step that warned, every outcome ({ran, heads}) Alembic
                  gives depending on which alembic_version row it reads first
                  (see below); [] otherwise
    order_free    true when the order of `ran` changed with Python's hash seed
                  (Alembic keeps some dependencies in sets): only the set of
                  revisions and a valid parents-first order are Alembic's
                  contract there
    auto_ok       whether migrate_to()'s direction inference (README.md, "Targets")
                  picks the same command as the step: fixed for head/heads/
                  <label>@head(s) (upgrade), base/<label>@base (downgrade),
                  +N/<label>@+N (upgrade), -N/<label>@-N (downgrade); otherwise
                  the target is resolved with Alembic's own revision map and is
                  a downgrade when it is among the ancestors (dependencies
                  included) of the current heads, else an upgrade. A target
                  that does not resolve is an error either way (auto_ok true).
                  A `downgrade` to an applied target that Alembic refuses
                  while its `upgrade` accepts it (a target applied only as a
                  dependency) is auto_ok false: migrate_to() does nothing
                  there, as Alembic's upgrade.

Determinism: Alembic orders its revision map by os.listdir(), which is file
system order; this script makes that listing sorted, so the map order is the
file name order, which cases.json keeps equal to the id order. Alembic also
keeps some dependency sets in Python sets: every case runs in child processes
under PYTHONHASHSEED=0..N-1 (--seeds); seed 0 is recorded, a step whose `ran`
order differs under another seed is marked order_free, and any other
difference between seeds is an error.

`downgrade -1` with several heads only warns in Alembic 1.8.1 and walks down
from alembic_version's first row as SELECT returns it (storage order, i.e.
the order the rows were inserted). For such a step the oracle reruns it from
a copy of the database once per head with that head's row stored first, and
records every outcome as `alternatives`. Such a step must be the last of its
case, so that a different (or refused) outcome cannot change later steps.
"""

import argparse
import contextlib
import io
import json
import logging
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import warnings

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASES = os.path.join(REPO, "tests", "parity", "cases.json")
EXPECTED = os.path.join(REPO, "tests", "parity", "expected.json")

ID_RE = re.compile(r"^[a-z0-9]+$")
# Alembic's own pattern for relative targets (alembic/script/revision.py)
RELATIVE_RE = re.compile(r"(?:(.+?)@)?(\w+)?((?:\+|-)\d+)")

ENV_PY = '''\
from alembic import context
from sqlalchemy import create_engine, pool

url = context.config.get_main_option("sqlalchemy.url")
engine = create_engine(url, poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
'''

INI = '''\
[alembic]
script_location = {script_location}
sqlalchemy.url = sqlite:///{db}
'''

REV_PY = '''\
"""rev {id}

Revision ID: {id}
Revises: {revises}
"""
from alembic import op

revision = {id!r}
down_revision = {down_revision!r}
branch_labels = {branch_labels!r}
depends_on = {depends_on!r}


def upgrade():
    op.execute("INSERT INTO trace(step) VALUES ('up {id}')")


def downgrade():
    op.execute("INSERT INTO trace(step) VALUES ('down {id}')")
'''


def _one_or_tuple(items):
    if not items:
        return None
    if len(items) == 1:
        return items[0]
    return tuple(items)


def check_graph(name, nodes):
    ids = [n["id"] for n in nodes]
    if len(set(ids)) != len(ids):
        raise SystemExit("graph %s: duplicate id" % name)
    labels = [lab for n in nodes for lab in n.get("labels", [])]
    for n in nodes:
        if not ID_RE.match(n["id"]):
            raise SystemExit("graph %s: id %r is not [a-z0-9]+" % (name, n["id"]))
        for p in n["revises"]:
            if p not in ids:
                raise SystemExit("graph %s: %s revises unknown %s" % (name, n["id"], p))
        for d in n.get("depends", []):
            if d not in ids and d not in labels:
                raise SystemExit("graph %s: %s depends on unknown %s" % (name, n["id"], d))
    # the file name order must be the id order (Alembic's map order, see above)
    if sorted(ids) != sorted(ids, key=lambda i: i + "_rev.py"):
        raise SystemExit("graph %s: file name order differs from id order" % name)


def write_project(root, nodes):
    versions = os.path.join(root, "versions")
    os.makedirs(versions)
    with open(os.path.join(root, "env.py"), "w") as f:
        f.write(ENV_PY)
    db = os.path.join(root, "test.db")
    ini = os.path.join(root, "alembic.ini")
    with open(ini, "w") as f:
        f.write(INI.format(script_location=root, db=db))
    for n in nodes:
        with open(os.path.join(versions, "%s_rev.py" % n["id"]), "w") as f:
            f.write(REV_PY.format(
                id=n["id"],
                revises=", ".join(n["revises"]),
                down_revision=_one_or_tuple(n["revises"]),
                branch_labels=_one_or_tuple(n.get("labels", [])),
                depends_on=_one_or_tuple(n.get("depends", [])),
            ))
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE trace(n INTEGER PRIMARY KEY, step TEXT)")
    con.commit()
    con.close()
    return ini, db


def read_state(db):
    con = sqlite3.connect(db)
    try:
        last = con.execute("SELECT coalesce(max(n), 0) FROM trace").fetchone()[0]
        has_version = con.execute(
            "SELECT count(*) FROM sqlite_master WHERE name = 'alembic_version'"
        ).fetchone()[0]
        heads = []
        if has_version:
            heads = [r[0] for r in con.execute(
                "SELECT version_num FROM alembic_version ORDER BY 1")]
        return last, heads
    finally:
        con.close()


def trace_since(db, last):
    con = sqlite3.connect(db)
    try:
        return [r[0] for r in con.execute(
            "SELECT step FROM trace WHERE n > ? ORDER BY n", (last,))]
    finally:
        con.close()


def inferred_command(script, target, heads):
    """The command migrate_to() would pick for `target` with `heads` applied,
    or None when the target does not resolve (an error either way)."""
    rmap = script.revision_map
    label, _, symbol = target.rpartition("@")
    if symbol in ("head", "heads"):
        return "upgrade"
    if symbol == "base":
        return "downgrade"
    m = RELATIVE_RE.match(target)
    try:
        if m and m.end() == len(target):
            branch, sym, rel = m.groups()
            if sym is None:
                return "upgrade" if int(rel) > 0 else "downgrade"
            # <rev>+N / <rev>-N: the revision it names, walked as Alembic does
            start = rmap.get_revision(sym if branch is None else "%s@%s" % (branch, sym))
            rev = rmap._walk(start, int(rel), branch_label=branch if int(rel) > 0 else None)
            if rev is None:
                return None
        else:
            rev = rmap.get_revision(target)
    except Exception:
        return None
    if rev is None or rev == "base":
        return "downgrade"
    applied = {r.revision for r in rmap._get_ancestor_nodes(
        rmap.get_revisions(tuple(heads)), include_dependencies=True)}
    return "downgrade" if rev.revision in applied else "upgrade"


@contextlib.contextmanager
def sorted_listdir():
    """Make Alembic read versions/ in sorted order (see the module doc)."""
    from alembic.script.base import Script
    orig = Script.__dict__["_list_py_dir"]
    func = orig.__func__

    def _list_py_dir(cls, scriptdir, path):
        return sorted(func(cls, scriptdir, path))

    Script._list_py_dir = classmethod(_list_py_dir)
    try:
        yield
    finally:
        Script._list_py_dir = orig


def run_step(cfg, cmd, target, tmp):
    from alembic import command
    err = err_type = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            getattr(command, cmd)(cfg, target)
        except Exception as e:  # CommandError, RevisionError, AssertionError...
            err, err_type = str(e).replace(tmp, "<tmp>"), type(e).__name__
    return err, err_type, [str(w.message).replace(tmp, "<tmp>") for w in caught]


def store_first(db, first, heads):
    """Rewrite alembic_version so that `first` is the row SELECT returns first."""
    con = sqlite3.connect(db)
    with con:
        con.execute("DELETE FROM alembic_version")
        for h in [first] + [h for h in heads if h != first]:
            con.execute("INSERT INTO alembic_version(version_num) VALUES (?)", (h,))
    con.close()


def run_case(case, nodes, verbose=False):
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    tmp = tempfile.mkdtemp(prefix="alembic-oracle-")
    try:
        ini, db = write_project(tmp, nodes)
        snapshot, after = db + ".before", db + ".after"
        results = []
        for i, step in enumerate(case["steps"]):
            cmd, target = step["cmd"], step["target"]
            if cmd not in ("upgrade", "downgrade"):
                raise SystemExit("case %s: bad command %r" % (case["name"], cmd))
            cfg = Config(ini, stdout=io.StringIO())
            last, heads_before = read_state(db)
            inferred = inferred_command(ScriptDirectory.from_config(cfg), target, heads_before)
            shutil.copyfile(db, snapshot)
            err, err_type, warned = run_step(cfg, cmd, target, tmp)
            ran = trace_since(db, last)
            _, heads = read_state(db)
            res = {
                "cmd": cmd,
                "target": target,
                "ran": ran,
                "heads": heads,
                "error": err,
                "error_type": err_type,
                "warnings": warned,
                "alternatives": [],
                "order_free": False,
                "auto_ok": inferred is None or inferred == cmd,
            }
            if (res["auto_ok"] and cmd == "downgrade" and err is not None
                    and inferred == "downgrade"):
                # an applied target Alembic's downgrade refuses: migrate_to()
                # does what Alembic's upgrade does when that accepts it
                shutil.copyfile(db, after)
                shutil.copyfile(snapshot, db)
                e2, _, _ = run_step(Config(ini, stdout=io.StringIO()), "upgrade", target, tmp)
                if e2 is None:
                    res["auto_ok"] = False
                shutil.copyfile(after, db)
            where = "case %s step %d (%s %s)" % (case["name"], i + 1, cmd, target)
            if err is not None and (ran or heads != heads_before):
                raise SystemExit("%s: Alembic failed after changing the database" % where)
            if not res["auto_ok"] and (ran or heads != heads_before):
                # the parity test does not run such steps, so they must not
                # change the state the following steps start from
                raise SystemExit("%s: auto_ok is false but the step changes the "
                                 "database; redesign the case" % where)
            if warned:
                if i != len(case["steps"]) - 1:
                    raise SystemExit("%s: a step that warns must be the last of "
                                     "its case" % where)
                shutil.copyfile(db, after)
                outcomes = []
                for first in heads_before:
                    shutil.copyfile(snapshot, db)
                    store_first(db, first, heads_before)
                    e2, _, w2 = run_step(Config(ini, stdout=io.StringIO()), cmd, target, tmp)
                    if w2 != warned or e2 != err:
                        raise SystemExit("%s: rerun from %s differs" % (where, first))
                    outcome = {"ran": trace_since(db, last), "heads": read_state(db)[1]}
                    if outcome not in outcomes:
                        outcomes.append(outcome)
                if {"ran": ran, "heads": heads} not in outcomes:
                    raise SystemExit("%s: the first run is not among the reruns" % where)
                res["alternatives"] = sorted(outcomes, key=dump)
                shutil.copyfile(after, db)
            if verbose:
                print("  %-10s %-14s ran=%s heads=%s%s%s%s" % (
                    cmd, target, ran, heads,
                    "" if err is None else " ERROR %s: %s" % (err_type, err),
                    "" if not warned else " WARN %s ALTERNATIVES %s" % (warned, res["alternatives"]),
                    "" if res["auto_ok"] else " [auto_ok false]"))
            results.append(res)
        return results
    finally:
        shutil.rmtree(tmp)


def dump(obj):
    return json.dumps(obj, indent=1, sort_keys=True) + "\n"


def load_cases(path):
    with open(path) as f:
        spec = json.load(f)
    for name, nodes in spec["graphs"].items():
        check_graph(name, nodes)
    names = [c["name"] for c in spec["cases"]]
    if len(set(names)) != len(names):
        raise SystemExit("duplicate case name")
    for c in spec["cases"]:
        if c["graph"] not in spec["graphs"]:
            raise SystemExit("case %s: unknown graph %s" % (c["name"], c["graph"]))
    return spec


def run_cases(spec, only, verbose):
    logging.getLogger("alembic").setLevel(logging.WARNING)
    out = {}
    with sorted_listdir():
        for case in spec["cases"]:
            if only and case["name"] not in only:
                continue
            if verbose:
                print("%s (%s)" % (case["name"], case["graph"]))
            out[case["name"]] = run_case(case, spec["graphs"][case["graph"]], verbose)
    return out


def run_seeded(args):
    """Run every selected case under PYTHONHASHSEED=0..seeds-1 and merge."""
    runs = []
    for seed in range(args.seeds):
        cmd = [sys.executable, os.path.abspath(__file__), "--child", "--cases", args.cases]
        for c in args.case or []:
            cmd += ["--case", c]
        env = dict(os.environ, PYTHONHASHSEED=str(seed))
        p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, check=True)
        runs.append(json.loads(p.stdout))
    out = runs[0]
    for seed, other in enumerate(runs[1:], 1):
        for name, steps in out.items():
            for i, (a, b) in enumerate(zip(steps, other[name])):
                if a == b:
                    continue
                a2, b2 = dict(a, ran=sorted(a["ran"])), dict(b, ran=sorted(b["ran"]))
                a2.pop("order_free"); b2.pop("order_free")
                if a2 != b2:
                    raise SystemExit("case %s step %d: result depends on the hash seed "
                                     "(seed 0 vs %d), beyond the order of `ran`:\n%s\n%s"
                                     % (name, i + 1, seed, a, b))
                a["order_free"] = True
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", default=CASES)
    ap.add_argument("-o", "--output", default=EXPECTED)
    ap.add_argument("--check", action="store_true",
                    help="compare with the output file instead of writing it")
    ap.add_argument("--case", action="append", help="only this case (repeatable)")
    ap.add_argument("--print", action="store_true", dest="verbose",
                    help="print each step's result (one run, this process's hash seed)")
    ap.add_argument("--seeds", type=int, default=8,
                    help="hash seeds to run under (default 8)")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()

    spec = load_cases(args.cases)
    if args.child:
        json.dump(run_cases(spec, args.case, False), sys.stdout)
        return 0
    if args.verbose:
        run_cases(spec, args.case, True)
        return 0

    import alembic
    out = run_seeded(args)
    steps = [s for v in out.values() for s in v]
    summary = ("alembic %s: %d graphs, %d cases, %d steps (%d errors, %d warned, "
               "%d order_free, %d auto_ok false)" % (
                   alembic.__version__, len({c["graph"] for c in spec["cases"] if c["name"] in out}),
                   len(out), len(steps),
                   sum(1 for s in steps if s["error"] is not None),
                   sum(1 for s in steps if s["warnings"]),
                   sum(1 for s in steps if s["order_free"]),
                   sum(1 for s in steps if not s["auto_ok"])))

    if args.check:
        with open(args.output) as f:
            old = json.load(f)
        if args.case:
            old = {k: v for k, v in old.items() if k in out}
        if old != out:
            for k in sorted(set(old) | set(out)):
                if old.get(k) != out.get(k):
                    print("differs: %s" % k)
            print(summary)
            return 1
        print("%s matches; %s" % (os.path.relpath(args.output, REPO), summary))
        return 0
    if args.case:
        print(summary + "; --case given, nothing written")
        return 0
    with open(args.output, "w") as f:
        f.write(dump(out))
    print("wrote %s; %s" % (os.path.relpath(args.output, REPO), summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
