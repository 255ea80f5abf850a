"""How a batcher runs its model: the forward passes and where each row's keys and values live.

A :class:`~playground.serving.batching.Batcher` decides what runs at each step; a runner
runs it. Two runners, one interface:

- :class:`LeanRunner`, for a model with a lean forward
  (:class:`~playground.models.decoder.LeanDecoder`: Gemma 3 and Llama-family models on int8
  weights): every row keeps its own cache, so rows join and leave the batch without copying
  anyone's keys, and the tokens of a step's rows go through each product together;
- :class:`TransformersRunner`, for any other model: transformers' forward over one shared,
  left-padded cache (:mod:`playground.serving.batch_cache`).

Both compute a row alone and batched alike, bit for bit (the lean forward by construction;
transformers' through :mod:`playground.models.row_attention` and padding-free products).
A row's own state (its cache while its prompt is prefilled in chunks, or for good in the
lean runner) is ``row.state``; a forward job's is handed back to it.

The interface, in the order a step uses it: :meth:`prefill` (new prompts), :meth:`chunk`
(one chunk of a long prompt), :meth:`join` (the rows of the last prefill or chunk that go
on enter the decode batch), :meth:`decode`, :meth:`keep` (rows leave), and
:meth:`job_logits` (a chunk of forward work: the lab's distribution, Compare's scores).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

import torch

from playground.models.decoder import RowInput
from playground.serving.batch_cache import SharedCache, new_cache, prefill_inputs

if TYPE_CHECKING:
    from playground.models.loader import LoadedModel


class RowLike(Protocol):
    """What a runner reads of a row of the batch."""

    prompt_ids: list[int]
    adapter: str | None
    served: int  # prompt tokens already run
    last: int  # the token the next decode step feeds
    state: Any  # the runner's state of the row


class Runner(Protocol):
    """Runs a batcher's forward passes; see the module's docstring."""

    def prefill(self, rows: Sequence[RowLike]) -> torch.Tensor:
        """Each row's whole prompt; the logits after each (rows, vocab). The rows may then :meth:`join`."""

    def chunk(self, row: RowLike, size: int) -> torch.Tensor | None:
        """The next ``size`` tokens of ``row``'s prompt; the logits after its last one (1, vocab) once it is all in."""

    def join(self, keep: Sequence[int]) -> None:
        """The rows ``keep`` (indices) of the last prefill or completed chunk join the decode batch, after it."""

    def decode(self, rows: Sequence[RowLike]) -> torch.Tensor:
        """One step of the decode batch (``rows``, in batch order): each row's ``last`` token; logits (rows, vocab)."""

    def keep(self, keep: Sequence[int], count: int) -> None:
        """Of the ``count`` rows of the decode batch, only ``keep`` (indices, in order) stay."""

    def job_logits(
        self, ids: Sequence[int], done: int, size: int, state: Any, adapter: str | None, every_position: bool
    ) -> tuple[torch.Tensor, Any]:
        """Forward work: the tokens ``ids[done:done + size]`` after ``done`` in ``state``.

        Returns the logits after the last of them (1, vocab), or after each one with
        ``every_position`` (tokens, vocab), and the state to hand back for the next chunk.
        """


class LeanRunner:
    """The lean forward, each row with its own cache (``row.state``, a RowCache)."""

    def __init__(self, loaded: LoadedModel) -> None:
        self.loaded = loaded
        self.decoder = loaded.lean

    def _forward(self, rows: list[RowInput]) -> list[torch.Tensor]:
        with self.loaded.forward_lock:
            return self.decoder(rows)

    def prefill(self, rows: Sequence[RowLike]) -> torch.Tensor:
        for row in rows:
            row.state = self.decoder.new_cache()
        logits = self._forward([RowInput(r.prompt_ids, r.state, r.adapter) for r in rows])
        for row in rows:
            row.served = len(row.prompt_ids)
        return torch.cat(logits)

    def chunk(self, row: RowLike, size: int) -> torch.Tensor | None:
        if row.state is None:
            row.state = self.decoder.new_cache()
        tokens = row.prompt_ids[row.served : row.served + size]
        logits = self._forward([RowInput(tokens, row.state, row.adapter)])[0]
        row.served += len(tokens)
        return logits if row.served >= len(row.prompt_ids) else None

    def join(self, keep: Sequence[int]) -> None:
        """Nothing to move: a row carries its cache."""

    def decode(self, rows: Sequence[RowLike]) -> torch.Tensor:
        return torch.cat(self._forward([RowInput([r.last], r.state, r.adapter) for r in rows]))

    def keep(self, keep: Sequence[int], count: int) -> None:
        """Nothing to cut: a row that leaves takes its cache with it."""

    def job_logits(
        self, ids: Sequence[int], done: int, size: int, state: Any, adapter: str | None, every_position: bool
    ) -> tuple[torch.Tensor, Any]:
        state = state if state is not None else self.decoder.new_cache()
        tokens = list(ids[done : done + size])
        logits = self._forward([RowInput(tokens, state, adapter, all_logits=every_position)])[0]
        return logits, state


