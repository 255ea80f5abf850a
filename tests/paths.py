"""Where the tests find the project and their fixtures, wherever a test file sits under tests/."""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parent  # tests/
ROOT = TESTS.parent  # the project's root (app.py, playground/, bench/)
FIXTURES = TESTS / "fixtures"  # small excerpts of real files (books, Tatoeba, Alpaca)
