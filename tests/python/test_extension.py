"""The extension with its embedded bundle (the example history in
migrations/), loaded into Python: what a test fixture or a device sees.

    /usr/bin/python3 -m unittest discover -s tests/python -p test_extension.py

Covers README.md's "The SQL interface" and ext/README.md's "What the database
holds" and "Atomicity": migrate_to() to head on a :memory: and a file
database, migrate_current(), migrate_version(), the `migrations` and
`migration_history` virtual tables, the migrate_version and migrate_log
tables, migrate_sql() (the exact script, and that the sqlite3 shell running
it gives what the online call gives), what the module registers, and that a
real table named like a virtual table is left alone.

Expected values come from the revision files (helpers.parse_script), from
README.md or are written out here; nothing is read back from the engine to be
compared with itself.
"""

import json
import os
import re
import sqlite3
import unittest

from helpers import (EXTENSION, MIGRATIONS, REPO, SQLITE_DETERMINISTIC,
                     SQLITE_DIRECTONLY, SQLITE_INNOCUOUS, TempDir,
                     close_connections, connect, log_rows, makefile_version,
                     read_folder, run_python, run_shell, schema_rows,
                     snapshot, versions)

HEAD = "f05c3b8d2e76"

# The example history in the order the `migrations` table lists it and
# migrate_to('head') applies it from base: parents before children, the
# audit branch (c6a0, d8f3) before the search branch (2a6f, b3d1).
HEAD_ORDER = [
    "3c8e5f21a7b4", "5d21b7e0c9a3", "1f0c2a7d44e0", "9a39eb7fd78f",
    "e4b7c2a91d05", "7b5e0d3f8c21", "c6a04f2d9e13", "d8f3b15c7a42",
    "2a6f9c4e1b87", "b3d18e7a5f60", "4e92a7c0b6d1", "f05c3b8d2e76",
]

# README.md, "Virtual tables", in order.
MIGRATIONS_COLUMNS = [
    "revision", "down_revision", "message", "create_date", "branch_labels",
    "depends_on", "is_head", "is_base", "is_merge", "is_current",
    "is_applied", "checksum", "upgrade_sql", "downgrade_sql",
]
HISTORY_COLUMNS = [
    "id", "revision", "direction", "version_before", "version_after",
    "checksum", "started_at", "duration_ms", "message", "checksum_ok",
]

# Everything the module registers (README.md, "The SQL interface") with the flags each must
# carry.  Changing the database or reading files: SQLITE_DIRECTONLY; pure
# readers: SQLITE_INNOCUOUS.  Add new functions here (migrate_rebuild is
# next: ("migrate_rebuild", 2) and ("migrate_rebuild", 3), DIRECTONLY).
EXPECTED_FUNCTIONS = {
    ("migrate_to", 1): SQLITE_DIRECTONLY,
    ("migrate_to", 2): SQLITE_DIRECTONLY,
    ("migrate_stamp", 1): SQLITE_DIRECTONLY,
    ("migrate_stamp", 2): SQLITE_DIRECTONLY,
    # fixtures: the template path (ext/template.c)
    ("migrate_fixture", 1): SQLITE_DIRECTONLY,
    ("migrate_fixture", 2): SQLITE_DIRECTONLY,
    ("migrate_bundle", 1): SQLITE_DIRECTONLY,
    ("migrate_sql", 1): SQLITE_INNOCUOUS,
    ("migrate_sql", 2): SQLITE_INNOCUOUS,
    ("migrate_current", 0): SQLITE_INNOCUOUS,
    # migrate_check runs the bundle's scripts on a scratch database (drift)
    ("migrate_check", 0): SQLITE_DIRECTONLY,
    ("migrate_check", 1): SQLITE_DIRECTONLY,
    ("migrate_version", 0): SQLITE_INNOCUOUS | SQLITE_DETERMINISTIC,
    # schema comparison (ext/schema.c): they run scripts on scratch databases
    ("migrate_schema_diff", 2): SQLITE_DIRECTONLY,
    ("migrate_drift", 0): SQLITE_DIRECTONLY,
    ("migrate_drift", 1): SQLITE_DIRECTONLY,
    ("migrate_roundtrip", 0): SQLITE_DIRECTONLY,
    ("migrate_roundtrip", 1): SQLITE_DIRECTONLY,
    # the 12-step table rebuild (ext/rebuild.c)
    ("migrate_rebuild", 2): SQLITE_DIRECTONLY,
    ("migrate_rebuild", 3): SQLITE_DIRECTONLY,
    # the schema differ (ext/autogen.c): runs its arguments on scratch
    # databases
    ("migrate_diff", 2): SQLITE_DIRECTONLY,
    ("migrate_diff", 3): SQLITE_DIRECTONLY,
}
EXPECTED_MODULES = {"migrations", "migration_history"}
FLAG_MASK = SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY | SQLITE_INNOCUOUS

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

