"""Generation settings, validated before any work is done.

API callers bypass the UI's sliders, so every value is checked here: type, finiteness and
range. A bad value raises :class:`~playground.errors.SettingsError` (a ``ValueError``)
whose message starts with the field's name, e.g. ``temperature: 2.5 is out of range [0, 2]``.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from playground.config_checks import check_float, check_integer, check_text
from playground.errors import SettingsError
from playground.messages import Message

__all__ = ["MAX_SEED", "MAX_STOP_CHARS", "MAX_STOP_STRINGS", "GenerationSettings", "check_integer", "check_text"]

MAX_STOP_STRINGS = 4
MAX_STOP_CHARS = 64
MAX_SEED = 2**63 - 1


def fresh_seed() -> int:
    """A new random sampling seed (31 bits): reported back with the answer, it replays it."""
    return secrets.randbits(31)


@dataclass(frozen=True)
class Range:
    """The values a numeric setting accepts: [low, high], or (low, high] when ``low_open``."""

    low: float
    high: float | None  # None: the server's cap (``max_new_tokens_cap``)
    integer: bool = False  # whole numbers only (``50.0`` reads as 50)
    low_open: bool = False

    def check(self, name: str, value: Any, cap: int) -> float | int:
        """``value`` checked against this range, else SettingsError naming ``name``."""
        high = cap if self.high is None else self.high
        if self.integer:
            return check_integer(name, value, int(self.low), int(high))
        return check_float(name, value, self.low, high, low_open=self.low_open)


# The numeric settings' ranges: what validated() accepts (the UI's sliders show a part of them).
RANGES: dict[str, Range] = {
    "temperature": Range(0.0, 2.0),
    "top_p": Range(0.0, 1.0, low_open=True),
    "top_k": Range(0, 1_000_000, integer=True),
    "max_new_tokens": Range(1, None, integer=True),
    "repetition_penalty": Range(0.0, 10.0, low_open=True),
    "no_repeat_ngram_size": Range(0, 64, integer=True),
}


@dataclass(frozen=True)
class GenerationSettings:
    """How to pick the next tokens. Build with :meth:`from_dict` or :meth:`validated`."""

    temperature: float = 0.0  # 0 = greedy (argmax); up to 2 flattens the distribution
    top_p: float = 1.0  # nucleus sampling: smallest set of tokens whose mass >= top_p, in (0, 1]
    top_k: int = 0  # keep the k most likely tokens; 0 = no top-k filter
    max_new_tokens: int = 64  # tokens to generate at most, 1..the server's cap
    repetition_penalty: float = 1.0  # > 1 discourages tokens already present (CTRL paper); > 0
    no_repeat_ngram_size: int = 0  # forbid repeating any n-gram of this size; 0 = off
    stop: tuple[str, ...] = ()  # up to 4 non-empty strings that end generation, never shown
    seed: int | None = None  # sampling seed; None = a fresh random seed, reported back

    @property
    def greedy(self) -> bool:
        """True when decoding is deterministic argmax."""
        return self.temperature == 0.0

    @classmethod
    def from_dict(
        cls, data: Any, max_new_tokens_cap: int = 512, defaults: GenerationSettings | None = None
    ) -> GenerationSettings:
        """Validate a mapping of settings; missing keys come from ``defaults``.

        Unknown keys are refused by name.
        """
        if not isinstance(data, dict):
            raise SettingsError(Message("not_a_mapping", field="settings", type=type(data).__name__))
        known = {f.name for f in fields(cls)}
        unknown = sorted(k for k in data if k not in known)
        if unknown:
            raise SettingsError(Message("unknown_setting", field=unknown[0], known=", ".join(sorted(known))))
        return replace(defaults or cls(), **data).validated(max_new_tokens_cap)

    def validated(self, max_new_tokens_cap: int = 512) -> GenerationSettings:
        """Return a normalised copy, or raise SettingsError naming the first bad field."""
        stop = self.stop
        if stop is None:
            stop = ()
        if isinstance(stop, str):
            stop = (stop,)
        if not isinstance(stop, (list, tuple)):
            raise SettingsError(Message("not_a_list", field="stop", type=type(stop).__name__))
        if len(stop) > MAX_STOP_STRINGS:
            raise SettingsError(Message("too_many_stops", field="stop", limit=MAX_STOP_STRINGS, count=len(stop)))
        for i, s in enumerate(stop):
            check_text(f"stop[{i}]", s)
            if s == "":
                raise SettingsError(Message("empty", field=f"stop[{i}]"))
            if len(s) > MAX_STOP_CHARS:
                raise SettingsError(Message("too_long_chars", field=f"stop[{i}]", limit=MAX_STOP_CHARS, count=len(s)))
        seed = self.seed
        if seed is not None:
            seed = check_integer("seed", seed, 0, MAX_SEED)
        numbers = {name: r.check(name, getattr(self, name), max_new_tokens_cap) for name, r in RANGES.items()}
        return replace(self, **numbers, stop=tuple(stop), seed=seed)

    def seeded(self) -> GenerationSettings:
        """A copy whose seed is fixed, the one seed rule: None when greedy, else the given one or :func:`fresh_seed`."""
        if self.greedy:
            return self if self.seed is None else replace(self, seed=None)
        return self if self.seed is not None else replace(self, seed=fresh_seed())

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly mapping (stop strings as a list)."""
        out = asdict(self)
        out["stop"] = list(self.stop)
        return out
