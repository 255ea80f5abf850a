"""Train a LoRA adapter from its recipe, resumably, and write weights, card, plot and metrics.

    python -m playground.training.train adapters/george-sand/recipe.yaml \\
        --local-data ../shared/data/gutenberg-sand        # read the books here, don't download
    python -m playground.training.train adapters/george-sand/recipe.yaml --resume   # after a stop

Writes into the recipe's folder: ``adapter_model.safetensors`` and ``adapter_config.json``
(the adapter), ``README.md`` (the model card, with the evaluation table), ``loss.png``,
``metrics.json`` and ``training_log.json``. Checkpoints go to ``checkpoints/`` (not
committed) every ``save_every`` steps; ``--resume`` continues from the last one with the
same data order and random state, so a resumed run equals an uninterrupted one.
``--push-to-hub org/name`` uploads the result.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import torch

log = logging.getLogger(__name__)

CHECKPOINT_DIR = "checkpoints"
PUBLISHED_FILES = [
    "adapter_model.safetensors",
    "adapter_config.json",
    "README.md",
    "loss.png",
    "metrics.json",
    "recipe.yaml",
]


def lr_factor(step: int, warmup: int, total: int) -> float:
    """Linear warm-up to 1, then linear decay to 0 at ``total``."""
    if warmup and step < warmup:
        return (step + 1) / warmup
    return max(0.0, (total - step) / max(1, total - warmup))


def validation_loss(model: Any, examples: list, pad_id: int, batch_size: int) -> float:
    """Mean token cross-entropy of ``model`` on ``examples``."""
    from playground.evaluation.scoring import score_examples

    scores = score_examples(model, examples, pad_id, batch_size)
    return sum(scores.nll) / len(scores.nll)


def save_checkpoint(folder: Path, model: Any, optimizer: torch.optim.Optimizer, state: dict[str, Any]) -> None:
    """Adapter weights (safetensors), optimizer state and progress, replaced atomically."""
    from peft import get_peft_model_state_dict
    from safetensors.torch import save_file

    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    weights = {k: v.detach().contiguous() for k, v in get_peft_model_state_dict(model).items()}
    save_file(weights, str(tmp / "adapter_model.safetensors"))
    torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
    (tmp / "state.json").write_text(json.dumps(state), encoding="utf-8")
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)


def load_checkpoint(folder: Path, model: Any, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """Restore what :func:`save_checkpoint` wrote; returns the progress state."""
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    set_peft_model_state_dict(model, load_file(str(folder / "adapter_model.safetensors")))
    optimizer.load_state_dict(torch.load(folder / "optimizer.pt", weights_only=True))
    return json.loads((folder / "state.json").read_text(encoding="utf-8"))


def train(
    recipe_path: Path, local: str | None, resume: bool, max_steps: int | None, registry_path: str | None
) -> dict[str, Any]:
    """Run a recipe end to end; returns the evaluation results."""
    from playground.adapters.model_card import write_card
    from playground.adapters.recipe import load_recipe
    from playground.data.examples import build_splits
    from playground.evaluation.compare import evaluate_recipe
    from playground.models.registry import load_registry
    from playground.models.sources import load_base_model

    recipe = load_recipe(recipe_path)
    out = recipe_path.parent
    registry = load_registry(registry_path) if registry_path else load_registry()
    base_spec = registry.model(recipe.base)
    t = recipe.training
    weights = load_base_model(base_spec, registry, progress=log.info, dtype="float32")  # trained in float32
    tokenizer = weights.tokenizer
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    splits = build_splits(recipe, tokenizer, local)
    log.info("data: %s", splits.description)
    if len(splits.train) < t.batch_size:
        raise ValueError(f"training.batch_size: {t.batch_size} is more than the {len(splits.train)} training examples")

    model, targets = with_lora(weights.model, recipe, base_spec.base_id)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=t.learning_rate, weight_decay=t.weight_decay
    )
    total = total_steps(t, len(splits.train), max_steps)
    validation = splits.validation[: t.eval_batches * t.batch_size]
    state = run_steps(model, optimizer, recipe, splits.train, validation, pad_id, total, out / CHECKPOINT_DIR, resume)
    save_adapter(model, recipe, state, validation, pad_id, out)

    del model, optimizer
    results, table, info = evaluate_recipe(recipe, local, registry, out)
    (out / "metrics.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    write_card(out / "README.md", recipe, base_spec, weights.source, info, table, summary(state, t, targets, trainable))
    print(table)
    return results


def with_lora(model: Any, recipe: Any, base_id: str) -> tuple[Any, list[str]]:
    """The base ``model`` wrapped with the recipe's fresh LoRA layers (seeded), and the modules they target."""
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(recipe.training.seed)
    targets = recipe.lora.targets_for(model.config.model_type)
    lora = LoraConfig(
        r=recipe.lora.r,
        lora_alpha=recipe.lora.alpha,
        lora_dropout=recipe.lora.dropout,
        target_modules=targets,
        task_type="CAUSAL_LM",
        fan_in_fan_out=model.config.model_type == "gpt2",  # GPT-2's Conv1D stores weights transposed
    )
    model = get_peft_model(model, lora)
    model.peft_config["default"].base_model_name_or_path = base_id
    return model, targets


