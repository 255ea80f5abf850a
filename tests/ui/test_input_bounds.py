"""Every input is bounded before work: characters before tokens, tokens before forward passes.

The limits are the registry's (``limits``); a value past one is refused with an error that
names the field (English and French), a value at one is accepted, and what the lab's
*Share* writes always reopens.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest

from playground.errors import ConfigError
from playground.lessons.deep_links import SharedSetup, from_query
from playground.lessons.fewshot import FewShotSetup
from playground.lessons.presets import load_presets
from playground.messages import localize
from playground.ui.controls import DISTRIBUTION
from tests.clients import api_client
from tests.ui.test_api_input import LAB  # the lab's API arguments, valid


def _lab_error(limits, **fields) -> str:
    args = {"task": "T:", "rows": [["a", "b"]], "query": "q", "separator": " => ", **fields}
    with pytest.raises(ValueError) as caught:
        FewShotSetup.from_rows(args["task"], args["rows"], args["query"], args["separator"], limits=limits)
    return localize(caught.value, "en") + " | " + localize(caught.value, "fr")


def test_the_new_limits_are_read_from_the_registry_and_bad_ones_named(tiny_hub):
    limits = tiny_hub.registry().limits
    assert (limits.max_lab_examples, limits.max_lab_field_chars, limits.max_lab_chars) == (16, 2000, 8000)
    assert limits.step_tokens == 64 and limits.max_rows_per_visitor == 3
    for key, value, message in [
        ("step_tokens", 0, r"limits\.step_tokens: 0 is out of range"),
        ("prefill_tokens", 32, r"limits\.prefill_tokens: 32 is less than step_tokens \(64\)"),
        ("max_lab_examples", "many", r"limits\.max_lab_examples: must be an integer"),
        ("listen_wait_s", -1, r"limits\.listen_wait_s: must be a positive number of seconds"),
        ("session_ttl_s", float("nan"), r"limits\.session_ttl_s: must be a positive number of seconds"),
    ]:
        with pytest.raises(ConfigError, match=message):
            tiny_hub.registry(limits={key: value})


def test_lab_sizes_are_checked_before_anything_is_read_naming_the_field(tiny_hub):
    limits = tiny_hub.registry().limits
    many = [["in", "out"]] * 5000
    assert "examples: at most 16 rows, got 5000" in _lab_error(limits, rows=many)
    assert "examples : au plus 16 lignes, reçu 5000" in _lab_error(limits, rows=many)
    assert "task: at most 2000 characters, got 2001" in _lab_error(limits, task="t" * 2001)
    assert "query: at most 2000 characters, got 70000" in _lab_error(limits, query="q" * 70_000)
    assert "examples[3]: at most 2000 characters" in _lab_error(limits, rows=[["a", "b"]] * 3 + [["a", "b" * 2001]])
    text = _lab_error(limits, rows=[["i" * 1000, "o" * 1000]] * 4, task="t" * 1)
    assert "examples: the task, examples and query together are 8002 characters" in text
    # at the limits: accepted
    rows = [["i" * 250, "o" * 249]] * 16
    setup = FewShotSetup.from_rows("t" * 8, rows, "q" * 8, " => ", limits=limits)
    assert len(setup.examples) == 16


def _link(query: str, tiny_hub) -> SharedSetup:
    return from_query(parse_qsl(query, keep_blank_values=True), tiny_hub.registry(), load_presets())


def test_deep_links_are_measured_before_they_are_parsed(tiny_hub):
    deep = _link("tab=lab&examples=" + "[" * 5000 + "]" * 5000, tiny_hub)  # RecursionError before
    assert deep.examples is None and deep.tab == "lab"
    assert "examples: nested more than 2 levels deep; ignored" in deep.warnings
    for key in ("stop", "temperature"):
        assert any(w.startswith(f"{key}: nested") for w in _link(f"{key}=" + "[" * 3000, tiny_hub).warnings)


def test_warnings_quote_short_excerpts_and_unknown_parameters_make_one_warning(tiny_hub):
    long_stop = _link("stop=" + "x" * 30_000, tiny_hub)
    assert long_stop.stop is None and len(long_stop.warnings) == 1 and len(long_stop.warnings[0]) < 200
    many = _link("&".join(f"unknown{i}=1" for i in range(2000)), tiny_hub)
    assert len(many.warnings) == 1 and len(many.warnings[0]) < 200
    assert "2000 unknown parameters (unknown0, unknown1" in many.warnings[0]
    assert "2000 paramètres inconnus" in localize(many.warnings[0], "fr")
    long_name = _link("model=" + "m" * 10_000, tiny_hub)
    assert len(long_name.warnings[0]) < 200


def test_a_repeated_parameter_keeps_its_first_value_as_the_page_does(tiny_hub):
    assert _link("lang=fr&lang=en", tiny_hub).lang == "fr"
    assert _link("lang=en&lang=fr&tab=style&tab=lab", tiny_hub).lang == "en"
    assert _link("lang=en&lang=fr&tab=style&tab=lab", tiny_hub).tab == "style"


def test_a_hand_made_link_past_the_labs_total_drops_its_examples(tiny_hub):
    setup = SharedSetup(task="t" * 2000, examples=[("i" * 2000, "o" * 2000)] * 2, query="q")
    back = _link(setup.to_query(), tiny_hub)
    assert back.task == "t" * 2000 and back.examples is None
    assert any("together are 10001 characters" in w for w in back.warnings)


# -- through the running app ----------------------------------------------------------------

INSPECT_KEYS = ("model", "adapter", "task", "examples", "query", "separator", *DISTRIBUTION)  # /lab_inspect's inputs


@pytest.fixture(scope="module")
def client(app_url):
    return api_client(app_url)


def _share(client, **overrides) -> str:
    return client.predict(preset="en-fr-translation", **{**LAB, **overrides}, api_name="/lab_share")


def _inspect(client, **overrides):
    values = {**LAB, **overrides}
    return client.predict(**{key: values[key] for key in INSPECT_KEYS}, api_name="/lab_inspect")


def _table(rows):
    return {"headers": ["input", "output"], "data": rows}


def test_lab_share_refuses_what_the_page_would_refuse_and_what_it_writes_reopens(client, tiny_hub):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="task: at most 2000 characters, got 3000"):
        _share(client, task="t" * 3000)
    with pytest.raises(AppError, match="task: at most 2000 characters, got 70000"):
        _share(client, task="t" * 70_000)
    with pytest.raises(AppError, match="examples: at most 16 rows, got 17"):
        _share(client, examples=_table([["a", "b"]] * 17))
    at_limits = {
        "task": "t" * 2000,
        "examples": _table([["é" * 185, "🦦" * 185]] * 16),
        "query": "q" * 80,
        "separator": " => ",
    }
    link = _share(client, **at_limits)
    back = _link(link.split("?", 1)[1], tiny_hub)
    assert back.warnings == [] and back.task == at_limits["task"] and len(back.examples) == 16


def test_lab_and_compare_refuse_oversized_input_naming_the_field(client):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="examples: at most 16 rows, got 5000"):
        client.predict(**{**LAB, "examples": _table([["a", "b"]] * 5000)}, api_name="/lab_run")
    with pytest.raises(AppError, match="text: at most 100000 characters, got 100001"):
        client.predict(model_a="tiny", model_b="tiny", text="a" * 100_001, api_name="/compare")
    text = "word " * 20_000  # 100,000 characters: accepted
    table = client.predict(model_a="tiny", model_b="tiny", text=text, api_name="/compare")
    assert len(table["data"]) == 2 and all(row[3] > 0 for row in table["data"])


def test_inspection_is_cut_to_the_context_like_generation(client):
    from tests.tiny_models import CONTEXT

    prompt, tokens, raw, adjusted = _inspect(client, query="word " * 400)  # ~400 tokens, context 128
    assert prompt.endswith("word =>")
    assert 0 < len(tokens) <= CONTEXT - 1
    assert raw["confidences"] and adjusted["confidences"]
