"""A lean forward pass for Gemma 3 and Llama-family decoders over int8 weights, row by row.

A decode step of a small model on a CPU is mostly two things: reading the weights, and
Python running the framework around the products (transformers' Gemma 3 forward spends
about as long in its own code as the int8 products take to read every weight).
:class:`LeanDecoder` keeps the first and little of the second:

- it reads the weights of a loaded transformers model (its :class:`QuantizedLinear` layers,
  their PEFT LoRA adapters, its norms and rotary frequencies) and computes the same
  function in a flat loop: the products of a layer that share their input run as one
  (q, k and v; gate and up), on the compiled int8 kernel;
- the tokens of all rows of a step go through each product together, whatever each row
  brings (a whole prompt, a chunk of one, one decoded token), and each row attends to its
  own :class:`~playground.models.row_cache.RowCache` only. Every row's numbers are those it
  gets alone: the kernel computes each row on its own, and attention, norms and
  activations are per row;
- LoRA adapters apply per row beside the shared base, as PEFT's mixed batches do: the
  base product for every row, then each adapter's ``B(A x) * scaling`` for its rows.

:func:`lean_decoder` builds one for a model it supports (Gemma 3 text, Llama and its
family: SmolLM2, Mistral-style layouts without biases) and None for any other.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from playground.models import decoder_kernels as kernels
from playground.models.quantized import GroupQuantized, QuantizedEmbedding
from playground.models.row_cache import RowCache

log = logging.getLogger(__name__)

FAMILIES = {"gemma3_text": "gemma3", "llama": "llama", "mistral": "llama", "qwen2": None}


@dataclass(frozen=True)
class Lora:
    """One adapter's matrices on one product: ``B(A x) * scaling``, float32."""

    a: torch.Tensor  # (rank, inputs)
    b: torch.Tensor  # (outputs, rank)
    scaling: float


@dataclass
class Product:
    """One or several products of the same input (q, k, v fused), and their adapters, by part."""

    weight: GroupQuantized
    parts: tuple[int, ...]  # outputs of each fused part, in order
    loras: dict[str, list[Lora | None]] = field(default_factory=dict)  # adapter -> per part (None: not adapted)

    def __call__(self, x: torch.Tensor, groups: dict[str, torch.Tensor]) -> torch.Tensor:
        """The product of rows ``x`` (tokens, inputs), each adapter added to the rows ``groups`` gives it."""
        out = self.weight.matmul(x)
        for adapter, rows in groups.items():
            loras = self.loras.get(adapter)
            if loras is None:
                continue
            sub = x.index_select(0, rows)
            start = 0
            for size, lora in zip(self.parts, loras, strict=True):
                if lora is not None:
                    delta = (sub @ lora.a.t()) @ lora.b.t() * lora.scaling
                    out[:, start : start + size].index_add_(0, rows, delta)
                start += size
        return out


@dataclass
class Layer:
    """The weights of one decoder layer, as the lean forward uses them."""

    qkv: Product
    o: Product
    gate_up: Product
    down: Product
    norms: dict[str, torch.Tensor]  # name -> float32 weight (Gemma's already + 1)
    rope: str  # which rotary table (Gemma 3: "sliding_attention" or "full_attention")
    window: int | None  # keys a query sees at most (sliding layers), None: all


@dataclass(frozen=True)
class RowInput:
    """What one row brings to a forward pass: its new tokens, its cache, its adapter."""

    tokens: Sequence[int]
    cache: RowCache
    adapter: str | None = None
    all_logits: bool = False  # logits of every new token (scoring), else of the last one only


