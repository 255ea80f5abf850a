"""LoRA recipes: ``adapters/<name>/recipe.yaml`` read into checked dataclasses.

A bad value raises :class:`~playground.errors.ConfigError` naming the key, e.g.
``training.learning_rate: must be a positive number``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import yaml

from playground import config_checks as checks
from playground.config_checks import NAME_HINT, NAME_RE
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


def _is_book_id(value: Any) -> bool:
    return isinstance(value, int) and value > 0


def _section(where: str, data: Any, cls: type) -> dict[str, Any]:
    """A recipe section (absent: empty) with no key the dataclass ``cls`` lacks."""
    return checks.mapping(where, {} if data is None else data, {f.name for f in fields(cls)})


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
        kind = checks.choice("data.kind", data.get("kind"), DATA_KINDS)
        books = {}
        for key in ("train_books", "test_books"):
            value = checks.items(f"data.{key}", data.get(key, []), "Gutenberg book ids", item=_is_book_id)
            books[key] = tuple(value)
        if kind == "gutenberg":
            if not books["train_books"] or not books["test_books"]:
                raise ConfigError("data.train_books: gutenberg recipes need train_books and test_books")
            if set(books["train_books"]) & set(books["test_books"]):
                raise ConfigError("data.test_books: a held-out book is also in train_books")
        fraction = data.get("validation_fraction", 0.05)
        checks.number("data.validation_fraction", fraction, 0, 1, low_open=True, high_open=True)
        train_records = checks.number("data.train_records", data.get("train_records", 0), 0, whole=True)
        test_records = checks.number("data.test_records", data.get("test_records", 0), 0, whole=True)
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
        r = checks.number("lora.r", data.get("r", 8), 0, low_open=True, whole=True)
        alpha = checks.number("lora.alpha", data.get("alpha", 32), 0, low_open=True)
        dropout = checks.number("lora.dropout", data.get("dropout", 0.1), 0, 1, high_open=True)
        targets = data.get("target_modules")
        if targets is not None:
            names = "module names, or null"
            targets = tuple(
                checks.items("lora.target_modules", targets, names, non_empty=True, item=checks.non_empty_str)
            )
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
                out[f.name] = checks.choice("training.autocast", value, ("bf16", None))
            elif f.name in ("learning_rate", "weight_decay"):
                positive = f.name != "weight_decay"
                out[f.name] = float(checks.number(f"training.{f.name}", value, 0, low_open=positive))
            else:
                positive = f.name not in ("warmup_steps", "seed")
                out[f.name] = checks.number(f"training.{f.name}", value, 0, low_open=positive, whole=True)
        return cls(**out)


@dataclass(frozen=True)
class EvaluationSettings:
    """What the model card's evaluation scores."""

    max_windows: int = 48  # held-out windows of seq_len tokens scored, base vs adapter

    @classmethod
    def from_dict(cls, data: Any) -> EvaluationSettings:
        """Checked evaluation section."""
        data = _section("evaluation", data, cls)
        return cls(checks.number("evaluation.max_windows", data.get("max_windows", 48), 0, low_open=True, whole=True))


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
        top = {"name", "base", "task", "language", "license", "description", "data", "lora", "training", "evaluation"}
        required = ("name", "base", "task", "language", "license")
        data = checks.mapping("", data, top, required)
        for key in required:
            checks.string(key, data[key])
        checks.string("name", data["name"], NAME_RE, NAME_HINT)
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
