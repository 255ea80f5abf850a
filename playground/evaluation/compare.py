"""Compare a base model with its adapter(s) on held-out text: perplexity and next-token accuracy.

    python -m playground.evaluation.compare adapters/george-sand/recipe.yaml \\
        --local-data ../shared/data/gutenberg-sand            # prints the table
    python -m playground.evaluation.compare adapters/alpaca/recipe.yaml \\
        --local-data ../shared/data/alpaca/alpaca_data_first2000.json --write-card

The held-out text is the recipe's test set (held-out books, or the last Alpaca records),
cut exactly as in training. Models load through the registry, as the app loads them: the
adapter must be registered (or is registered on the fly from its recipe folder).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from playground.data.examples import Example
from playground.evaluation.scoring import score
from playground.models.registry import AdapterSpec, Registry, load_registry

if TYPE_CHECKING:
    from playground.models.loader import LoadedModel

log = logging.getLogger(__name__)


def registry_with_adapter(registry: Registry, spec: AdapterSpec) -> Registry:
    """A copy of ``registry`` whose only adapter is ``spec`` (the one being evaluated)."""
    return dataclasses.replace(registry, adapters={spec.name: spec})


def compare(
    loaded: LoadedModel, adapters: list[str], examples: list[Example], batch_size: int = 8
) -> dict[str, dict[str, float]]:
    """Metrics of the loaded base (key ``"base"``) and of each of its adapters on ``examples``."""
    results = {name or "base": score(loaded, name, examples, batch_size) for name in [None, *adapters]}
    for name, r in results.items():
        log.info("%s: %s", name, r)
    return results


def format_table(results: dict[str, dict[str, float]], base_label: str) -> str:
    """A Markdown table of the results, with the change in perplexity against the base."""
    base_ppl = results["base"]["perplexity"]
    lines = [
        "| model | perplexity | change | next-token accuracy | tokens | seconds |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        label = base_label if name == "base" else f"{base_label} + {name}"
        change = "" if name == "base" else f"{100 * (r['perplexity'] / base_ppl - 1):+.1f}%"
        accuracy = f"{100 * r['accuracy']:.2f}%"
        lines.append(
            f"| {label} | {r['perplexity']:.2f} | {change} | {accuracy} | {r['tokens']:.0f} | {r['seconds']:.1f} |"
        )
    return "\n".join(lines)


def evaluate_recipe(recipe: Any, local: str | None, registry: Registry, adapter_dir: Path) -> tuple[dict, str, dict]:
    """Evaluate a recipe's adapter (in ``adapter_dir``) against its base on the test set."""
    from playground.data.examples import build_splits
    from playground.models.loader import ModelCache

    spec = AdapterSpec(
        name=recipe.name,
        base=recipe.base,
        task=recipe.task,
        language=recipe.language,
        license=recipe.license,
        path=str(adapter_dir.resolve()),
    )
    loaded = ModelCache(registry_with_adapter(registry, spec)).get(recipe.base)
    splits = build_splits(recipe, loaded.tokenizer, local)
    test = splits.test[: recipe.evaluation.max_windows]
    results = compare(loaded, [recipe.name], test)
    return results, format_table(results, recipe.base), splits.description


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    from playground.network import configure_hub_access

    configure_hub_access()
    from playground.adapters.model_card import update_card_metrics
    from playground.adapters.recipe import load_recipe

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("recipe", type=Path, help="adapters/<name>/recipe.yaml")
    parser.add_argument("--local-data", default=None, help="read the data from this file or folder, not the web")
    parser.add_argument("--registry", default=None, help="registry YAML (default: the project's)")
    parser.add_argument("--write-card", action="store_true", help="write the table into the model card")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    recipe = load_recipe(args.recipe)
    registry = load_registry(args.registry) if args.registry else load_registry()
    adapter_dir = args.recipe.parent
    results, table, _ = evaluate_recipe(recipe, args.local_data, registry, adapter_dir)
    print(table)
    if args.write_card:
        (adapter_dir / "metrics.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        update_card_metrics(adapter_dir / "README.md", table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
