"""Torch work outside the batchers runs on a thread that exits (``playground/models/thread_pools.py``).

OpenMP keeps a pool of threads for each thread that computes with torch; more pooled threads
than CPUs make every parallel region of the batcher's decode steps wait for sleeping
threads. A model is therefore loaded on a thread of its own, which exits.
"""

from __future__ import annotations

import threading

import pytest

from playground.errors import UnknownModelError
from playground.models.loader import ModelCache
from playground.models.thread_pools import in_own_thread


def test_the_call_runs_on_another_thread_that_has_exited_and_hands_back_its_result():
    seen = []

    def work(a: int, b: int = 0) -> int:
        seen.append(threading.current_thread())
        return a + b

    assert in_own_thread(work, 2, b=3) == 5
    assert seen[0] is not threading.current_thread() and not seen[0].is_alive()


def test_its_exception_is_raised_in_the_caller():
    def fail() -> None:
        raise KeyError("no such thing")

    with pytest.raises(KeyError, match="no such thing"):
        in_own_thread(fail)


def test_a_model_loads_on_a_thread_of_its_own_and_errors_still_reach_the_caller(tiny_hub, monkeypatch):
    cache = ModelCache(tiny_hub.registry())
    loading_threads = []
    load = ModelCache._load

    def spy(self, spec, progress):
        loading_threads.append(threading.current_thread())
        return load(self, spec, progress)

    monkeypatch.setattr(ModelCache, "_load", spy)
    loaded = cache.get("tiny")
    assert loaded.model is not None and cache.get("tiny") is loaded  # loaded once
    assert len(loading_threads) == 1
    assert loading_threads[0] is not threading.current_thread() and not loading_threads[0].is_alive()
    with pytest.raises(UnknownModelError):
        cache.get("no-such-model")
