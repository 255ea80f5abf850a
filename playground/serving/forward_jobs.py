"""Forward work a batcher runs besides generation: a prompt's next-token logits, a text's scores.

The lab's next-token distribution (:class:`LogitsJob`) and Compare's perplexity
(:class:`ScoreJob`) are jobs of the model's :class:`~playground.serving.batching.Batcher`,
fed through the same per-step token budget as prompts: each step runs at most one chunk of
prefill-like work between the decode steps of the generating rows, so a generating row
never waits for more than one chunk, and no forward pass runs around the batcher.

A job is handed to :meth:`Batcher.run_job`, which blocks its caller until the worker has run
it (or it failed). It waits in the batcher's admission like a generation (the
:class:`~playground.serving.admission.Queued` protocol) but takes no row of the batch. Each
chunk is one forward pass; the job keeps its own state between chunks (a KV cache for
:class:`LogitsJob`, the scores so far for :class:`ScoreJob`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import torch

from playground.errors import GenerationError
from playground.messages import Message
from playground.serving.visitor_keys import Visitor

# (ids, done, size, state, every_position) -> (logits, state): one chunk of forward work, run by the
# batcher's runner (playground.serving.runners) with the job's adapter: the logits after the tokens
# ids[done:done + size] (after the last only, or after each with every_position), and the state
# (the sequence's cache) to hand back for its next chunk.
ChunkLogits = Callable[[list[int], int, int, Any, bool], tuple[torch.Tensor, Any]]


class ForwardJob:
    """Forward work run a chunk per step by a batcher; the caller waits in :meth:`wait`."""

    kind = "job"
    takes_row = False  # it runs in the step's token budget, never as a row of the batch

    def __init__(
        self, adapter: str | None, visitor: Visitor | str | None = None, cancel: threading.Event | None = None
    ) -> None:
        self.adapter = adapter
        self.visitor = visitor  # who asked (a session, an address), for fair shares
        self.cancel_event = cancel  # set by the caller's side: the job leaves at the next step
        self.id = -1  # given by the batcher, in order of arrival
        self.served = 0  # tokens run so far (the scheduler serves the least served first)
        self.steps: list[int] = []  # numbers of the forward passes it took part in
        self.result: Any = None
        self.error: str | None = None
        self.on_end: Any = None  # the batcher's record of ended generations: a job is not in it (never called)
        self._done = threading.Event()

    @property
    def cancelled(self) -> bool:
        """True once the caller's ``cancel`` event is set."""
        return self.cancel_event is not None and self.cancel_event.is_set()

    @property
    def progress(self) -> int:
        """Tokens of the current sequence already in its cache (longer contexts make chunks costlier)."""
        return self.served

    def next_cost(self) -> int:
        """Tokens of the next chunk."""
        raise NotImplementedError

    def run_chunk(self, run: ChunkLogits, size: int) -> bool:
        """Run one chunk of at most ``size`` tokens; True when the job is complete."""
        raise NotImplementedError

    def admit(self, now: float) -> None:
        """It joins the batcher's steps (a job has no time limit of its own)."""

    def work(self, tokenizer: Any, device: Any) -> ForwardJob:
        """The worker runs the job itself."""
        return self

    def cancel(self) -> None:
        """End it as stopped: its caller raises GenerationError."""
        self.finish(error=Message("job_cancelled"))

    def fail(self, message: str) -> None:
        """End it with an error its caller raises as GenerationError."""
        self.finish(error=message)

    def finish(self, result: Any = None, error: str | None = None) -> None:
        """Called by the worker: the job is over; wakes its caller."""
        self.result, self.error = result, error
        self._done.set()

    def wait(self, timeout: float | None = None) -> Any:
        """Block until the worker ran the job; its result, or GenerationError."""
        if not self._done.wait(timeout):
            raise GenerationError(Message("batch_failed", reason="the job did not finish in time"))
        if self.error is not None:
            raise GenerationError(self.error)
        return self.result


class LogitsJob(ForwardJob):
    """The logits (1, vocab) for the token after ``ids``: a chunked prefill, logits at the last position only."""

    kind = "logits"

    def __init__(
        self,
        ids: list[int],
        adapter: str | None,
        visitor: Visitor | str | None = None,
        cancel: threading.Event | None = None,
    ) -> None:
        super().__init__(adapter, visitor, cancel)
        self.ids = list(ids)
        self.state: Any = None  # the sequence's cache between chunks

    def next_cost(self) -> int:
        return len(self.ids) - self.served

    def run_chunk(self, run: ChunkLogits, size: int) -> bool:
        last, self.state = run(self.ids, self.served, size, self.state, False)
        self.served = min(len(self.ids), self.served + size)
        if self.served < len(self.ids):
            return False
        self.state = None
        self.finish(last[-1:].float())
        return True


class ScoreJob(ForwardJob):
    """Per-token scores of examples (Compare, evaluation), a chunk of an example per step.

    Each example is ``(input_ids, labels)``; a label of -100 is not scored (a prompt's
    tokens). A chunk's logits score the tokens that follow its positions; the example's
    KV cache carries the chunks before it.
    """

    kind = "score"

    def __init__(
        self,
        examples: list[tuple[list[int], list[int]]],
        adapter: str | None,
        visitor: Visitor | str | None = None,
        cancel: threading.Event | None = None,
    ) -> None:
        super().__init__(adapter, visitor, cancel)
        self.examples = [(list(ids), list(labels)) for ids, labels in examples]
        self.next = 0  # the example under way
        self.done = 0  # its tokens run so far
        self.state: Any = None  # its cache between chunks
        self.nll: list[float] = []
        self.predictions: list[int] = []
        self.references: list[int] = []
        self.started = time.perf_counter()

    @property
    def progress(self) -> int:
        return self.done

    def next_cost(self) -> int:
        return len(self.examples[self.next][0]) - self.done if self.next < len(self.examples) else 0

    def run_chunk(self, run: ChunkLogits, size: int) -> bool:
        if self.next < len(self.examples):
            ids, labels = self.examples[self.next]
            every, self.state = run(ids, self.done, size, self.state, True)
            width = min(size, len(ids) - self.done)
            end = self.done + width
            targets = torch.tensor(labels[self.done + 1 : end + 1], dtype=torch.long, device=every.device)
            logits = every[: len(targets), :].float()  # position j predicts token j + 1
            keep = targets != -100
            logprobs = torch.log_softmax(logits, dim=-1)
            true_lp = logprobs.gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)
            self.nll += (-true_lp[keep]).tolist()
            self.predictions += logits.argmax(-1)[keep].tolist()
            self.references += targets[keep].tolist()
            self.served += width
            self.done = end
            if self.done >= len(ids):
                self.next, self.done, self.state = self.next + 1, 0, None
        if self.next < len(self.examples):
            return False
        self.finish((self.nll, self.predictions, self.references, time.perf_counter() - self.started))
        return True
