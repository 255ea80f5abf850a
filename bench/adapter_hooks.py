"""One stream's speed with the LoRA layers listed once vs PEFT's own ``adapter_names`` path, same run.

    python -m bench.adapter_hooks                   # the registry's default model, its dtype
    python -m bench.adapter_hooks --dtype float32 --rounds 6

``LoadedModel.forward_rows`` gives each forward pass the rows' adapter names through hooks
on the LoRA layers it listed when the adapters attached; PEFT's path
(``model(..., adapter_names=...)``) finds those layers by walking every module of the model
twice per call. Both run the same greedy answer on the same loaded model, rounds alternating;
the median tokens/s of each and their ratio are printed.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys

from bench.alternating_rounds import answer, engine_in
from playground.models.loader import LoadedModel
from playground.models.registry import DEFAULT_REGISTRY_PATH

PROMPT = "Cette femme était assise près de la fenêtre, et"


def peft_path(self: LoadedModel, adapters: list[str | None], **inputs):
    """The forward pass as PEFT runs it: ``adapter_names`` passed to the PeftModel."""
    kwargs = self.rows_forward_kwargs(adapters)
    with self.forward_lock:
        return self.model(**inputs, **kwargs)


def main() -> int:
    """Run the alternating rounds; print each path's median tokens/s and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dtype", default=None, help="serve in this dtype (default: the registry entry's)")
    parser.add_argument("--tokens", type=int, default=48)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    engine, name = engine_in(args.dtype, DEFAULT_REGISTRY_PATH, None)
    engine.cache.get(name)
    answer(engine, name, "Hello", 8)  # warm-up
    paths = {"PEFT adapter_names": peft_path, "listed LoRA layers": LoadedModel.forward_rows}
    rates: dict[str, list[float]] = {k: [] for k in paths}
    for _ in range(args.rounds):
        for label, forward_rows in paths.items():
            LoadedModel.forward_rows = forward_rows
            ids, seconds = answer(engine, name, PROMPT, args.tokens)
            rates[label].append(len(ids) / seconds)
    for label, values in rates.items():
        each = ", ".join(f"{v:.1f}" for v in values)
        print(f"{label:>20}: {statistics.median(values):.1f} tokens/s (rounds: {each})")
    ratio = statistics.median(rates["listed LoRA layers"]) / statistics.median(rates["PEFT adapter_names"])
    print(f"{name}, {args.tokens} greedy tokens: listed / PEFT = {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
