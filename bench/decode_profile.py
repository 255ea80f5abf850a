"""Where one decode step's time goes: a registry model's base, greedy, in fp32 and in bf16.

    python -m bench.decode_profile                          # the registry's default model
    python -m bench.decode_profile --model smollm2-135m-instruct --steps 32 --rows 10

For each dtype, the model prefills one French sentence, then decodes ``--steps`` greedy
tokens one at a time with its KV cache; the median step time is printed (the first four
steps are left out), then ``torch.profiler``'s table of the operators that took the most
time over eight steps. The ratio fp32 / bf16 is the speed-up bf16 weights would bring to a
single stream; the table says what else a step spends its time on. The model is
the base as the engine loads it (adapters loaded, the active one applied).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Any

from playground.network import configure_hub_access

configure_hub_access()

import torch  # noqa: E402

from playground.models.loader import ModelCache  # noqa: E402
from playground.models.registry import DEFAULT_REGISTRY_PATH, load_registry  # noqa: E402

PROMPT = "Cette femme était assise près de la fenêtre, et"


def decode(model: Any, ids: torch.Tensor, steps: int) -> list[float]:
    """Seconds of each greedy decode step after a prefill of ``ids``."""
    times = []
    with torch.inference_mode():
        out = model(ids, use_cache=True)
        past, token = out.past_key_values, out.logits[:, -1:].argmax(-1)
        for _ in range(steps):
            start = time.perf_counter()
            out = model(token, past_key_values=past, use_cache=True)
            past, token = out.past_key_values, out.logits[:, -1:].argmax(-1)
            times.append(time.perf_counter() - start)
    return times


def main() -> int:
    """Print each dtype's median step time, the ratio, and the profiler's table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--registry", default=str(DEFAULT_REGISTRY_PATH))
    parser.add_argument("--model", default=None, help="registry model name (default: the registry's default)")
    parser.add_argument("--steps", type=int, default=24, help="decode steps timed per dtype")
    parser.add_argument("--rows", type=int, default=8, help="rows of the profiler's table")
    args = parser.parse_args()
    registry = load_registry(args.registry)
    name = args.model or registry.default_model
    cache = ModelCache(registry)
    loaded = cache.get(name)
    model = loaded.model
    ids = loaded.tokenizer(PROMPT, return_tensors="pt")["input_ids"].to(loaded.device)
    medians = {}
    for dtype in (torch.float32, torch.bfloat16):
        model.to(dtype)
        medians[dtype] = statistics.median(decode(model, ids, args.steps)[4:])
        print(f"{name}, {dtype}: {1000 * medians[dtype]:.1f} ms a decode step (median of {args.steps - 4})")
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
            decode(model, ids, 8)
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.rows))
    print(f"fp32 / bf16 step time: {medians[torch.float32] / medians[torch.bfloat16]:.2f}x")
    cache.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
