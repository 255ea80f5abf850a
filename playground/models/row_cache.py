"""One sequence's keys and values, layer by layer, in preallocated float32 buffers that grow.

:class:`~playground.models.decoder.LeanDecoder` gives every row of a batch its own
:class:`RowCache`: a row computes attention over its own tokens only, so it needs no
padding and no mask, rows join and leave a batch without copying anyone else's cache,
and a row batched with others computes what it computes alone. A buffer doubles when it
fills (amortised, like a list), so appending a token costs one copy of that token.
"""

from __future__ import annotations

import torch

FIRST_CAPACITY = 64  # positions a new buffer holds before its first growth


class RowCache:
    """Keys and values of one sequence: per layer, (kv heads, positions, head dim) float32."""

    def __init__(self, layers: int, kv_heads: int, head_dim: int) -> None:
        self.layers, self.kv_heads, self.head_dim = layers, kv_heads, head_dim
        self.length = 0  # positions written and committed (the sequence's length so far)
        self._keys: list[torch.Tensor | None] = [None] * layers
        self._values: list[torch.Tensor | None] = [None] * layers

    def _buffer(self, layer: int, needed: int) -> tuple[torch.Tensor, torch.Tensor]:
        keys, values = self._keys[layer], self._values[layer]
        if keys is None or keys.shape[1] < needed:
            capacity = max(FIRST_CAPACITY, needed, 2 * (0 if keys is None else keys.shape[1]))
            shape = (self.kv_heads, capacity, self.head_dim)
            grown_keys, grown_values = torch.empty(shape), torch.empty(shape)
            if keys is not None:
                grown_keys[:, : self.length] = keys[:, : self.length]
                grown_values[:, : self.length] = values[:, : self.length]
            self._keys[layer], self._values[layer] = keys, values = grown_keys, grown_values
        return keys, values

    def buffers(self, layer: int, new: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The key and value buffers of ``layer``, with room for ``new`` positions after the committed ones.

        The caller writes the new positions (from :attr:`length` on); they count once
        :meth:`commit` is called, after every layer has them.
        """
        return self._buffer(layer, self.length + new)

    def commit(self, new: int) -> None:
        """The last forward pass wrote ``new`` positions in every layer: they now belong to the sequence."""
        self.length += new

    @property
    def nbytes(self) -> int:
        """Bytes held by the buffers."""
        return sum(t.numel() * 4 for t in self._keys + self._values if t is not None)
