"""Tests of an application that uses the example history, through the db
fixture of conftest.py (python3 -m pytest, from any directory).  pytest runs
them in file order: the seeded rows deleted by the first are back in the
second's fresh database."""
import sqlite3

import pytest


def test_at_head(db):
    assert db.execute("SELECT revision FROM migrations WHERE is_current"
                      ).fetchall() == [("f05c3b8d2e76",)]


def test_deleting_here_leaves_the_next_test_alone(db):
    db.execute("DELETE FROM user_preferences")
    assert db.execute("SELECT count(*) FROM user_preferences").fetchone() == (0,)


def test_system_preferences_are_seeded(db):
    rows = db.execute(
        "SELECT preference_key, preference_value FROM user_preferences "
        "WHERE user_id = '__system__' ORDER BY 1").fetchall()
    assert rows[0] == ("history_retention_days", "90")


def test_archived_is_checked(db):
    db.execute("INSERT INTO contexts (id, name) VALUES ('c1', 'work')")
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO conversations (id, context_id, archived) "
                   "VALUES ('v1', 'c1', 2)")
