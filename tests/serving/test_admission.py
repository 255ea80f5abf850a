"""Admission on its own: the wait queue's bound, the row budget, fair shares, forward work and time limits.

The items are the batcher's real ones (generations built from valid requests, a logits job);
no model runs: admission only decides who joins the batch at the next step.
"""

from __future__ import annotations

import threading
import time

import pytest

from playground.errors import BusyError
from playground.serving.admission import Admission
from playground.serving.backend import Finished
from playground.serving.batching import Generation
from playground.serving.forward_jobs import LogitsJob
from playground.serving.requests import GenerationRequest
from playground.serving.visitor_keys import Visitor
from playground.settings import GenerationSettings


def generation(visitor=None, cancel=None, time_limit_s: float = 30.0) -> Generation:
    request = GenerationRequest(
        model="tiny",
        adapter=None,
        prompt_ids=(1, 2, 3),
        settings=GenerationSettings(max_new_tokens=4),
        started=time.monotonic(),
        time_limit_s=time_limit_s,
        cancel=cancel,
        visitor=visitor,
    )
    return Generation(request, "cpu")


def queued(admission: Admission, *items):
    for i, item in enumerate(items):
        item.id = i
        admission.queue(item)
    return items


def test_a_full_queue_refuses_the_next_item_and_changes_nothing():
    admission = Admission("tiny", max_batch_size=2, max_waiting=2)
    queued(admission, generation(), generation())
    with pytest.raises(BusyError, match="tiny"):
        admission.queue(generation())
    assert len(admission) == 2


def test_generations_join_within_the_row_budget_in_order_of_arrival():
    admission = Admission("tiny", max_batch_size=3, max_waiting=8)
    first, second, third = queued(admission, generation(), generation(), generation())
    assert admission.admit(held=[None]) == [first, second]  # one row is already held
    assert list(admission.waiting) == [third]


def test_a_visitor_at_their_share_waits_while_later_visitors_pass():
    admission = Admission("tiny", max_batch_size=8, max_waiting=8, max_rows_per_visitor=2)
    a = Visitor("a", "192.0.2.1")
    b = Visitor("b", "192.0.2.2")
    mine, theirs = queued(admission, generation(a), generation(b))
    assert admission.admit(held=[a, a]) == [theirs]
    assert list(admission.waiting) == [mine]


def test_one_address_holds_a_bounded_share_whatever_its_sessions():
    admission = Admission("tiny", max_batch_size=8, max_waiting=8, max_rows_per_visitor=3, max_rows_per_address=2)
    sessions = [Visitor(f"s{i}", "198.51.100.7") for i in range(3)]
    other = Visitor("t", "203.0.113.9")
    items = queued(admission, *(generation(v) for v in sessions), generation(other))
    assert admission.admit(held=[]) == [items[0], items[1], items[3]]  # the third session of that address waits
    assert list(admission.waiting) == [items[2]]


def test_forward_work_joins_even_when_every_row_is_held():
    admission = Admission("tiny", max_batch_size=1, max_waiting=8)
    waiting, job = queued(admission, generation(), LogitsJob([1, 2, 3], None))
    assert admission.admit(held=["someone"]) == [job]
    assert list(admission.waiting) == [waiting]


def test_the_time_limit_counts_from_admission_not_from_queueing():
    admission = Admission("tiny", max_batch_size=1, max_waiting=8)
    (item,) = queued(admission, generation(time_limit_s=5.0))
    assert item.deadline == float("inf")
    before = time.monotonic()
    admission.admit(held=[])
    assert before + 5.0 <= item.deadline <= time.monotonic() + 5.0


def test_an_item_stopped_while_waiting_leaves_at_once_and_is_told():
    admission = Admission("tiny", max_batch_size=1, max_waiting=8)
    stop = threading.Event()
    stopped, kept = queued(admission, generation(cancel=stop), generation())
    stop.set()
    admission.leave_cancelled()
    assert list(admission.waiting) == [kept]
    event = stopped.receive()
    assert isinstance(event, Finished) and event.reason == "cancelled"
