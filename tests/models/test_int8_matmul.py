"""The int8 kernel compiled here: its products, their independence from the batch, its self-check.

The promises of :mod:`playground.models.int8_matmul` are checked on this machine's CPU, in
every layout the kernel is compiled for: each output within the declared tolerance of a
float64 product of the same int8 values, a row's outputs bit for bit the same alone or
batched and on one thread or two, and the self-check refusing a kernel that breaks that.
"""

from __future__ import annotations

import os
import pickle
import platform
import re

import pytest
import torch

from playground.models import int8_matmul
from playground.models.int8_matmul import GROUPS, TOLERANCE, Kernel, kernel, module_ir, self_check
from playground.models.jit import compile_module, host_cpu
from playground.models.quantized import GroupQuantized, quantize

LAYOUTS = [(group, offset, half) for group in GROUPS for offset in (False, True) for half in (False, True)]


def _weight(outputs: int, inputs: int, group: int, offset: bool, half: bool, seed: int = 0) -> GroupQuantized:
    generator = torch.Generator().manual_seed(seed)
    dtype = torch.float16 if half else torch.float32
    groups = inputs // group
    return GroupQuantized.from_rows(
        q=torch.randint(-127, 128, (outputs, inputs), dtype=torch.int8, generator=generator),
        scale=(torch.rand(outputs, groups, generator=generator) * 0.05).to(dtype),
        offset=((torch.rand(outputs, groups, generator=generator) - 0.5) * 0.05).to(dtype) if offset else None,
        group=group,
    )


@pytest.mark.parametrize("group, offset, half", LAYOUTS)
def test_products_are_within_tolerance_of_float64_for_any_number_of_rows(group, offset, half):
    weight = _weight(304, group * 20, group, offset, half)
    reference = weight.dequantize(torch.float64)
    for rows in (1, 2, 3, 4, 5, 8, 13):
        x = torch.randn(rows, group * 20, dtype=torch.float32)
        expected = x.double() @ reference.t()
        error = (weight.matmul(x).double() - expected).abs().max() / expected.abs().max()
        assert error <= TOLERANCE, f"{rows} rows: error {float(error):.1e}"


@pytest.mark.parametrize("group, offset, half", LAYOUTS)
def test_a_rows_outputs_do_not_depend_on_the_rows_beside_it_nor_on_the_threads(group, offset, half):
    weight = _weight(528, group * 8, group, offset, half, seed=1)
    product = kernel(group, offset, half).bind(weight)
    x = torch.randn(11, group * 8)
    batched = torch.empty(11, 528)
    product(x, batched, 2)
    for row in range(11):
        alone = torch.empty(1, 528)
        product(x[row : row + 1].contiguous(), alone, 1)
        assert torch.equal(alone[0], batched[row]), f"row {row}"


@pytest.mark.parametrize("group, offset, half", LAYOUTS)
def test_every_layout_passes_its_self_check_here(group, offset, half):
    assert self_check(kernel(group, offset, half)) is None


def test_the_self_check_refuses_a_kernel_whose_tiles_round_otherwise():
    """A real kernel, compiled from the same IR with the four-row tiles rounding a product before adding it."""
    ir = module_ir(32, False, False)
    tile4 = ir.index("define internal void @tile4")
    end = ir.index("define internal void @worker")
    body = re.sub(
        r"%acc0\.next = call <16 x float> @llvm\.fma\.v16f32\(<16 x float> %f0, <16 x float> %scv0, "
        r"<16 x float> %acc0\)",
        "%prod0 = fmul <16 x float> %f0, %scv0\n  %acc0.next = fadd <16 x float> %prod0, %acc0",
        ir[tile4:end],
    )
    assert "%prod0" in body
    compiled = compile_module(ir[:tile4] + body + ir[end:], needs_openmp=True)
    broken = Kernel(32, False, False, compiled, compiled.function("matmul", None, *int8_matmul._ARGTYPES))
    failure = self_check(broken)
    assert failure is not None and "differ" in failure


def test_the_kernel_multiplies_in_integers_on_this_cpu():
    """On x86 with AVX2 LLVM turns the widened products into vpmaddwd (16-bit multiply-add), not float work."""
    assembly = kernel(32, False, True).compiled.assembly
    if host_cpu() == "unknown" or not re.search(r"\bvpmaddwd\b|\bsmlal|\bsdot|\bpmaddwd\b", assembly):
        pytest.skip(f"no integer multiply-add instruction recognised for CPU {host_cpu()!r}")
    assert re.search(r"\bv?pmaddwd\b|\bsmlal|\bsdot", assembly)


