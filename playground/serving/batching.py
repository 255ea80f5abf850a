"""Continuous batching: the concurrent requests of one base model share its decode steps.

This docstring is the one description of batching (the README, the engine, the loader and
the local backend point here). When thirty visitors click Generate in the same second,
they do not wait for each other's generations: decoding a small batch costs little more
than decoding one sequence (the weights are read from memory once per step for all rows).

- **One worker per loaded model.** The local backend (:mod:`playground.serving.local_backend`)
  gives each loaded base model one :class:`Batcher`, which runs one worker thread, started
  by the first request. It exits after ``idle_exit_s`` (1 s) without work, and once
  drained after :meth:`Batcher.stop` (its model left the cache). Exiting soon matters:
  the OpenMP pool its torch work started leaves with it, and a second pool alive in the
  process (another model's idle worker) made every parallel region of the steps wake
  sleeping threads (:mod:`playground.models.thread_pools`). ``Engine.stream``
  validates a request, queues it and returns at once; the stream reads what the worker
  sends.
- **Continuous batching.** Requests wait in a bounded queue; at every step boundary the
  worker admits waiting requests, up to ``limits.max_batch_size`` rows, and runs one step:

  1. at most one forward pass of prefill-like work, within a budget of ``step_tokens``
     tokens (vLLM's chunked prefill): either the new short prompts together (left-padded,
     with an attention mask and positions counted from each row's first real token, up to
     ``prefill_tokens`` padded tokens: visitors who arrive together start together), or
     one chunk of a long prompt (its own KV cache grows chunk by chunk), or one chunk of a
     job (the lab's next-token logits, at the last position only, and Compare's scores:
     :mod:`playground.serving.forward_jobs`; never run around the steps under the model's lock).
     The least-served work goes first, so a new short prompt never waits behind a long
     one, and long ones take turns;
  2. ONE decode forward pass for all rows. A prompt whose prefill is complete joins the
     batch before it, its KV cache merged into the batch's (the shorter one padded on the
     left: :mod:`playground.serving.batch_cache`).

  A request that arrives while a batch runs joins it at the next step. Finished and
  cancelled rows leave at once, and cache columns no remaining row uses are cut, so the
  cache never outgrows the longest live row.
- **A fair share of every step.** A generating row waits for at most one chunk between two
  of its tokens, whatever the others ask. A chunk's attention reads every earlier token,
  so chunks get shorter as a prompt's context grows (:meth:`Batcher.chunk_size`:
  ``step_tokens / (1 + context / scale)``, ``scale`` being the context at which attention
  costs as much as the weights, about 3,900 tokens for SmolLM2). A prompt's chunk
  boundaries depend only on its own length, never on the other rows.
- **Fair shares of rows.** One visitor (a Gradio session) holds at most
  ``limits.max_rows_per_visitor`` rows of a batch, and one client address, whatever its
  sessions, at most ``limits.max_rows_per_address``: their next request waits while later
  ones of other visitors pass (:mod:`playground.serving.visitor_keys`).
- **Mixed adapters.** Each row names its adapter (PEFT's per-row ``adapter_names``,
  ``__base__`` for the base): a batch holds the base and any of its adapters.
- **Each row is its own request**: its settings, token chooser (logits processors, seeded
  ``torch.Generator``: :mod:`playground.serving.sampling`), incremental detokenizer and stop-string
  filter. Greedy outputs are token-identical to the same request run alone and to
  ``model.generate``, in float32 and in bfloat16 (attention is computed row by row:
  :mod:`playground.models.row_attention`), and a seeded sampled answer does not depend on the
  other rows.
- **How rows end.** The worker decides when a row ends (``eos``, ``stop_string``,
  ``length``, ``cancelled``, ``time_limit``, ``error``) and sends what happened, token by
  token, to the request's own queue; the consumer reads it at its own pace
  (:class:`~playground.engine.GenerationStream`). A request's time limit counts from its
  admission to the batch, not from its queueing: waiting behind others never shortens an
  answer.
- **Cancellation.** A row whose consumer is gone (:meth:`Request.abandon`: closed or
  garbage-collected stream) or whose ``cancel`` event is set leaves before the next forward
  pass, so it takes part in at most one more step; the other rows go on.
- **Admission control.** At most ``limits.max_waiting`` requests wait for a model; the next
  one is refused at once with :class:`~playground.errors.BusyError`, before any work.
- **Faults.** An exception in a forward pass fails the rows of that pass (each consumer gets
  a :class:`~playground.errors.GenerationError`) and is logged; an exception in one row's
  token choice fails that row only. The worker goes on serving later requests.
- Models whose attention layers keep another state than a plain KV cache (linear
  attention; :func:`~playground.serving.batch_cache.can_merge`) are served one request at a time,
  with a warning in the log.
- Every forward pass holds ``loaded.forward_lock`` (training or tests may run forwards on
  the same model from other threads).
"""

