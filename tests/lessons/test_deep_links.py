"""Deep links: a setup survives the round trip through a URL; bad parameters are dropped."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest

from playground.lessons.deep_links import SharedSetup, from_query
from playground.lessons.presets import load_presets
from playground.messages import localize


def _read(query: str, tiny_hub):
    return from_query(dict(parse_qsl(query)), tiny_hub.registry(), load_presets())


def test_round_trip_of_a_prepared_few_shot_demo(tiny_hub):
    setup = SharedSetup(
        tab="lab",
        lang="fr",
        embed=True,
        model="tiny",
        task="Traduire en français :",
        examples=[("sea otter", "loutre de mer"), ("cheese => x", "a&b=c")],
        query="peppermint",
        stop=["\n"],
        settings={"temperature": 0.7, "top_k": 40, "seed": 3},
    )
    back = _read(setup.to_query(), tiny_hub)
    assert back == setup
    assert back.warnings == []


def test_adapter_sets_its_base_model(tiny_hub):
    back = _read("adapter=style-a", tiny_hub)
    assert (back.model, back.adapter) == ("tiny", "style-a")


def test_bad_parameters_are_dropped_with_named_warnings(tiny_hub):
    back = _read(
        'tab=admin&lang=de&model=gpt-9&preset=nope&temperature=7&top_k=abc&examples=[1]&stop=[""]&x=1&adapter=nope',
        tiny_hub,
    )
    assert back == SharedSetup(warnings=back.warnings)
    text = " | ".join(back.warnings)
    for expected in (
        "tab: 'admin'",
        "lang: 'de'",
        "model: unknown model 'gpt-9'",
        "preset: unknown preset 'nope'",
        "temperature: 7 is out of range",
        "top_k:",
        "examples: a list of at most 16 pairs [input, output]",
        "stop[0]: must not be empty",
        "x: unknown parameter",
        "adapter: unknown adapter 'nope'",
    ):
        assert expected in text, expected
    french = " | ".join(localize(w, "fr") for w in back.warnings)
    assert "temperature : 7 est hors de l'intervalle [0, 2] ; ignoré" in french
    assert "model : modèle inconnu 'gpt-9' ; ignoré" in french


def test_preset_and_boundary_settings_are_kept(tiny_hub):
    back = _read("preset=en-fr-translation&temperature=2&top_p=1&max_new_tokens=64", tiny_hub)
    assert back.preset == "en-fr-translation"
    assert back.settings == {"temperature": 2, "top_p": 1, "max_new_tokens": 64}
    assert back.warnings == []


def test_a_branch_demo_survives_the_round_trip(tiny_hub):
    setup = SharedSetup(tab="lab", preset="fr-pluriel", settings={"seed": 3, "temperature": 0.7}, branch=(2, 1169))
    back = _read(setup.to_query(), tiny_hub)
    assert back == setup and back.warnings == []
    assert "branch_position=2&branch_token=1169" in setup.to_query()


def test_bad_branch_parameters_are_dropped_with_named_warnings(tiny_hub):
    cases = {
        "branch_position=2": "branch_token: missing (a branch needs branch_position and branch_token)",
        "branch_position=64&branch_token=5": "branch_position: 64 is out of range [0, 63]",
        "branch_position=1&branch_token=-5": "branch_token: -5 is out of range",
        "branch_position=1&branch_token=x": "branch_token: 'x' is not valid JSON",
        "branch_position=1.5&branch_token=3": "branch_position: must be an integer, got float 1.5",
    }
    for query, expected in cases.items():
        back = _read(query, tiny_hub)
        assert back.branch is None and len(back.warnings) == 1, query
        assert back.warnings[0].startswith(expected), (query, back.warnings)
        assert localize(back.warnings[0], "fr").endswith("; ignoré")


def test_a_lab_link_leaves_out_what_is_off_reopens_the_setup_and_refuses_by_name(tiny_hub):
    from playground.errors import PlaygroundError
    from playground.lessons.deep_links import lab_link

    registry, presets = tiny_hub.registry(), load_presets()
    lab = {"preset": "en-fr-translation", "model": "tiny", "adapter": "style-a", "task": "Traduire :",
           "examples": [["sea otter", "loutre de mer"]], "query": "cheese", "separator": " => "}  # fmt: skip
    settings = {"temperature": 0.5, "max_new_tokens": 9, "no_repeat_ngram_size": 0, "stop": ["\n"], "seed": None}
    link = lab_link(registry, presets, **lab, settings=settings, branch=(2, 1169))
    assert link.startswith("?tab=lab&") and "no_repeat_ngram_size" not in link and "seed" not in link
    back = _read(link[1:], tiny_hub)
    assert back.warnings == [] and (back.model, back.adapter, back.branch) == ("tiny", "style-a", (2, 1169))
    assert back.settings["temperature"] == 0.5 and back.settings["max_new_tokens"] == 9 and back.stop == ["\n"]
    assert back.examples == [("sea otter", "loutre de mer")]
    with pytest.raises((ValueError, PlaygroundError), match="adapter: 'style-a' belongs to model 'tiny'"):
        lab_link(registry, presets, **{**lab, "model": "tiny-local"}, settings=settings)
    with pytest.raises(ValueError, match="preset"):
        lab_link(registry, presets, **{**lab, "preset": "nope"}, settings=settings)
    with pytest.raises((ValueError, PlaygroundError), match="temperature"):
        lab_link(registry, presets, **lab, settings={"temperature": 9})
