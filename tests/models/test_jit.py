"""Machine code compiled in the process, and kept on disk between starts."""

from __future__ import annotations

import logging

import pytest

from playground.models import int8_matmul, jit
from playground.models.int8_matmul import Kernel, module_ir, self_check

IR = module_ir(32, True, True)


@pytest.fixture
def kept(tmp_path):
    jit.cache_objects(tmp_path)
    yield tmp_path
    jit.cache_objects(None)


def _kernel(compiled: jit.Compiled) -> Kernel:
    return Kernel(32, True, True, compiled, compiled.function("matmul", None, *int8_matmul._ARGTYPES))


def test_compiled_code_is_kept_and_a_later_compile_loads_it(kept):
    first = jit.compile_module(IR, needs_openmp=True)
    (path,) = kept.iterdir()
    written = path.stat().st_ino
    again = jit.compile_module(IR, needs_openmp=True)
    assert path.stat().st_ino == written  # read, not written again (a write replaces the file)
    assert self_check(_kernel(again)) is None and self_check(_kernel(first)) is None
    assert "vpmaddwd" in again.assembly or "pmaddwd" in again.assembly or "smlal" in again.assembly


def test_a_kept_file_whose_bytes_do_not_match_is_compiled_again(kept, caplog):
    jit.compile_module(IR, needs_openmp=True)
    (path,) = kept.iterdir()
    good = path.read_bytes()
    path.write_bytes(good[:32] + b"\x90" * 64 + good[96:])  # code changed under its checksum
    with caplog.at_level(logging.WARNING, logger="playground.models.jit"):
        compiled = jit.compile_module(IR, needs_openmp=True)
    assert "does not match its checksum: compiled again" in caplog.text
    assert path.read_bytes() == good and self_check(_kernel(compiled)) is None


def test_without_a_folder_nothing_is_kept(tmp_path):
    jit.cache_objects(None)
    jit.compile_module(IR, needs_openmp=True)
    assert list(tmp_path.iterdir()) == []
