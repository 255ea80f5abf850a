"""The small steps of a decoder layer, compiled by numba: a norm, rotary positions, one row's attention.

Between its products, a transformer layer does a dozen small things per token (normalise,
rotate, attend, activate, add). As torch operators each is a dispatch of a few
microseconds over a few hundred numbers, and a 18-layer model takes about 1,600 of them
per decode step: as long as reading the int8 weights. Here each group of them is one
loop compiled to machine code for this CPU (numba, on the same LLVM as
:mod:`playground.models.jit`), called once per layer (attention: once per row and layer).

Every function computes each token (and each row) on its own, so a row's numbers do not
depend on the rows beside it. Arithmetic is float32, as transformers' float32 forward.
Compiled code is cached on disk by numba (``NUMBA_CACHE_DIR`` or beside this file) so that
later starts skip compiling.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_JIT = {"nogil": True, "cache": True, "fastmath": {"contract", "arcp", "nsz", "reassoc"}, "error_model": "numpy"}


@njit(**_JIT)
def _inverse_rms(x: np.ndarray, t: int, features: int, eps: float) -> np.float32:
    """``1 / sqrt(mean(x[t]**2) + eps)``: the scale of row ``t`` in an RMS norm."""
    total = np.float32(0.0)
    for i in range(features):
        total += x[t, i] * x[t, i]
    return np.float32(1.0) / np.float32(math.sqrt(total / features + eps))


@njit(**_JIT)
def rms_norm(x: np.ndarray, weight: np.ndarray, eps: float, out: np.ndarray) -> None:
    """``out = x / sqrt(mean(x**2) + eps) * weight``, row by row (x, out: tokens x features)."""
    tokens, features = x.shape
    for t in range(tokens):
        inv = _inverse_rms(x, t, features, eps)
        for i in range(features):
            out[t, i] = x[t, i] * inv * weight[i]


@njit(**_JIT)
def add_rms_norm(h: np.ndarray, x: np.ndarray, weight: np.ndarray, eps: float) -> None:
    """``h += rms_norm(x) * weight`` in place (Gemma's norms after attention and after the MLP)."""
    tokens, features = x.shape
    for t in range(tokens):
        inv = _inverse_rms(x, t, features, eps)
        for i in range(features):
            h[t, i] += x[t, i] * inv * weight[i]


@njit(**_JIT)
def _norm_rotate(v: np.ndarray, weight: np.ndarray, normed: bool, eps: float, cos: np.ndarray, sin: np.ndarray) -> None:
    """One head of one token in place: its RMS norm (Gemma's q and k norms) when asked, then its rotation."""
    dim = v.shape[0]
    half = dim // 2
    if normed:
        total = np.float32(0.0)
        for i in range(dim):
            total += v[i] * v[i]
        inv = np.float32(1.0) / np.float32(math.sqrt(total / dim + eps))
        for i in range(dim):
            v[i] = v[i] * inv * weight[i]
    for i in range(half):
        a, b = v[i], v[i + half]
        v[i] = a * cos[i] - b * sin[i]
        v[i + half] = b * cos[i] + a * sin[i]


@njit(**_JIT)
def norm_rotate(
    qkv: np.ndarray,
    heads: int,
    kv_heads: int,
    q_weight: np.ndarray,
    k_weight: np.ndarray,
    normed: bool,
    eps: float,
    cos: np.ndarray,
    sin: np.ndarray,
) -> None:
    """The queries and keys of ``qkv`` normed (when asked) and rotated, in place.

    ``qkv`` is (tokens, (heads + 2 * kv heads) * dim): each token's queries, keys, values.
    ``cos`` and ``sin`` are (tokens, dim / 2): each token's rotation (the two halves of a
    head rotate as transformers' ``rotate_half`` does).
    """
    tokens = qkv.shape[0]
    dim = q_weight.shape[0]
    for t in range(tokens):
        for h in range(heads + kv_heads):
            weight = q_weight if h < heads else k_weight
            _norm_rotate(qkv[t, h * dim : (h + 1) * dim], weight, normed, eps, cos[t], sin[t])


@njit(**_JIT)
def attend(
    qkv: np.ndarray,
    heads: int,
    kv_heads: int,
    keys: np.ndarray,
    values: np.ndarray,
    start: int,
    window: int,
    scaling: float,
    out: np.ndarray,
) -> None:
    """One row's attention: write its new keys and values at ``start``, then attend each new query.

    ``qkv`` (new, (heads + 2 * kv heads) * dim) holds the row's new queries, keys and values;
    ``keys`` and ``values`` (kv heads, capacity, dim) are the row's cache; ``out`` is
    (new, heads * dim). A query at position p sees the keys at positions up to p, and only
    the last ``window`` of them when ``window`` > 0.
    """
    new = qkv.shape[0]
    dim = keys.shape[2]
    group = heads // kv_heads
    k0, v0 = heads * dim, (heads + kv_heads) * dim
    for t in range(new):
        for h in range(kv_heads):
            for i in range(dim):
                keys[h, start + t, i] = qkv[t, k0 + h * dim + i]
                values[h, start + t, i] = qkv[t, v0 + h * dim + i]
    scores = np.empty(start + new, dtype=np.float32)
    for t in range(new):
        position = start + t
        first = 0 if window <= 0 else max(0, position + 1 - window)
        for h in range(heads):
            kv = h // group
            q0 = h * dim
            best = np.float32(-np.inf)
            for p in range(first, position + 1):
                s = np.float32(0.0)
                for i in range(dim):
                    s += qkv[t, q0 + i] * keys[kv, p, i]
                s *= scaling
                scores[p] = s
                best = max(best, s)
            total = np.float32(0.0)
            for p in range(first, position + 1):
                e = np.float32(math.exp(scores[p] - best))
                scores[p] = e
                total += e
            inv = np.float32(1.0) / total
            for i in range(dim):
                out[t, q0 + i] = 0.0
            for p in range(first, position + 1):
                weight = scores[p] * inv
                for i in range(dim):
                    out[t, q0 + i] += weight * values[kv, p, i]


@njit(**_JIT)
def gated(gate_up: np.ndarray, intermediate: int, gelu: bool, out: np.ndarray) -> None:
    """``act(gate) * up`` row by row; ``gate_up`` holds gate then up (tokens, 2 * intermediate).

    ``gelu``: GELU with the tanh approximation (Gemma), else SiLU (Llama).
    """
    tokens = gate_up.shape[0]
    c = np.float32(math.sqrt(2.0 / math.pi))
    for t in range(tokens):
        for i in range(intermediate):
            g = gate_up[t, i]
            if gelu:
                inner = c * (g + np.float32(0.044715) * g * g * g)
                act = np.float32(0.5) * g * (np.float32(1.0) + np.float32(math.tanh(inner)))
            else:
                act = g / (np.float32(1.0) + np.float32(math.exp(-g)))
            out[t, i] = act * gate_up[t, intermediate + i]
