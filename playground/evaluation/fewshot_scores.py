"""Score zero-, one- and few-shot EN->FR translation on Tatoeba pairs, for one model.

    python -m playground.evaluation.fewshot_scores --local-data ../shared/data/tatoeba-en-fr/fra.txt
    python -m playground.evaluation.fewshot_scores --model gpt2 --samples 100 --shots 0 1 5

Shots and queries are disjoint seeded samples of the pairs. Decoding is greedy and stops
at the end of the line. Prints exact match (after trimming spaces and final punctuation
case-insensitively) and corpus chrF for each number of shots.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import unicodedata

from playground.lessons.fewshot import Shot, build_prompt, shot_name

log = logging.getLogger(__name__)

TASK = "Translate English to French:"


def normalise(text: str) -> str:
    """Case-folded, NFC, inner spaces collapsed, trailing punctuation and spaces removed."""
    text = unicodedata.normalize("NFC", " ".join(text.split())).casefold()
    return text.rstrip(" .!?…")


def score(engine, model: str, pairs: list[tuple[str, str]], shot_pool: list[Shot], shots: list[int], use_style: bool):
    """Rows of (setting, exact match, chrF, seconds) for each number of shots."""
    from playground.evaluation.metric_loader import load_metric

    chrf = load_metric("chrf")
    rows = []
    for k in shots:
        start = time.perf_counter()
        hyps, refs = [], []
        for en, fr in pairs:
            prompt = build_prompt(TASK, shot_pool[:k], en)
            result = engine.generate(
                model,
                prompt,
                {"temperature": 0, "max_new_tokens": 48, "stop": ["\n"], "repetition_penalty": 1.0},
                use_prompt_style=use_style,
            )
            hyps.append(result.text.strip())
            refs.append(fr)
        exact = sum(normalise(h) == normalise(r) for h, r in zip(hyps, refs, strict=True)) / len(refs)
        rows.append(
            (
                shot_name(k),
                exact,
                chrf.compute(predictions=hyps, references=refs)["score"],
                time.perf_counter() - start,
                hyps[:3],
            )
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    from playground.network import configure_hub_access

    configure_hub_access()
    from playground.data.tatoeba import load_pairs, sample_pairs
    from playground.engine import Engine
    from playground.models.registry import load_registry

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="registry model name (default: the registry's default)")
    parser.add_argument("--local-data", default=None, help="Tatoeba fra.txt to read instead of downloading")
    parser.add_argument("--samples", type=int, default=50, help="pairs to translate")
    parser.add_argument("--shots", type=int, nargs="+", default=[0, 1, 5], help="numbers of examples to compare")
    parser.add_argument("--seed", type=int, default=0, help="seed of the samples")
    parser.add_argument("--chat", action="store_true", help="wrap prompts in the model's chat template")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    registry = load_registry()
    model = args.model or registry.default_model
    pairs = [p for p in load_pairs(args.local_data) if 3 <= len(p[0].split()) <= 12]
    picked = sample_pairs(pairs, args.samples + max(args.shots), seed=args.seed)
    pool = [Shot(en, fr) for en, fr in picked[: max(args.shots)]]
    queries = picked[max(args.shots) :]
    rows = score(Engine(registry), model, queries, pool, sorted(args.shots), args.chat)
    print(f"EN->FR on {len(queries)} Tatoeba pairs (seed {args.seed}), model {model}, greedy")
    print("| setting | exact match | chrF | seconds |")
    print("|---|---:|---:|---:|")
    for name, exact, chrf, seconds, _ in rows:
        print(f"| {name} | {100 * exact:.1f}% | {chrf:.1f} | {seconds:.0f} |")
    for name, *_, examples in rows:
        print(f"{name} examples: {examples}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
