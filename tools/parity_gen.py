#!/usr/bin/python3
"""Differential generator: random revision graphs, random targets, real Alembic.

    /usr/bin/python3 tools/parity_gen.py                 # write tests/parity/random.json
    /usr/bin/python3 tools/parity_gen.py --check         # regenerate, compare, exit 1 on a difference
    /usr/bin/python3 tools/parity_gen.py --graphs 5 --print -o /dev/null   # look

Needs Alembic 1.8.1 (Debian's python3-alembic); the test suite does not:
tests/python/test_parity.py and tests/shell/test_parity_shell.py replay the
file this writes.

Each graph (seeded: --seed plus the graph's number) has 4 to 9 revisions with
random ids (several share a four-character prefix, and the file name order,
which is Alembic's map order, is not the creation order), branches, merges of
two or three revisions, several roots, branch labels and Depends On (on a
revision or on a label, on the same branch or another). On it, --steps steps
run from an empty database. Each step picks a random target: head, heads,
base, an id, a 4- or 3-character prefix, a label, label@head/heads/base,
label@<rev> (the rev often on another branch), label@+N/-N, +N/-N,
<rev>+N/<rev>-N, <rev>@head, a revision something depends on. From the same
state the real Alembic runs both `upgrade TARGET` and `downgrade TARGET`
(alembic.command, online, on a SQLite file whose revision scripts insert
'+id' / '-id' rows into a trace table); the database then continues from one
of them: the one migrate_to() must match (`auto`), or, when both leave
the database in the same state, either (`cmd`, which the shell replays).

Output, one graph per line:

    {"alembic": "1.8.1", "graphs": [
     {"name": "g001", "revs": [[id, [parents], [labels], [depends]], ...],
      "steps": [[target, cmd, auto, up, down], ...]},
    ...]}

`up` and `down` are the outcomes of the two commands from the step's starting
state: {"ran": ["+a", "-b", ...], "heads": [sorted alembic_version rows]}, or
{"error": Alembic's message (its exception's class
name for a bare assertion)}, or {"warn": message} for `downgrade -N` from
several heads (Alembic warns and picks a version row; we refuse: the database
state then stays as it was), plus "free": 1 when the order of `ran` changed
with Python's hash seed, or may change with it because a revision that ran
has two dependencies or more (Alembic keeps them in a set; only the set and
a parents-first order are its contract there). `auto` says which of the two
migrate_to() (direction inferred) must match: "up" when the target is not
applied (or does not resolve), "down" when it is applied, except "up" when it
is applied and Alembic's downgrade refuses while its upgrade accepts (a no-op:
a target applied only as a dependency, label@head).  Whether a target is
applied: resolved as Alembic's upgrade resolves it, or, when that fails, as
its downgrade does ("label@rev" with rev on another branch).

A step after which Alembic fails having changed the database (a crash in the
middle of a run) is not recorded: another target is drawn.
"""

import argparse
import io
import json
import logging
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import alembic_oracle as oracle  # noqa: E402  (same folder)

REPO = os.path.dirname(HERE)
OUTPUT = os.path.join(REPO, "tests", "parity", "random.json")

STEMS = ["ab1", "ab2", "c0d", "e7f", "f00"]
HEX = "0123456789abcdef"
LABELS = ["ui", "cache", "auth", "search", "audit", "core", "api", "billing"]

REV_PY = '''\
revision = {id!r}
down_revision = {down_revision!r}
branch_labels = {branch_labels!r}
depends_on = {depends_on!r}


def upgrade():
    from alembic import op
    op.execute("INSERT INTO trace(step) VALUES ('+{id}')")


def downgrade():
    from alembic import op
    op.execute("INSERT INTO trace(step) VALUES ('-{id}')")
'''


# ----------------------------------------------------------------------
# Graphs and targets

def ancestors(nodes_by_id, rid):
    out, todo = set(), [rid]
    while todo:
        r = todo.pop()
        if r in out:
            continue
        out.add(r)
        todo.extend(nodes_by_id[r]["revises"])
    return out


