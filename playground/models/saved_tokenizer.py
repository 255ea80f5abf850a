"""A tokenizer kept in one of the playground's cache folders, read back by the ``tokenizers`` library's own reader.

transformers 5 rebuilds a tokenizer class that has an ``__init__`` of its own (Gemma's,
Llama's, GPT-2's) from the vocabulary and merges of ``tokenizer.json`` parsed in Python,
and parses the file a second time for its added tokens when ``tokenizer_config.json`` does
not list them (``save_pretrained`` does not). For Gemma 3 (262,144 tokens, 514,906 merges,
6,384 added tokens) that is about three times what the Rust reader takes, and the largest
single part of a warm start.

:func:`save_tokenizer` writes what ``save_pretrained`` writes and lists the added tokens in
``tokenizer_config.json``. :func:`load_saved_tokenizer` gives back, for a class that adds
nothing to :class:`~transformers.TokenizersBackend` but its ``__init__`` and class
attributes (:func:`readable_as_backend`), a ``TokenizersBackend`` over the file's backend as
it is (the same normalizer, pre-tokenizer, model, post-processor with the BOS it adds, and
decoder; the same special and added tokens) with that class's padding and truncation sides
and input names; any other folder through ``AutoTokenizer``.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

CONFIG_FILE = "tokenizer_config.json"
BACKEND_FILE = "tokenizer.json"
CARRIED = ("padding_side", "truncation_side", "model_input_names")  # class attributes an instance takes as its own


def save_tokenizer(tokenizer: Any, folder: Path) -> None:
    """``tokenizer.save_pretrained(folder)``, with its added tokens listed in ``tokenizer_config.json``."""
    tokenizer.save_pretrained(folder)
    path = folder / CONFIG_FILE
    config = json.loads(path.read_text(encoding="utf-8"))
    added = tokenizer.added_tokens_decoder
    config["added_tokens_decoder"] = {str(index): token.__getstate__() for index, token in added.items()}
    path.write_text(json.dumps(config, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def readable_as_backend(cls: type) -> bool:
    """Whether a tokenizer of class ``cls`` is a ``TokenizersBackend`` over its file and nothing more.

    ``TokenizersBackend`` itself, or a direct subclass whose only code is its ``__init__``
    (which builds the backend the file already holds) beside plain class attributes.
    """
    from transformers import TokenizersBackend

    code = {
        name
        for name, value in vars(cls).items()
        if inspect.isfunction(value) or isinstance(value, (property, classmethod, staticmethod))
    }
    return cls is TokenizersBackend or (cls.__bases__ == (TokenizersBackend,) and code <= {"__init__"})


def load_saved_tokenizer(folder: Path) -> Any:
    """The tokenizer :func:`save_tokenizer` wrote to ``folder``; one saved otherwise through ``AutoTokenizer``."""
    from transformers import AutoTokenizer, TokenizersBackend
    from transformers.models.auto.tokenization_auto import tokenizer_class_from_name

    config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
    named = tokenizer_class_from_name(config.get("tokenizer_class") or "")
    if "added_tokens_decoder" in config and (folder / BACKEND_FILE).is_file() and named and readable_as_backend(named):
        carried = {name: getattr(named, name) for name in CARRIED}
        return TokenizersBackend.from_pretrained(folder, trust_remote_code=False, **carried)
    return AutoTokenizer.from_pretrained(folder, trust_remote_code=False)
