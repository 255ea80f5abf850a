"""Project Gutenberg books: fetch by id, decode, strip the license, normalise.

    text = load_book(23582)                               # downloads pg23582.txt
    text = load_book(23582, local_dir="data/gutenberg")   # reads 23582-0.txt, 23582-8.txt or pg23582.txt

Gutenberg files come in UTF-8 (often with a byte-order mark) or Latin-1, with CRLF, CR or
LF line ends, hard-wrapped at about 70 columns, between a header and a footer marked by
``*** START OF THE PROJECT GUTENBERG EBOOK ... ***`` and ``*** END OF ... ***``.
:func:`clean_book` returns the body only, as paragraphs separated by one blank line, each
paragraph on one line.
"""

from __future__ import annotations

import logging
import re
import urllib.request
from pathlib import Path

log = logging.getLogger(__name__)

GUTENBERG_URL = "https://www.gutenberg.org/cache/epub/{id}/pg{id}.txt"
_START_RE = re.compile(r"^\*{3}\s*START OF (?:THE|THIS) PROJECT GUTENBERG E[Bb]OOK[^\n]*$", re.MULTILINE)
_END_RE = re.compile(r"^\*{3}\s*END OF (?:THE|THIS) PROJECT GUTENBERG E[Bb]OOK[^\n]*$", re.MULTILINE)
_CHARSET_RE = re.compile(rb"Character set encoding:\s*([A-Za-z0-9_-]+)")
_PRODUCED_RE = re.compile(r"^(?:Produced by|E-text prepared by)[^\n]*(?:\n[^\n]+)*\n", re.MULTILINE)


def decode(raw: bytes) -> str:
    """Decode a Gutenberg file: UTF-8 (BOM or not), else the declared charset, else Latin-1."""
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    declared = _CHARSET_RE.search(raw[:5000])
    if declared:
        name = declared.group(1).decode("ascii").lower()
        try:
            return raw.decode(name)
        except (LookupError, UnicodeDecodeError):
            log.warning("declared charset %s failed; reading as Latin-1", name)
    return raw.decode("latin-1")


def normalise_newlines(text: str) -> str:
    """CRLF and lone CR become LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def strip_header_footer(text: str) -> str:
    """The text between the START and END markers; raises ValueError without them."""
    start = _START_RE.search(text)
    if start is None:
        raise ValueError("gutenberg: no '*** START OF THE PROJECT GUTENBERG EBOOK' marker")
    end = _END_RE.search(text, start.end())
    if end is None:
        raise ValueError("gutenberg: no '*** END OF THE PROJECT GUTENBERG EBOOK' marker")
    return text[start.end() : end.start()]


def paragraphs(body: str) -> list[str]:
    """Unwrap hard-wrapped lines: one string per paragraph, inner whitespace collapsed."""
    body = _PRODUCED_RE.sub("", body, count=1)
    out = []
    for block in re.split(r"\n\s*\n", body):
        para = " ".join(block.split())
        if para:
            out.append(para)
    return out


def clean_book(raw: bytes) -> str:
    """Decode, normalise line ends, strip header and footer, unwrap: paragraphs joined by a blank line."""
    return "\n\n".join(paragraphs(strip_header_footer(normalise_newlines(decode(raw)))))


def local_book_path(book_id: int, local_dir: str | Path) -> Path:
    """Find book ``book_id`` in a folder (``<id>-0.txt``, ``<id>-8.txt``, ``<id>.txt`` or ``pg<id>.txt``)."""
    folder = Path(local_dir)
    for name in (f"{book_id}-0.txt", f"{book_id}-8.txt", f"{book_id}.txt", f"pg{book_id}.txt"):
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(f"gutenberg: book {book_id} not found in {folder}")


def fetch_book(book_id: int, timeout: float = 60.0) -> bytes:
    """Download book ``book_id`` from Project Gutenberg."""
    url = GUTENBERG_URL.format(id=int(book_id))
    log.info("downloading %s", url)
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read()


def load_book(book_id: int, local_dir: str | Path | None = None) -> str:
    """A clean book: from ``local_dir`` when given, else downloaded."""
    raw = local_book_path(book_id, local_dir).read_bytes() if local_dir else fetch_book(book_id)
    return clean_book(raw)
