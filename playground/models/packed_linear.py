"""Linear layers whose bfloat16 weights are also kept in oneDNN's blocked layout, on CPU.

A decode step multiplies one or a few rows by every weight matrix of the model, so its
speed is the speed at which the weights are read. A copy of each weight reordered once into
oneDNN's blocked layout (``torch.ops.mkldnn._reorder_linear_weight``, what ``torch.compile``
uses when it freezes a CPU model, and what vLLM's CPU backend does) is read faster than the
plain row-major weight torch's bfloat16 ``linear`` reads. ``python -m bench.packed_linear``
measures both on the machine at hand, product by product and for whole answers
(``docs/benchmarks.md`` keeps its latest figures).

The results are bit for bit those of ``torch.nn.functional.linear`` in bfloat16
(``tests/models/test_packed_linear.py``; a strided input goes through ``linear`` itself), with one
difference on purpose: a row's result never depends on how many rows share the product.
``linear`` sums the 2048 inputs of Gemma 3's MLP output in one order for one row and in
another for several, so a decode row batched with others could round differently from the
same request alone; a packed layer pads a product of fewer rows than it takes to be alike
(:func:`_fewest_rows_alike`). Float32 is left alone: its packed product rounds differently
from MKL's.

The cost is memory: a second copy of each packed weight (for Gemma 3 270M, about 570 MB).
``limits.prepacked_weights`` turns it off. The copy follows the weight: a layer whose weight
was replaced or changed in place reorders it again before its next product, and a layer
asked for gradients, given another dtype or device, or a strided input, computes as
``nn.Linear`` does.
"""

from __future__ import annotations

import logging
from typing import Any

import torch

log = logging.getLogger(__name__)


def packing_supported() -> bool:
    """True when this torch can reorder and multiply bfloat16 weights with oneDNN on the CPU."""
    try:
        return bool(
            torch.backends.mkldnn.is_available()
            and torch.ops.mkldnn._is_mkldnn_bf16_supported()
            and hasattr(torch.ops.mkldnn, "_reorder_linear_weight")
            and hasattr(torch.ops.mkldnn, "_linear_pointwise")
        )
    except (AttributeError, RuntimeError):  # a build without oneDNN's ops
        return False


def _packable(weight: torch.Tensor) -> bool:
    return weight.dtype == torch.bfloat16 and weight.device.type == "cpu" and weight.dim() == 2


def _identity(weight: torch.Tensor) -> tuple[int, int | None]:
    """Where the weight's data is, and its in-place version (None for an inference tensor, which has none)."""
    return weight.data_ptr(), None if weight.is_inference() else weight._version


class PackedLinear(torch.nn.Linear):
    """An ``nn.Linear`` that multiplies by a oneDNN-reordered copy of its bfloat16 weight.

    Made by :func:`pack_linear_layers`, which changes the class of existing layers in place:
    parameters, state dict and module names stay those of the ``nn.Linear`` (PEFT's LoRA
    layers keep wrapping it as before).
    """

    _packed: torch.Tensor | None = None  # the reordered copy (an opaque oneDNN tensor)
    _packed_from: tuple[int, int | None] | None = None  # (data pointer, version) of the weight it was made from
    min_rows: int = 1  # fewer rows are padded up to this many, so that no row's result depends on the others

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        """``nn.Linear.forward``, through the reordered copy when the product allows it."""
        weight = self.weight
        if (
            not _packable(weight)
            or input.dtype != weight.dtype
            or input.device != weight.device
            or not input.is_contiguous()  # linear's strided paths round their own way (with a bias)
            or (torch.is_grad_enabled() and (weight.requires_grad or input.requires_grad))
        ):
            return super().forward(input)
        if self._packed_from != _identity(weight):
            self.repack()
        rows = input.numel() // self.in_features
        if rows >= self.min_rows:
            return self._product(input)
        flat = input.reshape(rows, self.in_features)
        padded = torch.cat([flat, flat.new_zeros(self.min_rows - rows, self.in_features)])
        return self._product(padded)[:rows].reshape(*input.shape[:-1], self.out_features)

    def _product(self, input: torch.Tensor) -> torch.Tensor:
        return torch.ops.mkldnn._linear_pointwise(input, self._packed, self.bias, "none", [], "")

    def repack(self) -> None:
        """Reorder the current weight into oneDNN's blocked layout (done again whenever it changes)."""
        weight = self.weight.detach()
        self._packed = torch.ops.mkldnn._reorder_linear_weight(weight, 1)
        self._packed_from = _identity(weight)
        key = (self.out_features, self.in_features, self.bias is not None, weight.dtype)
        if key not in _MIN_ROWS:
            _MIN_ROWS[key] = _fewest_rows_alike(self._product, self.in_features, self.out_features, weight.dtype)
        self.min_rows = _MIN_ROWS[key]


_MIN_ROWS: dict[tuple[int, int, bool, torch.dtype], int] = {}  # by shape: see _fewest_rows_alike
_PROBE_COUNTS = 8  # products of 1 to this many rows are probed (a decode step has up to max_batch_size rows)


def _fewest_rows_alike(product: Any, in_features: int, out_features: int, dtype: torch.dtype) -> int:
    """The fewest rows from which a row's result no longer depends on how many rows share the product.

    oneDNN picks its kernel by the number of rows, so on some CPUs a product of one row sums
    in another order than a product of several (Gemma 3's MLP output, 2048 inputs, is one
    such shape), and a few outputs round differently: a decode row batched with others would
    not be the same row alone. Products of fewer rows than this are padded
    with zero rows up to it, so that a row is computed alike whatever rows share the step.
    Probed once per shape on seeded random rows: each count of rows from 1 to
    ``_PROBE_COUNTS`` computes all the rows in turn, against one product of them all.
    """
    rows = 8 if in_features * out_features > 10_000_000 else 48  # enough outputs to see a rare difference
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(rows, in_features, generator=generator).to(dtype)
    with torch.inference_mode():
        full = product(x)
        alike = [
            torch.equal(torch.cat([product(x[i : i + count]) for i in range(0, rows, count)]), full)
            for count in range(1, _PROBE_COUNTS + 1)
        ]
    fewest = _PROBE_COUNTS + 1
    while fewest > 1 and alike[fewest - 2]:
        fewest -= 1
    if fewest > 1:
        log.info("products of %d inputs: fewer than %d rows are padded (they round differently)", in_features, fewest)
    return fewest


def pack_linear_layers(model: Any) -> int:
    """Make every bfloat16 CPU ``nn.Linear`` of ``model`` a :class:`PackedLinear`; return how many.

    Does nothing (returns 0) where oneDNN's bfloat16 products are unavailable. Layers in
    another dtype (float32 models, PEFT's float32 LoRA matrices) stay as they are.
    """
    if not packing_supported():
        return 0
    count = 0
    with torch.no_grad():
        for module in model.modules():
            if type(module) is torch.nn.Linear and _packable(module.weight):
                module.__class__ = PackedLinear
                module.repack()
                count += 1
    log.info("%d linear layers packed for oneDNN's bfloat16 products", count)
    return count
