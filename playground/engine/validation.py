"""The door: a generation is checked here once, and leaves as a valid request.

:meth:`Validation.generation` turns what a caller asks (:class:`GenerationAsk`, the
arguments of :meth:`Engine.stream <playground.engine.Engine.stream>`) into a
:class:`~playground.serving.requests.GenerationRequest` that the engine, branching and the
backends take as valid and never check again (TGI's router validates the same way). In order,
each raising a typed error that names the field, before any work and changing nothing:

1. the model and adapter names (:class:`~playground.errors.UnknownModelError`), the
   settings' types and ranges (:meth:`GenerationSettings.from_dict
   <playground.settings.GenerationSettings.from_dict>`), the prompt (text, not empty, at
   most ``limits.max_prompt_chars``), the ``use_prompt_style`` and ``record_tokens`` flags,
   the instruction's ``prompt_input``, and room for ``max_new_tokens`` in the model's context
   (:class:`~playground.errors.SettingsError`);
2. the model made ready by its backend (:class:`~playground.errors.ModelLoadError`);
3. what the backend can do: recording tokens, branching
   (:class:`~playground.errors.UnsupportedError`); a branch's tokens against the model's
   vocabulary (:meth:`Branch.checked <playground.engine.branching.Branch.checked>`);
4. room in the model's wait queue (:class:`~playground.errors.BusyError`);
5. the prompt's tokens (through the prompt style when asked), not empty, and cut from the
   start to leave room for ``max_new_tokens`` in the served context (a warning says how
   many were dropped); settings the backend ignores (a warning each); the seed fixed by the
   one seed rule (:meth:`GenerationSettings.seeded <playground.settings.GenerationSettings.seeded>`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from playground.engine.branching import Branch
from playground.errors import SettingsError, UnsupportedError
from playground.messages import Message
from playground.models.prompt_styles import get_style
from playground.models.registry import ModelSpec, Registry
from playground.serving.backend import Backend, Capabilities, Handle, Progress
from playground.serving.requests import GenerationRequest
from playground.serving.visitor_keys import Visitor
from playground.settings import GenerationSettings, check_text

FLAGS = ("use_prompt_style", "record_tokens")  # the request's switches: booleans, nothing else


@dataclass(frozen=True)
class GenerationAsk:
    """A generation as its caller asks for it, nothing checked yet (the arguments of ``Engine.stream``)."""

    model: Any
    prompt: Any
    settings: GenerationSettings | Mapping[str, Any] | None = None  # a mapping overrides the model's defaults
    adapter: Any = None
    use_prompt_style: Any = False  # wrap the prompt in the model's (or adapter's) prompt style
    prompt_input: Any = ""  # the optional input of an instruction (Alpaca's "### Input:")
    record_tokens: Any = False  # record each token's probabilities and alternatives
    branch: Branch | None = None  # write another answer's first tokens and a chosen one, then go on
    time_limit_s: float | None = None  # None: the registry's limits.time_limit_s
    cancel: threading.Event | None = None
    visitor: Visitor | str | None = None


@dataclass(frozen=True)
class CheckedGeneration:
    """What the door lets through: the valid request, the model as its backend describes it, the branch."""

    request: GenerationRequest
    handle: Handle  # the served model: its tokenizer (names the recorded tokens) and its source
    branch: Branch | None  # the branch, normalised (its tokens checked against the vocabulary)


class Validation:
    """The checks of every request against the registry (its names and limits); see the module's docstring."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    # -- the pieces the lab and Compare share ------------------------------------------
    def names(self, model: Any, adapter: Any = None) -> ModelSpec:
        """The model's entry; UnknownModelError for a model, or an adapter of it, not in the registry."""
        spec = self.registry.model(model)
        if adapter is not None:
            self.registry.adapter(adapter, base=model)
        return spec

    def settings(self, model: str, settings: GenerationSettings | Mapping[str, Any] | None) -> GenerationSettings:
        """Validate settings for ``model``: a mapping overrides the model's defaults."""
        spec = self.registry.model(model)
        cap = self.registry.limits.max_new_tokens
        if settings is None:
            return spec.generation.validated(cap)
        if isinstance(settings, GenerationSettings):
            return settings.validated(cap)
        return GenerationSettings.from_dict(settings, max_new_tokens_cap=cap, defaults=spec.generation)

    def prompt(self, prompt: Any) -> str:
        """The prompt, when it is a non-empty text within ``limits.max_prompt_chars``; else SettingsError."""
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

    def tokens(
        self, tokenizer: Any, model: str, prompt: str, use_prompt_style: bool, adapter: str | None, prompt_input: str
    ) -> list[int]:
        """Token ids of ``prompt``, through the model's (or adapter's) prompt style when asked."""
        if use_prompt_style:
            return get_style(self.prompt_style(model, adapter)).encode(tokenizer, prompt, prompt_input)
        if prompt_input:
            raise SettingsError(Message("prompt_input_needs_style", field="prompt_input"))
        return get_style("plain").encode(tokenizer, prompt)

    # -- a generation ------------------------------------------------------------------
    def generation(self, ask: GenerationAsk, backend: Backend, progress: Progress | None = None) -> CheckedGeneration:
        """Check ``ask`` in the order of the module's docstring; the valid request, or the first typed error."""
        spec, settings = self._fields(ask)
        handle = backend.prepare(ask.model, ask.adapter, progress)
        started = time.monotonic()
        can = backend.capabilities(ask.model)
        branch = self._branch(ask, can, handle, spec, settings)
        backend.check_room(ask.model)  # BusyError before any work
        context = min(spec.context_length, handle.context_length)  # a server may take less than the model
        _check_room_for_prompt(settings, spec.name, context)
        ids = self.tokens(handle.tokenizer, spec.name, ask.prompt, ask.use_prompt_style, ask.adapter, ask.prompt_input)
        ids, dropped, warnings = _fit(ids, settings, spec.name, context)
        warnings += _ignored(settings, can, handle.source)
        request = GenerationRequest(
            model=ask.model,
            adapter=ask.adapter,
            prompt_ids=tuple(ids),
            settings=settings.seeded(),
            started=started,
            time_limit_s=ask.time_limit_s if ask.time_limit_s is not None else self.registry.limits.time_limit_s,
            cancel=ask.cancel,
            visitor=ask.visitor,
            record=ask.record_tokens or branch is not None,
            forced=tuple(branch.forced_ids()) if branch is not None else (),
            truncated_tokens=dropped,
            warnings=tuple(warnings),
        )
        return CheckedGeneration(request, handle, branch)

    def _fields(self, ask: GenerationAsk) -> tuple[ModelSpec, GenerationSettings]:
        """Step 1: everything that needs no model loaded."""
        spec = self.names(ask.model, ask.adapter)
        settings = self.settings(ask.model, ask.settings)
        self.prompt(ask.prompt)
        for name in FLAGS:
            if not isinstance(getattr(ask, name), bool):
                raise SettingsError(Message("not_a_boolean", field=name, value=getattr(ask, name)))
        check_text("prompt_input", ask.prompt_input)
        limit = self.registry.limits.max_prompt_chars
        if len(ask.prompt_input) > limit:
            raise SettingsError(
                Message("too_long_chars", field="prompt_input", limit=limit, count=len(ask.prompt_input))
            )
        _check_room_for_prompt(settings, spec.name, spec.context_length)
        return spec, settings

    @staticmethod
    def _branch(
        ask: GenerationAsk, can: Capabilities, handle: Handle, spec: ModelSpec, settings: GenerationSettings
    ) -> Branch | None:
        """Step 3: recording and branching are possible; the branch, checked against the model."""
        if (ask.record_tokens or ask.branch is not None) and not can.record_tokens:
            raise UnsupportedError(Message("no_record_tokens", model=ask.model, source=handle.source))
        if ask.branch is None:
            return None
        if not can.branching:
            raise UnsupportedError(Message("no_branching", model=ask.model, source=handle.source))
        return ask.branch.checked(handle.vocab_size, spec.name, settings)


