"""The streaming generation engine.

``Engine.stream(model, prompt, settings)`` checks everything first (model and adapter
names, settings, prompt), then returns a :class:`GenerationStream`: iterate it to get text
as tokens arrive; when iteration ends, ``stream.result`` says why it stopped, how many
tokens were read and written, the seed, warnings, and which model, adapter and source
answered.

Design notes:

- The decode loop runs in the caller's thread, one token per ``next()``: there is no
  background thread to lose errors in. An exception in the model reaches the caller as
  :class:`~playground.errors.GenerationError`; closing the stream (or not asking for the
  next piece, as Gradio does on Stop) ends generation at once.
- A ``cancel`` event and a wall-clock limit are checked before every decode step.
- Greedy output is token-identical to ``model.generate``: same forward calls with the KV
  cache, same logits processors (see :mod:`playground.sampling`).
- A prompt that does not fit the context with ``max_new_tokens`` is left-truncated, and a
  warning says how many tokens were dropped.
- Stop strings end generation and are never shown (see :mod:`playground.stop_strings`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from playground.detokenize import IncrementalDetokenizer
from playground.errors import GenerationError, SettingsError
from playground.loader import LoadedModel, ModelCache
from playground.messages import Message
from playground.prompts import get_style
from playground.registry import Registry
from playground.sampling import TokenChooser
from playground.settings import GenerationSettings, check_text
from playground.stop_strings import StopStringFilter

log = logging.getLogger(__name__)

FINISH_REASONS = ("eos", "stop_string", "length", "cancelled", "time_limit", "error")


@dataclass
class GenerationResult:
    """What happened in one generation, filled in as it runs."""

    model: str  # registry name of the base model
    adapter: str | None  # registry name of the adapter, None for the base
    source: str  # where the weights came from
    license: str  # licence of the model (and adapter)
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

    @property
    def completion_tokens(self) -> int:
        """Number of tokens generated."""
        return len(self.token_ids)

    @property
    def tokens_per_s(self) -> float:
        """Generated tokens per second of wall-clock time."""
        return self.completion_tokens / self.elapsed_s if self.elapsed_s > 0 else 0.0


class GenerationStream:
    """An iterator of text pieces; ``result`` is complete once iteration ends."""

    def __init__(self, pieces: Iterator[str], result: GenerationResult) -> None:
        self._pieces = pieces
        self.result = result

    def __iter__(self) -> GenerationStream:
        return self

    def __next__(self) -> str:
        return next(self._pieces)

    def close(self) -> None:
        """Stop generating now; ``result.finish_reason`` becomes ``cancelled``."""
        self._pieces.close()  # type: ignore[attr-defined]

    def text(self) -> str:
        """Drain the stream and return the whole text."""
        for _ in self:
            pass
        return self.result.text


class _Decoder:
    """The per-request decode state: KV cache, ids, token chooser.

    Each method does its tensor work inside its own ``torch.inference_mode()`` block, so
    that no grad mode leaks into the consumer's thread between streamed pieces.
    """

    def __init__(self, loaded: LoadedModel, prompt_ids: list[int], settings: GenerationSettings, adapter: str | None):
        self.model = loaded.model
        self.lock = loaded.forward_lock
        self.device = loaded.device
        self.chooser = TokenChooser(settings, self.device)
        self.forward_kwargs = loaded.forward_kwargs(adapter)
        self.prefill_kwargs = {"logits_to_keep": 1} if loaded.supports_logits_to_keep else {}
        self.ids = torch.tensor([prompt_ids], dtype=torch.long, device=self.device)
        self.past: Any = None
        self.logits: torch.Tensor | None = None

    def prefill(self) -> None:
        with self.lock, torch.inference_mode():
            out = self.model(input_ids=self.ids, use_cache=True, **self.forward_kwargs, **self.prefill_kwargs)
            self.past, self.logits = out.past_key_values, out.logits[:, -1, :]

    def choose(self) -> int:
        with torch.inference_mode():
            token = self.chooser(self.ids, self.logits)
            self.ids = torch.cat([self.ids, self.ids.new_tensor([[token]])], dim=1)
        return token

    def advance(self) -> None:
        with self.lock, torch.inference_mode():
            out = self.model(
                input_ids=self.ids[:, -1:], past_key_values=self.past, use_cache=True, **self.forward_kwargs
            )
            self.past, self.logits = out.past_key_values, out.logits[:, -1, :]


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
            raise SettingsError("prompt: must not be empty")
        limit = self.registry.limits.max_prompt_chars
        if len(prompt) > limit:
            raise SettingsError(f"prompt: {len(prompt)} characters, more than the limit of {limit}")
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
            raise SettingsError("prompt_input: only used with the model's prompt style")
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
    ) -> GenerationStream:
        """Check the request and return a stream of its text.

        Raises before any work (and changes nothing) on a bad model or adapter name, a bad
        setting or a bad prompt; raises ModelLoadError when the model cannot be loaded.
        """
        spec = self.registry.model(model)
        if adapter is not None:
            self.registry.adapter(adapter, base=model)
        checked = self.settings_for(model, settings)
        prompt = self._check_prompt(prompt)
        if not isinstance(use_prompt_style, bool):
            raise SettingsError(Message("not_a_boolean", field="use_prompt_style", value=use_prompt_style))
        check_text("prompt_input", prompt_input)
        if len(prompt_input) > self.registry.limits.max_prompt_chars:
            raise SettingsError("prompt_input: must be a string within the prompt length limit")
        if checked.max_new_tokens >= spec.context_length:
            raise SettingsError(
                f"max_new_tokens: {checked.max_new_tokens} leaves no room for a prompt in "
                f"{spec.name}'s context of {spec.context_length} tokens"
            )
        loaded = self.cache.get(model, progress=progress)
        started = time.monotonic()
        loaded.forward_kwargs(adapter)  # refuses an adapter that failed to attach
        license_ = spec.license
        if adapter is not None:
            license_ = f"{spec.license} (base), {self.registry.adapters[adapter].license} (adapter)"
        result = GenerationResult(model=model, adapter=adapter, source=loaded.source, license=license_)
        prompt_ids = self.encode(loaded, prompt, use_prompt_style, adapter, prompt_input)
        if not prompt_ids:
            raise SettingsError("prompt: encodes to no tokens")
        room = spec.context_length - checked.max_new_tokens
        if len(prompt_ids) > room:
            result.truncated_tokens = len(prompt_ids) - room
            prompt_ids = prompt_ids[-room:]
            result.warnings.append(
                f"The prompt was {room + result.truncated_tokens} tokens; its first "
                f"{result.truncated_tokens} were dropped to fit {spec.name}'s context of "
                f"{spec.context_length} tokens with {checked.max_new_tokens} new tokens."
            )
        result.prompt_tokens = len(prompt_ids)
        limit = time_limit_s if time_limit_s is not None else self.registry.limits.time_limit_s
        pieces = self._run(loaded, prompt_ids, checked, adapter, result, cancel, started, started + limit)
        return GenerationStream(pieces, result)

    def generate(
        self, model: str, prompt: str, settings: Any = None, adapter: str | None = None, **kwargs: Any
    ) -> GenerationResult:
        """Run a generation to the end and return its result (text in ``result.text``)."""
        stream = self.stream(model, prompt, settings, adapter, **kwargs)
        stream.text()
        return stream.result

    def _run(
        self,
        loaded: LoadedModel,
        prompt_ids: list[int],
        settings: GenerationSettings,
        adapter: str | None,
        result: GenerationResult,
        cancel: threading.Event | None,
        started: float,
        deadline: float,
    ) -> Iterator[str]:
        decoder = _Decoder(loaded, prompt_ids, settings, adapter)
        result.seed = decoder.chooser.seed
        detok = IncrementalDetokenizer(loaded.tokenizer)
        stops = StopStringFilter(settings.stop)
        eos = loaded.eos_token_ids

        def show(piece: str) -> str:
            result.text += piece
            return piece

        try:
            decoder.prefill()
            while True:
                token = decoder.choose()
                if result.first_token_s is None:
                    result.first_token_s = time.monotonic() - started
                if token in eos:
                    result.finish_reason = "eos"
                    break
                result.token_ids.append(token)
                piece = stops.feed(detok.push(token))
                if piece:
                    yield show(piece)
                if stops.stopped is not None:
                    result.finish_reason, result.stop_string = "stop_string", stops.stopped
                    break
                if len(result.token_ids) >= settings.max_new_tokens:
                    result.finish_reason = "length"
                    break
                if cancel is not None and cancel.is_set():
                    result.finish_reason = "cancelled"
                    break
                if time.monotonic() > deadline:
                    result.finish_reason = "time_limit"
                    result.warnings.append(f"Stopped after {deadline - started:g} s, the time limit of one request.")
                    break
                decoder.advance()
            tail = stops.feed(detok.flush())
            tail += stops.flush()
            if tail:
                yield show(tail)
        except GeneratorExit:
            result.finish_reason = result.finish_reason or "cancelled"
            raise
        except Exception as exc:
            result.finish_reason = "error"
            log.exception("generation failed on %s", loaded.spec.name)
            raise GenerationError(
                f"generation failed after {len(result.token_ids)} tokens: {type(exc).__name__}: {exc}"
            ) from exc
        finally:
            result.elapsed_s = time.monotonic() - started
            if result.finish_reason is None:
                result.finish_reason = "cancelled"
