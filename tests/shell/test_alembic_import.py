"""Alembic's .py revisions: refused where a folder is read, converted by
`sqlite-migrate import-alembic`.

The fixture folders tests/shell/fixtures/alembic_*/ are Alembic versions
folders (linear, branched, merged, labelled, depends_on; op.execute SQL and
bulk_insert; batch_alter_table; Python data logic). What real Alembic 1.8.1
says about them (`alembic history`, and the schema, rows and heads after an
online `alembic upgrade heads`) is recorded in expected_alembic_import.json by
record_alembic_import.py; these tests need no Alembic.

Without Alembic (really: the program runs `/usr/bin/python3 -I -S`, which
cannot import it) the metadata is still converted; with Alembic the SQL is
rendered too. Where /usr/bin/python3 cannot import Alembic, the rendering tests
cannot run; ImportWithoutInstalledAlembicTest then checks what the command says
instead, and the rendering tests are left out (install python3-alembic to run
them; a skipped test would count as a failure in tests/run_all.py).
"""

import json
import os
import shutil
import sqlite3
import subprocess
import unittest

from shell_support import EXTENSION, FIXTURES, HERE, REPO, Tmp, program_env, run

with open(os.path.join(HERE, "expected_alembic_import.json")) as f:
    EXPECTED = json.load(f)

FOLDERS = sorted(EXPECTED)
NO_ALEMBIC = "/usr/bin/python3 -I -S"
WITH_ALEMBIC = "/usr/bin/python3"
MKBUNDLE = os.path.join(REPO, "build", "mkbundle")
NEEDS_PERSON = "These need a person (the bundler refuses them until their SQL is written):\n"


def fixture(name):
    return os.path.join(FIXTURES, name)


def py_files(name):
    return sorted(f for f in os.listdir(fixture(name)) if f.endswith(".py"))


def alembic_importable():
    p = subprocess.run([WITH_ALEMBIC, "-c", "import alembic"], capture_output=True)
    return p.returncode == 0


def import_alembic(tmp, name, python, out="out"):
    return run(["import-alembic", fixture(name), "-o", out], cwd=tmp,
               env={"SQLITE_MIGRATE_PYTHON": python})


def user_schema(path):
    conn = sqlite3.connect(path)
    try:
        schema = [list(r) for r in conn.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE "
            "'migrate_%' AND name NOT LIKE 'sqlite_autoindex%' ORDER BY type, name")]
        rows = {}
        for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                 "AND name NOT LIKE 'migrate_%' ORDER BY name"):
            rows[t] = sorted(list(r) for r in conn.execute('SELECT * FROM "%s"' % t))
        heads = sorted(r[0] for r in conn.execute("SELECT version_num FROM migrate_version"))
        return schema, rows, heads
    finally:
        conn.close()


def squeeze(schema):
    """The schema rows with each run of white space in the SQL made one space."""
    return [r[:3] + [" ".join(r[3].split()) if r[3] else r[3]] for r in schema]


