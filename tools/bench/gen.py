#!/usr/bin/env python3
"""Generate a linear history of N revisions for the benchmark (issue #6).

    gen.py N OUTDIR

writes
    OUTDIR/migrations/<rev>_<slug>.sql   N revision scripts
    OUTDIR/up.sql      every upgrade section in order, in one BEGIN..COMMIT
    OUTDIR/down.sql    every downgrade section in reverse order, likewise

Revision i (1-based):
    CREATE TABLE t_i (id INTEGER PRIMARY KEY, name TEXT NOT NULL, v INTEGER);
    CREATE INDEX ix_t_i_name ON t_i (name);
    INSERT INTO t_i (name, v) VALUES ... 20 rows ...;
    every 10th: ALTER TABLE t_(i-9) ADD COLUMN c_i INTEGER;
and its downgrade reverses those statements.  up.sql / down.sql are what the
sqlite3 shell runs as the "raw" limit: the same statements, one transaction,
no bookkeeping.  Revision ids are 12 hex digits derived from i (stable
across runs, as random-looking as Alembic's).
"""
import hashlib
import os
import sys


def rev_id(i):
    return hashlib.sha1(b"bench-%d" % i).hexdigest()[:12]


def sections(i):
    up = [
        "CREATE TABLE t_%d (id INTEGER PRIMARY KEY, name TEXT NOT NULL, "
        "v INTEGER);" % i,
        "CREATE INDEX ix_t_%d_name ON t_%d (name);" % (i, i),
        "INSERT INTO t_%d (name, v) VALUES\n  " % i
        + ",\n  ".join("('item %d-%d', %d)" % (i, k, i * 100 + k)
                       for k in range(1, 21))
        + ";",
    ]
    down = ["DROP INDEX ix_t_%d_name;" % i, "DROP TABLE t_%d;" % i]
    if i % 10 == 0:
        up.append("ALTER TABLE t_%d ADD COLUMN c_%d INTEGER;" % (i - 9, i))
        down.insert(0, "ALTER TABLE t_%d DROP COLUMN c_%d;" % (i - 9, i))
    return up, down


def write(path, text):
    """Write text unless the file already holds it (keeps mtimes, so make
    does not rebuild an embedded bundle that did not change)."""
    try:
        with open(path) as f:
            if f.read() == text:
                return
    except FileNotFoundError:
        pass
    with open(path, "w") as f:
        f.write(text)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: gen.py N OUTDIR")
    n = int(sys.argv[1])
    out = sys.argv[2]
    mig = os.path.join(out, "migrations")
    os.makedirs(mig, exist_ok=True)
    names = set()
    ups, downs = [], []
    prev = ""
    for i in range(1, n + 1):
        rid = rev_id(i)
        up, down = sections(i)
        ups.append("\n".join(up))
        downs.append("\n".join(down))
        text = (
            "-- Create table t_%d\n"
            "--\n"
            "-- Revision ID: %s\n"
            "-- Revises: %s\n"
            "-- Create Date: 2026-11-21 10:%02d:%02d\n"
            "\n"
            "-- migrate:upgrade\n%s\n"
            "\n"
            "-- migrate:downgrade\n%s\n"
            % (i, rid, prev, (i // 60) % 60, i % 60, ups[-1], downs[-1])
        )
        # <revision>_<slug>.sql as Alembic names them: file order is not
        # history order, as in a real project
        name = "%s_%05d_create_t_%d.sql" % (rid, i, i)
        write(os.path.join(mig, name), text)
        names.add(name)
        prev = rid
    for f in os.listdir(mig):
        if f.endswith(".sql") and f not in names:
            os.remove(os.path.join(mig, f))
    write(os.path.join(out, "up.sql"),
          "BEGIN;\n" + "\n".join(ups) + "\nCOMMIT;\n")
    write(os.path.join(out, "down.sql"),
          "BEGIN;\n" + "\n".join(reversed(downs)) + "\nCOMMIT;\n")


if __name__ == "__main__":
    main()
