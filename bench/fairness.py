"""Fair under load: a normal visitor's answer alone vs during each heavy legal request.

    nice -n 10 python -m bench.fairness                 # the shipped registry (SmolLM2), 3 visits each
    nice -n 10 python -m bench.fairness --visits 5 --json fairness.json

Starts ``python app.py`` on a free loopback port, offline, with the shipped registry (its
limits as shipped, the time limit raised so nothing is cut short by a slow machine). A
"normal visitor" asks ``/generate`` for 8 greedy tokens; its time to first token (TTFT,
from submit to the first text) and its tokens/s (8 tokens over the whole answer) are
measured alone, then while each heavy legal request runs, in the same run:

- ``generate-100k``: ``/generate`` with a 100,000-character prompt (the limit) and 512 new tokens;
- ``lab-inspect``: ``/lab_inspect`` with the largest legal lab (16 examples, 8,000 characters);
- ``lab-run``: ``/lab_run`` with the same lab and 512 new tokens in each of its three panes;
- ``compare-x4``: four ``/compare`` at once on a 100,000-character text;
- ``shot-curve``: ``/shot_curve`` on the shipped EN->FR sentences (16 examples in the pool, 20
  tests), k = 0, 1, 2, 4, 8, 16, 5 draws each (520 answers), 64 new tokens each, no stop string;
- ``flood``: one client (one session, one address) sending 72 joins of ``/generate`` at 512
  tokens in a burst and never reading their results;
- ``flood-sessions``: the same from one address but each join in a session of its own (72
  sessions), so that no per-session share applies, only the address's.

For each heavy request, the normal visitor first asks ``--visits`` times alone (the
baseline of that scenario: the machine's load drifts, so every ratio compares measures
taken a minute apart), then the heavy request is started, given ``--settle`` seconds to
be under way, and the normal visitor asks ``--visits`` times in a row; medians compared. The
targets: TTFT during <= 3x alone (the slowest visit, not only the median), every
normal answer complete (8 tokens), and no normal request refused or failed during the
floods. The normal visitor and the heavy ones come from different client addresses
(``X-Forwarded-For``: the bench's client plays the one proxy ``PLAYGROUND_PROXY_HOPS=1`` trusts).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

os.environ["HF_HUB_OFFLINE"] = "1"

import httpx

from bench.server import Server, queue_data, registry_copy
from playground.models.registry import DEFAULT_REGISTRY_PATH, load_registry
from playground.ui.controls import DISTRIBUTION, settings_kwargs

log = logging.getLogger("fairness")

NORMAL_PROMPT = "Name three French painters."
NORMAL_ADDRESS = "198.51.100.10"
HEAVY_ADDRESS = "203.0.113.66"
TTFT_TARGET = 3.0
SCENARIOS = ("generate-100k", "lab-inspect", "lab-run", "compare-x4", "shot-curve", "flood", "flood-sessions")


def generate(model: str, prompt: str, tokens: int, use_prompt_style: bool = False) -> dict[str, Any]:
    """/generate's keyword arguments: the base model, greedy, ``tokens`` new tokens."""
    inputs = {"model": model, "adapter": "(base)", "prompt": prompt, "use_prompt_style": use_prompt_style}
    return {**inputs, **settings_kwargs(max_new_tokens=tokens)}


def client(url: str, address: str):
    """A gradio_client Client coming from ``address``."""
    from gradio_client import Client

    return Client(url, verbose=False, headers={"x-forwarded-for": address})


def normal_visit(url: str, model: str) -> dict:
    """One normal visit: /generate, 8 greedy tokens; its TTFT, tokens/s and token count."""
    job = client(url, NORMAL_ADDRESS).submit(**generate(model, NORMAL_PROMPT, 8, True), api_name="/generate")
    start = time.perf_counter()
    first = None
    details = ""
    for text, details in job:  # noqa: B007 (the last update's details are read below)
        if first is None and text:
            first = time.perf_counter()
    end = time.perf_counter()
    error = job.exception()
    count = re.search(r"(\d+) tokens", details or "")
    tokens = int(count.group(1)) if count else 0
    return {
        "ttft": (first or end) - start,
        "tokens_per_s": tokens / (end - start) if tokens else 0.0,
        "tokens": tokens,
        "error": None if error is None else f"{type(error).__name__}: {error}",
    }