# The bookkeeping tables as migrate_sql() writes them (ext/README.md, "What the database holds").
SCHEMA_SQL = """\
CREATE TABLE IF NOT EXISTS migrate_version(
  version_num TEXT NOT NULL PRIMARY KEY
);
CREATE TABLE IF NOT EXISTS migrate_log(
  id INTEGER PRIMARY KEY,
  revision TEXT,
  direction TEXT NOT NULL,
  version_before TEXT,
  version_after TEXT,
  checksum TEXT,
  started_at TEXT NOT NULL,
  duration_ms REAL
);
CREATE TABLE IF NOT EXISTS migrate_scripts(
  revision TEXT NOT NULL PRIMARY KEY,
  file TEXT NOT NULL,
  parents TEXT NOT NULL,
  depends_on TEXT NOT NULL,
  message TEXT NOT NULL,
  checksum TEXT NOT NULL,
  downgrade_sql TEXT,
  transaction_none INTEGER NOT NULL
);
"""

REVS = read_folder(MIGRATIONS)
SYSTEM_PREFERENCES = [
    ("__system__", "history_retention_days", "90"),
    ("__system__", "locale", "en-US"),
    ("__system__", "max_context_tokens", "8192"),
    ("__system__", "theme", "dark"),
    ("__system__", "timezone", "UTC"),
]


def heads_text(heads):
    return ",".join(sorted(heads)) or None


def upgrade_steps(order, heads=()):
    """Model of the version table during an upgrade (ext/README.md, "Targets and Alembic parity": the
    table holds the applied revisions nothing applied builds on).  Yields
    (revision, removed heads in parent order, added?, before, after)."""
    heads = list(heads)
    for rid in order:
        r = REVS[rid]
        before = heads_text(heads)
        removed = [p for p in r["parents"] + r["depends"] if p in heads]
        for p in removed:
            heads.remove(p)
        added = rid not in heads
        if added:
            heads.append(rid)
        yield rid, removed, added, before, heads_text(heads)


def q(value):
    """A SQL literal the way sqlite3_mprintf's %Q writes it."""
    if value is None:
        return "NULL"
    return "'" + value.replace("'", "''") + "'"