class LeanDecoder(torch.nn.Module):
    """The forward pass of one loaded decoder; see the module's docstring.

    A torch module only so that hooks see its passes (``register_forward_pre_hook``): its
    weights belong to the transformers model it was gathered from.
    """

    def __init__(
        self,
        family: str,
        config: Any,
        embed: QuantizedEmbedding,
        head: GroupQuantized,
        layers: list[Layer],
        final_norm: torch.Tensor,
        rotary: dict[str, tuple[torch.Tensor, float]],
    ) -> None:
        super().__init__()
        self.family = family
        self.config = config
        self.__dict__["embed"] = embed  # not a submodule: it belongs to the transformers model
        self.head = head
        self.layers = layers
        self.final_norm = final_norm
        self.rotary = rotary  # table name -> (inverse frequencies, attention scaling), as transformers' rotary module
        self.eps = float(config.rms_norm_eps)
        self.heads = int(config.num_attention_heads)
        self.kv_heads = int(config.num_key_value_heads)
        self.head_dim = int(getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads)
        self.scaling = float(config.query_pre_attn_scalar) ** -0.5 if family == "gemma3" else self.head_dim**-0.5
        self.softcap = getattr(config, "final_logit_softcapping", None)
        self.vocab_size = head.shape[0]

    def new_cache(self) -> RowCache:
        """An empty cache for one row."""
        return RowCache(len(self.layers), self.kv_heads, self.head_dim)

    # -- pieces ------------------------------------------------------------------------
    def _norm(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        out = torch.empty_like(x)
        kernels.rms_norm(x.numpy(), weight.numpy(), self.eps, out.numpy())
        return out

    def _rotary(self, positions: torch.Tensor) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Each table's (cos, sin) for the positions, (tokens, head dim / 2), as transformers computes them."""
        tables = {}
        for name, (inv_freq, scaling) in self.rotary.items():
            freqs = positions[:, None].float() * inv_freq
            cos, sin = freqs.cos(), freqs.sin()
            if scaling != 1.0:
                cos, sin = cos * scaling, sin * scaling
            tables[name] = (cos.numpy(), sin.numpy())
        return tables

    def _mlp(self, layer: Layer, x: torch.Tensor, groups: dict[str, torch.Tensor]) -> torch.Tensor:
        gate_up = layer.gate_up(x, groups)
        size = layer.gate_up.parts[0]
        act = torch.empty((gate_up.shape[0], size))
        kernels.gated(gate_up.numpy(), size, self.family == "gemma3", act.numpy())
        return layer.down(act, groups)

    # -- the pass ----------------------------------------------------------------------
    def forward(self, rows: Sequence[RowInput]) -> list[torch.Tensor]:
        """One forward pass over ``rows``; per row, the logits of its last token (1, vocab) or of all.

        Each row's cache grows by its new tokens.
        """
        counts = [len(r.tokens) for r in rows]
        ids = torch.tensor([t for r in rows for t in r.tokens], dtype=torch.long)
        positions = torch.cat(
            [torch.arange(r.cache.length, r.cache.length + n) for r, n in zip(rows, counts, strict=True)]
        )
        groups = _adapter_rows(rows, counts)
        rotary = self._rotary(positions)
        h = self.embed(ids).contiguous()
        spans = _spans(counts)
        for index, layer in enumerate(self.layers):
            h = self._layer(index, layer, h, rows, spans, rotary, groups)
        for row, count in zip(rows, counts, strict=True):
            row.cache.commit(count)
        keep = [i for r, (s, e) in zip(rows, spans, strict=True) for i in (range(s, e) if r.all_logits else [e - 1])]
        last = h if len(keep) == h.shape[0] else h.index_select(0, torch.tensor(keep, dtype=torch.long))
        logits = self.head.matmul(self._norm(last, self.final_norm))
        if self.softcap is not None:
            logits = torch.tanh(logits / self.softcap) * self.softcap
        sizes = [e - s if r.all_logits else 1 for r, (s, e) in zip(rows, spans, strict=True)]
        return list(logits.split(sizes))

    def _layer(
        self,
        index: int,
        layer: Layer,
        h: torch.Tensor,
        rows: Sequence[RowInput],
        spans: list[tuple[int, int]],
        rotary: dict,
        groups: dict[str, torch.Tensor],
    ) -> torch.Tensor:
        norms = layer.norms
        qkv = layer.qkv(self._norm(h, norms["input"]), groups)
        cos, sin = rotary[layer.rope]
        normed = "q" in norms
        q_weight = norms["q"] if normed else self.final_norm
        k_weight = norms["k"] if normed else self.final_norm
        qkv_np = qkv.numpy()
        kernels.norm_rotate(
            qkv_np,
            self.heads,
            self.kv_heads,
            q_weight.numpy()[: self.head_dim],
            k_weight.numpy()[: self.head_dim],
            normed,
            self.eps,
            cos,
            sin,
        )
        attended = torch.empty((h.shape[0], self.heads * self.head_dim))
        out_np = attended.numpy()
        window = layer.window or 0
        for row, (start, end) in zip(rows, spans, strict=True):
            keys, values = row.cache.buffers(index, end - start)
            kernels.attend(
                qkv_np[start:end],
                self.heads,
                self.kv_heads,
                keys.numpy(),
                values.numpy(),
                row.cache.length,
                window,
                self.scaling,
                out_np[start:end],
            )
        o = layer.o(attended, groups)
        if self.family == "gemma3":
            kernels.add_rms_norm(h.numpy(), o.numpy(), norms["post_attention"].numpy(), self.eps)
            m = self._mlp(layer, self._norm(h, norms["pre_feedforward"]), groups)
            kernels.add_rms_norm(h.numpy(), m.numpy(), norms["post_feedforward"].numpy(), self.eps)
            return h
        h += o
        h += self._mlp(layer, self._norm(h, norms["post_attention"]), groups)
        return h


def _spans(counts: list[int]) -> list[tuple[int, int]]:
    spans, start = [], 0
    for count in counts:
        spans.append((start, start + count))
        start += count
    return spans


def _adapter_rows(rows: Sequence[RowInput], counts: list[int]) -> dict[str, torch.Tensor]:
    """For each adapter named by a row, the indices of its rows' tokens in the flat batch."""
    indices: dict[str, list[int]] = {}
    start = 0
    for row, count in zip(rows, counts, strict=True):
        if row.adapter is not None:
            indices.setdefault(row.adapter, []).extend(range(start, start + count))
        start += count
    return {name: torch.tensor(idx, dtype=torch.long) for name, idx in indices.items()}
