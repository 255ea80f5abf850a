"""The remote backend: an OpenAI-compatible server (vLLM first) streams the text.

:class:`RemoteBackend` serves one registry model from the server a
:class:`~playground.models.registry.RemoteSpec` names. Each request is one streamed
``POST /v1/completions`` (server-sent events) whose ``model`` field names the base model or
the adapter (vLLM's multi-LoRA: the adapter is chosen per request, and a batch can mix
them). The prompt is tokenized here, by the model's own tokenizer and prompt style, and
sent as token ids, so typed special tokens stay text and the server sees exactly the ids
the local engine would.

- Settings: temperature, top_p, seed, stop strings, max_tokens; with the ``vllm`` dialect
  also top_k and repetition_penalty (extra body fields). Settings a server does not take
  are ignored with a warning in the result.
- The answer is built from each chunk's ``text`` (vLLM holds text back while it checks stop
  strings, so a chunk's text and its token ids need not line up); the ids (vLLM's
  ``return_token_ids``) are counted as the local engine counts them (the end-of-sequence
  token is not).
- Closing, dropping or cancelling the stream closes the HTTP response after the next
  chunk, and the server drops the request.
- 429 and 503 answers are :class:`~playground.errors.BusyError`; an unknown adapter (404),
  an unreachable server, a timeout or another refusal is a
  :class:`~playground.errors.RemoteError` naming the model and the server.
- Closing, dropping or cancelling (the ``cancel`` event: the UI's Stop) ends the request
  the same way; the visitor's share is the server's business (it batches and queues).
- Recording each token's probabilities and alternatives (the token explorer): with the
  ``vllm`` dialect a recording request asks for the top 20 ``logprobs`` of every generated
  token, and :mod:`playground.serving.logprob_record` turns each step into the record the local
  batcher makes (raw probabilities exact; the adjusted ones estimated from those 20
  candidates, ``Capabilities.exact_adjusted`` False). Branching an answer is not supported
  (``Capabilities.branching``: the engine says so before any work): the server's sampler
  cannot be made to write a chosen token and then go on with the same random stream. The
  plain ``openai`` dialect records nothing (``record_tokens`` False).
- The lab's next-token view uses the ``logprobs`` of one generated token (the top 20);
  the Compare tab's scoring uses vLLM's ``prompt_logprobs``, one window at a time. The
  plain ``openai`` dialect has neither, and :class:`~playground.serving.backend.Capabilities` says so.
- ``prompt_logprobs`` is off by default on a server with adapters: with ``--enable-lora``,
  vLLM (0.32; upstream vllm#29955 and vllm#51594) computes prompt log-probabilities
  with one LoRA index per request instead of per token, so a scoring request batched with
  any other request crashes the server's engine (``einsum(): subscript b has
  size 3 ... 31`` and every request after it answered 500). ``prompt_logprobs: true`` in
  the remote entry turns it on for a server known to be fixed, or dedicated to scoring.
"""

from __future__ import annotations

import json
import logging
import math
import os
import queue
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx

from playground.errors import BusyError, GenerationError, ModelLoadError, RemoteError, UnknownModelError
from playground.forking import renew_in_child
from playground.messages import Message
from playground.models.registry import Registry, RemoteSpec
from playground.serving.backend import Capabilities, Finished, Handle, Progress, Token, TokenScores
from playground.serving.inspection import rank_next_tokens
from playground.serving.logprob_record import TOP_LOGPROBS, choice_from_logprobs
from playground.serving.requests import GenerationRequest, NextTokensRequest, ScoredWindow, ScoreRequest
from playground.serving.token_record import Choice, NextToken
from playground.settings import GenerationSettings

log = logging.getLogger(__name__)


