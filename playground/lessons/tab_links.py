"""The share links of Generate and Compare (the lab's and the pair tabs': ``deep_links.lab_link``, ``pair_link``).

Each writer checks what it is given as its tab checks it (a ValueError or a
:class:`~playground.errors.PlaygroundError` naming the field) and returns the query string,
with its '?', of a link that reopens the tab as it is; a link longer than the page accepts
is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from playground.lessons.deep_links import OTHER_LEFT_OUT, SharedSetup, link_prompt, link_settings, written_link
from playground.messages import Message
from playground.models.registry import Registry
from playground.settings import check_text


def generate_link(
    registry: Registry, model: Any, adapter: str | None, prompt: Any, use_prompt_style: Any, settings: Mapping[str, Any]
) -> str:
    """A Generate link: the model (and adapter), the prompt, whether it is wrapped in the template, the settings."""
    candidate = registry.candidate(model, adapter)
    if not isinstance(use_prompt_style, bool):
        raise ValueError(Message("not_a_boolean", field="use_prompt_style", value=use_prompt_style))
    stop, written = link_settings(registry, candidate.model, settings, OTHER_LEFT_OUT)
    shared = SharedSetup(
        tab="generate",
        model=candidate.model,
        adapter=candidate.adapter,
        prompt=link_prompt(registry, "prompt", prompt),
        use_prompt_style=use_prompt_style,
        stop=stop,
        settings=written,
    )
    return written_link(shared, registry)


def compare_link(registry: Registry, model_a: Any, model_b: Any, text: Any) -> str:
    """A Compare link: the two candidates (``"model"`` or ``"model + adapter"``) and the text."""
    first = registry.parse_candidate(model_a, "model_a")
    second = registry.parse_candidate(model_b, "model_b")
    checked = check_text("text", text)
    if not checked.strip():
        raise ValueError(Message("empty", field="text"))
    limit = registry.limits.max_compare_chars
    if len(checked) > limit:
        raise ValueError(Message("too_long_chars", field="text", limit=limit, count=len(checked)))
    return written_link(SharedSetup(tab="compare", model_a=first.key, model_b=second.key, text=checked), registry)
