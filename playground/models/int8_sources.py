"""Where a model served from int8 weights comes from (a registry entry's ``dtype: int8``).

On a CPU where the compiled int8 kernels pass their check (:mod:`playground.models.int8_matmul`):

- a bundled GGUF file keeps its own quantized blocks, without loss
  (:mod:`playground.models.gguf_model`); the first start writes them, the config and the
  tokenizer to a cache folder (:mod:`playground.models.int8_model`), and later starts
  read that folder;
- a model from a local folder or the Hub is loaded in float32 (the sources of
  :mod:`playground.models.sources`) and its products are rounded to int8
  (:func:`~playground.models.quantize_model.quantize_model`).

Anywhere else (a GPU, or a CPU where the kernels cannot be compiled or fail their check),
the entry is served as ``dtype: auto`` would be, and the log says why.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

import torch

from playground.messages import Message
from playground.models.registry import ModelSpec, Registry
from playground.models.safety import check_model_folder
from playground.models.sources import (
    LoadedWeights,
    Progress,
    bundled_file_path,
    join_parts,
    load_base_model,
    package_version,
    playground_cache_dir,
    target_device,
)

log = logging.getLogger(__name__)

INT8 = "int8"  # the registry's dtype for int8 weights
COMMON_LAYOUTS = ((32, False, True), (32, True, False), (16, False, False))  # checked before a model is loaded


def int8_unavailable(device: str) -> str | None:
    """Why int8 weights cannot serve on ``device`` here, or None when they can."""
    if not device.startswith("cpu"):
        return f"int8 weights are computed on a CPU, not {device}"
    from playground.models.int8_matmul import JitUnavailableError, kernel

    try:
        for layout in COMMON_LAYOUTS:
            kernel(*layout)
    except JitUnavailableError as exc:
        return str(exc)
    return None


def int8_cache(spec: ModelSpec) -> tuple[Path, dict[str, str]]:
    """Where the int8 parts of a bundled file are kept between starts, and what the file is."""
    bundled = spec.bundled
    assert bundled is not None
    version = package_version(bundled.distribution)
    name = Path(bundled.file).name
    what = {"package": bundled.distribution, "version": version, "file": name}
    return playground_cache_dir() / "int8" / f"{bundled.distribution}-{version}" / Path(name).stem, what


def load_bundled_int8(spec: ModelSpec, progress: Progress | None = None) -> LoadedWeights:
    """The bundled GGUF file's model with its own int8 blocks, through the cache folder."""
    from playground.models.gguf_file import GGUFFile
    from playground.models.gguf_model import read_parts
    from playground.models.int8_model import assemble, folder_ready, load_folder, save_folder

    cached, what = int8_cache(spec)
    if folder_ready(cached):
        check_model_folder(cached, spec.name)
        model, tokenizer = load_folder(cached)
        return LoadedWeights(model, tokenizer, Message("from_bundled_int8_cache", **what), int8=True)
    if progress:
        progress(Message("progress_int8", file=what["file"]))
    bundled = spec.bundled
    assert bundled is not None
    with tempfile.TemporaryDirectory(prefix="playground-gguf-") as scratch:
        path = join_parts(bundled, Path(scratch) / what["file"]) if bundled.parts else bundled_file_path(bundled)[0]
        config, tokenizer, quantized, floats = read_parts(GGUFFile(path))
        try:
            save_folder(cached, config, tokenizer, quantized, floats, note=what["file"])
            log.info("cached the int8 weights of %s in %s", what["file"], cached)
        except OSError as exc:  # a read-only disk costs the next start its speed, nothing else
            log.warning("could not cache the int8 weights in %s: %s", cached, exc)
        model = assemble(config, quantized, floats)
    return LoadedWeights(model, tokenizer, Message("from_bundled_int8_now", **what), int8=True)


def load_model(
    spec: ModelSpec, registry: Registry, progress: Progress | None = None, device: str | None = None
) -> LoadedWeights:
    """Load a base model in the registry's ``dtype``; ``int8`` as the module's docstring says.

    The sources are tried in the usual order (:func:`~playground.models.sources.load_base_model`);
    with int8 weights the bundled file is read by :func:`load_bundled_int8`, and a float model
    from another source is rounded.
    """
    device = device or target_device()
    if spec.dtype != INT8:
        return load_base_model(spec, registry, progress=progress, device=device)
    from playground.models.jit import cache_objects

    cache_objects(playground_cache_dir() / "kernels")  # a later start loads the kernels' machine code
    reason = int8_unavailable(device)
    if reason is not None:
        log.warning("%s is served without int8 weights: %s", spec.name, reason)
        return load_base_model(spec, registry, progress=progress, device=device, dtype="auto")
    weights = load_base_model(
        spec,
        registry,
        progress=progress,
        device=device,
        dtype="float32",
        bundled=lambda: load_bundled_int8(spec, progress),
    )
    weights = weights if weights.int8 else _rounded(weights)
    reason = _layouts_unavailable(weights.model)
    if reason is not None:  # a layout the common check did not cover fails here: float weights instead
        log.warning("%s is served from float32 weights: %s", spec.name, reason)
        return _dequantized(weights)
    return weights


def _layouts_unavailable(model: Any) -> str | None:
    """Compile and check the kernel of every weight layout of ``model`` now (not at a visitor's first product)."""
    from playground.models.int8_matmul import JitUnavailableError, kernel

    layouts = {
        (m.quantized.group, m.quantized.offset is not None, m.quantized.scale.dtype == torch.float16)
        for m in model.modules()
        if hasattr(m, "quantized")
    }
    try:
        for layout in sorted(layouts):
            kernel(*layout)
    except JitUnavailableError as exc:
        return str(exc)
    return None


def _dequantized(weights: LoadedWeights) -> LoadedWeights:
    """The same model with float32 products: each int8 layer made an ``nn.Linear`` / ``nn.Embedding`` again."""
    for name, module in list(weights.model.named_modules()):
        quantized = getattr(module, "quantized", None)
        if quantized is None:
            continue
        parent_name, _, child = name.rpartition(".")
        parent = weights.model.get_submodule(parent_name) if parent_name else weights.model
        values = quantized.dequantize()
        if isinstance(module, torch.nn.Linear):
            plain = torch.nn.Linear(module.in_features, module.out_features, bias=module.bias is not None)
            plain.weight = torch.nn.Parameter(values, requires_grad=False)
            if module.bias is not None:
                plain.bias = module.bias
        else:
            plain = _ScaledEmbedding(values, module.embed_scale, module.padding_idx)
        setattr(parent, child, plain)
    return LoadedWeights(weights.model, weights.tokenizer, weights.source, int8=False)


class _ScaledEmbedding(torch.nn.Embedding):
    """A float embedding times a scale (Gemma's), standing in for a QuantizedEmbedding."""

    def __init__(self, table: torch.Tensor, scale: float, padding_idx: int | None) -> None:
        super().__init__(*table.shape, padding_idx=padding_idx, _weight=table, _freeze=True)
        self.embed_scale = scale

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """The rows of ``ids`` times the scale."""
        rows = super().forward(ids)
        return rows * self.embed_scale if self.embed_scale != 1.0 else rows


def _rounded(weights: LoadedWeights) -> LoadedWeights:
    from playground.models.quantize_model import quantize_model

    quantize_model(weights.model)
    return LoadedWeights(weights.model, weights.tokenizer, Message("int8_rounded", source=weights.source), int8=True)