class _Stream:
    """One streamed completion: a reader thread turns its server-sent events into Token/Finished events."""

    def __init__(self, request: GenerationRequest, response: httpx.Response, backend: RemoteBackend) -> None:
        self.request = request
        self.started = request.started
        self.deadline = request.started + request.time_limit_s  # the server admits it at once (or answers busy)
        self.id = -1
        self._context = list(request.prompt_ids)  # the prompt and the tokens so far (the record's repetition penalty)
        self._settings = backend.applied_settings(request.model, request.settings)  # what the server applies
        self._response = response
        self._backend = backend
        self._events: queue.SimpleQueue[Token | Finished | None] = queue.SimpleQueue()
        self._gone = threading.Event()
        self._thread = threading.Thread(target=self._read, name="playground-remote-stream", daemon=True)
        self._thread.start()

    @property
    def cancelled(self) -> bool:
        """True once the consumer is gone or the caller's ``cancel`` event is set."""
        return self._gone.is_set() or (self.request.cancel is not None and self.request.cancel.is_set())

    def abandon(self) -> None:
        """The consumer is gone: the reader closes the response after the next chunk."""
        if not self._gone.is_set():
            self._gone.set()
            self._events.put(None)

    def receive(self) -> Token | Finished | None:
        """Block until the next event; None when woken by :meth:`abandon`."""
        return self._events.get()

    def _chunks(self) -> Iterator[dict[str, Any]]:
        for line in self._response.iter_lines():
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                return
            yield json.loads(data)

    def _read(self) -> None:
        generated = 0
        pending = ""  # text that came without a token id of its own; shown with the next one
        try:
            for chunk in self._chunks():
                if self.cancelled:
                    log.info("remote request cancelled after %d tokens", generated)
                    self._events.put(Finished("cancelled", time.monotonic()))
                    return
                if "error" in chunk:
                    self._fail(str(chunk["error"].get("message", chunk["error"])), generated)
                    return
                choice = chunk["choices"][0]
                pending += choice.get("text") or ""
                ids = list(choice.get("token_ids") or [])
                if choice.get("token_ids") is None and pending:  # no vLLM return_token_ids: a chunk, a token
                    ids = [-1]
                reason, stop = choice.get("finish_reason"), choice.get("stop_reason")
                now = time.monotonic()
                if reason == "stop" and not isinstance(stop, str) and ids:
                    ids = ids[:-1]  # the end-of-sequence token: not shown, not counted (as locally)
                records = self._records(choice.get("logprobs"), ids) if self.request.record else [None] * len(ids)
                for k, token_id in enumerate(ids):
                    last = k == len(ids) - 1
                    self._events.put(Token(int(token_id), pending if last else "", now, records[k]))
                generated += len(ids)
                pending = "" if ids else pending
                if reason is not None:
                    self._events.put(self._finished(reason, stop, pending, now, generated))
                    return
                if now > self.deadline:
                    warning = Message("time_limit", seconds=self.request.time_limit_s)
                    self._events.put(Finished("time_limit", now, tail=pending, warning=warning))
                    return
            self._fail("the stream ended without a finish reason", generated)
        except httpx.TimeoutException:
            self._fail(self._backend.timeout_message(), generated)
        except (httpx.HTTPError, ValueError, KeyError, IndexError) as exc:
            if self.cancelled:
                self._events.put(Finished("cancelled", time.monotonic()))
            else:
                self._fail(f"{type(exc).__name__}: {exc}", generated)
        finally:
            self._response.close()

    def _records(self, logprobs: dict[str, Any] | None, ids: list[int]) -> list[Choice | None]:
        """Each token's record from the chunk's ``logprobs`` (aligned with its token ids); None where absent."""
        tops = (logprobs or {}).get("top_logprobs") or []
        chosen = (logprobs or {}).get("token_logprobs") or []
        records: list[Choice | None] = []
        for k, token_id in enumerate(ids):
            record = None
            if k < len(tops) and tops[k] and k < len(chosen) and chosen[k] is not None:
                top = {_token_id(key): float(lp) for key, lp in tops[k].items()}
                top[int(token_id)] = float(chosen[k])
                record = choice_from_logprobs(int(token_id), top, self._context, self._settings)
            records.append(record)
            self._context.append(int(token_id))
        return records

    @staticmethod
    def _finished(reason: str, stop: Any, tail: str, now: float, generated: int) -> Finished:
        if reason == "stop":
            if isinstance(stop, str):
                return Finished("stop_string", now, stop, tail)
            return Finished("eos", now, tail=tail)
        if reason == "length":
            return Finished("length", now, tail=tail)
        message = Message("generation_failed", count=generated, reason=f"finish_reason {reason!r}")
        return Finished("error", now, tail=tail, error=message)

    def _fail(self, reason: str, generated: int) -> None:
        message = Message("generation_failed", count=generated, reason=reason)
        self._events.put(Finished("error", time.monotonic(), error=message))


