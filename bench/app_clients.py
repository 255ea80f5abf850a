"""Visitors of the real app, as benchmarks drive them, and the machine facts a rate is read against.

Shared by ``bench/classroom.py``, ``bench/soak.py`` and ``bench/vs_llamacpp.py``. Visitors
each have a session and a client address of their own: ``gradio_client`` sessions for any
endpoint (:func:`make_clients`, the soak's mix), and, where a rate is measured, visitors of
``/generate`` that cost the machine almost nothing (:func:`make_visitors`,
:mod:`bench.sse_visitor`), so that the rate is the server's, not the server's minus its
clients'. :class:`Run` is a request as the visitor saw it; :func:`drive` sends N at once;
:func:`copy_bandwidth` and :func:`weight_bytes` are the facts a decode rate is read against.
"""

from __future__ import annotations

import ipaddress
import re
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import torch

from bench.sse_visitor import SSEVisitor, endpoint_of
from playground.ui.controls import settings_kwargs


def visitor_address(i: int) -> str:
    """Visitor ``i``'s client address (shared address space, 100.64.0.0/10), sent as ``X-Forwarded-For``.

    Each visitor comes from its own address, as the public of a Space does: from one address
    (loopback), the guard's ``limits.max_events_per_address`` would refuse most of a burst
    as one client's flood (``playground/ui/guard.py``).
    """
    return str(ipaddress.IPv4Address("100.64.0.0") + 1 + i)


def make_clients(url: str, count: int, timeout_s: float = 300.0) -> list[Any]:
    """``count`` visitors, each with its own gradio_client session and client address.

    ``timeout_s`` bounds each HTTP read (httpx's own 5 s is slowness on a busy machine, not a hang).
    """
    from gradio_client import Client

    def make(i: int) -> Any:
        address = {"x-forwarded-for": visitor_address(i)}
        return Client(url, verbose=False, headers=address, httpx_kwargs={"timeout": timeout_s})

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(make, range(count)))


def make_visitors(url: str, count: int, timeout_s: float = 300.0) -> list[SSEVisitor]:
    """``count`` visitors of ``/generate``, each with its own session and client address (:mod:`bench.sse_visitor`)."""
    endpoint = endpoint_of(url, "/generate")
    return [SSEVisitor(endpoint, visitor_address(i), timeout_s) for i in range(count)]


@dataclass
class Run:
    """One request as the client saw it."""

    submitted: float  # perf_counter() at submit
    first: float  # when the first text arrived
    last: float  # when the stream ended
    tokens: int  # generated tokens (from the status line)
    text: str
    finished_by_length: bool


def generate_args(model: str, prompt: str, adapter: str | None, tokens: int) -> dict[str, Any]:
    """/generate's keyword arguments: greedy, no template, no repetition penalty or n-gram ban, no stop string."""
    inputs = {"model": model, "adapter": adapter or "(base)", "prompt": prompt, "use_prompt_style": False}
    return {**inputs, **settings_kwargs(max_new_tokens=tokens)}


def drive(visitors: list[SSEVisitor], requests: list[dict[str, Any]]) -> list[Run]:
    """Submit every request to ``/generate`` at once, request i from ``visitors[i]``, each followed in its own thread.

    Each user is a visitor of their own (a session and an address), as in a classroom: the
    server shares a batch between visitors (``limits.max_rows_per_visitor`` rows each), so one
    visitor sending eight requests would measure one visitor's share, not a classroom.
    """
    runs: list[Run | None] = [None] * len(requests)
    errors: list[str] = []

    def follow(i: int) -> None:
        try:
            seen = visitors[i].run(requests[i])
        except Exception as exc:  # every failure is reported below, with its kind
            errors.append(f"{type(exc).__name__}: {exc}")
            return
        text, details = seen.outputs[0], seen.outputs[1]
        count = re.search(r"(\d+) tokens in", details)
        tokens = int(count.group(1)) if count else 0
        runs[i] = Run(seen.submitted, seen.first, seen.last, tokens, text, "token limit" in details)

    threads = [threading.Thread(target=follow, args=(i,)) for i in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError(f"{len(errors)} of {len(requests)} requests failed: {errors[0]}")
    return [r for r in runs if r is not None]


def one_by_one(visitors: list[SSEVisitor], requests: list[dict[str, Any]]) -> list[Run]:
    """The same requests, each sent by its own visitor when the previous one has ended."""
    return [run for visitor, args in zip(visitors, requests, strict=False) for run in drive([visitor], [args])]


def p95(values: list[float]) -> float:
    """95th percentile, linear interpolation between the closest ranks."""
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def weight_bytes(model_name: str) -> tuple[int, str]:
    """Bytes of the base weights one decode step reads, and how they were counted.

    Float parameters count their bytes; int8 products count their values, scales and
    offsets (:attr:`~playground.models.quantized.GroupQuantized.nbytes`). A table shared by
    the embedding and the output layer counts once (the output layer reads all of it); an
    embedding of its own counts for nothing (one row is read).
    """
    from playground.models.loader import ModelCache
    from playground.models.registry import load_registry

    cache = ModelCache(load_registry())
    loaded = cache.get(model_name)
    base = loaded.model.get_base_model() if hasattr(loaded.model, "get_base_model") else loaded.model
    embedding = base.get_input_embeddings()
    seen: dict[int, int] = {}
    for name, module in base.named_modules():
        quantized = getattr(module, "quantized", None)
        if quantized is not None and (module is not embedding or _tied(base)):
            seen[quantized.q.data_ptr()] = quantized.nbytes
        for param_name, param in module.named_parameters(recurse=False):
            if "lora_" not in f"{name}.{param_name}" and (module is not embedding or _tied(base)):
                seen[param.data_ptr()] = param.numel() * param.element_size()
    cache.close()
    kinds = "int8 products (values, scales, offsets)" if loaded.int8 else f"{len(seen)} tensors"
    how = f"{kinds}; " + ("the tied embedding counted once" if _tied(base) else "the input embedding left out")
    return sum(seen.values()), how


def _tied(base: Any) -> bool:
    embedding, head = base.get_input_embeddings(), base.get_output_embeddings()
    table = getattr(embedding, "quantized", None)
    if table is not None:
        return getattr(head, "quantized", None) is table
    return embedding.weight.data_ptr() == head.weight.data_ptr()


def copy_bandwidth(mib: int = 512, repeats: int = 7) -> float:
    """Bytes per second of a torch copy between two large tensors (read + write), median of ``repeats``.

    The target is allocated and touched first, so page faults are not timed.
    """
    source = torch.ones(mib * 2**20 // 4, dtype=torch.float32)
    target = torch.zeros_like(source)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        target.copy_(source)
        times.append(time.perf_counter() - start)
    return 2 * source.numel() * source.element_size() / statistics.median(times)
