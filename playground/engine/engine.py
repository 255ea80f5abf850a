"""The engine: the one door of every request, above the backends that run it.

``Engine.stream(model, prompt, settings)`` checks the request once
(:mod:`playground.engine.validation`), hands the valid request to the model's backend and
returns a :class:`~playground.engine.stream.GenerationStream` of its text. The lab's
next-token view (:meth:`Engine.inspect`, :meth:`Engine.next_tokens`) and Compare's scoring
(:meth:`Engine.score`) go through the same backends; a backend that cannot do one says so
with :class:`~playground.errors.UnsupportedError`.

Each model is served by a backend (:mod:`playground.serving.backend`): the local one
(models in this process, their requests batched: ``docs/serving.md``) or a remote
OpenAI-compatible server such as vLLM, for the models the registry's ``remote`` entries
name. One request's path through the code: ``docs/architecture.md``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from playground.engine.branching import Branch
from playground.engine.stream import GenerationResult, GenerationStream
from playground.engine.validation import CheckedGeneration, GenerationAsk, Validation
from playground.errors import SettingsError, UnsupportedError
from playground.messages import Message
from playground.models.prompt_styles import get_style
from playground.models.registry import Registry
from playground.serving.backend import FINISH_REASONS, Backend, Capabilities, Handle, TokenScores
from playground.serving.inspection import TokenPiece, fit_context, prompt_tokens
from playground.serving.local_backend import LocalBackend
from playground.serving.requests import NextTokensRequest, ScoredWindow, ScoreRequest
from playground.serving.token_record import NextToken, token_piece
from playground.serving.visitor_keys import Visitor
from playground.settings import GenerationSettings

if TYPE_CHECKING:
    from playground.models.loader import LoadedModel, ModelCache
    from playground.serving.batching import Ending, Step

log = logging.getLogger(__name__)

__all__ = ["FINISH_REASONS", "Engine", "GenerationResult", "GenerationStream", "Inspection"]


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
        self.validation = Validation(registry)  # the door: every request is checked there once
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
        self.validation.names(model, adapter)
        return self.backend(model).prepare(model, adapter, progress)

    def source(self, model: str, progress: Callable[[str], None] | None = None) -> str:
        """Where ``model`` is served from (loading it if needed), for a status line."""
        return self.prepare(model, progress=progress).source

    def models_at_hand(self) -> list[str]:
        """The registry's base models that are loaded, served remotely, or loadable now (nothing is loaded)."""
        return [name for name in self.registry.models if name in self._remote or self.local.at_hand(name)]

    def capabilities(self, model: str) -> Capabilities:
        """What the backend of ``model`` can do besides streaming text."""
        return self.backend(model).capabilities(model)

    # -- checks and prompts ------------------------------------------------------------
    def settings_for(self, model: str, settings: GenerationSettings | Mapping[str, Any] | None) -> GenerationSettings:
        """Validate settings for ``model``: a mapping overrides the model's defaults."""
        return self.validation.settings(model, settings)

    def prompt_style(self, model: str, adapter: str | None = None) -> str:
        """The prompt style of a model, or of the adapter when it was trained with another."""
        return self.validation.prompt_style(model, adapter)

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
        return self.validation.tokens(model.tokenizer, name, prompt, use_prompt_style, adapter, prompt_input)

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
        checked = self.validation.settings(model, settings)
        prompt = self.validation.prompt(prompt)
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
        request = NextTokensRequest(model, adapter, tuple(ids), settings, top, visitor, cancel)
        return self.backend(model).next_tokens(request)

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
        return self.backend(model).score(ScoreRequest(model, adapter, tuple(windows), visitor, cancel))

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
        """Check the request once (:mod:`playground.engine.validation`) and return a stream of its text.

        Raises before any work (and changes nothing) on a bad name, setting or prompt;
        ModelLoadError when the model cannot be loaded; BusyError when its backend cannot take
        it now. ``record_tokens`` fills ``result.tokens`` (:mod:`playground.serving.token_record`);
        ``branch`` writes another answer's first tokens and a chosen one, then goes on with the
        same settings and seed (:mod:`playground.engine.branching`). ``visitor`` names who asks,
        for fair shares (:mod:`playground.serving.visitor_keys`); ``cancel`` stops it.
        """
        ask = GenerationAsk(
            model, prompt, settings, adapter, use_prompt_style, prompt_input, record_tokens, branch, time_limit_s,
            cancel, visitor,
        )  # fmt: skip
        return self.submit(self.validation.generation(ask, self.backend(model), progress))

    def submit(self, checked: CheckedGeneration) -> GenerationStream:
        """Hand a request the door let through to its backend; the stream of its text."""
        request, handle = checked.request, checked.handle
        result = GenerationResult(
            model=request.model,
            adapter=request.adapter,
            source=handle.source,
            license=self.registry.license(request.model, request.adapter),
            prompt_tokens=len(request.prompt_ids),
            truncated_tokens=request.truncated_tokens,
            seed=request.seed,
            warnings=list(request.warnings),
            branch=checked.branch,
        )
        submission = self.backend(request.model).submit(request)
        return GenerationStream(submission, result, partial(token_piece, handle.tokenizer))

    def generate(
        self, model: str, prompt: str, settings: Any = None, adapter: str | None = None, **kwargs: Any
    ) -> GenerationResult:
        """Run a generation to the end and return its result (text in ``result.text``)."""
        stream = self.stream(model, prompt, settings, adapter, **kwargs)
        stream.text()
        return stream.result
