#!/usr/bin/python3
"""Record what Alembic 1.8 prints for the shell's commands, as fixed expectations.

    /usr/bin/python3 tests/shell/record_alembic.py           # rewrite expected_alembic.json
    /usr/bin/python3 tests/shell/record_alembic.py --check   # compare only, exit 1 on a difference

Needs Alembic (recorded with 1.8.1) and a built build/sqlite-migrate; the test
suite (test_formats.py) needs neither Alembic nor this script: it only reads
tests/shell/expected_alembic.json.

For every fixture history (the repository's migrations/ and the folders under
tests/shell/fixtures/) a throwaway Alembic project is written whose scripts have
the same ids, parents, branch labels and dependencies, and whose module
docstring is the revision's header without the "-- " (so Alembic's doc and
longdoc are our message and header). Each case then runs, in a fresh folder:

    setup   upgrade/downgrade steps, the same in Alembic and in sqlite-migrate
    args    one command (history, heads, branches, show, current, ...)

and records Alembic's stdout with one rewrite: the "Path:" of a script
(<project>/versions/<file>.py) becomes "{DIR}/<file>.sql", the test putting the
--dir it passes in place of {DIR}. The "Running upgrade/downgrade ..." lines
Alembic logs for the setup steps are recorded too (the shell adds " (N ms)").

Alembic prints some Python sets (branch labels, "Branches into", the children
under "branches"), whose order follows the hash seed.
Each case is run under PYTHONHASHSEED=0, 1, 2, ... until Alembic's output equals
the shell's, and that variant (with its seed) is recorded; when no seed gives
the shell's output the seed-0 output is recorded and the case is reported, so
the test fails until the shell is fixed. A case where Alembic fails is
recorded with "exit": 1 and no output (messages differ on purpose).
The revisions "current" lists are a set of objects in Alembic (their order
follows memory addresses, not the seed): when Alembic printed the same lines
(or -v blocks) as the shell in another order, the shell's order is recorded
and the case marked with "order".
"""

import argparse
import json
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SHELL = os.path.join(REPO, "build", "sqlite-migrate")
EXPECTED = os.path.join(HERE, "expected_alembic.json")
FIXTURES = {
    "example": os.path.join(REPO, "migrations"),
    "deps": os.path.join(HERE, "fixtures", "deps"),
    "linear": os.path.join(HERE, "fixtures", "linear"),
}
MAX_SEEDS = 20

# (fixture, setup steps, command)
CASES = [
    ("example", [], ["history"]),
    ("example", [], ["history", "-v"]),
    ("example", [], ["heads"]),
    ("example", [], ["heads", "-v"]),
    ("example", [], ["branches"]),
    ("example", [], ["branches", "-v"]),
    ("example", [], ["show", "7b5e"]),
    ("example", [], ["show", "4e92a7c0b6d1"]),
    ("example", [], ["show", "heads"]),
    ("example", [], ["show", "search@head"]),
    ("example", [], ["history", "-r", "2a6f:"]),
    ("example", [], ["history", "-r", ":2a6f"]),
    ("example", [], ["history", "-r", "7b5e:b3d1"]),
    ("example", [], ["history", "-r", ":4e92"]),
    ("example", [], ["history", "-r", "7b5e:4e92", "-v"]),
    ("example", [], ["history", "-r", "audit@base:"]),
    ("example", [], ["history", "-r", "9a39:+2"]),
    ("example", [], ["history", "-r", "base:search@head"]),
    ("example", [], ["history", "-r", "2a6f:c6a0"]),
    ("example", [], ["history", "-r", "xxxx:"]),
    ("example", [], ["history", "-r-1:"]),
    ("example", [], ["history", "-r-2:"]),
    ("example", [["upgrade", "heads"], ["downgrade", "base"], ["upgrade", "2a6f"],
                 ["upgrade", "c6a0"], ["upgrade", "audit@+1"], ["downgrade", "search@-1"]],
     ["current"]),
    ("example", [["upgrade", "7b5e"]], ["current"]),
    ("example", [["upgrade", "7b5e"]], ["current", "-v"]),
    ("example", [["upgrade", "7b5e"]], ["history", "-i"]),
    ("example", [["upgrade", "7b5e"]], ["history", "-r", "current:"]),
    ("example", [["upgrade", "7b5e"]], ["history", "-r", ":current", "-i"]),
    ("example", [["upgrade", "7b5e"]], ["show", "current"]),
    ("example", [["upgrade", "b3d1"], ["upgrade", "d8f3"]], ["current"]),
    ("example", [["upgrade", "b3d1"], ["upgrade", "d8f3"]], ["history", "-i", "-v"]),
    ("example", [["upgrade", "head"]], ["current"]),
    ("example", [["upgrade", "head"]], ["current", "-v"]),
    ("example", [["upgrade", "head"], ["downgrade", "7b5e"], ["upgrade", "audit@head"]],
     ["current"]),
    ("deps", [], ["history"]),
    ("deps", [], ["history", "-v"]),
    ("deps", [], ["heads"]),
    ("deps", [], ["heads", "-v"]),
    ("deps", [], ["heads", "--resolve-dependencies"]),
    ("deps", [], ["branches"]),
    ("deps", [], ["show", "c1"]),
    ("deps", [], ["show", "x1"]),
    ("deps", [], ["history", "-r", "b1:"]),
    ("deps", [], ["history", "-r", ":c1"]),
    ("deps", [], ["history", "-r-1:"]),
    ("deps", [], ["history", "-r", "ledger@-1:"]),
    ("deps", [["upgrade", "c1"]], ["current"]),
    ("deps", [["upgrade", "c1"]], ["history", "-i"]),
    ("deps", [["upgrade", "heads"]], ["current", "-v"]),
    ("deps", [["upgrade", "c2"], ["upgrade", "x1"]], ["current"]),
    ("linear", [], ["history"]),
    ("linear", [], ["history", "-r", "a1:+2"]),
    ("linear", [], ["history", "-r", "b2:d4"]),
    ("linear", [], ["history", "-r-2:"]),
    ("linear", [], ["history", "-r-2:c3"]),
    ("linear", [["upgrade", "c3"]], ["history", "-r", "current:"]),
    ("linear", [["upgrade", "c3"]], ["history", "-r", ":current"]),
    ("linear", [["upgrade", "c3"]], ["history", "-r", "-1:current"]),
    ("linear", [["upgrade", "c3"]], ["history", "-r", "current:+1"]),
    ("linear", [["upgrade", "c3"]], ["history", "-r", "b2:current", "-i"]),
    ("linear", [["upgrade", "c3"]], ["current", "-v"]),
    ("linear", [["upgrade", "head"], ["downgrade", "-2"], ["upgrade", "+1"],
                ["downgrade", "base"]], ["current"]),
]