class TransformersRunner:
    """transformers' forward; the decode batch in one left-padded SharedCache (``self.batch``)."""

    def __init__(self, loaded: LoadedModel) -> None:
        self.loaded = loaded
        self.batch = SharedCache()
        self._joining = SharedCache()

    def _forward(self, adapters: list[str | None], inputs: dict[str, Any]) -> Any:
        return self.loaded.forward_rows(adapters, **inputs, use_cache=True)

    def _last_only(self, inputs: dict[str, Any]) -> dict[str, Any]:
        if self.loaded.supports_logits_to_keep:
            inputs["logits_to_keep"] = 1
        return inputs

    def prefill(self, rows: Sequence[RowLike]) -> torch.Tensor:
        inputs = prefill_inputs([r.prompt_ids for r in rows], self.loaded.pad_token_id, self.loaded.device)
        inputs["past_key_values"] = new_cache()
        out = self._forward([r.adapter for r in rows], self._last_only(inputs))
        self._joining = SharedCache(out.past_key_values, inputs["attention_mask"])
        for row in rows:
            row.served = len(row.prompt_ids)
        return out.logits[:, -1, :]

    def chunk(self, row: RowLike, size: int) -> torch.Tensor | None:
        inputs = _chunk_inputs(row.prompt_ids, row.served, size, row.state, self.loaded.device)
        out = self._forward([row.adapter], self._last_only(inputs))
        row.served += int(inputs["input_ids"].shape[1])
        row.state = out.past_key_values
        if row.served < len(row.prompt_ids):
            return None
        self._joining = SharedCache(row.state, inputs["attention_mask"])
        row.state = None
        return out.logits[:, -1, :]

    def join(self, keep: Sequence[int]) -> None:
        joining, self._joining = self._joining, SharedCache()
        if len(keep) < len(joining):
            joining.select(list(keep))
        self.batch.merge(joining)

    def decode(self, rows: Sequence[RowLike]) -> torch.Tensor:
        inputs = self.batch.decode_inputs([r.last for r in rows])
        try:
            out = self._forward([r.adapter for r in rows], inputs)
        except Exception:
            self.batch.select([])  # the rows of a failed pass leave with their cache
            raise
        self.batch.update(out.past_key_values, inputs["attention_mask"])
        return out.logits[:, -1, :]

    def keep(self, keep: Sequence[int], count: int) -> None:
        if len(keep) < count:
            self.batch.select(list(keep))

    def job_logits(
        self, ids: Sequence[int], done: int, size: int, state: Any, adapter: str | None, every_position: bool
    ) -> tuple[torch.Tensor, Any]:
        inputs = _chunk_inputs(list(ids), done, size, state, self.loaded.device)
        if not every_position:
            inputs = self._last_only(inputs)
        out = self._forward([adapter], inputs)
        logits = out.logits[0] if every_position else out.logits[:, -1, :]
        return logits, out.past_key_values


def _chunk_inputs(ids: list[int], done: int, size: int, cache: Any, device: Any) -> dict[str, Any]:
    """Forward arguments for the tokens ``ids[done:done + size]`` of one sequence, after ``done`` in ``cache``."""
    chunk = ids[done : done + size]
    end = done + len(chunk)
    return {
        "input_ids": torch.tensor([chunk], dtype=torch.long, device=device),
        "attention_mask": torch.ones((1, end), dtype=torch.long, device=device),
        "position_ids": torch.arange(done, end, dtype=torch.long, device=device).unsqueeze(0),
        "past_key_values": cache if cache is not None else new_cache(),  # plain layers: rows can merge it
    }


def runner_for(loaded: LoadedModel) -> Runner:
    """The lean runner where the model has a lean forward, else transformers'."""
    return LeanRunner(loaded) if getattr(loaded, "lean", None) is not None else TransformersRunner(loaded)