def gen_graph(rng):
    """A random graph: list of {"id", "revises", "labels", "depends"}."""
    n = rng.randint(4, 9)
    order = []  # creation order: not the file name order
    while len(order) < n:
        rid = rng.choice(STEMS) + "".join(rng.choice(HEX[:rng.choice((3, 16))])
                                          for _ in range(2))
        if rid not in order:
            order.append(rid)
    labels = rng.sample(LABELS, len(LABELS))
    nodes, by_id = [], {}
    for i, rid in enumerate(order):
        node = {"id": rid, "revises": [], "labels": [], "depends": []}
        earlier = [x["id"] for x in nodes]
        if earlier and rng.random() > 0.12:
            k = 1
            if len(earlier) >= 3 and rng.random() < 0.25:
                k = 3 if rng.random() < 0.2 else 2
            parents = []
            for p in rng.sample(earlier, len(earlier)):
                anc = ancestors(by_id, p)
                if any(p in ancestors(by_id, q) or q in anc for q in parents):
                    continue
                parents.append(p)
                if len(parents) == k:
                    break
            node["revises"] = parents
        if earlier and rng.random() < 0.35:
            mine = ancestors(by_id, node["revises"][0]) if node["revises"] else set()
            pool = [x for x in earlier if rng.random() < 0.2 or x not in mine]
            for d in rng.sample(pool, min(len(pool), 2 if rng.random() < 0.2 else 1)):
                lab = by_id[d]["labels"]
                node["depends"].append(lab[0] if lab and rng.random() < 0.5 else d)
        if labels and rng.random() < 0.35:
            node["labels"].append(labels.pop())
        nodes.append(node)
        by_id[rid] = node
    return sorted(nodes, key=lambda x: x["id"])


def gen_target(rng, nodes):
    ids = [x["id"] for x in nodes]
    labels = [lab for x in nodes for lab in x["labels"]]
    deps = [d for x in nodes for d in x["depends"]]
    rid = rng.choice(ids)
    lab = rng.choice(labels) if labels else rid
    n = rng.choice((1, 1, 1, 2, 3))
    choices = [
        (3, lambda: "heads"), (2, lambda: "head"), (2, lambda: "base"),
        (8, lambda: rid), (2, lambda: rid[:4]), (1, lambda: rid[:3]),
        (2, lambda: lab), (3, lambda: lab + "@head"), (1, lambda: lab + "@heads"),
        (1, lambda: lab + "@base"), (5, lambda: "%s@%s" % (lab, rid)),
        (2, lambda: "%s@+%d" % (lab, n)), (2, lambda: "%s@-%d" % (lab, n)),
        (3, lambda: "+%d" % n), (3, lambda: "-%d" % n),
        (2, lambda: "%s+%d" % (rid, n)), (3, lambda: "%s-%d" % (rid, n)),
        (1, lambda: rid + "@head"),
        (3, lambda: rng.choice(deps) if deps else rid),
    ]
    total = sum(w for w, _ in choices)
    x = rng.uniform(0, total)
    for w, f in choices:
        x -= w
        if x <= 0:
            return f()
    return rid


# ----------------------------------------------------------------------
# Running Alembic

def write_project(root, nodes):
    ini, db = oracle.write_project(root, [])
    for n in nodes:
        with open(os.path.join(root, "versions", "%s_rev.py" % n["id"]), "w") as f:
            f.write(REV_PY.format(
                id=n["id"],
                down_revision=oracle._one_or_tuple(n["revises"]),
                branch_labels=oracle._one_or_tuple(n["labels"]),
                depends_on=oracle._one_or_tuple(n["depends"])))
    return ini, db


