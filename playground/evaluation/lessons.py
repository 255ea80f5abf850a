"""The lessons scoreboard: for the model each tab opens on, the number that shows its lesson.

    python -m playground.evaluation.lessons --data ../shared/data          # every lesson
    python -m playground.evaluation.lessons --data ../shared/data --only lab instructions
    python -m playground.evaluation.lessons --data DIR --json lessons.json --samples 50

``--data`` is a folder laid out like the project's shared corpora: ``tatoeba-en-fr/fra.txt``,
``alpaca/alpaca_data_first2000.json`` and ``gutenberg-sand/`` (the Project Gutenberg files);
without it the corpora are downloaded. Each lesson compares the tab's model without and
with what the lesson applies, on held-out data, through the same :class:`Engine` (and so
the same batching, prompts and stop rules) as the app:

- **lab** (zero/one/few-shot): EN->FR on seeded held-out Tatoeba pairs, greedy, one line;
  chrF and exact match at 0, 1 and 5 shots.
- **instructions** (LoRA teaches a pretrained base to follow instructions): the held-out
  Alpaca records of the adapter's recipe, the same Alpaca prompt for base and adapter;
  the share answered *and stopped by the model itself* (end-of-sequence) within the token
  limit, and chrF to the reference answer.
- **style** (George Sand): held-out perplexity of *La mare au diable*, base vs adapter (as
  the model card computes it), and the share of the words of sampled continuations found
  in a French word list built from the training books.
- **repetition**: the share of repeated word 4-grams in 128-token greedy continuations,
  without any penalty and with each of the repetition controls.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import time
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playground.evaluation.fewshot_scores import TASK, normalise  # the same prompt and matching as the lab's scores

log = logging.getLogger(__name__)

LESSONS = ("lab", "instructions", "style", "repetition")
SHOTS = (0, 1, 5)  # the lab's settings: zero-, one- and five-shot
WORD_RE = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")  # words: letters, inner apostrophes and hyphens
GREEDY = {"temperature": 0.0, "repetition_penalty": 1.0}
EVAL_TIME_LIMIT_S = 3600.0  # per answer: the app's limit protects visitors, not an offline evaluation
# Openings for the style and repetition lessons (the Style tab's, and the first lines of
# classic openings in both languages); none is taken from the training books.
STYLE_OPENINGS = (
    "Cette femme était assise",
    "Le soir elle se rappelait",
    "Au bord de l'étang, la petite Fadette",
    "Je vous écris de la montagne, mon ami,",
    "Quand le jour se leva sur la vallée,",
    "Il y avait dans ce village une vieille maison",
    "Mon cher enfant, vous me demandez",
    "La pluie tombait depuis le matin et",
)
REPETITION_PROMPTS = (
    "The history of the city begins",
    "My favourite place in the world is",
    "Il était une fois, dans un petit village,",
    "Le matin, quand je me réveille,",
    "In a shocking finding, scientists discovered",
    "La science nous apprend que",
)
REPETITION_CONTROLS = {
    "none": {},
    "repetition_penalty 1.3": {"repetition_penalty": 1.3},
    "no_repeat_ngram_size 3": {"no_repeat_ngram_size": 3},
}


@dataclass
class Lesson:
    """One lesson's figures: rows of (setting, {metric: value}) and what they are about."""

    name: str
    model: str  # the registry model the tab opens on
    about: str  # what was scored, for the printed table
    rows: list[tuple[str, dict[str, float]]] = field(default_factory=list)
    samples: dict[str, list[str]] = field(default_factory=dict)  # a few outputs per setting, to read
    seconds: float = 0.0


def words(text: str) -> list[str]:
    """The words of ``text``, case-folded (letters only: numbers and punctuation are not words)."""
    return [w.casefold() for w in WORD_RE.findall(unicodedata.normalize("NFC", text))]