ALEMBIC_INI = """[alembic]
script_location = %(location)s
sqlalchemy.url = sqlite:///test.db

[loggers]
keys = root,alembic

[handlers]
keys = console

[formatters]
keys = generic

[logger_root]
level = WARN
handlers = console

[logger_alembic]
level = INFO
handlers =
qualname = alembic

[handler_console]
class = StreamHandler
args = (sys.stderr,)
level = NOTSET
formatter = generic

[formatter_generic]
format = %%(message)s
"""

ENV_PY = '''\
from logging.config import fileConfig
from alembic import context
from sqlalchemy import create_engine
fileConfig(context.config.config_file_name)
url = context.config.get_main_option("sqlalchemy.url")
engine = create_engine(url)
with engine.connect() as connection:
    context.configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()
'''


def parse_script(path):
    """id, parents, labels, depends and docstring of one of our scripts."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    header = []
    for line in text.split("\n"):
        if not line.startswith("--"):
            break
        header.append(line[2:].strip())
    keys = {}
    for line in header[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            keys[k.strip().lower()] = v.strip()

    def items(key):
        return [x.strip() for x in keys.get(key, "").split(",")
                if x.strip() and x.strip() != "None"]

    while header and not header[-1]:
        header.pop()
    return dict(id=keys["revision id"], parents=items("revises"),
                labels=items("branch labels"), depends=items("depends on"),
                doc="\n".join(header))


def write_project(folder, proj):
    os.makedirs(os.path.join(proj, "versions"))
    with open(os.path.join(proj, "env.py"), "w") as f:
        f.write(ENV_PY)
    with open(os.path.join(proj, "script.py.mako"), "w") as f:
        f.write('"""${message}"""\n')
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".sql") or name == "schema.sql":
            continue
        s = parse_script(os.path.join(folder, name))
        down = (None if not s["parents"] else s["parents"][0]
                if len(s["parents"]) == 1 else tuple(s["parents"]))
        with open(os.path.join(proj, "versions", name[:-4] + ".py"), "w") as f:
            f.write('"""%s\n"""\n' % s["doc"].replace('"""', "'''"))
            f.write("revision = %r\ndown_revision = %r\n" % (s["id"], down))
            f.write("branch_labels = %r\n" % (tuple(s["labels"]) or None,))
            f.write("depends_on = %r\n" % (tuple(s["depends"]) or None,))
            f.write("def upgrade():\n    pass\n\ndef downgrade():\n    pass\n")


# Alembic orders its revision map by os.listdir() (file system order); as in
# tools/alembic_oracle.py the listing is sorted, so the map order is the file
# name order, which is the bundle's order.
RUNNER = """
import sys
from alembic.script.base import Script
func = Script.__dict__["_list_py_dir"].__func__
Script._list_py_dir = classmethod(lambda cls, sd, path: sorted(func(cls, sd, path)))
from alembic.config import main
main(argv=sys.argv[1:], prog="alembic")
"""


def run_alembic(work, proj, args, seed):
    env = dict(os.environ, PYTHONHASHSEED=str(seed))
    return subprocess.run(
        ["/usr/bin/python3", "-c", RUNNER, "-c", os.path.join(work, "alembic.ini")]
        + args, cwd=work, env=env, capture_output=True, text=True)


