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
