"""Checks of configuration values, shared by the registry, recipes, presets and settings.

Two audiences, two kinds of error, one set of rules:

- **Files** an operator writes (``registry.yaml``, an adapter's ``recipe.yaml``,
  ``presets.yaml``): :func:`mapping`, :func:`string`, :func:`integer`, :func:`number`,
  :func:`choice`, :func:`boolean` and :func:`items` raise
  :class:`~playground.errors.ConfigError` with plain English text that starts with the
  full key path, e.g. ``models[2].context_length: 4 is out of range [16, 10000000]``.
  The caller builds the path (``where``); :func:`key_path` joins a key to it.
- **Requests** a visitor sends (sampling settings, prompts, share links):
  :func:`check_text`, :func:`check_integer` and :func:`check_float` raise
  :class:`~playground.errors.SettingsError` carrying a :class:`~playground.messages.Message`,
  so the UI shows it in the visitor's language.

Both kinds write ranges the same way (:func:`interval`): ``[0, 2]``, ``(0, 1]``,
``[1, inf]``. A ``bool`` is never a number here, although Python counts it as an ``int``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection
from typing import Any

from playground.errors import ConfigError, SettingsError
from playground.messages import Message

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")  # a registry name: models, adapters, recipes
NAME_HINT = "must be lower-case letters, digits, '.', '_' or '-'"
LANG_RE = re.compile(r"^[a-z]{2,3}$")  # an ISO 639 language code


def key_path(where: str, key: str) -> str:
    """``where.key``, or ``key`` alone at the top level of a file (``where`` empty)."""
    return f"{where}.{key}" if where else key


def interval(low: float | None, high: float | None, *, low_open: bool = False, high_open: bool = False) -> str:
    """A range as the errors write it: ``[0, 2]``, ``(0, 1]``, ``[1, inf]`` (None is unbounded)."""

    def shown(x: float | None, default: str) -> str:
        return default if x is None else (f"{x:g}" if isinstance(x, float) else str(x))

    left = "(" if low_open else "["
    right = ")" if high_open else "]"
    return f"{left}{shown(low, '-inf')}, {shown(high, 'inf')}{right}"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def non_empty_str(value: Any) -> bool:
    """Whether ``value`` is a string with at least one character (an :func:`items` test)."""
    return isinstance(value, str) and value != ""


def _inside(value: float, low: float | None, high: float | None, low_open: bool, high_open: bool) -> bool:
    if low is not None and (value < low or (low_open and value == low)):
        return False
    return high is None or not (value > high or (high_open and value == high))


# --- files: ConfigError, English text naming the key path ------------------------------------


def mapping(where: str, data: Any, allowed: Collection[str], required: Collection[str] = ()) -> dict:
    """``data`` if it is a mapping with only ``allowed`` keys and every ``required`` one.

    The first unknown key is named with the allowed ones, then the first missing key, each
    as a full key path (``models[0].trust_remote_code: unknown key (allowed: ...)``).
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{where or 'top level'}: expected a mapping, got {type(data).__name__}")
    unknown = sorted(set(data) - set(allowed), key=str)
    if unknown:
        raise ConfigError(f"{key_path(where, unknown[0])}: unknown key (allowed: {', '.join(sorted(allowed))})")
    missing = sorted(set(required) - set(data))
    if missing:
        raise ConfigError(f"{key_path(where, missing[0])}: required key is missing")
    return data


def string(where: str, value: Any, pattern: re.Pattern | None = None, hint: str = "", *, empty_ok: bool = False) -> str:
    """``value`` if it is a non-blank string (any string with ``empty_ok``) matching ``pattern``.

    ``hint`` says what the pattern wants (``must look like 'org/name'``).
    """
    if not isinstance(value, str):
        kind = "a string" if empty_ok else "a non-empty string"
        raise ConfigError(f"{where}: must be {kind}, got {value!r}")
    if not empty_ok and not value.strip():
        raise ConfigError(f"{where}: must be a non-empty string, got {value!r}")
    if pattern is not None and not pattern.match(value):
        raise ConfigError(f"{where}: {value!r} {hint or 'is not valid'}")
    return value


def integer(where: str, value: Any, low: int, high: int | None = None) -> int:
    """``value`` if it is an integer in ``[low, high]`` (``high`` None: no upper bound).

    Errors: ``must be an integer, got '8'``, ``0 is out of range [1, inf]``.
    """
    if not _is_int(value):
        raise ConfigError(f"{where}: must be an integer, got {value!r}")
    if not _inside(value, low, high, False, False):
        raise ConfigError(f"{where}: {value} is out of range {interval(low, high)}")
    return value