class AlembicFolderRefusedTest(unittest.TestCase):
    """A folder of Alembic .py revisions is never an empty history."""

    MESSAGE = ("holds 3 Alembic revision scripts (1a2b3c4d5e6f_create_users.py, "
               "2b3c4d5e6f70_create_posts.py, 3c4d5e6f7081_add_index.py), which "
               "sqlite-migrate does not run; convert them with `sqlite-migrate "
               "import-alembic %s -o FOLDER` and use FOLDER")

    def test_shell_refuses_every_command(self):
        folder = fixture("alembic_linear")
        with Tmp() as tmp:
            for args in (["upgrade"], ["check"], ["test"], ["current"], ["history"],
                         ["revision", "-m", "x"], ["heads"]):
                with self.subTest(args=args):
                    p = run(["--dir", folder, "-d", "a.db"] + args, cwd=tmp)
                    self.assertEqual(p.returncode, 1)
                    self.assertEqual(p.stderr, "FAILED: %s %s\n" % (
                        folder, self.MESSAGE % folder))
            self.assertEqual(sorted(os.listdir(tmp)), [])
            self.assertEqual(py_files("alembic_linear"), sorted(os.listdir(folder)))

    def test_mkbundle_refuses(self):
        folder = fixture("alembic_linear")
        p = subprocess.run([MKBUNDLE, "--check", folder], capture_output=True, text=True)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stderr, "%s: %s\n" % (folder, self.MESSAGE % folder))

    def test_migrate_bundle_refuses(self):
        folder = fixture("alembic_linear")
        conn = sqlite3.connect(":memory:")
        conn.enable_load_extension(True)
        conn.load_extension(EXTENSION)
        with self.assertRaises(sqlite3.Error) as cm:
            conn.execute("SELECT migrate_bundle(?)", (folder,)).fetchone()
        conn.close()
        self.assertEqual(str(cm.exception), "migrate_bundle('%s'): %s" % (
            folder, self.MESSAGE % folder))

    def test_many_scripts_are_cut_at_five(self):
        with Tmp() as tmp:
            folder = os.path.join(tmp, "v")
            os.mkdir(folder)
            for i in range(7):
                with open(os.path.join(folder, "r%d.py" % i), "w") as f:
                    f.write("revision = 'r%d'\ndown_revision = None\n" % i)
            # a .py that is not a revision does not count
            with open(os.path.join(folder, "utils.py"), "w") as f:
                f.write("def util():\n    pass\n")
            p = run(["--dir", folder, "heads"], cwd=tmp)
            self.assertEqual(p.stderr, "FAILED: %s holds 7 Alembic revision scripts "
                             "(r0.py, r1.py, r2.py, r3.py, r4.py, ...), which "
                             "sqlite-migrate does not run; convert them with "
                             "`sqlite-migrate import-alembic %s -o FOLDER` and use "
                             "FOLDER\n" % (folder, folder))
            # only utils.py left: an empty history, as before
            for i in range(7):
                os.unlink(os.path.join(folder, "r%d.py" % i))
            p = run(["--dir", folder, "heads"], cwd=tmp)
            self.assertEqual((p.returncode, p.stdout, p.stderr), (0, "", ""))


class ImportWithoutAlembicTest(unittest.TestCase):
    """The metadata is read from the text; Python is never run for it."""

    def test_python_without_alembic_really_lacks_it(self):
        p = subprocess.run(NO_ALEMBIC.split() + ["-c", "import alembic"],
                           capture_output=True, text=True)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("No module named 'alembic'", p.stderr)

    def test_every_folder(self):
        for name in FOLDERS:
            with self.subTest(folder=name), Tmp() as tmp:
                files = py_files(name)
                p = import_alembic(tmp, name, NO_ALEMBIC)
                self.assertEqual(p.returncode, 0, p.stderr)
                lines = "".join("  %s.sql (%s)\n" % (f[:-3], f.split("_")[0])
                                for f in files)
                self.assertEqual(p.stdout,
                                 "Alembic is not importable by %s (set "
                                 "SQLITE_MIGRATE_PYTHON to a Python that has it): the "
                                 "SQL of every revision needs a person.\n"
                                 "Converted 0 of %d revisions into out.\n%s%s"
                                 % (NO_ALEMBIC, len(files), NEEDS_PERSON, lines))
                out = os.path.join(tmp, "out")
                self.assertEqual(sorted(os.listdir(out)), [f[:-3] + ".sql" for f in files])
                # the bundler refuses them by name
                p = run(["--dir", "out", "history"], cwd=tmp)
                self.assertEqual(p.returncode, 1)
                self.assertEqual(p.stderr, "FAILED: out/%s.sql: no '-- migrate:upgrade' "
                                 "section\n" % files[0][:-3])
                # once a person has written the sections, the graph is Alembic's
                for f in os.listdir(out):
                    with open(os.path.join(out, f), "a") as g:
                        g.write("\n-- migrate:upgrade\n")
                p = run(["--dir", "out", "history"], cwd=tmp)
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertEqual(p.stdout, EXPECTED[name]["history"])

    def test_header_of_an_annotated_double_quoted_revision(self):
        with Tmp() as tmp:
            import_alembic(tmp, "alembic_depends", NO_ALEMBIC)
            with open(os.path.join(tmp, "out", "d4000000000e_wallets.sql")) as f:
                text = f.read()
            self.assertTrue(text.startswith(
                "-- wallets\n"
                "--\n"
                "-- Revision ID: d4000000000e\n"
                "-- Revises: d3000000000d\n"
                "-- Create Date: 2026-03-01 10:00:00.000000\n"
                "-- Depends On: d1000000000b\n"
                "\n"
                "-- NEEDS A PERSON: imported from d4000000000e_wallets.py, whose SQL "
                "could not be rendered\n"), text)
            # the Python is kept, every line commented, no section marker
            self.assertIn("-- | def upgrade() -> None:\n", text)
            self.assertNotIn("\n-- migrate:", text)
            import_alembic(tmp, "alembic_labelled", NO_ALEMBIC, out="lab")
            with open(os.path.join(tmp, "lab", "l2000000000c_reports.sql")) as f:
                head = f.read().split("\n\n")[0]
            self.assertEqual(head, "-- reports base\n--\n-- Revision ID: l2000000000c\n"
                                   "-- Revises: \n-- Create Date: 2026-03-01 10:00:00.000000\n"
                                   "-- Branch Labels: reports, analytics")

    def test_merge_header(self):
        with Tmp() as tmp:
            import_alembic(tmp, "alembic_merged", NO_ALEMBIC)
            with open(os.path.join(tmp, "out", "m3000000000d_merge.sql")) as f:
                head = f.read().split("\n\n")[0]
            self.assertEqual(head, "-- merge left and right\n--\n"
                                   "-- Revision ID: m3000000000d\n"
                                   "-- Revises: m1000000000b, m2000000000c\n"
                                   "-- Create Date: 2026-03-01 10:00:00.000000")


