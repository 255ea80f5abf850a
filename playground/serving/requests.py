"""What crosses the seam into a backend: requests already checked at the door.

The engine builds each of these once, in :mod:`playground.engine.validation` (names,
settings ranges, prompt length and room in the context, flags, the seed rule, a branch's
tokens), so a backend never checks them again: it runs them. They are frozen; the
``cancel`` event and the ``visitor`` key are the only ways a caller still reaches a running
request.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from playground.serving.visitor_keys import Visitor
from playground.settings import GenerationSettings

ScoredWindow = tuple[list[int], list[int]]  # (input_ids, labels): a label of -100 is not scored


@dataclass(frozen=True)
class GenerationRequest:
    """One generation, valid: the tokens to continue, the settings (seed fixed), the limits and who asks."""

    model: str  # registry name of the base model
    adapter: str | None  # registry name of the adapter, None for the base
    prompt_ids: tuple[int, ...]  # the tokens to continue, already cut to leave room for max_new_tokens
    settings: GenerationSettings  # checked, seed fixed by GenerationSettings.seeded (None exactly when greedy)
    started: float  # time.monotonic() when the door accepted it
    time_limit_s: float  # wall-clock limit, counted from its admission (locally: to the batch)
    cancel: threading.Event | None = None  # set by the caller's side (Stop): the request ends at its next step
    visitor: Visitor | str | None = None  # who asks (a session, an address), for fair shares
    record: bool = False  # send each token's probabilities and alternatives (Token.choice)
    forced: tuple[int, ...] = ()  # the first tokens to write, whatever the model prefers (a branch)
    truncated_tokens: int = 0  # tokens the door dropped from the start of the prompt
    warnings: tuple[str, ...] = ()  # what the door found that the user should know (a Message each)

    @property
    def seed(self) -> int | None:
        """The sampling seed (None when greedy)."""
        return self.settings.seed


@dataclass(frozen=True)
class NextTokensRequest:
    """The lab's question, valid: the ``top`` likely tokens after ``ids``, raw and as ``settings`` reshape them."""

    model: str
    adapter: str | None
    ids: tuple[int, ...]  # the prompt's tokens, already cut to the context
    settings: GenerationSettings
    top: int = 10
    visitor: Visitor | str | None = None  # who asks, for fair shares
    cancel: threading.Event | None = None  # set by the caller's side: it stops (GenerationError)


@dataclass(frozen=True)
class ScoreRequest:
    """Compare's question, valid: each labelled token's NLL, argmax and true token over ``windows``."""

    model: str
    adapter: str | None
    windows: tuple[ScoredWindow, ...]
    visitor: Visitor | str | None = None  # who asks, for fair shares
    cancel: threading.Event | None = None  # set by the caller's side: it stops (GenerationError)
