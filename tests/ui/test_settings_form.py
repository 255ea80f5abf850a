"""The settings declared once at the Gradio edge, and the handler wrapper derived from it.

The declaration (:data:`playground.ui.controls.SETTINGS`) covers every field of
GenerationSettings, its sliders show a part of what the core accepts, and a handler
wrapped by :func:`playground.ui.handler.handler` shows Gradio the settings as named
parameters, stays a generator when it is one, builds the settings mapping, and answers a
bad value with a ``gr.Error`` in the visitor's language. No app is started: the wrapped
functions are called the way Gradio calls them (positionally, the request filled in).
"""

from __future__ import annotations

import inspect
from dataclasses import fields
from types import SimpleNamespace
from typing import Any

import gradio as gr
import pytest

from playground.settings import RANGES, GenerationSettings
from playground.ui.caller import CANCELS
from playground.ui.controls import (
    DISTRIBUTION,
    NAMES,
    SETTINGS,
    Slider,
    control_values,
    settings_controls,
    settings_from,
    settings_kwargs,
)
from playground.ui.handler import Call, Settings, Texts, handler


def _request(lang: str = "en", session: str = "s1") -> Any:
    """What the wrapper reads of a Gradio request: its headers and its session."""
    return SimpleNamespace(headers={"accept-language": lang}, session_hash=session, client=None)


def test_the_declaration_covers_every_setting_of_the_core_in_its_order():
    assert tuple(f.name for f in fields(GenerationSettings)) == NAMES
    numeric = [s.name for s in SETTINGS if isinstance(s.control, Slider)]
    assert numeric == list(RANGES)  # every slider is a number the core checks against a declared range


def test_every_slider_shows_a_part_of_what_the_core_accepts():
    cap = 64
    for setting in SETTINGS:
        if not isinstance(setting.control, Slider):
            continue
        span = RANGES[setting.name]
        high = cap if setting.control.high is None else setting.control.high
        GenerationSettings.from_dict({setting.name: setting.control.low}, max_new_tokens_cap=cap)  # accepted
        GenerationSettings.from_dict({setting.name: high}, max_new_tokens_cap=cap)
        assert (span.high is None) == (setting.control.high is None), setting.name


def test_controls_values_and_mapping_round_trip():
    settings = GenerationSettings(temperature=0.7, top_k=40, max_new_tokens=12, stop=("\n", "END"), seed=3)
    shown = dict(zip(NAMES, control_values(settings), strict=True))
    assert shown["stop"] == "\\n\nEND" and shown["seed"] == "3"  # as the text boxes hold them
    assert GenerationSettings.from_dict(settings_from(shown)) == settings
    assert settings_from({"seed": ""}) == {"seed": None}  # an empty seed box: a random seed


def test_settings_kwargs_names_a_call_and_refuses_what_is_not_asked_for():
    call = settings_kwargs(max_new_tokens=5)
    assert list(call) == list(NAMES)  # every setting, by name: greedy, then what was asked for
    assert settings_from(call) == {**GenerationSettings().to_dict(), "max_new_tokens": 5}
    assert list(settings_kwargs(names=DISTRIBUTION, top_k=3)) == list(DISTRIBUTION)
    with pytest.raises(TypeError, match="seed"):
        settings_kwargs(names=DISTRIBUTION, seed=1)


def test_settings_controls_are_built_in_the_declared_order():
    with gr.Blocks():
        controls = settings_controls(GenerationSettings(max_new_tokens=500, seed=9), 64, "unit")
    assert list(controls) == list(NAMES)
    assert controls["max_new_tokens"].maximum == 64 and controls["max_new_tokens"].value == 64  # within the cap
    assert controls["seed"].value == "9" and controls["temperature"].elem_id == "unit-temperature"


def test_a_wrapped_handler_names_every_setting_and_fills_the_request():
    @handler(progress=True)
    def run(call: Call, model: str, settings: Settings, is_page: bool) -> str:
        return model

    names = list(inspect.signature(run).parameters)
    assert names == ["model", *NAMES, "is_page", "request", "progress"]
    assert run.__annotations__["request"] is gr.Request  # Gradio fills it in, and leaves it out of the API
    assert isinstance(inspect.signature(run).parameters["progress"].default, gr.Progress)

    @handler(settings=DISTRIBUTION, texts=("prompt", "prompt_input"))
    def inspect_it(call: Call, texts: Texts, settings: Settings) -> tuple:
        return texts, settings

    assert list(inspect.signature(inspect_it).parameters) == ["prompt", "prompt_input", *DISTRIBUTION, "request"]


def test_a_wrapped_handler_gets_the_settings_mapping_and_its_call():
    seen: dict[str, Any] = {}

    @handler(cancel="unit")
    def run(call: Call, model: str, settings: Settings) -> str:
        seen.update(call=call, settings=settings, watching=len(CANCELS))
        return model

    values = control_values(GenerationSettings(temperature=0.5, stop=("x",), seed=4))
    assert run("tiny", *values, _request("fr")) == "tiny"  # positionally, as Gradio calls it
    assert seen["settings"] == {**GenerationSettings(temperature=0.5, seed=4).to_dict(), "stop": ["x"]}
    assert seen["call"].lang == "fr" and seen["call"].cancel is not None and seen["watching"] == 1
    assert seen["call"].visitor.session == "s1"
    assert len(CANCELS) == 0  # the watch ends with the handler


def test_a_generator_stays_a_generator_and_a_stop_reaches_it():
    @handler(cancel="unit-stream")
    def stream(call: Call, n: int, settings: Settings):
        for i in range(n):
            yield i, call.cancel.is_set()

    assert inspect.isgeneratorfunction(stream)  # Gradio streams what a generator function yields
    running = stream(3, *control_values(GenerationSettings()), _request(session="s2"))
    assert next(running) == (0, False)
    assert CANCELS.cancel("s2", "unit-stream") == 1
    assert next(running) == (1, True)
    running.close()  # as Gradio closes a cancelled event's iterator
    assert len(CANCELS) == 0


@pytest.mark.parametrize(
    ("lang", "message"),
    [("en", "seed: must be an integer or empty, got 'abc'"), ("fr", "seed : doit être un entier ou rester vide")],
)
def test_a_bad_value_becomes_a_gr_error_in_the_visitors_language(lang, message):
    @handler()
    def run(call: Call, settings: Settings) -> None:
        raise AssertionError("never reached: the seed is read first")

    @handler()
    def stream(call: Call, model: str, settings: Settings):
        yield GenerationSettings.from_dict({"temperature": 9})

    values = control_values(GenerationSettings())
    with pytest.raises(gr.Error, match=message):
        run(*values[:-1], "abc", _request(lang))
    with pytest.raises(gr.Error, match="temperature"):
        list(stream("tiny", *values, _request(lang)))
