"""Linear layers whose bfloat16 weights are also kept in oneDNN's blocked layout, on CPU.

A decode step multiplies one or a few rows by every weight matrix of the model, so its
speed is the speed at which the weights are read. A copy of each weight reordered once into
oneDNN's blocked layout (``torch.ops.mkldnn._reorder_linear_weight``, what ``torch.compile``
uses when it freezes a CPU model, and what vLLM's CPU backend does) is read faster than the
plain row-major weight torch's bfloat16 ``linear`` reads. ``python -m bench.packed_linear``
measures both on the machine at hand, product by product and for whole answers
(``docs/benchmarks.md`` keeps its latest figures).

Packing changes the speed of an answer and never its tokens: a product through the packed
copy is bit for bit ``torch.nn.functional.linear``'s (``tests/models/test_packed_linear.py``). oneDNN
picks its kernel by the instruction set of the CPU (capped by ``ONEDNN_MAX_CPU_ISA``;
``ONEDNN_VERBOSE=1`` prints the one in use) and by the number of rows, and some of its
kernels sum in another order than ``linear``'s: with AMX, products of 64 rows of Gemma 3's
shapes round differently on some inputs and not on others, so no check on sample rows can
vouch for them. The packed copy therefore serves decode steps only (1 to ``decode_rows``
rows, the registry's ``max_batch_size``: the products that read every weight for a few
rows, where the reordered copy pays); a prefill's products go through ``linear`` itself.
And the promise for decode steps is checked, not assumed: when a shape is first packed,
:func:`check_rows` multiplies seeded random rows both ways (:mod:`playground.models.self_check`)
for every number of rows a decode step can have, and the copy serves only the numbers of
rows whose products were equal. Every other product, and a shape none of whose products
were equal (its copy is then dropped), goes through ``linear``, with one log line per shape
that says which row counts differed and by how much.

A row's result never depends on how many rows share the product: ``linear`` sums the 2048
inputs of Gemma 3's MLP output in one order for one row and in another for several, so a
decode row batched with others could round differently from the same request alone; a
packed layer pads a product of fewer rows than it takes to be alike (:func:`fewest_rows_alike`,
probed after the check, on the products the layer will really compute), or, where a row's
result depends on its place in the product, multiplies a decode step's rows one by one. Float32 weights are
packed only when asked (``dtypes``): oneDNN's packed float32 product rounds differently from
MKL's at most row counts, which leaves the check little to keep; the tests use it as a real
product to check where bfloat16 products cannot run (oneDNN's need AVX-512 BW/VL/DQ or
AVX-NE-CONVERT).

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

from playground.models.self_check import check_fast_path

log = logging.getLogger(__name__)

DECODE_ROWS = 8  # a decode step's most rows when the caller does not say (the registry's max_batch_size)
_PROBE_OUTPUTS = 2**14  # outputs a probe compares at least (where 48 rows give them): a difference in 300 shows


def packing_supported(dtype: torch.dtype = torch.bfloat16) -> bool:
    """True when this torch can reorder and multiply ``dtype`` weights with oneDNN on the CPU."""
    try:
        return bool(
            torch.backends.mkldnn.is_available()
            and (dtype != torch.bfloat16 or torch.ops.mkldnn._is_mkldnn_bf16_supported())
            and hasattr(torch.ops.mkldnn, "_reorder_linear_weight")
            and hasattr(torch.ops.mkldnn, "_linear_pointwise")
        )
    except (AttributeError, RuntimeError):  # a build without oneDNN's ops
        return False


def unsupported_reason(dtype: torch.dtype) -> str:
    """Why oneDNN's packed ``dtype`` products cannot run here (meaningful where :func:`packing_supported` is False)."""
    if not torch.backends.mkldnn.is_available() or not hasattr(torch.ops.mkldnn, "_reorder_linear_weight"):
        return "this torch has no oneDNN linear products"
    return f"this CPU has no oneDNN {dtype} products (they need AVX-512 BW, VL and DQ, or AVX-NE-CONVERT)"


def _identity(weight: torch.Tensor) -> tuple[int, int | None]:
    """Where the weight's data is, and its in-place version (None for an inference tensor, which has none)."""
    return weight.data_ptr(), None if weight.is_inference() else weight._version


