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

from playground.models.int8_matmul import GROUPS, kernel

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GroupQuantized:
    """An (outputs x inputs) weight as int8 values and per-group float32 scales (and offsets)."""

    q: torch.Tensor  # int8 (outputs, inputs)
    scale: torch.Tensor  # float16 or float32 (outputs, inputs // group)
    offset: torch.Tensor | None  # the scale's dtype (outputs, inputs // group), or None: symmetric
    group: int

    def __post_init__(self) -> None:
        outputs, inputs = self.q.shape
        if self.group not in GROUPS or inputs % self.group:
            raise ValueError(f"group {self.group} must be one of {GROUPS} and divide the {inputs} inputs")
        if self.q.dtype != torch.int8 or self.scale.dtype not in (torch.float16, torch.float32):
            raise ValueError(f"values must be int8 and scales float16 or 32, got {self.q.dtype} and {self.scale.dtype}")
        shape = (outputs, inputs // self.group)
        for name, part in (("scale", self.scale), ("offset", self.offset)):
            if part is not None and (tuple(part.shape) != shape or not part.is_contiguous()):
                raise ValueError(f"{name} must be a contiguous {shape} tensor, got {tuple(part.shape)}")
        if not self.q.is_contiguous() or (self.offset is not None and self.offset.dtype != self.scale.dtype):
            raise ValueError("values must be contiguous and offsets of the scales' dtype")

    @property
    def shape(self) -> tuple[int, int]:
        """(outputs, inputs)."""
        return tuple(self.q.shape)

    @property
    def nbytes(self) -> int:
        """Bytes a product reads: the values, the scales and the offsets."""
        extra = 0 if self.offset is None else self.offset.numel() * self.offset.element_size()
        return self.q.numel() + self.scale.numel() * self.scale.element_size() + extra

    def dequantize(self, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """The float weight these values stand for."""
        outputs, inputs = self.shape
        values = self.q.reshape(outputs, inputs // self.group, self.group).to(torch.float32)
        weight = values * self.scale.float().unsqueeze(-1)
        if self.offset is not None:
            weight = weight + self.offset.float().unsqueeze(-1)
        return weight.reshape(outputs, inputs).to(dtype)

    def rows(self, index: torch.Tensor) -> torch.Tensor:
        """The float32 rows ``index`` (any shape) of the weight, as an embedding looks them up."""
        flat = index.reshape(-1)
        values = self.q.index_select(0, flat).to(torch.float32)
        outputs, inputs = flat.numel(), self.shape[1]
        scales = self.scale.index_select(0, flat).float()[..., None]
        weight = values.reshape(outputs, inputs // self.group, self.group) * scales
        if self.offset is not None:
            weight = weight + self.offset.index_select(0, flat).float()[..., None]
        return weight.reshape(*index.shape, inputs)

    def matmul(self, x: torch.Tensor) -> torch.Tensor:
        """``x @ w.T`` for float32 rows ``x`` (..., inputs), through the compiled kernel."""
        outputs, inputs = self.q.shape
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
    return GroupQuantized(q.reshape(outputs, inputs).contiguous(), scale.contiguous(), None, group)


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
