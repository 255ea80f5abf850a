"""The generation settings at the Gradio edge, declared once.

:data:`SETTINGS` says, for each field of :class:`~playground.settings.GenerationSettings`,
which control shows it (a slider's span and step, or a text box), its label key, its API
type, and how a control's value reads into the settings mapping and back. Everything else
is derived from it: the controls (:func:`settings_controls`), the named API parameters of
every handler (:func:`playground.ui.handler.handler` splices them into the signature),
the settings mapping (:func:`settings_from`), deep links (:mod:`playground.ui.links`) and
what the Generate tab resets when the model changes.

The core stays the judge: a slider shows a comfortable part of the range that
:data:`playground.settings.RANGES` accepts, and API callers, who bypass the sliders, are
checked there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import gradio as gr

from playground.messages import Message
from playground.settings import GenerationSettings, check_text
from playground.ui.checked import core_checked
from playground.ui.i18n import I18N


def parse_stop_strings(text: str) -> list[str]:
    """One stop string per line; ``\\n`` and ``\\t`` stand for a newline and a tab."""
    lines = [line for line in check_text("stop", text or "").splitlines() if line != ""]
    return [line.replace("\\n", "\n").replace("\\t", "\t") for line in lines]


def stop_text(stop: tuple[str, ...] | list[str]) -> str:
    """Stop strings as the stop box shows them (the inverse of :func:`parse_stop_strings`)."""
    return "\n".join(s.replace("\n", "\\n").replace("\t", "\\t") for s in stop)


def parse_seed(value: object) -> int | None:
    """The seed box's value: empty means a random seed (None); otherwise an integer.

    A text box, not a number box: an empty gr.Number shows and sends 0, and 0 is a seed.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError(Message("seed_not_integer", field="seed", value=value))
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise ValueError(Message("seed_not_integer", field="seed", value=value))


def seed_text(seed: int | None) -> str:
    """A seed as the seed box shows it (the inverse of :func:`parse_seed`): empty for a random one."""
    return "" if seed is None else str(seed)


def _as_is(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class Slider:
    """A slider over [low, high] (high None: the server's ``max_new_tokens`` cap)."""

    low: float
    high: float | None
    step: float

    def build(self, value: Any, cap: int, label: Any, elem_id: str, lines: int) -> gr.Slider:
        """The slider, showing ``value`` (within the cap); its value reaches the core unchecked by Gradio."""
        high = cap if self.high is None else self.high
        shown = min(value, high) if self.high is None else value
        return core_checked(gr.Slider(self.low, high, value=shown, step=self.step, label=label, elem_id=elem_id))


@dataclass(frozen=True)
class Text:
    """A text box (``lines`` of them; ``placeholder``: an I18N key shown when empty)."""

    single_line: bool = False
    placeholder: str | None = None

    def build(self, value: Any, cap: int, label: Any, elem_id: str, lines: int) -> gr.Textbox:
        """The text box, showing ``value``."""
        shape: dict[str, Any] = {"max_lines": 1} if self.single_line else {"lines": lines}
        if self.placeholder is not None:
            shape["placeholder"] = I18N(self.placeholder)
        return gr.Textbox(value=value, label=label, elem_id=elem_id, **shape)


@dataclass(frozen=True)
class Setting:
    """One generation setting as the UI and the API see it."""

    name: str  # the GenerationSettings field, the API parameter and the deep-link parameter
    label: str  # I18N key of the control's label
    control: Slider | Text
    api_type: Any  # the API parameter's type, as Gradio documents it
    read: Callable[[Any], Any] = _as_is  # a control's (or API caller's) value -> the settings mapping's
    show: Callable[[Any], Any] = _as_is  # a settings value -> the control's
    follows_model: bool = True  # the Generate tab shows the chosen model's default
    shapes_distribution: bool = False  # it reshapes the next-token distribution (the lab shows it live)


SETTINGS: tuple[Setting, ...] = (
    Setting("temperature", "temperature", Slider(0, 2, 0.05), float, shapes_distribution=True),
    Setting("top_p", "top_p", Slider(0.01, 1, 0.01), float, shapes_distribution=True),
    Setting("top_k", "top_k", Slider(0, 200, 1), float, shapes_distribution=True),
    Setting("max_new_tokens", "max_new_tokens", Slider(1, None, 1), float),
    Setting("repetition_penalty", "repetition_penalty", Slider(0.5, 2, 0.05), float, shapes_distribution=True),
    Setting("no_repeat_ngram_size", "no_repeat_ngram_size", Slider(0, 8, 1), float, shapes_distribution=True),
    Setting("stop", "stop_strings", Text(), str, parse_stop_strings, stop_text, follows_model=False),
    Setting("seed", "seed", Text(True, "random_seed"), str | None, parse_seed, seed_text, follows_model=False),
)
BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}
NAMES: tuple[str, ...] = tuple(BY_NAME)
DISTRIBUTION: tuple[str, ...] = tuple(s.name for s in SETTINGS if s.shapes_distribution)
FOLLOW_MODEL: tuple[str, ...] = tuple(s.name for s in SETTINGS if s.follows_model)


class SettingsControls(dict[str, Any]):
    """One tab's settings components by name, in :data:`NAMES`' order."""

    def inputs(self, names: Iterable[str] = NAMES) -> list[Any]:
        """The components of ``names`` (all, by default), in that order: an event's inputs or outputs."""
        return [self[name] for name in names]


def settings_controls(defaults: GenerationSettings, cap: int, prefix: str, *, stop_lines: int = 2) -> SettingsControls:
    """Create the settings components in the current layout, filled with ``defaults``."""
    built = SettingsControls()
    for s in SETTINGS:
        shown = s.show(getattr(defaults, s.name))
        built[s.name] = s.control.build(shown, cap, I18N(s.label), f"{prefix}-{s.name}", stop_lines)
    return built


def settings_from(values: Mapping[str, Any]) -> dict[str, Any]:
    """The settings mapping the engine validates, from the controls' (or an API caller's) values by name.

    Raises ValueError naming the field when a text box holds what its setting cannot read
    (a seed that is not an integer, stop strings that are not text).
    """
    return {name: BY_NAME[name].read(value) for name, value in values.items()}


def settings_kwargs(
    settings: GenerationSettings | None = None, names: Iterable[str] = NAMES, **overrides: Any
) -> dict[str, Any]:
    """The settings ``names`` as an API call names them (as their controls hold them): ``settings``, then ``overrides``.

    ``settings`` defaults to GenerationSettings() (greedy); a stop is the stop box's text, a
    seed the seed box's ("" for a random one). Benchmarks and tests build their calls with it
    (``names=DISTRIBUTION`` for /lab_inspect).
    """
    names = tuple(names)
    values = dict(zip(names, control_values(settings or GenerationSettings(), names), strict=True))
    unknown = sorted(set(overrides) - set(values))
    if unknown:
        raise TypeError(f"not among the settings asked for: {', '.join(unknown)}")
    return {**values, **overrides}


def control_values(settings: GenerationSettings | Mapping[str, Any], names: Iterable[str] = NAMES) -> list[Any]:
    """What the controls of ``names`` show for ``settings`` (a GenerationSettings or a mapping by name)."""
    get = settings.get if isinstance(settings, Mapping) else lambda name: getattr(settings, name)
    return [BY_NAME[name].show(get(name)) for name in names]
