"""Torch work outside the batchers runs on a thread of its own that then exits (OpenMP's thread pools).

torch's CPU kernels run their parallel parts on OpenMP (GNU libgomp in the PyPI wheels).
Each thread that starts a parallel region gets a pool of OpenMP threads of its own, kept
until that thread exits. When the pools of a process hold more threads than there are
CPUs, libgomp stops letting its idle threads spin (100 spins, then sleep), so every
parallel region then pays for waking them: a small product can take several times as
long, and a decode step runs hundreds of them. A model loaded on the main thread would keep
a pool for the life of the process, and every decode step on the batcher's own thread would
pay those wake-ups.

So a batcher's worker (one per loaded model, ``playground.serving.batching``) is where a process
computes: generation, inspection and scoring are its jobs, and it exits after a second
without work (two models' idle workers would keep two pools). Everything else that
computes with torch, loading a model first, runs through :func:`in_own_thread`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def in_own_thread(fn: Callable[..., T], *args: Any, name: str = "playground-compute", **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` on a new thread, waited for: its result, or its exception raised here.

    The thread exits when ``fn`` returns, and the OpenMP pool its torch work started leaves
    with it.
    """
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = fn(*args, **kwargs)
        except BaseException as exc:  # handed to the caller, whatever it is
            outcome["error"] = exc

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]