class RemoteBackend:
    """One registry model served by an OpenAI-compatible server; see the module's docstring."""

    def __init__(self, registry: Registry, spec: RemoteSpec, client: httpx.Client | None = None) -> None:
        self.registry = registry
        self.spec = spec
        self.model_spec = registry.model(spec.model)
        headers = {}
        if spec.api_key_env and os.environ.get(spec.api_key_env):
            headers["Authorization"] = f"Bearer {os.environ[spec.api_key_env]}"
        timeout = httpx.Timeout(spec.timeout_s, connect=min(10.0, spec.timeout_s))
        limits = httpx.Limits(max_connections=4 * registry.limits.max_waiting, max_keepalive_connections=32)
        self._new_client = lambda: httpx.Client(base_url=spec.base_url, headers=headers, timeout=timeout, limits=limits)
        self.client = client or self._new_client()
        self._tokenizer: Any = None
        self._lock = threading.Lock()
        if client is None:
            renew_in_child(self, RemoteBackend._start_again)

    def _start_again(self) -> None:
        """In a forked child: a lock and connections of its own (the parent's pooled sockets stay the parent's)."""
        self._lock = threading.Lock()
        self.client = self._new_client()

    # -- what it serves --------------------------------------------------------------
    @property
    def source(self) -> Message:
        """The status line's source: the server and the name it serves the model under."""
        return Message("from_remote", dialect=self.spec.dialect, url=self.spec.base_url, served=self.spec.served_name)

    def timeout_message(self) -> Message:
        """The error of a request whose server stopped answering."""
        return Message("remote_timeout", model=self.spec.model, url=self.spec.base_url, seconds=self.spec.timeout_s)

    def _served(self, model: str, adapter: str | None) -> str:
        if model != self.spec.model:
            raise UnknownModelError(Message("unknown_model", field="model", name=model, known=self.spec.model))
        if adapter is None:
            return self.spec.served_name
        if adapter not in self.spec.adapters:
            known = ", ".join(self.spec.adapters) or "no adapter"
            raise UnknownModelError(
                Message(
                    "remote_adapter_not_served",
                    field="adapter",
                    name=adapter,
                    model=model,
                    url=self.spec.base_url,
                    known=known,
                )
            )
        return self.spec.adapters[adapter]

    def tokenizer(self, progress: Progress | None = None) -> Any:
        """The model's own tokenizer (loaded once, without its weights)."""
        with self._lock:
            if self._tokenizer is None:
                self._tokenizer = load_tokenizer(self.registry, self.spec.model, progress)
            return self._tokenizer

    # -- the Backend protocol ------------------------------------------------------
    def prepare(self, model: str, adapter: str | None, progress: Progress | None = None) -> Handle:
        """Check that the server serves ``adapter``; load the tokenizer (the server is reached at submit)."""
        self._served(model, adapter)
        context = self.spec.context_length or self.model_spec.context_length
        tokenizer = self.tokenizer(progress)
        return Handle(model, tokenizer, self.source, context, len(tokenizer))

    def check_room(self, model: str) -> None:
        """The server says when it is full (429/503, at submit)."""

    def capabilities(self, model: str) -> Capabilities:
        """vLLM: logprobs, prompt_logprobs, top_k, repetition_penalty; plain OpenAI: none of these."""
        if self.spec.dialect == "vllm":
            scoring = self.spec.prompt_logprobs if self.spec.prompt_logprobs is not None else not self.spec.adapters
            ignored = frozenset({"no_repeat_ngram_size"})
            return Capabilities(exact_adjusted=False, scoring=scoring, branching=False, unsupported_settings=ignored)
        ignored = frozenset({"no_repeat_ngram_size", "top_k", "repetition_penalty"})
        return Capabilities(
            next_tokens=False,
            exact_adjusted=False,
            scoring=False,
            record_tokens=False,
            branching=False,
            unsupported_settings=ignored,
        )

    def applied_settings(self, model: str, settings: GenerationSettings) -> GenerationSettings:
        """``settings`` as the server applies them: those it ignores at their defaults."""
        defaults = GenerationSettings()
        ignored = self.capabilities(model).unsupported_settings
        return replace(settings, **{name: getattr(defaults, name) for name in ignored})

    def _body(self, model: str, adapter: str | None, ids: list[int], settings: GenerationSettings) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self._served(model, adapter),
            "prompt": list(ids),
            "max_tokens": settings.max_new_tokens,
            "temperature": settings.temperature,
            "top_p": settings.top_p,
        }
        if settings.stop:
            body["stop"] = list(settings.stop)
        if self.spec.dialect == "vllm":
            body.update(top_k=settings.top_k, repetition_penalty=settings.repetition_penalty, skip_special_tokens=True)
        return body

    def _post(self, body: dict[str, Any], adapter: str | None, stream: bool) -> httpx.Response:
        """Send a request; the response when it is 200, else the typed error its status means."""
        spec = self.spec
        try:
            response = self.client.send(self.client.build_request("POST", "/completions", json=body), stream=stream)
        except httpx.TimeoutException:
            raise RemoteError(self.timeout_message()) from None
        except httpx.HTTPError as exc:
            reason = f"{type(exc).__name__}: {exc}"
            raise RemoteError(
                Message("remote_unreachable", model=spec.model, url=spec.base_url, reason=reason)
            ) from None
        if response.status_code == 200:
            return response
        try:
            detail = _error_text(response.read())
        finally:
            response.close()
        status = response.status_code
        if status in (429, 503):
            raise BusyError(Message("remote_busy", model=spec.model, url=spec.base_url))
        if status == 404 and adapter is not None:
            raise RemoteError(
                Message("remote_unknown_adapter", model=spec.model, url=spec.base_url, name=adapter, reason=detail)
            )
        raise RemoteError(Message("remote_failed", model=spec.model, url=spec.base_url, status=status, reason=detail))

    def submit(self, request: GenerationRequest) -> _Stream:
        """Open the streamed completion (typed errors for refusals) and read it in a thread."""
        body = self._body(request.model, request.adapter, request.prompt_ids, request.settings)
        body.update(stream=True)
        if request.seed is not None:
            body["seed"] = request.seed
        if self.spec.dialect == "vllm":
            body["return_token_ids"] = True
            if request.record:  # the explorer's record: each token's raw top 20 (see logprob_record.py)
                body.update(logprobs=TOP_LOGPROBS, return_tokens_as_token_ids=True)
        return _Stream(request, self._post(body, request.adapter, stream=True), self)

    def next_tokens(self, request: NextTokensRequest) -> list[NextToken]:
        """The server's top-20 log-probabilities of the next token; the adjusted view reshapes those.

        One short request: ``visitor`` and ``cancel`` are not needed (the server schedules it).
        """
        import torch

        model, adapter, ids, settings = request.model, request.adapter, list(request.ids), request.settings
        body = self._body(model, adapter, ids, replace(settings, max_new_tokens=1, stop=()))
        body.update(temperature=0.0, logprobs=TOP_LOGPROBS, return_tokens_as_token_ids=True)
        body.pop("repetition_penalty", None)
        data = _json(self._post(body, adapter, stream=False))
        top_logprobs = data["choices"][0]["logprobs"]["top_logprobs"][0]
        logprobs = {_token_id(key): float(lp) for key, lp in top_logprobs.items()}
        tokenizer = self.tokenizer()
        vocab = max(len(tokenizer), max(logprobs) + 1)
        logits = torch.full((1, vocab), float("-inf"))
        for token_id, lp in logprobs.items():
            logits[0, token_id] = lp
        ranked = rank_next_tokens(tokenizer, torch.tensor([ids]), logits, settings, request.top)
        return [replace(t, probability=math.exp(logprobs[t.id])) for t in ranked]  # raw: the server's, exact

    def score(self, request: ScoreRequest) -> TokenScores:
        """vLLM's ``prompt_logprobs``: each window's token log-probabilities and the argmax at each position.

        Setting ``cancel`` stops it between two windows (GenerationError).
        """
        started = time.perf_counter()
        model, adapter, cancel = request.model, request.adapter, request.cancel

        def one(window: ScoredWindow) -> tuple[list[float], list[int], list[int]]:
            body = self._body(model, adapter, window[0], GenerationSettings(max_new_tokens=1))
            body.update(prompt_logprobs=1)
            body.pop("repetition_penalty", None)
            data = _json(self._post(body, adapter, stream=False))
            return _prompt_scores(window, data["choices"][0]["prompt_logprobs"])

        nll: list[float] = []
        predictions: list[int] = []
        references: list[int] = []
        for window in request.windows:  # one at a time: see the module's docstring
            if cancel is not None and cancel.is_set():
                raise GenerationError(Message("job_cancelled"))
            n, p, r = one(window)
            nll += n
            predictions += p
            references += r
        return TokenScores(nll, predictions, references, time.perf_counter() - started)

    def close(self, wait_s: float = 0.0) -> None:
        """Close the connection pool."""
        self.client.close()


