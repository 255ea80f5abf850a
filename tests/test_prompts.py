"""Prompt styles render the exact text a model is given."""

from __future__ import annotations

import pytest

from playground.errors import ConfigError
from playground.prompts import get_style


def test_plain_is_the_text_as_typed(tiny_hub):
    assert get_style("plain").render(tiny_hub.tokenizer, "sea otter =>") == "sea otter =>"


def test_alpaca_with_and_without_input(tiny_hub):
    alpaca = get_style("alpaca")
    no_input = alpaca.render(tiny_hub.tokenizer, "Give three tips.")
    assert no_input.endswith("### Instruction:\nGive three tips.\n\n### Response:\n")
    assert "### Input:" not in no_input
    with_input = alpaca.render(tiny_hub.tokenizer, "Translate.", "sea otter")
    assert "### Instruction:\nTranslate.\n\n### Input:\nsea otter\n\n### Response:\n" in with_input


def test_chat_needs_a_chat_template(tiny_hub):
    with pytest.raises(ConfigError, match="needs a tokenizer with a chat template"):
        get_style("chat").render(tiny_hub.tokenizer, "hello")


def test_chat_uses_the_tokenizers_template(tiny_hub):
    import copy

    tokenizer = copy.deepcopy(tiny_hub.tokenizer)
    tokenizer.chat_template = "{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}<assistant>"
    chat = get_style("chat")
    assert chat.render(tokenizer, "hi") == "<user>hi<assistant>"
    assert chat.encode(tokenizer, "hi") == tokenizer("<user>hi<assistant>", add_special_tokens=False)["input_ids"]


def test_unknown_style_names_the_choices():
    with pytest.raises(ConfigError, match="'fancy' is not one of plain, chat, alpaca"):
        get_style("fancy")
