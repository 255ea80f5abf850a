"""A short run of the load-and-soak script (``bench/soak.py``) against the real app on the tiny models.

The full run (50 visitors at once, then 5 minutes of steady load) is in
docs/benchmarks.md; this one keeps the burst of 50 and shortens the steady phase, so CI sees every
answer sorted (no failure other than the explicit busy answer), memory and threads back
where they were, and the server still answering.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from tests.paths import ROOT


@pytest.mark.soak
def test_a_burst_of_50_then_steady_load_fails_nothing_and_leaks_nothing(tiny_hub, tmp_path):
    registry = tmp_path / "registry.yaml"
    registry.write_text(yaml.safe_dump(tiny_hub.registry_dict()), encoding="utf-8")
    report_file = tmp_path / "report.json"
    command = [sys.executable, "-m", "bench.soak", "--registry", str(registry), "--json", str(report_file)]
    command += ["--burst", "50", "--clients", "6", "--steady-s", "10", "--think-s", "0.3", "--settle-s", "12"]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert report_file.exists(), run.stdout + run.stderr
    report = json.loads(report_file.read_text(encoding="utf-8"))
    assert report["failures"] == [], run.stdout
    assert sum(report["burst"].values()) == 50
    assert set(report["burst"]) <= {"ok", "cancelled", "refused", "busy"}
    assert report["burst"].get("ok", 0) > 0
    assert set(report["steady"]) <= {"ok", "cancelled", "refused", "busy"}
    assert report["steady"].get("ok", 0) >= 6  # every visitor was answered at least once
    assert report["memory_growth"] < 0.10, report["rss_mb"]
    threads = report["threads"]
    assert threads["after_soak"] <= max(threads["baseline"], threads["after_burst"]) + 2, threads
    assert report["last_request"] == "ok"
    assert run.returncode == 0 and report["passed"], run.stdout
