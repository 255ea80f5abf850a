"""What a share link ran, in full: the model, the adapter, the exact prompt and every setting.

A link carries only what differs from the page (:mod:`playground.lessons.deep_links`); the
rest is what the tab opens with (:mod:`playground.lessons.tab_openings`). :func:`read_link`
reads a link strictly (a bad or foreign link is an error naming what was wrong, not a
warning), and :func:`generation_of` / :func:`scoring_of` fill in the rest as the page does,
so that "Reproduce in Python" writes what the page would run.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import parse_qsl, urlsplit

from playground.errors import SettingsError
from playground.lessons.deep_links import TABS, SharedSetup, from_query
from playground.lessons.fewshot import FewShotSetup
from playground.lessons.presets import Preset
from playground.lessons.tab_openings import (
    GENERATE_PROMPT,
    INSTRUCTIONS,
    INSTRUCTIONS_SETTINGS,
    OPENINGS,
    STYLE_SETTINGS,
    compare_pair,
    heldout_texts,
    lab_settings,
)
from playground.messages import Message
from playground.models.registry import AdapterSpec, Candidate, ModelSpec, Registry
from playground.settings import GenerationSettings

PANES = ("zero", "one", "few")  # the lab's three answers


@dataclass(frozen=True)
class PromptRecipe:
    """How the prompt is written and tokenized."""

    style: str  # "fewshot" (the lab), "plain" (as typed), "alpaca" (the template) or "chat" (the chat template)
    text: str = ""  # the typed text (plain, chat) or the instruction (alpaca)
    input_text: str = ""  # the instruction's input (alpaca, chat)
    fewshot: FewShotSetup | None = None  # the lab's task, examples and query
    shots: int = 0  # the lab: examples in this pane's prompt


@dataclass(frozen=True)
class GenerationRecipe:
    """One tab's generation(s): a model, maybe an adapter, a prompt and the settings."""

    tab: str
    model: ModelSpec
    adapter: AdapterSpec | None
    prompt: PromptRecipe
    settings: GenerationSettings
    pair: bool = False  # the base (adapter off) and the base + adapter, side by side
    pane: str | None = None  # the lab's pane: "zero", "one" or "few"


@dataclass(frozen=True)
class ScoringRecipe:
    """Compare: two candidates scored on one text."""

    candidates: tuple[Candidate, Candidate]
    text: str


def read_link(link: object, registry: Registry, presets: dict[str, Preset]) -> SharedSetup:
    """The setup of a share link (a whole URL, or its query string with or without '?').

    Raises SettingsError naming ``link``: not text, too long, no query, or a parameter the
    page would drop (the first one is named), or no tab.
    """
    if not isinstance(link, str):
        raise SettingsError(Message("not_a_string", field="link", type=type(link).__name__))
    limit = registry.limits.max_url_chars
    if len(link) > limit:
        raise SettingsError(Message("too_long_chars", field="link", limit=limit, count=len(link)))
    text = link.strip()
    query = urlsplit(text).query if "://" in text or text.startswith(("/", "?")) else text
    pairs = parse_qsl(query.lstrip("?"), keep_blank_values=True)
    if not pairs:
        raise SettingsError(Message("reproduce_no_setup", field="link"))
    setup = from_query(pairs, registry, presets)
    if setup.warnings:
        raise SettingsError(Message("reproduce_bad_link", field="link", reason=setup.warnings[0]))
    if setup.tab is None:
        raise SettingsError(Message("reproduce_no_tab", field="link", tabs=", ".join(TABS)))
    return setup


def _settings(setup: SharedSetup, base: GenerationSettings, registry: Registry) -> GenerationSettings:
    """``base`` with what the link sets (its stop strings, then each setting it gives)."""
    if setup.stop is not None:
        base = replace(base, stop=tuple(setup.stop))
    cap = registry.limits.max_new_tokens
    return GenerationSettings.from_dict(dict(setup.settings), max_new_tokens_cap=cap, defaults=base)


