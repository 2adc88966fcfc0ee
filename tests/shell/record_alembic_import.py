#!/usr/bin/python3
"""Record what Alembic 1.8 says about the Alembic-format fixture folders.

    /usr/bin/python3 tests/shell/record_alembic_import.py           # rewrite
    /usr/bin/python3 tests/shell/record_alembic_import.py --check   # compare only

Writes tests/shell/expected_alembic_import.json; needs Alembic (recorded with
1.8.1 and SQLAlchemy 1.4). The test suite (test_alembic_import.py) needs
neither Alembic nor this script: it only reads the JSON.

For every folder tests/shell/fixtures/alembic_*/ (Alembic revision .py files) a
throwaway Alembic project is written (alembic.ini, env.py, versions/ = a copy of
the folder, sqlalchemy.url a fresh SQLite file) and these are recorded:

    history   stdout of `alembic history` (PYTHONHASHSEED=0)
    heads     the rows of alembic_version after `alembic upgrade heads`, sorted
    schema    [type, name, tbl_name, sql] of sqlite_master after that upgrade
              (alembic_version left out), sorted by type and name
    rows      {table: rows} of every table after that upgrade, rows sorted
    error     when the upgrade failed: the last line Alembic printed

The converted folder (sqlite-migrate import-alembic) must give the same history
and, where every revision converted, the same schema and rows.
"""

import argparse
import glob
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "fixtures")
EXPECTED = os.path.join(HERE, "expected_alembic_import.json")

ENV_PY = '''
from alembic import context
from sqlalchemy import engine_from_config, pool

config = context.config
engine = engine_from_config(config.get_section(config.config_ini_section),
                            prefix="sqlalchemy.", poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()
'''

INI = '''[alembic]
script_location = %(here)s/env
sqlalchemy.url = sqlite:///%(here)s/app.db
'''


def alembic(project, *args):
    env = dict(os.environ, PYTHONHASHSEED="0")
    return subprocess.run([sys.executable, "-m", "alembic", "-c",
                           os.path.join(project, "alembic.ini")] + list(args),
                          cwd=project, env=env, capture_output=True, text=True)


def record(folder):
    out = {}
    with tempfile.TemporaryDirectory() as project:
        os.makedirs(os.path.join(project, "env"))
        shutil.copytree(folder, os.path.join(project, "env", "versions"))
        with open(os.path.join(project, "env", "env.py"), "w") as f:
            f.write(ENV_PY)
        with open(os.path.join(project, "alembic.ini"), "w") as f:
            f.write(INI)
        p = alembic(project, "history")
        if p.returncode != 0:
            raise SystemExit("alembic history failed in %s:\n%s" % (folder, p.stderr))
        out["history"] = p.stdout
        p = alembic(project, "upgrade", "heads")
        if p.returncode != 0:
            out["error"] = p.stderr.strip().splitlines()[-1]
            return out
        conn = sqlite3.connect(os.path.join(project, "app.db"))
        out["heads"] = sorted(r[0] for r in conn.execute(
            "SELECT version_num FROM alembic_version"))
        out["schema"] = [list(r) for r in conn.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master "
            "WHERE name <> 'alembic_version' AND name NOT LIKE 'sqlite_autoindex%' "
            "ORDER BY type, name")]
        out["rows"] = {}
        for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                 "AND name <> 'alembic_version' ORDER BY name"):
            out["rows"][t] = sorted(list(r) for r in conn.execute('SELECT * FROM "%s"' % t))
        conn.close()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    got = {}
    for folder in sorted(glob.glob(os.path.join(FIXTURES, "alembic_*"))):
        got[os.path.basename(folder)] = record(folder)
    text = json.dumps(got, indent=1, sort_keys=True) + "\n"
    if args.check:
        with open(EXPECTED) as f:
            if f.read() != text:
                print("expected_alembic_import.json differs from what Alembic says")
                return 1
        print("expected_alembic_import.json matches Alembic")
        return 0
    with open(EXPECTED, "w") as f:
        f.write(text)
    print("wrote %s (%d folders)" % (EXPECTED, len(got)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
