"""A loaded tokenizer, less the Python copies of the tables it was built from.

transformers 5's BPE tokenizers (GPT-2's, Gemma's, Llama's, Qwen2's) keep the vocabulary
and the merges they handed to the Rust tokenizer as Python objects (``_vocab``,
``_merges``) that nothing reads after construction: the Rust tokenizer holds its own.
For Gemma 3 (262,144 tokens, 514,906 merges) they hold about 140 MB of a free CPU Space's
memory. :func:`drop_build_tables` forgets them, on the classes whose code reads them only
in ``__init__`` (checked in transformers' sources); any other tokenizer is left as it is.
"""

from __future__ import annotations

from typing import Any

BUILD_ONLY = frozenset({"GemmaTokenizer", "GPT2Tokenizer", "LlamaTokenizer", "Qwen2Tokenizer"})
TABLES = (("_vocab", dict), ("_merges", list))


def drop_build_tables(tokenizer: Any) -> bool:
    """Empty ``tokenizer``'s construction tables where its class reads them only when built; whether it did."""
    kind = type(tokenizer)
    if kind.__name__ not in BUILD_ONLY or not kind.__module__.startswith("transformers."):
        return False
    for name, empty in TABLES:
        if hasattr(tokenizer, name):
            setattr(tokenizer, name, empty())
    return True
