"""The tokenizer lens: one sentence in five languages, cut into tokens by each model's tokenizer.

For each tokenizer of the registry (models that share one, as the GPT-2 sizes do, share a
row) and each language, :func:`lens` gives the pieces, the tokens, the words, tokens per
word and characters per token. A tokenizer trained mostly on English text (GPT-2's) cuts
French, Spanish, German and Italian words into more pieces than a multilingual one
(Gemma's): more tokens for the same text is more cost, less context, and more steps a small
model must get right.

The ready-made sentences are in ``lens_sentences.yaml`` (English-French Tatoeba pairs, and
the same sentence in Spanish, German and Italian).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from playground.errors import ConfigError, ModelLoadError, SettingsError
from playground.messages import Message
from playground.models.prompt_styles import encode_text
from playground.models.registry import ModelSpec, Registry
from playground.models.tokenizers import load_tokenizer, tokenizer_key
from playground.settings import check_text

LANGS = ("en", "fr", "es", "de", "it")  # the lens's languages, in its order
SENTENCES_PATH = Path(__file__).with_name("lens_sentences.yaml")
MAX_LENS_CHARS = 1000  # characters of one sentence at most
WORD = re.compile(r"\w")  # a word is a run of characters between spaces that holds a letter or a digit
SPACE_MARK = "␣"  # how a piece shows a space


@dataclass(frozen=True)
class LensTokenizer:
    """One tokenizer and the registry models that share it (``tokenizer`` None: not available here)."""

    name: str  # the models' labels, joined with " / "
    models: tuple[str, ...]
    tokenizer: Any
    missing: str | None = None  # why it is not available (offline, not cached)


@dataclass(frozen=True)
class LensRow:
    """One sentence cut by one tokenizer."""

    tokenizer: str
    language: str
    pieces: tuple[str, ...]  # the tokens as text, spaces shown as ␣ (empty when the tokenizer is missing)
    words: int
    characters: int
    missing: str | None = None

    @property
    def tokens(self) -> int:
        """How many tokens the sentence costs."""
        return len(self.pieces)

    @property
    def tokens_per_word(self) -> float:
        """Tokens per word (0 when there is no word)."""
        return self.tokens / self.words if self.words else 0.0

    @property
    def chars_per_token(self) -> float:
        """Characters per token (0 when there is no token)."""
        return self.characters / self.tokens if self.tokens else 0.0

    def to_dict(self) -> dict[str, Any]:
        """The row as the API returns it."""
        return {
            "tokenizer": self.tokenizer, "language": self.language, "tokens": self.tokens, "words": self.words,
            "characters": self.characters, "tokens_per_word": round(self.tokens_per_word, 2),
            "chars_per_token": round(self.chars_per_token, 2), "pieces": list(self.pieces), "missing": self.missing,
        }  # fmt: skip


def load_sentences(path: Path = SENTENCES_PATH) -> list[dict[str, str]]:
    """The ready-made sentences: each a mapping from every language of :data:`LANGS` to its text."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    items = data.get("sentences") if isinstance(data, dict) else None
    if not isinstance(items, list) or not items:
        raise ConfigError("sentences: expected a non-empty list")
    for i, item in enumerate(items):
        if not isinstance(item, dict) or set(item) != set(LANGS):
            raise ConfigError(f"sentences[{i}]: needs exactly the languages {', '.join(LANGS)}")
        for lang, text in item.items():
            if not isinstance(text, str) or not text.strip() or len(text) > MAX_LENS_CHARS:
                raise ConfigError(f"sentences[{i}].{lang}: must be a sentence of 1 to {MAX_LENS_CHARS} characters")
    return [{lang: item[lang] for lang in LANGS} for item in items]


def checked_sentences(sentences: Mapping[str, Any]) -> dict[str, str]:
    """The sentences to cut, by language: text, at most :data:`MAX_LENS_CHARS` characters (SettingsError naming it)."""
    out = {}
    for lang in LANGS:
        text = check_text(lang, sentences.get(lang) or "")
        if len(text) > MAX_LENS_CHARS:
            raise SettingsError(Message("too_long_chars", field=lang, limit=MAX_LENS_CHARS, count=len(text)))
        if text.strip():
            out[lang] = text
    if not out:
        raise SettingsError(Message("empty", field="en"))
    return out


def word_count(text: str) -> int:
    """Words of ``text``: the runs between spaces that hold a letter or a digit ("J'ai" is one, "?" none)."""
    return sum(1 for chunk in text.split() if WORD.search(chunk))


def piece_text(tokenizer: Any, token: str) -> str:
    """A token as the text it stands for, spaces shown as ␣; a token holding part of a character shows �."""
    if token.startswith("<0x") and token.endswith(">"):  # SentencePiece's byte fallback: one byte of a character
        return token
    text = token.replace("▁", " ") if "▁" in token else tokenizer.convert_tokens_to_string([token])
    return text.replace(" ", SPACE_MARK).replace("\n", "\\n")


def cut(tokenizer: Any, text: str) -> tuple[str, ...]:
    """The pieces of ``text`` (no special token added; typed special-token strings stay text)."""
    ids = encode_text(tokenizer, text)
    return tuple(piece_text(tokenizer, token) for token in tokenizer.convert_ids_to_tokens(ids))


def lens(sentences: Mapping[str, str], tokenizers: list[LensTokenizer]) -> list[LensRow]:
    """Every sentence cut by every tokenizer: the tokenizers' order, then the languages'."""
    rows = []
    for entry in tokenizers:
        for lang, text in sentences.items():
            words, chars = word_count(text), len(text)
            if entry.tokenizer is None:
                rows.append(LensRow(entry.name, lang, (), words, chars, entry.missing))
            else:
                rows.append(LensRow(entry.name, lang, cut(entry.tokenizer, text), words, chars))
    return rows


class TokenizerShelf:
    """The registry's tokenizers, loaded once each (a model's tokenizer, never its weights)."""

    def __init__(self, registry: Registry, load: Callable[[ModelSpec, Registry], Any] = load_tokenizer) -> None:
        self.registry = registry
        self._load = load
        self._lock = threading.Lock()
        self._loaded: dict[str, tuple[Any, str | None]] = {}

    def groups(self) -> dict[str, list[ModelSpec]]:
        """The registry's models grouped by tokenizer, in the registry's order."""
        groups: dict[str, list[ModelSpec]] = {}
        for spec in self.registry.models.values():
            groups.setdefault(tokenizer_key(spec), []).append(spec)
        return groups

    def tokenizers(self) -> list[LensTokenizer]:
        """Each tokenizer of the registry, loaded (or why it is not available)."""
        out = []
        for key, specs in self.groups().items():
            with self._lock:  # two visitors at once load a tokenizer once
                if key not in self._loaded:
                    self._loaded[key] = self._try(specs[0])
                tokenizer, missing = self._loaded[key]
            out.append(
                LensTokenizer(" / ".join(s.label for s in specs), tuple(s.name for s in specs), tokenizer, missing)
            )
        return out

    def _try(self, spec: ModelSpec) -> tuple[Any, str | None]:
        try:
            return self._load(spec, self.registry), None
        except ModelLoadError as exc:
            return None, str(exc)