def run_cmd(ini, db, cmd, target, tmp):
    """Run one Alembic command; the outcome as recorded (see the doc)."""
    from alembic.config import Config
    last, before = oracle.read_state(db)
    err, err_type, warned = oracle.run_step(Config(ini, stdout=io.StringIO()), cmd, target,
                                            tmp)
    if err == "":
        err = err_type  # a bare assertion
    ran = oracle.trace_since(db, last)
    heads = oracle.read_state(db)[1]
    changed = ran or heads != before
    if err is not None:
        return {"crash": err} if changed else {"error": err}
    if warned:
        return {"warn": warned[0]}
    return {"ran": ran, "heads": heads}


def changes(outcome, heads):
    return "ran" in outcome and (outcome["ran"] or outcome["heads"] != heads)


def is_applied(script, target, heads):
    """Whether `target` names applied revisions (or base), read as Alembic's
    upgrade reads it or, when that fails, as its downgrade does (which
    ignores the label of "label@rev"); None when neither resolves it."""
    inferred = oracle.inferred_command(script, target, heads)
    if inferred is None and "@" in target:
        inferred = oracle.inferred_command(script, target.rpartition("@")[2], heads)
    return None if inferred is None else inferred == "downgrade"


def auto_choice(script, target, heads, up, down):
    """Which outcome migrate_to() must match: a target that is not applied is
    upgraded to; an applied one is downgraded to, unless Alembic's downgrade
    refuses it and its upgrade accepts it (then nothing is to be done)."""
    if not is_applied(script, target, heads):
        return "up"
    if "ran" not in down and "ran" in up:
        return "up"
    return "down"


def run_graph(name, nodes, rng, nsteps, verbose):
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    tmp = tempfile.mkdtemp(prefix="parity-gen-")
    try:
        ini, db = write_project(tmp, nodes)
        script = ScriptDirectory.from_config(Config(ini))
        snap, after_up, after_down = db + ".snap", db + ".up", db + ".down"
        steps, tries = [], 0
        while len(steps) < nsteps and tries < nsteps * 6:
            tries += 1
            target = gen_target(rng, nodes)
            heads = oracle.read_state(db)[1]
            shutil.copyfile(db, snap)
            up = run_cmd(ini, db, "upgrade", target, tmp)
            shutil.copyfile(db, after_up)
            shutil.copyfile(snap, db)
            down = run_cmd(ini, db, "downgrade", target, tmp)
            shutil.copyfile(db, after_down)
            shutil.copyfile(snap, db)
            if "crash" in up or "crash" in down:
                continue
            for o in (up, down):
                if "ran" in o and any(len(script.revision_map.get_revision(
                        r[1:])._normalized_resolved_dependencies) > 1 for r in o["ran"]):
                    # the order of these dependencies is a Python set's
                    o["free"] = 1
            auto = auto_choice(script, target, heads, up, down)
            # the database goes on as migrate_to() leaves it, through either
            # command that leaves it so (the shell replays `cmd`)
            effect = lambda o: (sorted(o["ran"]), o["heads"]) if "ran" in o else ([], heads)
            same = [c for c, o in (("up", up), ("down", down))
                    if effect(o) == effect(up if auto == "up" else down)]
            cmd = rng.choice(same)
            if "ran" in (up if cmd == "up" else down):
                shutil.copyfile(after_up if cmd == "up" else after_down, db)
            steps.append([target, cmd, auto, up, down])
            if verbose:
                print("  %-14s %-4s auto=%-4s up=%s down=%s" % (target, cmd, auto, up, down))
        return {"name": name,
                "revs": [[n["id"], n["revises"], n["labels"], n["depends"]] for n in nodes],
                "steps": steps}
    finally:
        shutil.rmtree(tmp)


def generate(args):
    logging.getLogger("alembic").setLevel(logging.WARNING)
    warnings.simplefilter("ignore")
    out = []
    with oracle.sorted_listdir():
        for g in range(args.first, args.first + args.graphs):
            rng = random.Random("%d/%d" % (args.seed, g))
            nodes = gen_graph(rng)
            oracle.check_graph("g%03d" % g, nodes)
            if args.verbose:
                print("g%03d %s" % (g, [[n["id"], n["revises"], n["labels"], n["depends"]]
                                        for n in nodes]))
            out.append(run_graph("g%03d" % g, nodes, rng, args.steps, args.verbose))
    return out