def _wanted(low: float | None, high: float | None, low_open: bool, high_open: bool, whole: bool, unit: str) -> str:
    """What :func:`number` asks for, in words: ``a positive integer``, ``in [0, 1)``, ..."""
    noun = ("integer" if whole else "number") + (f" of {unit}" if unit else "")
    if low == 0 and high is None:
        return f"a {'positive' if low_open else 'non-negative'} {noun}"
    span = interval(low, high, low_open=low_open, high_open=high_open)
    if not whole and not unit:
        return f"in {span}"
    return f"{'an' if whole else 'a'} {noun} in {span}"


def number(
    where: str,
    value: Any,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
    whole: bool = False,
    unit: str = "",
) -> Any:
    """``value`` if it is a finite number (an integer with ``whole``) in the range given.

    The error says what is wanted and what came: ``must be a positive integer, got 0``,
    ``must be in [0, 1), got 1.5``, ``must be a positive number of seconds, got inf``.
    """
    ok = _is_int(value) if whole else _is_number(value)
    if not ok or not math.isfinite(value) or not _inside(value, low, high, low_open, high_open):
        raise ConfigError(f"{where}: must be {_wanted(low, high, low_open, high_open, whole, unit)}, got {value!r}")
    return value


def choice(where: str, value: Any, allowed: Collection[Any]) -> Any:
    """``value`` if it is one of ``allowed``; the error lists them (None written ``null``, as in YAML)."""
    if value not in allowed:
        shown = ", ".join("null" if a is None else str(a) for a in allowed)
        raise ConfigError(f"{where}: {value!r} is not one of {shown}")
    return value


def boolean(where: str, value: Any) -> bool:
    """``value`` if it is ``true`` or ``false``."""
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: must be true or false, got {value!r}")
    return value


def items(
    where: str,
    value: Any,
    what: str = "",
    *,
    non_empty: bool = False,
    max_len: int | None = None,
    item: Callable[[Any], bool] | None = None,
) -> list:
    """``value`` if it is a list (not empty with ``non_empty``, at most ``max_len`` long) whose
    elements all pass ``item``.

    ``what`` names the elements. The error states the rule: ``must be a non-empty list of
    language codes``, or with ``max_len``: ``at most 4 non-empty strings``. Check elements
    one by one (each with its own key path) where each can be wrong in its own way.
    """
    ok = (
        isinstance(value, list)
        and (value or not non_empty)
        and (max_len is None or len(value) <= max_len)
        and (item is None or all(item(x) for x in value))
    )
    if not ok:
        if max_len is not None:
            rule = f"at most {max_len} {what or 'items'}"
        else:
            rule = f"must be a {'non-empty ' if non_empty else ''}list" + (f" of {what}" if what else "")
        raise ConfigError(f"{where}: {rule}")
    return value


# --- requests: SettingsError carrying a Message in the visitor's language -----------------------


def check_text(name: str, value: Any) -> str:
    """``value`` if it is a string of valid Unicode, else SettingsError naming ``name``.

    JSON can carry lone surrogates (``"\\ud800"``), which no tokenizer can encode.
    """
    if not isinstance(value, str):
        raise SettingsError(Message("not_a_string", field=name, type=type(value).__name__))
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise SettingsError(Message("bad_unicode", field=name, position=exc.start)) from None
    return value


def check_float(name: str, value: Any, low: float, high: float, *, low_open: bool = False) -> float:
    """``value`` as a finite float in [low, high] (``(low, high]`` with ``low_open``), else SettingsError."""
    if not _is_number(value):
        raise SettingsError(Message("not_a_number", field=name, type=type(value).__name__, value=value))
    value = float(value)
    if not math.isfinite(value):
        raise SettingsError(Message("not_finite", field=name, value=value))
    if not _inside(value, low, high, low_open, False):
        span = interval(float(low), float(high), low_open=low_open)
        raise SettingsError(Message("out_of_range", field=name, value=f"{value:g}", range=span))
    return value


def check_integer(name: str, value: Any, low: int, high: int) -> int:
    """``value`` as an integer in [low, high] (``50.0`` reads as 50), else SettingsError naming ``name``."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # JSON clients send 50.0 for 50
    if not _is_int(value):
        raise SettingsError(Message("not_an_integer", field=name, type=type(value).__name__, value=value))
    if not _inside(value, low, high, False, False):
        raise SettingsError(Message("out_of_range", field=name, value=value, range=interval(low, high)))
    return value
