"""Prompting-lab presets: data in ``presets.yaml``, checked into dataclasses.

A bad entry raises :class:`~playground.errors.ConfigError` naming the key, e.g.
``presets[3].examples[1]: must be a pair [input, output]``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from playground import config_checks as checks
from playground.config_checks import LANG_RE
from playground.errors import ConfigError
from playground.lessons.fewshot import FewShotSetup, Shot
from playground.settings import MAX_STOP_STRINGS

DEFAULT_PRESETS_PATH = Path(__file__).with_name("presets.yaml")
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,47}$")
_KEYS = {
    "id", "language", "title", "task", "examples", "query", "separator", "input_prefix", "stop", "max_new_tokens",
    "writes",
}  # fmt: skip


@dataclass(frozen=True)
class Preset:
    """One ready-made prompting setup."""

    id: str  # stable id, used in deep links
    language: str  # UI language it is written for ("en" or "fr")
    title: str  # what the preset menu shows
    task: str  # task description, the first line of the prompt
    examples: tuple[Shot, ...]  # worked examples, in order
    query: str  # the input the model must complete
    separator: str = " => "  # between an input and its output
    input_prefix: str = ""  # written before each input ("Q: ")
    stop: tuple[str, ...] = field(default_factory=tuple)  # stop strings
    max_new_tokens: int = 32  # new tokens for an answer
    writes: str | None = None  # ISO 639 code of the language the answers are in (translation presets)

    def setup(self) -> FewShotSetup:
        """The preset as a few-shot setup."""
        return FewShotSetup(self.task, self.examples, self.query, self.separator, self.input_prefix)

    def prompt(self, shots: int | None = None) -> str:
        """The exact prompt with the first ``shots`` examples (all when None)."""
        return self.setup().prompt(shots)

    @classmethod
    def from_dict(cls, where: str, data: Any) -> Preset:
        """Build from a mapping; raises ConfigError naming the bad key."""
        required = ("id", "language", "title", "task", "query")
        data = checks.mapping(where, data, _KEYS, (*required, "examples"))
        for key in required:
            checks.string(f"{where}.{key}", data[key])
        checks.string(f"{where}.id", data["id"], _ID_RE, "must be lower-case letters, digits and '-'")
        checks.choice(f"{where}.language", data["language"], ("en", "fr"))
        examples = checks.items(f"{where}.examples", data["examples"], "[input, output] pairs", non_empty=True)
        shots = []
        for i, pair in enumerate(examples):
            if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(x, str) and x.strip() for x in pair)):
                raise ConfigError(f"{where}.examples[{i}]: must be a pair [input, output] of non-empty strings")
            shots.append(Shot(pair[0], pair[1]))
        stop = checks.items(
            f"{where}.stop",
            data.get("stop", []),
            "non-empty strings",
            max_len=MAX_STOP_STRINGS,
            item=checks.non_empty_str,
        )
        n = checks.number(f"{where}.max_new_tokens", data.get("max_new_tokens", 32), 1, 512, whole=True)
        for key in ("separator", "input_prefix"):
            if key in data:
                checks.string(f"{where}.{key}", data[key], empty_ok=True)
        writes = data.get("writes")
        if writes is not None:
            checks.string(f"{where}.writes", writes, LANG_RE, "must be an ISO 639 code such as 'fr'")
        return cls(
            id=data["id"],
            language=data["language"],
            title=data["title"],
            task=data["task"],
            examples=tuple(shots),
            query=data["query"],
            separator=data.get("separator", " => "),
            input_prefix=data.get("input_prefix", ""),
            stop=tuple(stop),
            max_new_tokens=n,
            writes=writes,
        )


def load_presets(path: str | Path = DEFAULT_PRESETS_PATH) -> dict[str, Preset]:
    """All presets of a YAML file, by id."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("presets"), list):
        raise ConfigError("presets: expected a list under 'presets'")
    out: dict[str, Preset] = {}
    for i, item in enumerate(data["presets"]):
        preset = Preset.from_dict(f"presets[{i}]", item)
        if preset.id in out:
            raise ConfigError(f"presets[{i}].id: duplicate id {preset.id!r}")
        out[preset.id] = preset
    return out
