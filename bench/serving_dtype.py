"""The engine serving a model in float32 (today's) vs in the registry's ``dtype: auto``, same run.

    python -m bench.serving_dtype                      # the registry's default model (Gemma 3 270M)
    python -m bench.serving_dtype --tokens 64 --rounds 5 --streams 8

Two engines over the same registry entry, one with ``dtype: float32``, one with ``auto``
(bfloat16 on a CPU with AVX512-BF16 or AMX and on a GPU that supports it: see
``playground.models.sources.serving_dtype``). Rounds alternate between them so that the machine's
drift hits both alike. Printed, each as a ratio auto / float32:

- single stream: median tokens/s of one greedy answer of ``--tokens`` tokens;
- ``--streams`` at once: median aggregate tokens/s of that many concurrent answers;
- the share of the machine's read bandwidth a single stream uses: the weights read per token
  (every parameter of the base, LoRA matrices left out: a decode step of the base reads them
  all) divided by the time per token, against ``torch.sum`` over a 1 GiB tensor (the best of five);
- greedy checks in the dtype served: the single answer equals ``model.generate``'s, and each
  of the concurrent answers equals the same prompt answered alone.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time

from playground.network import configure_hub_access

configure_hub_access()

import torch  # noqa: E402

from bench.alternating_rounds import PROMPTS, alternate_rounds, engine_in, rounds_arguments  # noqa: E402

log = logging.getLogger("bench")


def read_bandwidth() -> float:
    """Bytes per second ``torch.sum`` reads from a 1 GiB float32 tensor (best of five)."""
    data = torch.ones(256 * 1024 * 1024)
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        data.sum()
        best = min(best, time.perf_counter() - start)
    return data.numel() * data.element_size() / best


def generate_ids(loaded, prompt: str, tokens: int) -> list[int]:
    """``model.generate``'s greedy answer on the base (adapters off), in the loaded dtype."""
    ids = loaded.tokenizer(prompt, return_tensors="pt").input_ids.to(loaded.device)
    off = loaded.model.disable_adapter() if hasattr(loaded.model, "disable_adapter") else contextlib.nullcontext()
    with torch.inference_mode(), off:
        out = loaded.model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=tokens,
                                    do_sample=False, pad_token_id=loaded.tokenizer.eos_token_id)  # fmt: skip
    return out[0, ids.shape[1] :].tolist()


def main() -> int:
    """Run the rounds; print the figures and ratios."""
    args = rounds_arguments(__doc__).parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    engines, loaded_models = {}, {}
    for dtype in ("float32", "auto"):
        engine, name = engine_in(dtype, args.registry, args.model)
        loaded_models[dtype] = engine.cache.get(name)
        engines[dtype] = engine
        log.info("%s: %s served in %s", dtype, name, next(loaded_models[dtype].model.parameters()).dtype)
    rounds = alternate_rounds(engines, name, args)
    bandwidth = read_bandwidth()
    print(f"\n{name}, {args.tokens} greedy tokens, medians of {args.rounds} rounds; read bandwidth "
          f"{bandwidth / 1e9:.1f} GB/s (torch.sum over 1 GiB)\n")  # fmt: skip
    print("| served in | single stream tokens/s | bandwidth used | "
          f"{args.streams} streams, aggregate tokens/s | = generate | rows = alone |")  # fmt: skip
    print("|---|---:|---:|---:|---|---|")
    for dtype, loaded in loaded_models.items():
        base = loaded.model.get_base_model() if hasattr(loaded.model, "get_base_model") else loaded.model
        weight_bytes = sum(p.numel() * p.element_size() for n, p in base.named_parameters() if "lora_" not in n)
        s, m = rounds.medians(dtype)
        first = rounds.alone[dtype][0]
        same = first == generate_ids(loaded, PROMPTS[0], args.tokens)[: len(first)]
        served = str(next(base.parameters()).dtype).removeprefix("torch.")
        print(f"| {dtype} ({served}) | {s:.1f} | {weight_bytes * s / bandwidth:.2f} "
              f"({weight_bytes / 1e6:.0f} MB a token) | {m:.1f} | {'yes' if same else 'NO'} | "
              f"{'yes' if rounds.rows_equal[dtype] else 'NO'} |")  # fmt: skip
    (s32, m32), (sa, ma) = rounds.medians("float32"), rounds.medians("auto")
    print(f"\nauto / float32: single stream {sa / s32:.2f}x, {args.streams} streams {ma / m32:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