class ImportRefusalTest(unittest.TestCase):

    def write(self, folder, name, text):
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, name), "w") as f:
            f.write(text)

    def test_value_that_is_not_a_literal(self):
        with Tmp() as tmp:
            v = os.path.join(tmp, "v")
            self.write(v, "a1_x.py", '"""x"""\nrevision = "a1"\ndown_revision = None\n')
            self.write(v, "b2_y.py", '"""y"""\nPARENT = "a1"\nrevision = "b2"\n'
                                     'down_revision = PARENT\n')
            p = run(["import-alembic", "v", "-o", "out"], cwd=tmp,
                    env={"SQLITE_MIGRATE_PYTHON": NO_ALEMBIC})
            self.assertEqual(p.returncode, 1)
            self.assertEqual(p.stderr, "FAILED: v/b2_y.py line 4: down_revision is not a "
                             "string, None, or a tuple or list of strings; import-alembic "
                             "reads the metadata without running Python: write the value "
                             "literally (nothing was written)\n")
            self.assertFalse(os.path.exists(os.path.join(tmp, "out")))

    def test_file_without_revision(self):
        with Tmp() as tmp:
            self.write(os.path.join(tmp, "v"), "utils.py", "X = 1\n")
            p = run(["import-alembic", "v"], cwd=tmp)
            self.assertEqual(p.returncode, 1)
            self.assertEqual(p.stderr, "FAILED: v/utils.py: no top-level `revision = "
                             "'...'`; not an Alembic revision script (nothing was "
                             "written)\n")

    def test_id_sqlite_migrate_cannot_hold(self):
        with Tmp() as tmp:
            self.write(os.path.join(tmp, "v"), "a.py",
                       "revision = 'a-1'\ndown_revision = None\n")
            p = run(["import-alembic", "v"], cwd=tmp)
            self.assertEqual(p.stderr, "FAILED: v/a.py: revision 'a-1' (or a revision or "
                             "label it names) has characters other than letters, digits "
                             "and '_', which sqlite-migrate ids cannot hold (nothing was "
                             "written)\n")

    def test_folders(self):
        with Tmp() as tmp:
            p = run(["import-alembic", "nope"], cwd=tmp)
            self.assertEqual((p.returncode, p.stderr), (1, (
                "FAILED: nope is not a folder (give an Alembic project's versions "
                "folder, e.g. alembic/versions)\n")))
            os.mkdir(os.path.join(tmp, "empty"))
            p = run(["import-alembic", "empty"], cwd=tmp)
            self.assertEqual((p.returncode, p.stderr), (
                1, "FAILED: empty holds no Alembic revision (*.py) files\n"))
            self.write(os.path.join(tmp, "full"), "x.sql", "")
            p = run(["import-alembic", fixture("alembic_linear"), "-o", "full"], cwd=tmp,
                    env={"SQLITE_MIGRATE_PYTHON": NO_ALEMBIC})
            self.assertEqual((p.returncode, p.stderr), (
                1, "FAILED: full is not empty; give -o a new or empty folder (nothing "
                   "was written)\n"))
            self.assertEqual(os.listdir(os.path.join(tmp, "full")), ["x.sql"])
            p = run(["import-alembic"], cwd=tmp)
            self.assertEqual(p.returncode, 2)
            self.assertIn("the following arguments are required: VERSIONS_DIR", p.stderr)

    def test_environment_folder_means_its_versions(self):
        with Tmp() as tmp:
            shutil.copytree(fixture("alembic_execute"), os.path.join(tmp, "alembic", "versions"))
            self.write(os.path.join(tmp, "alembic"), "env.py", "from alembic import context\n")
            p = run(["import-alembic", "alembic", "-o", "out"], cwd=tmp,
                    env={"SQLITE_MIGRATE_PYTHON": NO_ALEMBIC})
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(sorted(os.listdir(os.path.join(tmp, "out"))),
                             ["e1a000000001_create_audit.sql", "e2b000000002_seed_audit.sql"])

    def test_default_output_is_migrations(self):
        with Tmp() as tmp:
            p = import_alembic(tmp, "alembic_execute", NO_ALEMBIC, out="migrations")
            p = run(["import-alembic", fixture("alembic_execute")], cwd=os.path.join(tmp),
                    env={"SQLITE_MIGRATE_PYTHON": NO_ALEMBIC})
            self.assertEqual(p.returncode, 1)
            self.assertEqual(p.stderr, "FAILED: migrations is not empty; give -o a new or "
                             "empty folder (nothing was written)\n")


