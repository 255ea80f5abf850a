"""Checks that run on a model or adapter folder before anything in it is loaded.

The loading policy: safetensors only (pickle files are never opened), no remote code,
adapters only of the LoRA kind with a known set of config keys, and an adapter must have
been trained on the base model the registry gives it. Every refusal raises
:class:`~playground.errors.UnsafeArtifactError` (or its subclass
:class:`~playground.errors.AdapterMismatchError`) with the reason.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from playground.errors import AdapterMismatchError, UnsafeArtifactError

# Files fetched from the Hub: weights as safetensors, configs and tokenizer files. Nothing
# else (no *.bin, *.pt, *.pkl, *.py) is ever downloaded.
HUB_MODEL_PATTERNS = [
    "*.safetensors",
    "*.safetensors.index.json",
    "config.json",
    "generation_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "chat_template.jinja",
    "chat_template.json",
    "vocab.json",
    "merges.txt",
    "tokenizer.model",
    "README.md",
]
HUB_ADAPTER_PATTERNS = ["adapter_config.json", "adapter_model.safetensors", "README.md"]

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")
ALLOWED_ATTN = {None, "eager", "sdpa"}

# Keys a LoRA adapter_config.json may hold (PEFT's LoraConfig and its parents, plus
# bookkeeping keys PEFT writes). ``auto_mapping`` is refused unless null: it names classes
# to import.
_ADAPTER_META_KEYS = {"peft_version"}


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UnsafeArtifactError(f"{what}: {path.name} is missing in {path.parent}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UnsafeArtifactError(f"{what}: {path.name} is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise UnsafeArtifactError(f"{what}: {path.name} must hold a JSON object")
    return data


def _require_safetensors(folder: Path, what: str, weight_glob: str) -> None:
    weights = sorted(folder.glob(weight_glob))
    if not weights:
        pickles = sorted(p.name for p in folder.iterdir() if p.suffix in PICKLE_SUFFIXES)
        if pickles:
            raise UnsafeArtifactError(
                f"{what}: only pickle weights ({', '.join(pickles)}) in {folder}; the playground loads safetensors only"
            )
        raise UnsafeArtifactError(f"{what}: no safetensors weights in {folder}")


def check_model_config(config: dict[str, Any], what: str) -> None:
    """Refuse a model config that asks for remote code or an unknown attention kernel."""
    if config.get("auto_map"):
        raise UnsafeArtifactError(f"{what}: config.json has auto_map (remote code); refused")
    if config.get("trust_remote_code"):
        raise UnsafeArtifactError(f"{what}: config.json asks for trust_remote_code; refused")
    for key in ("attn_implementation", "_attn_implementation"):
        if config.get(key) not in ALLOWED_ATTN:
            raise UnsafeArtifactError(
                f"{what}: config.json {key}={config.get(key)!r} is not one of eager, sdpa; refused"
            )


def check_model_folder(folder: Path, what: str) -> None:
    """Check a transformers model folder: safetensors weights and a safe config.json."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UnsafeArtifactError(f"{what}: {folder} is not a folder")
    check_model_config(_read_json(folder / "config.json", what), what)
    _require_safetensors(folder, what, "*.safetensors")


def allowed_adapter_keys() -> set[str]:
    """The keys a LoRA ``adapter_config.json`` may hold: LoraConfig's fields."""
    from dataclasses import fields

    from peft import LoraConfig

    return {f.name for f in fields(LoraConfig)} | _ADAPTER_META_KEYS


def check_adapter_folder(folder: Path, what: str, expected_base: str) -> dict[str, Any]:
    """Check a PEFT adapter folder and return its config.

    Refuses: a missing or non-safetensors weight file, a non-LoRA adapter, unknown keys,
    a non-null ``auto_mapping``, and a ``base_model_name_or_path`` other than
    ``expected_base``.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise UnsafeArtifactError(f"{what}: {folder} is not a folder")
    config = _read_json(folder / "adapter_config.json", what)
    unknown = sorted(set(config) - allowed_adapter_keys())
    if unknown:
        raise UnsafeArtifactError(f"{what}: adapter_config.json has unexpected keys: {', '.join(unknown)}")
    if config.get("auto_mapping") is not None:
        raise UnsafeArtifactError(f"{what}: adapter_config.json sets auto_mapping (imports classes); refused")
    if config.get("peft_type") != "LORA":
        raise UnsafeArtifactError(f"{what}: peft_type {config.get('peft_type')!r} is not LORA")
    base = config.get("base_model_name_or_path")
    if base != expected_base:
        raise AdapterMismatchError(
            f"{what}: trained on base model {base!r}, but the registry attaches it to {expected_base!r}"
        )
    _require_safetensors(folder, what, "adapter_model.safetensors")
    return config
