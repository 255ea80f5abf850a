"""Alternating measured rounds of engines over one registry model: the shared part of the benches.

A bench that compares two ways of serving a model (a dtype, packed weights, the hooks of
the adapters, vLLM) builds an engine for each (:func:`engine_in`) and lets
:func:`alternate_rounds` measure them in turns, so that the machine's drift hits both alike;
each engine is measured once the other engines' workers have exited (:func:`others_idle`).
The measures: one greedy answer alone (:func:`answer`), and several at once
(:func:`concurrent`, :func:`all_at_once`), checked token for token against the same prompts
answered alone.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml

from playground.engine import Engine
from playground.models.registry import DEFAULT_REGISTRY_PATH, PROJECT_ROOT, Registry

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


def others_idle(engines: list[Engine], current: Engine | None, model: str) -> None:
    """Wait until the other engines' workers for ``model`` (all, with None) have exited (a second after their work).

    Two workers alive at once keep two OpenMP pools, which slows both
    (``playground/models/thread_pools.py``): each engine is measured alone, as it runs in the app.
    """
    for engine in engines:
        if engine is not current:
            engine.local.batcher(model).join(30)


def model_arguments(doc: str | None, tokens: int = 64, rounds: int = 5) -> argparse.ArgumentParser:
    """The command line every engine bench starts from: the model, the registry, tokens per answer, rounds."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="registry model name (default: the registry's default)")
    parser.add_argument("--registry", type=Path, default=DEFAULT_REGISTRY_PATH)
    parser.add_argument("--tokens", type=int, default=tokens, help="new tokens per answer")
    parser.add_argument("--rounds", type=int, default=rounds, help="measured rounds of each (after one warm-up)")
    return parser


def rounds_arguments(doc: str | None) -> argparse.ArgumentParser:
    """The command line of a benchmark that alternates rounds of two engines over one registry model."""
    parser = model_arguments(doc)
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
