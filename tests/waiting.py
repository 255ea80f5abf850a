"""Waiting on a condition, with a deadline: the tests' one way to wait for something another process does.

A test never sleeps hoping something happened; it names what it waits for, polls it, and
fails with that name (and what it last saw) when the deadline passes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# Upper bounds, never measured times: on a shared machine with every core busy, a wait that takes
# a second when quiet can take a minute. Reached only when something is broken.
WAIT_S = 300.0  # a wait that should end soon
START_S = 600.0  # a server process to start (its imports, its models)
WAIT_MS = int(WAIT_S * 1000)  # the same, for Playwright's waits
REQUEST_LIMIT_S = 3600.0  # the time limit of the tests' requests (a test of the limit sets its own)


def wait_until(predicate: Callable[[], T], what: str, timeout: float = WAIT_S, every: float = 0.1) -> T:
    """Poll ``predicate`` until it returns something truthy, and return that.

    ``what`` names the awaited condition (say, "the request cancelled in the server"); after
    ``timeout`` seconds an AssertionError says it never happened.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"waited {timeout:g} s for {what}; it never happened (last: {value!r})")
        time.sleep(every)
