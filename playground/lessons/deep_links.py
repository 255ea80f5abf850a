"""Deep links: a prepared setup written into, and read back from, URL query parameters.

A teacher prepares the prompting lab (a preset or their own task, examples and query, a
model, settings, a language) and shares a link; opening it restores the same setup.

    ?tab=lab&lang=fr&preset=en-fr-translation&model=gpt2&temperature=0&seed=1
    ?tab=lab&task=...&examples=[["sea otter","loutre de mer"]]&query=cheese&embed=1
    ?tab=lab&preset=en-fr-translation&seed=1&branch_position=2&branch_token=1169

A branch demo (``branch_position`` and ``branch_token``, a token id) is run once the
few-shot answer is written: the explorer then shows the original and that branch.

Every other tab has its link too (George Sand and Instructions: :func:`pair_link`; Generate and
Compare: :mod:`playground.lessons.tab_links`):

    ?tab=style&model=gemma-3-270m&adapter=george-sand&prompt=Cette femme était assise&temperature=0.8&seed=1
    ?tab=instructions&adapter=alpaca&prompt=Translate the sentence into French.&prompt_input=...
    ?tab=generate&model=smollm2-135m-instruct&prompt=...&use_prompt_style=1&temperature=0
    ?tab=compare&model_a=gemma-3-270m&model_b=gemma-3-270m + george-sand&text=...
    ?tab=classroom&room=ABCD2345

A link is the one description of a setup: the page opens it, and "Reproduce in Python"
(:mod:`playground.lessons.reproduce`) writes the script that runs it. ``room`` is read
and checked by the classroom tab (:mod:`playground.ui.classroom_tab`), not here.

Reading never fails: a bad or unknown parameter is dropped with a warning (the link still
opens, with defaults for what could not be read), and every kept value is validated. The
lab's fields follow the registry's limits (``max_lab_examples``, ``max_lab_field_chars``,
``max_lab_chars``), the same the lab itself checks, so a link the lab wrote always opens;
JSON values are measured (length, nesting depth) before they are parsed; a parameter given
twice counts once, its first value (as in the page: ``?lang=fr&lang=en`` is French);
warnings quote short excerpts, and unknown parameters make one warning.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import urlencode

from playground.errors import PlaygroundError
from playground.lessons.fewshot import FewShotSetup
from playground.lessons.presets import Preset
from playground.messages import LANGUAGES, Message, excerpt
from playground.models.registry import Registry
from playground.settings import GenerationSettings, check_integer, check_text

TABS = ("lab", "style", "instructions", "compare", "generate", "lens", "classroom")
PAIR_TABS = ("style", "instructions")  # the tabs where a base and base + adapter answer side by side
PAGE_KEYS = ("room",)  # parameters another part of the page reads and checks: the classroom tab's room code
# Every setting is a parameter of its own, except stop (a JSON list, read on its own).
SETTING_KEYS = tuple(f.name for f in fields(GenerationSettings) if f.name != "stop")
LEFT_OUT_WHEN = {"no_repeat_ngram_size": 0, "seed": None}  # settings a lab link leaves out at these values
OTHER_LEFT_OUT = {"seed": None}  # the other tabs open with other n-gram sizes: a link always writes theirs
LINK_HEADROOM = 512  # characters of a page's query string besides the shared setup (Gradio's own parameters)
BRANCH_KEYS = ("branch_position", "branch_token")
MAX_TOKEN_ID = 2**31 - 1  # the model's vocabulary is checked when the branch runs
MAX_DEPTH = 2  # JSON nesting of a link value: examples are a list of [input, output] lists
TEXT_KEYS = ("prompt", "prompt_input", "model_a", "model_b", "text")  # the other tabs' text parameters
TRUE, FALSE = ("1", "true", "yes"), ("0", "false", "no")  # how a link writes a yes or a no
UNKNOWN_NAMED = 5  # unknown parameters named in their warning


@dataclass
class SharedSetup:
    """What a deep link can carry; None means "the default"."""

    tab: str | None = None  # which tab opens
    lang: str | None = None  # UI language
    embed: bool = False  # compact view with only this tab (for course pages)
    model: str | None = None  # registry model name
    adapter: str | None = None  # registry adapter name
    preset: str | None = None  # preset id
    task: str | None = None  # prompting lab: task description
    examples: list[tuple[str, str]] | None = None  # prompting lab: worked examples
    query: str | None = None  # prompting lab: the query
    separator: str | None = None  # prompting lab: between an input and its output
    stop: list[str] | None = None  # stop strings
    settings: dict[str, Any] = field(default_factory=dict)  # generation settings given in the link
    branch: tuple[int, int] | None = None  # prompting lab: (position, token id) of a branch of the few-shot answer
    prompt: str | None = None  # George Sand: the opening; Instructions: the instruction; Generate: the prompt
    prompt_input: str | None = None  # Instructions: the instruction's input
    use_prompt_style: bool | None = None  # Generate: wrap the prompt in the model's template
    model_a: str | None = None  # Compare: a candidate's key, "model" or "model + adapter"
    model_b: str | None = None  # Compare: the other candidate's key
    text: str | None = None  # Compare: the text scored
    warnings: list[str] = field(default_factory=list)  # parameters that were dropped, and why

    def to_query(self) -> str:
        """The query string (without '?') that reproduces this setup."""
        params: dict[str, str] = {}
        for key in ("tab", "lang", "model", "adapter", "preset", "task", "query", "separator", *TEXT_KEYS):
            value = getattr(self, key)
            if value is not None:
                params[key] = value
        if self.embed:
            params["embed"] = "1"
        if self.use_prompt_style is not None:
            params["use_prompt_style"] = "1" if self.use_prompt_style else "0"
        if self.examples is not None:
            params["examples"] = json.dumps([list(e) for e in self.examples], ensure_ascii=False)
        if self.stop is not None:
            params["stop"] = json.dumps(self.stop, ensure_ascii=False)
        for key, value in self.settings.items():
            params[key] = json.dumps(value)
        if self.branch is not None:
            params.update(zip(BRANCH_KEYS, map(str, self.branch), strict=True))
        return urlencode(params)


def lab_link(
    registry: Registry,
    presets: Mapping[str, Preset],
    *,
    preset: Any,
    model: Any,
    adapter: str | None,
    task: Any,
    examples: Any,
    query: Any,
    separator: Any,
    settings: Mapping[str, Any],
    branch: Sequence[int] | None = None,
) -> str:
    """The query string (with its '?') of a link that reopens this lab setup.

    Everything is checked as the lab and the page check it (ValueError or a
    :class:`PlaygroundError` naming the field); a link longer than the page accepts is refused.
    """
    if preset not in presets:
        raise ValueError(Message("link_unknown_preset", field="preset", value=preset))
    candidate = registry.candidate(model, adapter)
    setup = FewShotSetup.from_rows(task, examples, query, separator, limits=registry.limits)
    stop, written = link_settings(registry, candidate.model, settings)
    shared = SharedSetup(
        tab="lab",
        model=candidate.model,
        adapter=candidate.adapter,
        preset=preset,
        task=setup.task,
        examples=[(e.input, e.output) for e in setup.examples],
        query=setup.query,
        separator=separator,
        stop=stop,
        settings=written,
        branch=(int(branch[0]), int(branch[1])) if branch else None,  # the branch on screen
    )
    return written_link(shared, registry)


def pair_link(
    registry: Registry,
    *,
    tab: str,
    adapter: Any,
    settings: Mapping[str, Any],
    prompt: Any = None,
    prompt_input: Any = None,
) -> str:
    """The query string (with its '?') of a link that opens pair tab ``tab`` (George Sand, Instructions).

    It carries the tab, the adapter (and its base), the settings and, when given, the tab's
    texts (the opening, or the instruction and its input), checked as the tab checks them.
    """
    if tab not in PAIR_TABS:
        raise ValueError(Message("link_not_one_of", field="tab", value=tab, choices=", ".join(PAIR_TABS)))
    spec = registry.adapter(adapter)
    stop, written = link_settings(registry, spec.base, settings, OTHER_LEFT_OUT)
    shared = SharedSetup(
        tab=tab,
        model=spec.base,
        adapter=spec.name,
        prompt=None if prompt is None else link_prompt(registry, "prompt", prompt),
        prompt_input=None
        if tab == "style" or not prompt_input
        else link_prompt(registry, "prompt_input", prompt_input, required=False),
        stop=stop,
        settings=written,
    )
    return written_link(shared, registry)


def link_prompt(registry: Registry, name: str, value: Any, required: bool = True) -> str:
    """A prompt field checked as the engine checks it: text, bounded, not empty when ``required``."""
    text = check_text(name, value)
    if required and text == "":
        raise ValueError(Message("empty", field=name))
    limit = registry.limits.max_prompt_chars
    if len(text) > limit:
        raise ValueError(Message("too_long_chars", field=name, limit=limit, count=len(text)))
    return text


def link_settings(
    registry: Registry, model: str, settings: Mapping[str, Any], left_out: Mapping[str, Any] | None = None
) -> tuple[list[str], dict[str, Any]]:
    """The stop strings and the other settings a link writes, checked (the model's defaults fill the gaps).

    ``left_out``: the settings left out at the value the tab opens with (the lab's: :data:`LEFT_OUT_WHEN`).
    """
    left_out = LEFT_OUT_WHEN if left_out is None else left_out
    checked = GenerationSettings.from_dict(
        dict(settings), max_new_tokens_cap=registry.limits.max_new_tokens, defaults=registry.model(model).generation
    )
    written = {
        key: value
        for key, value in checked.to_dict().items()
        if key in SETTING_KEYS and not (key in left_out and value == left_out[key])
    }
    return list(checked.stop), written


def written_link(shared: SharedSetup, registry: Registry) -> str:
    """The query string (with its '?') of ``shared``; a link longer than the page accepts is refused."""
    link = "?" + shared.to_query()
    limit = registry.limits.max_url_chars - LINK_HEADROOM
    if len(link) - 1 > limit:  # a link the page would refuse is never written
        raise ValueError(Message("link_too_long", field="link", count=len(link), limit=limit))
    return link


def _ignored(reason: str) -> Message:
    """The warning for a link parameter that was dropped."""
    return Message("link_ignored", reason=reason)


def _text(value: str, name: str, limit: int, warnings: list[str]) -> str | None:
    if len(value) > limit:
        warnings.append(_ignored(Message("too_long_chars", field=name, limit=limit, count=len(value))))
        return None
    return value


def first_values(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Query parameters as a mapping where a repeated name keeps its first value (as the page reads it)."""
    out: dict[str, str] = {}
    for key, value in pairs:
        out.setdefault(key, value)
    return out


def json_depth(value: str) -> int:
    """How deeply the JSON text ``value`` nests lists and objects, read without parsing it."""
    depth = deepest = 0
    in_string = escaped = False
    for char in value:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def from_query(
    params: Mapping[str, str] | Iterable[tuple[str, str]], registry: Registry, presets: Mapping[str, Preset]
) -> SharedSetup:
    """Read a setup from query parameters, dropping (with a warning) what is not valid.

    ``params`` is a mapping, or the (name, value) pairs of the URL (a repeated name keeps its first value).
    """
    params = dict(params) if isinstance(params, Mapping) else first_values(params)
    limits = registry.limits
    setup = SharedSetup()
    w = setup.warnings
    unknown: list[str] = []
    for key, value in params.items():
        if key == "tab":
            if value in TABS:
                setup.tab = value
            else:
                w.append(_ignored(Message("link_not_one_of", field="tab", value=value, choices=", ".join(TABS))))
        elif key in ("lang", "__lang"):
            if value in LANGUAGES:
                setup.lang = setup.lang or value
            else:
                w.append(_ignored(Message("link_not_one_of", field="lang", value=value, choices=", ".join(LANGUAGES))))
        elif key == "embed":
            setup.embed = value.lower() in ("1", "true", "yes")
        elif key == "model":
            if value in registry.models:
                setup.model = value
            else:
                w.append(_ignored(Message("link_unknown_model", field="model", value=value)))
        elif key == "preset":
            if value in presets:
                setup.preset = value
            else:
                w.append(_ignored(Message("link_unknown_preset", field="preset", value=value)))
        elif key in ("task", "query", "separator"):
            setattr(setup, key, _text(value, key, limits.max_lab_field_chars, w))
        elif key in TEXT_KEYS:
            _other_tab_text(setup, key, value, registry)
        elif key == "use_prompt_style":
            setup.use_prompt_style = _flag(key, value, w)
        elif key == "examples":
            setup.examples = _examples(value, limits, w)
        elif key == "stop":
            setup.stop = _stop(value, w)
        elif key in SETTING_KEYS:
            _setting(setup, key, value, registry)
        elif key not in ("adapter", *BRANCH_KEYS, *PAGE_KEYS):
            unknown.append(key)
    _warn_unknown(unknown, w)
    if "adapter" in params:
        _adapter(setup, params["adapter"], registry)
    if any(key in params for key in BRANCH_KEYS):
        setup.branch = _branch(params, registry, w)
    _check_lab_total(setup, limits.max_lab_chars)
    return setup


def _branch(params: Mapping[str, str], registry: Registry, w: list[str]) -> tuple[int, int] | None:
    """(position, token) of a branch demo; both are needed."""
    missing = [key for key in BRANCH_KEYS if key not in params]
    if missing:
        w.append(_ignored(Message("link_branch_pair", field=missing[0])))
        return None
    bounds = {"branch_position": registry.limits.max_new_tokens - 1, "branch_token": MAX_TOKEN_ID}
    values = []
    for key in BRANCH_KEYS:
        try:
            parsed = json.loads(params[key])
        except ValueError:
            w.append(_ignored(Message("link_bad_json", field=key, value=params[key])))
            return None
        try:
            values.append(check_integer(key, parsed, 0, bounds[key]))
        except PlaygroundError as exc:
            w.append(_ignored(exc.args[0]))
            return None
    return values[0], values[1]


def _check_lab_total(setup: SharedSetup, limit: int) -> None:
    """Drop the examples (with a warning) when the task, examples and query together pass the lab's limit."""
    if setup.examples is None:
        return
    total = len(setup.task or "") + len(setup.query or "") + sum(len(a) + len(b) for a, b in setup.examples)
    if total > limit:
        setup.warnings.append(_ignored(Message("lab_too_long", field="examples", limit=limit, count=total)))
        setup.examples = None


def _examples(value: str, limits: Any, w: list[str]) -> list[tuple[str, str]] | None:
    count, chars = limits.max_lab_examples, limits.max_lab_field_chars
    bad = _ignored(Message("link_bad_examples", field="examples", limit=count, chars=chars))
    most = limits.max_lab_chars * 12 + count * 8 + 2  # every character escaped as a surrogate pair
    if len(value) > most:
        w.append(_ignored(Message("too_long_chars", field="examples", limit=most, count=len(value))))
        return None
    if json_depth(value) > MAX_DEPTH:
        w.append(_ignored(Message("link_too_deep", field="examples", limit=MAX_DEPTH)))
        return None
    try:
        data = json.loads(value)
    except ValueError:
        w.append(bad)
        return None
    if not isinstance(data, list) or len(data) > count:
        w.append(bad)
        return None
    pairs = []
    for pair in data:
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(x, str) for x in pair)):
            w.append(bad)
            return None
        if any(len(x) > chars for x in pair):
            w.append(bad)
            return None
        pairs.append((pair[0], pair[1]))
    return pairs


