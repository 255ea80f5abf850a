"""The streaming generation engine.

``Engine.stream(model, prompt, settings)`` checks everything first (model and adapter
names, settings, prompt, room in the model's wait queue), then returns a
:class:`GenerationStream`: iterate it to get text as tokens arrive; when iteration ends,
``stream.result`` says why it stopped, how many tokens were read and written, the seed,
warnings, and which model, adapter and source answered.

Design notes:

- Decoding runs in the model's batcher (:mod:`playground.batching`): concurrent requests of
  one base model share each decode step, whatever adapter each uses. The stream reads what
  the batcher sends; an error in the model reaches the caller as
  :class:`~playground.errors.GenerationError`.
- Closing the stream, dropping it (garbage collection, as when Gradio abandons a handler),
  or setting the ``cancel`` event takes the request out of the batch before the next step;
  ``next()`` returns at once after a ``close()`` from another thread. A wall-clock limit
  per request ends it with a warning.
- Greedy output is token-identical to ``model.generate`` and to the same request run alone:
  each row has its own positions and attention mask, its own logits processors and its own
  seeded generator (see :mod:`playground.sampling`).
- A prompt that does not fit the context with ``max_new_tokens`` is left-truncated, and a
  warning says how many tokens were dropped.
- Stop strings end generation and are never shown (see :mod:`playground.stop_strings`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from playground.batching import FINISH_REASONS, Finished, Request, Token
from playground.branching import Branch
from playground.errors import GenerationError, SettingsError
from playground.loader import LoadedModel, ModelCache
from playground.messages import Message
from playground.prompts import get_style
from playground.registry import Registry
from playground.sampling import TokenChooser
from playground.settings import GenerationSettings, check_text
from playground.token_record import AnswerScore, TokenRecord, score, token_piece
from playground.visitor import Visitor

log = logging.getLogger(__name__)

__all__ = ["FINISH_REASONS", "Engine", "GenerationResult", "GenerationStream"]


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
        return score(self.tokens)

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

    The pieces come from the model's batcher, which runs ahead of a slow reader; ``result``
    follows what was read. Closing the stream (from any thread) or dropping it cancels the
    request.
    """

    def __init__(self, request: Request, result: GenerationResult, piece: Callable[[int], str] | None = None) -> None:
        self.request = request  # the batcher's view of this generation (id, steps taken)
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