def expected_upgrade_script(order, start="base", target="head"):
    """The exact text migrate_sql(target) must return for an upgrade that
    applies `order` from `start` (README.md, "The SQL interface": the script migrate_to
    would run, bookkeeping included).

    Each revision's section runs as it comes; its bookkeeping rows
    (migrate_scripts, migrate_log) are queued and written at the next commit
    point (before the COMMIT ahead of a Transaction: none revision, right
    after such a revision, and at the end), followed by the migrate_version
    rows that changed since the last commit point: deletions, then
    insertions, each in file-name order."""
    heads = [] if start == "base" else start.split(",")
    state = {"flushed": set(heads), "heads": set(heads)}
    queue = []
    out = ["-- sqlite-migrate %s: %s -> %s\n\n" % (makefile_version(), start,
                                                   target),
           "BEGIN;\n", SCHEMA_SQL, "\n"]

    def by_file(ids):
        return sorted(ids, key=lambda rid: REVS[rid]["file"])

    def flush():
        out.extend(queue)
        del queue[:]
        for rid in by_file(state["flushed"] - state["heads"]):
            out.append("DELETE FROM migrate_version WHERE version_num = %s;\n"
                       % q(rid))
        for rid in by_file(state["heads"] - state["flushed"]):
            out.append("INSERT INTO migrate_version(version_num) VALUES "
                       "(%s);\n" % q(rid))
        state["flushed"] = set(state["heads"])

    for rid, _, _, before, after in upgrade_steps(order, heads):
        r = REVS[rid]
        if r["transaction_none"]:
            flush()
            out.append("COMMIT;\n\n")
        out.append("-- Running upgrade %s -> %s, %s\n"
                   % (", ".join(r["parents"]), rid, r["message"]))
        out.append(r["upgrade"])
        if r["upgrade"] and not r["upgrade"].endswith("\n"):
            out.append("\n")
        if r["transaction_none"]:
            out.append("BEGIN;\n")
        state["heads"] = set(after.split(","))
        queue.append(
            "INSERT OR REPLACE INTO migrate_scripts(revision, file, parents, "
            "depends_on, message, checksum, downgrade_sql, transaction_none) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %d);\n"
            % (q(rid), q(r["file"]), q(",".join(r["parents"])),
               q(",".join(r["depends"])), q(r["message"]), q(r["checksum"]),
               q(r["downgrade"]), 1 if r["transaction_none"] else 0))
        queue.append(
            "INSERT INTO migrate_log(revision, direction, version_before, "
            "version_after, checksum, started_at, duration_ms) VALUES "
            "(%s, 'upgrade', %s, %s, %s, strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ', "
            "'now'), NULL);\n" % (q(rid), q(before), q(after),
                                  q(r["checksum"])))
        if r["transaction_none"]:
            # it ran outside a transaction: its bookkeeping is committed
            # at once, and the rest goes on in a new transaction
            flush()
            out.append("COMMIT;\nBEGIN;\n")
        out.append("\n")
    flush()
    out.append("COMMIT;\n")
    return "".join(out)


def expected_log(order, first_id=1, heads=()):
    """migrate_log rows (without times) for an upgrade applying order."""
    return [(first_id + i, rid, "upgrade", before, after,
             REVS[rid]["checksum"])
            for i, (rid, _, _, before, after)
            in enumerate(upgrade_steps(order, heads))]


def ancestors(rid):
    """rid and everything it needs (parents and Depends On, transitively)."""
    seen, todo = set(), [rid]
    while todo:
        r = todo.pop()
        if r not in seen:
            seen.add(r)
            todo += REVS[r]["parents"] + REVS[r]["depends"]
    return seen


class ExampleHistoryFixture(unittest.TestCase):
    """The files themselves, so that a broken expectation is found here and
    not as a puzzling engine failure."""

    def test_example_history_is_what_these_tests_assume(self):
        self.assertEqual(sorted(REVS), sorted(HEAD_ORDER))
        for i, rid in enumerate(HEAD_ORDER):
            for p in REVS[rid]["parents"]:
                self.assertIn(p, HEAD_ORDER[:i], "%s before its parent" % rid)
        self.assertEqual([r for r in REVS if REVS[r]["transaction_none"]],
                         [HEAD])
        self.assertEqual({r: REVS[r]["labels"] for r in REVS
                          if REVS[r]["labels"]},
                         {"2a6f9c4e1b87": ["search"],
                          "c6a04f2d9e13": ["audit"]})


