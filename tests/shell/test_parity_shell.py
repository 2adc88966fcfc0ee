"""Parity with Alembic through the shell: every step of tests/parity, explicit.

tests/parity/cases.json holds revision graphs and step sequences and
tests/parity/expected.json what Alembic 1.8.1 did for each step (recorded by
tools/alembic_oracle.py; see tests/python/test_parity.py). That test runs the
steps through migrate_to(), which infers the direction, so it leaves out the
steps whose "auto_ok" is false: an `upgrade X` to an applied X (Alembic does
nothing) or a `downgrade X` to an X that is not applied (Alembic refuses).

Here every step runs as the shell's own command, `sqlite-migrate upgrade X` or
`sqlite-migrate downgrade X` (MIGRATE_UPGRADE / MIGRATE_DOWNGRADE), on a
database file that holds the trace table, with the case's graph written as
script files. After each step the trace rows the scripts added and the
migrate_version rows are compared with Alembic's trace and alembic_version:

- a step Alembic refused must exit 1 and leave trace and version unchanged;
- a step Alembic only warned about passes with one of the recorded
  `alternatives` or a clean refusal (exit 1, nothing changed);
- an `order_free` step must run the same revisions in a valid order;
- after the first failing step the rest of that case is not run.

RandomShellParityTest replays tests/parity/random.json (tools/parity_gen.py)
the same way, each step as the command Alembic's recorded state followed,
and checks after each new state that current, history -i and show current
list exactly the version table's rows and that heads lists the graph's
heads, as current marks them.
"""

import json
import os
import re
import shutil
import sqlite3
import sys
import tempfile
import unittest

from shell_support import REPO, run

# the rule for refusal messages is the migrate_to() replay's
sys.path.insert(0, os.path.join(REPO, "tests", "python"))
from test_parity import message_problem  # noqa: E402

PARITY = os.path.join(REPO, "tests", "parity")


def load(name):
    with open(os.path.join(PARITY, name)) as f:
        return json.load(f)


def script_text(node):
    """One revision as a script (the same text test_parity.py writes)."""
    rid = node["id"]
    lines = ["-- rev %s" % rid, "--", "-- Revision ID: %s" % rid,
             ("-- Revises: %s" % ", ".join(node["revises"])).rstrip()]
    if node.get("labels"):
        lines.append("-- Branch Labels: %s" % ", ".join(node["labels"]))
    if node.get("depends"):
        lines.append("-- Depends On: %s" % ", ".join(node["depends"]))
    lines += ["", "-- migrate:upgrade",
              "INSERT INTO trace(step) VALUES ('up %s');" % rid, "",
              "-- migrate:downgrade",
              "INSERT INTO trace(step) VALUES ('down %s');" % rid, ""]
    return "\n".join(lines)


def prerequisites(nodes):
    by_label = {lab: n["id"] for n in nodes for lab in n.get("labels", [])}
    return {n["id"]: set(n["revises"]) | {by_label.get(d, d) for d in n.get("depends", [])}
            for n in nodes}


def order_problem(ran, needs):
    pos = {row.split(" ", 1)[1]: (i, row.split(" ", 1)[0]) for i, row in enumerate(ran)}
    for rid, (i, direction) in pos.items():
        for need in needs.get(rid, ()):
            if need in pos:
                j = pos[need][0]
                if direction == "up" and j > i:
                    return "%s ran before %s, which it needs" % (rid, need)
                if direction == "down" and j < i:
                    return "%s was un-applied before %s, which needs it" % (need, rid)
    return None


class State:
    def __init__(self, path):
        self.path = path
        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE trace(n INTEGER PRIMARY KEY, step TEXT)")
        conn.commit()
        conn.close()

    def read(self):
        conn = sqlite3.connect(self.path)
        try:
            trace = [r[0] for r in conn.execute("SELECT step FROM trace ORDER BY n")]
            heads = []
            if conn.execute("SELECT 1 FROM sqlite_master WHERE name = "
                            "'migrate_version'").fetchone():
                heads = [r[0] for r in conn.execute(
                    "SELECT version_num FROM migrate_version ORDER BY 1")]
            return trace, heads
        finally:
            conn.close()


