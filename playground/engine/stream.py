"""What one generation sends back: a stream of its text, and the result it fills in as it runs.

:class:`GenerationStream` reads the events of a backend's submission (its batcher's queue,
or a remote server's stream): iterate it to get text as tokens arrive; when iteration ends,
``stream.result`` (:class:`GenerationResult`) says why it stopped, how many tokens were read
and written, the seed, warnings, and which model, adapter and source answered. Closing the
stream, dropping it (garbage collection, as when Gradio abandons a handler), or setting the
request's ``cancel`` event takes the request out of the batch before the next step;
``next()`` returns at once after a ``close()`` from another thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from playground.engine.branching import Branch
from playground.errors import GenerationError
from playground.serving.backend import Finished, Submission, Token
from playground.serving.token_record import AnswerScore, TokenRecord
from playground.serving.token_record import score as score_answer


@dataclass
class GenerationResult:
    """What happened in one generation, filled in as it runs."""

    model: str  # registry name of the base model
    adapter: str | None  # registry name of the adapter, None for the base
    source: str  # where the weights came from
    license: str  # license of the model (and adapter)
    prompt_tokens: int = 0  # tokens given to the model, after any truncation
    truncated_tokens: int = 0  # tokens dropped from the start of the prompt
    token_ids: list[int] = field(default_factory=list)  # generated ids, stop string included
    text: str = ""  # the text shown (stop string excluded)
    finish_reason: str | None = None  # one of FINISH_REASONS once finished
    stop_string: str | None = None  # the stop string that ended it, if any
    seed: int | None = None  # seed of the sampling generator; None when greedy
    warnings: list[str] = field(default_factory=list)  # things the user should know
    elapsed_s: float = 0.0  # wall-clock time from the loaded model to the last token
    first_token_s: float | None = None  # time to the first generated token (model loaded)
    tokens: list[TokenRecord] = field(default_factory=list)  # one per generated token, when recorded
    branch: Branch | None = None  # where this generation branches from another one

    @property
    def score(self) -> AnswerScore | None:
        """Total and per-token log-probability and perplexity of the recorded tokens (None if not recorded)."""
        return score_answer(self.tokens)

    @property
    def completion_tokens(self) -> int:
        """Number of tokens generated."""
        return len(self.token_ids)

    @property
    def tokens_per_s(self) -> float:
        """Generated tokens per second of wall-clock time."""
        return self.completion_tokens / self.elapsed_s if self.elapsed_s > 0 else 0.0


class GenerationStream:
    """An iterator of text pieces; ``result`` is complete once iteration ends.

    The pieces come from the model's backend (its batcher, or a remote server), which runs
    ahead of a slow reader; ``result`` follows what was read. Closing the stream (from any
    thread) or dropping it cancels the request.
    """

    def __init__(
        self, request: Submission, result: GenerationResult, piece: Callable[[int], str] | None = None
    ) -> None:
        self.request = request  # the backend's view of this generation (for the batcher: id, steps taken)
        self.result = result
        self._piece = piece or str  # names the recorded tokens (the model's tokenizer)
        self._done = False

    def __iter__(self) -> GenerationStream:
        return self

    def __next__(self) -> str:
        while not self._done:
            if self.request.cancelled:
                self._end("cancelled", time.monotonic())
                break
            event = self.request.receive()
            if isinstance(event, Token):
                if self.result.first_token_s is None:
                    self.result.first_token_s = event.at - self.request.started
                self.result.token_ids.append(event.token_id)
                if event.choice is not None:
                    self.result.tokens.append(event.choice.named(self._piece))
                if event.piece:
                    self.result.text += event.piece
                    return event.piece
            elif isinstance(event, Finished):
                self._finished(event)
                if event.tail:
                    return event.tail
        raise StopIteration

    def _finished(self, event: Finished) -> None:
        result = self.result
        if event.reason == "eos" and result.first_token_s is None:
            result.first_token_s = event.at - self.request.started
        result.stop_string = event.stop_string
        if event.warning:
            result.warnings.append(event.warning)
        result.text += event.tail
        self._end(event.reason, event.at)
        if event.error is not None:
            raise GenerationError(event.error)

    def _end(self, reason: str, at: float) -> None:
        if not self._done:
            self._done = True
            self.result.finish_reason = self.result.finish_reason or reason
            self.result.elapsed_s = at - self.request.started

    def close(self) -> None:
        """Stop generating now; ``result.finish_reason`` becomes ``cancelled`` if it had not ended."""
        self.request.abandon()
        self._end("cancelled", time.monotonic())

    def __del__(self) -> None:
        request = getattr(self, "request", None)
        if request is not None:
            request.abandon()

    def text(self) -> str:
        """Drain the stream and return the whole text."""
        for _ in self:
            pass
        return self.result.text