class EmbeddedUpgradeTest(unittest.TestCase):
    """migrate_to('head') with the bundle built into the module."""

    maxDiff = None

    def setUp(self):
        self.tmp = TempDir()
        self.addCleanup(self.tmp.cleanup)

    def check_at_head(self, conn):
        self.assertEqual(conn.execute("SELECT migrate_current()").fetchone(),
                         (HEAD,))
        self.assertEqual(versions(conn), [HEAD])
        self.assertEqual(log_rows(conn), expected_log(HEAD_ORDER))
        self.assertEqual(
            conn.execute("SELECT * FROM user_preferences ORDER BY 1, 2")
                .fetchall(), SYSTEM_PREFERENCES)
        times = conn.execute("SELECT started_at, duration_ms, "
                             "typeof(duration_ms) FROM migrate_log "
                             "ORDER BY id").fetchall()
        for started, ms, kind in times:
            self.assertRegex(started, ISO_UTC)
            self.assertEqual(kind, "real")
            self.assertGreaterEqual(ms, 0.0)
        self.assertEqual([t[0] for t in times], sorted(t[0] for t in times))
        # the schema the scripts create, nothing more
        names = {r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")}
        self.assertEqual(names, {
            "migrate_version", "migrate_log", "migrate_scripts",
            "contexts", "ix_contexts_created_at",
            "conversations", "ix_conversations_context_id",
            "ix_conversations_created_at", "ix_conversations_active",
            "prompts", "ix_prompts_conversation_id", "ix_prompts_created_at",
            "user_preferences",
            "audit_log", "ix_audit_log_row", "ix_audit_log_created_at",
            "trg_prompts_audit_insert", "trg_conversations_audit_archive",
            "trg_conversations_audit_delete",
            "prompt_search", "ix_prompt_search_conversation_id",
            "trg_prompts_search_insert", "trg_prompts_search_update",
            "trg_prompts_search_delete",
            "prompt_activity",
        })

    def test_memory_database_to_head(self):
        conn = connect(":memory:")
        self.assertEqual(conn.execute("SELECT migrate_current()").fetchone(),
                         (None,))
        self.assertEqual(
            conn.execute("SELECT migrate_to('head')").fetchone(), (HEAD,))
        self.check_at_head(conn)
        # "An in-memory database stays in memory mode" (f05c3b8d2e76)
        self.assertEqual(conn.execute("PRAGMA journal_mode").fetchone(),
                         ("memory",))
        # at head, a second call does nothing and says where it is
        self.assertEqual(
            conn.execute("SELECT migrate_to('head')").fetchone(), (HEAD,))
        self.assertEqual(log_rows(conn), expected_log(HEAD_ORDER))

    def test_file_database_to_head(self):
        path = self.tmp.path("app.db")
        conn = connect(path)
        self.assertEqual(
            conn.execute("SELECT migrate_to('head')").fetchone(), (HEAD,))
        self.check_at_head(conn)
        self.assertEqual(conn.execute("PRAGMA journal_mode").fetchone(),
                         ("wal",))
        conn.close()
        # durable: a new connection, without the extension, sees it all
        plain = sqlite3.connect(path)
        self.assertEqual(versions(plain), [HEAD])
        self.assertEqual(log_rows(plain), expected_log(HEAD_ORDER))
        plain.close()

    def test_migrate_version_is_the_makefile_version(self):
        conn = connect()
        self.assertEqual(conn.execute("SELECT migrate_version()").fetchone(),
                         (makefile_version(),))
        self.assertEqual(makefile_version(), "0.1.0")

    def test_migrate_current_lists_every_head_sorted(self):
        conn = connect()
        conn.execute("SELECT migrate_to('2a6f9c4e1b87')")
        self.assertEqual(
            conn.execute("SELECT migrate_to('d8f3b15c7a42')").fetchone(),
            ("2a6f9c4e1b87,d8f3b15c7a42",))
        self.assertEqual(conn.execute("SELECT migrate_current()").fetchone(),
                         ("2a6f9c4e1b87,d8f3b15c7a42",))
        self.assertEqual(versions(conn), ["2a6f9c4e1b87", "d8f3b15c7a42"])


class MigrationsTableTest(unittest.TestCase):
    """SELECT * FROM migrations: one row per revision of the bundle."""

    maxDiff = None

    def select(self, conn):
        cur = conn.execute("SELECT * FROM migrations")
        cols = [d[0] for d in cur.description]
        return cols, [dict(zip(cols, r)) for r in cur.fetchall()]

    def test_columns_and_values_match_the_files(self):
        cols, table = self.select(connect())
        self.assertEqual(cols, MIGRATIONS_COLUMNS)
        self.assertEqual([r["revision"] for r in table], HEAD_ORDER)
        for row in table:
            r = REVS[row["revision"]]
            with self.subTest(revision=row["revision"]):
                self.assertEqual(row["down_revision"],
                                 ",".join(r["parents"]) or None)
                self.assertEqual(row["message"], r["message"])
                self.assertEqual(row["create_date"], r["create_date"])
                self.assertEqual(row["branch_labels"],
                                 ",".join(r["labels"]) or None)
                self.assertEqual(row["depends_on"], None)
                self.assertEqual(row["checksum"], r["checksum"])
                self.assertRegex(row["checksum"], r"^[0-9a-f]{8}$")
                self.assertEqual(row["upgrade_sql"], r["upgrade"])
                self.assertEqual(row["downgrade_sql"], r["downgrade"])

    def test_parents_before_children(self):
        _, table = self.select(connect())
        seen = set()
        for row in table:
            parents = (row["down_revision"] or "").split(",")
            self.assertTrue(set(filter(None, parents)) <= seen,
                            "%s listed before a parent" % row["revision"])
            seen.add(row["revision"])

    def test_head_base_merge_flags(self):
        _, table = self.select(connect())
        flags = {r["revision"]: (r["is_head"], r["is_base"], r["is_merge"])
                 for r in table}
        expected = {rid: (0, 0, 0) for rid in HEAD_ORDER}
        expected[HEAD] = (1, 0, 0)
        expected["3c8e5f21a7b4"] = (0, 1, 0)
        expected["4e92a7c0b6d1"] = (0, 0, 1)
        self.assertEqual(flags, expected)

    def current_applied(self, conn):
        _, table = self.select(conn)
        return ({r["revision"] for r in table if r["is_current"] == 1},
                {r["revision"] for r in table if r["is_applied"] == 1},
                {(r["is_current"], r["is_applied"]) for r in table}
                <= {(0, 0), (0, 1), (1, 1)})

    def test_current_and_applied_follow_the_database(self):
        conn = connect()
        self.assertEqual(self.current_applied(conn), (set(), set(), True))
        conn.execute("SELECT migrate_to('2a6f9c4e1b87')")
        self.assertEqual(self.current_applied(conn),
                         ({"2a6f9c4e1b87"}, ancestors("2a6f9c4e1b87"), True))
        conn.execute("SELECT migrate_to('d8f3b15c7a42')")
        self.assertEqual(
            self.current_applied(conn),
            ({"2a6f9c4e1b87", "d8f3b15c7a42"},
             ancestors("2a6f9c4e1b87") | ancestors("d8f3b15c7a42"), True))
        conn.execute("SELECT migrate_to('head')")
        self.assertEqual(self.current_applied(conn),
                         ({HEAD}, set(HEAD_ORDER), True))
        conn.execute("SELECT migrate_to('base')")
        self.assertEqual(self.current_applied(conn), (set(), set(), True))

    def test_hidden_bundle_column(self):
        conn = connect()
        info = conn.execute("PRAGMA table_xinfo(migrations)").fetchall()
        self.assertEqual([(r[1], r[6]) for r in info],
                         [(c, 0) for c in MIGRATIONS_COLUMNS] + [("bundle", 1)])
        info = conn.execute("PRAGMA table_xinfo(migration_history)").fetchall()
        self.assertEqual([(r[1], r[6]) for r in info],
                         [(c, 0) for c in HISTORY_COLUMNS] + [("bundle", 1)])
        # NULL bundle argument = the embedded bundle
        self.assertEqual(
            conn.execute("SELECT count(*) FROM migrations(NULL)").fetchone(),
            (12,))


class HistoryTest(unittest.TestCase):
    """migrate_log and the migration_history virtual table."""

    maxDiff = None

    def test_history_after_upgrade_and_downgrade(self):
        conn = connect()
        self.assertEqual(
            conn.execute("SELECT * FROM migration_history").fetchall(), [])
        conn.execute("SELECT migrate_to('head')")
        conn.execute("SELECT migrate_to('-1')")
        cur = conn.execute("SELECT * FROM migration_history")
        self.assertEqual([d[0] for d in cur.description], HISTORY_COLUMNS)
        got = [r[:6] + r[8:] for r in cur.fetchall()]
        want = [row + (REVS[row[1]]["message"], 1)
                for row in expected_log(HEAD_ORDER)]
        want.append((13, HEAD, "downgrade", HEAD, "4e92a7c0b6d1",
                     REVS[HEAD]["checksum"], REVS[HEAD]["message"], 1))
        self.assertEqual(got, want)
        # the time columns are migrate_log's
        self.assertEqual(
            conn.execute("SELECT started_at, duration_ms FROM "
                         "migration_history").fetchall(),
            conn.execute("SELECT started_at, duration_ms FROM migrate_log "
                         "ORDER BY id").fetchall())
        self.assertEqual(log_rows(conn)[-1],
                         (13, HEAD, "downgrade", HEAD, "4e92a7c0b6d1",
                          REVS[HEAD]["checksum"]))
        self.assertEqual(versions(conn), ["4e92a7c0b6d1"])

    def test_history_of_a_stamp(self):
        conn = connect()
        conn.execute("SELECT migrate_stamp('7b5e0d3f8c21')")
        conn.execute("SELECT migrate_stamp('base')")
        self.assertEqual(
            [r[:6] + r[7:] for r in conn.execute(
                "SELECT * FROM migration_history")],
            [(1, "7b5e0d3f8c21", "stamp", None, "7b5e0d3f8c21",
              REVS["7b5e0d3f8c21"]["checksum"], 0.0,
              REVS["7b5e0d3f8c21"]["message"], 1),
             # a stamp to base names no revision: no message, no checksum
             (2, None, "stamp", "7b5e0d3f8c21", None, None, 0.0, None, None)])


class OfflineScriptTest(unittest.TestCase):
    """migrate_sql(): the exact script, and the sqlite3 shell running it."""

    maxDiff = None

    def setUp(self):
        self.tmp = TempDir()
        self.addCleanup(self.tmp.cleanup)

    def test_script_from_base_is_exact(self):
        conn = connect()
        got = conn.execute("SELECT migrate_sql('head')").fetchone()[0]
        self.assertEqual(got, expected_upgrade_script(HEAD_ORDER))

    def test_script_from_a_revision_is_exact_and_changes_nothing(self):
        conn = connect(self.tmp.path("a.db"))
        conn.execute("SELECT migrate_to('2a6f9c4e1b87')")
        before = snapshot(conn)
        got = conn.execute("SELECT migrate_sql('head')").fetchone()[0]
        order = [r for r in HEAD_ORDER if r not in ancestors("2a6f9c4e1b87")]
        self.assertEqual(
            got, expected_upgrade_script(order, start="2a6f9c4e1b87"))
        self.assertEqual(snapshot(conn), before)

    def test_script_run_by_the_shell_equals_the_online_call(self):
        script = connect().execute("SELECT migrate_sql('head')").fetchone()[0]
        offline = self.tmp.path("offline.db")
        p = run_shell(offline, script)
        # the only output is PRAGMA journal_mode's answer
        self.assertEqual((p.returncode, p.stdout, p.stderr), (0, "wal\n", ""))
        online = self.tmp.path("online.db")
        conn = connect(online)
        self.assertEqual(conn.execute("SELECT migrate_to('head')").fetchone(),
                         (HEAD,))
        off = sqlite3.connect(offline)
        self.assertEqual(schema_rows(off), schema_rows(conn))
        shell_schema = run_shell(offline, ".schema\n")
        self.assertEqual(shell_schema.stdout,
                         run_shell(online, ".schema\n").stdout)
        self.assertEqual(
            off.execute("SELECT * FROM user_preferences ORDER BY 1, 2")
               .fetchall(), SYSTEM_PREFERENCES)
        self.assertEqual(versions(off), versions(conn))
        self.assertEqual(versions(off), [HEAD])
        self.assertEqual(log_rows(off), log_rows(conn))
        self.assertEqual(
            off.execute("SELECT * FROM migrate_scripts ORDER BY 1").fetchall(),
            conn.execute("SELECT * FROM migrate_scripts ORDER BY 1").fetchall())
        self.assertEqual(off.execute("PRAGMA journal_mode").fetchone(),
                         ("wal",))
        # the offline log has times too, but no durations
        for started, ms in off.execute(
                "SELECT started_at, duration_ms FROM migrate_log"):
            self.assertRegex(started, ISO_UTC)
            self.assertIsNone(ms)
        # and the extension then takes it from there
        off.close()
        off = connect(offline)
        self.assertEqual(off.execute("SELECT migrate_check()").fetchone(),
                         (None,))

    def test_downgrade_script_run_by_the_shell_equals_the_online_call(self):
        a, b = self.tmp.path("a.db"), self.tmp.path("b.db")
        ca, cb = connect(a), connect(b)
        for c in (ca, cb):
            c.execute("SELECT migrate_to('head')")
        script = ca.execute("SELECT migrate_sql('7b5e0d3f8c21')").fetchone()[0]
        self.assertTrue(script.startswith(
            "-- sqlite-migrate %s: %s -> 7b5e0d3f8c21\n\nBEGIN;\n"
            % (makefile_version(), HEAD)), script[:200])
        ca.close()
        p = run_shell(a, script)
        self.assertEqual((p.returncode, p.stdout, p.stderr),
                         (0, "delete\n", ""))
        self.assertEqual(cb.execute("SELECT migrate_to('7b5e0d3f8c21')")
                         .fetchone(), ("7b5e0d3f8c21",))
        ca = sqlite3.connect(a)
        self.assertEqual(schema_rows(ca), schema_rows(cb))
        self.assertEqual(versions(ca), ["7b5e0d3f8c21"])
        self.assertEqual(versions(ca), versions(cb))
        self.assertEqual(log_rows(ca), log_rows(cb))
        self.assertEqual(ca.execute("PRAGMA journal_mode").fetchone(),
                         ("delete",))
        self.assertEqual(cb.execute("PRAGMA journal_mode").fetchone(),
                         ("delete",))


class RegistrationTest(unittest.TestCase):
    """Exactly what the module registers: nothing by accident."""

    def functions(self, conn):
        return {(name, narg): flags for name, narg, flags in conn.execute(
            "SELECT name, narg, flags FROM pragma_function_list")}

    def test_function_list_is_exact(self):
        plain = sqlite3.connect(":memory:")
        before = self.functions(plain)
        after = self.functions(connect())
        added = {k: v for k, v in after.items() if k not in before}
        self.assertEqual(sorted(added), sorted(EXPECTED_FUNCTIONS))
        # nothing built in was replaced
        self.assertEqual({k: v for k, v in after.items() if k in before},
                         before)

    def test_function_flags(self):
        after = self.functions(connect())
        self.assertEqual({k: after.get(k, 0) & FLAG_MASK
                          for k in EXPECTED_FUNCTIONS}, EXPECTED_FUNCTIONS)

    def test_module_list(self):
        plain = {r[0] for r in sqlite3.connect(":memory:").execute(
            "SELECT name FROM pragma_module_list")}
        loaded = {r[0] for r in connect().execute(
            "SELECT name FROM pragma_module_list")}
        self.assertEqual(loaded - plain, EXPECTED_MODULES)
        self.assertEqual(plain - loaded, set())

    def test_wrong_argument_counts_are_sqlite_errors(self):
        conn = connect()
        for sql, msg in [
                ("SELECT migrate_to()",
                 "wrong number of arguments to function migrate_to()"),
                ("SELECT migrate_to('head', NULL, 3)",
                 "wrong number of arguments to function migrate_to()"),
                ("SELECT migrate_current(1)",
                 "wrong number of arguments to function migrate_current()"),
                ("SELECT migrate_bundle()",
                 "wrong number of arguments to function migrate_bundle()"),
                ("SELECT migrate_check(NULL, NULL)",
                 "wrong number of arguments to function migrate_check()")]:
            with self.subTest(sql=sql):
                with self.assertRaises(sqlite3.OperationalError) as cm:
                    conn.execute(sql)
                self.assertEqual(str(cm.exception), msg)


class TwoBuildsTest(unittest.TestCase):
    """Two builds of the module with different bundles in one process (a
    test harness comparing firmware versions, an application that ships
    the module twice): each must keep its own bundle.  SQLite loads
    extensions with RTLD_GLOBAL, so symbols a build exports besides its
    entry point are shared with every build loaded later.  Runs in a child
    process, because the first build stays loaded for the rest of it."""

    CHILD = r"""
import json, sqlite3, sys
def load(so):
    conn = sqlite3.connect(":memory:")
    conn.enable_load_extension(True)
    conn.load_extension(so)
    return conn
first = load(sys.argv[1])
second = load(sys.argv[2])
print(json.dumps([
    [r[0] for r in first.execute("SELECT revision FROM migrations")],
    [r[0] for r in second.execute("SELECT revision FROM migrations")]]))
"""

    def test_each_build_keeps_its_own_bundle(self):
        fw1 = os.path.join(REPO, "build", "fw1", "migrate")
        if not os.path.isfile(fw1 + ".so"):
            self.fail("%s.so is missing: `make test` builds it from "
                      "tests/fixtures/fw1" % fw1)
        p = run_python(self.CHILD, EXTENSION, fw1)
        self.assertEqual(p.returncode, 0, p.stderr[-2000:])
        fw1_revs = read_folder(os.path.join(REPO, "tests", "fixtures", "fw1"))
        self.assertEqual(json.loads(p.stdout),
                         [HEAD_ORDER, sorted(fw1_revs)])


class ShadowingTest(unittest.TestCase):
    """A real table named like a virtual table wins (README.md, "Virtual tables")."""

    def setUp(self):
        self.tmp = TempDir()
        self.addCleanup(self.tmp.cleanup)

    def test_real_table_named_migrations_is_left_alone(self):
        conn = connect(self.tmp.path("app.db"))
        conn.execute("CREATE TABLE migrations(id INTEGER PRIMARY KEY, "
                     "name TEXT)")
        conn.execute("INSERT INTO migrations(name) VALUES ('mine')")
        conn.execute("CREATE TABLE migration_history(note TEXT)")
        conn.execute("INSERT INTO migration_history VALUES ('also mine')")
        self.assertEqual(conn.execute("SELECT migrate_to('head')").fetchone(),
                         (HEAD,))
        self.assertEqual(conn.execute("SELECT * FROM migrations").fetchall(),
                         [(1, "mine")])
        self.assertEqual(
            conn.execute("SELECT * FROM migration_history").fetchall(),
            [("also mine",)])
        # the modules are still reachable under another name
        conn.execute("CREATE VIRTUAL TABLE temp.m USING migrations")
        conn.execute("CREATE VIRTUAL TABLE temp.h USING migration_history")
        self.assertEqual(
            [r[0] for r in conn.execute("SELECT revision FROM temp.m")],
            HEAD_ORDER)
        self.assertEqual(
            conn.execute("SELECT count(*), sum(is_applied) FROM temp.m")
                .fetchone(), (12, 12))
        self.assertEqual(
            [r[0] for r in conn.execute("SELECT revision FROM temp.h")],
            HEAD_ORDER)
        self.assertEqual(conn.execute("SELECT * FROM migrations").fetchall(),
                         [(1, "mine")])

    def test_module_takes_no_arguments(self):
        conn = connect()
        with self.assertRaises(sqlite3.OperationalError) as cm:
            conn.execute("CREATE VIRTUAL TABLE temp.m USING migrations(x)")
        self.assertEqual(str(cm.exception), "migrations takes no arguments")
        with self.assertRaises(sqlite3.OperationalError) as cm:
            conn.execute("CREATE VIRTUAL TABLE temp.h USING "
                         "migration_history(x)")
        self.assertEqual(str(cm.exception),
                         "migration_history takes no arguments")

    def test_virtual_tables_are_read_only(self):
        conn = connect()
        with self.assertRaises(sqlite3.OperationalError) as cm:
            conn.execute("DELETE FROM migrations")
        self.assertEqual(str(cm.exception), "table migrations may not be "
                         "modified")


def tearDownModule():
    close_connections()


if __name__ == "__main__":
    unittest.main()
