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

from playground.engine import Engine
from playground.engine.branching import Branch
from playground.ui.details import describe
from playground.ui.handler import Call, Settings, handler
from playground.ui.menus import chosen_adapter


def add_token_endpoints(engine: Engine) -> None:
    """Register /generate_tokens and /branch on the current Blocks (API only, no component)."""

    def answer(
        call: Call, model: str, adapter: str, prompt: str, use_prompt_style: bool, settings: Settings, branch: Any
    ) -> tuple[str, str, list[dict[str, Any]]]:
        stream = engine.stream(
            model, prompt, settings, adapter=chosen_adapter(adapter), use_prompt_style=use_prompt_style,
            record_tokens=True, branch=branch,
        )  # fmt: skip
        stream.text()
        result = stream.result
        return result.text, describe(result, lang=call.lang), [r.to_dict() for r in result.tokens]

    @handler(gpu=True)
    def generate_tokens(
        call: Call, model: str, adapter: str, prompt: str, use_prompt_style: bool, settings: Settings
    ) -> tuple[str, str, list[dict[str, Any]]]:
        """An answer with every token's probability (raw and as sampled) and its alternatives."""
        return answer(call, model, adapter, prompt, use_prompt_style, settings, None)

    @handler(gpu=True)
    def branch(
        call: Call, model: str, adapter: str, prompt: str, use_prompt_style: bool, settings: Settings,
        answer_ids: list[int], position: int, token: int,
    ) -> tuple[str, str, list[dict[str, Any]]]:  # fmt: skip
        """The answer that keeps answer_ids before position, writes token there and goes on (same settings, seed)."""
        chosen = Branch(answer_ids, position, token)  # checked by the engine
        return answer(call, model, adapter, prompt, use_prompt_style, settings, chosen)

    gr.api(generate_tokens, api_name="generate_tokens")
    gr.api(branch, api_name="branch")
