"""The engine serving a model in float32 (today's) vs in the registry's ``dtype: auto``, same run.

    python -m bench.serving_dtype                      # the registry's default model (Gemma 3 270M)
    python -m bench.serving_dtype --tokens 64 --rounds 5 --streams 8

Two engines over the same registry entry, one with ``dtype: float32``, one with ``auto``
(bfloat16 on a CPU with AVX512-BF16 or AMX and on a GPU that supports it: see
``playground.models.sources.serving_dtype``). Rounds alternate between them so that the machine's
drift hits both alike. Printed, each as a ratio auto / float32 (issue 15):

- single stream: median tokens/s of one greedy answer of ``--tokens`` tokens;
- ``--streams`` at once: median aggregate tokens/s of that many concurrent answers;
- the share of the machine's read bandwidth a single stream uses: the weights read per token
  (every parameter of the base, LoRA matrices left out: a decode step of the base reads them
  all) divided by the time per token, against ``torch.sum`` over a 1 GiB tensor (the best of five);
- greedy checks in the dtype served: the single answer equals ``model.generate``'s, and each
  of the concurrent answers equals the same prompt answered alone.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from playground.network import configure_hub_access

configure_hub_access()

import torch  # noqa: E402
import yaml  # noqa: E402

from playground.engine import Engine  # noqa: E402
from playground.models.registry import DEFAULT_REGISTRY_PATH, PROJECT_ROOT, Registry  # noqa: E402

log = logging.getLogger("bench")
T = TypeVar("T")
PROMPTS = [
    "Cette femme était assise près de la fenêtre, et",
    "Once upon a time, in a small village by the sea, there lived an old fisherman who",
    "Translate English to French:\ncheese => fromage\nsea otter =>",
    "Name three French painters, and say why each one matters:",
]
GREEDY = {"temperature": 0.0, "repetition_penalty": 1.0, "no_repeat_ngram_size": 0}


def engine_in(dtype: str | None, registry_path: Path, model: str | None) -> tuple[Engine, str]:
    """An engine whose model (default: the registry's default) is served in ``dtype`` (None: its entry's)."""
    data = yaml.safe_load(registry_path.read_text(encoding="utf-8"))
    name = model or data["default_model"]
    for entry in data["models"]:
        if entry["name"] == name and dtype is not None:
            entry["dtype"] = dtype
    return Engine(Registry.from_dict(data, root=PROJECT_ROOT)), name


def answer(engine: Engine, model: str, prompt: str, tokens: int) -> tuple[list[int], float]:
    """The token ids of one greedy answer of exactly ``tokens`` tokens (or fewer at EOS), and its seconds."""
    start = time.perf_counter()
    stream = engine.stream(model, prompt, {**GREEDY, "max_new_tokens": tokens})
    stream.text()
    return stream.result.token_ids, time.perf_counter() - start


def all_at_once(ask: Callable[[int], T], n: int) -> tuple[list[T], float]:
    """``ask(0)`` to ``ask(n - 1)``, each in a thread, started together: their results and the wall-clock seconds."""
    results: list[Any] = [None] * n

    def one(i: int) -> None:
        results[i] = ask(i)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, time.perf_counter() - start


def concurrent(engine: Engine, model: str, streams: int, tokens: int) -> tuple[list[list[int]], float]:
    """``streams`` answers at once (the prompts in turn): their token ids and the wall-clock seconds."""
    return all_at_once(lambda i: answer(engine, model, PROMPTS[i % len(PROMPTS)], tokens)[0], streams)


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


def others_idle(engines: list[Engine], current: Engine | None, model: str) -> None:
    """Wait until the other engines' workers for ``model`` (all, with None) have exited (a second after their work).

    Two workers alive at once keep two OpenMP pools, which slows both
    (``playground/models/thread_pools.py``): each engine is measured alone, as it runs in the app.
    """
    for engine in engines:
        if engine is not current:
            engine.local.batcher(model).join(30)


def rounds_arguments(doc: str | None) -> argparse.ArgumentParser:
    """The command line of a benchmark that alternates rounds of two engines over one registry model."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="registry model name (default: the registry's default)")
    parser.add_argument("--registry", type=Path, default=DEFAULT_REGISTRY_PATH)
    parser.add_argument("--tokens", type=int, default=64, help="new tokens per answer")
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds of each (after one warm-up)")
    parser.add_argument("--streams", type=int, default=8, help="concurrent answers in the aggregate measure")
    return parser


@dataclasses.dataclass
class Rounds:
    """What :func:`alternate_rounds` measured, by engine label."""

    alone: dict[str, list[list[int]]]  # each prompt's greedy answer alone (the warm-up)
    single: dict[str, list[float]]  # tokens/s of one answer, a figure per round
    many: dict[str, list[float]]  # aggregate tokens/s of ``--streams`` answers at once, a figure per round
    rows_equal: dict[str, bool]  # every concurrent answer equalled the same prompt's answer alone

    def medians(self, label: str) -> tuple[float, float]:
        """Median single-stream and aggregate tokens/s of ``label``."""
        return statistics.median(self.single[label]), statistics.median(self.many[label])


def alternate_rounds(engines: dict[str, Engine], model: str, args: argparse.Namespace) -> Rounds:
    """Warm each engine up (each prompt answered alone), then ``args.rounds`` rounds alternating the engines.

    In a round each engine, once the other engines' workers have exited, answers one prompt
    alone and ``args.streams`` prompts at once (``args.tokens`` greedy tokens each); the
    concurrent answers are checked against the same prompts answered alone.
    """
    alone = {label: [answer(e, model, p, args.tokens)[0] for p in PROMPTS] for label, e in engines.items()}
    result = Rounds(alone, {k: [] for k in engines}, {k: [] for k in engines}, {k: True for k in engines})
    for r in range(args.rounds):
        for label, engine in engines.items():
            others_idle(list(engines.values()), engine, model)
            ids, seconds = answer(engine, model, PROMPTS[0], args.tokens)
            result.single[label].append(len(ids) / seconds)
            rows, seconds = concurrent(engine, model, args.streams, args.tokens)
            result.many[label].append(sum(len(x) for x in rows) / seconds)
            result.rows_equal[label] &= all(x == alone[label][i % len(PROMPTS)] for i, x in enumerate(rows))
            log.info("round %d %-7s: %.1f tokens/s single, %.1f aggregate", r + 1, label, result.single[label][-1],
                     result.many[label][-1])  # fmt: skip
    return result


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