# ----------------------------------------------------------------------
# Hash seeds, output

def merge_seeds(runs):
    """Seed 0's graphs; a step whose `ran` order differs under another seed
    gets "free": 1; a step refused under every seed keeps seed 0's refusal;
    any other difference is an error."""
    base = runs[0]
    for seed, other in enumerate(runs[1:], 1):
        for g0, g1 in zip(base, other):
            for s0, s1 in zip(g0["steps"], g1["steps"]):
                for k in (3, 4):
                    a, b = s0[k], s1[k]
                    if a == b:
                        continue
                    if ("ran" in a and "ran" in b and a["heads"] == b["heads"]
                            and sorted(a["ran"]) == sorted(b["ran"])):
                        a["free"] = 1
                        continue
                    if "ran" not in a and "ran" not in b:
                        # a refusal either way: a message listing a set, or
                        # `downgrade -N` from several heads, which walks from
                        # whichever version row comes first (the rows' order
                        # follows Alembic's sets) and fails or only warns;
                        # seed 0's is kept
                        continue
                    raise SystemExit("%s: step %r differs under hash seed %d beyond the "
                                     "order of ran:\n%s\n%s" % (g0["name"], s0[:2], seed, a, b))
    return base


def dump(graphs):
    import alembic
    lines = ['{"alembic": %s, "graphs": [' % json.dumps(alembic.__version__)]
    lines.append(",\n".join(json.dumps(g, separators=(",", ":")) for g in graphs))
    lines.append("]}")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--graphs", type=int, default=320)
    ap.add_argument("--first", type=int, default=1, help="number of the first graph")
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--seeds", type=int, default=3, help="Python hash seeds (default 3)")
    ap.add_argument("-j", "--jobs", type=int, default=3, help="processes at once")
    ap.add_argument("-o", "--output", default=OUTPUT)
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--print", action="store_true", dest="verbose")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child or args.verbose:
        graphs = generate(args)
        if args.child:
            json.dump(graphs, sys.stdout)
        return 0
    base = [sys.executable, os.path.abspath(__file__), "--child", "--graphs", str(args.graphs),
            "--first", str(args.first), "--steps", str(args.steps), "--seed", str(args.seed)]
    runs, procs = [], []
    for seed in range(args.seeds):
        env = dict(os.environ, PYTHONHASHSEED=str(seed))
        procs.append(subprocess.Popen(base, env=env, stdout=subprocess.PIPE))
        if len(procs) >= args.jobs or seed == args.seeds - 1:
            for p in procs:
                text = p.communicate()[0]
                if p.returncode:
                    raise SystemExit("a child run failed")
                runs.append(json.loads(text))
            procs = []
    saved = os.path.join(tempfile.gettempdir(), "parity_gen_runs.json")
    with open(saved, "w") as f:
        json.dump(runs, f)  # to merge again without rerunning Alembic
    text = dump(merge_seeds(runs))
    steps = [s for g in runs[0] for s in g["steps"]]
    summary = "%d graphs, %d steps (%d upgrade, %d downgrade; %d up / %d down refusals)" % (
        len(runs[0]), len(steps), sum(s[1] == "up" for s in steps),
        sum(s[1] == "down" for s in steps), sum("ran" not in s[3] for s in steps),
        sum("ran" not in s[4] for s in steps))
    if args.check:
        with open(args.output) as f:
            same = f.read() == text
        print("%s %s; %s" % (args.output, "matches" if same else "DIFFERS", summary))
        return 0 if same else 1
    with open(args.output, "w") as f:
        f.write(text)
    print("wrote %s; %s" % (args.output, summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
