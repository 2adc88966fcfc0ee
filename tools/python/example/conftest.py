"""A pytest fixture that hands each test a fresh database at head.

sqlite_migrate comes from `make install`, or from the source tree:

    PYTHONPATH=/path/to/sqlite-migrate/tools/python python3 -m pytest
"""
import pytest

import sqlite_migrate


@pytest.fixture
def db():
    conn = sqlite_migrate.fresh_database("head")
    yield conn
    conn.close()
