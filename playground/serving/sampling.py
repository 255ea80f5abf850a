"""Choosing the next token from the model's logits, one request at a time.

The logits processors are transformers' own (repetition penalty, no-repeat n-gram,
temperature, top-k, top-p), applied in the order ``model.generate`` applies them, so
results match it. Sampling draws from a ``torch.Generator`` owned by the request, seeded
from the settings: concurrent requests never share random state, and a seed reproduces
an answer exactly.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers import (
    LogitsProcessorList,
    NoRepeatNGramLogitsProcessor,
    RepetitionPenaltyLogitsProcessor,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
)

from playground.settings import GenerationSettings


def build_processors(settings: GenerationSettings) -> LogitsProcessorList:
    """The logits processors and warpers ``settings`` asks for, in generate's order."""
    procs = LogitsProcessorList()
    if settings.repetition_penalty != 1.0:
        procs.append(RepetitionPenaltyLogitsProcessor(penalty=settings.repetition_penalty))
    if settings.no_repeat_ngram_size > 0:
        procs.append(NoRepeatNGramLogitsProcessor(settings.no_repeat_ngram_size))
    if not settings.greedy:
        if settings.temperature != 1.0:
            procs.append(TemperatureLogitsWarper(settings.temperature))
        if settings.top_k > 0:
            procs.append(TopKLogitsWarper(top_k=settings.top_k))
        if settings.top_p < 1.0:
            procs.append(TopPLogitsWarper(top_p=settings.top_p))
    return procs


class TokenChooser:
    """Picks each next token for one request: argmax when greedy, else a seeded draw."""

    def __init__(self, settings: GenerationSettings, device: Any) -> None:
        self.settings = settings
        self.processors = build_processors(settings)
        self.seed = settings.seeded().seed  # GenerationSettings.seeded: None when greedy
        self.generator: torch.Generator | None = None
        if self.seed is not None:
            self.generator = torch.Generator(device=device).manual_seed(self.seed)

    def scores(self, input_ids: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        """Processed scores (log-space) for the last position; ``logits`` is (batch, vocab)."""
        return self.processors(input_ids, logits.float())

    def choose(self, input_ids: torch.Tensor, logits: torch.Tensor) -> tuple[int, torch.Tensor]:
        """The next token id for a single sequence, and the processed scores it was chosen from."""
        scores = self.scores(input_ids, logits)
        if self.generator is None:
            return int(torch.argmax(scores, dim=-1)[0]), scores
        probs = torch.softmax(scores, dim=-1)
        return int(torch.multinomial(probs, num_samples=1, generator=self.generator)[0, 0]), scores

    def __call__(self, input_ids: torch.Tensor, logits: torch.Tensor) -> int:
        """Return the next token id for a single sequence."""
        return self.choose(input_ids, logits)[0]
