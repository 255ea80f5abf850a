"""Streaming throughput of the engine against bare ``model.generate``, in the same run.

    python -m bench.engine_throughput                 # the registry's default model (SmolLM2)
    python -m bench.engine_throughput --tokens 256 --rounds 7

Both sides decode greedily the same prompt on the same loaded model, alternating rounds so
that machine noise hits both alike; the engine's run includes everything a user gets
(incremental detokenization, stop-string scanning, per-step cancel and time checks).
Prints median tokens/s of each and their ratio (target: engine / generate >= 0.95).
"""

from __future__ import annotations

import logging
import os
import statistics
import sys
import time

from playground.network import configure_hub_access

configure_hub_access()

import torch  # noqa: E402

from bench.alternating_rounds import model_arguments  # noqa: E402
from playground.engine import Engine  # noqa: E402
from playground.models.registry import load_registry  # noqa: E402
from playground.models.thread_pools import in_own_thread  # noqa: E402
from playground.serving.batching import Batcher  # noqa: E402

log = logging.getLogger("bench")
PROMPT = "Once upon a time, in a small village by the sea, there lived an old fisherman who"


def bare_generate(loaded, prompt_ids: list[int], n: int, after: Batcher | None = None) -> tuple[int, float]:
    """Tokens generated and seconds taken by model.generate (greedy, exactly n tokens).

    On a thread of its own that exits, once the engine's worker (``after``) has exited too
    (a second after its last step): a thread that computed keeps an OpenMP pool, and two
    pools slow both sides (``playground/models/thread_pools.py``).
    """
    if after is not None:
        after.join(30)
    return in_own_thread(_generate, loaded, prompt_ids, n)


def _generate(loaded, prompt_ids: list[int], n: int) -> tuple[int, float]:
    ids = torch.tensor([prompt_ids], device=loaded.device)
    start = time.perf_counter()
    with torch.inference_mode():
        out = loaded.model.generate(
            input_ids=ids,
            attention_mask=torch.ones_like(ids),
            max_new_tokens=n,
            min_new_tokens=n,
            do_sample=False,
            pad_token_id=loaded.tokenizer.eos_token_id,
        )
    return out.shape[1] - ids.shape[1], time.perf_counter() - start


def engine_stream(engine: Engine, model: str, n: int) -> tuple[int, float]:
    """Tokens streamed and seconds taken by the engine, consuming every piece."""
    start = time.perf_counter()
    stream = engine.stream(model, PROMPT, {"temperature": 0, "max_new_tokens": n, "repetition_penalty": 1.0})
    for _ in stream:
        pass
    return stream.result.completion_tokens, time.perf_counter() - start


def main() -> int:
    """Run the benchmark and print its table."""
    parser = model_arguments(__doc__, tokens=128, rounds=5)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    registry = load_registry(args.registry)
    model = args.model or registry.default_model
    engine = Engine(registry)
    loaded = engine.cache.get(model)
    prompt_ids = engine.encode(loaded, PROMPT, use_prompt_style=False)

    engine_stream(engine, model, 8)  # warm-up
    bare_generate(loaded, prompt_ids, 8, after=engine.local.batcher(model))
    rates: dict[str, list[float]] = {"model.generate": [], "engine.stream": []}
    counts: dict[str, list[int]] = {"model.generate": [], "engine.stream": []}
    worker = engine.local.batcher(model)
    for _ in range(args.rounds):
        for name, run in (
            ("model.generate", lambda: bare_generate(loaded, prompt_ids, args.tokens, after=worker)),
            ("engine.stream", lambda: engine_stream(engine, model, args.tokens)),
        ):
            n, seconds = run()
            rates[name].append(n / seconds)
            counts[name].append(n)

    base, ours = statistics.median(rates["model.generate"]), statistics.median(rates["engine.stream"])
    print(f"model: {model} ({loaded.source}); device: {loaded.device}; torch threads: {torch.get_num_threads()}")
    print(f"prompt: {len(prompt_ids)} tokens; {args.tokens} new tokens; {args.rounds} rounds, alternating")
    print(f"{'':16} {'median tok/s':>12} {'min':>8} {'max':>8} {'tokens':>8}")
    for name in rates:
        r = rates[name]
        print(
            f"{name:16} {statistics.median(r):12.2f} {min(r):8.2f} {max(r):8.2f} {statistics.median(counts[name]):8.0f}"
        )
    print(f"ratio engine.stream / model.generate: {ours / base:.3f} (target >= 0.95)")
    if set(counts["engine.stream"]) != {args.tokens}:
        print("note: the engine stopped early (end of sequence) in some rounds; rates stay comparable")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    sys.exit(main())
