"""Seeded train/validation split of a sequence of text units, in contiguous blocks."""

from __future__ import annotations

import random
from collections.abc import Sequence


def train_validation_split(
    units: Sequence[str], validation_fraction: float, seed: int, block: int = 32
) -> tuple[list[str], list[str]]:
    """Split ``units`` (e.g. sentences, in reading order) into train and validation lists.

    Units are grouped in blocks of ``block`` consecutive units and whole blocks go to
    validation, so validation text is not surrounded by its own neighbours in training.
    The same seed gives the same split. Short texts use smaller blocks (at least four
    blocks), so that there is something on both sides.
    """
    if not 0.0 < validation_fraction < 1.0:
        raise ValueError(f"validation_fraction: {validation_fraction} must be in (0, 1)")
    block = max(1, min(block, len(units) // 4))
    blocks = [list(units[i : i + block]) for i in range(0, len(units), block)]
    if len(blocks) < 2:
        raise ValueError("train_validation_split: too little text to split")
    order = list(range(len(blocks)))
    random.Random(seed).shuffle(order)
    n_val = max(1, round(len(blocks) * validation_fraction))
    val_ids = set(order[:n_val])
    train = [u for i, b in enumerate(blocks) if i not in val_ids for u in b]
    val = [u for i, b in enumerate(blocks) if i in val_ids for u in b]
    return train, val
