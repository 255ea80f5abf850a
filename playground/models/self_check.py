"""A fast path checks itself, on the machine it runs on, against the computation it stands in for.

A fast path (a weight kept in a kernel library's layout, a quantized product) promises the
results of a reference: exactly, or within a tolerance it declares. The kernels behind it
are chosen by the CPU's instruction set and by the shape of each problem, so a promise that
holds on one machine can fail on another. :func:`check_fast_path` runs both on probe inputs
at start-up, grouped by the kind of input the caller will route (a number of rows, say),
keeps the kinds on which the fast path kept its promise, and says in one log line which
kinds go to the reference instead, and why. The caller then routes only those kinds through
the fast path.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import TypeVar

import torch

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)

Product = Callable[[torch.Tensor], torch.Tensor]
_REASONS = 3  # the log line gives the reasons of the first few failed keys

Compare = Callable[[torch.Tensor, torch.Tensor], "str | None"]  # (fast, reference) -> why they differ, or None


def exactly(fast: torch.Tensor, reference: torch.Tensor) -> str | None:
    """None when ``fast`` is ``reference`` output for output (NaN where it has NaN); otherwise how many differ."""
    if fast.shape != reference.shape or fast.dtype != reference.dtype:
        return f"{tuple(fast.shape)} {fast.dtype} instead of {tuple(reference.shape)} {reference.dtype}"
    differ = fast != reference
    if fast.is_floating_point():
        differ &= ~(fast.isnan() & reference.isnan())  # a NaN where the reference has one is the same output
    count = int(differ.sum())
    return f"{count} of {reference.numel()} outputs differ" if count else None


def check_fast_path(
    name: str,
    fast: Product,
    reference: Product,
    cases: Mapping[K, Sequence[torch.Tensor]],
    compare: Compare = exactly,
    fallback: str = "the reference",
    label: Callable[[K], str] = str,
) -> frozenset[K]:
    """The keys of ``cases`` on whose every input ``fast`` computes what ``reference`` does.

    ``compare(fast_output, reference_output)`` answers None when they agree (by default,
    bit for bit; a fast path with a declared tolerance passes its own) and otherwise why
    not. A fast path that raises on an input (an instruction it lacks) fails that key. When
    some key fails, one log line names ``name``, each failed key (``label(key)``) with its
    first reason, and ``fallback``, what the caller uses for them instead.
    """
    passed: set[K] = set()
    failed: dict[K, str] = {}
    with torch.inference_mode():
        for key, inputs in cases.items():
            why = next(filter(None, (_difference(fast, reference, x, compare) for x in inputs)), None)
            if why is None:
                passed.add(key)
            else:
                failed[key] = why
    if failed:
        keys = ", ".join(label(key) for key in failed)
        reasons = "; ".join(f"{label(key)}: {why}" for key, why in list(failed.items())[:_REASONS])
        more = f"; and {len(failed) - _REASONS} more" if len(failed) > _REASONS else ""
        log.info("%s: %s go through %s, not the fast path (%s%s)", name, keys, fallback, reasons, more)
    return frozenset(passed)


def _difference(fast: Product, reference: Product, x: torch.Tensor, compare: Compare) -> str | None:
    expected = reference(x)
    try:
        got = fast(x)
    except RuntimeError as error:  # a kernel this machine cannot run
        return f"the fast path failed: {error}"
    return compare(got, expected)
