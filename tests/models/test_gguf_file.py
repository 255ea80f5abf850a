"""The fast GGUF header reader agrees with gguf-py's reader, and refuses what is not a GGUF file."""

from __future__ import annotations

import numpy as np
import pytest
from gguf import GGUFReader

from playground.models.gguf_file import GGUFFile, GGUFFormatError


def test_metadata_and_tensors_are_those_gguf_py_reads(smollm2_gguf):
    mine, theirs = GGUFFile(smollm2_gguf), GGUFReader(smollm2_gguf)
    assert set(mine.metadata) == {k for k in theirs.fields if not k.startswith("GGUF.")}
    for key in ("general.architecture", "llama.block_count", "llama.attention.head_count_kv", "tokenizer.ggml.model"):
        field = theirs.fields[key]
        assert mine.metadata[key] == field.contents()
    tokens = theirs.fields["tokenizer.ggml.tokens"].contents()
    assert mine.metadata["tokenizer.ggml.tokens"] == tokens
    assert set(mine.tensors) == {t.name for t in theirs.tensors}
    for tensor in theirs.tensors:
        info = mine.tensors[tensor.name]
        assert info.type_name == tensor.tensor_type.name
        assert info.shape == tuple(int(d) for d in reversed(tensor.shape))
        assert np.array_equal(np.asarray(info.data), np.asarray(tensor.data).reshape(-1).view(np.uint8))


def test_a_file_that_is_not_gguf_is_refused(tmp_path):
    path = tmp_path / "model.gguf"
    path.write_bytes(b"PK\x03\x04" + b"\0" * 64)
    with pytest.raises(GGUFFormatError, match="not a GGUF file"):
        GGUFFile(path)


def test_a_truncated_file_is_refused(tmp_path, smollm2_gguf):
    path = tmp_path / "cut.gguf"
    path.write_bytes(smollm2_gguf.read_bytes()[: 20 << 20])
    with pytest.raises(GGUFFormatError, match="runs past the end"):
        GGUFFile(path)
