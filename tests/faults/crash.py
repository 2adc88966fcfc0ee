#!/usr/bin/env python3
"""Crash test (issue #5, item 3): SIGKILL an upgrade at random moments.

    python3 tests/faults/crash.py --build build/faults --trials 200
    python3 tests/faults/crash.py --build build/faults --trials 20 --seed 7

A generated history of 200 revisions (r000 <- r001 <- ... <- r199): r000
creates a "ledger" table of 2,000 rows; every revision creates a table with
an index and 100 rows and updates every ledger row, so the upgrade rewrites
pages that exist before it starts (journaled, spilled from the page cache
mid-transaction: the upgrade writes a few MB, more than the 2 MB cache).

A template database is migrated to r009 (the old version).  Each trial
copies it, starts build/faults/crash_child (migrate_run() to head) and
SIGKILLs it after a delay drawn uniformly from [0, T] (three trials in
four) or from [0.8 T, 1.2 T] (one in four: around the COMMIT), T being the
measured duration of the upgrade itself (the child says "go" just before
migrate_run(); the delay counts from then).  The parent then opens the file
with the default VFS (a hot journal is rolled back, a WAL recovered) and
checks:

  - PRAGMA integrity_check is ok;
  - migrate_version is exactly r009 or r199, and the database equals the
    reference database at that version: schema (sqlite_schema rows), row
    count of every table, the ledger's sum, migrate_log's row count, and
    the journal mode — all or nothing, never in between;
  - a final migrate_to('head') by a new child succeeds and gives the
    reference database at r199.

Trials cycle through a rollback-journal file and a WAL file, each with
SQLite's default 2 MB page cache and with a 20-page one (PRAGMA cache_size
in the child), which makes SQLite spill modified pages of the old database
into the file (rollback journal) or frames into the WAL long before the
COMMIT, so the hot-journal rollback and WAL recovery have real work.  The
random delays come from --seed (printed), so a failing trial can be re-run
with the same delay fraction (the timing itself is not reproducible).
The last line is "N passed, N failed"; the exit status is 1 on a failure.
"""
import argparse
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

N_REV = 200
OLD = 9            # the template is at r009
LEDGER_ROWS = 2000
ROWS = 100


SMALL_CACHE = 20   # pages


def rev(i):
    return "r%03d" % i


def label(combo):
    mode, cache = combo
    return mode + ("+cache%d" % cache if cache else "")


def write_history(folder):
    os.makedirs(folder)
    for i in range(N_REV):
        up, down = [], []
        if i == 0:
            up.append(
                "CREATE TABLE ledger (id INTEGER PRIMARY KEY, n INTEGER NOT "
                "NULL, pad TEXT NOT NULL);\n"
                "WITH RECURSIVE k(x) AS (SELECT 1 UNION ALL SELECT x + 1 "
                "FROM k WHERE x < %d)\n"
                "INSERT INTO ledger (id, n, pad) SELECT x, 0, "
                "hex(zeroblob(50)) FROM k;" % LEDGER_ROWS)
            down.append("DROP TABLE ledger;")
        t = "t_%03d" % i
        up.append(
            "CREATE TABLE %s (id INTEGER PRIMARY KEY, a TEXT NOT NULL);\n"
            "CREATE INDEX ix_%s_a ON %s (a);\n"
            "WITH RECURSIVE k(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM k "
            "WHERE x < %d)\n"
            "INSERT INTO %s (a) SELECT printf('%%05d-', x) || "
            "hex(zeroblob(40)) FROM k;\n"
            "UPDATE ledger SET n = n + 1;" % (t, t, t, ROWS, t))
        down.insert(0, "UPDATE ledger SET n = n - 1;\nDROP TABLE %s;" % t)
        text = (
            "-- Step %d\n--\n-- Revision ID: %s\n-- Revises: %s\n"
            "-- Create Date: 2026-01-01 00:00:00\n\n"
            "-- migrate:upgrade\n%s\n\n-- migrate:downgrade\n%s\n"
            % (i, rev(i), rev(i - 1) if i else "None", "\n".join(up),
               "\n".join(down)))
        with open(os.path.join(folder, "%s_step.sql" % rev(i)), "w") as f:
            f.write(text)


