"""A GGUF file's metadata and tensor table, read in a fraction of a second.

``gguf.GGUFReader`` builds a numpy view for every element of every metadata array: for
Gemma 3's 262,144-token vocabulary (three arrays of it) that takes half a minute. This
reader parses the same header with ``struct`` and ``numpy.frombuffer`` (the layout of
GGUF version 2 and 3, as ``gguf/gguf_reader.py`` reads it) and maps the tensors' bytes
from the file without copying them.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

MAGIC = b"GGUF"
_SCALARS = {  # GGUF value type -> (struct format, numpy dtype)
    0: ("<B", np.uint8),
    1: ("<b", np.int8),
    2: ("<H", np.uint16),
    3: ("<h", np.int16),
    4: ("<I", np.uint32),
    5: ("<i", np.int32),
    6: ("<f", np.float32),
    7: ("<?", np.bool_),
    10: ("<Q", np.uint64),
    11: ("<q", np.int64),
    12: ("<d", np.float64),
}
_STRING, _ARRAY = 8, 9
# GGML tensor type id -> (name, weights per block, bytes per block); the ids of ggml.h
TENSOR_TYPES = {
    0: ("F32", 1, 4),
    1: ("F16", 1, 2),
    2: ("Q4_0", 32, 18),
    3: ("Q4_1", 32, 20),
    6: ("Q5_0", 32, 22),
    7: ("Q5_1", 32, 24),
    8: ("Q8_0", 32, 34),
    12: ("Q4_K", 256, 144),
    13: ("Q5_K", 256, 176),
    14: ("Q6_K", 256, 210),
    30: ("BF16", 1, 2),
}


class GGUFFormatError(ValueError):
    """The file is not a GGUF file this reader understands."""


@dataclass(frozen=True)
class TensorInfo:
    """One tensor of the file: its GGML type, its shape (outermost first, as torch has it) and its bytes."""

    name: str
    type_name: str
    shape: tuple[int, ...]  # e.g. (outputs, inputs) for a matrix
    data: np.ndarray  # uint8, mapped from the file (read-only)


class _Cursor:
    def __init__(self, buffer: memoryview) -> None:
        self.buffer, self.at = buffer, 0

    def unpack(self, fmt: str) -> Any:
        value = struct.unpack_from(fmt, self.buffer, self.at)[0]
        self.at += struct.calcsize(fmt)
        return value

    def string(self) -> str:
        size = self.unpack("<Q")
        text = bytes(self.buffer[self.at : self.at + size]).decode("utf-8", errors="replace")
        self.at += size
        return text

    def value(self, kind: int) -> Any:
        if kind == _STRING:
            return self.string()
        if kind == _ARRAY:
            return self.array()
        if kind not in _SCALARS:
            raise GGUFFormatError(f"unknown metadata value type {kind} at byte {self.at}")
        return self.unpack(_SCALARS[kind][0])

    def array(self) -> Any:
        kind, count = self.unpack("<I"), self.unpack("<Q")
        if kind in _SCALARS:
            dtype = np.dtype(_SCALARS[kind][1]).newbyteorder("<")
            values = np.frombuffer(self.buffer, dtype=dtype, count=count, offset=self.at).copy()
            self.at += count * dtype.itemsize
            return values
        return [self.value(kind) for _ in range(count)]


class GGUFFile:
    """The metadata (``metadata``: key -> value) and tensors (``tensors``: name -> :class:`TensorInfo`) of a file."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._map = np.memmap(self.path, dtype=np.uint8, mode="r")
        cursor = _Cursor(memoryview(self._map))
        if bytes(self._map[:4]) != MAGIC:
            raise GGUFFormatError(f"{self.path.name} is not a GGUF file")
        cursor.at = 4
        version = cursor.unpack("<I")
        if version not in (2, 3):
            raise GGUFFormatError(f"{self.path.name}: GGUF version {version} is not read here")
        tensor_count, kv_count = cursor.unpack("<Q"), cursor.unpack("<Q")
        self.metadata: dict[str, Any] = {}
        for _ in range(kv_count):
            key = cursor.string()
            self.metadata[key] = cursor.value(cursor.unpack("<I"))
        infos = []
        for _ in range(tensor_count):
            name = cursor.string()
            dims = [cursor.unpack("<Q") for _ in range(cursor.unpack("<I"))]
            infos.append((name, dims, cursor.unpack("<I"), cursor.unpack("<Q")))
        alignment = int(self.metadata.get("general.alignment", 32))
        start = -(-cursor.at // alignment) * alignment
        self.tensors = {name: self._tensor(name, dims, kind, start + offset) for name, dims, kind, offset in infos}

    def _tensor(self, name: str, dims: list[int], kind: int, offset: int) -> TensorInfo:
        if kind not in TENSOR_TYPES:
            raise GGUFFormatError(f"{self.path.name}: tensor {name} has GGML type {kind}, not read here")
        type_name, per_block, block_bytes = TENSOR_TYPES[kind]
        count = int(np.prod(dims)) if dims else 1
        size = count // per_block * block_bytes
        if offset + size > len(self._map):
            raise GGUFFormatError(f"{self.path.name}: tensor {name} runs past the end of the file")
        return TensorInfo(name, type_name, tuple(reversed(dims)), self._map[offset : offset + size])

    @property
    def architecture(self) -> str:
        """``general.architecture`` (e.g. ``gemma3``, ``llama``)."""
        return str(self.metadata.get("general.architecture", ""))

    def floats(self, name: str) -> np.ndarray:
        """A float tensor (F32, F16 or BF16) as float32, in its shape."""
        info = self.tensors[name]
        raw = np.asarray(info.data)
        if info.type_name == "F32":
            values = raw.view(np.float32)
        elif info.type_name == "F16":
            values = raw.view(np.float16).astype(np.float32)
        elif info.type_name == "BF16":
            values = (raw.view(np.uint16).astype(np.uint32) << 16).view(np.float32)
        else:
            raise GGUFFormatError(f"{name} is {info.type_name}, not a float tensor")
        return values.reshape(info.shape)
