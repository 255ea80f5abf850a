"""Continuous batching: the concurrent requests of one base model share its decode steps.

One :class:`Batcher` per loaded model runs one worker thread. At every step boundary the
worker takes what :class:`~playground.serving.admission.Admission` admits (the wait queue,
the row budget and the fair shares live there), then runs one step:

1. at most one forward pass of prefill-like work within ``step_tokens`` tokens: the new
   short prompts together (left-padded, up to ``prefill_tokens`` padded tokens), or one
   chunk of a long prompt, or one chunk of forward work (:mod:`playground.serving.forward_jobs`);
   the least-served work goes first, and a chunk shrinks as its context grows
   (:meth:`Batcher.chunk_size`);
2. one decode forward pass for all rows; a prompt whose prefill is complete joins the batch
   before it, its KV cache merged into the batch's (:mod:`playground.serving.batch_cache`).

Each row is its own request (settings, seeded token chooser, detokenizer, stop strings), so a
greedy answer is token-identical to the same request run alone and to ``model.generate``.
The worker decides when a row ends (one of ``FINISH_REASONS``) and sends what happened to
the request's own queue. Faults fail the rows of the failing pass only; the worker goes on.
The whole description, with the limits that bound it: ``docs/serving.md``.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import torch

from playground import allocator
from playground.forking import renew_in_child
from playground.messages import Message
from playground.serving.admission import Admission, Queued
from playground.serving.backend import FINISH_REASONS, Finished, Token
from playground.serving.batch_cache import can_merge
from playground.serving.detokenize import IncrementalDetokenizer
from playground.serving.forward_jobs import ForwardJob
from playground.serving.requests import GenerationRequest
from playground.serving.runners import LeanRunner, runner_for
from playground.serving.sampling import TokenChooser
from playground.serving.stop_strings import StopStringFilter
from playground.serving.token_record import record_choice
from playground.serving.visitor_keys import Visitor

if TYPE_CHECKING:
    from playground.models.loader import LoadedModel

log = logging.getLogger(__name__)

__all__ = ["FINISH_REASONS", "Batcher", "Ending", "Finished", "Generation", "Step", "Token"]

STEP_TOKENS = 64  # prefill tokens one step runs at most, by default (limits.step_tokens)
PREFILL_TOKENS = 256  # padded tokens of new short prompts one step prefills together, by default
ALONE_FACTOR = 4  # a job with the model to itself takes chunks this many times the budget
IDLE_EXIT_S = 1.0  # a worker with nothing to do for this long exits, and its OpenMP pool (the next request starts one)
_FAILED = object()  # what Batcher._forward returns when the pass raised (its rows failed)
HISTORY = 4096  # forward passes (and ended requests) remembered in Batcher.history (Batcher.endings)


@dataclass(frozen=True)
class Step:
    """One forward pass of a batcher: its number, kind and the requests in it (in row order)."""

    number: int
    kind: str  # "prefill", "chunk" (part of a long prompt), "decode", or a job's kind ("logits", "score")
    request_ids: tuple[int, ...]


@dataclass(frozen=True)
class Ending:
    """How one request of a batcher ended: its id, why, the tokens it wrote and the forward passes it took part in."""

    request_id: int
    reason: str  # one of FINISH_REASONS
    tokens: int
    steps: int  # 0: it ended before any forward pass (cancelled while waiting, say)


class Generation:
    """One generation in a :class:`Batcher`: its valid request, its token chooser, and the queue of what happened.

    It waits in the batcher's :class:`~playground.serving.admission.Admission` (the
    :class:`~playground.serving.admission.Queued` protocol: it takes a row), then runs as a
    row of the batch; the consumer reads its events (the backend's ``Submission``).
    """

    takes_row = True  # it holds a row of the batch while it runs

    def __init__(self, request: GenerationRequest, device: Any) -> None:
        self.prompt_ids = list(request.prompt_ids)
        self.record = request.record  # send each token's probabilities and alternatives (token_record.Choice)
        self.forced = request.forced  # the first tokens to write, whatever the model prefers (a branch)
        self.settings = request.settings
        self.adapter = request.adapter
        self.chooser = TokenChooser(request.settings, device)  # seeded with the request's seed
        self.started = request.started  # time.monotonic() when the request was accepted
        self.time_limit_s = request.time_limit_s  # wall-clock limit, counted from admission
        self.deadline = float("inf")  # time.monotonic() after which it ends with "time_limit", set at admission
        self.cancel_event = request.cancel
        self.visitor = request.visitor  # who asked (a session and its address): each holds a bounded share of rows
        self.id = -1  # given by the batcher, in order of arrival
        self.steps: list[int] = []  # numbers of the forward passes it took part in
        self.tokens = 0  # tokens sent so far
        self.on_end: Callable[[Ending], None] | None = None  # told how it ended (the batcher's record)
        self._events: queue.SimpleQueue[Token | Finished | None] = queue.SimpleQueue()
        self._gone = threading.Event()

    @property
    def cancelled(self) -> bool:
        """True once the consumer is gone or the caller's ``cancel`` event is set."""
        return self._gone.is_set() or (self.cancel_event is not None and self.cancel_event.is_set())

    def abandon(self) -> None:
        """The consumer is gone: leave the batch before the next step. Safe from any thread."""
        if not self._gone.is_set():
            self._gone.set()
            self._events.put(None)  # wakes a consumer blocked in receive()

    def send(self, event: Token | Finished) -> None:
        """Called by the worker: one more thing happened."""
        if isinstance(event, Token):
            self.tokens += 1
        elif self.on_end is not None:
            self.on_end(Ending(self.id, event.reason, self.tokens, len(self.steps)))
        self._events.put(event)

    def receive(self) -> Token | Finished | None:
        """Block until the next event; None when woken by :meth:`abandon`."""
        return self._events.get()

    # -- the Queued protocol (admission) -----------------------------------------
    def admit(self, now: float) -> None:
        """It joins the batch: its time limit starts now."""
        self.deadline = now + self.time_limit_s

    def cancel(self) -> None:
        """End it as cancelled before it ran (stopped while waiting, or the worker is exiting)."""
        self.send(Finished("cancelled", time.monotonic()))

    def fail(self, message: str) -> None:
        """End it with an error the consumer raises as GenerationError."""
        self.send(Finished("error", time.monotonic(), error=message))

    def work(self, tokenizer: Any, device: Any) -> _Row:
        """Its row of the batch, as the worker runs it."""
        return _Row(self, tokenizer, device)


class Work(Protocol):
    """What the worker holds while its prompt is prefilled or its chunks run: a generation's row, or a forward job."""

    id: int
    takes_row: bool  # a row joins the decode batch once its prompt is in; a forward job ends by itself
    served: int  # tokens run so far (the least served goes first)

    @property
    def visitor(self) -> Visitor | str | None:
        """Who asked."""

    @property
    def cancelled(self) -> bool:
        """Whether its caller stopped it."""

    def next_cost(self) -> int:
        """Tokens of its next prefill-like work."""

    def cancel(self) -> None:
        """End it as cancelled."""

    def fail(self, message: str) -> None:
        """End it with an error its caller raises."""


class _Row:
    """The worker's state of one generation in the batch (the :class:`Work` protocol)."""

    takes_row = True

    def __init__(self, generation: Generation, tokenizer: Any, device: Any) -> None:
        self.generation = generation
        self.ids = torch.tensor([generation.prompt_ids], dtype=torch.long, device=device)
        self.detok = IncrementalDetokenizer(tokenizer)
        self.stops = StopStringFilter(generation.settings.stop)
        self.generated = 0  # tokens appended (end-of-sequence excluded)
        self.last = -1  # the token the next decode step feeds
        self.served = 0  # prompt tokens prefilled so far (a long prompt is prefilled in chunks)
        self.state: Any = None  # the runner's state of the row (its cache: playground.serving.runners)

    @property
    def prompt_ids(self) -> list[int]:
        """The tokens its answer continues."""
        return self.generation.prompt_ids

    @property
    def adapter(self) -> str | None:
        """The adapter it runs with (None: the base)."""
        return self.generation.adapter

    @property
    def visitor(self) -> Visitor | str | None:
        """Who asked."""
        return self.generation.visitor

    @property
    def id(self) -> int:
        """The request's id (order of arrival)."""
        return self.generation.id

    @property
    def cancelled(self) -> bool:
        """Whether the request was cancelled or its consumer left."""
        return self.generation.cancelled

    def next_cost(self) -> int:
        """Prompt tokens still to prefill."""
        return len(self.generation.prompt_ids) - self.served

    def advance(self, logits: torch.Tensor, eos: set[int]) -> bool:
        """Choose this row's next token from ``logits`` (1, vocab); True when the row has ended.

        A forced token replaces the choice after the chooser made it, so a seeded generator
        draws exactly as it did in the generation being branched.
        """
        generation = self.generation
        position = self.ids.shape[1] - len(generation.prompt_ids)
        token, scores = generation.chooser.choose(self.ids, logits)
        forced = position < len(generation.forced)
        if forced:
            token = generation.forced[position]
        choice = record_choice(token, logits, scores, generation.settings.greedy, forced) if generation.record else None
        self.ids = torch.cat([self.ids, self.ids.new_tensor([[token]])], dim=1)
        self.last = token
        now = time.monotonic()
        if token in eos:
            return self.finish("eos")
        self.generated += 1
        generation.send(Token(token, self.stops.feed(self.detok.push(token)), now, choice))
        if self.stops.stopped is not None:
            return self.finish("stop_string", stop_string=self.stops.stopped)
        if self.generated >= generation.settings.max_new_tokens:
            return self.finish("length")
        if generation.cancelled:
            return self.finish("cancelled")
        if now > generation.deadline:
            return self.finish("time_limit", warning=Message("time_limit", seconds=generation.time_limit_s))
        return False

    def finish(self, reason: str, stop_string: str | None = None, warning: str | None = None) -> bool:
        """End the row: release held-back text and tell the consumer why."""
        if reason == "cancelled":
            log.info("request %d cancelled after %d tokens", self.generation.id, self.generated)
        tail = self.stops.feed(self.detok.flush()) + self.stops.flush()
        self.generation.send(Finished(reason, time.monotonic(), stop_string, tail, warning))
        return True

    def cancel(self) -> None:
        """End the row as cancelled (its caller stopped it, or the worker is exiting)."""
        self.finish("cancelled")

    def fail(self, message: str) -> None:
        """End the row with an error the consumer raises as GenerationError."""
        self.generation.fail(message)

    def fail_with(self, exc: BaseException) -> None:
        """End the row because its forward pass or its token choice raised ``exc``."""
        self.fail(Message("generation_failed", count=self.generated, reason=f"{type(exc).__name__}: {exc}"))


class Batcher:
    """The batch scheduler of one loaded base model; see the module's docstring."""

    def __init__(
        self,
        loaded: LoadedModel,
        max_batch_size: int = 8,
        max_waiting: int = 64,
        idle_exit_s: float = IDLE_EXIT_S,
        step_tokens: int = STEP_TOKENS,
        prefill_tokens: int = PREFILL_TOKENS,
        max_rows_per_visitor: int | None = None,
        max_rows_per_address: int | None = None,
    ) -> None:
        self.loaded = loaded
        self.runner = runner_for(loaded)  # the forward passes, and where the rows' caches live
        if max_batch_size > 1 and not isinstance(self.runner, LeanRunner) and not can_merge(loaded.model):
            log.warning("%s: its KV cache cannot be shared by rows; serving one request at a time", loaded.spec.name)
            max_batch_size = 1
        self.admission = Admission(
            loaded.spec.name, max_batch_size, max_waiting, max_rows_per_visitor, max_rows_per_address
        )
        self.idle_exit_s = idle_exit_s
        self.step_tokens = step_tokens
        self.prefill_tokens = max(prefill_tokens, step_tokens)
        self._attention_scale = attention_scale(loaded.model)
        self.history: deque[Step] = deque(maxlen=HISTORY)  # the latest forward passes
        self.endings: deque[Ending] = deque(maxlen=HISTORY)  # the latest ended requests (see ended())
        self.steps = 0  # forward passes run so far
        self.threads_started = 0  # worker threads started so far (one at a time)
        self._eos = loaded.eos_token_ids
        self._cond = threading.Condition()
        self._running = 0
        self._next_id = 0
        self._thread: threading.Thread | None = None
        self._stopping = False  # exit once drained (the model left the cache)
        self._aborting = False  # exit at the next step boundary, cancelling everything (interpreter exit)
        atexit.register(_abort_at_exit, weakref.ref(self))
        renew_in_child(self, Batcher._start_again)

    def _start_again(self) -> None:
        """In a forked child (ZeroGPU's GPU process): nothing of the parent's batch, its lock free, no worker.

        The parent's rows and waiting requests belong to the parent's visitors, who read
        them there; the child's first request starts its own worker (:mod:`playground.forking`).
        """
        self._cond = threading.Condition()
        self._thread = None
        self._running = 0
        self.runner = runner_for(self.loaded)
        self.admission = self.admission.emptied()

    @property
    def max_batch_size(self) -> int:
        """Rows of the batch at most (1 for a model whose KV cache rows cannot share)."""
        return self.admission.max_batch_size

    # -- the callers' side -------------------------------------------------------
    def check_room(self) -> None:
        """Raise BusyError when the wait queue is full (nothing changes)."""
        with self._cond:
            self.admission.check_room()

    def submit(self, item: Generation | ForwardJob) -> None:
        """Queue a generation (or forward work) for the next step boundary; BusyError when the queue is full."""
        with self._cond:
            self.admission.check_room()
            item.id = self._next_id
            self._next_id += 1
            item.on_end = self._ended
            self.admission.queue(item)
            if self._thread is None or not self._thread.is_alive():  # none yet, or it exited when idle
                self._thread = threading.Thread(
                    target=self._work, name=f"playground-batcher-{self.loaded.spec.name}", daemon=True
                )
                self._thread.start()
                self.threads_started += 1
            self._cond.notify_all()

    def run_job(self, job: ForwardJob) -> Any:
        """Run ``job`` in the worker's steps (a chunk per step) and return its result; BusyError when full."""
        self.submit(job)
        return job.wait()

    def stop(self, drain: bool = True) -> None:
        """Let the worker finish the requests it has, then exit (the model left the cache).

        With ``drain=False`` the worker cancels what it holds at the next step boundary.
        """
        with self._cond:
            self._stopping = True
            self._aborting = self._aborting or not drain
            self._cond.notify_all()

    def is_alive(self) -> bool:
        """Whether a worker thread is running."""
        with self._cond:
            thread = self._thread
        return thread is not None and thread.is_alive()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the worker to exit; True when no worker runs."""
        with self._cond:
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return not self.is_alive()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until no request is waiting or running; True when idle."""
        with self._cond:
            return self._cond.wait_for(lambda: not self.admission.waiting and self._running == 0, timeout)

    def ended(self) -> list[Ending]:
        """The latest requests that ended (up to HISTORY), in the order they ended."""
        with self._cond:
            return list(self.endings)

    def latest_steps(self, count: int = 64) -> list[Step]:
        """The latest ``count`` forward passes (of :attr:`history`), in the order they ran."""
        passes = tuple(self.history)  # one C-level copy: the worker may append meanwhile
        return list(passes[-count:])

    def _ended(self, ending: Ending) -> None:
        with self._cond:
            self.endings.append(ending)

    @property
    def waiting(self) -> int:
        """Requests waiting for a place in the batch."""
        with self._cond:
            return len(self.admission)

    # -- the worker --------------------------------------------------------------
    def _work(self) -> None:
        rows: list[_Row] = []  # decoding, in the runner's batch order
        pending: list[Work] = []  # prompts being prefilled in chunks, and forward jobs
        try:
            with torch.inference_mode():
                while (admitted := self._admit(rows, pending)) is not None:
                    try:
                        rows = self._step(rows, pending, admitted)
                    except Exception as exc:  # a fault outside the forward passes: fail what the step held
                        log.exception("a step of the batcher of %s failed", self.loaded.spec.name)
                        message = Message("batch_failed", reason=f"{type(exc).__name__}: {exc}")
                        for item in [*rows, *pending, *admitted]:
                            item.fail(message)
                        self.runner.keep([], len(rows))
                        rows, pending[:] = [], []
                for item in [*rows, *pending]:  # only when aborting
                    item.cancel()
        finally:
            with self._cond:
                if self._thread is threading.current_thread():
                    self._thread = None
                if self._thread is None:  # no newer worker holds rows
                    self._running = 0
                self._cond.notify_all()
            allocator.trim()  # what the steps freed (caches, activations) leaves the resident set while idle

    def _admit(self, rows: list[_Row], pending: list[Work]) -> list[Queued] | None:
        """At a step boundary: what joins (as :class:`Admission` decides); None when the worker should exit."""
        held = [*rows, *(p for p in pending if p.takes_row)]
        running = len(rows) + len(pending)
        with self._cond:
            self._running = running
            if self._aborting:
                self.admission.cancel_all()
                self._thread = None
                return None
            if running == 0:
                self._cond.notify_all()  # wait_idle
                while not self.admission.waiting:
                    timed_out = self._stopping or not self._cond.wait(self.idle_exit_s)
                    if timed_out and not self.admission.waiting:
                        self._thread = None
                        return None
            self.admission.leave_cancelled()
            admitted = self.admission.admit(r.visitor for r in held)
            self._running = running + len(admitted)
            return admitted

    def _step(self, rows: list[_Row], pending: list[Work], admitted: list[Queued]) -> list[_Row]:
        """One step: at most one forward pass of prefill-like work (the budget), then one decode step."""
        pending += [item.work(self.loaded.tokenizer, self.loaded.device) for item in admitted]
        for item in [p for p in pending if p.cancelled]:
            pending.remove(item)
            item.cancel()
        if pending:
            rows = rows + self._prefill_work(pending, alone=not rows and len(pending) == 1)
        return self._decode(rows) if rows else rows

    def _prefill_work(self, pending: list[Work], alone: bool = False) -> list[_Row]:
        """Run the least-served prefill-like work, within ``step_tokens``; the rows whose prompt is now in.

        New short prompts (each within ``step_tokens``) go together, while their padded batch
        fits in ``prefill_tokens``. A job with the model to itself (``alone``) takes chunks of
        up to :data:`ALONE_FACTOR` times the budget: a request arriving meanwhile waits for one
        such chunk at most. (A prompt's chunks never change size: its greedy answer must not
        depend on the others.)
        """
        first = min(pending, key=lambda p: (p.served, p.id))
        budget = self.step_tokens
        if first.takes_row and first.served == 0 and first.next_cost() <= budget:
            group = []
            fresh = sorted((p for p in pending if p.takes_row and p.served == 0), key=lambda p: p.id)
            for row in fresh:  # new short prompts together, while their padded batch fits
                width = max([row.next_cost()] + [r.next_cost() for r in group])
                if row.next_cost() <= budget and width * (len(group) + 1) <= self.prefill_tokens:
                    group.append(row)
            for row in group:
                pending.remove(row)
            return self._prefill(group)
        if not first.takes_row:
            self._job_chunk(first, pending, ALONE_FACTOR if alone else 1)
            return []
        return self._chunk(first, pending)

    def chunk_size(self, done: int) -> int:
        """Tokens of the next chunk of a sequence with ``done`` tokens in its cache.

        ``step_tokens`` at the start, fewer as the context grows: a chunk's attention reads
        every earlier token, so its cost is ``tokens x (1 + done / scale)``, where ``scale``
        is the context at which attention costs as much as the weights (see
        :func:`attention_scale`). It depends only on the sequence's own progress, so its
        chunk boundaries are the same alone or among others.
        """
        return max(1, int(self.step_tokens / (1 + done / self._attention_scale)))

    def _prefill(self, rows: list[_Row]) -> list[_Row]:
        logits = self._forward("prefill", rows, lambda: self.runner.prefill(rows))
        if logits is _FAILED:
            return []
        keep = self._choose(rows, logits)
        self.runner.join(keep)
        return [rows[i] for i in keep]

    def _chunk(self, row: _Row, pending: list[Work]) -> list[_Row]:
        """One chunk of a long prompt; once its last chunk is in, the row chooses its first token and joins."""
        size = self.chunk_size(row.served)
        logits = self._forward("chunk", [row], lambda: self.runner.chunk(row, size))
        if logits is _FAILED:
            pending.remove(row)
            return []
        if logits is None:  # more chunks to come
            return []
        pending.remove(row)
        keep = self._choose([row], logits)
        self.runner.join(keep)
        return [row] if keep else []

    def _job_chunk(self, job: ForwardJob, pending: list[Work], factor: int = 1) -> None:
        """One chunk of a job; a failed or complete job leaves."""

        def run(ids: list[int], done: int, size: int, state: Any, every_position: bool) -> tuple[torch.Tensor, Any]:
            self._record(job.kind, [job.id], job.steps)
            return self.runner.job_logits(ids, done, size, state, job.adapter, every_position)

        try:
            complete = job.run_chunk(run, factor * self.chunk_size(job.progress))
        except Exception as exc:
            log.exception("a %s job failed on %s", job.kind, self.loaded.spec.name)
            job.fail(Message("batch_failed", reason=f"{type(exc).__name__}: {exc}"))
            complete = True
        if complete:
            pending.remove(job)

    def _decode(self, rows: list[_Row]) -> list[_Row]:
        rows = self._sweep(rows)
        if not rows:
            return rows
        logits = self._forward("decode", rows, lambda: self.runner.decode(rows))
        if logits is _FAILED:
            self.runner.keep([], len(rows))
            return []
        keep = self._choose(rows, logits)
        self.runner.keep(keep, len(rows))
        return [rows[i] for i in keep]

    def _record(self, kind: str, ids: list[int], *step_lists: list[int]) -> None:
        self.steps += 1
        self.history.append(Step(self.steps, kind, tuple(ids)))
        for steps in step_lists:
            steps.append(self.steps)

    def _forward(self, kind: str, rows: list[_Row], run: Callable[[], Any]) -> Any:
        """One forward pass over ``rows`` (``run``) and its result; :data:`_FAILED` when it raised (the rows failed)."""
        self._record(kind, [r.generation.id for r in rows], *(r.generation.steps for r in rows))
        try:
            return run()
        except Exception as exc:
            log.exception("%s of %d row(s) failed on %s", kind, len(rows), self.loaded.spec.name)
            for row in rows:
                row.fail_with(exc)
            return _FAILED

    def _sweep(self, rows: list[_Row]) -> list[_Row]:
        """Before a forward pass: rows whose consumer left or was cancelled leave the batch."""
        keep = []
        for i, row in enumerate(rows):
            if row.generation.cancelled:
                row.finish("cancelled")
            else:
                keep.append(i)
        self.runner.keep(keep, len(rows))
        return [rows[i] for i in keep]

    def _choose(self, rows: list[_Row], logits: torch.Tensor) -> list[int]:
        """Each row picks its token from its line of ``logits``; the indices of the rows that go on."""
        keep = []
        for i, row in enumerate(rows):
            try:
                ended = row.advance(logits[i : i + 1], self._eos)
            except Exception as exc:
                log.exception("token choice failed for request %d on %s", row.generation.id, self.loaded.spec.name)
                row.fail_with(exc)
                continue
            if not ended:
                keep.append(i)
        return keep


def attention_scale(model: Any) -> float:
    """Context length at which one token's attention costs as many FLOPs as its pass through the weights.

    Per token, the weights cost about 2 FLOPs per parameter; attention costs about
    4 x hidden size x layers per earlier token (scores and weighted values). Infinite when
    the config does not say (chunks then never shrink).
    """
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    config = base.config.get_text_config() if hasattr(base.config, "get_text_config") else base.config
    hidden = getattr(config, "hidden_size", None) or getattr(config, "n_embd", None)
    layers = getattr(config, "num_hidden_layers", None) or getattr(config, "n_layer", None)
    if not hidden or not layers:
        return float("inf")
    params = sum(p.numel() for n, p in base.named_parameters() if "lora_" not in n)
    tables = {m.quantized.q.data_ptr(): m.quantized.q.numel() for m in base.modules() if hasattr(m, "quantized")}
    return 2 * (params + sum(tables.values())) / (4 * hidden * layers)  # int8 products keep their weights apart


def _abort_at_exit(ref: weakref.ref[Batcher]) -> None:
    """At interpreter exit: end a still-running worker before Python finalises its thread."""
    batcher = ref()
    if batcher is not None and batcher.is_alive():
        batcher.stop(drain=False)
        batcher.join(timeout=10)
