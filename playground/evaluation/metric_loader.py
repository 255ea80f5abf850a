"""Load the project's ``evaluate`` modules from ``metrics/`` (never from the Hub).

An ``evaluate`` module instance gathers its inputs in a writer before it computes, so one
instance must never serve two computations at once: the app scores the requests of
several visitors in parallel threads. :func:`load_metric` therefore keeps one instance per
thread, with its inputs in memory (``keep_in_memory``): no Arrow cache file on disk that
two threads or two processes could write and memory-map at the same time.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

METRICS_DIR = Path(__file__).with_name("metrics")
METRICS = ("perplexity", "next_token_accuracy", "chrf")

_per_thread = threading.local()  # each thread's loaded modules, by name


def metric_info(description: str, inputs: str, features: dict[str, str], citation: str = "") -> Any:
    """The ``evaluate.MetricInfo`` of one of the project's metrics: ``features`` maps each input to its type."""
    import datasets
    import evaluate

    columns = datasets.Features({name: datasets.Value(kind) for name, kind in features.items()})
    return evaluate.MetricInfo(description=description, citation=citation, inputs_description=inputs, features=columns)


def load_metric(name: str) -> Any:
    """The ``evaluate`` module ``name`` for this thread, loaded from the project's metrics folder."""
    if name not in METRICS:
        raise ValueError(f"metric: {name!r} is not one of {', '.join(METRICS)}")
    loaded: dict[str, Any] = _per_thread.__dict__.setdefault("modules", {})
    if name not in loaded:
        import evaluate

        loaded[name] = evaluate.load(str(METRICS_DIR / name), keep_in_memory=True)
    return loaded[name]
