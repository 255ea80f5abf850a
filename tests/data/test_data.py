"""Data preparation on small excerpts of the real files (tests/fixtures)."""

from __future__ import annotations

import json

import pytest

from playground.data.alpaca import InstructionExample, encode_example, load_alpaca, parse_records
from playground.data.gutenberg import (
    clean_book,
    decode,
    load_book,
    local_book_path,
    normalise_newlines,
    strip_header_footer,
)
from playground.data.sentences import split_sentences
from playground.data.split import train_validation_split
from playground.data.tatoeba import load_pairs, parse_pairs, sample_pairs
from tests.paths import FIXTURES

BOOKS = FIXTURES / "gutenberg"


def test_latin1_book_is_decoded_with_its_declared_charset():
    raw = (BOOKS / "34204-8.txt").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    text = decode(raw)
    assert "LÉVY FRÈRES" in text and "\ufffd" not in text


def test_utf8_bom_is_removed():
    raw = (BOOKS / "23582-0.txt").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    text = decode(raw)
    assert not text.startswith("\ufeff") and text.startswith("The Project Gutenberg")
    assert "née Amandine Aurore Lucile Dupin" in text


def test_line_ends_are_normalised():
    assert normalise_newlines("a\r\nb\rc\nd\r\n\r\ne") == "a\nb\nc\nd\n\ne"


@pytest.mark.parametrize("book", [34204, 23582, 39738])
def test_header_and_footer_are_stripped(book):
    text = load_book(book, BOOKS)
    assert "Project Gutenberg" not in text
    assert "***" not in text
    assert "\r" not in text
    assert all(para == " ".join(para.split()) for para in text.split("\n\n"))  # unwrapped, one line each


def test_markers_without_space_are_found():
    text = (
        "header\n***START OF THE PROJECT GUTENBERG EBOOK X***\nbody line\n"
        "***END OF THE PROJECT GUTENBERG EBOOK X***\nlicence"
    )
    assert strip_header_footer(text).strip() == "body line"


def test_missing_markers_are_a_clear_error():
    with pytest.raises(ValueError, match="no '\\*\\*\\* START OF THE PROJECT GUTENBERG EBOOK' marker"):
        clean_book(b"just some text")
    with pytest.raises(ValueError, match="no '\\*\\*\\* END OF"):
        strip_header_footer("*** START OF THE PROJECT GUTENBERG EBOOK X ***\nno end")


def test_local_files_are_found_by_id_and_missing_ones_named():
    assert local_book_path(34204, BOOKS).name == "34204-8.txt"
    assert local_book_path(23582, BOOKS).name == "23582-0.txt"
    with pytest.raises(FileNotFoundError, match="book 1 not found"):
        local_book_path(1, BOOKS)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Cette femme était assise. Le soir elle se rappelait.",
            ["Cette femme était assise.", "Le soir elle se rappelait."],
        ),
        ("M. Dupont et Mme. Roux sont venus. Il pleuvait.", ["M. Dupont et Mme. Roux sont venus.", "Il pleuvait."]),
        (
            "Où allez-vous? —Je vais au bois! « Venez. » Elle vint…",
            ["Où allez-vous?", "—Je vais au bois!", "« Venez. »", "Elle vint…"],
        ),
        ("Il lut Rousseau, Voltaire, etc. Puis il dormit.", ["Il lut Rousseau, Voltaire, etc. Puis il dormit."]),
        ("Signé J. Sand. Fin.", ["Signé J. Sand.", "Fin."]),
        ("Premier paragraphe.\n\nSecond paragraphe", ["Premier paragraphe.", "Second paragraphe"]),
    ],
)
def test_french_sentence_splitting(text, expected):
    assert split_sentences(text) == expected


def test_sentences_of_a_real_excerpt():
    sentences = split_sentences(load_book(23582, BOOKS))
    assert len(sentences) > 10
    assert all(s == s.strip() and s for s in sentences)


def test_split_is_seeded_disjoint_and_complete():
    units = [f"s{i}" for i in range(500)]
    train, val = train_validation_split(units, 0.1, seed=3)
    assert sorted(train + val, key=lambda s: int(s[1:])) == units
    assert not set(train) & set(val)
    assert len(val) == 64  # 2 blocks of 32 of the 16 blocks
    assert train_validation_split(units, 0.1, seed=3) == (train, val)
    assert train_validation_split(units, 0.1, seed=4)[1] != val
    with pytest.raises(ValueError, match="validation_fraction"):
        train_validation_split(units, 1.5, seed=0)


def test_alpaca_records_end_with_eos_and_train_on_the_response_only(tiny_hub):
    records = load_alpaca(FIXTURES / "alpaca" / "alpaca_first40.json")
    assert len(records) == 40 and records[0].instruction == "Give three tips for staying healthy."
    tok = tiny_hub.tokenizer
    ids, labels = encode_example(tok, records[0], max_len=256)
    assert ids[-1] == tok.eos_token_id and labels[-1] == tok.eos_token_id
    prompt_len = labels.index(next(lab for lab in labels if lab != -100))
    assert tok.decode(ids[:prompt_len]).endswith("### Response:\n")
    assert tok.decode(labels[prompt_len:-1]) == records[0].output
    short_ids, _ = encode_example(tok, records[0], max_len=prompt_len + 5)
    assert len(short_ids) == prompt_len + 5 and short_ids[-1] == tok.eos_token_id  # cut, EOS kept


def test_alpaca_input_field_uses_the_input_template(tiny_hub):
    ids, _ = encode_example(tiny_hub.tokenizer, InstructionExample("Translate.", "sea otter", "loutre de mer"), 256)
    assert "### Input:\nsea otter" in tiny_hub.tokenizer.decode(ids)


def test_bad_alpaca_records_are_named():
    with pytest.raises(ValueError, match=r"alpaca\[1\]: needs string fields"):
        parse_records([{"instruction": "a", "output": "b"}, {"instruction": "a"}])
    with pytest.raises(ValueError, match="expected a JSON list"):
        parse_records(json.loads('{"a": 1}'))


def test_tatoeba_pairs():
    pairs = load_pairs(FIXTURES / "tatoeba" / "fra_sample.txt")
    assert len(pairs) > 50 and all(en and fr for en, fr in pairs)
    assert parse_pairs("Hi.\tSalut !\tCC-BY 2.0\n\nbad line\n") == [("Hi.", "Salut !")]
    assert sample_pairs(pairs, 5, seed=1) == sample_pairs(pairs, 5, seed=1) != sample_pairs(pairs, 5, seed=2)
