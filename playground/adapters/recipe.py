"""LoRA recipes: ``adapters/<name>/recipe.yaml`` read into checked dataclasses.

A bad value raises :class:`~playground.errors.ConfigError` naming the key, e.g.
``training.learning_rate: must be a positive number``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import yaml

from playground.errors import ConfigError

DATA_KINDS = ("gutenberg", "alpaca")
# LoRA targets by model architecture (config.model_type), used when a recipe names none.
TARGET_MODULES = {
    "gpt2": ["c_attn"],
    "llama": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "qwen2": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "mistral": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "gemma3_text": ["q_proj", "k_proj", "v_proj", "o_proj"],
}
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


def _section(where: str, data: Any, cls: type) -> dict[str, Any]:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
    allowed = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ConfigError(f"{where}.{unknown[0]}: unknown key (allowed: {', '.join(sorted(allowed))})")
    return data


def _positive(where: str, value: Any, integer: bool = False, zero_ok: bool = False) -> Any:
    ok_type = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok_type or not math.isfinite(value) or value < 0 or (value == 0 and not zero_ok):
        kind = "integer" if integer else "number"
        raise ConfigError(f"{where}: must be a {'non-negative' if zero_ok else 'positive'} {kind}, got {value!r}")
    return value


@dataclass(frozen=True)
class DataConfig:
    """Where the training text comes from."""

    kind: str  # "gutenberg" (books by id) or "alpaca" (instruction records)
    train_books: tuple[int, ...] = ()  # gutenberg: ids of the books trained on
    test_books: tuple[int, ...] = ()  # gutenberg: ids of held-out books, never trained on
    validation_fraction: float = 0.05  # share of training text kept for the validation loss
    train_records: int = 0  # alpaca: the first N records are trained on (0 = all but the test ones)
    test_records: int = 0  # alpaca: the last N records are held out for evaluation

    @classmethod
    def from_dict(cls, data: Any) -> DataConfig:
        """Checked data section."""
        data = _section("data", data, cls)
        kind = data.get("kind")
        if kind not in DATA_KINDS:
            raise ConfigError(f"data.kind: {kind!r} is not one of {', '.join(DATA_KINDS)}")
        books = {}
        for key in ("train_books", "test_books"):
            value = data.get(key, [])
            if not isinstance(value, list) or not all(isinstance(b, int) and b > 0 for b in value):
                raise ConfigError(f"data.{key}: must be a list of Gutenberg book ids")
            books[key] = tuple(value)
        if kind == "gutenberg":
            if not books["train_books"] or not books["test_books"]:
                raise ConfigError("data.train_books: gutenberg recipes need train_books and test_books")
            if set(books["train_books"]) & set(books["test_books"]):
                raise ConfigError("data.test_books: a held-out book is also in train_books")
        fraction = data.get("validation_fraction", 0.05)
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 < fraction < 1:
            raise ConfigError(f"data.validation_fraction: must be in (0, 1), got {fraction!r}")
        train_records = _positive("data.train_records", data.get("train_records", 0), integer=True, zero_ok=True)
        test_records = _positive("data.test_records", data.get("test_records", 0), integer=True, zero_ok=True)
        if kind == "alpaca" and test_records == 0:
            raise ConfigError("data.test_records: alpaca recipes hold out the last N records; N must be > 0")
        return cls(kind, books["train_books"], books["test_books"], float(fraction), train_records, test_records)


@dataclass(frozen=True)
class LoraSettings:
    """The LoRA update: rank, scaling, dropout and which layers it adapts."""

    r: int = 8  # rank of the update matrices A (r x in) and B (out x r)
    alpha: int = 32  # scaling: the update B·A is multiplied by alpha / r
    dropout: float = 0.1  # dropout on the LoRA branch's input during training
    target_modules: tuple[str, ...] | None = None  # None = TARGET_MODULES of the architecture

    @classmethod
    def from_dict(cls, data: Any) -> LoraSettings:
        """Checked lora section."""
        data = _section("lora", data, cls)
        r = _positive("lora.r", data.get("r", 8), integer=True)
        alpha = _positive("lora.alpha", data.get("alpha", 32))
        dropout = data.get("dropout", 0.1)
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
            raise ConfigError(f"lora.dropout: must be in [0, 1), got {dropout!r}")
        targets = data.get("target_modules")
        if targets is not None:
            if not isinstance(targets, list) or not targets or not all(isinstance(t, str) and t for t in targets):
                raise ConfigError("lora.target_modules: must be a non-empty list of module names, or null")
            targets = tuple(targets)
        return cls(r, alpha, float(dropout), targets)

    def targets_for(self, model_type: str) -> list[str]:
        """The modules to adapt on a model of ``model_type``."""
        if self.target_modules:
            return list(self.target_modules)
        if model_type not in TARGET_MODULES:
            raise ConfigError(f"lora.target_modules: no default for architecture {model_type!r}; name them")
        return list(TARGET_MODULES[model_type])


@dataclass(frozen=True)
class TrainingSettings:
    """The optimisation: sequence shape, schedule, checkpoints, seed."""

    seq_len: int = 256  # tokens per training sequence
    batch_size: int = 8  # sequences per optimiser step
    learning_rate: float = 5e-4  # AdamW peak learning rate
    weight_decay: float = 0.0  # AdamW weight decay
    warmup_steps: int = 10  # linear warm-up steps, then linear decay to 0
    epochs: int = 1  # passes over the training data ...
    max_steps: int | None = None  # ... capped at this many optimiser steps (None = no cap)
    eval_every: int = 25  # steps between validation-loss measurements
    eval_batches: int = 4  # validation batches per measurement
    save_every: int = 10  # steps between resumable checkpoints
    seed: int = 42  # seeds the split, the data order, dropout and LoRA's initialisation
    autocast: str | None = None  # "bf16": matrix products in bfloat16 (weights and optimiser stay float32)

    @classmethod
    def from_dict(cls, data: Any) -> TrainingSettings:
        """Checked training section."""
        data = _section("training", data, cls)
        out: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in data:
                continue
            value = data[f.name]
            if f.name == "max_steps" and value is None:
                out[f.name] = None
            elif f.name == "autocast":
                if value not in (None, "bf16"):
                    raise ConfigError(f"training.autocast: {value!r} is not one of bf16, null")
                out[f.name] = value
            elif f.name in ("learning_rate", "weight_decay"):
                out[f.name] = float(_positive(f"training.{f.name}", value, zero_ok=f.name == "weight_decay"))
            else:
                zero_ok = f.name in ("warmup_steps", "seed")
                out[f.name] = _positive(f"training.{f.name}", value, integer=True, zero_ok=zero_ok)
        return cls(**out)


@dataclass(frozen=True)
class EvaluationSettings:
    """What the model card's evaluation scores."""

    max_windows: int = 48  # held-out windows of seq_len tokens scored, base vs adapter

    @classmethod
    def from_dict(cls, data: Any) -> EvaluationSettings:
        """Checked evaluation section."""
        data = _section("evaluation", data, cls)
        return cls(_positive("evaluation.max_windows", data.get("max_windows", 48), integer=True))