class Engine:
    """Validates requests and streams generations from the models of a registry."""

    def __init__(self, registry: Registry, cache: ModelCache | None = None) -> None:
        self.registry = registry
        self.cache = cache or ModelCache(registry)

    # -- checks -----------------------------------------------------------------
    def settings_for(self, model: str, settings: GenerationSettings | Mapping[str, Any] | None) -> GenerationSettings:
        """Validate settings for ``model``: a mapping overrides the model's defaults."""
        spec = self.registry.model(model)
        cap = self.registry.limits.max_new_tokens
        if settings is None:
            return spec.generation.validated(cap)
        if isinstance(settings, GenerationSettings):
            return settings.validated(cap)
        return GenerationSettings.from_dict(settings, max_new_tokens_cap=cap, defaults=spec.generation)

    def _check_prompt(self, prompt: Any) -> str:
        check_text("prompt", prompt)
        if prompt == "":
            raise SettingsError(Message("empty", field="prompt"))
        limit = self.registry.limits.max_prompt_chars
        if len(prompt) > limit:
            raise SettingsError(Message("prompt_too_long", field="prompt", count=len(prompt), limit=limit))
        return prompt

    def prompt_style(self, model: str, adapter: str | None = None) -> str:
        """The prompt style of a model, or of the adapter when it was trained with another."""
        spec = self.registry.model(model)
        if adapter is not None:
            return self.registry.adapter(adapter, base=model).prompt_style or spec.prompt_style
        return spec.prompt_style

    def render(self, model: str, prompt: str, adapter: str | None = None, prompt_input: str = "") -> str:
        """The exact text given to the model when its (or the adapter's) prompt style is used."""
        loaded = self.cache.get(model)
        return get_style(self.prompt_style(model, adapter)).render(loaded.tokenizer, prompt, prompt_input)

    def encode(
        self,
        loaded: LoadedModel,
        prompt: str,
        use_prompt_style: bool,
        adapter: str | None = None,
        prompt_input: str = "",
    ) -> list[int]:
        """Token ids of ``prompt``, through the model's (or adapter's) prompt style when asked.

        ``prompt_input`` is the optional input of an instruction (Alpaca's "### Input:").
        """
        if use_prompt_style:
            style = self.prompt_style(loaded.spec.name, adapter)
            return get_style(style).encode(loaded.tokenizer, prompt, prompt_input)
        if prompt_input:
            raise SettingsError(Message("prompt_input_needs_style", field="prompt_input"))
        return get_style("plain").encode(loaded.tokenizer, prompt)

    # -- generation -------------------------------------------------------------
    def stream(
        self,
        model: str,
        prompt: str,
        settings: GenerationSettings | Mapping[str, Any] | None = None,
        adapter: str | None = None,
        *,
        use_prompt_style: bool = False,
        prompt_input: str = "",
        cancel: threading.Event | None = None,
        time_limit_s: float | None = None,
        progress: Callable[[str], None] | None = None,
        record_tokens: bool = False,
        branch: Branch | None = None,
        visitor: Visitor | str | None = None,
    ) -> GenerationStream:
        """Check the request and return a stream of its text.

        Raises before any work (and changes nothing) on a bad model or adapter name, a bad
        setting or a bad prompt; raises ModelLoadError when the model cannot be loaded, and
        BusyError when ``limits.max_waiting`` requests already wait for the model. The
        request is queued for the model's batcher, which starts it at its next step.

        ``record_tokens`` fills ``result.tokens``: every generated token's probability, raw
        and as sampled, and its alternatives (:mod:`playground.token_record`); the text is
        the same with or without it. ``branch`` writes another generation's first tokens
        and a chosen token in place of one of them, then continues with the same settings
        and seed (:mod:`playground.branching`); its tokens are recorded.

        ``visitor`` names who asks (a session and its address, :mod:`playground.visitor`):
        one session holds at most ``limits.max_rows_per_visitor`` rows of the batch, one
        address ``limits.max_rows_per_address``; the time limit counts from
        the request's admission to the batch.
        """
        spec = self.registry.model(model)
        if adapter is not None:
            self.registry.adapter(adapter, base=model)
        checked = self.settings_for(model, settings)
        prompt = self._check_prompt(prompt)
        if not isinstance(use_prompt_style, bool):
            raise SettingsError(Message("not_a_boolean", field="use_prompt_style", value=use_prompt_style))
        if not isinstance(record_tokens, bool):
            raise SettingsError(Message("not_a_boolean", field="record_tokens", value=record_tokens))
        check_text("prompt_input", prompt_input)
        if len(prompt_input) > self.registry.limits.max_prompt_chars:
            raise SettingsError(
                Message(
                    "too_long_chars",
                    field="prompt_input",
                    limit=self.registry.limits.max_prompt_chars,
                    count=len(prompt_input),
                )
            )
        if checked.max_new_tokens >= spec.context_length:
            raise SettingsError(
                Message(
                    "no_room",
                    field="max_new_tokens",
                    value=checked.max_new_tokens,
                    model=spec.name,
                    context=spec.context_length,
                )
            )
        loaded = self.cache.get(model, progress=progress)
        started = time.monotonic()
        loaded.forward_kwargs(adapter)  # refuses an adapter that failed to attach
        branch = branch.checked(loaded, checked) if branch is not None else None
        forced = branch.forced_ids() if branch is not None else ()
        batcher = loaded.batcher
        if batcher is None:
            raise GenerationError(f"model {model!r} has no batcher (not loaded through ModelCache)")
        batcher.check_room()  # BusyError before any work
        result = GenerationResult(
            model=model,
            adapter=adapter,
            source=loaded.source,
            license=self.registry.license(model, adapter),
            branch=branch,
        )
        prompt_ids = self.encode(loaded, prompt, use_prompt_style, adapter, prompt_input)
        if not prompt_ids:
            raise SettingsError(Message("no_tokens", field="prompt"))
        room = spec.context_length - checked.max_new_tokens
        if len(prompt_ids) > room:
            result.truncated_tokens = len(prompt_ids) - room
            prompt_ids = prompt_ids[-room:]
            result.warnings.append(
                Message(
                    "prompt_truncated",
                    total=room + result.truncated_tokens,
                    dropped=result.truncated_tokens,
                    model=spec.name,
                    context=spec.context_length,
                    new=checked.max_new_tokens,
                )
            )
        result.prompt_tokens = len(prompt_ids)
        limit = time_limit_s if time_limit_s is not None else self.registry.limits.time_limit_s
        chooser = TokenChooser(checked, loaded.device)
        result.seed = chooser.seed
        record = record_tokens or branch is not None
        request = Request(
            prompt_ids, checked, adapter, chooser, started, limit, cancel, visitor, record=record, forced=forced
        )
        batcher.submit(request)
        return GenerationStream(request, result, partial(token_piece, loaded.tokenizer))

    def generate(
        self, model: str, prompt: str, settings: Any = None, adapter: str | None = None, **kwargs: Any
    ) -> GenerationResult:
        """Run a generation to the end and return its result (text in ``result.text``)."""
        stream = self.stream(model, prompt, settings, adapter, **kwargs)
        stream.text()
        return stream.result