def test_a_forked_child_computes_the_same_product_on_one_thread():
    """After a fork the child has none of the parent's OpenMP threads: it must not wait for them."""
    weight = _weight(272, 64, 32, True, True, seed=3)
    x = torch.randn(5, 64)
    expected = weight.matmul(x)  # the parent's pool is started
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        try:
            os.close(read)
            os.write(write, pickle.dumps(weight.matmul(x)))
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert torch.equal(pickle.loads(data), expected)


def test_rounding_a_float_weight_keeps_it_within_half_a_step():
    weight = torch.randn(64, 96)
    quantized = quantize(weight)
    step = weight.reshape(64, 3, 32).abs().amax(-1, keepdim=True) / 127
    error = (quantized.dequantize().reshape(64, 3, 32) - weight.reshape(64, 3, 32)).abs()
    assert bool((error <= step * 0.5 + step * 2**-10).all())  # the float16 scale moves a step by its own rounding
    assert quantized.scale.dtype == torch.float16


def test_the_interleaved_layout_gives_back_its_rows_and_looks_them_up():
    weight = _weight(48, 64, 16, True, True, seed=4)
    q, scale, offset = weight.to_rows()
    again = GroupQuantized.from_rows(q, scale, offset, 16)
    assert torch.equal(again.q, weight.q) and torch.equal(again.scale, weight.scale)
    index = torch.tensor([[0, 17], [47, 31]])
    assert torch.equal(weight.rows(index), weight.dequantize()[index])
    middle = weight.outputs_between(16, 48)
    assert middle.shape == (32, 64) and torch.equal(middle.dequantize(), weight.dequantize()[16:48])
    joined = GroupQuantized.join([weight.outputs_between(32, 48), weight.outputs_between(0, 16)])
    assert torch.equal(joined.dequantize(), torch.cat([weight.dequantize()[32:48], weight.dequantize()[:16]]))
    for other in (_weight(16, 64, 32, True, True), _weight(16, 64, 16, False, True), _weight(16, 32, 16, True, True)):
        with pytest.raises(ValueError, match="must share their inputs, group size and offsets"):
            GroupQuantized.join([weight.outputs_between(0, 16), other])


def test_outputs_that_do_not_fill_their_last_block_are_padded_and_never_written_beyond():
    weight = _weight(50, 64, 32, True, False, seed=5)
    assert weight.q.shape == (4, 16 * 64) and weight.shape == (50, 64)
    x = torch.randn(3, 64)
    product = kernel(32, True, False).bind(weight)
    fresh = torch.full((3 * 50 + 1,), 7.0)  # a sentinel after the last row's 50 outputs
    product(x, fresh[:150].view(3, 50), 2)
    assert float(fresh[150]) == 7.0  # the padded lanes of the last row's last block are not stored
    expected = x.double() @ weight.dequantize(torch.float64).t()
    assert float((fresh[:150].view(3, 50).double() - expected).abs().max() / expected.abs().max()) <= TOLERANCE
    assert weight.outputs_between(48, 50).shape == (2, 64)
    with pytest.raises(ValueError, match=r"outputs 8\.\.48 are not whole blocks of 16 of 50"):
        weight.outputs_between(8, 48)
    with pytest.raises(ValueError, match="only the last of the joined weights"):
        GroupQuantized.join([weight, weight])


@pytest.mark.parametrize("cpu", ["haswell", "znver3"])
def test_the_kernel_compiled_for_an_older_cpu_of_this_family_passes_its_self_check(cpu):
    """The code an AVX2 CPU gets (Intel's Haswell, AMD's Zen 3: 16 lanes in two registers), run on this one."""
    if platform.machine() not in ("x86_64", "AMD64"):
        pytest.skip(f"not an x86-64 CPU: {platform.machine()}")
    for group, offset, half in LAYOUTS:
        compiled = compile_module(module_ir(group, offset, half), needs_openmp=True, cpu=cpu)
        older = Kernel(group, offset, half, compiled, compiled.function("matmul", None, *int8_matmul._ARGTYPES))
        assert self_check(older) is None, (cpu, group, offset, half)
    assert "zmm" not in compiled.assembly  # no AVX-512 register in code for that CPU
