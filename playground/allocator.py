"""The C allocator of a long-running server: keep the memory freed by one thread for the next.

Gradio runs each request in a worker thread of a pool that grows under load and lets idle
threads go; glibc's malloc gives new threads their own arenas (up to 8 per core) and keeps
what was freed there. A server that has seen a burst then holds more resident memory than
it uses (measured with ``bench/soak.py``: +12% after a minute of steady load on the tiny
models, bounded, but above the baseline; +4% with two arenas). :func:`limit_arenas` caps
the arenas, as ``MALLOC_ARENA_MAX`` does, for a process that cannot set its environment
before it starts (a Space runs ``python app.py``). :func:`release_memory` gives back what a
burst of forgotten objects left free (the guard calls it after forgetting sessions), and
:func:`trim` what a burst of work left free (a batcher's worker calls it when it goes idle:
about 60 MB of the lesson model's server after 8 visitors at once, ``bench/vs_llamacpp.py``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging

log = logging.getLogger(__name__)

M_ARENA_MAX = -8  # mallopt's parameter number, from glibc's <malloc.h>


def limit_arenas(arenas: int = 2) -> bool:
    """Cap glibc malloc's arenas at ``arenas``; False (and nothing changes) without glibc."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        done = bool(libc.mallopt(M_ARENA_MAX, arenas))
    except (OSError, AttributeError):  # not glibc (macOS, musl): its allocator behaves otherwise
        return False
    if done:
        log.info("malloc arenas limited to %d", arenas)
    return done


def release_memory() -> bool:
    """Collect unreachable cycles, then give glibc's free memory back to the system (``malloc_trim``).

    For a server that has just forgotten many objects at once (the guard's session sweep):
    without it their memory stays resident, free for Python but counted against the Space.
    False (after the collection) without glibc.
    """
    gc.collect()
    return trim()


def trim() -> bool:
    """Give glibc's free memory back to the system (``malloc_trim``); False without glibc.

    Cheap (no collection): freed pages of every arena are handed back, the heap's live
    objects stay where they are.
    """
    name = ctypes.util.find_library("c")
    try:
        return bool(ctypes.CDLL(name or "libc.so.6").malloc_trim(0))
    except (OSError, AttributeError):
        return False
