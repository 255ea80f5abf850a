"""Label probabilities of a classification prompt, and their contextual calibration.

A classification prompt ends where a label goes. The model's probability of a label is the
product of its tokens' probabilities (their log-probabilities summed), normalised over the
labels (:func:`label_probabilities`); the predicted label is the most probable one.

Few-shot prompts bias these probabilities: towards the labels of the last examples, the
majority label, labels made of common tokens (Zhao et al. 2021, "Calibrate before use:
improving few-shot performance of language models"). A content-free input such as "N/A" in
place of the query shows the bias: its label probabilities should be uniform, and are not.
Contextual calibration divides each label's probability by the content-free one and
normalises again (their W = diag(p_cf)^-1, b = 0): :func:`calibrated`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def label_probabilities(logprobs: Sequence[float]) -> list[float]:
    """Each label's probability among the labels, from each label's log-probability (a softmax)."""
    top = max(logprobs)
    weights = [math.exp(lp - top) for lp in logprobs]
    total = sum(weights)
    return [w / total for w in weights]


def content_free_bias(probabilities: Sequence[Sequence[float]]) -> list[float]:
    """The label probabilities of the content-free inputs, averaged and normalised: the prompt's bias."""
    mean = [sum(column) / len(probabilities) for column in zip(*probabilities, strict=True)]
    total = sum(mean)
    return [m / total for m in mean]


def calibrated(probabilities: Sequence[float], bias: Sequence[float]) -> list[float]:
    """``probabilities`` corrected for ``bias``: each divided by the bias's, normalised again."""
    weights = [p / max(b, 1e-30) for p, b in zip(probabilities, bias, strict=True)]
    total = sum(weights)
    return [w / total for w in weights]


def predicted(probabilities: Sequence[float]) -> int:
    """The index of the most probable label (the first of equals)."""
    return max(range(len(probabilities)), key=lambda i: probabilities[i])


def accuracy(predictions: Sequence[int], golds: Sequence[int]) -> float:
    """The percentage of ``predictions`` equal to ``golds``."""
    return 100.0 * sum(p == g for p, g in zip(predictions, golds, strict=True)) / len(golds)
