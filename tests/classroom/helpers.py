"""What the classroom tests share: the project's registry and presets, a clock they move, a run's link."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from playground.classroom.rooms import Classroom
from playground.classroom.storage import Store
from playground.lessons.deep_links import lab_link, pair_link
from playground.lessons.presets import load_presets
from playground.models.registry import load_registry
from tests.waiting import WAIT_S

REGISTRY = load_registry()
PRESETS = load_presets()
LESSON = "en-fr-translation"  # query "cheese", reference "fromage"


@dataclass
class Clock:
    """A clock a test moves by hand (seconds since the epoch)."""

    now: float = 1_750_000_000.0

    def __call__(self) -> float:
        return self.now


def lab_run_link(preset: str = LESSON, model: str = "gemma-3-270m", registry: Any = REGISTRY, **changes: Any) -> str:
    """The link the lab's Send (and Share) writes for ``preset`` as it opens, with ``changes`` to its fields."""
    p = PRESETS[preset]
    fields: dict[str, Any] = {
        "task": p.task, "examples": [[s.input, s.output] for s in p.examples], "query": p.query,
        "separator": p.separator, "settings": {"max_new_tokens": p.max_new_tokens, "stop": list(p.stop)},
    }  # fmt: skip
    fields.update(changes)
    return lab_link(registry, PRESETS, preset=preset, model=model, adapter=None, **fields)


def style_link(**settings: Any) -> str:
    """The link a George Sand run's Send writes."""
    return pair_link(REGISTRY, tab="style", adapter="george-sand", settings=settings)


def classroom(url: str, clock: Clock, **limits: Any) -> Classroom:
    """A Classroom over the database at ``url``, on ``clock``, with ``limits`` changed from the defaults.

    A lock waits up to ``WAIT_S``: on a loaded machine 30 writers at once can queue past the
    app's 5 s, and whether each write lands must not depend on the machine's speed.
    """
    from playground.classroom.limits import ClassroomLimits

    store = Store(url, busy_timeout_s=WAIT_S)
    return Classroom(store, REGISTRY, PRESETS, limits=ClassroomLimits(**limits), clock=clock)


def at_once(count: int, student: Callable[[int], None]) -> list[str]:
    """Run ``student(i)`` for i in range(count), each in its own thread, all released together; the failures."""
    start, failures = threading.Barrier(count), []

    def run(i: int) -> None:
        try:
            start.wait()
            student(i)
        except Exception as exc:  # every failure is reported to the test
            failures.append(f"student {i}: {exc!r}")

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return failures