class PackedLinear(torch.nn.Linear):
    """An ``nn.Linear`` that multiplies by a oneDNN-reordered copy of its weight, where that is exact.

    Made by :func:`pack_linear_layers`, which changes the class of existing layers in place:
    parameters, state dict and module names stay those of the ``nn.Linear`` (PEFT's LoRA
    layers keep wrapping it as before).
    """

    _packed: torch.Tensor | None = None  # the reordered copy (an opaque oneDNN tensor); None: linear serves all
    _packed_from: tuple[int, int | None] | None = None  # (data pointer, version) of the weight it was made from
    packed_dtype: torch.dtype = torch.bfloat16  # the weight dtype it packs; another computes as nn.Linear
    decode_rows: int = DECODE_ROWS  # the most rows of a decode step (checked one by one)
    exact_rows: frozenset[int] = frozenset()  # numbers of rows whose packed product was linear's at the check
    min_rows: int = 1  # a decode step of fewer rows is padded to this many, so that no row's result depends on
    # the others (0: its rows are multiplied one by one)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        """``nn.Linear.forward``, through the reordered copy for the numbers of rows where it is exact."""
        weight = self.weight
        if (
            weight.dtype != self.packed_dtype
            or weight.device.type != "cpu"
            or input.dtype != weight.dtype
            or input.device != weight.device
            or not input.is_contiguous()  # linear's strided paths round their own way (with a bias)
            or (torch.is_grad_enabled() and (weight.requires_grad or input.requires_grad))
        ):
            return super().forward(input)
        if self._packed_from != _identity(weight):
            self.repack()
        rows = input.numel() // self.in_features
        if rows == 0 or rows > self.decode_rows or rows >= self.min_rows > 0:
            return self.product(input)
        flat = input.reshape(rows, self.in_features)
        if self.min_rows == 0:  # a row's result depends on its place in a product: each row is multiplied alone
            out = torch.cat([self.product(flat[i : i + 1]) for i in range(rows)])
        else:
            out = self.product(_padded(flat, self.min_rows))[:rows]
        return out.reshape(*input.shape[:-1], self.out_features)

    def product(self, input: torch.Tensor) -> torch.Tensor:
        """The packed product where its number of rows passed the check (a decode step's), ``linear``'s elsewhere."""
        if self._packed is not None and input.numel() // self.in_features in self.exact_rows:
            return self.packed_product(input)
        return torch.nn.functional.linear(input, self.weight, self.bias)

    def packed_product(self, input: torch.Tensor) -> torch.Tensor:
        """The product through the reordered copy, whatever its number of rows (what the check probes)."""
        return torch.ops.mkldnn._linear_pointwise(input, self._packed, self.bias, "none", [], "")

    def repack(self) -> None:
        """Reorder the current weight into oneDNN's blocked layout (done again whenever it changes).

        The first layer of each shape checks its products (:func:`check_rows`,
        :func:`fewest_rows_alike`); the others of that shape reuse the verdict. A shape none
        of whose products were exact keeps no copy.
        """
        weight = self.weight.detach()
        key = (self.out_features, self.in_features, self.bias is not None, weight.dtype, self.decode_rows)
        verdict = _VERDICTS.get(key)
        self._packed = None if verdict is not None and not verdict[0] else _reorder(weight)
        self._packed_from = _identity(weight)
        if verdict is None:
            self.exact_rows = check_rows(self) if self._packed is not None else frozenset()
            self.min_rows = 1
            self.min_rows = fewest_rows_alike(
                self.product, self.in_features, self.out_features, weight.dtype, self.decode_rows
            )
            verdict = _VERDICTS[key] = (self.exact_rows, self.min_rows)
            if not self.exact_rows:
                self._packed = None
        self.exact_rows, self.min_rows = verdict


_VERDICTS: dict[tuple[int, int, bool, torch.dtype, int], tuple[frozenset[int], int]] = {}  # by shape


def _reorder(weight: torch.Tensor) -> torch.Tensor | None:
    try:
        return torch.ops.mkldnn._reorder_linear_weight(weight, 1)
    except RuntimeError as error:  # oneDNN cannot run this dtype's products here
        log.info("%s weights of %s are not packed: %s", weight.dtype, tuple(weight.shape), error)
        return None