def _check_room_for_prompt(settings: GenerationSettings, model: str, context: int) -> None:
    """SettingsError when ``max_new_tokens`` leaves no room for a prompt in ``context``."""
    if settings.max_new_tokens >= context:
        raise SettingsError(
            Message("no_room", field="max_new_tokens", value=settings.max_new_tokens, model=model, context=context)
        )


def _fit(ids: list[int], settings: GenerationSettings, model: str, context: int) -> tuple[list[int], int, list[str]]:
    """The prompt's last tokens that leave room for ``max_new_tokens``, how many were dropped, and the warning."""
    if not ids:
        raise SettingsError(Message("no_tokens", field="prompt"))
    room = context - settings.max_new_tokens
    if len(ids) <= room:
        return ids, 0, []
    dropped = len(ids) - room
    warning = Message(
        "prompt_truncated", total=len(ids), dropped=dropped, model=model, context=context, new=settings.max_new_tokens
    )
    return ids[-room:], dropped, [warning]


def _ignored(settings: GenerationSettings, can: Capabilities, source: str) -> list[str]:
    """A warning for each setting the backend ignores that is not at its default."""
    defaults = GenerationSettings()
    return [
        Message("setting_ignored", field=name, source=source)
        for name in sorted(can.unsupported_settings)
        if getattr(settings, name) != getattr(defaults, name)
    ]
