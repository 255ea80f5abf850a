"""Recipes, and real (tiny) LoRA training runs: outputs, model card, resume."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml
from safetensors.torch import load_file

from playground.adapters.recipe import Recipe, load_recipe
from playground.errors import ConfigError
from playground.training.train import lr_factor, train
from tests.paths import FIXTURES, ROOT
from tests.tiny_models import TINY_REPO

GUTENBERG_RECIPE = {
    "name": "tiny-sand",
    "base": "tiny",
    "task": "style",
    "language": "fr",
    "license": "apache-2.0",
    "description": "test",
    "data": {"kind": "gutenberg", "train_books": [34204, 39738], "test_books": [23582], "validation_fraction": 0.2},
    "lora": {"r": 4, "alpha": 8, "dropout": 0.1},
    "training": {"seq_len": 32, "batch_size": 2, "learning_rate": 1e-2, "warmup_steps": 1, "max_steps": 2,
                 "eval_every": 1, "eval_batches": 1, "save_every": 1, "seed": 5},
    "evaluation": {"max_windows": 4},
}  # fmt: skip


@pytest.mark.parametrize("path", sorted(ROOT.glob("adapters/*/recipe.yaml")), ids=lambda p: p.parent.name)
def test_shipped_recipes_are_valid_and_commented(path):
    recipe = load_recipe(path)
    assert recipe.name == path.parent.name
    for line in path.read_text(encoding="utf-8").splitlines():
        if ":" in line and not line.lstrip().startswith("#") and not line.rstrip().endswith(":"):
            assert "#" in line, f"{path.name}: no comment on {line!r}"


def test_seed_recipes_exist_for_hub_machines():
    bases = {load_recipe(p).base for p in ROOT.glob("adapters/*/recipe.yaml")}
    assert {"gpt2", "gpt2-wechsel-french", "smollm2-135m-instruct"} <= bases


@pytest.mark.parametrize(
    ("section", "key", "value", "message"),
    [
        ("training", "learning_rate", -1, "training.learning_rate: must be a positive number"),
        ("training", "batch_size", 0, "training.batch_size: must be a positive integer"),
        ("training", "epoch", 1, "training.epoch: unknown key"),
        ("lora", "dropout", 1.5, r"lora.dropout: must be in \[0, 1\)"),
        ("lora", "target_modules", [], "lora.target_modules: must be a non-empty list"),
        ("data", "kind", "csv", "data.kind: 'csv' is not one of gutenberg, alpaca"),
        ("data", "test_books", [34204], "data.test_books: a held-out book is also in train_books"),
        ("data", "validation_fraction", 0, r"data.validation_fraction: must be in \(0, 1\)"),
        ("evaluation", "max_windows", 0, "evaluation.max_windows: must be a positive integer"),
    ],
)
def test_bad_recipes_name_the_key(section, key, value, message):
    data = copy.deepcopy(GUTENBERG_RECIPE)
    data[section][key] = value
    with pytest.raises(ConfigError, match=message):
        Recipe.from_dict(data)


def test_default_targets_follow_the_architecture():
    lora = Recipe.from_dict(GUTENBERG_RECIPE).lora
    assert lora.targets_for("gpt2") == ["c_attn"]
    assert lora.targets_for("llama") == ["q_proj", "k_proj", "v_proj", "o_proj"]
    with pytest.raises(ConfigError, match="no default for architecture 'bert'"):
        lora.targets_for("bert")


def test_learning_rate_schedule():
    assert [round(lr_factor(s, 2, 6), 2) for s in range(6)] == [0.5, 1.0, 1.0, 0.75, 0.5, 0.25]


def _setup(tiny_hub, tmp_path, recipe: dict) -> tuple[Path, Path]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    registry = tmp_path / "registry.yaml"
    registry.write_text(yaml.safe_dump(tiny_hub.registry_dict(adapters=[])), encoding="utf-8")
    folder = tmp_path / "adapters" / recipe["name"]
    folder.mkdir(parents=True)
    (folder / "recipe.yaml").write_text(yaml.safe_dump(recipe), encoding="utf-8")
    return folder / "recipe.yaml", registry


def test_two_step_gutenberg_run_writes_adapter_card_plot_and_metrics(tiny_hub, tmp_path):
    recipe_path, registry = _setup(tiny_hub, tmp_path, GUTENBERG_RECIPE)
    results = train(recipe_path, str(FIXTURES / "gutenberg"), resume=False, max_steps=None, registry_path=str(registry))
    folder = recipe_path.parent
    config = json.loads((folder / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == TINY_REPO
    assert config["auto_mapping"] is None and config["peft_type"] == "LORA"
    assert config["target_modules"] == ["c_attn"] and config["r"] == 4
    assert set(load_file(str(folder / "adapter_model.safetensors"))) == {
        f"base_model.model.transformer.h.{i}.attn.c_attn.lora_{m}.weight" for i in (0, 1) for m in "AB"
    }
    assert (folder / "loss.png").stat().st_size > 1000
    log = json.loads((folder / "training_log.json").read_text())
    assert [s for s, _ in log["history"]["train"]] == [1, 2]
    assert [s for s, _ in log["history"]["validation"]] == [1, 2]
    card = (folder / "README.md").read_text()
    assert "base_model: playground-test/tiny-gpt2" in card and "library_name: peft" in card
    assert "| tiny + tiny-sand |" in card and "*La petite Fadette* (Gutenberg #34204)" in card
    assert "## Licence\n\nThe adapter weights: `apache-2.0`. They are used with the base model" in card
    assert set(results) == {"base", "tiny-sand"}
    assert results["tiny-sand"]["perplexity"] != results["base"]["perplexity"]  # it learned something
    assert json.loads((folder / "metrics.json").read_text()) == results


def test_resumed_run_equals_an_uninterrupted_one(tiny_hub, tmp_path):
    straight = dict(GUTENBERG_RECIPE, training={**GUTENBERG_RECIPE["training"], "max_steps": 3})
    path_a, registry_a = _setup(tiny_hub, tmp_path / "a", straight)
    train(path_a, str(FIXTURES / "gutenberg"), resume=False, max_steps=None, registry_path=str(registry_a))
    path_b, registry_b = _setup(tiny_hub, tmp_path / "b", straight)
    train(path_b, str(FIXTURES / "gutenberg"), resume=False, max_steps=2, registry_path=str(registry_b))  # "stopped"
    train(path_b, str(FIXTURES / "gutenberg"), resume=True, max_steps=None, registry_path=str(registry_b))
    a = load_file(str(path_a.parent / "adapter_model.safetensors"))
    b = load_file(str(path_b.parent / "adapter_model.safetensors"))
    assert a.keys() == b.keys()
    for key in a:
        assert (a[key] - b[key]).abs().max() < 1e-6, key
    log_b = json.loads((path_b.parent / "training_log.json").read_text())
    assert [s for s, _ in log_b["history"]["train"]] == [1, 2, 3]


def test_two_step_alpaca_run(tiny_hub, tmp_path):
    recipe = {
        **GUTENBERG_RECIPE,
        "name": "tiny-alpaca",
        "data": {"kind": "alpaca", "test_records": 5, "validation_fraction": 0.1},
        "training": {**GUTENBERG_RECIPE["training"], "seq_len": 96},
    }
    recipe_path, registry = _setup(tiny_hub, tmp_path, recipe)
    results = train(recipe_path, str(FIXTURES / "alpaca" / "alpaca_first40.json"), False, None, str(registry))
    assert results["base"]["tokens"] == results["tiny-alpaca"]["tokens"] > 0
    card = (recipe_path.parent / "README.md").read_text()
    assert '"records": {"train": 31, "validation": 4, "test": 5}' in card  # 40 records: 5 held out, 10% of 35 validate
    assert "datasets:\n- tatsu-lab/alpaca" in card
