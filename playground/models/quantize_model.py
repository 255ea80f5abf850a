"""Turning a loaded transformers model's products and embedding into int8 ones, in place.

:func:`quantize_model` replaces each ``nn.Linear`` whose input size is a multiple of 32 by a
:class:`~playground.models.quantized.QuantizedLinear`, and the input embedding by a
:class:`~playground.models.quantized.QuantizedEmbedding`; a tied output layer shares the
embedding's int8 values. Weights given as :class:`GroupQuantized` (read from a GGUF file
without loss) are used as they are; the others are rounded by
:func:`~playground.models.quantized.quantize`. The float weights are then freed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import torch

from playground.models.quantized import GroupQuantized, QuantizedEmbedding, QuantizedLinear, quantize

log = logging.getLogger(__name__)


def _set(root: Any, name: str, module: torch.nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = root.get_submodule(parent_name) if parent_name else root
    setattr(parent, child, module)


def _embed_scale(module: Any) -> float:
    scale = getattr(module, "scalar_embed_scale", None)
    if scale is None and getattr(module, "embed_scale", None) is not None:
        scale = float(module.embed_scale)
    return float(scale) if scale is not None else 1.0


def quantize_model(model: Any, weights: Mapping[str, GroupQuantized] | None = None, group: int = 32) -> int:
    """Make ``model``'s linear layers and input embedding int8 in place; return how many modules changed.

    ``weights`` maps a module name (``model.layers.0.self_attn.q_proj``) to its values read
    elsewhere (a GGUF file); a module not named there is rounded from its float weight.
    Layers whose input size is not a multiple of ``group`` stay as they are.
    """
    weights = dict(weights or {})
    changed = 0
    embedding = model.get_input_embeddings()
    head = model.get_output_embeddings()
    tied = head is not None and embedding is not None and head.weight is embedding.weight
    embed_name = next(name for name, m in model.named_modules() if m is embedding)
    table = weights.get(embed_name)
    if table is None:
        if embedding.weight.is_meta:
            raise ValueError(f"{embed_name} has no weight to round (it was made without memory, and none was given)")
        table = quantize(embedding.weight, group)
    _set(model, embed_name, QuantizedEmbedding(table, _embed_scale(embedding), embedding.padding_idx))
    changed += 1
    for name, module in list(model.named_modules()):
        if type(module) is not torch.nn.Linear:
            continue
        if module is head and tied:
            values = table
        elif name in weights:
            values = weights[name]
        elif module.weight.is_meta:
            raise ValueError(f"{name} has no weight to round (it was made without memory, and none was given)")
        elif module.in_features % group == 0:
            values = quantize(module.weight, group)
        else:
            log.info("%s keeps float weights: %d inputs are not a multiple of %d", name, module.in_features, group)
            continue
        bias = module.bias.detach() if module.bias is not None else None
        _set(model, name, QuantizedLinear(values, bias))
        changed += 1
    log.info("%d modules of %s hold int8 weights", changed, type(model).__name__)
    return changed
