#!/usr/bin/env python3
"""make bench: the differ (migrate_diff) against its floor.

Two schemas of N tables (each with an index and a foreign key to the table
before it; a view and a trigger per 10 tables) that differ in 10% of their
tables: a third gain a column (ADD COLUMN), a third change a type (a
rebuild), a third lose a column (DROP COLUMN).  The floor is what SQLite
takes to build both schemas from their SQL on scratch databases (the differ
must do that much); the target is diff + generate <= 2x the floor.

    /usr/bin/python3 tools/bench/autogen.py --so build/migrate [--sizes 1000]

CPU seconds are the best of --runs rounds, in this process; instructions
(perf stat, when it is allowed) are counted on child processes that do one
part each, less a child that only loads the module and the SQL.
"""
import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import time


def schema(n, changed=False):
    out = []
    for i in range(n):
        ch = changed and i % 10 == 0
        cols = "id INTEGER PRIMARY KEY, name TEXT NOT NULL, v INTEGER DEFAULT 0"
        if i:
            cols += ", p INTEGER REFERENCES t%d(id)" % (i - 1)
        if ch and i % 30 == 0:
            cols += ", extra TEXT"
        elif ch and i % 30 == 10:
            cols = cols.replace("v INTEGER", "v TEXT")
        elif ch:
            cols = cols.replace(", v INTEGER DEFAULT 0", "")
        out.append("CREATE TABLE t%d (%s);" % (i, cols))
        out.append("CREATE INDEX t%d_name ON t%d (name);" % (i, i))
        if i % 10 == 9:
            out.append("CREATE VIEW v%d AS SELECT id, name FROM t%d;" % (i, i))
            out.append("CREATE TRIGGER tr%d AFTER INSERT ON t%d "
                       "BEGIN SELECT new.id; END;" % (i, i))
    return "\n".join(out) + "\n"


def connect(so):
    c = sqlite3.connect(":memory:")
    c.enable_load_extension(True)
    c.load_extension(so)
    return c


def part(so, n, what):
    """One part in this process (for the instruction counts)."""
    a, b = schema(n), schema(n, True)
    c = connect(so)
    if what == "build":
        for s in (a, b):
            d = sqlite3.connect(":memory:")
            d.executescript(s)
            d.close()
    elif what == "diff":
        c.execute("SELECT migrate_diff(?, ?)", (a, b)).fetchone()


def instructions(so, n, what):
    """Instructions of a child doing one part: perf stat where the machine
    counts them, else callgrind (slow: about 50 times the run time)."""
    argv = [sys.executable, os.path.abspath(__file__), "--so", so, "--part",
            what, "--sizes", str(n)]
    if shutil.which("perf"):
        p = subprocess.run(["perf", "stat", "-x,", "-e", "instructions:u"] +
                           argv, capture_output=True, text=True)
        for line in p.stderr.splitlines():
            f = line.split(",")
            if len(f) > 2 and f[2].startswith("instructions") and \
                    f[0].isdigit():
                return int(f[0])
    if shutil.which("valgrind"):
        p = subprocess.run(["valgrind", "--tool=callgrind",
                            "--callgrind-out-file=/dev/null"] + argv,
                           capture_output=True, text=True)
        for line in p.stderr.splitlines():
            if "Collected :" in line:
                return int(line.split(":")[-1])
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--so", required=True)
    ap.add_argument("--sizes", default="1000")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--part")
    ap.add_argument("--ir-sizes", default="",
                    help="sizes whose instructions are counted too")
    args = ap.parse_args()
    if args.part:
        part(args.so, int(args.sizes), args.part)
        return
    print("| tables | build both (floor) | diff + generate | ratio | "
          "instructions: floor | diff | ratio |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for n in map(int, args.sizes.split()):
        a, b = schema(n), schema(n, True)
        c = connect(args.so)
        best_build = best_diff = None
        for _ in range(args.runs):
            t = time.process_time()
            for s in (a, b):
                d = sqlite3.connect(":memory:")
                d.executescript(s)
                d.close()
            t_build = time.process_time() - t
            t = time.process_time()
            out = c.execute("SELECT migrate_diff(?, ?)", (a, b)).fetchone()[0]
            t_diff = time.process_time() - t
            best_build = min(best_build or t_build, t_build)
            best_diff = min(best_diff or t_diff, t_diff)
        # a third of the changed tables are rebuilt, the rest altered
        assert out.count("SELECT migrate_rebuild(") == len(range(10, n, 30))
        base = ib = idf = None
        if str(n) in args.ir_sizes.split():
            base = instructions(args.so, n, "none")
            ib = instructions(args.so, n, "build")
            idf = instructions(args.so, n, "diff")
        if None in (base, ib, idf):
            icols = "n/a | n/a | n/a"
        else:
            icols = "%.1fM | %.1fM | %.1fx" % (
                (ib - base) / 1e6, (idf - base) / 1e6,
                (idf - base) / max(ib - base, 1))
        print("| %d | %.3f s | %.3f s | %.1fx | %s |" % (
            n, best_build, best_diff, best_diff / best_build, icols))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