def state(path):
    """What the file holds, read through the default VFS (hot journal
    rolled back / WAL recovered by this first connection)."""
    con = sqlite3.connect(path, isolation_level=None)
    try:
        ic = [r[0] for r in con.execute("PRAGMA integrity_check")]
        jm = con.execute("PRAGMA journal_mode").fetchone()[0]
        schema = con.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_schema "
            "ORDER BY 1, 2").fetchall()
        tables = [r[1] for r in schema
                  if r[0] == "table" and not r[1].startswith("sqlite_")]
        counts = [(t, con.execute('SELECT count(*) FROM "%s"' % t)
                   .fetchone()[0]) for t in tables]
        ledger = (con.execute("SELECT sum(n) FROM ledger").fetchone()[0]
                  if "ledger" in tables else None)
        version = ",".join(r[0] for r in con.execute(
            "SELECT version_num FROM migrate_version ORDER BY 1")) \
            if "migrate_version" in tables else "base"
    finally:
        con.close()
    return {"integrity": ic, "journal_mode": jm, "version": version,
            "signature": (schema, counts, ledger, jm)}


def remove_db(path):
    for suffix in ("", "-journal", "-wal", "-shm"):
        try:
            os.unlink(path + suffix)
        except FileNotFoundError:
            pass


def run_child(child, db, folder, target, cache=None):
    argv = [child, db, folder, target] + ([str(cache)] if cache else [])
    return subprocess.run(argv, capture_output=True, text=True, timeout=600)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build/faults")
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--seed", type=int, default=20261121)
    ap.add_argument("--keep", action="store_true",
                    help="keep the scratch directory")
    args = ap.parse_args()
    child = os.path.abspath(os.path.join(args.build, "crash_child"))
    tmp = tempfile.mkdtemp(prefix="migrate-crash-")
    rng = random.Random(args.seed)
    passed = failed = 0
    t_start = time.monotonic()
    print("# crash: seed=%d trials=%d history=%d revisions, old %s -> new "
          "%s; scratch %s" % (args.seed, args.trials, N_REV, rev(OLD),
                              rev(N_REV - 1), tmp))
    sys.stdout.flush()
    try:
        folder = os.path.join(tmp, "migrations")
        write_history(folder)
        modes = ["delete", "wal"]
        # (journal mode, cache pages): the default 2 MB cache, and a
        # 20-page cache that spills modified pages of the old database to
        # the file (rollback mode) or frames to the WAL long before COMMIT
        combos = [(m, c) for c in (None, SMALL_CACHE) for m in modes]
        templates, refs, durations = {}, {}, {}
        for mode in modes:
            tpl = os.path.join(tmp, "template-%s.db" % mode)
            p = run_child(child, tpl, folder, rev(OLD))
            if p.returncode != 0:
                print("FAIL crash setup: %s" % p.stderr.strip())
                print("0 passed, 1 failed")
                return 1
            if mode == "wal":
                con = sqlite3.connect(tpl, isolation_level=None)
                con.execute("PRAGMA journal_mode=WAL")
                con.close()
            templates[mode] = tpl
            refs[(mode, rev(OLD))] = state(tpl)["signature"]
        for combo in combos:
            mode, cache = combo
            # measure the upgrade: three uninterrupted runs, median
            times = []
            for _ in range(3):
                work = os.path.join(tmp, "measure.db")
                remove_db(work)
                shutil.copyfile(templates[mode], work)
                p = run_child(child, work, folder, "head", cache)
                if p.returncode != 0:
                    print("FAIL crash setup (%s): %s" % (label(combo),
                                                         p.stderr.strip()))
                    print("0 passed, 1 failed")
                    return 1
                times.append(float(p.stdout.split()[2]))  # "go", "done", ms
                sig = state(work)["signature"]
                if refs.setdefault((mode, rev(N_REV - 1)), sig) != sig:
                    print("FAIL crash setup: two uninterrupted upgrades "
                          "gave different databases")
                    print("0 passed, 1 failed")
                    return 1
            durations[combo] = sorted(times)[1]
            print("# %s: upgrade %s -> %s takes %.0f ms (runs: %s)" % (
                label(combo), rev(OLD), rev(N_REV - 1), durations[combo],
                ", ".join("%.0f" % t for t in times)))
        sys.stdout.flush()

        tally = {c: {"old": 0, "new": 0, "finished": 0} for c in combos}
        work = os.path.join(tmp, "work.db")
        for trial in range(args.trials):
            combo = combos[trial % len(combos)]
            mode, cache = combo
            # three trials in four spread over the whole upgrade; one in
            # four aimed at its end (0.8 T .. 1.2 T: T varies from run to
            # run), where COMMIT writes the cached pages and deletes the
            # journal or appends the commit frame
            if rng.random() < 0.75:
                frac = rng.random()
            else:
                frac = 0.8 + 0.4 * rng.random()
            delay = frac * durations[combo] / 1000.0
            remove_db(work)
            shutil.copyfile(templates[mode], work)
            p = subprocess.Popen([child, work, folder, "head"] +
                                 ([str(cache)] if cache else []),
                                 stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
            line = p.stdout.readline()
            problems = []
            if line.strip() != "go":
                problems.append("child did not start: %r %s" % (
                    line, p.stderr.read()))
            time.sleep(delay)
            finished = p.poll() is not None
            if not finished:
                p.send_signal(signal.SIGKILL)
            p.wait()
            p.stdout.close()
            err = p.stderr.read()
            p.stderr.close()
            if finished and p.returncode != 0:
                problems.append("the upgrade failed by itself: %s" % err)
            name = "crash:%s #%d" % (label(combo), trial + 1)
            where = "?"
            try:
                st = state(work)
                if st["integrity"] != ["ok"]:
                    problems.append("integrity_check: %s" %
                                    "; ".join(st["integrity"][:5]))
                if st["version"] not in (rev(OLD), rev(N_REV - 1)):
                    problems.append("version is %r, neither %s nor %s" % (
                        st["version"], rev(OLD), rev(N_REV - 1)))
                elif st["signature"] != refs[(mode, st["version"])]:
                    problems.append(
                        "at %s but schema/row counts/ledger/journal mode "
                        "differ from the reference at that version" %
                        st["version"])
                where = "old" if st["version"] == rev(OLD) else "new"
            except sqlite3.Error as e:
                problems.append("cannot read the database: %s" % e)
            # the interrupted upgrade can be finished
            q = run_child(child, work, folder, "head", cache)
            if q.returncode != 0:
                problems.append("final migrate_to('head') failed: %s" %
                                q.stderr.strip())
            else:
                try:
                    st = state(work)
                    if (st["integrity"] != ["ok"] or
                            st["signature"] != refs[(mode, rev(N_REV - 1))]):
                        problems.append("after the final migrate_to('head') "
                                        "the database differs from the "
                                        "reference at head")
                except sqlite3.Error as e:
                    problems.append("cannot read the database: %s" % e)
            detail = "seed %d, kill at %.3f of %.0f ms -> %s" % (
                args.seed, frac, durations[combo],
                "finished before the kill" if finished else where)
            if problems:
                failed += 1
                print("FAIL %s: %s: %s" % (name, detail,
                                           "; ".join(problems)))
            else:
                passed += 1
                tally[combo]["finished" if finished else where] += 1
                print("ok %s: %s" % (name, detail))
            sys.stdout.flush()
        for combo in combos:
            print("# %s: killed at the old version %d, at the new %d; "
                  "finished before the kill %d" % (
                      label(combo), tally[combo]["old"], tally[combo]["new"],
                      tally[combo]["finished"]))
        print("# crash: %d trials in %.0f s" % (args.trials,
                                                time.monotonic() - t_start))
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
