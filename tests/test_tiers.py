"""The test tiers (unit, app, browser) cover every test file exactly once, and name no file that is gone."""

from __future__ import annotations

from collections import Counter

from tests.conftest import TIERS
from tests.paths import TESTS


def test_every_test_file_is_in_exactly_one_tier():
    files = {path.relative_to(TESTS).as_posix() for path in TESTS.rglob("test_*.py")}
    listed = Counter(name for names in TIERS.values() for name in names)
    assert sorted(files - set(listed)) == []  # a new file: add it to TIERS in tests/conftest.py
    assert sorted(name for name, count in listed.items() if count > 1) == []
    assert sorted(set(listed) - files) == []  # a file renamed or removed: its entry goes too