def visits(url: str, model: str, n: int) -> dict:
    """``n`` normal visits in a row; medians, the slowest first token, and every failure."""
    runs = [normal_visit(url, model) for _ in range(n)]
    return {
        "ttft": statistics.median(r["ttft"] for r in runs),
        "ttft_max": max(r["ttft"] for r in runs),  # a median hides a first visit that waited
        "tokens_per_s": statistics.median(r["tokens_per_s"] for r in runs),
        "complete": all(r["tokens"] == 8 and r["error"] is None for r in runs),
        "errors": [r["error"] for r in runs if r["error"]],
    }


def shot_curve(model: str) -> dict:
    """/shot_curve's keyword arguments: the shipped EN->FR sentences, a large legal curve, 64 tokens an answer."""
    from playground.lessons.curve_sets import load_curve_sets
    from playground.lessons.presets import load_presets
    from playground.ui.shot_curve_section import CURVE_SETTINGS

    presets = load_presets()
    shipped = load_curve_sets(presets, limits=load_registry().limits)["en-fr-sentences"]
    preset = presets["en-fr-sentences"]
    return {
        "model": model, "adapter": "(base)", "task": preset.task, "separator": preset.separator,
        "pool": {"headers": ["input", "output"], "data": shipped.pool_rows()},
        "tests": {"headers": ["query", "reference"], "data": shipped.test_rows()},
        "shots": [0, 1, 2, 4, 8, 16], "orderings": 5, "seed": "0", "metric": "chrf", "view": "curve", "models": [],
        **settings_kwargs(names=CURVE_SETTINGS, max_new_tokens=64, stop=""),
    }  # fmt: skip