def run_shell(work, folder, args):
    return subprocess.run([SHELL, "-d", "test.db", "--dir", folder] + args,
                          cwd=work, capture_output=True, text=True)


def running_lines(stderr):
    out = []
    for line in stderr.splitlines():
        if line.startswith("Running upgrade") or line.startswith("Running downgrade"):
            out.append(re.sub(r" \(\d+ ms\)$", "", line))
    return out


def entries(out):
    """The revisions "current" printed, as a sorted list of lines or blocks."""
    lines = out.splitlines(True)
    head = [l for l in lines[:1] if l.startswith("Current revision(s)")]
    blocks, cur = [], []
    for line in lines[len(head):]:
        if cur and (line.startswith("Rev: ") or not line.startswith(("Rev: ", " ", "\n"))
                    and not cur[0].startswith("Rev: ")):
            blocks.append("".join(cur))
            cur = []
        cur.append(line)
    if cur:
        blocks.append("".join(cur))
    return head + sorted(blocks)


def record_case(fixture, setup, args):
    folder = FIXTURES[fixture]
    tmp = tempfile.mkdtemp(prefix="record-alembic-")
    try:
        proj = os.path.join(tmp, "proj")
        write_project(folder, proj)
        variants = {}
        ours = None
        for seed in range(MAX_SEEDS):
            work = os.path.join(tmp, "w%d" % seed)
            os.makedirs(work)
            with open(os.path.join(work, "alembic.ini"), "w") as f:
                f.write(ALEMBIC_INI % dict(location=proj))
            running = []
            for step in setup:
                p = run_alembic(work, proj, step, seed)
                if p.returncode != 0:
                    raise SystemExit("setup step %r failed in Alembic: %s" % (step, p.stderr))
                running += running_lines(p.stderr)
            p = run_alembic(work, proj, args, seed)
            out = p.stdout.replace(os.path.join(proj, "versions") + "/", "{DIR}/")
            out = re.sub(r"\{DIR\}/(\S+)\.py$", r"{DIR}/\1.sql", out, flags=re.M)
            got = dict(exit=0 if p.returncode == 0 else 1,
                       stdout=out if p.returncode == 0 else None, running=running)
            if ours is None:
                swork = os.path.join(tmp, "shell")
                os.makedirs(swork)
                sr = []
                for step in setup:
                    q = run_shell(swork, folder, step)
                    if q.returncode != 0:
                        raise SystemExit("setup step %r failed in the shell: %s"
                                         % (step, q.stderr))
                    sr += running_lines(q.stderr)
                q = run_shell(swork, folder, args)
                ours = dict(exit=q.returncode,
                            stdout=(q.stdout.replace(folder + "/", "{DIR}/")
                                    if q.returncode == 0 else None),
                            running=sr)
            variants.setdefault(json.dumps(got, sort_keys=True), seed)
            if got == ours:
                return dict(got, seed=seed, matches=True)
            if (args[0] == "current" and got["exit"] == ours["exit"] == 0
                    and got["running"] == ours["running"]
                    and entries(got["stdout"]) == entries(ours["stdout"])):
                # the same revisions; Alembic's order is a set of objects
                return dict(ours, seed=seed, matches=True, reordered=True)
            if p.returncode != 0 or not re.search(
                    r"\(.*, |Branches into|Branch names|\n.*\n", out):
                break  # nothing hash-ordered in this output: seeds do not matter
        first = json.loads(min(variants, key=variants.get))
        return dict(first, seed=0, matches=False, shell=ours)
    finally:
        shutil.rmtree(tmp)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true")
    opts = ap.parse_args()
    if not os.path.exists(SHELL):
        raise SystemExit("build the shell first: make")
    records = []
    bad = 0
    with multiprocessing.Pool(min(8, os.cpu_count() or 1)) as pool:
        results = pool.starmap(record_case, CASES)
    for (fixture, setup, args), r in zip(CASES, results):
        rec = dict(fixture=fixture, setup=setup, args=args, exit=r["exit"],
                   stdout=r["stdout"], running=r["running"], seed=r["seed"])
        if r.get("reordered"):
            rec["order"] = "shell's (Alembic prints these revisions as a set)"
        records.append(rec)
        if not r["matches"]:
            bad += 1
            print("DIFFERS: %s %s %s\n--- alembic\n%s\n--- shell\n%s"
                  % (fixture, setup, " ".join(args), r.get("stdout"),
                     json.dumps(r.get("shell"), indent=1)))
    if opts.check:
        with open(EXPECTED) as f:
            old = json.load(f)
        if old.get("cases") != records:
            print("expected_alembic.json is out of date")
            bad += 1
    else:
        with open(EXPECTED, "w") as f:
            json.dump(dict(alembic="1.8.1", cases=records), f, indent=1, sort_keys=True)
            f.write("\n")
    print("%d cases, %d differ from the shell" % (len(records), bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
