"""bfloat16 weights reordered for oneDNN (``limits.prepacked_weights``) vs plain, same run.

    python -m bench.packed_linear                      # the registry's default model (Gemma 3 270M)
    python -m bench.packed_linear --tokens 64 --rounds 5 --streams 8

Two engines over the same registry entry in the dtype it is served in (bfloat16 here), one
with ``prepacked_weights: false``; rounds alternate between them. Then the products alone:
for each distinct weight shape of the model's base, the time of
``torch.nn.functional.linear`` on one row against the packed layer's, and the read
bandwidth each reaches (after the rounds: this thread's OpenMP pool would slow the
batchers', ``playground/models/thread_pools.py``). Printed, each as a ratio packed / plain:

- single stream: median tokens/s of one greedy answer of ``--tokens`` tokens;
- ``--streams`` at once: median aggregate tokens/s;
- resident memory of the process after each engine loaded its model (the packed copy's cost);
- greedy checks: each engine's batched answers equal its answers alone, token for token; and
  whether the two engines' answers alone are equal (they need not be: a packed layer pads a
  one-row product of 2048 inputs to two rows, which oneDNN sums in another order, so that a
  row is computed alike alone and batched; plain ``linear`` does not, and its batched rows
  can differ from its rows alone).
"""

from __future__ import annotations

import collections
import logging
import statistics
import sys
import time
from pathlib import Path

from playground.network import configure_hub_access

configure_hub_access()

import torch  # noqa: E402
import yaml  # noqa: E402

from bench.alternating_rounds import alternate_rounds, others_idle, rounds_arguments  # noqa: E402
from playground.engine import Engine  # noqa: E402
from playground.models.packed_linear import PackedLinear, packing_supported  # noqa: E402
from playground.models.registry import PROJECT_ROOT, Registry  # noqa: E402

log = logging.getLogger("bench")


def resident_mb() -> float:
    """This process's resident memory (VmRSS), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def engine_with(prepacked: bool, registry_path: Path, model: str | None) -> tuple[Engine, str]:
    """An engine over the registry with ``limits.prepacked_weights`` set to ``prepacked``."""
    data = yaml.safe_load(registry_path.read_text(encoding="utf-8"))
    data["limits"] = {**data.get("limits", {}), "prepacked_weights": prepacked}
    return Engine(Registry.from_dict(data, root=PROJECT_ROOT)), model or data["default_model"]


def timed(fn, repeats: int = 20) -> float:
    """Median seconds of ``fn()`` over ``repeats`` calls, after three warm-up calls."""
    for _ in range(3):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def products(model: torch.nn.Module) -> None:
    """Print, per distinct packed weight shape, one row's product plain and packed."""
    packed = [m for m in model.modules() if type(m) is PackedLinear]
    layers = {tuple(m.weight.shape): m for m in packed}
    count = collections.Counter(tuple(m.weight.shape) for m in packed)
    print("| weight (out x in) | layers | MB | linear, ms | packed, ms | GB/s linear | GB/s packed | ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    with torch.inference_mode():
        for shape, layer in sorted(layers.items(), key=lambda kv: -kv[0][0] * kv[0][1]):
            x = torch.randn(1, shape[1], dtype=layer.weight.dtype)
            plain = timed(lambda: torch.nn.functional.linear(x, layer.weight, layer.bias))  # noqa: B023
            packed = timed(lambda: layer(x))  # noqa: B023
            mb = layer.weight.numel() * layer.weight.element_size() / 1e6
            print(f"| {shape[0]} x {shape[1]} | {count[shape]} | {mb:.1f} | {1000 * plain:.3f} | {1000 * packed:.3f} "
                  f"| {mb / 1000 / plain:.1f} | {mb / 1000 / packed:.1f} | {plain / packed:.2f}x |")  # fmt: skip


def main() -> int:
    """Run the rounds; print the figures and ratios."""
    args = rounds_arguments(__doc__).parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not packing_supported():
        log.error("this torch has no oneDNN bfloat16 products: nothing to compare")
        return 1
    engines, memory = {}, {}
    for label, prepacked in (("plain", False), ("packed", True)):
        before = resident_mb()
        engine, name = engine_with(prepacked, args.registry, args.model)
        loaded = engine.cache.get(name)
        memory[label] = resident_mb() - before
        engines[label] = engine
        log.info("%s: %s in %s, %d packed layers", label, name, next(loaded.model.parameters()).dtype,
                 sum(type(m) is PackedLinear for m in loaded.model.modules()))  # fmt: skip
    rounds = alternate_rounds(engines, name, args)
    print(f"\n{name}, {args.tokens} greedy tokens, medians of {args.rounds} rounds\n")
    print(
        f"| weights | single stream tokens/s | {args.streams} streams, aggregate tokens/s | memory of the model, MB |"
    )
    print("|---|---:|---:|---:|")
    s, m = {}, {}
    for label in engines:
        s[label], m[label] = rounds.medians(label)
        print(f"| {label} | {s[label]:.1f} | {m[label]:.1f} | {memory[label]:.0f} |")
    same = rounds.alone["packed"] == rounds.alone["plain"]
    equal = {label: "yes" if rounds.rows_equal[label] else "NO" for label in engines}
    print(f"\npacked / plain: single stream {s['packed'] / s['plain']:.2f}x, {args.streams} streams "
          f"{m['packed'] / m['plain']:.2f}x; batched rows equal the same engine's answers alone: "
          f"packed {equal['packed']}, plain {equal['plain']}; "
          f"answers alone, packed = plain: {'yes' if same else 'no'}\n")  # fmt: skip
    others_idle(list(engines.values()), None, name)  # the products alone, on this thread, once no worker is left
    products(engines["packed"].cache.get(name).model)
    for engine in engines.values():
        engine.close(wait_s=60)
    return 0 if rounds.rows_equal["packed"] else 1


if __name__ == "__main__":
    sys.exit(main())