class ShellParityTest(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.cases = load("cases.json")
        cls.expected = load("expected.json")

    def test_every_step_through_the_shell(self):
        tally = dict(cases=0, steps=0, explicit_only=0, refusals=0, warned_same=0,
                     warned_refused=0, failed=0, not_reached=0)
        for case in self.cases["cases"]:
            tally["cases"] += 1
            self.run_case(case, tally)
        sys.stderr.write(
            "\nshell parity: %(cases)d cases, %(steps)d steps run through sqlite-migrate "
            "upgrade/downgrade (%(explicit_only)d of them auto_ok=false, %(refusals)d "
            "refusals), %(warned_same)d warned step(s) matched an Alembic outcome, "
            "%(warned_refused)d refused; %(failed)d failed, %(not_reached)d not reached\n"
            % tally)
        self.assertEqual(tally["failed"], 0)
        self.assertGreater(tally["explicit_only"], 0)

    def run_case(self, case, tally):
        nodes = self.cases["graphs"][case["graph"]]
        needs = prerequisites(nodes)
        steps = self.expected[case["name"]]
        tmp = tempfile.mkdtemp(prefix="migrate-shell-parity-")
        try:
            folder = os.path.join(tmp, "migrations")
            os.makedirs(folder)
            for node in nodes:
                with open(os.path.join(folder, "%s_rev.sql" % node["id"]), "w") as f:
                    f.write(script_text(node))
            state = State(os.path.join(tmp, "test.db"))
            for i, exp in enumerate(steps):
                tally["steps"] += 1
                if not exp["auto_ok"]:
                    tally["explicit_only"] += 1
                problems = self.run_step(tmp, folder, state, exp, needs, tally)
                with self.subTest(case=case["name"], step=i + 1, cmd=exp["cmd"],
                                  target=exp["target"]):
                    if problems:
                        tally["failed"] += 1
                        tally["not_reached"] += len(steps) - i - 1
                        self.fail("%s %s (graph %s): %s" % (
                            exp["cmd"], exp["target"], case["graph"], "; ".join(problems)))
                if problems:
                    break
        finally:
            shutil.rmtree(tmp)

    def run_step(self, tmp, folder, state, exp, needs, tally):
        trace0, heads0 = state.read()
        p = run(["-d", "test.db", "--dir", folder, exp["cmd"], exp["target"]], cwd=tmp)
        trace1, heads = state.read()
        ran = trace1[len(trace0):]
        unchanged = trace1 == trace0 and heads == heads0
        if p.returncode not in (0, 1):
            return ["exit status %d (usage error?): %s" % (p.returncode, p.stderr)]
        if p.stdout:
            return ["printed on stdout: %r" % p.stdout]
        failed = p.returncode == 1
        if failed and not p.stderr.startswith("FAILED: "):
            return ["exit 1 without a FAILED: message: %r" % p.stderr]

        if exp["error"] is not None:
            tally["refusals"] += 1
            if not failed:
                return ["Alembic refuses (%r) but the shell exited 0, ran %r, heads %r"
                        % (exp["error"], ran, heads)]
            if not unchanged:
                return ["refused (%s) but changed the database: ran %r, heads %r -> %r"
                        % (p.stderr.strip(), ran, heads0, heads)]
            return []

        if exp["warnings"]:
            if failed:
                if unchanged:
                    tally["warned_refused"] += 1
                    return []
                return ["refused but changed the database"]
            if {"ran": ran, "heads": heads} in exp["alternatives"]:
                tally["warned_same"] += 1
                return []
            return ["ran %r, heads %r; Alembic gives one of %r, or refuse it"
                    % (ran, heads, exp["alternatives"])]

        if failed:
            return ["failed (%s); Alembic ran %r and left heads %r"
                    % (p.stderr.strip(), exp["ran"], exp["heads"])]
        problems = []
        if exp["order_free"]:
            if sorted(ran) != sorted(exp["ran"]):
                problems.append("ran %r; Alembic ran %r (in any valid order)"
                                % (ran, exp["ran"]))
            else:
                why = order_problem(ran, needs)
                if why:
                    problems.append("ran %r: %s" % (ran, why))
        elif ran != exp["ran"]:
            problems.append("ran %r; Alembic ran %r" % (ran, exp["ran"]))
        if heads != exp["heads"]:
            problems.append("migrate_version holds %r; alembic_version held %r"
                            % (heads, exp["heads"]))
        # one progress line per applied revision
        n_progress = sum(1 for line in p.stderr.splitlines()
                         if line.startswith("Running "))
        if n_progress != len(ran):
            problems.append("%d progress lines for %d revisions: %r"
                            % (n_progress, len(ran), p.stderr))
        return problems


# ----------------------------------------------------------------------
# Random graphs (tests/parity/random.json, written by tools/parity_gen.py)

FAILED_PREFIX = re.compile(r"^FAILED: (upgrade|downgrade)\('.*?'\): ")


def random_script(rev):
    rid, revises, labels, depends = rev
    return script_text({"id": rid, "revises": revises, "labels": labels,
                        "depends": depends}).replace("'up %s'" % rid, "'+%s'" % rid).replace(
                            "'down %s'" % rid, "'-%s'" % rid)


def first_ids(text, pattern):
    """The ids of the lines of text that match pattern (group 1), sorted."""
    return sorted(m.group(1) for m in re.finditer(pattern, text, re.M))


class RandomShellParityTest(unittest.TestCase):
    """Every step of tests/parity/random.json as the shell's own upgrade or
    downgrade (the command Alembic's recorded state followed), and after
    each step current, history -i, show current and heads, which must agree
    with each other and with the version table."""

    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.data = load("random.json")

    def test_random_graphs(self):
        """Every EVERY-th graph (MIGRATE_PARITY_SHELL_EVERY, default 8: each
        step costs several processes; tests/python/test_parity.py replays
        all of them through migrate_to() in one process; 1 runs all here)."""
        every = int(os.environ.get("MIGRATE_PARITY_SHELL_EVERY", "8"))
        tally = dict(graphs=0, steps=0, refusals=0, faces=0, failed=0, not_reached=0)
        for i, graph in enumerate(self.data["graphs"]):
            if i % every:
                continue
            tally["graphs"] += 1
            self.run_graph(graph, tally)
        sys.stderr.write(
            "\nrandom shell parity: %(graphs)d graphs, %(steps)d steps through "
            "sqlite-migrate upgrade/downgrade (%(refusals)d refusals); current, "
            "history -i, show current and heads checked in %(faces)d states; "
            "%(failed)d failed, %(not_reached)d not reached\n" % tally)
        self.assertEqual(tally["failed"], 0)
        self.assertGreater(tally["faces"], 0)

    def run_graph(self, graph, tally):
        revs = graph["revs"]
        needs = prerequisites([{"id": r[0], "revises": r[1], "labels": r[2],
                                "depends": r[3]} for r in revs])
        revised = {p for r in revs for p in r[1]}
        heads_of_graph = sorted(r[0] for r in revs if r[0] not in revised)
        tmp = tempfile.mkdtemp(prefix="migrate-random-shell-")
        try:
            folder = os.path.join(tmp, "migrations")
            os.makedirs(folder)
            for rev in revs:
                with open(os.path.join(folder, "%s_rev.sql" % rev[0]), "w") as f:
                    f.write(random_script(rev))
            state = State(os.path.join(tmp, "test.db"))
            checked = None  # the version rows the faces were last checked in
            for i, step in enumerate(graph["steps"]):
                tally["steps"] += 1
                problems = self.run_step(tmp, folder, state, step, needs, tally)
                rows = state.read()[1]
                if not problems and rows != checked:
                    # the faces depend on the rows only: checked once per state
                    tally["faces"] += 1
                    checked = rows
                    problems = self.faces_agree(tmp, folder, state, heads_of_graph)
                if problems:
                    left = len(graph["steps"]) - i - 1
                    tally["failed"] += 1
                    tally["not_reached"] += left
                    with self.subTest(graph=graph["name"], step=i + 1, target=step[0]):
                        self.fail("%s step %d: %s %s: %s; revs %s" % (
                            graph["name"], i + 1, step[1], step[0], "; ".join(problems),
                            json.dumps(revs)))
                    break
        finally:
            shutil.rmtree(tmp)

    def run_step(self, tmp, folder, state, step, needs, tally):
        target, cmd = step[0], step[1]
        exp = step[3] if cmd == "up" else step[4]
        command = "upgrade" if cmd == "up" else "downgrade"
        trace0, heads0 = state.read()
        p = run(["-d", "test.db", "--dir", folder, command, target], cwd=tmp)
        trace1, heads = state.read()
        ran = trace1[len(trace0):]
        if p.returncode not in (0, 1) or p.stdout:
            return ["exit %d, stdout %r, stderr %r" % (p.returncode, p.stdout, p.stderr)]
        if "ran" not in exp:
            tally["refusals"] += 1
            theirs = exp.get("error") or exp.get("warn")
            if p.returncode != 1:
                return ["Alembic refuses (%r) but the shell exited 0, ran %r" % (theirs, ran)]
            if trace1 != trace0 or heads != heads0:
                return ["refused but ran %r, heads %r -> %r" % (ran, heads0, heads)]
            m = FAILED_PREFIX.match(p.stderr)
            if not m:
                return ["refusal without 'FAILED: %s(...): ': %r" % (command, p.stderr)]
            why = message_problem(p.stderr[m.end():].rstrip("\n"), theirs)
            return [why] if why else []
        if p.returncode != 0:
            return ["failed (%s); Alembic ran %r and left %r"
                    % (p.stderr.strip(), exp["ran"], exp["heads"])]
        problems = []
        if exp.get("free"):
            if sorted(ran) != sorted(exp["ran"]):
                problems.append("ran %r; Alembic ran %r (in any order)" % (ran, exp["ran"]))
            else:
                why = order_problem([("up " if r[0] == "+" else "down ") + r[1:]
                                     for r in ran], needs)
                if why:
                    problems.append("ran %r: %s" % (ran, why))
        elif ran != exp["ran"]:
            problems.append("ran %r; Alembic ran %r" % (ran, exp["ran"]))
        if heads != exp["heads"]:
            problems.append("migrate_version holds %r; alembic_version held %r"
                            % (heads, exp["heads"]))
        n_progress = sum(1 for line in p.stderr.splitlines() if line.startswith("Running "))
        if n_progress != len(ran):
            problems.append("%d progress lines for %d revisions" % (n_progress, len(ran)))
        return problems

    def faces_agree(self, tmp, folder, state, heads_of_graph):
        """current, history -i, show current and heads against the version
        table and the graph's heads."""
        rows = state.read()[1]
        base = ["-d", "test.db", "--dir", folder]
        out = {}
        for name, args in (("current", ["current"]), ("history -i", ["history", "-i"]),
                           ("show current", ["show", "current"]), ("heads", ["heads"])):
            p = run(base + args, cwd=tmp)
            if p.returncode != 0 or p.stderr:
                return ["%s: exit %d, %r" % (name, p.returncode, p.stderr)]
            out[name] = p.stdout
        seen = {
            "current": first_ids(out["current"], r"^(\w+)"),
            "history -i": first_ids(out["history -i"], r"-> (\w+)\b.*\(current\)"),
            "show current": first_ids(out["show current"], r"^Rev: (\w+)"),
        }
        problems = ["%s shows %r; the version table holds %r" % (k, v, rows)
                    for k, v in sorted(seen.items()) if v != rows]
        listed = first_ids(out["heads"], r"^(\w+)")
        if listed != heads_of_graph:
            problems.append("heads lists %r; the graph's heads are %r" % (listed, heads_of_graph))
        marked = first_ids(out["current"], r"^(\w+) .*\((effective )?head\)")
        if marked != sorted(set(rows) & set(listed)):
            problems.append("current marks %r as heads; heads lists %r" % (marked, listed))
        return problems


if __name__ == "__main__":
    unittest.main()
