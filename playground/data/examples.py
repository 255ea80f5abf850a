"""Training, validation and held-out examples (token ids and labels) for a recipe.

- gutenberg: the books are cleaned, split into sentences and into a seeded train /
  validation split; the sentences are joined and cut into windows of ``seq_len`` tokens.
  Held-out books give the test windows.
- alpaca: each record is the Alpaca prompt, the response and EOS, the loss on the response
  only; the last ``test_records`` records are held out.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from playground.adapters.recipe import Recipe
from playground.data.alpaca import encode_example, load_alpaca
from playground.data.gutenberg import load_book
from playground.data.sentences import split_sentences
from playground.data.split import train_validation_split

log = logging.getLogger(__name__)

IGNORE = -100  # label of a position that takes no loss


@dataclass(frozen=True)
class Example:
    """One training sequence: ids, and labels (-100 where no loss is taken)."""

    input_ids: list[int]
    labels: list[int]


@dataclass
class Splits:
    """The three sets of a recipe."""

    train: list[Example]
    validation: list[Example]
    test: list[Example]
    description: dict[str, Any]  # sizes and sources, for the model card


def token_windows(tokenizer: Any, texts: list[str], seq_len: int) -> list[Example]:
    """Join ``texts`` with spaces, tokenize, cut into full windows of ``seq_len`` tokens.

    Each window starts with the special tokens the tokenizer puts before any text (Gemma's
    BOS, which it needs; none for GPT-2), with no loss on them, as a prompt would.
    """
    start = list(tokenizer("", add_special_tokens=True)["input_ids"])
    ids = tokenizer(" ".join(texts), add_special_tokens=False)["input_ids"]
    step = seq_len - len(start)
    return [
        Example(start + ids[i : i + step], [IGNORE] * len(start) + ids[i : i + step])
        for i in range(0, len(ids) - step + 1, step)
    ]


def _gutenberg(recipe: Recipe, tokenizer: Any, local: str | Path | None) -> Splits:
    d, t = recipe.data, recipe.training
    train_sentences: list[str] = []
    val_sentences: list[str] = []
    for book in d.train_books:
        sentences = split_sentences(load_book(book, local))
        tr, va = train_validation_split(sentences, d.validation_fraction, seed=t.seed)
        train_sentences += tr
        val_sentences += va
    test_sentences = [s for book in d.test_books for s in split_sentences(load_book(book, local))]
    train = token_windows(tokenizer, train_sentences, t.seq_len)
    validation = token_windows(tokenizer, val_sentences, t.seq_len)
    test = token_windows(tokenizer, test_sentences, t.seq_len)
    info = {
        "train_books": list(d.train_books),
        "test_books": list(d.test_books),
        "sentences": {"train": len(train_sentences), "validation": len(val_sentences), "test": len(test_sentences)},
        "windows": {"train": len(train), "validation": len(validation), "test": len(test)},
    }
    return Splits(train, validation, test, info)


def _alpaca(recipe: Recipe, tokenizer: Any, local: str | Path | None) -> Splits:
    d, t = recipe.data, recipe.training
    records = load_alpaca(local)
    if len(records) <= d.test_records:
        raise ValueError(f"data.test_records: {d.test_records} held out of only {len(records)} records")
    pool, held_out = records[: -d.test_records], records[-d.test_records :]
    if d.train_records:
        pool = pool[: d.train_records]
    encoded = [Example(*encode_example(tokenizer, r, t.seq_len)) for r in pool]
    order = list(range(len(encoded)))
    random.Random(t.seed).shuffle(order)
    n_val = max(1, round(len(encoded) * d.validation_fraction))
    validation = [encoded[i] for i in sorted(order[:n_val])]
    train = [encoded[i] for i in sorted(order[n_val:])]
    test = [Example(*encode_example(tokenizer, r, t.seq_len)) for r in held_out]
    info = {"records": {"train": len(train), "validation": len(validation), "test": len(test)}}
    return Splits(train, validation, test, info)


def build_splits(recipe: Recipe, tokenizer: Any, local: str | Path | None = None) -> Splits:
    """The recipe's train / validation / test examples; ``local`` replaces the download."""
    build = _gutenberg if recipe.data.kind == "gutenberg" else _alpaca
    return build(recipe, tokenizer, local)


def collate(examples: list[Example], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-padded batch tensors: input_ids, attention_mask, labels."""
    width = max(len(e.input_ids) for e in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    labels = torch.full((len(examples), width), -100, dtype=torch.long)
    for row, e in enumerate(examples):
        n = len(e.input_ids)
        ids[row, :n] = torch.tensor(e.input_ids)
        mask[row, :n] = 1
        labels[row, :n] = torch.tensor(e.labels)
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def epoch_order(n: int, seed: int, epoch: int) -> list[int]:
    """The seeded order of ``n`` examples in ``epoch`` (the same on every resume)."""
    order = list(range(n))
    random.Random(seed * 1_000_003 + epoch).shuffle(order)
    return order


def batch_at(examples: list[Example], step: int, batch_size: int, seed: int) -> list[Example]:
    """The examples of optimiser step ``step`` (0-based): deterministic, so runs can resume."""
    per_epoch = max(1, len(examples) // batch_size)
    epoch, index = divmod(step, per_epoch)
    order = epoch_order(len(examples), seed, epoch)
    return [examples[i] for i in order[index * batch_size : (index + 1) * batch_size]]


def batches(examples: list[Example], batch_size: int) -> Iterator[list[Example]]:
    """Consecutive batches, in order (for evaluation)."""
    for i in range(0, len(examples), batch_size):
        yield examples[i : i + batch_size]
