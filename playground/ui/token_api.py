"""API endpoints of the token explorer: an answer with its token record, and a branch of it.

- ``/generate_tokens``: /generate's inputs -> (text, status line, tokens). Each token is
  ``{"id", "piece", "probability", "adjusted", "logprob", "forced", "alternatives": [...]}``
  (``probability``: the model's raw distribution; ``adjusted``: the distribution it was
  drawn from). Ask for it when you want the record: /generate does not compute it.
- ``/branch``: /generate's inputs, then ``answer_ids`` (the ``id`` of each token of an
  answer), ``position`` (0-based) and ``token`` (an id) -> the same outputs, for the answer
  that keeps the tokens before ``position``, writes ``token`` there and goes on with the
  same settings and seed (give the seed the original reported when it sampled).

Bad values are refused like every other input: the error names the field, in the
language of the client's ``Accept-Language``.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from playground.branching import Branch
from playground.engine import Engine, GenerationResult
from playground.errors import PlaygroundError
from playground.ui.controls import settings_from
from playground.ui.details import describe
from playground.ui.feedback import user_error
from playground.ui.i18n import request_language
from playground.ui.menus import chosen_adapter


def _answer(result: GenerationResult, lang: str) -> tuple[str, str, list[dict[str, Any]]]:
    return result.text, describe(result, lang=lang), [r.to_dict() for r in result.tokens]


def add_token_endpoints(engine: Engine) -> None:
    """Register /generate_tokens and /branch on the current Blocks (API only, no component)."""

    def run(
        lang: str,
        model: str,
        adapter: str,
        prompt: str,
        use_prompt_style: bool,
        settings: list[Any],
        branch: Any = None,
    ) -> tuple[str, str, list[dict[str, Any]]]:
        try:
            stream = engine.stream(
                model,
                prompt,
                settings_from(*settings),
                adapter=chosen_adapter(adapter),
                use_prompt_style=use_prompt_style,
                record_tokens=True,
                branch=branch,
            )
            stream.text()
        except (PlaygroundError, ValueError) as exc:
            raise user_error(exc, lang) from None
        return _answer(stream.result, lang)

    def generate_tokens(
        model: str, adapter: str, prompt: str, use_prompt_style: bool, temperature: float, top_p: float, top_k: float,
        max_new_tokens: float, repetition_penalty: float, no_repeat_ngram_size: float, stop: str, seed: str | None,
        request: gr.Request,
    ) -> tuple[str, str, list[dict[str, Any]]]:  # fmt: skip
        """An answer with every token's probability (raw and as sampled) and its alternatives."""
        settings = [temperature, top_p, top_k, max_new_tokens, repetition_penalty, no_repeat_ngram_size, stop, seed]
        return run(request_language(request), model, adapter, prompt, use_prompt_style, settings)

    def branch(
        model: str, adapter: str, prompt: str, use_prompt_style: bool, temperature: float, top_p: float, top_k: float,
        max_new_tokens: float, repetition_penalty: float, no_repeat_ngram_size: float, stop: str, seed: str | None,
        answer_ids: list[int], position: int, token: int, request: gr.Request,
    ) -> tuple[str, str, list[dict[str, Any]]]:  # fmt: skip
        """The answer that keeps answer_ids before position, writes token there and goes on (same settings, seed)."""
        settings = [temperature, top_p, top_k, max_new_tokens, repetition_penalty, no_repeat_ngram_size, stop, seed]
        chosen = Branch(answer_ids, position, token)  # checked by the engine
        return run(request_language(request), model, adapter, prompt, use_prompt_style, settings, chosen)

    gr.api(generate_tokens, api_name="generate_tokens")
    gr.api(branch, api_name="branch")
