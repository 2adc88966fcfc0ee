#!/usr/bin/env python3
"""make bench: this project against the limit (issue #6).

The limit for a migration tool is SQLite itself executing the same
statements in one transaction.  For generated histories of N revisions
(tools/bench/gen.py) this measures, in one run:

  * upgrade from empty, no-op upgrade at head, downgrade to base, with
      - migrate.so and its embedded bundle (one build per N),
      - migrate.so and migrate_bundle('<folder>'),
      - build/sqlite-migrate --dir FOLDER and --bundle FILE (when built),
    against the sqlite3 shell running the raw statements in one transaction
    (the no-op against `sqlite3 db 'select 1'`); whole-process wall time,
    median of several interleaved rounds, and the ratio ours/raw;
  * in-process: bundle decode + graph build (tools/bench/decode.c),
    compressed bundle size against the raw scripts, peak RSS;
  * migrate_rebuild() on a 1,000,000-row table with two indexes against the
    same 12 steps written by hand (when the build has migrate_rebuild);
  * test fixtures in-process (tools/bench/fixture.c, issue #16): a fresh
    :memory: database at head per call for the example history and each N,
    raw executescript against migrate_to and migrate_fixture (first call,
    later calls), with instruction counts for the example (and for the N
    of --ir-sizes).

Results go to stdout and to BUILD/bench.md as Markdown.  Timings are never
asserted: the table says which targets were met.  Every timed run is checked
afterwards (tables present or gone, version row) so a failure cannot pass as
a fast run.

Runs: every case runs in rounds; each round runs every variant once, in a
rotating order, so drifting background load hits all variants alike.  A
case gets --runs rounds: three times as many when its first round takes
under a second, fewer when it takes longer than --case-budget / --runs
seconds (at least one round; the table shows the count).  When the raw run of an upgrade or downgrade takes longer than
--slow-seconds, only raw and the embedded bundle run for that case (the
other variants differ from it only in where the bundle comes from, which
the smaller N and the in-process rows measure).  --case-budget 0 and
--slow-seconds 0 lift both limits (the 5000-revision downgrade then takes
about an hour on a 2-core VM).
"""
import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


class BenchError(Exception):
    pass


# ---------------------------------------------------------------------------
# running and timing processes

class Runner:
    def __init__(self, run_bin, work):
        self.run_bin = run_bin
        self.work = work
        self.err = os.path.join(work, "stderr.txt")

    def time(self, argv, stdin=None):
        """Run argv once under tools/bench/run; dict of wall_ms, user_ms,
        sys_ms, maxrss_kb.  Raises BenchError when the process fails."""
        cmd = [self.run_bin, "-e", self.err]
        if stdin:
            cmd += ["-i", stdin]
        cmd += ["--"] + argv
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            raise BenchError("run failed: %s\n%s" % (" ".join(cmd), p.stderr))
        r = dict(kv.split("=", 1) for kv in p.stdout.split())
        res = {k: float(v) for k, v in r.items()}
        if res["status"] != 0:
            with open(self.err, errors="replace") as f:
                msg = f.read()[-2000:]
            raise BenchError("%s exited with status %d:\n%s"
                             % (" ".join(argv), res["status"], msg))
        return res


def sh(argv, **kw):
    p = subprocess.run(argv, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        raise BenchError("%s failed (%d):\n%s%s" % (" ".join(argv),
                         p.returncode, p.stdout[-2000:], p.stderr[-2000:]))
    return p


def rm_db(path):
    for suffix in ("", "-journal", "-wal", "-shm"):
        try:
            os.remove(path + suffix)
        except FileNotFoundError:
            pass


def cp_db(src, dst):
    rm_db(dst)
    shutil.copyfile(src, dst)


# ---------------------------------------------------------------------------
# the machine

def machine(sqlite3):
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal"):
                    mem = "%.1f GiB" % (int(line.split()[1]) / 1048576)
                    break
    except OSError:
        pass
    shell_ver = sh([sqlite3, "-version"]).stdout.split()[0]
    lib_ver = sh([sqlite3, ":memory:", "select sqlite_version()"]).stdout.strip()
    try:
        rev = sh(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]).stdout.strip()
        if sh(["git", "-C", ROOT, "status", "--porcelain", "--", "ext"]).stdout.strip():
            rev += " (ext/ modified)"
    except BenchError:
        rev = "?"
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "mem": mem,
        "kernel": platform.release(),
        "sqlite_shell": shell_ver,
        "sqlite_lib": lib_ver,
        "commit": rev,
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
    }


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


# ---------------------------------------------------------------------------
# checks after each run

def q(sqlite3, db, sql):
    return sh([sqlite3, "-init", "/dev/null", "-bail", db, sql]).stdout.strip()


def n_bench_tables(sqlite3, db):
    return int(q(sqlite3, db, "SELECT count(*) FROM sqlite_schema WHERE "
                 "type='table' AND name GLOB 't_[0-9]*'"))


def version(sqlite3, db):
    has = q(sqlite3, db, "SELECT count(*) FROM sqlite_schema WHERE "
            "name='migrate_version'")
    if has == "0":
        return None
    return q(sqlite3, db, "SELECT group_concat(version_num) FROM "
             "migrate_version") or None


# ---------------------------------------------------------------------------
# the benchmark

