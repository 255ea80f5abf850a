"""Group-quantized int8 weights, and the linear layer and embedding that compute with them.

:class:`GroupQuantized` holds a weight matrix as int8 values with a float32 scale (and
optionally an offset) per run of ``group`` inputs of each output: ``w = q * scale + offset``.
Weights read from GGUF files keep their own values (:mod:`playground.models.gguf_blocks`:
no loss); float weights are rounded to it by :func:`quantize` (symmetric, 32 per group:
a weight moves by at most half a step, 1/254 of its group's largest magnitude).

:class:`QuantizedLinear` is an ``nn.Linear`` whose product runs through the compiled kernel
of :mod:`playground.models.int8_matmul`: four to five times fewer bytes read per decode
step than float32, the same numbers for a row alone or batched. PEFT's LoRA layers wrap it
as they wrap ``nn.Linear`` (the adapters stay in float32 beside the shared int8 base, as
QLoRA does). :class:`QuantizedEmbedding` looks rows up in the same int8 values, so a tied
output layer and embedding share one copy.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch

from playground.models.int8_matmul import (
    GROUPS,
    LANES,
    deinterleave,
    interleave,
    kernel,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GroupQuantized:
    """An (outputs x inputs) weight as int8 values and per-group scales (and offsets), interleaved for the kernel.

    The values are stored as the kernel reads them (:func:`~playground.models.int8_matmul.interleave`),
    in blocks of 16 outputs: ``q`` is (blocks, 16 * inputs), ``scale`` and ``offset``
    (blocks, 16 * groups); ``outputs`` says how many outputs are real (the last block is
    padded with zero weights). :meth:`from_rows` makes one from row-major tensors,
    :meth:`to_rows` gives them back; a range of blocks (:meth:`outputs_between`) is a view
    of the same memory, and :meth:`join` copies weights one after the other.
    """

    q: torch.Tensor  # int8 (blocks, 16 * inputs), interleaved
    scale: torch.Tensor  # float16 or float32 (blocks, 16 * groups), interleaved
    offset: torch.Tensor | None  # the scale's dtype and layout, or None: symmetric
    group: int
    outputs: int  # the real outputs: 16 * blocks, or fewer in a padded last block

    def __post_init__(self) -> None:
        blocks, width = self.q.shape
        if self.group not in GROUPS or width % (LANES * self.group):
            raise ValueError(f"group {self.group} must be one of {GROUPS} and divide the {width // LANES} inputs")
        if not (blocks - 1) * LANES < self.outputs <= blocks * LANES:
            raise ValueError(f"{self.outputs} outputs do not fill the last of {blocks} blocks of {LANES}")
        if self.q.dtype != torch.int8 or self.scale.dtype not in (torch.float16, torch.float32):
            raise ValueError(f"values must be int8 and scales float16 or 32, got {self.q.dtype} and {self.scale.dtype}")
        shape = (blocks, width // self.group)
        for name, part in (("scale", self.scale), ("offset", self.offset)):
            if part is not None and (tuple(part.shape) != shape or not part.is_contiguous()):
                raise ValueError(f"{name} must be a contiguous {shape} tensor, got {tuple(part.shape)}")
        if not self.q.is_contiguous() or (self.offset is not None and self.offset.dtype != self.scale.dtype):
            raise ValueError("values must be contiguous and offsets of the scales' dtype")

    @classmethod
    def from_rows(cls, q: torch.Tensor, scale: torch.Tensor, offset: torch.Tensor | None, group: int) -> GroupQuantized:
        """From row-major tensors: ``q`` (outputs x inputs) int8, ``scale`` and ``offset`` (outputs x groups).

        Raises ValueError when the parts do not match.
        """
        outputs, inputs = q.shape
        if group not in GROUPS or inputs % group:
            raise ValueError(f"group {group} must be one of {GROUPS} and divide the {inputs} inputs")
        for name, part in (("scale", scale), ("offset", offset)):
            if part is not None and tuple(part.shape) != (outputs, inputs // group):
                raise ValueError(f"{name} must be ({outputs}, {inputs // group}), got {tuple(part.shape)}")
        offset = None if offset is None else interleave(offset, run=1)
        return cls(interleave(q), interleave(scale, run=1), offset, group, outputs)

    def to_rows(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """(q, scale, offset) row-major: (outputs x inputs) and (outputs x groups)."""
        offset = None if self.offset is None else deinterleave(self.offset, self.outputs, run=1)
        return deinterleave(self.q, self.outputs), deinterleave(self.scale, self.outputs, run=1), offset

    @property
    def shape(self) -> tuple[int, int]:
        """(outputs, inputs)."""
        return self.outputs, self.q.shape[1] // LANES

    def outputs_between(self, start: int, end: int) -> GroupQuantized:
        """Outputs [start, end) as views of the same memory: whole blocks of 16 (the last may be this one's last)."""
        whole = start % LANES == 0 and (end % LANES == 0 or end == self.outputs)
        if not whole or not 0 <= start < end <= self.outputs:
            raise ValueError(f"outputs {start}..{end} are not whole blocks of {LANES} of {self.outputs}")
        blocks = slice(start // LANES, -(-end // LANES))
        offset = None if self.offset is None else self.offset[blocks]
        return GroupQuantized(self.q[blocks], self.scale[blocks], offset, self.group, end - start)

    @classmethod
    def join(cls, weights: list[GroupQuantized]) -> GroupQuantized:
        """The outputs of ``weights`` one after the other, copied into one.

        They must share their inputs, group size and kind (with or without offsets), and all
        but the last must fill their blocks of outputs.
        """
        first = weights[0]
        if any(
            w.group != first.group or (w.offset is None) != (first.offset is None) or w.shape[1] != first.shape[1]
            for w in weights
        ):
            raise ValueError("the joined weights must share their inputs, group size and offsets")
        if any(w.outputs % LANES for w in weights[:-1]):
            raise ValueError(f"only the last of the joined weights may end in a partial block of {LANES} outputs")
        offsets = [w.offset for w in weights]
        return cls(
            torch.cat([w.q for w in weights]),
            torch.cat([w.scale for w in weights]),
            None if first.offset is None else torch.cat(offsets),  # type: ignore[arg-type]
            first.group,
            sum(w.outputs for w in weights),
        )

    @property
    def nbytes(self) -> int:
        """Bytes a product reads: the values, the scales and the offsets."""
        extra = 0 if self.offset is None else self.offset.numel() * self.offset.element_size()
        return self.q.numel() + self.scale.numel() * self.scale.element_size() + extra

    def dequantize(self, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """The float weight these values stand for."""
        outputs, inputs = self.shape
        q, scale, offset = self.to_rows()
        values = q.reshape(outputs, inputs // self.group, self.group).to(torch.float32)
        weight = values * scale.float().unsqueeze(-1)
        if offset is not None:
            weight = weight + offset.float().unsqueeze(-1)
        return weight.reshape(outputs, inputs).to(dtype)

    def rows(self, index: torch.Tensor) -> torch.Tensor:
        """The float32 rows ``index`` (any shape) of the weight, as an embedding looks them up."""
        flat = index.reshape(-1)
        outputs, inputs = flat.numel(), self.shape[1]
        groups = inputs // self.group
        block, lane = flat // LANES, flat % LANES
        values = self.q.reshape(-1, inputs // 2, LANES, 2)[block, :, lane, :].to(torch.float32)

        def per_group(part: torch.Tensor) -> torch.Tensor:
            return part.reshape(-1, groups, LANES)[block, :, lane].float()[..., None]

        weight = values.reshape(outputs, groups, self.group) * per_group(self.scale)
        if self.offset is not None:
            weight = weight + per_group(self.offset)
        return weight.reshape(*index.shape, inputs)

    def matmul(self, x: torch.Tensor) -> torch.Tensor:
        """``x @ w.T`` for float32 rows ``x`` (..., inputs), through the compiled kernel."""
        outputs, inputs = self.shape
        flat = x.reshape(-1, inputs)
        if flat.dtype != torch.float32 or not flat.is_contiguous():
            flat = flat.to(torch.float32).contiguous()
        out = torch.empty((flat.shape[0], outputs), dtype=torch.float32)
        if flat.shape[0]:
            product = self.__dict__.get("_product")
            if product is None:  # the kernel and the weight's addresses, found once
                layout = kernel(self.group, self.offset is not None, self.scale.dtype == torch.float16)
                product = layout.bind(self)
                object.__setattr__(self, "_product", product)
            product(flat, out, torch.get_num_threads())
        return out.reshape(*x.shape[:-1], outputs)


def _stand_in(weight: GroupQuantized) -> torch.Tensor:
    """A read-only float32 tensor of the weight's shape on its device, holding one zero (expanded)."""
    return torch.zeros((), dtype=torch.float32, device=weight.q.device).expand(weight.shape)


def quantize(weight: torch.Tensor, group: int = 32) -> GroupQuantized:
    """Round a float weight to symmetric int8 in groups of ``group`` inputs.

    Each group's scale is its largest magnitude / 127, itself rounded to float16 (the
    values are rounded against the rounded scale, so ``q * scale`` is the weight used).
    """
    outputs, inputs = weight.shape
    if inputs % group:
        raise ValueError(f"{inputs} inputs are not a multiple of the group {group}")
    groups = weight.detach().to(torch.float32).reshape(outputs, inputs // group, group)
    scale = (groups.abs().amax(-1) / 127).to(torch.float16)
    safe = torch.where(scale > 0, scale.float(), torch.ones_like(scale, dtype=torch.float32))
    q = torch.round(groups / safe.unsqueeze(-1)).clamp(-127, 127).to(torch.int8)
    return GroupQuantized.from_rows(q.reshape(outputs, inputs), scale, None, group)


class QuantizedLinear(torch.nn.Linear):
    """A linear layer whose weight is :class:`GroupQuantized`; float32 in, float32 out.

    An ``nn.Linear`` to the code around it (PEFT wraps it with LoRA as any linear layer):
    ``in_features``, ``out_features`` and ``bias`` are those of the layer it replaces.
    ``weight`` is a stand-in that has the weight's shape, dtype (float32) and device but no
    values of its own (zeros, read-only, four bytes): what PEFT and transformers ask of it.
    No float copy of the weight is kept; :meth:`GroupQuantized.dequantize` gives the values.
    PEFT must therefore never merge an adapter into this layer, nor use DoRA (which reads
    the weight): the loader refuses such adapters.
    """

    def __init__(self, weight: GroupQuantized, bias: torch.Tensor | None = None) -> None:
        torch.nn.Module.__init__(self)  # not nn.Linear's: it would allocate a float weight
        self.quantized = weight
        self.out_features, self.in_features = weight.shape
        self.bias = None if bias is None else torch.nn.Parameter(bias.detach().to(torch.float32), requires_grad=False)

    @property
    def weight(self) -> torch.Tensor:
        """The stand-in: the weight's shape, float32, its device; zeros (see the class docstring)."""
        return _stand_in(self.quantized)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x @ weight.T + bias``, computed from the int8 values."""
        out = self.quantized.matmul(x)
        if self.bias is not None:
            out = out + self.bias
        return out.to(x.dtype) if x.dtype.is_floating_point and x.dtype != torch.float32 else out

    def extra_repr(self) -> str:
        """The layer's shape and group, as ``print(model)`` shows it."""
        offset = ", offsets" if self.quantized.offset is not None else ""
        sizes = f"in_features={self.in_features}, out_features={self.out_features}"
        return f"{sizes}, int8 in groups of {self.quantized.group}{offset}"


class QuantizedEmbedding(torch.nn.Module):
    """An embedding that looks its rows up in a :class:`GroupQuantized` weight (shared with a tied output layer)."""

    def __init__(self, weight: GroupQuantized, scale: float = 1.0, padding_idx: int | None = None) -> None:
        super().__init__()
        self.quantized = weight
        self.num_embeddings, self.embedding_dim = weight.shape
        self.embed_scale = scale  # Gemma multiplies its embeddings by sqrt(hidden size)
        self.padding_idx = padding_idx

    @property
    def weight(self) -> torch.Tensor:
        """The stand-in: the table's shape, float32, its device; zeros (see :class:`QuantizedLinear`)."""
        return _stand_in(self.quantized)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """The float32 rows of ``ids``, times the embedding scale."""
        rows = self.quantized.rows(ids)
        return rows * self.embed_scale if self.embed_scale != 1.0 else rows