class DefaultPythonTest(unittest.TestCase):

    def test_default_is_python3_on_the_path(self):
        with Tmp() as tmp:
            bin_dir = os.path.join(tmp, "bin")
            os.mkdir(bin_dir)
            with open(os.path.join(bin_dir, "python3"), "w") as f:
                f.write('#!/bin/sh\nexec %s "$@"\n' % NO_ALEMBIC)
            os.chmod(os.path.join(bin_dir, "python3"), 0o755)
            p = run(["import-alembic", fixture("alembic_execute"), "-o", "out"], cwd=tmp,
                    env={"PATH": bin_dir + ":/usr/bin:/bin", "SQLITE_MIGRATE_PYTHON": ""})
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(p.stdout.splitlines()[0],
                             "Alembic is not importable by python3 (set "
                             "SQLITE_MIGRATE_PYTHON to a Python that has it): the SQL of "
                             "every revision needs a person.")


if not alembic_importable():
    # see the module's docstring
    class ImportWithoutInstalledAlembicTest(unittest.TestCase):

        def test_says_alembic_is_not_there(self):
            with Tmp() as tmp:
                p = import_alembic(tmp, "alembic_execute", WITH_ALEMBIC)
                self.assertEqual(p.stdout.splitlines()[0],
                                 "Alembic is not importable by %s (set "
                                 "SQLITE_MIGRATE_PYTHON to a Python that has it): the SQL "
                                 "of every revision needs a person." % WITH_ALEMBIC)


