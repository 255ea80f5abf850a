"""Bad input through the API (``gradio_client`` and raw HTTP bypass the UI's sliders and menus).

Every bad value gets an error that names its field and changes nothing; valid values at
the boundaries are accepted; the server answers the next request normally.
"""

from __future__ import annotations

import json

import httpx
import pytest

from playground.ui.controls import settings_kwargs
from tests import tiny_models
from tests.clients import api_client
from tests.waiting import WAIT_S

GOOD = tiny_models.generate_kwargs("tiny", max_new_tokens=5)  # every setting by name, greedy

BAD = [
    ({"temperature": 5}, r"temperature: 5 is out of range \[0, 2\]"),
    ({"temperature": -0.1}, r"temperature: -0.1 is out of range \[0, 2\]"),
    ({"temperature": "hot"}, r"temperature: must be a number, got str 'hot'"),
    ({"temperature": None}, r"temperature: must be a number, got NoneType None"),
    ({"temperature": [1]}, r"temperature: must be a number, got list \[1\]"),
    ({"temperature": True}, r"temperature: must be a number, got bool True"),
    ({"top_p": 0}, r"top_p: 0 is out of range \(0, 1\]"),
    ({"top_p": 1.5}, r"top_p: 1.5 is out of range \(0, 1\]"),
    ({"top_k": 2.5}, r"top_k: must be an integer, got float 2.5"),
    ({"top_k": -1}, r"top_k: -1 is out of range"),
    ({"max_new_tokens": 0}, r"max_new_tokens: 0 is out of range \[1, 64\]"),
    ({"max_new_tokens": 10**9}, r"max_new_tokens: 1000000000 is out of range \[1, 64\]"),
    ({"max_new_tokens": "many"}, r"max_new_tokens: must be an integer, got str 'many'"),
    ({"repetition_penalty": 0}, r"repetition_penalty: 0 is out of range \(0, 10\]"),
    ({"no_repeat_ngram_size": -1}, r"no_repeat_ngram_size: -1 is out of range \[0, 64\]"),
    ({"stop": "a\nb\nc\nd\ne"}, r"stop: at most 4 stop strings, got 5"),
    ({"stop": "x" * 65}, r"stop\[0\]: at most 64 characters, got 65"),
    ({"seed": "abc"}, r"seed: must be an integer or empty, got 'abc'"),
    ({"seed": "-1"}, r"seed: -1 is out of range"),
    ({"seed": str(2**64)}, r"seed: 18446744073709551616 is out of range"),
    ({"prompt": ""}, r"prompt: must not be empty"),
    ({"prompt": None}, r"prompt: must be a string, got NoneType"),
    ({"prompt": "a" * 1_000_000}, r"prompt: 1000000 characters, more than the limit of 5000"),
    ({"model": "gpt-5"}, r"model: unknown model 'gpt-5' \(known: tiny, tiny-local\)"),
    ({"model": None}, r"model: unknown model None"),
    ({"adapter": "nope"}, r"adapter: unknown adapter 'nope'"),
    ({"model": "tiny-local", "adapter": "style-a"}, r"adapter: 'style-a' belongs to model 'tiny', not 'tiny-local'"),
    ({"use_prompt_style": "yes"}, r"use_prompt_style: must be true or false, got 'yes'"),
]

BOUNDARIES = [
    {"temperature": 0},
    {"temperature": 2, "seed": "1"},
    {"top_p": 1e-6, "temperature": 1, "seed": "0"},
    {"top_k": 1_000_000, "temperature": 1, "seed": str(2**63 - 1)},
    {"max_new_tokens": 1},
    {"max_new_tokens": 64},
    {"repetition_penalty": 10},
    {"repetition_penalty": 0.01},
    {"no_repeat_ngram_size": 64},
    {"stop": "\n".join(["x" * 64] * 4)},
    {"prompt": "a" * 5000},
]

ODD_BUT_VALID_PROMPTS = [
    "NUL \x00 bell \x07 escape \x1b[31m tab \t end",  # control characters
    "\u202eevil\u202c שלום مرحبا بالعالم",  # right-to-left text and override marks
    "🦦 loutre 👩‍👩‍👧 🇫🇷",  # emoji, ZWJ sequences, flags
    "stop <|endoftext|> here",  # a special token typed by the user: plain text
    "word " * 400,  # longer than the tiny model's context: left-truncated with a warning
]


def _call(client, **overrides):
    return client.predict(**{**GOOD, **overrides}, api_name="/generate")


@pytest.fixture(scope="module")
def client(app_url):
    return api_client(app_url)


