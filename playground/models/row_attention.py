"""Attention row by row, over each row's own tokens: a batched answer equals the same request alone.

The batcher pads the rows of a batch on the left to one width. Scaled dot-product
attention over a padded row reads the padding's (masked) keys too, in blocks whose
boundaries depend on the batch's width, so the sums it rounds differ from the same row
computed alone. In float32 the difference stays below what flips a greedy choice in
practice; in bfloat16 each layer's output is rounded to 8 bits of mantissa and a
near-tie flips: 3 of 8 concurrent Gemma 3 270M answers of 64 tokens continued
differently from their answer alone (one from its second token).

:func:`row_attention` computes each row's attention on its own queries and keys only (the
contiguous range its mask leaves: after the left padding, inside a sliding window), with
the same call a request alone makes, so every row's numbers are the ones it would get
alone. The other layers of a decoder already compute each row on its own (norms,
activations, and matrix products: a bfloat16 product of one row, which oneDNN sums in
another order than several, is padded to two by ``playground.models.packed_linear``), so a
batched greedy answer is the request's answer alone, bit for bit, in bfloat16 too
(``tests/models/test_row_attention.py``). The cost is one attention call per row and layer
instead of one per layer. A decode step's single query takes three small float32
products instead of SDPA's kernel, which is made for many queries (:func:`_one_query`).

:func:`use_row_attention` installs it (``attn_implementation``) on a loaded model whose
attention goes through transformers' attention interface; features it does not handle
(soft-capped scores, position biases, attention sinks) fall back to transformers' SDPA.
"""

from __future__ import annotations

import logging
import threading
import weakref
from typing import Any

import torch

log = logging.getLogger(__name__)

NAME = "playground_rows"  # the attn_implementation name it is registered under
_UNHANDLED = ("softcap", "position_bias", "s_aux", "sinks")  # keyword arguments it leaves to SDPA


def _span(valid: torch.Tensor) -> slice | torch.Tensor:
    """The positions ``valid`` marks: a slice when they are one range up to the end (the usual case)."""
    start = int(torch.argmax(valid.to(torch.uint8)))
    return slice(start, None) if bool(valid[start:].all()) else valid


Span = slice | torch.Tensor
RowSpans = list[tuple[Span, Span, torch.Tensor | None]]  # per row: queries, keys, the mask left (None: all kept)
_recent = threading.local()  # this thread's last masks and their rows' spans


def _version(tensor: torch.Tensor) -> int | None:
    """The in-place version counter; None for an inference tensor (made under inference_mode): it has none."""
    return None if tensor.is_inference() else tensor._version


def _row_spans(attention_mask: torch.Tensor) -> RowSpans:
    """Each row's query and key spans and its mask over them, read once per mask.

    Every layer of one forward pass gets the same mask object (one per attention kind:
    full, sliding window), so the spans are computed for its first layer and reused by the
    others: reading them costs a dozen small tensor operations per row, which, for 8 rows
    and 18 layers, was a fifth of a decode step. A mask is known by identity (a weak
    reference, so a new mask at a recycled address is never mistaken for it) and version.
    """
    cached = getattr(_recent, "masks", None)
    if cached is None:
        cached = _recent.masks = []
    version = _version(attention_mask)
    for ref, seen, spans in cached:
        if ref() is attention_mask and seen == version:
            return spans
    spans: RowSpans = []
    for row in range(attention_mask.shape[0]):
        mine = attention_mask[row, 0]
        q_span, k_span = _span(mine.any(-1)), _span(mine.any(0))
        mask = mine[q_span][:, k_span]
        spans.append((q_span, k_span, None if bool(mask.all()) else mask))
    cached.insert(0, (weakref.ref(attention_mask), version, spans))
    del cached[4:]  # a forward pass has two masks at most; older ones belong to past passes
    return spans


