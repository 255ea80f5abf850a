"""A transformers model assembled around int8 weights, and the folder that keeps them between starts.

:func:`assemble` builds a model of the config's class without memory (meta device), puts
the given :class:`~playground.models.quantized.GroupQuantized` products and float tensors in
place, and computes its rotary tables as transformers does. :func:`save_folder` writes the
same parts as safetensors beside the config and tokenizer (written atomically, complete
once it holds its marker), and :func:`load_folder` reads them back: a later start of the
bundled model skips the GGUF file altogether.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import torch

from playground.models.atomic_folder import atomic_folder
from playground.models.quantize_model import quantize_model
from playground.models.quantized import GroupQuantized
from playground.models.saved_tokenizer import load_saved_tokenizer, save_tokenizer

log = logging.getLogger(__name__)

WEIGHTS_FILE = "int8.safetensors"
MARKER = ".complete"
FORMAT = "playground-int8/2"  # in the safetensors metadata: int8 values interleaved by 16 outputs; others are rebuilt


class AssemblyError(ValueError):
    """The parts do not make the model (a weight missing or left over)."""


def assemble(config: Any, quantized: dict[str, GroupQuantized], floats: dict[str, torch.Tensor]) -> Any:
    """The model of ``config``: int8 products by module name, float32 parameters by name."""
    from transformers import AutoModelForCausalLM

    floats = dict(floats)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    quantize_model(model, quantized)
    for name, module in list(model.named_modules()):  # rotary tables: made again on the CPU, from the config
        if name.endswith("rotary_emb"):
            parent, _, child = name.rpartition(".")
            setattr(model.get_submodule(parent) if parent else model, child, type(module)(config=config))
    for name, _ in list(model.named_parameters()):
        if name not in floats:
            raise AssemblyError(f"no weight for {name}")
        module_name, _, attr = name.rpartition(".")
        setattr(model.get_submodule(module_name), attr, torch.nn.Parameter(floats.pop(name), requires_grad=False))
    missing = [n for n, b in model.named_buffers() if b.is_meta]
    if missing or floats:
        raise AssemblyError(f"left unset: {missing[:3]}; unused: {sorted(floats)[:3]}")
    return model.eval()


def _tensors(quantized: dict[str, GroupQuantized], floats: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    tensors = {f"float/{name}": value.contiguous() for name, value in floats.items()}
    for name, weight in quantized.items():
        tensors[f"int8/{name}/q"] = weight.q
        tensors[f"int8/{name}/scale"] = weight.scale
        tensors[f"int8/{name}/group"] = torch.tensor(weight.group)
        tensors[f"int8/{name}/outputs"] = torch.tensor(weight.outputs)
        if weight.offset is not None:
            tensors[f"int8/{name}/offset"] = weight.offset
    return tensors


def save_folder(
    target: Path,
    config: Any,
    tokenizer: Any,
    quantized: dict[str, GroupQuantized],
    floats: dict[str, torch.Tensor],
    note: str,
) -> None:
    """Write the parts of a model to ``target`` atomically (a sibling folder renamed into place)."""
    from safetensors.torch import save_file

    with atomic_folder(target) as scratch:
        unique = {}
        for name, tensor in _tensors(quantized, floats).items():
            unique[name] = tensor.clone() if any(t.data_ptr() == tensor.data_ptr() for t in unique.values()) else tensor
        save_file(unique, str(scratch / WEIGHTS_FILE), metadata={"format": FORMAT})
        config.save_pretrained(scratch)
        save_tokenizer(tokenizer, scratch)
        (scratch / MARKER).write_text(json.dumps({"note": note}) + "\n", encoding="utf-8")


def folder_ready(folder: Path) -> bool:
    """Whether ``folder`` holds a complete model written by :func:`save_folder` in this :data:`FORMAT`.

    A folder of another format (an earlier layout of the values) is not ready: the caller
    writes it again.
    """
    if not ((folder / MARKER).is_file() and (folder / WEIGHTS_FILE).is_file()):
        return False
    from safetensors import SafetensorError

    try:
        found = _stored_format(folder / WEIGHTS_FILE)
    except (OSError, SafetensorError) as exc:
        log.warning("the int8 cache %s cannot be read (%s): it is written again", folder, exc)
        return False
    if found != FORMAT:
        log.info("the int8 cache %s holds format %s, not %s: it is written again", folder, found, FORMAT)
    return found == FORMAT


def _stored_format(path: Path) -> str | None:
    """The format a weights file says it is in (its safetensors metadata), or None."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as header:
        return (header.metadata() or {}).get("format")


def load_folder(folder: Path) -> tuple[Any, Any]:
    """(model, tokenizer) from a folder :func:`save_folder` wrote."""
    from safetensors.torch import load_file
    from transformers import AutoConfig

    path = folder / WEIGHTS_FILE
    if _stored_format(path) != FORMAT:
        raise AssemblyError(f"{path} is not in the format {FORMAT}")
    config = AutoConfig.from_pretrained(folder)
    tokenizer = load_saved_tokenizer(folder)
    quantized: dict[str, dict[str, torch.Tensor]] = {}
    floats: dict[str, torch.Tensor] = {}
    for key, tensor in load_file(str(path)).items():  # tensors that own their memory (kernels hold raw addresses)
        kind, _, rest = key.partition("/")
        if kind == "float":
            floats[rest] = tensor
        else:
            module, _, part = rest.rpartition("/")
            quantized.setdefault(module, {})[part] = tensor
    parts = {
        name: GroupQuantized(p["q"], p["scale"], p.get("offset"), int(p["group"]), int(p["outputs"]))
        for name, p in quantized.items()
    }
    return assemble(config, parts, floats), tokenizer
