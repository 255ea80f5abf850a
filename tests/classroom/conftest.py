"""The classroom tests' fixtures: a clock they move, and a Classroom on each database (SQLite, PostgreSQL)."""

from __future__ import annotations

import pytest

from tests.classroom.helpers import Clock, classroom


@pytest.fixture()
def clock() -> Clock:
    """A clock the test moves by hand."""
    return Clock()


@pytest.fixture()
def room(classroom_url, clock):
    """A Classroom with the default limits on the database of ``classroom_url``, closed after the test."""
    service = classroom(classroom_url, clock)
    yield service
    service.store.close()
