"""Everything the app reads from a tokenizer, to compare two tokenizers by."""

from __future__ import annotations

from typing import Any

TEXTS = [
    "Hello world",
    "Cette femme était assise près de la fenêtre, et",
    "  deux  espaces\n\nnouvelle ligne\ttab",
    "日本語のテキスト 🎉 émojis",
    "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|endoftext|>",
    "<start_of_turn>user\nTraduis : le chat dort.<end_of_turn>\n<bos><eos>",
]
ATTRIBUTES = [
    "padding_side",
    "truncation_side",
    "model_input_names",
    "model_max_length",
    "special_tokens_map",
    "all_special_ids",
    "bos_token_id",
    "eos_token_id",
    "pad_token_id",
    "unk_token_id",
    "add_bos_token",
    "add_eos_token",
    "chat_template",
    "split_special_tokens",
    "clean_up_tokenization_spaces",
]


def behaviour(tokenizer: Any) -> dict[str, Any]:
    """The backend's serialization, encodings and decodings of :data:`TEXTS`, vocabulary, added tokens, attributes."""
    encoded = [tokenizer(text).input_ids for text in TEXTS]
    return {
        "backend": tokenizer.backend_tokenizer.to_str(),
        "ids": encoded,
        "plain ids": [tokenizer(text, add_special_tokens=False).input_ids for text in TEXTS],
        "tokens": [tokenizer.convert_ids_to_tokens(ids) for ids in encoded],
        "text": [tokenizer.decode(ids) for ids in encoded],
        "text without specials": [tokenizer.decode(ids, skip_special_tokens=True) for ids in encoded],
        "vocabulary": tokenizer.get_vocab(),
        "added": {index: repr(token) for index, token in tokenizer.added_tokens_decoder.items()},
        **{name: getattr(tokenizer, name) for name in ATTRIBUTES},
    }
