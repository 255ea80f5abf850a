"""Admission: what waits for a model's batch, what joins it at the next step, and what is refused.

The policy of one :class:`~playground.serving.batching.Batcher`, kept apart from how the
batcher runs what it admitted (vLLM's scheduler and request queue are the model). Its rules,
stated in ``docs/serving.md`` ("Admission and fair shares"):

- **a bounded wait queue**: at most ``max_waiting`` items wait; the next one is refused at
  once with :class:`~playground.errors.BusyError`, before any work;
- **a row budget**: at most ``max_batch_size`` generations hold rows of the batch;
- **fair shares of rows**: one visitor (a session) holds at most ``max_rows_per_visitor``
  rows, one client address, whatever its sessions, at most ``max_rows_per_address``; their
  next generation waits while later ones of others pass (:mod:`playground.serving.visitor_keys`);
- **forward work takes no row** (the lab's next-token logits, Compare's scores): it is
  admitted at the next step boundary and takes turns in the step's token budget;
- a generation's time limit counts from its admission, never from its queueing;
- an item cancelled while it waits leaves at once.

Every waiting item speaks the small :class:`Queued` protocol, so the policy never asks what
kind of work it holds. The batcher calls :class:`Admission` under its own lock.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Iterable
from typing import Any, Protocol

from playground.errors import BusyError
from playground.messages import Message
from playground.serving.visitor_keys import Visitor, address_of


class Queued(Protocol):
    """What waits for a batcher: a generation (it takes a row of the batch) or forward work (a job: no row)."""

    id: int  # given by the batcher, in order of arrival
    visitor: Visitor | str | None  # who asked (a session and its address), for fair shares
    takes_row: bool  # a generation holds a row of the batch while it runs; forward work holds none

    @property
    def cancelled(self) -> bool:
        """True once its caller stopped it (or its consumer left)."""

    def admit(self, now: float) -> None:
        """Called once, as it joins the batch (``now``: time.monotonic()); a generation's time limit starts."""

    def cancel(self) -> None:
        """End it as cancelled; its caller is told."""

    def fail(self, message: str) -> None:
        """End it with an error its caller raises (``message``: a Message)."""

    def work(self, tokenizer: Any, device: Any) -> Any:
        """What the batcher's worker runs once it is admitted: a generation's row, or the job itself."""


class Admission:
    """The wait queue of one model's batcher, its row budget and its fair shares; see the module's docstring."""

    def __init__(
        self,
        model: str,
        max_batch_size: int,
        max_waiting: int,
        max_rows_per_visitor: int | None = None,
        max_rows_per_address: int | None = None,
    ) -> None:
        self.model = model  # named in the BusyError
        self.max_batch_size = max_batch_size
        self.max_waiting = max_waiting
        self.max_rows_per_visitor = max_rows_per_visitor or max_batch_size
        self.max_rows_per_address = max_rows_per_address or max_batch_size
        self.waiting: deque[Queued] = deque()

    def __len__(self) -> int:
        return len(self.waiting)

    def emptied(self) -> Admission:
        """The same policy with nobody waiting."""
        return Admission(
            self.model, self.max_batch_size, self.max_waiting, self.max_rows_per_visitor, self.max_rows_per_address
        )

    def check_room(self) -> None:
        """Raise BusyError when the wait queue is full (nothing changes)."""
        if len(self.waiting) >= self.max_waiting:
            raise BusyError(Message("busy", waiting=len(self.waiting), model=self.model))

    def queue(self, item: Queued) -> None:
        """Put ``item`` at the end of the wait queue; BusyError when it is full."""
        self.check_room()
        self.waiting.append(item)

    def leave_cancelled(self) -> None:
        """Items stopped while waiting leave now, not when a row frees."""
        for item in [i for i in self.waiting if i.cancelled]:
            self.waiting.remove(item)
            item.cancel()

    def cancel_all(self) -> None:
        """Every waiting item ends as cancelled (the worker is exiting)."""
        while self.waiting:
            self.waiting.popleft().cancel()

    def admit(self, held: Iterable[Visitor | str | None]) -> list[Queued]:
        """The waiting items that join the batch now, in order of arrival, given the visitors of the rows ``held``.

        A generation needs a free row within the budget and within its visitor's and its
        address's shares, else it waits while later ones pass; forward work always joins.
        """
        held = list(held)
        room = self.max_batch_size - len(held)
        per_visitor = Counter(v for v in held if v is not None)
        per_address = Counter(address_of(v) for v in held if address_of(v) is not None)
        admitted: list[Queued] = []
        for item in list(self.waiting):
            if item.takes_row:
                address = address_of(item.visitor)
                session_full = item.visitor is not None and per_visitor[item.visitor] >= self.max_rows_per_visitor
                address_full = address is not None and per_address[address] >= self.max_rows_per_address
                if room <= 0 or session_full or address_full:
                    continue
                room -= 1
                per_visitor[item.visitor] += 1
                if address is not None:
                    per_address[address] += 1
            item.admit(time.monotonic())
            admitted.append(item)
            self.waiting.remove(item)
        return admitted
