"""Incremental detokenization and stop strings, on the real GPT-2 tokenizer."""

from __future__ import annotations

import pytest

from playground.serving.detokenize import IncrementalDetokenizer
from playground.serving.stop_strings import StopStringFilter

TEXTS = [
    "Cette femme était assise près de la fenêtre.",
    "Emoji 🦦 and CJK 海獺 split across byte-level tokens.",
    "sea otter => loutre de mer\ncheese =>",
    "  leading spaces,   and   runs  of spaces. ",
]


@pytest.fixture(scope="module")
def tokenizer(tiny_hub):
    return tiny_hub.tokenizer


@pytest.mark.parametrize("text", TEXTS)
def test_pieces_join_to_the_full_decode_and_never_show_broken_characters(tokenizer, text):
    ids = tokenizer(text)["input_ids"]
    detok = IncrementalDetokenizer(tokenizer)
    pieces = [detok.push(i) for i in ids] + [detok.flush()]
    assert "".join(pieces) == text
    assert all("\ufffd" not in p for p in pieces)


def test_truncated_character_is_released_at_flush(tokenizer):
    ids = tokenizer("🦦")["input_ids"]
    assert len(ids) > 1
    detok = IncrementalDetokenizer(tokenizer)
    assert [detok.push(i) for i in ids[:-1]] == [""] * (len(ids) - 1)
    assert detok.flush() == "\ufffd"  # an incomplete emoji at the very end is shown as such


def _run(stops, pieces):
    f = StopStringFilter(stops)
    shown = [f.feed(p) for p in pieces]
    if f.stopped is None:
        shown.append(f.flush())
    return shown, f.stopped


def test_stop_string_inside_a_piece():
    shown, stopped = _run(["\n"], ["Paris", " is\nnext"])
    assert "".join(shown) == "Paris is" and stopped == "\n"


def test_stop_string_split_across_pieces_is_never_shown():
    shown, stopped = _run(["###"], ["answer #", "#", "# more"])
    assert shown == ["answer ", "", ""]
    assert stopped == "###"


def test_held_prefix_is_released_when_it_does_not_complete():
    shown, stopped = _run(["###"], ["a #", "# b"])
    assert shown == ["a ", "## b", ""]
    assert stopped is None


def test_earliest_of_several_stop_strings_wins():
    shown, stopped = _run(["END", "\n"], ["one\ntwo END"])
    assert "".join(shown) == "one" and stopped == "\n"