def lab(examples: int = 16, total: int = 8000) -> dict:
    """The largest legal lab: ``examples`` rows, ``total`` characters of task, examples and query."""
    cell = (total - 200) // (2 * examples)
    words = ("the sea otter floats on its back in the kelp " * (cell // 40 + 1))[:cell]
    return {
        "task": "Translate English to French:",
        "examples": {"headers": ["input", "output"], "data": [[words, words]] * examples},
        "query": "cheese",
        "separator": " => ",
    }


class Heavy:
    """A heavy legal request running in the background until :meth:`stop`."""

    def __init__(self, name: str, url: str, model: str) -> None:
        self.name, self.url, self.model = name, url, model
        self.jobs: list = []
        self.codes: list[int] = []
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        """Send the heavy request(s)."""
        c = client(self.url, HEAVY_ADDRESS)
        text = ("The sea otter floats on its back in the kelp forest. " * 2000)[:100_000]
        big = lab()
        if self.name == "generate-100k":
            self.jobs = [c.submit(**generate(self.model, text, 512), api_name="/generate")]
        elif self.name == "lab-inspect":
            setup = {"model": self.model, "adapter": "(base)", **big}
            distribution = settings_kwargs(names=DISTRIBUTION, temperature=1.0)
            self.jobs = [c.submit(**setup, **distribution, api_name="/lab_inspect")]
        elif self.name == "lab-run":
            setup = {"model": self.model, "adapter": "(base)", **big}
            self.jobs = [c.submit(**setup, **settings_kwargs(max_new_tokens=512), api_name="/lab_run")]
        elif self.name == "compare-x4":
            self.jobs = [
                client(self.url, HEAVY_ADDRESS).submit(
                    model_a=self.model, model_b=self.model, text=text, api_name="/compare"
                )
                for _ in range(4)
            ]
        elif self.name == "shot-curve":
            self.jobs = [c.submit(**shot_curve(self.model), api_name="/shot_curve")]
        elif self.name == "flood":
            self._flood(sessions=False)
        elif self.name == "flood-sessions":
            self._flood(sessions=True)

    def _flood(self, sessions: bool, joins: int = 72) -> None:
        data = list(generate(self.model, NORMAL_PROMPT, 512, True).values())  # raw HTTP: in the API's order
        fn, data = queue_data(self.url, "generate", data)
        headers = {"x-forwarded-for": HEAVY_ADDRESS}
        with httpx.Client() as http:
            for i in range(joins):
                body = {"data": data, "fn_index": fn, "session_hash": f"flood{i}" if sessions else "floodsession"}
                self.codes.append(http.post(self.url + "gradio_api/queue/join", json=body, headers=headers).status_code)

    def stop(self) -> None:
        """Cancel what still runs."""
        for job in self.jobs:
            job.cancel()


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print the table; 0 when every target holds."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--visits", type=int, default=3, help="normal visits per measure (medians)")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds a heavy request runs before measuring")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    parser.add_argument("--only", default=",".join(SCENARIOS), help="comma-separated scenarios to run")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    model = load_registry().default_model
    folder = Path(tempfile.mkdtemp(prefix="fairness-"))
    registry = registry_copy(folder, "fairness", DEFAULT_REGISTRY_PATH, time_limit_s=3600)
    server = Server("fairness", registry, folder)
    report: dict = {"model": model, "visits": args.visits, "scenarios": {}}
    try:
        server.wait_ready()
        normal_visit(server.url, model)  # warm-up
        for name in args.only.split(","):
            alone = visits(server.url, model, args.visits)
            log.info("alone: TTFT %.2f s, %.1f tokens/s", alone["ttft"], alone["tokens_per_s"])
            heavy = Heavy(name, server.url, model)
            heavy.start()
            time.sleep(args.settle)  # the heavy request is under way
            during = visits(server.url, model, args.visits)
            heavy.stop()
            again = visits(server.url, model, 1)  # the server is back to normal (and the heavy one gone)
            during.update(
                alone_ttft=alone["ttft"],
                alone_tokens_per_s=alone["tokens_per_s"],
                ttft_ratio=during["ttft"] / alone["ttft"],
                slowest_ratio=during["ttft_max"] / alone["ttft"],
                rate_ratio=during["tokens_per_s"] / alone["tokens_per_s"] if alone["tokens_per_s"] else 0.0,
                flood_codes=dict(sorted({str(c): heavy.codes.count(c) for c in set(heavy.codes)}.items())),
                after_ttft=again["ttft"],
            )
            report["scenarios"][name] = during
            log.info(
                "%-14s TTFT %.2f s (%.2fx alone; slowest %.2f s), %.1f tokens/s (%.2fx), complete: %s %s",
                name, during["ttft"], during["ttft_ratio"], during["ttft_max"], during["tokens_per_s"],
                during["rate_ratio"], during["complete"], during["flood_codes"] or "",
            )  # fmt: skip
            server_log = server.log.read_text()
            report["dropped_unheard"] = server_log.count("dropping event")
            time.sleep(args.settle)  # what was cancelled has left
    finally:
        server.stop()
    scenarios = report["scenarios"].values()
    report["passed"] = all(s["slowest_ratio"] <= TTFT_TARGET and s["complete"] for s in scenarios)
    print(table(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2), encoding="utf-8")
    return 0 if report["passed"] else 1


def table(report: dict) -> str:
    """The figures as a Markdown table."""
    lines = [
        f"normal visitor: /generate, 8 greedy tokens, {report['model']}; medians of {report['visits']} visits",
        "",
        "| during | TTFT alone | TTFT during | ratio | slowest TTFT | ratio "
        "| tokens/s alone | during | ratio | complete |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, s in report["scenarios"].items():
        extra = f" (joins: {s['flood_codes']})" if s["flood_codes"] else ""
        lines.append(
            f"| {name} | {s['alone_ttft']:.2f} s | {s['ttft']:.2f} s | {s['ttft_ratio']:.2f}x | "
            f"{s['ttft_max']:.2f} s | {s['slowest_ratio']:.2f}x | "
            f"{s['alone_tokens_per_s']:.1f} | {s['tokens_per_s']:.1f} | {s['rate_ratio']:.2f}x | "
            f"{'yes' if s['complete'] else 'NO'}{extra} |"
        )
    verdict = "met" if report["passed"] else "NOT met"
    lines += ["", f"target: TTFT <= {TTFT_TARGET:g}x alone (slowest visit), every answer complete: {verdict}"]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
