"""Serving a classroom: the real server under N users arriving at once, batched vs one at a time.

    python -m bench.classroom                                  # 8 users x 64 tokens, 3 rounds
    python -m bench.classroom --users 8 --tokens 64 --rounds 3 --single-tokens 128
    python -m bench.classroom --backend remote                 # the app on vLLM vs the app on its own engine

Starts ``python app.py`` twice on free loopback ports, offline, with the shipped registry
(SmolLM2-135M-Instruct and its george-sand and alpaca adapters): once as shipped
(``limits.max_batch_size`` 8) and once with ``max_batch_size: 1``, which serves one
generation at a time behind Gradio's queue (the behaviour before batching). Both get the
same Gradio queue (``app.py``). Requests go to ``/generate`` from visitors that read the
event streams as a browser does and cost the machine little (:mod:`bench.sse_visitor`):
greedy, no template, fixed prompts that do not end early (finish reasons are checked and
the real token counts used). Rounds are interleaved so that machine noise hits every
measure alike; medians are printed.

(a) aggregate tokens/s of N users at once vs the same N requests one after another, on the
    batching server (target >= 2.5);
(b) p95 time to first token of N users arriving at once: batching server vs the
    one-at-a-time server (target <= 0.3);
(c) wall time of a mixed batch (base, george-sand, alpaca in turn) vs the same batch all on
    george-sand (target <= 1.3);
(d) single-stream decode: bytes of the weights read per token / time per token, as a
    fraction of the machine's copy bandwidth measured in the same run (torch ``copy_``
    between two 512 MiB tensors: bytes read + bytes written, as STREAM counts copy).

``--backend remote`` measures something else: the app whose lesson model is served by a
vLLM server on the local machine (``playground/serving/vllm_server.py``, float32, CPU) against
the app serving it itself (batching), same run, interleaved rounds: aggregate tokens/s and
p95 time to first token of 1 and of N streams at once, and whether the greedy texts are
the same on both.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

os.environ["HF_HUB_OFFLINE"] = "1"  # the Hub is never needed: the bundled model and local adapters

import torch

from bench.app_clients import Run, copy_bandwidth, drive, generate_args, make_visitors, one_by_one, p95, weight_bytes
from bench.engine_batching import PROMPTS
from bench.server import Server, registry_copy
from playground.models.registry import DEFAULT_REGISTRY_PATH


def write_registry(folder: Path, name: str, **limits: int) -> Path:
    """The shipped registry with other limits.

    The time limit of a request is raised to an hour: on a busy machine the one-at-a-time
    server must not cut answers short, or the rates would compare different work.
    """
    return registry_copy(folder, name, DEFAULT_REGISTRY_PATH, time_limit_s=3600, **limits)


def wall(runs: list[Run]) -> float:
    """Seconds from the first submit to the last end."""
    return max(r.last for r in runs) - min(r.submitted for r in runs)


def batch_seconds(runs: list[Run], requests: list[dict[str, Any]]) -> float:
    """Wall time of a batch, scaled to the tokens asked for when some row ended early."""
    asked = sum(args["max_new_tokens"] for args in requests)
    return wall(runs) * asked / max(sum(r.tokens for r in runs), 1)


@dataclass
class Batches:
    """The requests of one round."""

    base: list[dict[str, Any]]  # N users, base model
    mixed: list[dict[str, Any]]  # N users, base / george-sand / alpaca in turn
    same: list[dict[str, Any]]  # N users, all george-sand
    single: list[dict[str, Any]]  # one user, a longer answer


def measure(fast, slow, batches: Batches, rounds: int, weights: int) -> tuple[dict[str, list[float]], list[str]]:
    """Interleaved rounds of every measure; per-round values (ratios paired within a round), problems seen."""
    m: dict[str, list[float]] = {k: [] for k in ("conc", "seq", "a", "ttft_b", "ttft_s", "b", "mixed", "same", "c")}
    m.update(tpt=[], bw=[], d=[])
    problems: set[str] = set()
    for r in range(rounds):
        together = drive(fast, batches.base)
        apart = one_by_one(fast, batches.base)
        queued = drive(slow, batches.base)
        mixed = [drive(fast, batches.mixed)]
        same = [drive(fast, batches.same), drive(fast, batches.same)]  # mixed, same, same, mixed: drift cancels
        mixed.append(drive(fast, batches.mixed))
        alone = drive(fast, batches.single)[0]
        m["conc"].append(sum(x.tokens for x in together) / wall(together))
        m["seq"].append(sum(x.tokens for x in apart) / wall(apart))
        m["a"].append(m["conc"][-1] / m["seq"][-1])
        m["ttft_b"].append(p95([x.first - x.submitted for x in together]))
        m["ttft_s"].append(p95([x.first - x.submitted for x in queued]))
        m["b"].append(m["ttft_b"][-1] / m["ttft_s"][-1])
        m["mixed"].append(statistics.mean(batch_seconds(runs, batches.mixed) for runs in mixed))
        m["same"].append(statistics.mean(batch_seconds(runs, batches.same) for runs in same))
        m["c"].append(m["mixed"][-1] / m["same"][-1])
        m["tpt"].append((alone.last - alone.first) / max(alone.tokens - 1, 1))
        m["bw"].append(copy_bandwidth())
        m["d"].append(weights / m["tpt"][-1] / m["bw"][-1])
        texts = [[x.text for x in runs] for runs in (together, apart, queued)]
        if not texts[0] == texts[1] == texts[2]:
            differ = sum(len({t[i] for t in texts}) > 1 for i in range(len(texts[0])))
            problems.add(f"greedy texts of {differ} of {len(texts[0])} users differ between batched and alone")
        every = [*together, *apart, *queued, *mixed[0], *mixed[1], *same[0], *same[1], alone]
        if not all(x.finished_by_length for x in every):
            problems.add("some requests ended before their token limit (rates use the real token counts)")
        print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1]:.3g}" for k, v in m.items() if k != "bw"), flush=True)
    return m, sorted(problems)


def measure_backends(local, remote, batches: dict[int, list[dict[str, Any]]], rounds: int) -> tuple[dict, list[str]]:
    """Interleaved rounds: each batch size on each backend; per-round tokens/s and p95 first-token times.

    ``local`` and ``remote``: a client (a session) per user of each app.
    """
    m: dict[tuple[str, int, str], list[float]] = {}
    problems: set[str] = set()
    for r in range(rounds):
        for n, batch in batches.items():
            runs = {name: drive(client, batch) for name, client in (("local", local), ("remote", remote))}
            for name, got in runs.items():
                m.setdefault((name, n, "rate"), []).append(sum(x.tokens for x in got) / wall(got))
                firsts = [x.first - x.submitted for x in got]
                m.setdefault((name, n, "ttft"), []).append(p95(firsts) if len(firsts) > 1 else firsts[0])
            if [x.text for x in runs["local"]] != [x.text for x in runs["remote"]]:
                problems.add(f"greedy texts differ between local and remote ({n} at once)")
            if not all(x.finished_by_length for got in runs.values() for x in got):
                problems.add("some requests ended before their token limit (rates use the real token counts)")
        print(f"round {r + 1}: " + ", ".join(f"{'/'.join(map(str, k))} {v[-1]:.3g}" for k, v in m.items()), flush=True)
    return m, sorted(problems)


def remote_main(args: argparse.Namespace, model: str, prompts: list[str]) -> int:
    """The app on vLLM vs the app on its own engine, 1 and ``args.users`` streams."""

    from playground.models.registry import load_registry
    from playground.serving.vllm_server import overlay, start_server

    batches = {n: [generate_args(model, p, None, args.tokens) for p in prompts[:n]] for n in sorted({1, args.users})}
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="classroom-remote-") as tmp:
        folder = Path(tmp)
        vllm = start_server(load_registry(), model, log_path=folder / "vllm.log")
        remote_file = folder / "vllm-overlay.yaml"  # not remote.yaml: write_registry(folder, "remote") writes that
        remote_file.write_text(yaml.safe_dump(overlay(vllm)), encoding="utf-8")
        local = Server("local", write_registry(folder, "local"), folder, args.threads)
        remote = Server(
            "remote", write_registry(folder, "remote"), folder, args.threads, {"PLAYGROUND_REMOTE": str(remote_file)}
        )
        try:
            local.wait_ready()
            remote.wait_ready()
            users = max(batches)  # a session per user (one client is one visitor's share of the rows)
            clients = [make_visitors(server.url, users) for server in (local, remote)]
            for group in clients:
                drive(group[:2], [generate_args(model, PROMPTS[0], None, 4)] * 2)  # warm-up
            m, problems = measure_backends(*clients, batches, args.rounds)
        finally:
            local.stop()
            remote.stop()
            vllm.stop()
    med = {k: statistics.median(v) for k, v in m.items()}
    print(f"\nmodel {model}; {args.tokens} tokens a stream; {args.rounds} rounds; medians")
    print(f"vLLM started in {vllm.started_s:.0f} s; machine: {os.cpu_count()} CPUs")
    print(f"load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after")
    print(f"problems: {'; '.join(problems) or 'none'}")
    for n in batches:
        rate = {name: med[(name, n, "rate")] for name in ("local", "remote")}
        ttft = {name: med[(name, n, "ttft")] for name in ("local", "remote")}
        ratio = rate["remote"] / rate["local"]
        print(f"{n} at once: {rate['remote']:.1f} tokens/s remote vs {rate['local']:.1f} local (ratio {ratio:.2f});")
        ratio = ttft["remote"] / ttft["local"]
        print(f"    p95 first token {ttft['remote']:.2f} s remote vs {ttft['local']:.2f} s local (ratio {ratio:.2f})")
    return 0


def verdict(value: float, ok: bool) -> str:
    """A ratio and whether its target is met."""
    return f"{value:.3g} ({'met' if ok else 'NOT met'})"


def main() -> int:
    """Run the benchmark and print the four ratios."""

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--tokens", type=int, default=64, help="new tokens per request of (a), (b), (c)")
    parser.add_argument("--single-tokens", type=int, default=128, help="new tokens of the single stream of (d)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch threads of the servers (default: torch's)")
    parser.add_argument("--backend", choices=["local", "remote"], default="local", help="remote: vLLM vs local")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    model = yaml.safe_load(DEFAULT_REGISTRY_PATH.read_text(encoding="utf-8"))["default_model"]
    prompts = [PROMPTS[i % len(PROMPTS)] for i in range(args.users)]
    if args.backend == "remote":
        return remote_main(args, model, prompts)
    cycle = [None, "george-sand", "alpaca"]
    batches = Batches(
        base=[generate_args(model, p, None, args.tokens) for p in prompts],
        mixed=[generate_args(model, p, cycle[i % 3], args.tokens) for i, p in enumerate(prompts)],
        same=[generate_args(model, p, "george-sand", args.tokens) for p in prompts],
        single=[generate_args(model, PROMPTS[0], None, args.single_tokens)],
    )
    weights, counted = weight_bytes(model)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="classroom-") as tmp:
        folder = Path(tmp)
        batching = Server("batching", write_registry(folder, "batching"), folder, args.threads)
        batching.wait_ready()  # the first start may dequantize the GGUF file; the second reuses it
        serial = Server(
            "one-at-a-time", write_registry(folder, "one-at-a-time", max_batch_size=1), folder, args.threads
        )
        try:
            serial.wait_ready()
            fast = make_visitors(batching.url, args.users)  # a session and an address per user
            slow = make_visitors(serial.url, args.users)
            for clients in (fast, slow):
                drive(clients[:2], [generate_args(model, PROMPTS[0], None, 4)] * 2)  # warm-up
            m, problems = measure(fast, slow, batches, args.rounds, weights)
        finally:
            batching.stop()
            serial.stop()

    load_after = os.getloadavg()[0]
    med = {k: statistics.median(v) for k, v in m.items()}
    a, b, c = med["a"], med["b"], med["c"]  # medians of the per-round ratios
    print(f"\nmodel {model}; {args.users} users x {args.tokens} tokens; {args.rounds} rounds; medians (ratios:")
    print("medians of the ratios of each round)")
    print(f"machine: {os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}; load average {load_before:.2f}")
    print(f"before, {load_after:.2f} after; problems: {'; '.join(problems) or 'none'}")
    print(f"(a) aggregate tokens/s: {med['conc']:.1f} with {args.users} at once vs {med['seq']:.1f} one after another")
    print(f"    ratio {verdict(a, a >= 2.5)}, target >= 2.5")
    print(f"(b) p95 time to first token: {med['ttft_b']:.2f} s batching vs {med['ttft_s']:.2f} s one at a time")
    print(f"    ratio {verdict(b, b <= 0.3)}, target <= 0.3")
    print(f"(c) batch of {args.users}: {med['mixed']:.2f} s mixed (base, george-sand, alpaca) vs {med['same']:.2f} s")
    print(f"    all george-sand (per {args.tokens} tokens a row); ratio {verdict(c, c <= 1.3)}, target <= 1.3")
    print(f"(d) single stream: {med['tpt'] * 1000:.1f} ms/token; weights {weights / 1e6:.1f} MB ({counted})")
    rate, bandwidth = weights / med["tpt"] / 1e9, med["bw"] / 1e9
    print(f"    {rate:.2f} GB/s of weights vs copy bandwidth {bandwidth:.2f} GB/s (read + write, median of the rounds)")
    print(f"    fraction of the bandwidth limit: {med['d']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
