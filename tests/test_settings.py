"""Generation settings: every field checked for type, finiteness and range."""

from __future__ import annotations

import math

import pytest

from playground.errors import SettingsError
from playground.settings import GenerationSettings


def check(**kwargs) -> GenerationSettings:
    return GenerationSettings.from_dict(kwargs, max_new_tokens_cap=256)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"temperature": 0},
        {"temperature": 2},
        {"top_p": 1},
        {"top_p": 1e-6},
        {"top_k": 0},
        {"max_new_tokens": 1},
        {"max_new_tokens": 256},
        {"repetition_penalty": 1e-3},
        {"stop": ["a", "b", "\n", "###"]},
        {"seed": 0},
        {"max_new_tokens": 50.0},  # JSON clients send integers as floats
    ],
)
def test_boundary_values_are_accepted(kwargs):
    settings = check(**kwargs)
    key = next(iter(kwargs))
    assert getattr(settings, key) == (tuple(kwargs[key]) if key == "stop" else kwargs[key])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"temperature": -0.01}, r"temperature: -0.01 is out of range \[0, 2\]"),
        ({"temperature": 2.01}, r"temperature: 2.01 is out of range"),
        ({"temperature": math.nan}, "temperature: must be a finite number"),
        ({"temperature": math.inf}, "temperature: must be a finite number"),
        ({"temperature": "hot"}, "temperature: must be a number, got str"),
        ({"temperature": True}, "temperature: must be a number, got bool"),
        ({"top_p": 0}, r"top_p: 0 is out of range \(0, 1\]"),
        ({"top_p": 1.5}, "top_p: 1.5 is out of range"),
        ({"top_k": -1}, r"top_k: -1 is out of range \[0,"),
        ({"top_k": 2.5}, "top_k: must be an integer, got float"),
        ({"max_new_tokens": 0}, r"max_new_tokens: 0 is out of range \[1, 256\]"),
        ({"max_new_tokens": 257}, r"max_new_tokens: 257 is out of range \[1, 256\]"),
        ({"max_new_tokens": None}, "max_new_tokens: must be an integer, got NoneType"),
        ({"repetition_penalty": 0}, r"repetition_penalty: 0 is out of range \(0, 10\]"),
        ({"repetition_penalty": -1}, "repetition_penalty: -1 is out of range"),
        ({"no_repeat_ngram_size": -2}, "no_repeat_ngram_size: -2 is out of range"),
        ({"stop": ["a", "b", "c", "d", "e"]}, "stop: at most 4 stop strings, got 5"),
        ({"stop": ["ok", ""]}, r"stop\[1\]: must not be empty"),
        ({"stop": [3]}, r"stop\[0\]: must be a string, got int"),
        ({"stop": 3}, "stop: must be a list of strings, got int"),
        ({"stop": ["x" * 65]}, r"stop\[0\]: at most 64 characters"),
        ({"seed": -1}, r"seed: -1 is out of range"),
        ({"seed": "42"}, "seed: must be an integer, got str"),
        ({"unknown": 1}, "unknown: unknown setting"),
    ],
)
def test_bad_values_raise_value_error_naming_the_field(kwargs, message):
    with pytest.raises(SettingsError, match=message) as info:
        check(**kwargs)
    assert isinstance(info.value, ValueError)


def test_missing_keys_come_from_the_defaults():
    defaults = GenerationSettings(temperature=0.8, top_k=50, max_new_tokens=100)
    settings = GenerationSettings.from_dict({"top_k": 10}, max_new_tokens_cap=256, defaults=defaults)
    assert (settings.temperature, settings.top_k, settings.max_new_tokens) == (0.8, 10, 100)


def test_a_single_stop_string_is_accepted_and_round_trips():
    settings = check(stop="\n")
    assert settings.stop == ("\n",)
    assert settings.to_dict()["stop"] == ["\n"]
    assert GenerationSettings.from_dict(settings.to_dict(), max_new_tokens_cap=256) == settings
