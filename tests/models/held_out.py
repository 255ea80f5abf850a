"""The held-out George Sand book, for the real models' style adapters."""

from __future__ import annotations

from typing import Any

from tests.paths import FIXTURES

HELD_OUT_BOOK = 23582  # La mare au diable: never trained on


def compare_on_held_out_book(loaded: Any, adapter: str) -> dict[str, dict[str, float]]:
    """Perplexity and accuracy of the base and ``adapter`` on 128-token windows of the held-out book's excerpt."""
    from playground.data.examples import token_windows
    from playground.data.gutenberg import load_book
    from playground.data.sentences import split_sentences
    from playground.evaluation.compare import compare

    excerpt = load_book(HELD_OUT_BOOK, FIXTURES / "gutenberg")
    windows = token_windows(loaded.tokenizer, split_sentences(excerpt), 128)
    assert len(windows) >= 4
    return compare(loaded, [adapter], windows)
