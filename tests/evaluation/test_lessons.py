"""The lessons scoreboard: its measures, and a whole run on the tiny models and the shipped fixtures."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml

from playground.evaluation.lessons import known_word_share, main, repeated_ngram_share, words
from tests.paths import FIXTURES


def test_words_are_letters_with_inner_apostrophes_and_hyphens():
    assert words("L'étang, 12 fois: Peut-être!") == ["l'étang", "fois", "peut-être"]


def test_repeated_ngram_share_counts_4grams_seen_before():
    assert repeated_ngram_share("a b c d e f") == 0.0
    assert repeated_ngram_share("a b c d a b c d") == pytest.approx(1 / 5)  # 5 grams, (a b c d) seen again
    assert repeated_ngram_share("the cat") == 0.0  # too short for a 4-gram


def test_known_word_share_is_over_all_words():
    assert known_word_share(["le chat dort", "the cat"], {"le", "chat", "dort"}) == pytest.approx(3 / 5)
    assert known_word_share([""], {"x"}) == 0.0


def _recipe(name: str, base: str, kind: str) -> dict:
    data = (
        {"kind": "gutenberg", "train_books": [34204, 39738], "test_books": [23582], "validation_fraction": 0.2}
        if kind == "gutenberg"
        else {"kind": "alpaca", "test_records": 8, "validation_fraction": 0.1}
    )
    return {
        "name": name, "base": base, "task": "style" if kind == "gutenberg" else "instructions", "language": "fr",
        "license": "mit", "data": data, "training": {"seq_len": 32}, "evaluation": {"max_windows": 4},
    }  # fmt: skip


@pytest.fixture()
def lessons_setup(tiny_hub, tmp_path):
    """A registry whose tabs open on the tiny model and adapters (with recipes), and a data folder."""
    data = tmp_path / "data"
    (data / "tatoeba-en-fr").mkdir(parents=True)
    shutil.copy(FIXTURES / "tatoeba" / "fra_sample.txt", data / "tatoeba-en-fr" / "fra.txt")
    (data / "alpaca").mkdir()
    shutil.copy(FIXTURES / "alpaca" / "alpaca_first40.json", data / "alpaca" / "alpaca_data_first2000.json")
    shutil.copytree(FIXTURES / "gutenberg", data / "gutenberg-sand")
    registry = tiny_hub.registry_dict(tabs={"lab": "tiny", "style": "style-a", "instructions": "style-b"})
    for adapter, kind in (("style-a", "gutenberg"), ("style-b", "alpaca")):
        folder = tmp_path / "adapters" / adapter
        shutil.copytree(tiny_hub.adapters[adapter], folder)
        (folder / "recipe.yaml").write_text(yaml.safe_dump(_recipe(adapter, "tiny", kind)), encoding="utf-8")
        (folder / "README.md").write_text(f"# {adapter}\n\nA model card.\n", encoding="utf-8")
        next(a for a in registry["adapters"] if a["name"] == adapter)["path"] = str(folder)
    path = tmp_path / "registry.yaml"
    path.write_text(yaml.safe_dump(registry), encoding="utf-8")
    return path, data


def test_a_whole_scoreboard_run_on_the_tiny_models(lessons_setup, tmp_path, capsys):
    registry, data = lessons_setup
    out = tmp_path / "lessons.json"
    args = ["--data", str(data), "--registry", str(registry), "--samples", "6", "--continuations", "2"]
    assert main([*args, "--instruction-tokens", "12", "--json", str(out), "--write-cards"]) == 0
    printed = capsys.readouterr().out
    figures = json.loads(out.read_text(encoding="utf-8"))
    assert set(figures) == {"lab", "instructions", "style", "repetition"}

    lab = figures["lab"]["rows"]
    assert list(lab) == ["zero-shot", "one-shot", "few-shot (5)"]
    assert all(0 <= row["chrF"] <= 100 and 0 <= row["exact %"] <= 100 for row in lab.values())
    assert "6 held-out Tatoeba pairs" in figures["lab"]["about"]

    instructions = figures["instructions"]["rows"]
    assert list(instructions) == ["tiny", "tiny + style-b"]
    assert all(0 <= row["stopped by itself %"] <= 100 for row in instructions.values())
    assert "6 held-out Alpaca instructions" in figures["instructions"]["about"]

    style = figures["style"]["rows"]
    base, adapted = style["tiny"], style["tiny + style-a"]
    assert base["ratio to base"] == 1.0
    assert adapted["ratio to base"] == pytest.approx(adapted["perplexity"] / base["perplexity"])
    assert 0 <= adapted["French words"] <= 1 and 0 <= base["French words"] <= 1

    repetition = figures["repetition"]["rows"]
    assert list(repetition) == ["none", "repetition_penalty 1.3", "no_repeat_ngram_size 3"]
    assert all(0 <= row["repeated 4-grams %"] <= 100 for row in repetition.values())
    for lesson in ("lab", "instructions", "style", "repetition"):
        assert f"### {lesson} — tiny" in printed

    card = (registry.parent / "adapters" / "style-b" / "README.md").read_text(encoding="utf-8")
    assert card.startswith("# style-b\n\nA model card.\n\n## Lesson, as the app shows it\n")
    assert "### instructions — tiny" in card and "| tiny + style-b |" in card and "--write-cards" in card
    style_card = (registry.parent / "adapters" / "style-a" / "README.md").read_text(encoding="utf-8")
    assert "### style — tiny" in style_card and "### instructions" not in style_card


def test_writing_the_cards_again_replaces_the_lesson(tmp_path):
    from playground.adapters.model_card import LESSONS_END, LESSONS_START, update_card_section

    card = tmp_path / "README.md"
    card.write_text("# card\n", encoding="utf-8")
    for body in ("first", "second"):
        update_card_section(card, LESSONS_START, LESSONS_END, body, heading="Lesson")
    text = card.read_text(encoding="utf-8")
    assert text.count("## Lesson") == 1 and "second" in text and "first" not in text
    with pytest.raises(ValueError, match="no section marked"):
        update_card_section(tmp_path / "README.md", "<!-- x -->", "<!-- y -->", "z")