def _sample_rows(out_features: int, decode_rows: int) -> int:
    """How many random rows probe a shape: a whole decode step, and enough outputs to see a rare difference."""
    return max(decode_rows, min(48, -(-_PROBE_OUTPUTS // out_features)))


def check_rows(layer: PackedLinear) -> frozenset[int]:
    """The numbers of rows whose packed products are ``linear``'s bit for bit, on seeded random rows.

    Each decode count from 1 to ``layer.decode_rows`` multiplies all the sample rows in
    products of that many (and the first as ``(rows, 1, features)``, a decode step's shape).
    """
    n, k = layer.out_features, layer.in_features
    generator = torch.Generator().manual_seed(0)  # the same rows at every start
    sample = torch.randn(_sample_rows(n, layer.decode_rows), k, generator=generator).to(layer.weight.dtype)
    cases: dict[int, list[torch.Tensor]] = {}
    for count in range(1, layer.decode_rows + 1):
        chunks = [sample[i : i + count] for i in range(0, len(sample) - count + 1, count)]
        cases[count] = [*chunks, chunks[0].reshape(count, 1, k)]
    bias = " with a bias" if layer.bias is not None else ""
    return check_fast_path(
        f"packed {layer.weight.dtype} products of {k} inputs and {n} outputs{bias}",
        layer.packed_product,
        lambda x: torch.nn.functional.linear(x, layer.weight, layer.bias),
        cases,
        fallback="torch.nn.functional.linear",
        label=lambda count: f"{count} row{'s' if count > 1 else ''}",
    )


def _padded(rows: torch.Tensor, count: int) -> torch.Tensor:
    """``rows`` and zero rows after them, ``count`` in all (``rows`` itself when it has as many or more)."""
    return torch.cat([rows, rows.new_zeros(count - len(rows), rows.shape[1])]) if len(rows) < count else rows


def fewest_rows_alike(
    product: Any, in_features: int, out_features: int, dtype: torch.dtype, decode_rows: int = DECODE_ROWS
) -> int:
    """The fewest rows a decode step's product is padded to for no row's result to depend on the others (0: none).

    oneDNN and MKL pick their kernel by the number of rows, and some by a row's place in
    memory. For Gemma 3's MLP output (2048 inputs), a product of one row sums in another
    order than a product of several, and about one output in 300 rounds differently: a
    decode row batched with others would not be the same row alone. Products of fewer rows
    than this are padded with zero rows up to it, so that a row is computed alike whatever
    rows share the step. Probed once per shape on seeded random rows: each row alone, then
    each count of rows from 2 to ``decode_rows``, every row at each place. Where no padding
    makes them alike (rows of 5 float32 inputs lie at different alignments, and MKL
    rounds them by it), 0: the rows of a decode step are then multiplied one by one.
    """
    rows = _sample_rows(out_features, decode_rows)
    x = torch.randn(rows, in_features, generator=torch.Generator().manual_seed(0)).to(dtype)
    with torch.inference_mode():
        for fewest in range(1, decode_rows + 2):
            if _alike_when_padded(product, x, fewest, decode_rows):
                if fewest > 1:
                    log.info("products of %d inputs: fewer than %d rows are padded (they round differently)",
                             in_features, fewest)  # fmt: skip
                return fewest
    log.info("products of %d inputs: a row's result depends on its place in the product; decode rows go one by one",
             in_features)  # fmt: skip
    return 0


def _alike_when_padded(product: Any, x: torch.Tensor, fewest: int, decode_rows: int) -> bool:
    """Whether every row of ``x``, in products of 2 to ``decode_rows`` rows padded to ``fewest``, is the row alone.

    Each row's product alone is made when first needed: a padding that fails shows it early.
    """
    alone: dict[int, torch.Tensor] = {}

    def row_alone(i: int) -> torch.Tensor:
        if i not in alone:
            alone[i] = product(_padded(x[i : i + 1], fewest))[0]
        return alone[i]

    for start in range(0, len(x) - 1):  # the first chunks of every count first
        for count in range(2, decode_rows + 1):
            if start % count or start + count > len(x):
                continue
            batched = product(_padded(x[start : start + count], fewest))[:count]
            if not all(torch.equal(batched[j], row_alone(start + j)) for j in range(count)):
                return False
    return True


def pack_linear_layers(
    model: Any, decode_rows: int = DECODE_ROWS, dtypes: tuple[torch.dtype, ...] = (torch.bfloat16,)
) -> int:
    """Make every CPU ``nn.Linear`` of ``model`` whose weight is of ``dtypes`` a :class:`PackedLinear`; return how many.

    ``decode_rows`` is the most rows a decode step multiplies (each count up to it is
    checked). Layers of a dtype whose oneDNN products this CPU cannot run stay
    ``nn.Linear``, with one log line per dtype that says so. Layers in another dtype
    (float32 models, PEFT's float32 LoRA matrices) stay as they are.
    """
    count = 0
    refused: dict[torch.dtype, int] = {}
    with torch.no_grad():
        for module in model.modules():
            weight = getattr(module, "weight", None)
            if type(module) is not torch.nn.Linear or weight.dtype not in dtypes or weight.device.type != "cpu":
                continue
            if not packing_supported(weight.dtype):
                refused[weight.dtype] = refused.get(weight.dtype, 0) + 1
                continue
            module.__class__ = PackedLinear
            module.packed_dtype = weight.dtype
            module.decode_rows = decode_rows
            module.repack()
            count += 1
    for dtype, layers in refused.items():
        log.info("%d %s linear layers are not packed: %s; they compute through torch.nn.functional.linear",
                 layers, dtype, unsupported_reason(dtype))  # fmt: skip
    if count:
        log.info("%d linear layers packed for oneDNN's products", count)
    return count
