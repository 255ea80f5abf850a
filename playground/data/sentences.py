"""A French sentence splitter that needs no download (no NLTK or spaCy models).

Splits after ``.``, ``!``, ``?`` or ``…`` (and any closing quote or bracket after them;
French typography may put a space before ``»``) when the next word starts a sentence: a
capital letter, a digit, an opening guillemet or a dialogue dash. Common abbreviations
(M., Mme., etc.) and initials do not end a sentence.
"""

from __future__ import annotations

import re

ABBREVIATIONS = {
    "m", "mm", "mme", "mmes", "mlle", "mlles", "dr", "st", "ste", "mgr", "me", "cf", "p", "pp",
    "vol", "chap", "etc", "ex", "env", "av", "apr", "j.-c", "n°", "no", "fig",
}  # fmt: skip
_BOUNDARY = re.compile(r"([.!?…]+(?:[ \u00a0\u202f]?[»\")\]’”])*)(\s+)(?=[«\"—–\-(A-ZÀ-ÖØ-Þ0-9])")
_LAST_WORD = re.compile(r"(\S+)$")


def split_sentences(text: str) -> list[str]:
    """Split a paragraph (or several, separated by blank lines) into sentences."""
    out: list[str] = []
    for para in re.split(r"\n\s*\n", text):
        para = " ".join(para.split())
        start = 0
        for match in _BOUNDARY.finditer(para):
            head = para[start : match.start(1)]
            word = _LAST_WORD.search(head)
            token = word.group(1).lower().lstrip("«(\"'") if word else ""
            if match.group(1) == "." and (token in ABBREVIATIONS or re.fullmatch(r"[a-zà-þ]", token)):
                continue  # an abbreviation or an initial, not the end of a sentence
            out.append(para[start : match.end(1)].strip())
            start = match.end(2)
        tail = para[start:].strip()
        if tail:
            out.append(tail)
    return [s for s in out if s]
