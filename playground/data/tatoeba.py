"""Tatoeba English-French sentence pairs (the manythings.org ``fra.txt`` export).

Each line is ``English<TAB>French`` with an optional third attribution column.
"""

from __future__ import annotations

import io
import logging
import random
import urllib.request
import zipfile
from pathlib import Path

log = logging.getLogger(__name__)

TATOEBA_URL = "https://www.manythings.org/anki/fra-eng.zip"


def parse_pairs(text: str) -> list[tuple[str, str]]:
    """(English, French) pairs from the tab-separated text; blank or malformed lines skipped."""
    pairs = []
    for line in text.splitlines():
        cols = line.split("\t")
        if len(cols) >= 2 and cols[0].strip() and cols[1].strip():
            pairs.append((cols[0].strip(), cols[1].strip()))
    return pairs


def load_pairs(local_file: str | Path | None = None) -> list[tuple[str, str]]:
    """All pairs from ``local_file`` (fra.txt), or from the downloaded archive."""
    if local_file:
        return parse_pairs(Path(local_file).read_text(encoding="utf-8"))
    log.info("downloading %s", TATOEBA_URL)
    request = urllib.request.Request(TATOEBA_URL, headers={"User-Agent": "playground"})
    with urllib.request.urlopen(request, timeout=120) as response:
        archive = zipfile.ZipFile(io.BytesIO(response.read()))
    return parse_pairs(archive.read("fra.txt").decode("utf-8"))


def sample_pairs(pairs: list[tuple[str, str]], n: int, seed: int) -> list[tuple[str, str]]:
    """A seeded sample of ``n`` pairs (all of them if fewer)."""
    if n >= len(pairs):
        return list(pairs)
    return random.Random(seed).sample(pairs, n)
