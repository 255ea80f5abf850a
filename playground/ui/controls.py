"""The generation-settings controls the tabs share, and the settings they produce."""

from __future__ import annotations

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


@dataclass
class SettingsControls:
    """The components of one tab's settings, in the order its handler receives them."""

    temperature: gr.Slider
    top_p: gr.Slider
    top_k: gr.Slider
    max_new_tokens: gr.Slider
    repetition_penalty: gr.Slider
    no_repeat_ngram_size: gr.Slider
    stop: gr.Textbox
    seed: gr.Textbox

    def inputs(self) -> list[Any]:
        """Event inputs, in the order of :func:`settings_from`'s arguments."""
        sliders = [self.temperature, self.top_p, self.top_k, self.max_new_tokens, self.repetition_penalty]
        return [*sliders, self.no_repeat_ngram_size, self.stop, self.seed]


def settings_controls(defaults: GenerationSettings, cap: int, prefix: str, *, stop_lines: int = 2) -> SettingsControls:
    """Create the settings components in the current layout, filled with ``defaults``."""
    return SettingsControls(
        temperature=core_checked(
            gr.Slider(
                0, 2, value=defaults.temperature, step=0.05, label=I18N("temperature"), elem_id=f"{prefix}-temperature"
            )
        ),
        top_p=core_checked(gr.Slider(0.01, 1, value=defaults.top_p, step=0.01, label=I18N("top_p"))),
        top_k=core_checked(gr.Slider(0, 200, value=defaults.top_k, step=1, label=I18N("top_k"))),
        max_new_tokens=core_checked(
            gr.Slider(1, cap, value=min(defaults.max_new_tokens, cap), step=1, label=I18N("max_new_tokens"))
        ),
        repetition_penalty=core_checked(
            gr.Slider(0.5, 2, value=defaults.repetition_penalty, step=0.05, label=I18N("repetition_penalty"))
        ),
        no_repeat_ngram_size=core_checked(
            gr.Slider(0, 8, value=defaults.no_repeat_ngram_size, step=1, label=I18N("no_repeat_ngram_size"))
        ),
        stop=gr.Textbox(value=stop_text(defaults.stop), lines=stop_lines, label=I18N("stop_strings")),
        seed=gr.Textbox(
            value="" if defaults.seed is None else str(defaults.seed),
            placeholder=I18N("random_seed"),
            label=I18N("seed"),
            max_lines=1,
            elem_id=f"{prefix}-seed",
        ),
    )


def settings_from(
    temperature: float,
    top_p: float,
    top_k: float,
    max_new_tokens: float,
    repetition_penalty: float,
    no_repeat_ngram_size: float,
    stops: str,
    seed: object,
) -> dict[str, Any]:
    """The settings mapping the engine validates, from the controls' values.

    Raises ValueError naming the seed when the seed box holds something else than an integer.
    """
    settings: dict[str, Any] = {
        "temperature": temperature,
        "top_p": top_p,
        "top_k": top_k,
        "max_new_tokens": max_new_tokens,
        "repetition_penalty": repetition_penalty,
        "no_repeat_ngram_size": no_repeat_ngram_size,
        "stop": parse_stop_strings(stops),
        "seed": parse_seed(seed),
    }
    return settings
