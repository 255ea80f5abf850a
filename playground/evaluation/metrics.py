"""Load the project's ``evaluate`` modules from ``metrics/`` (never from the Hub)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

METRICS_DIR = Path(__file__).with_name("metrics")
METRICS = ("perplexity", "next_token_accuracy", "chrf")


@cache
def load_metric(name: str) -> Any:
    """The ``evaluate`` module ``name``, loaded from the project's metrics folder."""
    if name not in METRICS:
        raise ValueError(f"metric: {name!r} is not one of {', '.join(METRICS)}")
    import evaluate

    return evaluate.load(str(METRICS_DIR / name))
