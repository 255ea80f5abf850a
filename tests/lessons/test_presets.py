"""Prompting-lab presets: the shipped file, prompts, and validation errors."""

from __future__ import annotations

import pytest

from playground.errors import ConfigError
from playground.lessons.presets import Preset, load_presets


def test_shipped_presets_cover_the_lessons_in_both_languages():
    presets = load_presets()
    assert {"en-fr-translation", "question-answering", "sentiment", "arithmetic"} <= set(presets)
    assert {p.language for p in presets.values()} == {"en", "fr"}
    assert presets["question-answering"].stop == ("\n",)


def test_the_gpt3_translation_prompts():
    p = load_presets()["en-fr-translation"]
    assert p.prompt(0) == "Translate English to French:\ncheese =>"
    assert p.prompt(1) == "Translate English to French:\nsea otter => loutre de mer\ncheese =>"
    assert p.prompt().count("\n") == 4


def test_input_prefix_and_multiline_separator():
    p = load_presets()["question-answering"]
    assert p.prompt(1).endswith(
        "Q: What is human life expectancy in the United States?\n"
        "A: Human life expectancy in the United States is 78 years.\n"
        "Q: What is the capital of France?\nA:"
    )


GOOD = {"id": "x", "language": "en", "title": "X", "task": "T", "examples": [["a", "b"]], "query": "q"}


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("examples", [["a"]], r"presets\[0\].examples\[0\]: must be a pair"),
        ("examples", [], r"presets\[0\].examples: must be a non-empty list"),
        ("language", "de", "presets\\[0\\].language: 'de' is not one of en, fr"),
        ("stop", ["", "x"], r"presets\[0\].stop: at most 4 non-empty strings"),
        ("max_new_tokens", 0, r"presets\[0\].max_new_tokens: must be an integer in \[1, 512\]"),
        ("id", "Bad Id", r"presets\[0\].id: 'Bad Id' must be"),
        ("colour", "red", r"presets\[0\].colour: unknown key"),
    ],
)
def test_bad_presets_name_the_key(key, value, message):
    with pytest.raises(ConfigError, match=message):
        Preset.from_dict("presets[0]", {**GOOD, key: value})


def test_setup_from_table_rows_skips_blank_rows_and_names_half_rows():
    from playground.lessons.fewshot import FewShotSetup

    setup = FewShotSetup.from_rows("T:", [["a", "b"], ["", ""], [None, None], ["c", "d"]], "q")
    assert setup.prompt() == "T:\na => b\nc => d\nq =>"
    assert setup.shot_counts() == [0, 1, 2]
    with pytest.raises(ValueError, match=r"examples\[1\]: needs both an input and an output"):
        FewShotSetup.from_rows("T:", [["a", "b"], ["c", ""]], "q")
    with pytest.raises(ValueError, match="separator: must not be empty"):
        FewShotSetup.from_rows("T:", [], "q", separator="")


def test_translation_presets_in_more_languages_fit_the_lab_model():
    from playground.models.registry import load_registry

    presets = load_presets()
    registry = load_registry()
    languages = set(registry.model(registry.opening_model("lab")).languages)
    for lang in ("es", "de", "it"):
        words, sentences = presets[f"en-{lang}-translation"], presets[f"en-{lang}-sentences"]
        for preset in (words, sentences):
            assert preset.writes == lang and lang in languages  # the model the lab opens on writes it
            assert preset.stop == ("\n",) and len(preset.examples) >= 3
            assert preset.prompt(1).endswith(f"{preset.examples[0].input} => {preset.examples[0].output}\n"
                                             f"{preset.query} =>")  # fmt: skip
        assert all(" " not in s.input or len(s.input.split()) <= 2 for s in words.examples)  # word level
        assert all(s.input.endswith((".", "?")) for s in sentences.examples)  # sentence level
    for preset in presets.values():
        assert preset.writes is None or preset.writes in languages


def test_a_preset_language_that_is_not_a_code_is_named():
    with pytest.raises(ConfigError, match=r"presets\[0\]\.writes: 'French' must be an ISO 639 code"):
        Preset.from_dict("presets[0]", {**GOOD, "writes": "French"})