class ImportWithAlembicTest(unittest.TestCase):
    """Alembic renders each revision's SQL for SQLite, offline."""

    NOT_RENDERED = {
        "alembic_batch": {
            "ba00000000b2": "downgrade(): CommandError: This operation cannot proceed in "
                            "--sql mode; batch mode with dialect sqlite requires a live "
                            "database connection",
            "ba00000000c3": "upgrade(): CommandError: This operation cannot proceed in "
                            "--sql mode; batch mode with dialect sqlite requires a live "
                            "database connection",
        },
        "alembic_pydata": {
            "pd00000000b2": "upgrade(): AttributeError: 'NoneType' object has no "
                            "attribute 'fetchall'",
        },
    }

    def test_converted_folders_equal_alembic(self):
        for name in FOLDERS:
            if name in self.NOT_RENDERED:
                continue
            with self.subTest(folder=name), Tmp() as tmp:
                n = len(py_files(name))
                p = import_alembic(tmp, name, WITH_ALEMBIC)
                self.assertEqual((p.returncode, p.stdout, p.stderr),
                                 (0, "Converted %d of %d revisions into out.\n" % (n, n), ""))
                p = run(["--dir", "out", "history"], cwd=tmp)
                self.assertEqual(p.stdout, EXPECTED[name]["history"])
                p = run(["--dir", "out", "-d", "app.db", "upgrade", "heads"], cwd=tmp)
                self.assertEqual(p.returncode, 0, p.stderr)
                schema, rows, heads = user_schema(os.path.join(tmp, "app.db"))
                # online Alembic indents CREATE TABLE with tabs, offline with spaces
                self.assertEqual(squeeze(schema), squeeze(EXPECTED[name]["schema"]))
                self.assertEqual(rows, EXPECTED[name]["rows"])
                self.assertEqual(heads, EXPECTED[name]["heads"])
                # the rendered downgrades take it back to nothing
                p = run(["--dir", "out", "-d", "app.db", "downgrade", "base"], cwd=tmp)
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertEqual(user_schema(os.path.join(tmp, "app.db")),
                                 ([], {}, []))

    def test_what_alembic_cannot_render_needs_a_person(self):
        for name, why in sorted(self.NOT_RENDERED.items()):
            with self.subTest(folder=name), Tmp() as tmp:
                files = py_files(name)
                p = import_alembic(tmp, name, WITH_ALEMBIC)
                self.assertEqual(p.returncode, 0, p.stderr)
                lines = p.stdout.splitlines()
                self.assertEqual(lines[0], "Converted %d of %d revisions into out." % (
                    len(files) - len(why), len(files)))
                self.assertEqual(lines[1] + "\n", NEEDS_PERSON)
                listed = lines[2:]
                self.assertEqual(len(listed), len(why))
                for line, (rev, reason) in zip(listed, sorted(why.items())):
                    f = [x for x in files if x.startswith(rev)][0]
                    self.assertTrue(line.startswith("  %s.sql (%s): %s" % (
                        f[:-3], rev, reason)), line)
                first = sorted(why)[0]
                f = [x for x in files if x.startswith(first)][0][:-3] + ".sql"
                p = run(["--dir", "out", "history"], cwd=tmp)
                self.assertEqual(p.stderr, "FAILED: out/%s: no '-- migrate:upgrade' "
                                           "section\n" % f)
                p = subprocess.run([MKBUNDLE, "--check", "out"], cwd=tmp,
                                   capture_output=True, text=True, env=program_env())
                self.assertEqual(p.stderr, "out/%s: no '-- migrate:upgrade' section\n" % f)

    def test_python_is_run_through_the_shell_with_options(self):
        # the same Python, given with an option: still found, still renders
        with Tmp() as tmp:
            p = import_alembic(tmp, "alembic_execute", WITH_ALEMBIC + " -B")
            self.assertEqual(p.stdout, "Converted 2 of 2 revisions into out.\n")
            with open(os.path.join(tmp, "out", "e2b000000002_seed_audit.sql")) as f:
                self.assertIn("-- migrate:upgrade\nINSERT INTO audit (id, what) VALUES "
                              "(1, 'created');\n\nINSERT INTO audit (id, what) VALUES "
                              "(2, 'it''s seeded');\n", f.read())


if not alembic_importable():
    del ImportWithAlembicTest  # see the module's docstring


if __name__ == "__main__":
    unittest.main()
