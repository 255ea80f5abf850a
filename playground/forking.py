"""A process forked from the server starts clean: its locks free, no worker of the parent's, torch on one thread.

On a ZeroGPU Space, ``@spaces.GPU`` runs each decorated call in a process forked from the
server (``multiprocessing.get_context('fork')`` in ``spaces/zero/wrappers.py``), while the
server goes on serving. A fork copies the memory of the process, not its threads:

- a lock that another thread held at that instant (a batcher's condition while a visitor
  submits, a model's ``forward_lock`` during a forward pass, the model cache's lock while
  it loads) stays held in the child for ever, and the child's first use of it waits for
  ever;
- the parent's worker threads do not run in the child, but the state they kept does: a
  batcher's rows and the requests waiting for it belong to the parent's visitors;
- GNU OpenMP (torch's CPU threads) keeps, per thread, a pool of threads that are gone in
  the child: a parallel region started by the thread that forked waits for them for ever.

So every object that holds such a thing says, once, how it starts again in a child
(:func:`renew_in_child`): new locks, no worker (the next request starts one), nothing of
the parent's batch. In a child, torch computes on one thread (the GPU computes on ZeroGPU),
and the int8 kernels do too (:func:`playground.models.jit.openmp_usable`). The behaviour on
ZeroGPU is described in ``docs/serving.md`` ("On ZeroGPU").
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

_renewals: list[tuple[weakref.ref, Callable[[Any], None]]] = []  # (owner, how it starts again in a child)


def renew_in_child(owner: T, renew: Callable[[T], None]) -> None:
    """Call ``renew(owner)`` in every process forked after this, as long as ``owner`` lives (held weakly)."""
    _renewals[:] = [(ref, fn) for ref, fn in _renewals if ref() is not None]  # the dead leave
    _renewals.append((weakref.ref(owner), renew))


def renewals() -> int:
    """How many live objects start again in a forked child."""
    return sum(1 for ref, _ in _renewals if ref() is not None)


def _one_torch_thread() -> None:
    """torch's CPU work on the calling thread only: GNU OpenMP's pools do not survive a fork."""
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)


def _numba_compiler_lock() -> None:
    """numba's global compiler lock, free (a parent's thread may have been compiling)."""
    lock = getattr(sys.modules.get("numba.core.compiler_lock"), "global_compiler_lock", None)
    if lock is not None and hasattr(lock, "_lock"):
        lock._lock = threading.RLock()


def _in_child() -> None:
    """Runs in the child, on the thread that forked, before anything else does."""
    _one_torch_thread()
    _numba_compiler_lock()
    for ref, renew in list(_renewals):
        owner = ref()
        if owner is not None:
            try:
                renew(owner)
            except Exception:  # one owner's failure must not leave the others held
                log.exception("renewing %s after a fork failed", type(owner).__name__)


os.register_at_fork(after_in_child=_in_child)
