"""Reference answers of lab presets, and whether a student's answer gives one.

Data in ``references.yaml``, keyed by preset id; each entry repeats the preset's query, and
:func:`load_references` refuses (ConfigError naming the key) an entry whose preset is
unknown or asks another question now. :func:`gives` compares the first line of an answer,
case-folded, spaces collapsed, final punctuation dropped: "Fromage." gives "fromage".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from playground import config_checks as checks
from playground.errors import ConfigError
from playground.lessons.presets import Preset

DEFAULT_REFERENCES_PATH = Path(__file__).with_name("references.yaml")
TRAILING = " \t.!?;:,。！？\"'«»“”"  # dropped from the end (and quotes from the start) before comparing


@dataclass(frozen=True)
class Reference:
    """The answers that count as right for one preset's question."""

    preset: str
    query: str
    answers: tuple[str, ...]

    def given_by(self, answer: str) -> bool:
        """Whether ``answer`` gives one of the reference answers (see the module's docstring)."""
        return normalized(answer) in {normalized(a) for a in self.answers}


def normalized(text: str) -> str:
    """The first line of ``text`` as answers are compared."""
    line = unicodedata.normalize("NFC", text).strip().split("\n", 1)[0]
    line = re.sub(r"\s+", " ", line).casefold().rstrip(TRAILING).lstrip(" \"'«“")
    return line.strip()


def load_references(presets: Mapping[str, Preset], path: str | Path = DEFAULT_REFERENCES_PATH) -> dict[str, Reference]:
    """The references of ``path``, checked against ``presets``, by preset id."""
    data = checks.mapping("", yaml.safe_load(Path(path).read_text(encoding="utf-8")), {"references"}, {"references"})
    entries = data["references"]
    if not isinstance(entries, dict):
        raise ConfigError(f"references: expected a mapping of preset ids, got {type(entries).__name__}")
    out: dict[str, Reference] = {}
    for preset_id, entry in entries.items():
        where = f"references.{preset_id}"
        entry = checks.mapping(where, entry, {"query", "answers"}, {"query", "answers"})
        if preset_id not in presets:
            raise ConfigError(f"{where}: no preset has this id")
        if entry["query"] != presets[preset_id].query:
            raise ConfigError(f"{where}.query: the preset now asks {presets[preset_id].query!r}")
        answers = checks.items(
            f"{where}.answers", entry["answers"], "non-empty strings", non_empty=True, item=checks.non_empty_str
        )
        out[preset_id] = Reference(preset_id, entry["query"], tuple(answers))
    return out