@pytest.mark.parametrize(("overrides", "message"), BAD, ids=[m.split(":")[0] for _, m in BAD])
def test_bad_values_are_refused_naming_the_field(client, overrides, message):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match=message):
        _call(client, **overrides)
    text, details = _call(client)  # the server goes on serving
    assert text and "**Done:** 5 tokens" in details


@pytest.mark.parametrize("overrides", BOUNDARIES, ids=[next(iter(b)) for b in BOUNDARIES])
def test_boundary_values_are_accepted(client, overrides):
    _, details = _call(client, **overrides)
    assert "**Done:**" in details


@pytest.mark.parametrize("prompt", ODD_BUT_VALID_PROMPTS, ids=["control", "rtl", "emoji", "special", "long"])
def test_odd_but_valid_prompts_work(client, prompt):
    _, details = _call(client, prompt=prompt)
    assert "**Done:** 5 tokens" in details
    if prompt.startswith("word"):
        assert "were dropped to fit tiny" in details


LAB = {
    "model": "tiny",
    "adapter": "(base)",
    "task": "Translate English to French:",
    "examples": {"headers": ["input", "output"], "data": [["sea otter", "loutre de mer"]]},
    "query": "cheese",
    "separator": " => ",
    **settings_kwargs(max_new_tokens=4),
}

LAB_BAD = [
    ({"examples": "abc"}, r"examples: must be a list of \[input, output\] rows of text, got str"),
    ({"examples": {"headers": ["input", "output"], "data": 5}}, r"examples: must be a list of \[input, output\] rows"),
    ({"examples": {"headers": ["input", "output"], "data": [["a", {"x": 1}]]}}, r"examples\[0\]: must be a list"),
    ({"examples": {"headers": ["input", "output"], "data": [["sea otter", ""]]}}, r"examples\[0\]: needs both"),
    ({"query": ""}, r"query: must not be empty"),
    ({"query": None}, r"query: must not be empty"),
    ({"separator": ""}, r"separator: must not be empty"),
    ({"model": "gpt-5"}, r"model: unknown model 'gpt-5'"),
    ({"temperature": 9}, r"temperature: 9 is out of range"),
]


@pytest.mark.parametrize(("overrides", "message"), LAB_BAD, ids=[m.split(":")[0] for _, m in LAB_BAD])
def test_lab_refuses_bad_tables_and_fields_by_name(client, overrides, message):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match=message):
        client.predict(**{**LAB, **overrides}, api_name="/lab_run")
    zero, one, few, _ = client.predict(**LAB, api_name="/lab_run")
    assert zero and one and few


def test_compare_names_the_menu_that_is_wrong(client):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match=r"model_b: unknown model 'gpt-5'"):
        client.predict(model_a="tiny", model_b="gpt-5", text="Some text to score.", api_name="/compare")
    with pytest.raises(AppError, match=r"model_a: unknown model 'tiny-local \+ style-a'"):
        client.predict(model_a="tiny-local + style-a", model_b="tiny", text="Some text to score.", api_name="/compare")
    with pytest.raises(AppError, match=r"text: must not be empty"):
        client.predict(model_a="tiny", model_b="tiny", text="  ", api_name="/compare")


def _raw_generate(app_url: str, data: str) -> str:
    """POST a hand-written JSON body (what gradio_client refuses to encode); the event's stream."""
    call = httpx.post(
        app_url + "gradio_api/call/generate",
        content='{"data": ' + data + "}",
        headers={"content-type": "application/json"},
        timeout=WAIT_S,
    )
    call.raise_for_status()
    return httpx.get(app_url + f"gradio_api/call/generate/{call.json()['event_id']}", timeout=WAIT_S).text


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("NaN", "temperature: must be a finite number, got nan"),
        ("Infinity", "temperature: must be a finite number, got inf"),
    ],
)
def test_nan_and_infinity_from_raw_json_are_refused(app_url, value, message):
    data = json.dumps(list({**GOOD, "temperature": float(value)}.values()))  # the API's order; json writes NaN as is
    assert value in data
    body = _raw_generate(app_url, data)
    assert "event: error" in body and json.dumps(message)[1:-1] in body


def test_a_lone_surrogate_from_raw_json_is_refused(app_url):
    data = json.dumps(list({**GOOD, "prompt": "a\ud800b"}.values()))  # json escapes the lone surrogate
    assert "a\\ud800b" in data
    body = _raw_generate(app_url, data)
    assert "event: error" in body and "prompt: invalid Unicode (a lone surrogate) at character 1" in body