from __future__ import annotations

import atexit
import dataclasses
import logging
import queue
import threading
import time
import weakref
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from playground.errors import BusyError
from playground.messages import Message
from playground.serving.backend import FINISH_REASONS, Finished, Token
from playground.serving.batch_cache import SharedCache, can_merge, new_cache, prefill_inputs
from playground.serving.detokenize import IncrementalDetokenizer
from playground.serving.forward_jobs import Job, chunk_inputs
from playground.serving.sampling import TokenChooser
from playground.serving.stop_strings import StopStringFilter
from playground.serving.token_record import record_choice
from playground.serving.visitor_keys import Visitor, address_of
from playground.settings import GenerationSettings

if TYPE_CHECKING:
    from playground.models.loader import LoadedModel
    from playground.serving.backend import Job as GenerationJob

log = logging.getLogger(__name__)

__all__ = ["FINISH_REASONS", "Batcher", "Ending", "Finished", "Request", "Step", "Token"]

STEP_TOKENS = 64  # prefill tokens one step runs at most, by default (limits.step_tokens)
PREFILL_TOKENS = 256  # padded tokens of new short prompts one step prefills together, by default
ALONE_FACTOR = 4  # a job with the model to itself takes chunks this many times the budget
IDLE_EXIT_S = 1.0  # a worker with nothing to do for this long exits, and its OpenMP pool (the next request starts one)
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


class Request:
    """One generation handed to a :class:`Batcher`: what to run, and the queue of what happened."""

    def __init__(
        self,
        prompt_ids: list[int],
        settings: GenerationSettings,
        adapter: str | None,
        chooser: TokenChooser,
        started: float,
        time_limit_s: float,
        cancel: threading.Event | None = None,
        visitor: Visitor | str | None = None,
        *,
        record: bool = False,
        forced: Sequence[int] = (),
    ) -> None:
        self.prompt_ids = list(prompt_ids)
        self.record = record  # send each token's probabilities and alternatives (token_record.Choice)
        self.forced = tuple(forced)  # the first tokens to write, whatever the model prefers (a branch)
        self.settings = settings
        self.adapter = adapter
        self.chooser = chooser
        self.started = started  # time.monotonic() when the request was accepted
        self.time_limit_s = time_limit_s  # wall-clock limit, counted from admission
        self.deadline = float("inf")  # time.monotonic() after which it ends with "time_limit", set at admission
        self.cancel = cancel
        self.visitor = visitor  # who asked (a session and its address): each holds a bounded share of rows
        self.id = -1  # given by the batcher, in order of arrival
        self.steps: list[int] = []  # numbers of the forward passes it took part in
        self.tokens = 0  # tokens sent so far
        self.on_end: Callable[[Ending], None] | None = None  # told how it ended (the batcher's record)
        self._events: queue.SimpleQueue[Token | Finished | None] = queue.SimpleQueue()
        self._gone = threading.Event()

    @classmethod
    def from_job(cls, job: GenerationJob, device: Any) -> Request:
        """The batcher's request for an engine's job (its own seeded token chooser)."""
        chooser = TokenChooser(dataclasses.replace(job.settings, seed=job.seed), device)
        return cls(
            job.prompt_ids,
            job.settings,
            job.adapter,
            chooser,
            job.started,
            job.time_limit_s,
            job.cancel,
            job.visitor,
            record=job.record,
            forced=job.forced,
        )

    @property
    def cancelled(self) -> bool:
        """True once the consumer is gone or the caller's ``cancel`` event is set."""
        return self._gone.is_set() or (self.cancel is not None and self.cancel.is_set())

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