class Bench:
    def __init__(self, a):
        self.a = a
        self.build = os.path.abspath(a.build)
        self.dir = os.path.join(self.build, "bench")
        self.work = os.path.join(self.dir, "work")
        os.makedirs(self.work, exist_ok=True)
        self.sqlite3 = a.sqlite3
        self.run = Runner(os.path.join(self.dir, "run"), self.work)
        self.so = os.path.join(self.build, "migrate.so")
        self.mkbundle = os.path.join(self.build, "mkbundle")
        self.decode = os.path.join(self.dir, "decode")
        self.fixture = os.path.join(self.dir, "fixture")
        self.fixtures = []    # (label, n, timings, {mode: instructions})
        self.helper = None    # Python helper timings (dict) or a reason
        self.shell = a.shell or os.path.join(self.build, "sqlite-migrate")
        self.has_shell = os.access(self.shell, os.X_OK)
        self.rows = []        # main table
        self.sizes = []       # bundle sizes
        self.decodes = []     # in-process rows
        self.rebuild = None   # rebuild rows or reason
        self.irs = []         # instruction counts
        self.notes = []
        self.targets = []

    def log(self, msg):
        print("bench: " + msg, file=sys.stderr, flush=True)

    # -- inputs ------------------------------------------------------------

    def history(self, n):
        d = os.path.join(self.dir, "hist-%d" % n)
        sh([sys.executable, os.path.join(HERE, "gen.py"), str(n), d])
        bundle = os.path.join(d, "history.bundle")
        p = sh([self.mkbundle, "-o", bundle, os.path.join(d, "migrations")])
        m = re.search(r"(\d+) revisions, (\d+) bytes of scripts -> (\d+) bytes",
                      p.stderr)
        if not m:
            raise BenchError("cannot read mkbundle's summary: " + p.stderr)
        size = (n, int(m.group(2)), int(m.group(3)))
        return d, bundle, size

    def build_embedded(self, n, hist):
        """migrate.so with history n embedded, in its own build dir."""
        b = os.path.join(self.dir, "so-%d" % n)
        self.log("building %s/migrate.so with %d revisions embedded" % (b, n))
        # the parent make's job server is not ours to use: drop it from
        # MAKEFLAGS (keeping command-line variables such as CFLAGS) and
        # give the sub-make its own -j
        env = dict(os.environ)
        env["MAKEFLAGS"] = " ".join(
            w for w in env.get("MAKEFLAGS", "").split()
            if not w.startswith(("--jobserver", "-j")) and
            not re.fullmatch(r"[a-zA-Z]*j[0-9]*", w))
        sh(self.a.make.split() + ["-j%d" % (os.cpu_count() or 1),
           "--no-print-directory", "-C", ROOT,
           "B=" + b, "MIGRATIONS=" + os.path.join(hist, "migrations"),
           os.path.join(b, "migrate.so")], env=env)
        return os.path.join(b, "migrate.so")

    # -- commands ------------------------------------------------------------

    def sqlite_cmd(self, db, *args):
        return [self.sqlite3, "-init", "/dev/null", "-bail", db] + list(args)

    def so_cmd(self, so, db, sql):
        # .load takes the path without the suffix; the file name must stay
        # migrate.so so the entry point is sqlite3_migrate_init
        return self.sqlite_cmd(db, ".load " + so[:-3], sql)

    def variants(self, n, hist, bundle, so_n, direction):
        """(key, label, argv-builder or None, reason) for the ours rows."""
        folder = os.path.join(hist, "migrations")
        target = "head" if direction != "down" else "base"
        v = [
            ("so-embedded", "migrate.so, embedded bundle",
             lambda db: (self.so_cmd(so_n, db,
                                     "SELECT migrate_to('%s');" % target),
                         None), None),
            ("so-folder", "migrate.so, migrate_bundle(folder)",
             lambda db: (self.so_cmd(self.so, db,
                                     "SELECT migrate_to('%s', migrate_bundle("
                                     "'%s'));" % (target, folder)), None),
             None),
        ]
        cmd = "downgrade" if direction == "down" else "upgrade"
        reason = None if self.has_shell else "n/a (no %s)" % os.path.relpath(
            self.shell, ROOT)
        v.append(("shell-dir", "sqlite-migrate --dir",
                  lambda db: ([self.shell, "-d", db, "--dir", folder, cmd,
                               target], None), reason))
        v.append(("shell-bundle", "sqlite-migrate --bundle",
                  lambda db: ([self.shell, "-d", db, "--bundle", bundle, cmd,
                               target], None), reason))
        return v

    # -- one case: several variants, interleaved rounds ----------------------

    def case(self, n, op, entries, slow_keep=None):
        """entries: list of (key, label, build(db)->(argv, stdin), prep(db),
        check(db, key, round), reason); the first is the reference.  When
        slow_keep is a set and the reference's first run exceeds
        --slow-seconds, only the reference and the keys in slow_keep run.
        Returns ({key: [results]}, {key: reason for skipped keys})."""
        live = [e for e in entries if e[5] is None]
        res = {e[0]: [] for e in live}
        skipped = {}
        db = os.path.join(self.work, "case.db")
        rounds = self.a.runs
        t_case = time.monotonic()
        r = 0
        while r < rounds:
            t_round = time.monotonic()
            order = live[r % len(live):] + live[:r % len(live)]
            for key, label, build, prep, check, _ in order:
                if key in skipped:
                    continue
                prep(db)
                argv, stdin = build(db)
                t = self.run.time(argv, stdin)
                check(db, key, r)
                res[key].append(t)
                if (r == 0 and key == entries[0][0] and slow_keep is not None
                        and self.a.slow_seconds > 0
                        and t["wall_ms"] > self.a.slow_seconds * 1000):
                    for e in live:
                        if e[0] != key and e[0] not in slow_keep:
                            skipped[e[0]] = (
                                "skipped: the raw run took %.0f s (> %g s; "
                                "BENCH_SLOW=0 runs it)"
                                % (t["wall_ms"] / 1000, self.a.slow_seconds))
            if r == 0:
                took = time.monotonic() - t_round
                if took < 1.0:
                    # cheap (the no-op): more rounds, for steadier medians
                    rounds = 3 * self.a.runs
                elif self.a.case_budget > 0:
                    rounds = max(1, min(self.a.runs, int(
                        self.a.case_budget // max(took, 1e-3))))
            r += 1
        self.log("N=%d %s: %d round(s), %.1f s" %
                 (n, op, rounds, time.monotonic() - t_case))
        return res, skipped

    def add_rows(self, n, op, entries, res, skipped, ref_key):
        ref = statistics.median(x["wall_ms"] for x in res[ref_key])
        ref_cpu = statistics.median(x["user_ms"] + x["sys_ms"]
                                    for x in res[ref_key])
        for key, label, _b, _p, _c, reason in entries:
            reason = reason or skipped.get(key)
            if reason is not None:
                self.rows.append((n, op, label, reason))
                continue
            xs = res[key]
            wall = [x["wall_ms"] for x in xs]
            cpu = [x["user_ms"] + x["sys_ms"] for x in xs]
            med = statistics.median(wall)
            self.rows.append((n, op, label, {
                "runs": len(xs),
                "median": med,
                "min": min(wall),
                "ratio": med / ref if ref else float("nan"),
                "cpu": statistics.median(cpu),
                "cpu_ratio": statistics.median(cpu) / ref_cpu
                if ref_cpu else float("nan"),
                "rss": max(x["maxrss_kb"] for x in xs),
                "ref": key == ref_key,
            }))

    # -- the migration cases -------------------------------------------------

    def migrations(self, n):
        self.log("N=%d: generating the history" % n)
        hist, bundle, size = self.history(n)
        self.sizes.append(size)
        so_n = self.build_embedded(n, hist)
        sq = self.sqlite3
        raw_head = os.path.join(self.work, "raw-head-%d.db" % n)
        ours_head = os.path.join(self.work, "ours-head-%d.db" % n)
        for p in (raw_head, ours_head):
            rm_db(p)
        up_sql = os.path.join(hist, "up.sql")
        down_sql = os.path.join(hist, "down.sql")
        head_rev = None

        def expect_head(db, key, r):
            nonlocal head_rev
            got = n_bench_tables(sq, db)
            if got != n:
                raise BenchError("%s N=%d: %d tables after upgrade" %
                                 (key, n, got))
            if key == "raw":
                if not os.path.exists(raw_head):
                    shutil.copyfile(db, raw_head)
                return
            v = version(sq, db)
            if head_rev is None:
                head_rev = v
            if v is None or v != head_rev:
                raise BenchError("%s N=%d: version %r after upgrade" %
                                 (key, n, v))
            if not os.path.exists(ours_head):
                shutil.copyfile(db, ours_head)

        def expect_base(db, key, r):
            got = n_bench_tables(sq, db)
            if got != 0:
                raise BenchError("%s N=%d: %d tables left after downgrade" %
                                 (key, n, got))
            if key != "raw" and version(sq, db) is not None:
                raise BenchError("%s N=%d: version row left" % (key, n))

        def expect_same(db, key, r):
            if key in ("select1", "schema"):
                return
            v = version(sq, db)
            if v != head_rev:
                raise BenchError("%s N=%d: no-op changed the version to %r" %
                                 (key, n, v))

        def fresh(db):
            rm_db(db)

        def from_raw_head(db):
            cp_db(raw_head, db)

        def from_ours_head(db):
            cp_db(ours_head, db)

        for op in ("upgrade", "no-op at head", "downgrade"):
            if op == "upgrade":
                prep_ours, check = fresh, expect_head
                raw = ("raw", "sqlite3 shell, raw statements (limit)",
                       lambda db: (self.sqlite_cmd(db), up_sql), fresh,
                       expect_head, None)
            elif op == "downgrade":
                prep_ours, check = from_ours_head, expect_base
                raw = ("raw", "sqlite3 shell, raw statements (limit)",
                       lambda db: (self.sqlite_cmd(db), down_sql),
                       from_raw_head, expect_base, None)
            else:
                prep_ours, check = from_ours_head, expect_same
                raw = ("select1", "sqlite3 db 'select 1' (start-up)",
                       lambda db: (self.sqlite_cmd(db, "select 1"), None),
                       from_ours_head, expect_same, None)
            entries = [raw]
            if op == "no-op at head":
                entries.append(("schema",
                                "sqlite3 db 'select count(*) from "
                                "sqlite_schema' (schema load)",
                                lambda db: (self.sqlite_cmd(
                                    db, "select count(*) from sqlite_schema"),
                                    None),
                                from_ours_head, expect_same, None))
            direction = "down" if op == "downgrade" else "up"
            for key, label, build, reason in self.variants(n, hist, bundle,
                                                           so_n, direction):
                entries.append((key, label, build, prep_ours, check, reason))
            res, skipped = self.case(
                n, op, entries,
                slow_keep=None if op == "no-op at head" else {"so-embedded"})
            self.add_rows(n, op, entries, res, skipped, entries[0][0])
            if n in self.a.ir_sizes:
                self.instructions(n, op, entries)

    # -- instruction counts (optional) -----------------------------------

    def instructions(self, n, op, entries):
        """Instructions executed (callgrind) by the reference and the
        embedded-bundle variant: deterministic where wall time is noisy."""
        keep = {entries[0][0], "schema", "so-embedded"}
        db = os.path.join(self.work, "ir.db")
        out = os.path.join(self.work, "callgrind.out")
        log = os.path.join(self.work, "callgrind.log")
        got = {}
        for key, label, build, prep, check, reason in entries:
            if key not in keep or reason is not None:
                continue
            self.log("N=%d %s: callgrind %s" % (n, op, key))
            prep(db)
            argv, stdin = build(db)
            with open(stdin or os.devnull) as fin:
                p = subprocess.run(["valgrind", "--tool=callgrind",
                                    "--callgrind-out-file=" + out,
                                    "--log-file=" + log] + argv,
                                   stdin=fin, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, text=True)
            if p.returncode != 0:
                raise BenchError("callgrind %s: %s" % (" ".join(argv),
                                                        p.stderr[-2000:]))
            check(db, key, 0)
            with open(log) as f:
                m = re.search(r"Collected : (\d+)", f.read())
            if not m:
                raise BenchError("no instruction count in " + log)
            got[key] = (label, int(m.group(1)))
        ref = got[entries[0][0]][1]
        for key in [e[0] for e in entries if e[0] in got]:
            label, ir = got[key]
            self.irs.append((n, op, label, ir, ir / ref))

    # -- in-process decode -------------------------------------------------

    def decode_sizes(self):
        for n in self.a.decode_sizes:
            if n not in [s[0] for s in self.sizes]:
                self.log("N=%d: generating the history (decode only)" % n)
                _, _, size = self.history(n)
                self.sizes.append(size)
            bundle = os.path.join(self.dir, "hist-%d" % n, "history.bundle")
            self.log("decoding the %d-revision bundle" % n)
            # through run, so the peak RSS is the harness's own (see run.c)
            out = os.path.join(self.work, "decode.txt")
            p = sh([self.run.run_bin, "-o", out, "-e", self.run.err, "--",
                    self.decode, "-t", str(self.a.decode_seconds), bundle])
            if "status=0" not in p.stdout:
                with open(self.run.err, errors="replace") as f:
                    raise BenchError("decode failed: " + f.read())
            with open(out) as f:
                r = dict(kv.split("=", 1) for kv in f.read().split())
            self.decodes.append((n, r))
        self.sizes.sort()

    # -- test fixtures (issue #16) -----------------------------------------

    def fixture_ir(self, bundle, mode):
        """Instructions of one call of mode: callgrind with 1 and 3 calls,
        the difference halved (start-up and the first call's one-time costs
        cancel out)."""
        out = os.path.join(self.work, "callgrind.out")
        counts = []
        for c in (1, 3):
            log = os.path.join(self.work, "callgrind.log")
            p = subprocess.run(["valgrind", "--tool=callgrind",
                                "--callgrind-out-file=" + out,
                                "--log-file=" + log, self.fixture, "-m",
                                mode, "-c", str(c), bundle],
                               capture_output=True, text=True)
            if p.returncode != 0:
                raise BenchError("callgrind fixture %s: %s" %
                                 (mode, p.stderr[-2000:]))
            with open(log) as f:
                m = re.search(r"Collected : (\d+)", f.read())
            if not m:
                raise BenchError("no instruction count in " + log)
            counts.append(int(m.group(1)))
        return (counts[1] - counts[0]) // 2

    def fixture_cases(self):
        cases = []
        example = os.path.join(self.dir, "example.bundle")
        sh([self.mkbundle, "-o", example, os.path.join(ROOT, "migrations")])
        cases.append(("example (12 revisions)", 12, example))
        for n in self.a.sizes:
            cases.append(("generated", n, os.path.join(
                self.dir, "hist-%d" % n, "history.bundle")))
        for label, n, bundle in cases:
            self.log("fixtures: %s N=%d" % (label, n))
            rounds, later = (20, 20) if n <= 100 else (3, 10) \
                if n <= 1000 else (1, 5)
            p = sh([self.fixture, "-r", str(rounds), "-k", str(later),
                    bundle])
            r = dict(kv.split("=", 1) for kv in p.stdout.split())
            irs = {}
            if n == 12 or n in self.a.ir_sizes:
                for mode in ("raw", "to", "held", "first", "later"):
                    self.log("fixtures: N=%d callgrind %s" % (n, mode))
                    irs[mode] = self.fixture_ir(bundle, mode)
            self.fixtures.append((label, n, r, irs))

    # Python through tools/python/sqlite_migrate.py, on the example history
    # build/migrate.so embeds: a new :memory: connection per call.
    HELPER_CODE = r"""
import json, sqlite3, sys, time
import sqlite_migrate
rounds = int(sys.argv[1])
keep = sqlite_migrate.connect(target=None)   # the module stays loaded
raw = ";\n".join(r[0] for r in keep.execute(
    "SELECT upgrade_sql FROM migrations"))
def timed(make):
    t = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        c = make()
        t.append((time.perf_counter() - t0) * 1e3)
        c.close()
    t.sort()
    return [round(t[0], 3), round(t[len(t) // 2], 3)]
def executescript():
    c = sqlite3.connect(":memory:")
    c.executescript(raw)
    return c
sqlite_migrate.fresh_database().close()      # builds the template
print(json.dumps({"raw": timed(executescript),
                  "migrate_to": timed(sqlite_migrate.connect),
                  "fresh_database": timed(sqlite_migrate.fresh_database),
                  "fixture": sqlite_migrate.fixture_available()}))
"""

    def helper_case(self):
        """fresh_database() against connect() (migrate_to) and a raw
        executescript, in the Python that loads extensions."""
        env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "tools",
                                                       "python"),
                   MIGRATE_SO=self.so)
        p = subprocess.run(["/usr/bin/python3", "-c", self.HELPER_CODE,
                            "40"], capture_output=True, text=True, env=env)
        if p.returncode != 0:
            self.helper = "not run: " + (p.stderr.strip().splitlines()
                                         or ["?"])[-1]
            return
        self.helper = json.loads(p.stdout)

    # -- migrate_rebuild ---------------------------------------------------

    def has_rebuild(self):
        p = subprocess.run(self.sqlite_cmd(":memory:", ".load " + self.so[:-3],
                                           "SELECT migrate_rebuild('x', "
                                           "'CREATE TABLE x(a)');"),
                           capture_output=True, text=True)
        msg = p.stdout + p.stderr
        return "no such function" not in msg

    def rebuild_case(self):
        if not self.has_rebuild():
            self.rebuild = "n/a (no migrate_rebuild() in build/migrate.so)"
            return
        rows = self.a.rebuild_rows
        tmpl = os.path.join(self.work, "rebuild-%d.db" % rows)
        if not os.path.exists(tmpl):
            self.log("creating a %d-row table with two indexes" % rows)
            tmp = tmpl + ".tmp"
            rm_db(tmp)
            sh(self.sqlite_cmd(tmp,
               "CREATE TABLE big (id INTEGER PRIMARY KEY, name TEXT NOT NULL, "
               "v INTEGER, note TEXT);",
               "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 "
               "FROM c WHERE x < %d) INSERT INTO big SELECT x, 'name ' || x, "
               "x %% 1000, printf('%%08x', (x * 2654435761) %% 4294967296) "
               "FROM c;" % rows,
               "CREATE INDEX ix_big_name ON big (name);",
               "CREATE INDEX ix_big_v ON big (v);"))
            os.rename(tmp, tmpl)
        new_sql = ("CREATE TABLE big (id INTEGER PRIMARY KEY, name TEXT NOT "
                   "NULL, v INTEGER NOT NULL DEFAULT 0 CHECK (v >= 0), "
                   "note TEXT)")
        hand = os.path.join(self.dir, "rebuild-hand.sql")
        with open(hand, "w") as f:
            f.write(
                "-- the 12 steps of sqlite.org/lang_altertable.html#otheralter\n"
                "PRAGMA foreign_keys=OFF;\n"                          # 1
                "BEGIN IMMEDIATE;\n"                                  # 2
                "SELECT type, sql FROM sqlite_schema WHERE tbl_name='big';\n"
                + new_sql.replace("TABLE big", "TABLE new_big") + ";\n"  # 4
                "INSERT INTO new_big (id, name, v, note) "
                "SELECT id, name, v, note FROM big;\n"                # 5
                "DROP TABLE big;\n"                                   # 6
                "ALTER TABLE new_big RENAME TO big;\n"                # 7
                "CREATE INDEX ix_big_name ON big (name);\n"           # 8
                "CREATE INDEX ix_big_v ON big (v);\n"
                "PRAGMA foreign_key_check;\n"                         # 10
                "COMMIT;\n")                                          # 11
        sq = self.sqlite3

        def prep(db):
            cp_db(tmpl, db)

        def check(db, key, r):
            got = q(sq, db, "SELECT count(*) FROM big; SELECT count(*) FROM "
                    "sqlite_schema WHERE tbl_name='big' AND type='index'; "
                    "SELECT sql LIKE '%CHECK (v >= 0)%' FROM sqlite_schema "
                    "WHERE name='big';").split()
            if got != [str(rows), "2", "1"]:
                raise BenchError("%s: table after rebuild: %r" % (key, got))

        entries = [
            ("hand", "12 steps by hand (sqlite3 shell)",
             lambda db: (self.sqlite_cmd(db), hand), prep, check, None),
            ("ours", "migrate_rebuild() (migrate.so)",
             lambda db: (self.so_cmd(self.so, db,
                                     "SELECT migrate_rebuild('big', '%s');"
                                     % new_sql.replace("'", "''")), None),
             prep, check, None),
        ]
        res, skipped = self.case(rows, "rebuild", entries)
        before = len(self.rows)
        self.add_rows(rows, "rebuild", entries, res, skipped, "hand")
        self.rebuild = self.rows[before:]
        del self.rows[before:]

    # -- report ------------------------------------------------------------

    def report(self, mach, load0, load1, seconds):
        out = []
        w = out.append
        w("# make bench — sqlite-migrate against the limit")
        w("")
        w("Machine: %s CPU(s), %s, %s RAM, Linux %s; SQLite %s (sqlite3 shell "
          "%s); commit %s; %s.  Load average %s at the start, %s at the end; "
          "%.0f s in all."
          % (mach["nproc"], mach["cpu"], mach["mem"], mach["kernel"],
             mach["sqlite_lib"], mach["sqlite_shell"], mach["commit"],
             mach["date"], load0, load1, seconds))
        w("")
        w("Whole-process wall time (fork to exit), median of the runs shown; "
          "ratio = median / median of the limit row above it (for the no-op: "
          "the sqlite3 shell's start-up, `sqlite3 db 'select 1'`).  CPU = "
          "user + sys of the process, its ratio likewise.  Peak RSS of the "
          "process.")
        w("")
        w("| N | operation | variant | runs | median ms | min ms | ratio | "
          "CPU ms | CPU ratio | peak RSS KiB |")
        w("|---:|---|---|---:|---:|---:|---:|---:|---:|---:|")
        for n, op, label, r in self.rows:
            if isinstance(r, str):
                w("| %d | %s | %s | | %s | | | | | |" % (n, op, label, r))
            else:
                w("| %d | %s | %s | %d | %.1f | %.1f | %s | %.1f | %s | %d |" %
                  (n, op, label, r["runs"], r["median"], r["min"],
                   "1.00" if r["ref"] else "**%.2f**" % r["ratio"], r["cpu"],
                   "1.00" if r["ref"] else "%.2f" % r["cpu_ratio"], r["rss"]))
        w("")
        if self.irs:
            w("### Instructions (callgrind), one run each")
            w("")
            w("Deterministic where wall time is not: instructions executed by "
              "the whole process (valgrind --tool=callgrind), ratio to the "
              "first row of the case.")
            w("")
            w("| N | operation | variant | instructions | ratio |")
            w("|---:|---|---|---:|---:|")
            for n, op, label, ir, ratio in self.irs:
                w("| %d | %s | %s | %d | %.3f |" % (n, op, label, ir, ratio))
            w("")
        w("### Bundle size and in-process decode")
        w("")
        w("`tools/bench/decode` (linked against build/libsqlitemigrate.a) on "
          "the bundle file `mkbundle -o` writes: best and median of many "
          "iterations, ms.  decode = `migrate_bundle_open_blob()`: "
          "everything before a plan can be made (format 2: CRC, inflate the "
          "index, parse the headers, build the graph); decode + text = the "
          "same plus `migrate_bundle_load()` of the first script (one chunk "
          "inflated); inflate = zlib alone (format 1 only); graph = "
          "`migGraphBuild()` alone on the parsed revisions.  Peak RSS of the "
          "whole harness process (before the first decode → end).")
        w("")
        dec = dict(self.decodes)
        # a format that inflates the scripts' text later: show that too
        lazy = any(d.get("format", "1") != "1" for d in dec.values())
        w("| revisions | scripts bytes | bundle bytes | bundle / scripts | "
          "decode + graph ms best / median | %sinflate ms best / median | "
          "graph ms best / median | peak RSS KiB |"
          % ("decode + text ms best / median | " if lazy else ""))
        w("|---:|---:|---:|---:|---:|---:|---:|---:|%s" %
          ("---:|" if lazy else ""))
        for n, raw, comp in self.sizes:
            d = dec.get(n)
            if d:
                w("| %d | %d | %d | %.1f %% | %s / %s | %s%s / %s | %s / %s | "
                  "%s → %s |" %
                  (n, raw, comp, 100.0 * comp / raw, d["decode_best"],
                   d["decode_median"],
                   "%s / %s | " % (d["full_best"], d["full_median"])
                   if lazy else "",
                   d["inflate_best"], d["inflate_median"],
                   d["graph_best"], d["graph_median"], d["rss_before_kb"],
                   d["rss_peak_kb"]))
            else:
                w("| %d | %d | %d | %.1f %% | | | | |%s" %
                  (n, raw, comp, 100.0 * comp / raw, " |" if lazy else ""))
        w("")
        w("### migrate_rebuild")
        w("")
        if isinstance(self.rebuild, str) or self.rebuild is None:
            w("%s" % (self.rebuild or "not run"))
        else:
            w("%d-row table, two indexes; adds NOT NULL and a CHECK to a "
              "column (a change ALTER TABLE cannot make)." %
              self.a.rebuild_rows)
            w("")
            w("| variant | runs | median ms | min ms | ratio | CPU ms | "
              "CPU ratio | peak RSS KiB |")
            w("|---|---:|---:|---:|---:|---:|---:|---:|")
            for _n, _op, label, r in self.rebuild:
                w("| %s | %d | %.1f | %.1f | %s | %.1f | %s | %d |" %
                  (label, r["runs"], r["median"], r["min"],
                   "1.00" if r["ref"] else "**%.2f**" % r["ratio"], r["cpu"],
                   "1.00" if r["ref"] else "%.2f" % r["cpu_ratio"], r["rss"]))
        w("")
        if self.fixtures:
            w("### Test fixtures: migrate_fixture() (issue #16)")
            w("")
            w("`tools/bench/fixture` (linked against build/libsqlitemigrate.a),"
              " a new `:memory:` connection per call: raw = `sqlite3_exec()` "
              "of every upgrade section in one transaction; migrate_to = "
              "decode the bundle bytes + `migrate_run(\"head\")` (what "
              "`migrate_to('head', bundle)` costs on a new connection); "
              "held = `migrate_run(\"head\")` with one bundle opened once "
              "for the process (what `migrate_to('head')` with the embedded "
              "bundle costs on a new connection); "
              "fixture first = `migrate_fixture()` with an empty cache (builds"
              " the template); fixture later = with the template cached.  "
              "Best / median ms; ratios of the medians to raw.  "
              "Instructions: callgrind, one call (runs of 3 and 1 calls, "
              "difference halved).")
            w("")
            w("| history | N | raw ms | migrate_to ms | held ms | fixture "
              "first ms | fixture later ms | later / raw | first / "
              "migrate_to | migrate_to / raw | held / raw |")
            w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
            for label, n, r, irs in self.fixtures:
                med = {k: float(r[k + "_median"])
                       for k in ("raw", "to", "held", "first", "later")}
                w("| %s | %d | %s / %s | %s / %s | %s / %s | %s / %s | "
                  "%s / %s | **%.4f** | **%.2f** | **%.2f** | **%.2f** |" %
                  (label, n, r["raw_best"], r["raw_median"], r["to_best"],
                   r["to_median"], r["held_best"], r["held_median"],
                   r["first_best"], r["first_median"],
                   r["later_best"], r["later_median"],
                   med["later"] / med["raw"], med["first"] / med["to"],
                   med["to"] / med["raw"], med["held"] / med["raw"]))
            w("")
            if any(irs for _l, _n, _r, irs in self.fixtures):
                w("| history | N | raw instr. | migrate_to instr. | held "
                  "instr. | fixture first instr. | fixture later instr. | "
                  "later / raw | first / migrate_to | migrate_to / raw | "
                  "held / raw |")
                w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
                for label, n, r, irs in self.fixtures:
                    if not irs:
                        continue
                    w("| %s | %d | %d | %d | %d | %d | %d | %.4f | %.2f | "
                      "%.2f | %.2f |" %
                      (label, n, irs["raw"], irs["to"], irs["held"],
                       irs["first"], irs["later"], irs["later"] / irs["raw"],
                       irs["first"] / irs["to"], irs["to"] / irs["raw"],
                       irs["held"] / irs["raw"]))
                w("")
            if isinstance(self.helper, dict):
                h = self.helper
                w("Python through the helper (`tools/python/sqlite_migrate.py`"
                  ", /usr/bin/python3), the example history, a new "
                  "`:memory:` connection per call, best / median ms of 40: "
                  "raw executescript %s / %s; `connect()` (load + "
                  "`migrate_to('head')`) %s / %s; `fresh_database()` %s / %s"
                  " (%s)." % (h["raw"][0], h["raw"][1], h["migrate_to"][0],
                              h["migrate_to"][1], h["fresh_database"][0],
                              h["fresh_database"][1],
                              "template copies" if h["fixture"] else
                              "migrate_to: no migrate_fixture here"))
                w("")
            elif self.helper:
                w("Python through the helper: %s." % self.helper)
                w("")
            w("Targets (issue #16): fixture later / raw <= 0.01 at N = 1000; "
              "fixture first / migrate_to <= 1.1; the slow path / raw <= 1.2 "
              "on the example (held: the bundle decoded once, as the "
              "embedded one is; migrate_to also decodes the bundle bytes "
              "every call).")
            for label, n, _r, irs in self.fixtures:
                if n == 12 and irs:
                    for what, ratio, limit in (
                            ("fixture first / migrate_to",
                             irs["first"] / irs["to"], 1.1),
                            ("held / raw", irs["held"] / irs["raw"], 1.2),
                            ("migrate_to / raw", irs["to"] / irs["raw"],
                             1.2)):
                        w("- %s on the example (instructions): %.3f, target "
                          "<= %.1f: %s" % (what, ratio, limit,
                                           "met" if ratio <= limit
                                           else "**missed**"))
            w("")
        w("### Targets (issue #6)")
        w("")
        w("| target | measured | |")
        w("|---|---|---|")
        for t in self.evaluate():
            w("| %s | %s | %s |" % t)
        w("")
        for note in self.notes:
            w(note)
        return "\n".join(out) + "\n"

    def evaluate(self):
        """(target, measured, verdict) rows."""
        rows = []

        def find(n, op, label_prefix):
            for rn, rop, label, r in self.rows:
                if rn == n and rop == op and label.startswith(label_prefix) \
                        and not isinstance(r, str):
                    return r
            return None

        def verdict(ok):
            return "met" if ok else "**missed**"

        def ir_ratio(n, op, label):
            for rn, rop, rlabel, _ir, ratio in self.irs:
                if rn == n and rop == op and rlabel == label:
                    return ratio
            return None

        def describe(n, op, key, r):
            label = [x[2] for x in self.rows if x[0] == n and x[1] == op
                     and x[2].startswith(key)][0]
            extra = ["CPU %.2f×" % r["cpu_ratio"]]
            ir = ir_ratio(n, op, label)
            if ir is not None:
                extra.append("instructions %.3f×" % ir)
            if r["runs"] < self.a.runs:
                extra.append("%d run%s" % (r["runs"],
                                           "" if r["runs"] == 1 else "s"))
            return "%s %.2f× (%s)" % (key, r["ratio"], ", ".join(extra))

        for n in (1000, 5000):
            for op in ("upgrade", "downgrade"):
                got = []
                for key in ("migrate.so, embedded", "migrate.so, migrate_bundle",
                            "sqlite-migrate --dir", "sqlite-migrate --bundle"):
                    r = find(n, op, key)
                    if r:
                        got.append((key, r))
                if got:
                    worst = max(x[1]["ratio"] for x in got)
                    v = verdict(worst <= 1.10)
                    if worst > 1.10 and all(x[1]["cpu_ratio"] <= 1.10
                                            for x in got):
                        v += " on wall time; CPU time within"
                    rows.append(("%s ≤ 1.10× raw at N = %d" % (op, n),
                                 "; ".join(describe(n, op, k, r)
                                           for k, r in got), v))
        r1 = find(1000, "no-op at head", "sqlite3 db 'select 1'")
        if r1:
            got = []
            for key in ("migrate.so, embedded", "migrate.so, migrate_bundle",
                        "sqlite-migrate --dir", "sqlite-migrate --bundle"):
                r = find(1000, "no-op at head", key)
                if r:
                    got.append((key, r))
            sch = find(1000, "no-op at head", "sqlite3 db 'select count")
            if got:
                text = "; ".join(describe(1000, "no-op at head", k, r)
                                 for k, r in got)
                if sch:
                    text += ("; reading any table of this database (the "
                             "schema load) alone takes %.2f×, and ours is "
                             "%s that" % (sch["ratio"], ", ".join(
                                 "%.2f×" % (r["median"] / sch["median"])
                                 for _k, r in got)))
                rows.append(("no-op at head, 1000 revisions ≤ 1.5× `sqlite3 db "
                             "'select 1'` (%.1f ms)" % r1["median"], text,
                             verdict(max(x[1]["ratio"] for x in got) <= 1.5)))
        for n, d in self.decodes:
            if n == 10000:
                best = float(d["decode_best"])
                med = float(d["decode_median"])
                rows.append(("decode + graph, 10,000 revisions < 20 ms",
                             "%.1f ms best, %.1f ms median" % (best, med),
                             verdict(med < 20)))
        if self.sizes:
            worst = max(100.0 * c / r for _n, r, c in self.sizes)
            rows.append(("compressed bundle ≤ 25 % of the scripts",
                         ", ".join("%d: %.1f %%" % (n, 100.0 * c / r)
                                   for n, r, c in self.sizes),
                         verdict(worst <= 25)))
        if isinstance(self.rebuild, list):
            r = [x[3] for x in self.rebuild if not x[3]["ref"]][0]
            rows.append(("rebuild ≤ 1.15× hand-written",
                         "%.2f× (CPU %.2f×)" % (r["ratio"], r["cpu_ratio"]),
                         verdict(r["ratio"] <= 1.15)))
        else:
            rows.append(("rebuild ≤ 1.15× hand-written",
                         self.rebuild or "not run", "n/a"))
        return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--sizes", default="100 1000 5000")
    ap.add_argument("--decode-sizes", default="1000 10000")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--case-budget", type=float, default=300.0,
                    help="seconds a case may take before it gets fewer "
                         "rounds (0: no limit)")
    ap.add_argument("--slow-seconds", type=float, default=60.0,
                    help="raw runs longer than this keep only raw and the "
                         "embedded bundle (0: no limit)")
    ap.add_argument("--decode-seconds", type=float, default=1.5)
    ap.add_argument("--ir-sizes", default="",
                    help="also count instructions with callgrind for these "
                         "N (slow: ~10 min for 1000)")
    ap.add_argument("--rebuild-rows", type=int, default=1000000)
    ap.add_argument("--no-rebuild", action="store_true")
    ap.add_argument("--make", default=os.environ.get("MAKE", "make"))
    ap.add_argument("--sqlite3", default="sqlite3")
    ap.add_argument("--shell", default=None,
                    help="the sqlite-migrate program (default: "
                         "BUILD/sqlite-migrate; its rows say n/a when it "
                         "does not exist)")
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    a.sizes = [int(x) for x in a.sizes.replace(",", " ").split()]
    a.decode_sizes = [int(x) for x in a.decode_sizes.replace(",", " ").split()]
    a.ir_sizes = [int(x) for x in a.ir_sizes.replace(",", " ").split()]
    b = Bench(a)
    t0 = time.monotonic()
    load0 = loadavg()
    mach = machine(a.sqlite3)
    try:
        for n in a.sizes:
            b.migrations(n)
        b.decode_sizes()
        b.fixture_cases()
        b.helper_case()
        if not a.no_rebuild:
            b.rebuild_case()
    except BenchError as e:
        print("bench: FAILED: %s" % e, file=sys.stderr)
        return 1
    text = b.report(mach, load0, loadavg(), time.monotonic() - t0)
    out = a.out or os.path.join(b.build, "bench.md")
    with open(out, "w") as f:
        f.write(text)
    print(text)
    print("bench: written to %s" % out, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