def row_attention(
    module: Any,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    dropout: float = 0.0,
    scaling: float | None = None,
    is_causal: bool | None = None,
    **kwargs: Any,
) -> tuple[torch.Tensor, None]:
    """Attention of each row on its own tokens; same signature and output as transformers' SDPA function.

    ``query`` is (rows, heads, queries, dim), ``key`` and ``value`` (rows, kv heads, keys,
    dim), ``attention_mask`` a boolean (rows, 1, queries, keys) mask or None (causal, no
    padding). Returns (rows, queries, heads, dim); a padded query position gets zeros.
    """
    if any(kwargs.get(k) is not None for k in _UNHANDLED) or (
        attention_mask is not None and attention_mask.dtype != torch.bool
    ):
        from transformers.integrations.sdpa_attention import sdpa_attention_forward

        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout, scaling, is_causal, **kwargs)
    rows, heads, queries, dim = query.shape
    keys = key.shape[2]
    groups = heads // key.shape[1]
    out = query.new_zeros(rows, queries, heads, dim)
    if attention_mask is None:  # causal over every key, the same for each row
        causal = torch.ones(queries, keys, dtype=torch.bool, device=query.device).tril(keys - queries)
        spans: RowSpans = [(slice(None), slice(None), None if bool(causal.all()) else causal)] * rows
    else:
        spans = _row_spans(attention_mask)
    for row, (q_span, k_span, mask) in enumerate(spans):
        q = query[row : row + 1, :, q_span]
        k = key[row : row + 1, :, k_span]
        v = value[row : row + 1, :, k_span]
        if q.shape[2] == 1:  # a decode step
            attended = _one_query(q, k, v, mask, scaling)
        else:
            if groups > 1:
                k, v = k.repeat_interleave(groups, dim=1), v.repeat_interleave(groups, dim=1)
            attended = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=scaling)
        out[row, q_span] = attended[0].transpose(0, 1)
    return out, None


def _one_query(
    query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, mask: torch.Tensor | None, scaling: float | None
) -> torch.Tensor:
    """Attention of one query position (1, heads, 1, dim) on its keys, computed in float32.

    SDPA's CPU kernel works on blocks of queries, made for a prompt's many: for the single
    query of a decode step it took 70 us at 100 keys and 420 us at 500 (bfloat16, Gemma 3's
    4 heads of 256 over one key head), per row and layer. Three products in float32 take 27
    and 78 us, and are closer to exact float32 attention than the bfloat16 kernel. The
    query heads that share a key head are multiplied together, without copying the keys
    once per head. Every decode step of every row goes through here, alone or batched, and
    ``model.generate``'s too (the model's attention is this module), so answers stay equal.
    """
    _, heads, _, dim = query.shape
    kv_heads = key.shape[1]
    q = query.reshape(1, kv_heads, heads // kv_heads, dim).float()  # the heads of each key head, as its queries
    scores = torch.matmul(q, key.float().transpose(-1, -2)) * (dim**-0.5 if scaling is None else scaling)
    if mask is not None:  # (1, keys): the keys this query may see
        scores = scores.masked_fill(~mask, float("-inf"))
    attended = torch.matmul(torch.softmax(scores, dim=-1), value.float())
    return attended.reshape(1, heads, 1, dim).to(query.dtype)


def _register() -> None:
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    AttentionInterface.register(NAME, row_attention)
    AttentionMaskInterface.register(NAME, sdpa_mask)


def use_row_attention(model: Any) -> bool:
    """Compute ``model``'s attention row by row (:func:`row_attention`); False when it cannot (left as is)."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    if getattr(base.config, "_attn_implementation", None) not in ("sdpa", "eager", NAME):
        return False
    _register()
    try:
        base.set_attn_implementation(NAME)
    except (ValueError, AttributeError, NotImplementedError) as exc:  # a model without the attention interface
        log.info("%s keeps its attention: %s", type(base).__name__, exc)
        return False
    return True