def _prompt_scores(window: ScoredWindow, prompt_logprobs: list[Any]) -> tuple[list[float], list[int], list[int]]:
    """NLL of each labelled token, the server's argmax (rank 1) and the true token, from ``prompt_logprobs``."""
    nll: list[float] = []
    predictions: list[int] = []
    references: list[int] = []
    input_ids, labels = window
    for position in range(1, len(input_ids)):
        label = labels[position]
        if label == -100:
            continue
        entries = prompt_logprobs[position]
        true = entries[str(label)]
        best = next(int(key) for key, entry in entries.items() if entry.get("rank") == 1)
        nll.append(-float(true["logprob"]))
        predictions.append(best)
        references.append(label)
    return nll, predictions, references


def _token_id(key: str) -> int:
    """The id in vLLM's ``"token_id:123"`` (``return_tokens_as_token_ids``)."""
    return int(key.rsplit(":", 1)[1])


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        return response.json()
    finally:
        response.close()


def _error_text(content: bytes) -> str:
    """The message of an OpenAI-style error body (or its first 300 characters)."""
    try:
        data = json.loads(content)
        error = data.get("error", data)
        message = error.get("message") if isinstance(error, dict) else error
        return str(message or data)[:300]
    except (ValueError, AttributeError):
        return content[:300].decode("utf-8", errors="replace")