def total_steps(t: Any, train_examples: int, max_steps: int | None) -> int:
    """Optimizer steps of the run: the recipe's epochs, capped by its ``max_steps`` and the command line's."""
    total = t.epochs * max(1, train_examples // t.batch_size)
    for cap in (t.max_steps, max_steps):
        if cap:
            total = min(total, cap)
    return total


def run_steps(
    model: Any,
    optimizer: torch.optim.Optimizer,
    recipe: Any,
    train: list,
    validation: list,
    pad_id: int,
    total: int,
    ckpt: Path,
    resume: bool,
) -> dict[str, Any]:
    """Train up to ``total`` steps (from the last checkpoint when ``resume``); the progress state.

    Each step's data and dropout noise depend on the step number only, so a resumed run
    equals an uninterrupted one.
    """
    from tqdm.auto import tqdm

    from playground.data.examples import batch_at, collate
    from playground.training.loss import backward_lm_loss

    t = recipe.training
    state: dict[str, Any] = {"step": 0, "history": {"train": [], "validation": []}, "seconds": 0.0}
    if resume and (ckpt / "state.json").is_file():
        state = load_checkpoint(ckpt, model, optimizer)
        log.info("resumed at step %d", state["step"])
    for group in optimizer.param_groups:
        group.setdefault("initial_lr", t.learning_rate)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: lr_factor(s, t.warmup_steps, total), last_epoch=state["step"] - 1
    )
    model.train()
    device = next(model.parameters()).device
    bar = tqdm(total=total, initial=state["step"], desc=f"training {recipe.name}", unit="step")
    started = time.monotonic() - state["seconds"]
    while state["step"] < total:
        step = state["step"]
        torch.manual_seed(t.seed + step)  # dropout noise depends on the step only: resumable
        batch = {k: v.to(device) for k, v in collate(batch_at(train, step, t.batch_size, t.seed), pad_id).items()}
        loss = backward_lm_loss(model, batch, autocast=torch.bfloat16 if t.autocast == "bf16" else None)
        torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        state["step"] = step + 1
        state["history"]["train"].append([step + 1, loss])
        postfix = {"loss": f"{loss:.3f}"}
        if state["step"] % t.eval_every == 0 or state["step"] == total:
            val = validation_loss(model, validation, pad_id, t.batch_size)
            state["history"]["validation"].append([state["step"], val])
            postfix["val"] = f"{val:.3f}"
        bar.set_postfix(postfix)
        bar.update(1)
        state["seconds"] = time.monotonic() - started
        if state["step"] % t.save_every == 0 or state["step"] == total:
            save_checkpoint(ckpt, model, optimizer, state)
    bar.close()
    return state


def save_adapter(model: Any, recipe: Any, state: dict[str, Any], validation: list, pad_id: int, out: Path) -> None:
    """The adapter's weights, its loss plot and its training log, in the recipe's folder."""
    from playground.adapters.model_card import plot_losses

    t = recipe.training
    if not state["history"]["validation"] or state["history"]["validation"][-1][0] != state["step"]:
        state["history"]["validation"].append([state["step"], validation_loss(model, validation, pad_id, t.batch_size)])
    model.save_pretrained(out, safe_serialization=True)
    plot_losses(state["history"], out / "loss.png", f"{recipe.name} on {recipe.base}")
    (out / "training_log.json").write_text(json.dumps(state, indent=1) + "\n", encoding="utf-8")


def summary(state: dict[str, Any], t: Any, targets: list[str], trainable: int) -> dict[str, Any]:
    """The model card's training figures."""
    recent = [loss for _, loss in state["history"]["train"][-10:]]
    return {
        "target_modules": targets,
        "trainable_parameters": trainable,
        "steps": state["step"],
        "tokens_seen": state["step"] * t.batch_size * t.seq_len,
        "final_train_loss": sum(recent) / len(recent),
        "final_validation_loss": state["history"]["validation"][-1][1],
        "hours": state["seconds"] / 3600,
        "device": "CPU" if not torch.cuda.is_available() else torch.cuda.get_device_name(),
    }


def push_to_hub(folder: Path, repo_id: str) -> None:
    """Upload the adapter's published files to a Hub model repository."""
    from huggingface_hub import HfApi

    api = HfApi()
    api.create_repo(repo_id, exist_ok=True)
    api.upload_folder(folder_path=str(folder), repo_id=repo_id, allow_patterns=PUBLISHED_FILES)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    from playground.network import configure_hub_access

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("recipe", type=Path, help="adapters/<name>/recipe.yaml")
    parser.add_argument("--local-data", default=None, help="read the data from this file or folder, not the web")
    parser.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    parser.add_argument("--max-steps", type=int, default=None, help="stop after this many steps (overrides the recipe)")
    parser.add_argument("--registry", default=None, help="registry YAML (default: the project's)")
    parser.add_argument("--push-to-hub", default=None, metavar="ORG/NAME", help="upload the adapter when done")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    configure_hub_access()
    if args.max_steps is not None and args.max_steps < 1:
        parser.error("--max-steps must be >= 1")
    results = train(args.recipe, args.local_data, args.resume, args.max_steps, args.registry)
    if args.push_to_hub:
        push_to_hub(args.recipe.parent, args.push_to_hub)
    return 0 if all(math.isfinite(r["perplexity"]) for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
