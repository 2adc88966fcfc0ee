#!/usr/bin/python3
"""Make the fixture of test_alembic_adopt.py with real Alembic, and check
what Alembic says about the databases sqlite-migrate leaves.

    /usr/bin/python3 tests/shell/record_alembic_adopt.py --db      # remake app.db
    /usr/bin/python3 tests/shell/record_alembic_adopt.py           # check only

Needs Alembic (recorded with 1.8.1 and SQLAlchemy 1.4) and build/sqlite-migrate.
The test suite needs neither Alembic nor this script.

tests/shell/fixtures/adopt/ is a small Alembic project: alembic.ini,
alembic/env.py and alembic/versions/ (three revisions: users, posts, tags).
app.db is what `alembic upgrade 2b7d4e8f0a52` made of an empty file (users
and posts, alembic_version = 2b7d4e8f0a52).  migrations/ holds the same three
revisions as SQL scripts, with the same ids, and a fourth, newer one.

--db remakes app.db.  Then, for each case of ALEMBIC_CURRENT in
test_alembic_adopt.py, a copy of app.db is moved by sqlite-migrate and
`alembic current` is run on the result; its output must equal the text the
test holds (the test then checks alembic_version against it).
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from shell_support import SHELL  # noqa: E402
from test_alembic_adopt import ADOPT, ALEMBIC_CURRENT  # noqa: E402

MID = "2b7d4e8f0a52"


def alembic(project, *args):
    env = dict(os.environ, PYTHONHASHSEED="0")
    return subprocess.run([sys.executable, "-m", "alembic", "-c",
                           os.path.join(project, "alembic.ini")] + list(args),
                          cwd=project, env=env, capture_output=True, text=True)


def project_copy(tmp):
    """The Alembic project (without app.db) in tmp/project."""
    project = os.path.join(tmp, "project")
    shutil.copytree(ADOPT, project, ignore=shutil.ignore_patterns("app.db", "migrations"))
    return project


def make_db():
    with tempfile.TemporaryDirectory() as tmp:
        project = project_copy(tmp)
        p = alembic(project, "upgrade", MID)
        if p.returncode != 0:
            raise SystemExit("alembic upgrade failed:\n" + p.stderr)
        shutil.copyfile(os.path.join(project, "app.db"), os.path.join(ADOPT, "app.db"))
    print("wrote", os.path.join(ADOPT, "app.db"))


def check():
    bad = 0
    for name, (steps, want) in sorted(ALEMBIC_CURRENT.items()):
        with tempfile.TemporaryDirectory() as tmp:
            project = project_copy(tmp)
            db = os.path.join(project, "app.db")
            shutil.copyfile(os.path.join(ADOPT, "app.db"), db)
            for step in steps:
                p = subprocess.run([SHELL, "-d", db, "--dir",
                                    os.path.join(ADOPT, "migrations")] + step.split(),
                                   capture_output=True, text=True)
                if p.returncode != 0:
                    raise SystemExit("sqlite-migrate %s failed:\n%s" % (step, p.stderr))
            p = alembic(project, "current")
            got = p.stdout + p.stderr
            print("%s: alembic current -> %r" % (name, got))
            if got != want:
                print("  the test holds %r" % want)
                bad += 1
    return bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", action="store_true", help="remake app.db first")
    args = ap.parse_args()
    if args.db:
        make_db()
    sys.exit(1 if check() else 0)


if __name__ == "__main__":
    main()