def load_tokenizer(registry: Registry, model: str, progress: Progress | None = None) -> Any:
    """The tokenizer of a registry model, without its weights: local folder, Hub (or its cache), bundled file.

    Raises ModelLoadError naming what each source said.
    """
    from transformers import AutoTokenizer

    from playground.models.safety import check_model_folder
    from playground.models.sources import (
        bundled_cache,
        bundled_cache_ready,
        bundled_file_path,
        join_parts,
        serving_dtype,
    )

    spec = registry.model(model)
    failures: list[str] = []
    attempts = []
    if spec.local_path:
        folder = registry.resolve_path(spec.local_path)
        attempts.append(lambda: (check_model_folder(folder, spec.name), AutoTokenizer.from_pretrained(folder))[1])
    if spec.repo_id and spec.revision:
        attempts.append(lambda: AutoTokenizer.from_pretrained(spec.repo_id, revision=spec.revision))
    if spec.bundled:

        def bundled() -> Any:
            cached, _ = bundled_cache(spec.bundled, serving_dtype(spec.dtype, "cpu"))
            if bundled_cache_ready(cached):  # the local engine's dequantized copy: its tokenizer, no GGUF to parse
                check_model_folder(cached, spec.name)
                return AutoTokenizer.from_pretrained(cached)
            if not spec.bundled.parts:
                path, _ = bundled_file_path(spec.bundled)
                return AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
            with tempfile.TemporaryDirectory(prefix="playground-gguf-") as scratch:  # a chunked file: join it
                path = join_parts(spec.bundled, Path(scratch) / Path(spec.bundled.file).name)
                return AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)

        attempts.append(bundled)
    for attempt in attempts:
        try:
            return attempt()
        except Exception as exc:  # as in sources: a malformed artifact can make transformers raise anything
            failures.append(f"{type(exc).__name__}: {exc}".splitlines()[0])
    raise ModelLoadError(Message("model_load_failed", model=spec.name, reasons="; ".join(failures) or "no source"))