def repeated_ngram_share(text: str, n: int = 4) -> float:
    """Share of the word ``n``-grams of ``text`` that already occurred earlier in it (0 when it has none)."""
    tokens = words(text)
    grams = [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
    seen: set[tuple[str, ...]] = set()
    repeats = 0
    for gram in grams:
        repeats += gram in seen
        seen.add(gram)
    return repeats / len(grams) if grams else 0.0


def known_word_share(texts: Iterable[str], vocabulary: set[str]) -> float:
    """Share of all the words of ``texts`` that are in ``vocabulary``."""
    found = [w in vocabulary for text in texts for w in words(text)]
    return sum(found) / len(found) if found else 0.0


def run_all(engine: Any, requests: Sequence[dict[str, Any]]) -> list[Any]:
    """Run ``requests`` (keyword arguments of :meth:`Engine.stream`) batched; their results, in order.

    Requests are handed to the model's batcher a batch-worth at a time (never more than
    its wait queue takes), so they share decode steps as concurrent visitors would.
    """
    chunk = max(1, min(engine.registry.limits.max_batch_size, engine.registry.limits.max_waiting))
    results = []
    for start in range(0, len(requests), chunk):
        # no visitor waits behind a scoreboard: its answers are scored whole, however slow the machine
        streams = [engine.stream(**r, time_limit_s=EVAL_TIME_LIMIT_S) for r in requests[start : start + chunk]]
        for stream in streams:
            stream.text()
            results.append(stream.result)
    return results


def lab_requests(
    model: str, pairs: list[tuple[str, str]], samples: int, seed: int
) -> tuple[list[tuple[str, str]], dict[int, list[dict[str, Any]]]]:
    """The lab lesson's held-out (EN, FR) queries, and its requests by number of shots."""
    from playground.data.tatoeba import sample_pairs
    from playground.lessons.fewshot import Shot, build_prompt

    usable = [p for p in pairs if 3 <= len(p[0].split()) <= 12]
    picked = sample_pairs(usable, samples + max(SHOTS), seed=seed)
    pool = [Shot(en, fr) for en, fr in picked[: max(SHOTS)]]
    queries = picked[max(SHOTS) :]
    settings = {**GREEDY, "max_new_tokens": 48, "stop": ["\n"]}
    return queries, {
        k: [{"model": model, "prompt": build_prompt(TASK, pool[:k], en), "settings": settings} for en, _ in queries]
        for k in SHOTS
    }


def lab_lesson(engine: Any, model: str, pairs: list[tuple[str, str]], samples: int, seed: int) -> Lesson:
    """Zero-, one- and five-shot EN->FR on held-out Tatoeba pairs (chrF, exact match)."""
    from playground.evaluation.metric_loader import load_metric
    from playground.lessons.fewshot import shot_name

    queries, by_shots = lab_requests(model, pairs, samples, seed)
    chrf = load_metric("chrf")
    lesson = Lesson("lab", model, f"EN->FR, {len(queries)} held-out Tatoeba pairs (seed {seed}), greedy, one line")
    started = time.perf_counter()
    for k, requests in by_shots.items():
        hyps = [r.text.strip() for r in run_all(engine, requests)]
        refs = [fr for _, fr in queries]
        exact = sum(normalise(h) == normalise(r) for h, r in zip(hyps, refs, strict=True)) / len(refs)
        score = chrf.compute(predictions=hyps, references=refs)["score"]
        lesson.rows.append((shot_name(k), {"chrF": score, "exact %": 100 * exact}))
        lesson.samples[shot_name(k)] = hyps[:3]
    lesson.seconds = time.perf_counter() - started
    return lesson


def instructions_lesson(engine: Any, adapter: str, records: list[Any], max_new_tokens: int) -> Lesson:
    """Held-out Alpaca instructions, base vs adapter, the same Alpaca prompt: stopped by EOS, chrF."""
    from playground.evaluation.metric_loader import load_metric

    base = engine.registry.adapter(adapter).base
    chrf = load_metric("chrf")
    lesson = Lesson(
        "instructions",
        base,
        f"{len(records)} held-out Alpaca instructions, Alpaca prompt for both, greedy, {max_new_tokens} tokens at most",
    )
    started = time.perf_counter()
    for name, requests in instruction_requests(engine, adapter, records, max_new_tokens).items():
        results = run_all(engine, requests)
        stopped = sum(r.finish_reason == "eos" for r in results) / len(results)
        hyps = [r.text.strip() for r in results]
        score = chrf.compute(predictions=hyps, references=[r.output for r in records])["score"]
        label = f"{base} + {name}" if name else base
        lesson.rows.append((label, {"stopped by itself %": 100 * stopped, "chrF": score}))
        lesson.samples[label] = hyps[:2]
    lesson.seconds = time.perf_counter() - started
    return lesson


def instruction_requests(
    engine: Any, adapter: str, records: list[Any], max_new_tokens: int
) -> dict[str | None, list[dict[str, Any]]]:
    """The instructions lesson's requests: the same Alpaca prompts, for the base (None) and for ``adapter``."""
    base = engine.registry.adapter(adapter).base
    prompts = [engine.render(base, r.instruction, adapter, r.input) for r in records]
    settings = {**GREEDY, "max_new_tokens": max_new_tokens}
    return {
        name: [{"model": base, "prompt": p, "settings": settings, "adapter": name} for p in prompts]
        for name in (None, adapter)
    }


def style_lesson(engine: Any, adapter: str, recipe: Any, data: str | None, continuations: int) -> Lesson:
    """George Sand: held-out perplexity base vs adapter, and the share of French words in continuations."""
    from playground.data.examples import build_splits
    from playground.data.gutenberg import load_book
    from playground.evaluation.compare import compare

    base = engine.registry.adapter(adapter).base
    loaded = engine.cache.get(base)
    started = time.perf_counter()
    splits = build_splits(recipe, loaded.tokenizer, data)
    test = splits.test[: recipe.evaluation.max_windows]
    scores = compare(loaded, [adapter], test)
    vocabulary = {w for book in recipe.data.train_books for w in words(load_book(book, data))}
    openings = [STYLE_OPENINGS[i % len(STYLE_OPENINGS)] for i in range(continuations)]
    tokens = min(80, engine.registry.limits.max_new_tokens)
    lesson = Lesson(
        "style",
        base,
        f"perplexity on {scores['base']['tokens']:.0f} tokens of held-out books {list(recipe.data.test_books)}; "
        f"French words: {continuations} sampled continuations of {tokens} tokens vs {len(vocabulary)} words of the "
        "training books",
    )
    for name in (None, adapter):
        requests = [
            {
                "model": base,
                "prompt": opening,
                "adapter": name,
                "settings": {"temperature": 0.8, "top_p": 0.95, "top_k": 50, "max_new_tokens": tokens,
                             "repetition_penalty": 1.2, "no_repeat_ngram_size": 3, "seed": i + 1},
            }
            for i, opening in enumerate(openings)
        ]  # fmt: skip
        texts = [r.text for r in run_all(engine, requests)]
        label = f"{base} + {name}" if name else base
        metrics = scores[name or "base"]
        lesson.rows.append(
            (
                label,
                {
                    "perplexity": metrics["perplexity"],
                    "ratio to base": metrics["perplexity"] / scores["base"]["perplexity"],
                    "French words": known_word_share(texts, vocabulary),
                },
            )
        )
        lesson.samples[label] = [t.strip() for t in texts[:2]]
    lesson.seconds = time.perf_counter() - started
    return lesson


def repetition_lesson(engine: Any, model: str, max_new_tokens: int = 128) -> Lesson:
    """Repeated word 4-grams in greedy continuations, without and with the repetition controls."""
    max_new_tokens = min(max_new_tokens, engine.registry.limits.max_new_tokens)
    lesson = Lesson(
        "repetition",
        model,
        f"{len(REPETITION_PROMPTS)} openings (EN, FR), greedy, {max_new_tokens} tokens; share of repeated word 4-grams",
    )
    started = time.perf_counter()
    for label, requests in repetition_requests(model, max_new_tokens).items():
        texts = [r.text for r in run_all(engine, requests)]
        share = sum(repeated_ngram_share(t) for t in texts) / len(texts)
        lesson.rows.append((label, {"repeated 4-grams %": 100 * share}))
        lesson.samples[label] = [t.strip()[:200] for t in texts[:1]]
    lesson.seconds = time.perf_counter() - started
    return lesson


def repetition_requests(model: str, max_new_tokens: int) -> dict[str, list[dict[str, Any]]]:
    """The repetition lesson's requests, by control (greedy, each control of repetition in turn)."""
    return {
        label: [{"model": model, "prompt": p, "settings": {**GREEDY, "max_new_tokens": max_new_tokens, **control}}
                for p in REPETITION_PROMPTS]
        for label, control in REPETITION_CONTROLS.items()
    }  # fmt: skip


def with_dtype(registry: Any, dtype: str) -> Any:
    """``registry`` with every model served in ``dtype`` (``int8``, ``float32``, ...)."""
    import dataclasses

    models = {name: dataclasses.replace(spec, dtype=dtype) for name, spec in registry.models.items()}
    return dataclasses.replace(registry, models=models)


def format_lessons(lessons: list[Lesson]) -> str:
    """The scoreboard as Markdown: one table per lesson."""
    out = []
    for lesson in lessons:
        metrics = list(dict.fromkeys(k for _, row in lesson.rows for k in row))
        out.append(f"### {lesson.name} — {lesson.model} ({lesson.seconds:.0f} s)\n\n{lesson.about}\n")
        out.append("| setting | " + " | ".join(metrics) + " |")
        out.append("|---|" + "---:|" * len(metrics))
        for label, row in lesson.rows:
            cells = [f"{row[m]:.3f}" if m in ("ratio to base", "French words") else f"{row[m]:.1f}" for m in metrics]
            out.append(f"| {label} | " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)


def write_cards(registry: Any, lessons: list[Lesson], command: str) -> None:
    """Write the style and instructions lessons into the model cards of the adapters they score."""
    from playground.adapters.model_card import LESSONS_END, LESSONS_START, update_card_section

    for lesson in lessons:
        if lesson.name not in ("style", "instructions"):
            continue
        spec = registry.opening_adapter(lesson.name)
        body = f"Produced by `{command}`.\n\n{format_lessons([lesson])}"
        card = registry.resolve_path(spec.path or "") / "README.md"
        update_card_section(card, LESSONS_START, LESSONS_END, body, heading="Lesson, as the app shows it")
        log.info("wrote the %s lesson into %s", lesson.name, card)


def _data_path(data: str | None, *parts: str) -> str | None:
    return str(Path(data, *parts)) if data else None


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    from playground.network import configure_hub_access

    configure_hub_access()
    from playground.adapters.recipe import load_recipe
    from playground.data.alpaca import load_alpaca
    from playground.data.tatoeba import load_pairs
    from playground.engine import Engine
    from playground.models.registry import DEFAULT_REGISTRY_PATH, load_registry

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=None, help="folder with tatoeba-en-fr/, alpaca/, gutenberg-sand/")
    parser.add_argument("--registry", default=str(DEFAULT_REGISTRY_PATH), help="registry YAML")
    parser.add_argument("--only", nargs="+", choices=LESSONS, default=list(LESSONS), help="lessons to score")
    parser.add_argument("--samples", type=int, default=50, help="Tatoeba pairs and Alpaca instructions scored")
    parser.add_argument("--seed", type=int, default=0, help="seed of the Tatoeba sample")
    parser.add_argument("--instruction-tokens", type=int, default=128, help="token limit of an instruction's answer")
    parser.add_argument("--continuations", type=int, default=16, help="sampled George Sand continuations per side")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")
    parser.add_argument("--dtype", default=None, help="serve every model in this dtype (int8, float32) instead")
    parser.add_argument(
        "--write-cards", action="store_true", help="write each adapter's lesson into its model card (README.md)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.samples < 1 or args.continuations < 1 or args.instruction_tokens < 1:
        parser.error("--samples, --continuations and --instruction-tokens must be >= 1")

    registry = load_registry(args.registry)
    if args.dtype:
        registry = with_dtype(registry, args.dtype)
    engine = Engine(registry)
    lessons: list[Lesson] = []
    if "lab" in args.only:
        pairs = load_pairs(_data_path(args.data, "tatoeba-en-fr", "fra.txt"))
        lessons.append(lab_lesson(engine, registry.opening_model("lab"), pairs, args.samples, args.seed))
    if "instructions" in args.only:
        spec = registry.opening_adapter("instructions")
        recipe = load_recipe(registry.resolve_path(spec.path or "") / "recipe.yaml")
        records = load_alpaca(_data_path(args.data, "alpaca", "alpaca_data_first2000.json"))
        held_out = records[-recipe.data.test_records :][: args.samples]
        lessons.append(instructions_lesson(engine, spec.name, held_out, args.instruction_tokens))
    if "style" in args.only:
        spec = registry.opening_adapter("style")
        recipe = load_recipe(registry.resolve_path(spec.path or "") / "recipe.yaml")
        lessons.append(style_lesson(engine, spec.name, recipe, _data_path(args.data, "gutenberg-sand"),
                                    args.continuations))  # fmt: skip
    if "repetition" in args.only:
        lessons.append(repetition_lesson(engine, registry.opening_model("lab")))
    print(format_lessons(lessons))
    if args.write_cards:
        write_cards(registry, lessons, " ".join(["python -m playground.evaluation.lessons", *(argv or sys.argv[1:])]))
    if args.json:
        payload = {
            lesson.name: {"model": lesson.model, "about": lesson.about, "rows": dict(lesson.rows),
                          "samples": lesson.samples, "seconds": lesson.seconds}
            for lesson in lessons
        }  # fmt: skip
        args.json.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
