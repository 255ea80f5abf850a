"""The malloc arena cap of the server process."""

from __future__ import annotations

import subprocess
import sys


def test_limit_arenas_is_accepted_by_glibc():
    # Linux CI runs glibc: mallopt accepts the cap (it returns 1). In a child process, so this
    # test process keeps its own allocator settings.
    code = "from playground.allocator import limit_arenas; print(limit_arenas(2))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


TRIM_CHILD = """
import os
from playground.allocator import trim

def resident_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

blocks = [bytes(2000) for _ in range(100_000)]  # 200 MB from malloc (above Python's small-object sizes)
kept = blocks[::100]  # one in a hundred stays alive: the heap cannot shrink from its top by itself
del blocks
before = resident_mb()
done = trim()
print(done, round(before - resident_mb()))
"""


def test_trim_gives_freed_heap_pages_back_to_the_system():
    out = subprocess.run([sys.executable, "-c", TRIM_CHILD], capture_output=True, text=True, check=True)
    done, freed_mb = out.stdout.split()
    assert done == "True" and int(freed_mb) > 100, out.stdout