def _stop(value: str, w: list[str]) -> list[str] | None:
    if json_depth(value) > 1:
        w.append(_ignored(Message("link_too_deep", field="stop", limit=1)))
        return None
    try:
        stop = json.loads(value)
    except ValueError:
        w.append(_ignored(Message("link_bad_json", field="stop", value=value)))
        return None
    try:
        return list(GenerationSettings(stop=stop).validated().stop)
    except (ValueError, PlaygroundError) as exc:
        w.append(_ignored(exc.args[0] if exc.args else str(exc)))
        return None


def _setting(setup: SharedSetup, key: str, value: str, registry: Registry) -> None:
    if json_depth(value) > 0:
        setup.warnings.append(_ignored(Message("link_too_deep", field=key, limit=0)))
        return
    try:
        parsed = json.loads(value)
    except ValueError:
        setup.warnings.append(_ignored(Message("link_bad_json", field=key, value=value)))
        return
    try:
        GenerationSettings.from_dict({key: parsed}, max_new_tokens_cap=registry.limits.max_new_tokens)
    except (ValueError, PlaygroundError) as exc:
        setup.warnings.append(_ignored(exc.args[0] if exc.args else str(exc)))
        return
    setup.settings[key] = parsed


def _warn_unknown(unknown: list[str], w: list[str]) -> None:
    """One warning for the unknown parameters: the one, or the first few and their count."""
    if len(unknown) == 1:
        w.append(_ignored(Message("link_unknown_parameter", field=unknown[0])))
    elif unknown:
        named = ", ".join(str(excerpt(key)) for key in unknown[:UNKNOWN_NAMED])
        w.append(_ignored(Message("link_unknown_parameters", field=named, count=len(unknown))))


