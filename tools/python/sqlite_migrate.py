"""sqlite_migrate — open SQLite connections with the sqlite-migrate extension
loaded and the database migrated (standard library only).

    import sqlite_migrate
    conn = sqlite_migrate.connect("app.db")              # migrated to head
    conn = sqlite_migrate.connect(":memory:", target="9a39eb7fd78f")
    sqlite_migrate.migrate(conn, "-1")                   # SELECT migrate_to('-1')
    sqlite_migrate.find_module()                         # path of migrate.so

Where the module is found, first match wins:
  1. $MIGRATE_SO (a path, with or without .so)
  2. build/migrate.so of the source tree this file belongs to
     (tools/python/sqlite_migrate.py -> build/migrate.so)
  3. the lib/ directory of the prefix this file is installed under
     (make install: PREFIX/lib/pythonX.Y/dist-packages -> PREFIX/lib)
  4. /usr/local/lib, /usr/lib

A Python whose sqlite3 module cannot load extensions (pyenv builds it that
way unless told otherwise) gets ExtensionsUnavailable saying what to use
instead.  Test fixtures build on fresh_database(): it copies a template the
first call built (migrate_fixture) where SQLite allows, else migrates.
"""
import os
import sqlite3

__all__ = ["ExtensionsUnavailable", "ModuleNotFound", "find_module", "load",
           "migrate", "connect", "fresh_database", "fixture_available"]

_HERE = os.path.dirname(os.path.abspath(__file__))


class ExtensionsUnavailable(RuntimeError):
    """This interpreter's sqlite3 module cannot load SQLite extensions."""


class ModuleNotFound(FileNotFoundError):
    """No migrate.so where find_module() looks."""


def _candidates():
    """The paths find_module() tries, in order."""
    env = os.environ.get("MIGRATE_SO")
    if env:
        return [env if env.endswith(".so") else env + ".so"]
    out = [os.path.join(os.path.dirname(os.path.dirname(_HERE)), "build",
                        "migrate.so")]
    parts = _HERE.split(os.sep)
    if "lib" in parts:
        # PREFIX/lib/pythonX.Y/dist-packages: the module is in PREFIX/lib
        i = len(parts) - 1 - parts[::-1].index("lib")
        out.append(os.sep.join(parts[:i + 1] + ["migrate.so"]))
    out += ["/usr/local/lib/migrate.so", "/usr/lib/migrate.so"]
    return out


def find_module():
    """The path of migrate.so (see the module's docstring for the order);
    raises ModuleNotFound naming every place it looked."""
    tried = _candidates()
    for path in tried:
        if os.path.isfile(path):
            return path
    raise ModuleNotFound(
        "the sqlite-migrate extension (migrate.so) was not found; looked at "
        "%s. Build it with `make` in the source tree, install it with `make "
        "install`, or set MIGRATE_SO to its path" % ", ".join(tried))


def load(conn, module=None):
    """Load the extension (module, or find_module()) into conn; extension
    loading is switched off again afterwards."""
    if not hasattr(conn, "enable_load_extension"):
        raise ExtensionsUnavailable(
            "this Python's sqlite3 module cannot load extensions (it was "
            "built without --enable-loadable-sqlite-extensions, as pyenv "
            "does by default), so migrate.so cannot be loaded. Use a Python "
            "that can, such as Debian's or Ubuntu's /usr/bin/python3, or "
            "rebuild this one with PYTHON_CONFIGURE_OPTS="
            "--enable-loadable-sqlite-extensions; or migrate the file with "
            "the command line: sqlite-migrate -d DATABASE upgrade head")
    path = module or find_module()
    conn.enable_load_extension(True)
    try:
        conn.load_extension(path)
    finally:
        conn.enable_load_extension(False)
    return conn


def migrate(conn, target="head"):
    """SELECT migrate_to(target) on conn; returns the new version (heads,
    comma-separated) or None at base."""
    return conn.execute("SELECT migrate_to(?)", (target,)).fetchone()[0]


def connect(database=":memory:", target="head", module=None, **kwargs):
    """sqlite3.connect(database, **kwargs) with the extension loaded and the
    database migrated to target (None: not migrated)."""
    conn = sqlite3.connect(database, **kwargs)
    try:
        load(conn, module)
        if target is not None:
            migrate(conn, target)
    except BaseException:
        conn.close()
        raise
    return conn


def fixture_available():
    """Can migrate_fixture() copy templates here?  A loadable module needs
    sqlite3_serialize(), which SQLite offers it from 3.39 on."""
    return sqlite3.sqlite_version_info >= (3, 39, 0)


def fresh_database(target="head", database=":memory:", module=None):
    """A new database at target, for a test: what fixtures call.

    Where the extension can copy a template (fixture_available()), the
    first call in a process builds the database at target once and every
    later call copies it in (SELECT migrate_fixture(target)).  Where a copy
    would not be the database migrate_to builds, migrate_fixture refuses
    before changing anything and says to use migrate_to (a revision reads
    the clock or calls random(), a database file with a 'Transaction: none'
    revision, a database that is not empty: README.md, "Test fixtures");
    then, and on an older SQLite, this migrates with migrate_to instead.
    Either way the database is the one migrate_to gives.  A failing script
    raises as migrate_to would."""
    conn = connect(database, target=None, module=module)
    try:
        if target is not None and fixture_available():
            _keep_loaded(module)
        if target is not None:
            if not (fixture_available() and _fixture(conn, target)):
                migrate(conn, target)
    except BaseException:
        conn.close()
        raise
    return conn


_KEEPERS = {}


def _keep_loaded(module):
    """Keep one idle connection with the module loaded for the rest of the
    process.  SQLite unloads an extension when the last connection that
    loaded it closes, and the templates go with it: a test suite that
    closes each test's database would otherwise build the template again
    in every test."""
    path = module or find_module()
    if path not in _KEEPERS:
        _KEEPERS[path] = load(sqlite3.connect(":memory:",
                                              check_same_thread=False), path)


def _fixture(conn, target):
    """SELECT migrate_fixture(target) on conn: True when it copied, False
    when it refused and advised migrate_to (nothing changed then)."""
    try:
        conn.execute("SELECT migrate_fixture(?)", (target,)).fetchone()
    except sqlite3.OperationalError as e:
        if "use migrate_to(" in str(e).lower():
            return False
        raise
    return True