def _lab(setup: SharedSetup, registry: Registry, presets: dict[str, Preset], pane: str) -> GenerationRecipe:
    """The lab's pane as the page runs it: the first preset, the link's preset, then the link's own fields."""
    first = next(iter(presets.values()))
    chosen = presets[setup.preset] if setup.preset else first
    settings = lab_settings(first)
    if setup.preset:
        settings = replace(settings, max_new_tokens=chosen.max_new_tokens, stop=chosen.stop)
    rows = (
        [[s.input, s.output] for s in chosen.examples] if setup.examples is None else [list(e) for e in setup.examples]
    )
    fewshot = FewShotSetup.from_rows(
        setup.task if setup.task is not None else chosen.task,
        rows,
        setup.query if setup.query is not None else chosen.query,
        setup.separator if setup.separator is not None else chosen.separator,
        limits=registry.limits,
    )
    shots = {"zero": 0, "one": min(1, len(fewshot.examples)), "few": len(fewshot.examples)}[pane]
    model = registry.model(setup.model or registry.opening_model("lab"))
    adapter = registry.adapter(setup.adapter, base=model.name) if setup.adapter else None
    prompt = PromptRecipe("fewshot", fewshot=fewshot, shots=shots)
    return GenerationRecipe("lab", model, adapter, prompt, _settings(setup, settings, registry), pane=pane)


def _pair(setup: SharedSetup, registry: Registry) -> GenerationRecipe:
    """George Sand (the opening as typed) or Instructions (the adapter's template): base and adapter."""
    tab = setup.tab or "style"
    opening = registry.opening_adapter(tab)
    name = setup.adapter or (opening.name if opening else None)
    if name is None:
        raise SettingsError(Message("reproduce_no_adapter", field="adapter", tab=tab))
    adapter = registry.adapter(name)
    model = registry.model(adapter.base)
    if tab == "style":
        prompt = PromptRecipe("plain", text=setup.prompt if setup.prompt is not None else OPENINGS[0])
        return GenerationRecipe(tab, model, adapter, prompt, _settings(setup, STYLE_SETTINGS, registry), pair=True)
    text = setup.prompt if setup.prompt is not None else INSTRUCTIONS[0][0]
    given = setup.prompt_input if setup.prompt_input is not None else INSTRUCTIONS[0][1]
    style = adapter.prompt_style or model.prompt_style
    if style == "plain":  # the instruction as typed, its input on the next line (the plain style's template)
        prompt = PromptRecipe("plain", text=f"{text}\n{given}" if given else text)
    else:
        prompt = PromptRecipe(style if style != "chat" else "chat-as-text", text=text, input_text=given)
    settings = _settings(setup, INSTRUCTIONS_SETTINGS, registry)
    return GenerationRecipe(tab, model, adapter, prompt, settings, pair=True)


def _generate(setup: SharedSetup, registry: Registry) -> GenerationRecipe:
    """Generate: the model's settings (the page follows the model), the prompt, wrapped in its template or not."""
    opening = registry.model(registry.opening_model("generate"))
    model = registry.model(setup.model) if setup.model else opening
    adapter = registry.adapter(setup.adapter, base=model.name) if setup.adapter else None
    style = (adapter.prompt_style if adapter else None) or model.prompt_style
    wrap = setup.use_prompt_style if setup.use_prompt_style is not None else style != "plain"
    text = setup.prompt if setup.prompt is not None else GENERATE_PROMPT
    prompt = PromptRecipe(style if wrap else "plain", text=text)
    base = replace(model.generation, stop=opening.generation.stop, seed=opening.generation.seed)
    return GenerationRecipe("generate", model, adapter, prompt, _settings(setup, base, registry))


def generation_of(setup: SharedSetup, registry: Registry, presets: dict[str, Preset], pane: object) -> GenerationRecipe:
    """The generation a link's tab runs (the lab: its ``pane``, one of :data:`PANES`)."""
    if setup.tab == "lab":
        if pane not in PANES:
            raise SettingsError(Message("link_not_one_of", field="pane", value=pane, choices=", ".join(PANES)))
        return _lab(setup, registry, presets, str(pane))
    if setup.tab in ("style", "instructions"):
        return _pair(setup, registry)
    return _generate(setup, registry)


def scoring_of(setup: SharedSetup, registry: Registry) -> ScoringRecipe:
    """What a Compare link scores: its two candidates on its text (or what the tab opens with)."""
    generic, tuned = compare_pair(registry)
    first = registry.parse_candidate(setup.model_a, "model_a") if setup.model_a else generic
    second = registry.parse_candidate(setup.model_b, "model_b") if setup.model_b else tuned
    text = setup.text if setup.text is not None else next(iter(heldout_texts().values()), "")
    if not text.strip():
        raise SettingsError(Message("empty", field="text"))
    return ScoringRecipe((first, second), text)
