"""Bounded state: 1,000 fresh sessions, then the app's memory once they are forgotten.

    nice -n 10 python -m bench.sessions                        # the shipped registry, 1,000 sessions
    nice -n 10 python -m bench.sessions --registry R.yaml --sessions 1000 --json out.json

Starts ``python app.py`` (offline) with ``limits.session_ttl_s`` shortened to ``--ttl``
seconds, and opens ``--sessions`` fresh sessions the way a page does: each joins the page's
load events that run on the server with a new session hash and reads its event stream to
the end; with ``--apply language`` each also applies a language (a page not in English:
the examples table's headers), with ``--apply link`` a link (a page with a query: the event
that fills the lab and the tabs). The guard forgets the sessions
unused for the TTL. Resident memory (``/proc/<pid>/status``) is read after a warm-up
(a first round of sessions, forgotten), after the sessions, and once they are forgotten;
the target is the last within 5 % of the first.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"

import httpx

from bench.server import Server, registry_copy
from playground.models.registry import DEFAULT_REGISTRY_PATH

log = logging.getLogger("sessions")
TARGET = 0.05


def rss_mb(pid: int) -> float:
    """Resident memory of a process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def page_events(url: str, apply: str = "") -> list[int]:
    """The fn_index of each event a page runs on the server when it opens.

    ``apply``: "" for a plain English page (the page flag only), "language" for a page in
    another language (its table's headers too), "link" for a page opened from a link.
    """
    config = httpx.get(url + "config", timeout=60).json()  # as the sessions' requests
    ids = {c["id"]: c.get("props", {}).get("elem_id") for c in config["components"]}
    first = {d["id"]: list(d["targets"][0]) if d["targets"] else None for d in config["dependencies"]}  # trigger
    events = [d["id"] for d in config["dependencies"] if d["backend_fn"] and (first[d["id"]] or [0, ""])[1] == "load"]
    if apply:
        trigger = next(i for i, elem_id in ids.items() if elem_id == f"pg-{apply}")  # the page script's trigger
        events += [event for event, target in first.items() if target == [trigger, "change"]]
    return events


def open_sessions(url: str, fns: list[int], count: int) -> None:
    """``count`` fresh sessions, each running the events ``fns`` and reading each stream to the end."""
    with httpx.Client(timeout=60) as http:
        for _ in range(count):
            session = uuid.uuid4().hex
            for fn in fns:
                body = {"data": [], "fn_index": fn, "session_hash": session}
                joined = http.post(url + "gradio_api/queue/join", json=body)
                joined.raise_for_status()
                with http.stream("GET", url + f"gradio_api/queue/data?session_hash={session}") as stream:
                    for line in stream.iter_lines():
                        if '"close_stream"' in line or '"process_completed"' in line:
                            break


def forgotten(ttl: float) -> None:
    """Wait for the TTL and a sweep or two."""
    time.sleep(ttl * 1.5 + 2)


def main(argv: list[str] | None = None) -> int:
    """Run it; print the figures; 0 when the target holds."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--registry", type=Path, default=DEFAULT_REGISTRY_PATH)
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--ttl", type=float, default=8.0, help="limits.session_ttl_s of the app under test")
    parser.add_argument(
        "--apply", choices=["", "language", "link"], default="", help="what each page applies (default: nothing)"
    )
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    folder = Path(tempfile.mkdtemp(prefix="sessions-"))
    registry = registry_copy(folder, "sessions", args.registry, session_ttl_s=args.ttl)
    server = Server("sessions", registry, folder)
    try:
        server.wait_ready()
        fns = page_events(server.url, args.apply)
        open_sessions(server.url, fns, 200)  # warm-up: every code path once, then forgotten
        forgotten(args.ttl)
        start = rss_mb(server.pid)
        began = time.monotonic()
        open_sessions(server.url, fns, args.sessions)
        took = time.monotonic() - began
        peak = rss_mb(server.pid)
        forgotten(args.ttl)
        end = rss_mb(server.pid)
        swept = server.log.read_text().count("forgot ")
    finally:
        server.stop()
    report = {
        "sessions": args.sessions,
        "apply": args.apply,
        "rss_mb": {"start": round(start, 1), "after_sessions": round(peak, 1), "forgotten": round(end, 1)},
        "growth": (end - start) / start,
        "seconds_to_open": round(took, 1),
        "sweeps": swept,
    }
    report["passed"] = report["growth"] <= TARGET
    print(
        f"{args.sessions} sessions{f' applying a {args.apply}' if args.apply else ''} in {took:.0f} s: "
        f"RSS {start:.0f} MiB at start, {peak:.0f} MiB after them, "
        f"{end:.0f} MiB once forgotten ({100 * report['growth']:+.1f} %, target <= {100 * TARGET:g} %)"
    )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2), encoding="utf-8")
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