def _other_tab_text(setup: SharedSetup, key: str, value: str, registry: Registry) -> None:
    """A prompt, an instruction's input, a Compare candidate or text: bounded as the tab bounds it."""
    limits, w = registry.limits, setup.warnings
    if key in ("model_a", "model_b"):
        try:
            setattr(setup, key, registry.parse_candidate(value, key).key)
        except PlaygroundError:
            w.append(_ignored(Message("link_unknown_model", field=key, value=value)))
        return
    limit = limits.max_compare_chars if key == "text" else limits.max_prompt_chars
    setattr(setup, key, _text(value, key, limit, w))


def _flag(key: str, value: str, w: list[str]) -> bool | None:
    """A yes (``1``, ``true``, ``yes``) or a no (``0``, ``false``, ``no``); anything else is dropped."""
    if value.lower() in TRUE + FALSE:
        return value.lower() in TRUE
    w.append(_ignored(Message("link_not_one_of", field=key, value=value, choices="1, 0")))
    return None


def _adapter(setup: SharedSetup, value: str, registry: Registry) -> None:
    spec = registry.adapters.get(value)
    if spec is None:
        setup.warnings.append(_ignored(Message("link_unknown_adapter", field="adapter", value=value)))
    elif setup.model is not None and spec.base != setup.model:
        other = Message("link_adapter_other_base", field="adapter", value=value, base=spec.base, model=setup.model)
        setup.warnings.append(_ignored(other))
    else:
        setup.adapter = value
        setup.model = spec.base
