"""The seam between the engine and whatever runs a model: the :class:`Backend` protocol.

:class:`~playground.engine.Engine` checks a request once, at the door
(:mod:`playground.engine.validation`), and hands the backend a
:class:`~playground.serving.requests.GenerationRequest` already valid; the backend runs it
and sends what happens, token by token, as :class:`Token` and :class:`Finished` events on a
:class:`Submission`. Two backends exist:

- :class:`~playground.serving.local_backend.LocalBackend`: the models in this process
  (loader, per-model batcher, sources);
- :class:`~playground.serving.remote_backend.RemoteBackend`: an OpenAI-compatible server
  (vLLM first), the adapter chosen per request.

Besides generation a backend answers the lab's next-token view (:meth:`Backend.next_tokens`)
and the Compare tab's scoring (:meth:`Backend.score`); :class:`Capabilities` says which
of these it can do (and whether it can record each generated token's probabilities and
alternatives, or branch an answer: :mod:`playground.serving.token_record`,
:mod:`playground.engine.branching`), so the UI can say so instead of failing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from playground.serving.requests import GenerationRequest, NextTokensRequest, ScoreRequest

if TYPE_CHECKING:
    from playground.serving.token_record import Choice, NextToken

FINISH_REASONS = ("eos", "stop_string", "length", "cancelled", "time_limit", "error")

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Token:
    """A generated token and the text it makes safe to show (empty while held back)."""

    token_id: int
    piece: str
    at: float  # time.monotonic() when it was chosen
    choice: Choice | None = None  # its probabilities and alternatives, when the request records them


@dataclass(frozen=True)
class Finished:
    """The end of a request, always the last thing it receives."""

    reason: str  # one of FINISH_REASONS
    at: float  # time.monotonic() when it ended
    stop_string: str | None = None  # the stop string that ended it
    tail: str = ""  # text released at the end (characters held back until then)
    warning: str | None = None  # something the user should know (time limit)
    error: str | None = None  # what failed, when reason is "error"


@dataclass
class TokenScores:
    """Per-token results of one model on a set of scored windows (the Compare tab's raw figures)."""

    nll: list[float]  # negative log-likelihood of each true next token
    predictions: list[int]  # argmax next-token id at each position
    references: list[int]  # the true next-token id
    seconds: float  # wall-clock time of the scoring


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do for a model, beyond streaming text."""

    next_tokens: bool = True  # the lab's next-token distribution
    exact_adjusted: bool = True  # the adjusted distribution covers the whole vocabulary (else the top candidates)
    scoring: bool = True  # perplexity and next-token accuracy of a text (Compare)
    record_tokens: bool = True  # each generated token's probabilities and alternatives (the token explorer)
    branching: bool = True  # write a chosen token in place of one of an answer's and go on, same seed
    unsupported_settings: frozenset[str] = frozenset()  # settings it ignores (with a warning)


@dataclass(frozen=True)
class Handle:
    """A model ready to serve, as a backend describes it to the engine."""

    model: str  # registry name of the base model
    tokenizer: Any  # encodes prompts and decodes pieces (the model's own)
    source: str  # where it runs / its weights came from, for the status line
    context_length: int  # prompt + new tokens it can take
    vocab_size: int  # token ids 0 to this - 1 are the model's (checks a branch's tokens)


class Submission(Protocol):
    """A running generation: the events it sends, and how to let go of it."""

    started: float

    @property
    def cancelled(self) -> bool:
        """True once the consumer is gone or the caller's ``cancel`` event is set."""

    def receive(self) -> Token | Finished | None:
        """Block until the next event; None when woken by :meth:`abandon`."""

    def abandon(self) -> None:
        """The consumer is gone: stop generating. Safe from any thread."""


class Backend(Protocol):
    """What the engine needs from whatever runs a model."""

    def prepare(self, model: str, adapter: str | None, progress: Progress | None = None) -> Handle:
        """Make ``model`` ready (load it, reach its server) and check ``adapter``; typed errors otherwise."""

    def check_room(self, model: str) -> None:
        """Raise BusyError, before any work, when the model cannot take another request now."""

    def submit(self, request: GenerationRequest) -> Submission:
        """Start a generation; its events arrive on the returned submission."""

    def capabilities(self, model: str) -> Capabilities:
        """What this backend can do for ``model``."""

    def next_tokens(self, request: NextTokensRequest) -> list[NextToken]:
        """The ``top`` most likely next tokens after the request's ids, raw and as its settings reshape them."""

    def score(self, request: ScoreRequest) -> TokenScores:
        """Each labelled token's NLL, the argmax prediction and the true token, over the request's windows."""

    def close(self, wait_s: float = 0.0) -> None:
        """Let go of everything (models, connections); with ``wait_s``, wait for workers to exit."""
