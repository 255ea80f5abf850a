"""The streaming generation engine.

``Engine.stream(model, prompt, settings)`` checks everything first (model and adapter
names, settings, prompt, room in the model's wait queue), then returns a
:class:`GenerationStream`: iterate it to get text as tokens arrive; when iteration ends,
``stream.result`` says why it stopped, how many tokens were read and written, the seed,
warnings, and which model, adapter and source answered.

Design notes:

- The engine talks to a :class:`~playground.serving.backend.Backend` per model: the local backend
  (:mod:`playground.serving.local_backend`: models in this process, their requests batched as
  :mod:`playground.serving.batching` describes), or a remote one (:mod:`playground.serving.remote_backend`: an
  OpenAI-compatible server such as vLLM) for the models the registry's ``remote`` entries
  name. The stream reads what the backend sends; an error in the model reaches the caller as
  :class:`~playground.errors.GenerationError`.
- The lab's next-token view (:meth:`Engine.next_tokens`) and the Compare tab's scoring
  (:meth:`Engine.score`, which :func:`playground.evaluation.scoring.score_text` feeds with a
  text's windows) go through the same backends; a backend that cannot do one says
  so with :class:`~playground.errors.UnsupportedError`.
- Closing the stream, dropping it (garbage collection, as when Gradio abandons a handler),
  or setting the ``cancel`` event takes the request out of the batch before the next step;
  ``next()`` returns at once after a ``close()`` from another thread. A wall-clock limit
  per request ends it with a warning.
- Greedy output is token-identical to ``model.generate`` and to the same request run alone
  (how, batched with others: :mod:`playground.serving.batching`).
- A prompt that does not fit the context with ``max_new_tokens`` is left-truncated, and a
  warning says how many tokens were dropped.
- Stop strings end generation and are never shown (see :mod:`playground.serving.stop_strings`).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from playground.engine.branching import Branch
from playground.errors import GenerationError, SettingsError, UnsupportedError
from playground.messages import Message
from playground.models.prompt_styles import get_style
from playground.models.registry import Registry
from playground.serving.backend import (
    FINISH_REASONS,
    Backend,
    Capabilities,
    Finished,
    Handle,
    Job,
    ScoredWindow,
    Submission,
    Token,
    TokenScores,
)
from playground.serving.inspection import TokenPiece, fit_context, prompt_tokens
from playground.serving.local_backend import LocalBackend
from playground.serving.token_record import AnswerScore, NextToken, TokenRecord, token_piece
from playground.serving.token_record import score as score_answer
from playground.serving.visitor_keys import Visitor
from playground.settings import GenerationSettings, check_text

if TYPE_CHECKING:
    from playground.models.loader import LoadedModel, ModelCache
    from playground.serving.batching import Ending, Step

log = logging.getLogger(__name__)

__all__ = ["FINISH_REASONS", "Engine", "GenerationResult", "GenerationStream", "Inspection"]


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


def _check_room_for_prompt(settings: GenerationSettings, model: str, context: int) -> None:
    if settings.max_new_tokens >= context:
        raise SettingsError(
            Message("no_room", field="max_new_tokens", value=settings.max_new_tokens, model=model, context=context)
        )


@dataclass(frozen=True)
class Inspection:
    """What the lab shows under a prompt: its tokens and the next-token distribution."""

    ids: list[int]
    pieces: list[TokenPiece]
    distribution: list[NextToken]  # empty when the backend cannot give it (see ``missing``)
    missing: str | None = None  # why the distribution is missing (a Message), else None
    warning: str | None = None  # the prompt was cut to fit the context (a Message), else None


class Engine:
    """Validates requests and streams generations from the models of a registry.

    Each model is served by a backend: the local one, or a remote server named by the
    registry's ``remote`` entries (``remote`` maps model names to backends, for tests and
    tools that build their own).
    """

    def __init__(
        self, registry: Registry, cache: ModelCache | None = None, remote: Mapping[str, Backend] | None = None
    ) -> None:
        self.registry = registry
        self.local = LocalBackend(registry, cache)
        self._remote: dict[str, Backend] = dict(remote or {})
        if registry.remote:
            from playground.serving.remote_backend import RemoteBackend

            for name, spec in registry.remote.items():
                self._remote.setdefault(name, RemoteBackend(registry, spec))

    @property
    def cache(self) -> ModelCache:
        """The local backend's cache of loaded models."""
        return self.local.cache

    def backend(self, model: str) -> Backend:
        """The backend that serves ``model`` (UnknownModelError for a name not in the registry)."""
        self.registry.model(model)
        return self._remote.get(model, self.local)

    def close(self, wait_s: float = 0.0) -> None:
        """Let go of every model and connection; with ``wait_s``, wait for batch workers to exit."""
        for backend in [self.local, *self._remote.values()]:
            backend.close(wait_s)

    def ended(self) -> dict[str, list[Ending]]:
        """How the latest requests of each locally loaded model ended (its batcher's record), by model."""
        return self.local.ended()

    def latest_steps(self) -> dict[str, list[Step]]:
        """The latest forward passes of each locally loaded model (its batcher's record), by model."""
        return self.local.latest_steps()

    def prepare(self, model: str, adapter: str | None = None, progress: Callable[[str], None] | None = None) -> Handle:
        """Check the names, make the model ready (load it or reach its server) and describe it."""
        self.registry.model(model)
        if adapter is not None:
            self.registry.adapter(adapter, base=model)
        return self.backend(model).prepare(model, adapter, progress)

    def source(self, model: str, progress: Callable[[str], None] | None = None) -> str:
        """Where ``model`` is served from (loading it if needed), for a status line."""
        return self.prepare(model, progress=progress).source

    def capabilities(self, model: str) -> Capabilities:
        """What the backend of ``model`` can do besides streaming text."""
        return self.backend(model).capabilities(model)

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
        tokenizer = self.prepare(model).tokenizer
        return get_style(self.prompt_style(model, adapter)).render(tokenizer, prompt, prompt_input)

    def encode(
        self,
        model: str | Handle | LoadedModel,
        prompt: str,
        use_prompt_style: bool,
        adapter: str | None = None,
        prompt_input: str = "",
    ) -> list[int]:
        """Token ids of ``prompt``, through the model's (or adapter's) prompt style when asked.

        ``model`` is a registry name, or a model already at hand (a handle or a loaded
        model). ``prompt_input`` is the optional input of an instruction (Alpaca's
        "### Input:").
        """
        if isinstance(model, str):
            model = self.prepare(model)
        name = model.model if isinstance(model, Handle) else model.spec.name
        if use_prompt_style:
            return get_style(self.prompt_style(name, adapter)).encode(model.tokenizer, prompt, prompt_input)
        if prompt_input:
            raise SettingsError(Message("prompt_input_needs_style", field="prompt_input"))
        return get_style("plain").encode(model.tokenizer, prompt)

    # -- looking inside ------------------------------------------------------------
    def inspect(
        self,
        model: str,
        prompt: str,
        settings: GenerationSettings | Mapping[str, Any] | None = None,
        adapter: str | None = None,
        top: int = 10,
        progress: Callable[[str], None] | None = None,
        visitor: Visitor | str | None = None,
        cancel: threading.Event | None = None,
    ) -> Inspection:
        """The tokens of ``prompt`` (as given, no prompt style) and the ``top`` likely next tokens.

        A prompt longer than the model's context loses its start (``warning`` says so). When
        the model's backend cannot give the distribution, ``distribution`` is empty and
        ``missing`` says why, so the caller can say so. ``visitor`` and ``cancel`` as for
        :meth:`next_tokens`.
        """
        checked = self.settings_for(model, settings)
        prompt = self._check_prompt(prompt)
        handle = self.prepare(model, adapter, progress)
        ids = self.encode(handle, prompt, use_prompt_style=False)
        if not ids:
            raise SettingsError(Message("no_tokens", field="prompt"))
        ids, cut = fit_context(ids, handle.context_length, model)
        pieces = prompt_tokens(handle.tokenizer, ids)
        try:
            distribution = self.next_tokens(model, ids, checked, adapter, top, visitor=visitor, cancel=cancel)
        except UnsupportedError as exc:
            return Inspection(ids, pieces, [], missing=exc.args[0], warning=cut)
        return Inspection(ids, pieces, distribution, warning=cut)

    def next_tokens(
        self,
        model: str,
        ids: list[int],
        settings: GenerationSettings,
        adapter: str | None = None,
        top: int = 10,
        *,
        visitor: Visitor | str | None = None,
        cancel: threading.Event | None = None,
    ) -> list[NextToken]:
        """The ``top`` most likely tokens after ``ids``, raw and as ``settings`` reshape them.

        Locally a job of the model's batcher (fed between the decode steps of the generating
        rows, ``visitor``'s share); setting ``cancel`` stops it (GenerationError).
        """
        self.prepare(model, adapter)
        if not self.capabilities(model).next_tokens:
            raise UnsupportedError(Message("no_next_tokens", model=model, source=self.source(model)))
        return self.backend(model).next_tokens(model, adapter, list(ids), settings, top, visitor, cancel)

    def check_scoring(self, model: str) -> None:
        """Raise UnsupportedError, before any work, when the backend of ``model`` cannot score a text."""
        if not self.capabilities(model).scoring:
            raise UnsupportedError(Message("no_scoring", model=model, source=self.source(model)))

    def score(
        self,
        model: str,
        adapter: str | None,
        windows: list[ScoredWindow],
        *,
        visitor: Visitor | str | None = None,
        cancel: threading.Event | None = None,
    ) -> TokenScores:
        """Each labelled token's NLL, argmax and true token over ``windows`` ((input_ids, labels) pairs).

        Raises UnsupportedError when the model's backend cannot score. Locally the windows are
        a job of the model's batcher (``visitor``'s share); setting ``cancel`` stops it
        (GenerationError). :func:`playground.evaluation.scoring.score_text` cuts a text into
        windows and summarises the result (perplexity, accuracy).
        """
        self.prepare(model, adapter)
        self.check_scoring(model)
        return self.backend(model).score(model, adapter, list(windows), visitor, cancel)

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
        BusyError when the model's backend cannot take it now (``limits.max_waiting`` requests
        already wait for a local model; a remote server answers busy). The request is handed
        to the model's backend (queued for its batcher, or sent to its server).

        ``record_tokens`` fills ``result.tokens``: every generated token's probability, raw
        and as sampled, and its alternatives (:mod:`playground.serving.token_record`); the text is
        the same with or without it. ``branch`` writes another generation's first tokens
        and a chosen token in place of one of them, then continues with the same settings
        and seed (:mod:`playground.engine.branching`); its tokens are recorded.

        ``visitor`` names who asks (a session and its address, :mod:`playground.serving.visitor_keys`):
        one session holds at most ``limits.max_rows_per_visitor`` rows of the batch, one
        address ``limits.max_rows_per_address``; the time limit counts from the request's
        admission to the batch. A backend that cannot record tokens (or branch) raises
        UnsupportedError for them, before any work.
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
        _check_room_for_prompt(checked, spec.name, spec.context_length)
        backend = self.backend(model)
        handle = backend.prepare(model, adapter, progress)
        started = time.monotonic()
        record = record_tokens or branch is not None
        can = backend.capabilities(model)
        if record and not can.record_tokens:
            raise UnsupportedError(Message("no_record_tokens", model=model, source=handle.source))
        if branch is not None and not can.branching:
            raise UnsupportedError(Message("no_branching", model=model, source=handle.source))
        branch = branch.checked(handle.vocab_size, spec.name, checked) if branch is not None else None
        backend.check_room(model)  # BusyError before any work
        context = min(spec.context_length, handle.context_length)  # a server may take less than the model
        _check_room_for_prompt(checked, spec.name, context)
        result = GenerationResult(
            model=model,
            adapter=adapter,
            source=handle.source,
            license=self.registry.license(model, adapter),
            branch=branch,
        )
        prompt_ids = self.encode(handle, prompt, use_prompt_style, adapter, prompt_input)
        if not prompt_ids:
            raise SettingsError(Message("no_tokens", field="prompt"))
        room = context - checked.max_new_tokens
        if len(prompt_ids) > room:
            result.truncated_tokens = len(prompt_ids) - room
            prompt_ids = prompt_ids[-room:]
            result.warnings.append(
                Message(
                    "prompt_truncated",
                    total=room + result.truncated_tokens,
                    dropped=result.truncated_tokens,
                    model=spec.name,
                    context=context,
                    new=checked.max_new_tokens,
                )
            )
        for name in sorted(backend.capabilities(model).unsupported_settings):
            if getattr(checked, name) != getattr(GenerationSettings(), name):
                result.warnings.append(Message("setting_ignored", field=name, source=handle.source))
        result.prompt_tokens = len(prompt_ids)
        limit = time_limit_s if time_limit_s is not None else self.registry.limits.time_limit_s
        if not checked.greedy:
            result.seed = checked.seed if checked.seed is not None else secrets.randbits(31)
        forced = tuple(branch.forced_ids()) if branch is not None else ()
        job = Job(model, adapter, prompt_ids, checked, result.seed, started, limit, cancel, visitor, record, forced)
        request = backend.submit(job)
        return GenerationStream(request, result, partial(token_piece, handle.tokenizer))

    def generate(
        self, model: str, prompt: str, settings: Any = None, adapter: str | None = None, **kwargs: Any
    ) -> GenerationResult:
        """Run a generation to the end and return its result (text in ``result.text``)."""
        stream = self.stream(model, prompt, settings, adapter, **kwargs)
        stream.text()
        return stream.result
