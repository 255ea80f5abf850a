"""Batched decoding at the engine level (no server): concurrent vs one-at-a-time, mixed adapters.

    python -m bench.engine_batching                   # SmolLM2, 8 requests of 64 tokens, 3 rounds
    python -m bench.engine_batching --users 8 --tokens 96 --rounds 5

Each round runs, on the same loaded model and alternating so that machine noise hits all
alike: the same N greedy requests one after another, then all N submitted at once (each row
of the batch on the base), then N at once with mixed adapters (base, george-sand, alpaca in
turn), then N at once all on one adapter. Prints median aggregate tokens/s and wall times,
the ratios, and whether the concurrent outputs are token-identical to the sequential ones.
For the server-level numbers, see ``bench/classroom.py`` (``docs/benchmarks.md``).
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import time

from playground.network import configure_hub_access

configure_hub_access()

from playground.engine import Engine  # noqa: E402
from playground.models.registry import DEFAULT_REGISTRY_PATH, load_registry  # noqa: E402

PROMPTS = [
    "Once upon a time, in a small village by the sea, there lived an old fisherman who",
    "The history of the bicycle begins in the early nineteenth century, when",
    "Here is a long story about a cat and a dog who became friends. It starts on a rainy morning when",
    "In the mountains of the north, the winter was long and",
    "My grandmother always told me that the secret of a good soup was",
    "The train left the station at dawn, and the passengers",
    "When the first settlers arrived on the island, they found",
    "The old library on the corner of the street had been closed for years, but",
]


def settings(tokens: int) -> dict:
    """Greedy, no penalty: a fixed amount of decoding work per request."""
    return {"temperature": 0, "max_new_tokens": tokens, "repetition_penalty": 1.0}


def one_at_a_time(engine: Engine, model: str, prompts: list[str], tokens: int) -> tuple[list, float]:
    """Each request to the end before the next; (token ids of each, seconds)."""
    start = time.perf_counter()
    results = [engine.generate(model, p, settings(tokens)) for p in prompts]
    return [r.token_ids for r in results], time.perf_counter() - start


def all_at_once(
    engine: Engine, model: str, prompts: list[str], tokens: int, adapters: list[str | None]
) -> tuple[list, float]:
    """All requests submitted together, then drained; (token ids of each, seconds)."""
    start = time.perf_counter()
    streams = [engine.stream(model, p, settings(tokens), adapter=a) for p, a in zip(prompts, adapters, strict=True)]
    for stream in streams:
        stream.text()
    return [s.result.token_ids for s in streams], time.perf_counter() - start


def main() -> int:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--registry", default=str(DEFAULT_REGISTRY_PATH))
    parser.add_argument("--model", default=None, help="registry model name (default: the registry's default)")
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    registry = load_registry(args.registry)
    model = args.model or registry.default_model
    engine = Engine(registry)
    loaded = engine.cache.get(model)
    adapters = list(loaded.adapters)
    prompts = list(itertools.islice(itertools.cycle(PROMPTS), args.users))
    mixed = [([None, *adapters])[i % (len(adapters) + 1)] for i in range(args.users)]
    same = [adapters[0] if adapters else None] * args.users
    all_at_once(engine, model, prompts[:2], 4, [None, None])  # warm-up

    times: dict[str, list[float]] = {"one at a time": [], "all at once": [], "mixed adapters": [], "same adapter": []}
    tokens: dict[str, int] = {}
    identical = True
    for _ in range(args.rounds):
        sequential, seconds = one_at_a_time(engine, model, prompts, args.tokens)
        times["one at a time"].append(seconds)
        tokens["one at a time"] = sum(map(len, sequential))
        batched, seconds = all_at_once(engine, model, prompts, args.tokens, [None] * args.users)
        times["all at once"].append(seconds)
        tokens["all at once"] = sum(map(len, batched))
        identical &= batched == sequential
        for name, rows in (("mixed adapters", mixed), ("same adapter", same)):
            ids, seconds = all_at_once(engine, model, prompts, args.tokens, rows)
            times[name].append(seconds)
            tokens[name] = sum(map(len, ids))
    engine.close(wait_s=10)

    print(f"model: {model} ({loaded.source}); {args.users} requests x {args.tokens} tokens; {args.rounds} rounds")
    print(f"mixed rows: {[a or 'base' for a in mixed]}; same-adapter rows: {same[0]}")
    print(f"{'':16} {'median s':>9} {'tokens':>7} {'tok/s':>8}")
    median = {name: statistics.median(t) for name, t in times.items()}
    for name, seconds in median.items():
        print(f"{name:16} {seconds:9.2f} {tokens[name]:7d} {tokens[name] / seconds:8.2f}")
    speedup = (tokens["all at once"] / median["all at once"]) / (tokens["one at a time"] / median["one at a time"])
    print(f"aggregate tokens/s, all at once / one at a time: {speedup:.2f}x (target >= 2.5)")
    print(f"time, mixed adapters / same adapter: {median['mixed adapters'] / median['same adapter']:.2f}x (<= 1.3)")
    print(f"greedy outputs of the batch token-identical to one at a time: {'yes' if identical else 'NO'}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    sys.exit(main())
