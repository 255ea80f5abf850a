"""Generation throughput with the per-token record on vs off, in the same run.

    python -m bench.token_record                      # SmolLM2, 64 tokens, 3 rounds, 1 and 8 at once
    python -m bench.token_record --tokens 128 --rounds 5 --users 8

The record (each token's raw and sampled probability and its alternatives, see
playground/serving/token_record.py) is computed by the batcher's worker from the logits it already
has. Each round runs, alternating so that machine noise hits both alike: one stream with the
record off, then on; then ``--users`` concurrent streams (one batch) off, then on. Sampling
settings (temperature 0.8, top-k 50, top-p 0.95, seeded) so the sampled distribution is
really computed. Prints median tokens per second (wall clock, and per CPU second of this
process, which other jobs on a shared machine do not inflate), the ratios (target: on / off
>= 0.9), and whether the texts were identical with and without the record.
"""

from __future__ import annotations

import os
import statistics
import sys
import time

from playground.network import configure_hub_access

configure_hub_access()

import torch  # noqa: E402

from bench.alternating_rounds import model_arguments  # noqa: E402
from playground.engine import Engine  # noqa: E402
from playground.models.loader import ModelCache  # noqa: E402
from playground.models.registry import load_registry  # noqa: E402

PROMPTS = [
    "Once upon a time, in a small village by the sea, there lived an old fisherman who",
    "The history of the bicycle begins in the early nineteenth century, when",
    "In the mountains of the north, the winter was long and",
    "My grandmother always told me that the secret of a good soup was",
]


def run(engine: Engine, model: str, users: int, tokens: int, record: bool) -> tuple[float, float, list[str]]:
    """Aggregate tokens per wall-clock second and per CPU second of ``users`` concurrent streams, and their texts.

    CPU seconds are this process's (all threads): on a machine shared with other jobs they
    measure the work the record adds, whatever else runs.
    """
    settings = {"temperature": 0.8, "top_k": 50, "top_p": 0.95, "max_new_tokens": tokens, "repetition_penalty": 1.0}
    start, cpu = time.perf_counter(), time.process_time()
    streams = [
        engine.stream(model, PROMPTS[i % len(PROMPTS)], {**settings, "seed": i}, record_tokens=record)
        for i in range(users)
    ]
    texts = [stream.text() for stream in streams]  # the batcher decodes them together; read in turn
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    done = sum(s.result.completion_tokens for s in streams)
    return done / seconds, done / cpu_seconds, texts


def main() -> int:
    """Run the benchmark and print its table."""
    parser = model_arguments(__doc__, tokens=64, rounds=3)
    parser.add_argument("--users", type=int, default=8, help="concurrent streams in the batched case")
    parser.add_argument("--device", default=None, help="where the weights go (default: CPU), e.g. cuda")
    args = parser.parse_args()

    registry = load_registry(args.registry)
    model = args.model or registry.default_model
    engine = Engine(registry, ModelCache(registry, device=args.device))
    loaded = engine.cache.get(model)
    run(engine, model, 1, 8, True)  # warm-up
    cases = [(1, False), (1, True), (args.users, False), (args.users, True)]
    rates: dict[tuple[int, bool], list[float]] = {case: [] for case in cases}
    cpu_rates: dict[tuple[int, bool], list[float]] = {case: [] for case in cases}
    texts: dict[tuple[int, bool], list[str]] = {}
    for _ in range(args.rounds):
        for users, record in cases:
            rate, cpu_rate, texts[users, record] = run(engine, model, users, args.tokens, record)
            rates[users, record].append(rate)
            cpu_rates[users, record].append(cpu_rate)

    print(f"model: {model} ({loaded.source}); device: {loaded.device}; torch threads: {torch.get_num_threads()}")
    print(f"{args.tokens} new tokens per stream, sampled (seeded); {args.rounds} rounds, alternating")
    print(f"{'':24} {'median tok/s':>12} {'min':>8} {'max':>8} {'tok/CPU-s':>10}")
    for (users, record), r in rates.items():
        name = f"{users} stream(s), record {'on' if record else 'off'}"
        cpu = statistics.median(cpu_rates[users, record])
        print(f"{name:24} {statistics.median(r):12.2f} {min(r):8.2f} {max(r):8.2f} {cpu:10.2f}")
    for users in (1, args.users):
        ratio = statistics.median(rates[users, True]) / statistics.median(rates[users, False])
        cpu_ratio = statistics.median(cpu_rates[users, True]) / statistics.median(cpu_rates[users, False])
        same = texts[users, True] == texts[users, False]
        print(
            f"ratio record on / off, {users} stream(s): {ratio:.3f} wall-clock, {cpu_ratio:.3f} per CPU second "
            f"(target >= 0.9); texts identical: {same}"
        )
    engine.close(wait_s=60)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    sys.exit(main())