@dataclass(frozen=True)
class Recipe:
    """A whole LoRA recipe."""

    name: str  # adapter name: folder adapters/<name> and its registry entry
    base: str  # registry name of the base model
    task: str  # what the adapter is for
    language: str  # ISO 639 code of the training text
    license: str  # license of the adapter weights
    description: str  # one line for the model card and the UI
    data: DataConfig
    lora: LoraSettings
    training: TrainingSettings
    evaluation: EvaluationSettings
    path: Path | None = None  # the recipe file, when read from one

    @classmethod
    def from_dict(cls, data: Any, path: Path | None = None) -> Recipe:
        """Build and check a recipe; raises ConfigError naming the bad key."""
        if not isinstance(data, dict):
            raise ConfigError("recipe: expected a mapping")
        top = {"name", "base", "task", "language", "license", "description", "data", "lora", "training", "evaluation"}
        unknown = sorted(set(data) - top)
        if unknown:
            raise ConfigError(f"{unknown[0]}: unknown key (allowed: {', '.join(sorted(top))})")
        for key in ("name", "base", "task", "language", "license"):
            if not isinstance(data.get(key), str) or not data[key].strip():
                raise ConfigError(f"{key}: required, a non-empty string")
        if not _NAME_RE.match(data["name"]):
            raise ConfigError(f"name: {data['name']!r} must be lower-case letters, digits, '.', '_' or '-'")
        return cls(
            name=data["name"],
            base=data["base"],
            task=data["task"],
            language=data["language"],
            license=data["license"],
            description=str(data.get("description", "")),
            data=DataConfig.from_dict(data.get("data")),
            lora=LoraSettings.from_dict(data.get("lora")),
            training=TrainingSettings.from_dict(data.get("training")),
            evaluation=EvaluationSettings.from_dict(data.get("evaluation")),
            path=path,
        )


def load_recipe(path: str | Path) -> Recipe:
    """Read and check a recipe YAML file."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    return Recipe.from_dict(data, path=path)
