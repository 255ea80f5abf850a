"""Checks that run on a model or adapter folder before anything in it is loaded.

The loading policy: safetensors only (pickle files are never opened), no remote code,
adapters only of the LoRA kind with a known set of config keys, and an adapter must have
been trained on the base model the registry gives it. Every ``.safetensors`` file is opened
with the safetensors parser first (its header only: no tensor is read), so that a pickle
under a safetensors name, or a truncated file, is refused here rather than failing deep in
the loader. Every refusal raises
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
# How a pickle (protocols 2 to 5) or a torch.save zip archive begins; only used to word a refusal.
_PICKLE_MAGIC = (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05", b"PK\x03\x04")

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


def check_safetensors_file(path: Path, what: str) -> None:
    """Refuse a file that is not a well-formed safetensors file.

    ``safe_open`` reads the header only and checks that it is JSON describing tensors that
    lie inside the file: a pickle or a ``torch.save`` archive renamed ``*.safetensors``, an
    empty or truncated file are refused with the parser's reason. Nothing is unpickled.
    """
    from safetensors import SafetensorError, safe_open

    if not path.is_file():
        raise UnsafeArtifactError(f"{what}: {path.name} is not a regular file; refused")
    try:
        with safe_open(str(path), framework="pt"):
            pass
    except (SafetensorError, OSError) as exc:
        with path.open("rb") as f:
            head = f.read(4)
        looks = " (it looks like a pickle or a torch.save archive)" if head.startswith(_PICKLE_MAGIC) else ""
        reason = f"{path.name} is not a valid safetensors file{looks}: {exc}"
        raise UnsafeArtifactError(f"{what}: {reason}; refused") from None


def _require_safetensors(folder: Path, what: str, weight_glob: str) -> None:
    weights = sorted(folder.glob(weight_glob))
    if not weights:
        pickles = sorted(p.name for p in folder.iterdir() if p.suffix in PICKLE_SUFFIXES)
        if pickles:
            raise UnsafeArtifactError(
                f"{what}: only pickle weights ({', '.join(pickles)}) in {folder}; the playground loads safetensors only"
            )
        raise UnsafeArtifactError(f"{what}: no safetensors weights in {folder}")
    for path in weights:
        check_safetensors_file(path, what)


def _check_shard_index(folder: Path, what: str) -> None:
    """Refuse a shard index whose ``weight_map`` names anything but safetensors files of ``folder``.

    transformers opens the files an index names, so an index pointing at ``pytorch_model.bin``
    or at ``../elsewhere`` would get around the checks on the folder's own files.
    """
    for index in sorted(folder.glob("*.safetensors.index.json")):
        weight_map = _read_json(index, what).get("weight_map")
        if not isinstance(weight_map, dict) or not weight_map:
            raise UnsafeArtifactError(f"{what}: {index.name} has no weight_map; refused")
        for name in sorted({str(v) for v in weight_map.values()}):
            if Path(name).name != name or not name.endswith(".safetensors") or not (folder / name).is_file():
                raise UnsafeArtifactError(
                    f"{what}: {index.name} names {name!r}, which is not a safetensors file of the folder; refused"
                )


def _sections(config: dict[str, Any], prefix: str = "") -> list[tuple[str, dict[str, Any]]]:
    """``config`` and every mapping nested in it (sub-configs such as ``text_config``), with their paths."""
    found = [(prefix, config)]
    for key, value in config.items():
        if isinstance(value, dict):
            found += _sections(value, f"{prefix}{key}.")
    return found


def check_model_config(config: dict[str, Any], what: str, name: str = "config.json") -> None:
    """Refuse a model config that asks for remote code or an unknown attention kernel.

    Sub-configs are checked too: transformers builds them with the same keys.
    """
    for where, section in _sections(config):
        if section.get("auto_map"):
            raise UnsafeArtifactError(f"{what}: {name} has {where}auto_map (remote code); refused")
        if section.get("trust_remote_code"):
            raise UnsafeArtifactError(f"{what}: {name} asks for {where}trust_remote_code; refused")
        for key in ("attn_implementation", "_attn_implementation"):
            if section.get(key) not in ALLOWED_ATTN:
                raise UnsafeArtifactError(
                    f"{what}: {name} {where}{key}={section.get(key)!r} is not one of eager, sdpa; refused"
                )


def check_model_folder(folder: Path, what: str) -> None:
    """Check a transformers model folder before anything in it is loaded.

    ``config.json`` (and ``tokenizer_config.json``, if present) must not ask for remote
    code; weights must be safetensors files that open as such; a shard index may only name
    safetensors files of the folder.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise UnsafeArtifactError(f"{what}: {folder} is not a folder")
    check_model_config(_read_json(folder / "config.json", what), what)
    if (folder / "tokenizer_config.json").exists():
        check_model_config(_read_json(folder / "tokenizer_config.json", what), what, name="tokenizer_config.json")
    _check_shard_index(folder, what)
    _require_safetensors(folder, what, "*.safetensors")


def allowed_adapter_keys() -> set[str]:
    """The keys a LoRA ``adapter_config.json`` may hold: LoraConfig's fields."""
    from dataclasses import fields

    from peft import LoraConfig

    return {f.name for f in fields(LoraConfig)} | _ADAPTER_META_KEYS


def check_adapter_folder(folder: Path, what: str, expected_base: str) -> dict[str, Any]:
    """Check a PEFT adapter folder and return its config.

    Refuses: a missing, non-safetensors or malformed weight file, a non-LoRA adapter,
    unknown keys, a non-null ``auto_mapping``, and a ``base_model_name_or_path`` other than
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
