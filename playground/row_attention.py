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
alone. The other layers of a decoder already compute each row on its own (matrix
products, norms, activations), so a batched greedy answer is the request's answer alone,
bit for bit, in bfloat16 too (``tests/test_row_attention.py``). The cost is one attention
call per row and layer instead of one per layer.

:func:`use_row_attention` installs it (``attn_implementation``) on a loaded model whose
attention goes through transformers' attention interface; features it does not handle
(soft-capped scores, position biases, attention sinks) fall back to transformers' SDPA.
"""

from __future__ import annotations

import logging
from typing import Any

import torch

log = logging.getLogger(__name__)

NAME = "playground_rows"  # the attn_implementation name it is registered under
_UNHANDLED = ("softcap", "position_bias", "s_aux", "sinks")  # keyword arguments it leaves to SDPA


def _span(valid: torch.Tensor) -> slice | torch.Tensor:
    """The positions ``valid`` marks: a slice when they are one range up to the end (the usual case)."""
    start = int(torch.argmax(valid.to(torch.uint8)))
    return slice(start, None) if bool(valid[start:].all()) else valid


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
    for row in range(rows):
        if attention_mask is None:
            q_span: slice | torch.Tensor = slice(None)
            k_span: slice | torch.Tensor = slice(None)
            mask = causal
        else:
            mine = attention_mask[row, 0]
            q_span, k_span = _span(mine.any(-1)), _span(mine.any(0))
            mask = mine[q_span][:, k_span]
        q = query[row : row + 1, :, q_span]
        k = key[row : row + 1, :, k_span]
        v = value[row : row + 1, :, k_span]
        if groups > 1:
            k, v = k.repeat_interleave(groups, dim=1), v.repeat_interleave(groups, dim=1)
        attended = torch.nn.functional.scaled_dot_product_attention(
            q, k, v, attn_mask=None if bool(mask.all()) else mask, scale=scaling
        )
        out[row, q_span] = attended[0].transpose(0, 1)
    return out, None


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
