"""The share links of George Sand, Instructions, Generate and Compare (the lab's: ``deep_links.lab_link``).

Each writer checks what it is given as its tab checks it (a ValueError or a
:class:`~playground.errors.PlaygroundError` naming the field) and returns the query string,
with its '?', of a link that reopens the tab as it is; a link longer than the page accepts
is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from playground.lessons.deep_links import SharedSetup, link_settings, written_link
from playground.messages import Message
from playground.models.registry import Registry
from playground.settings import check_text

PAIR_TABS = ("style", "instructions")  # the tabs where a base and base + adapter answer side by side


def _prompt(registry: Registry, name: str, value: Any, required: bool = True) -> str:
    """A prompt field checked as the engine checks it: text, bounded, not empty when ``required``."""
    text = check_text(name, value)
    if required and text == "":
        raise ValueError(Message("empty", field=name))
    limit = registry.limits.max_prompt_chars
    if len(text) > limit:
        raise ValueError(Message("too_long_chars", field=name, limit=limit, count=len(text)))
    return text


def pair_link(
    registry: Registry, tab: str, adapter: Any, prompt: Any, prompt_input: Any, settings: Mapping[str, Any]
) -> str:
    """A George Sand (``tab="style"``) or Instructions link: the adapter, its prompt(s) and settings."""
    if tab not in PAIR_TABS:
        raise ValueError(Message("link_not_one_of", field="tab", value=tab, choices=", ".join(PAIR_TABS)))
    spec = registry.adapter(adapter)
    stop, written = link_settings(registry, spec.base, settings)
    shared = SharedSetup(
        tab=tab,
        adapter=spec.name,
        prompt=_prompt(registry, "prompt", prompt),
        prompt_input=_prompt(registry, "prompt_input", prompt_input or "", required=False) if tab != "style" else None,
        stop=stop,
        settings=written,
    )
    return written_link(shared, registry)


def generate_link(
    registry: Registry, model: Any, adapter: str | None, prompt: Any, use_prompt_style: Any, settings: Mapping[str, Any]
) -> str:
    """A Generate link: the model (and adapter), the prompt, whether it is wrapped in the template, the settings."""
    candidate = registry.candidate(model, adapter)
    if not isinstance(use_prompt_style, bool):
        raise ValueError(Message("not_a_boolean", field="use_prompt_style", value=use_prompt_style))
    stop, written = link_settings(registry, candidate.model, settings)
    shared = SharedSetup(
        tab="generate",
        model=candidate.model,
        adapter=candidate.adapter,
        prompt=_prompt(registry, "prompt", prompt),
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
