"""The tensors of a decode batch: left-padded prompts and one KV cache shared by all rows.

Rows are aligned on the right: every row's latest token is in the last column, and shorter
rows are padded on the left. The attention mask hides the padding, and each row's
positions are counted from its own first real token (``position_ids`` from the mask), so a
row computes what it would compute alone. Rows join a running batch by merging their
prefill cache into it (the shorter one padded on the left), and leave it at once
(``select``); columns that are padding for every remaining row are cut off, so the cache
never grows past the longest live row.

Every layer of a batch's cache is a plain, growing :class:`~transformers.DynamicLayer`
(:func:`new_cache`), also for models with sliding-window layers (Gemma 3, Mistral): such a
layer keeps all of its keys, and the attention mask the model builds from its config
applies the window. Rows can then share and merge caches like any others, and compute
what they would alone. A model whose layers keep another kind of state (linear attention,
say) cannot be batched; see :func:`can_merge`.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812 (torch's usual alias)
from transformers import DynamicCache
from transformers.cache_utils import DynamicLayer, DynamicSlidingWindowLayer


def can_merge(model: Any) -> bool:
    """Whether ``model``'s attention layers can keep their state in a plain :func:`new_cache`.

    True for full and sliding-window attention (the mask applies the window), False for
    layers that keep another kind of state.
    """
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    try:
        layers = DynamicCache(config=base.config).layers
    except (AttributeError, KeyError, TypeError, ValueError):
        return False
    return bool(layers) and all(type(layer) in (DynamicLayer, DynamicSlidingWindowLayer) for layer in layers)


def new_cache() -> DynamicCache:
    """An empty cache whose layers are all plain growing layers (see the module's docstring)."""
    return DynamicCache()


def prefill_inputs(prompts: list[list[int]], pad_id: int, device: Any) -> dict[str, torch.Tensor]:
    """Left-padded ``input_ids``, ``attention_mask`` and ``position_ids`` for a prefill of ``prompts``."""
    width = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for row, prompt in enumerate(prompts):
        ids[row, width - len(prompt) :] = torch.tensor(prompt, dtype=torch.long)
        mask[row, width - len(prompt) :] = 1
    ids, mask = ids.to(device), mask.to(device)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    return {"input_ids": ids, "attention_mask": mask, "position_ids": positions}


class SharedCache:
    """The KV cache of a batch and its attention mask (one row per request, same order)."""

    def __init__(self, cache: Any = None, mask: torch.Tensor | None = None) -> None:
        self.cache = cache
        self.mask = mask  # (rows, columns) of 0 (padding) and 1 (a real token)

    def __len__(self) -> int:
        return 0 if self.mask is None else int(self.mask.shape[0])

    def decode_inputs(self, tokens: list[int]) -> dict[str, Any]:
        """Forward arguments for one decode step that feeds each row its latest token."""
        if self.mask is None or len(tokens) != len(self):
            raise ValueError(f"decode_inputs: {len(tokens)} tokens for {len(self)} rows")
        mask = torch.cat([self.mask, self.mask.new_ones((len(tokens), 1))], dim=1)
        return {
            "input_ids": torch.tensor(tokens, dtype=torch.long, device=mask.device).unsqueeze(1),
            "attention_mask": mask,
            "position_ids": mask.sum(dim=1, keepdim=True) - 1,
            "past_key_values": self.cache,
        }

    def update(self, cache: Any, mask: torch.Tensor) -> None:
        """Record the cache and mask after a forward pass (the mask the pass was given)."""
        self.cache, self.mask = cache, mask

    def _layers(self) -> list[Any]:
        return list(self.cache.layers) if self.cache is not None else []

    def merge(self, other: SharedCache) -> None:
        """Append ``other``'s rows after this batch's rows, padding the shorter one on the left."""
        if len(other) == 0:
            return
        if len(self) == 0:
            self.cache, self.mask = other.cache, other.mask
            return
        width = max(self.mask.shape[1], other.mask.shape[1])
        for mine, theirs in zip(self._layers(), other._layers(), strict=True):
            mine.keys = torch.cat([_pad_left(mine.keys, width), _pad_left(theirs.keys, width)], dim=0)
            mine.values = torch.cat([_pad_left(mine.values, width), _pad_left(theirs.values, width)], dim=0)
        self.mask = torch.cat([_pad_left(self.mask, width), _pad_left(other.mask, width)], dim=0)

    def select(self, rows: list[int]) -> None:
        """Keep only ``rows`` (in that order), then cut the columns that are now all padding."""
        if not rows:
            self.cache, self.mask = None, None
            return
        index = torch.tensor(rows, dtype=torch.long, device=self.mask.device)
        mask = self.mask.index_select(0, index)
        start = int(mask.any(dim=0).to(torch.int8).argmax())  # first column some row still uses
        for layer in self._layers():
            layer.keys = layer.keys.index_select(0, index)[:, :, start:, :]
            layer.values = layer.values.index_select(0, index)[:, :, start:, :]
        self.mask = mask[:, start:]


def _pad_left(tensor: torch.Tensor, width: int) -> torch.Tensor:
    """Zeros added before the sequence axis of a mask (rows, seq) or of keys/values (rows, heads, seq, dim)."""
    seq_dim = 1 if tensor.dim() == 2 else -2
    missing = width - tensor.shape[seq_dim]
    if missing == 0:
        return tensor
    return F.pad(tensor, (missing, 0) if tensor.dim() == 2 else (0, 0, missing, 0))