class _Row:
    """The worker's state of one request in the batch."""

    def __init__(self, request: Request, tokenizer: Any, device: Any) -> None:
        self.request = request
        self.ids = torch.tensor([request.prompt_ids], dtype=torch.long, device=device)
        self.detok = IncrementalDetokenizer(tokenizer)
        self.stops = StopStringFilter(request.settings.stop)
        self.generated = 0  # tokens appended (end-of-sequence excluded)
        self.last = -1  # the token the next decode step feeds
        self.served = 0  # prompt tokens prefilled so far (a long prompt is prefilled in chunks)
        self.cache: Any = None  # its own KV cache while its prompt is prefilled in chunks

    @property
    def visitor(self) -> Visitor | str | None:
        """Who asked."""
        return self.request.visitor

    @property
    def id(self) -> int:
        """The request's id (order of arrival)."""
        return self.request.id

    @property
    def cancelled(self) -> bool:
        """Whether the request was cancelled or its consumer left."""
        return self.request.cancelled

    def next_cost(self) -> int:
        """Prompt tokens still to prefill."""
        return len(self.request.prompt_ids) - self.served

    def advance(self, logits: torch.Tensor, eos: set[int]) -> bool:
        """Choose this row's next token from ``logits`` (1, vocab); True when the row has ended.

        A forced token replaces the choice after the chooser made it, so a seeded generator
        draws exactly as it did in the generation being branched.
        """
        request = self.request
        position = self.ids.shape[1] - len(request.prompt_ids)
        token, scores = request.chooser.choose(self.ids, logits)
        forced = position < len(request.forced)
        if forced:
            token = request.forced[position]
        choice = record_choice(token, logits, scores, request.settings.greedy, forced) if request.record else None
        self.ids = torch.cat([self.ids, self.ids.new_tensor([[token]])], dim=1)
        self.last = token
        now = time.monotonic()
        if token in eos:
            return self.finish("eos")
        self.generated += 1
        request.send(Token(token, self.stops.feed(self.detok.push(token)), now, choice))
        if self.stops.stopped is not None:
            return self.finish("stop_string", stop_string=self.stops.stopped)
        if self.generated >= request.settings.max_new_tokens:
            return self.finish("length")
        if request.cancelled:
            return self.finish("cancelled")
        if now > request.deadline:
            return self.finish("time_limit", warning=Message("time_limit", seconds=request.time_limit_s))
        return False

    def finish(self, reason: str, stop_string: str | None = None, warning: str | None = None) -> bool:
        """End the row: release held-back text and tell the consumer why."""
        if reason == "cancelled":
            log.info("request %d cancelled after %d tokens", self.request.id, self.generated)
        tail = self.stops.feed(self.detok.flush()) + self.stops.flush()
        self.request.send(Finished(reason, time.monotonic(), stop_string, tail, warning))
        return True

    def fail(self, exc: BaseException) -> None:
        """End the row with an error the consumer raises as GenerationError."""
        message = Message("generation_failed", count=self.generated, reason=f"{type(exc).__name__}: {exc}")
        self.request.send(Finished("error", time.monotonic(), error=message))


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
        self.max_batch_size = max_batch_size
        if max_batch_size > 1 and not can_merge(loaded.model):
            log.warning("%s: its KV cache cannot be shared by rows; serving one request at a time", loaded.spec.name)
            self.max_batch_size = 1
        self.max_waiting = max_waiting
        self.idle_exit_s = idle_exit_s
        self.step_tokens = step_tokens
        self.prefill_tokens = max(prefill_tokens, step_tokens)
        self.max_rows_per_visitor = max_rows_per_visitor or self.max_batch_size
        self.max_rows_per_address = max_rows_per_address or self.max_batch_size
        self._attention_scale = attention_scale(loaded.model)
        self.history: deque[Step] = deque(maxlen=HISTORY)  # the latest forward passes
        self.endings: deque[Ending] = deque(maxlen=HISTORY)  # the latest ended requests (see ended())
        self.steps = 0  # forward passes run so far
        self.threads_started = 0  # worker threads started so far (one at a time)
        self._eos = loaded.eos_token_ids
        self._cond = threading.Condition()
        self._waiting: deque[Request | Job] = deque()
        self._running = 0
        self._next_id = 0
        self._thread: threading.Thread | None = None
        self._stopping = False  # exit once drained (the model left the cache)
        self._aborting = False  # exit at the next step boundary, cancelling everything (interpreter exit)
        atexit.register(_abort_at_exit, weakref.ref(self))

    # -- the callers' side -------------------------------------------------------
    def check_room(self) -> None:
        """Raise BusyError when the wait queue is full (nothing changes)."""
        with self._cond:
            self._check_room()

    def _check_room(self) -> None:
        if len(self._waiting) >= self.max_waiting:
            raise BusyError(Message("busy", waiting=len(self._waiting), model=self.loaded.spec.name))

    def submit(self, request: Request | Job) -> None:
        """Queue ``request`` (or a job) for the next step boundary; raise BusyError when the queue is full."""
        with self._cond:
            self._check_room()
            request.id = self._next_id
            self._next_id += 1
            if isinstance(request, Request):
                request.on_end = self._ended
            self._waiting.append(request)
            if self._thread is None or not self._thread.is_alive():  # not alive: e.g. in a forked process
                self._thread = threading.Thread(
                    target=self._work, name=f"playground-batcher-{self.loaded.spec.name}", daemon=True
                )
                self._thread.start()
                self.threads_started += 1
            self._cond.notify_all()

    def run_job(self, job: Job) -> Any:
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
            return self._cond.wait_for(lambda: not self._waiting and self._running == 0, timeout)

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
            return len(self._waiting)

    # -- the worker --------------------------------------------------------------
    def _work(self) -> None:
        rows: list[_Row] = []  # decoding, in ``shared``
        pending: list[_Row | Job] = []  # prompts being prefilled in chunks, and jobs
        shared = SharedCache()
        try:
            with torch.inference_mode():
                while (admitted := self._admit(rows, pending)) is not None:
                    try:
                        rows = self._step(rows, pending, shared, admitted)
                    except Exception as exc:  # a fault outside the forward passes: fail what the step held
                        log.exception("a step of the batcher of %s failed", self.loaded.spec.name)
                        message = Message("batch_failed", reason=f"{type(exc).__name__}: {exc}")
                        for item in [r.request for r in rows] + pending + admitted:
                            _fail(item, message)
                        rows, pending[:] = [], []
                        shared.select([])
                for item in rows + pending:  # only when aborting
                    _cancel(item)
        finally:
            with self._cond:
                if self._thread is threading.current_thread():
                    self._thread = None
                if self._thread is None:  # no newer worker holds rows
                    self._running = 0
                self._cond.notify_all()

    def _admit(self, rows: list[_Row], pending: list[_Row | Job]) -> list[Request | Job] | None:
        """At a step boundary: the requests and jobs joining; None when the worker should exit.

        A request takes a row of the batch; one visitor holds at most ``max_rows_per_visitor``
        rows and one client address ``max_rows_per_address``, so a request of a visitor (or an
        address) at their share waits while later ones of others pass.
        """
        held = [r.request for r in rows] + [p.request for p in pending if isinstance(p, _Row)]
        running = len(held) + sum(1 for p in pending if isinstance(p, Job))
        with self._cond:
            self._running = running
            if self._aborting:
                while self._waiting:
                    _cancel(self._waiting.popleft())
                self._thread = None
                return None
            if running == 0:
                self._cond.notify_all()  # wait_idle
                while not self._waiting:
                    timed_out = self._stopping or not self._cond.wait(self.idle_exit_s)
                    if timed_out and not self._waiting:
                        self._thread = None
                        return None
            for item in [i for i in self._waiting if isinstance(i, Request) and i.cancelled]:
                self._waiting.remove(item)  # stopped while waiting: it leaves now, not when a row frees
                item.send(Finished("cancelled", time.monotonic()))
            room = self.max_batch_size - len(held)
            per_visitor = Counter(r.visitor for r in held if r.visitor is not None)
            per_address = Counter(address_of(r.visitor) for r in held if address_of(r.visitor) is not None)
            admitted: list[Request | Job] = []
            for item in list(self._waiting):
                if isinstance(item, Request):
                    address = address_of(item.visitor)
                    session_full = item.visitor is not None and per_visitor[item.visitor] >= self.max_rows_per_visitor
                    address_full = address is not None and per_address[address] >= self.max_rows_per_address
                    if room <= 0 or session_full or address_full:
                        continue
                    room -= 1
                    per_visitor[item.visitor] += 1
                    if address is not None:
                        per_address[address] += 1
                    item.deadline = time.monotonic() + item.time_limit_s  # the time limit counts from here
                admitted.append(item)
                self._waiting.remove(item)
            self._running = running + len(admitted)
            return admitted

    def _step(
        self, rows: list[_Row], pending: list[_Row | Job], shared: SharedCache, admitted: list[Request | Job]
    ) -> list[_Row]:
        """One step: at most one forward pass of prefill-like work (the budget), then one decode step."""
        for item in admitted:
            if isinstance(item, Job):
                pending.append(item)
            elif item.cancelled:
                item.send(Finished("cancelled", time.monotonic()))
            else:
                pending.append(_Row(item, self.loaded.tokenizer, self.loaded.device))
        for item in [p for p in pending if p.cancelled]:
            pending.remove(item)
            _cancel(item)
        if pending:
            rows = rows + self._prefill_work(pending, shared, alone=not rows and len(pending) == 1)
        return self._decode(rows, shared) if rows else rows

    def _prefill_work(self, pending: list[_Row | Job], shared: SharedCache, alone: bool = False) -> list[_Row]:
        """Run the least-served prefill-like work, within ``step_tokens``; the rows whose prompt is now in.

        New short prompts (each within ``step_tokens``) go together, left-padded, while the
        padded batch fits in ``prefill_tokens``. A job with the model to itself (``alone``)
        takes chunks of up to :data:`ALONE_FACTOR` times the budget: a request arriving
        meanwhile waits for one such chunk at most.
        (A prompt's chunks never change size: its greedy answer must not depend on the others.)
        """
        first = min(pending, key=lambda p: (p.served, p.id))
        budget = self.step_tokens
        if isinstance(first, _Row) and first.served == 0 and first.next_cost() <= budget:
            group = []
            fresh = sorted((p for p in pending if isinstance(p, _Row) and p.served == 0), key=lambda p: p.id)
            for row in fresh:  # new short prompts together, left-padded, while the padded batch fits
                width = max([row.next_cost()] + [r.next_cost() for r in group])
                if row.next_cost() <= budget and width * (len(group) + 1) <= self.prefill_tokens:
                    group.append(row)
            for row in group:
                pending.remove(row)
            joined = SharedCache()
            done = self._prefill(group, joined)
            shared.merge(joined)
            return done
        if isinstance(first, Job):
            self._job_chunk(first, pending, ALONE_FACTOR if alone else 1)
            return []
        return self._chunk(first, pending, shared)

    def chunk_size(self, done: int) -> int:
        """Tokens of the next chunk of a sequence with ``done`` tokens in its cache.

        ``step_tokens`` at the start, fewer as the context grows: a chunk's attention reads
        every earlier token, so its cost is ``tokens x (1 + done / scale)``, where ``scale``
        is the context at which attention costs as much as the weights (see
        :func:`attention_scale`). It depends only on the sequence's own progress, so its
        chunk boundaries are the same alone or among others.
        """
        return max(1, int(self.step_tokens / (1 + done / self._attention_scale)))

    def _prefill(self, rows: list[_Row], shared: SharedCache) -> list[_Row]:
        inputs = prefill_inputs([r.request.prompt_ids for r in rows], self.loaded.pad_token_id, self.loaded.device)
        inputs["past_key_values"] = new_cache()
        if self.loaded.supports_logits_to_keep:
            inputs["logits_to_keep"] = 1
        out = self._forward("prefill", rows, inputs)
        if out is None:
            return []
        shared.update(out.past_key_values, inputs["attention_mask"])
        return self._choose(rows, out.logits[:, -1, :], shared)

    def _chunk(self, row: _Row, pending: list[_Row | Job], shared: SharedCache) -> list[_Row]:
        """One chunk of a long prompt; once its last chunk is in, the row chooses its first token and joins."""
        ids = row.request.prompt_ids
        inputs = chunk_inputs(ids, row.served, self.chunk_size(row.served), row.cache, self.loaded.device)
        if self.loaded.supports_logits_to_keep:
            inputs["logits_to_keep"] = 1
        out = self._forward("chunk", [row], inputs)
        if out is None:
            pending.remove(row)
            return []
        row.served += int(inputs["input_ids"].shape[1])
        row.cache = out.past_key_values
        if row.served < len(ids):
            return []
        pending.remove(row)
        joined = SharedCache(row.cache, inputs["attention_mask"])
        row.cache = None
        rows = self._choose([row], out.logits[:, -1, :], joined)
        if rows:
            shared.merge(joined)
        return rows

    def _job_chunk(self, job: Job, pending: list[_Row | Job], factor: int = 1) -> None:
        """One chunk of a job; a failed or complete job leaves."""

        def forward(kind: str, inputs: dict[str, Any]) -> Any:
            self._record(kind, [job.id], job.steps)
            return self.loaded.forward_rows([job.adapter], **inputs, use_cache=True)

        try:
            complete = job.run_chunk(forward, self.loaded.device, factor * self.chunk_size(job.progress))
        except Exception as exc:
            log.exception("a %s job failed on %s", job.kind, self.loaded.spec.name)
            job.finish(error=Message("batch_failed", reason=f"{type(exc).__name__}: {exc}"))
            complete = True
        if complete:
            pending.remove(job)

    def _decode(self, rows: list[_Row], shared: SharedCache) -> list[_Row]:
        rows = self._sweep(rows, shared)
        if not rows:
            return rows
        inputs = shared.decode_inputs([r.last for r in rows])
        out = self._forward("decode", rows, inputs)
        if out is None:
            shared.select([])
            return []
        shared.update(out.past_key_values, inputs["attention_mask"])
        return self._choose(rows, out.logits[:, -1, :], shared)

    def _record(self, kind: str, ids: list[int], *step_lists: list[int]) -> None:
        self.steps += 1
        self.history.append(Step(self.steps, kind, tuple(ids)))
        for steps in step_lists:
            steps.append(self.steps)

    def _forward(self, kind: str, rows: list[_Row], inputs: dict[str, Any]) -> Any:
        """One forward pass over ``rows``; None (the rows failed) when it raises."""
        self._record(kind, [r.request.id for r in rows], *(r.request.steps for r in rows))
        try:
            return self.loaded.forward_rows([r.request.adapter for r in rows], **inputs, use_cache=True)
        except Exception as exc:
            log.exception("%s of %d row(s) failed on %s", kind, len(rows), self.loaded.spec.name)
            for row in rows:
                row.fail(exc)
            return None

    def _sweep(self, rows: list[_Row], shared: SharedCache) -> list[_Row]:
        """Before a forward pass: rows whose consumer left or was cancelled leave the batch."""
        keep = []
        for i, row in enumerate(rows):
            if row.request.cancelled:
                row.finish("cancelled")
            else:
                keep.append(i)
        return self._keep(rows, keep, shared)

    def _choose(self, rows: list[_Row], logits: torch.Tensor, shared: SharedCache) -> list[_Row]:
        """Each row picks its token from its line of ``logits``; ended rows leave the batch."""
        keep = []
        for i, row in enumerate(rows):
            try:
                ended = row.advance(logits[i : i + 1], self._eos)
            except Exception as exc:
                log.exception("token choice failed for request %d on %s", row.request.id, self.loaded.spec.name)
                row.fail(exc)
                continue
            if not ended:
                keep.append(i)
        return self._keep(rows, keep, shared)

    @staticmethod
    def _keep(rows: list[_Row], keep: list[int], shared: SharedCache) -> list[_Row]:
        if len(keep) < len(rows):
            shared.select(keep)
        return [rows[i] for i in keep]


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
    return 2 * params / (4 * hidden * layers)


def _fail(item: Request | Job | _Row, message: str) -> None:
    """End a request, a job or a row with an error its caller raises."""
    if isinstance(item, _Row):
        item = item.request
    if isinstance(item, Job):
        item.finish(error=message)
    else:
        item.send(Finished("error", time.monotonic(), error=message))


def _cancel(item: Request | Job | _Row) -> None:
    """End a request, a job or a row as cancelled (its caller stopped it, or the worker is exiting)."""
    if isinstance(item, _Row):
        item.finish("cancelled")
    elif isinstance(item, Job):
        item.finish(error=Message("job_cancelled"))
    else:
        item.send(Finished("cancelled", time.monotonic()))


def _abort_at_exit(ref: weakref.ref[Batcher]) -> None:
    """At interpreter exit: end a still-running worker before Python finalises its thread."""
    batcher = ref()
    if batcher is not None and batcher.is_alive():
        batcher.stop(drain=False)
        batcher.join(timeout=10)
