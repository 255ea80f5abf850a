"""ZeroGPU's process model on a CPU: ``@spaces.GPU`` as ``spaces`` 0.51.3 runs a call, less the GPU.

On a ZeroGPU Space, ``spaces.GPU`` (``spaces/zero/wrappers.py``) turns a handler into one
that, in the server, hands each call to a worker process forked from the server with
``multiprocessing.get_context('fork')`` (a daemon), through a queue: the call's
``(args, kwargs)`` are pickled. The child runs the handler on a thread of a
``ThreadPoolExecutor``, puts each value a generator yields on a result queue (pickled back),
then an end marker; an exception comes back as a result. The server's handler yields what
arrives. A worker that served a call and is idle serves the next call of the same handler;
its stop event tells the child that the server's generator was closed (a Stop).

:class:`ZeroGpu` does the same, so that a test runs the app's decorated handlers in forked
children while the server goes on serving. Left out: the scheduler's HTTP calls, moving
CUDA tensors, and the progress forwarding (no GPU, no Space). Added: a ``probe`` the child
runs after each call, to tell the test what it still holds. A child that hangs fails the
test after ``timeout`` seconds instead of blocking it.
"""

from __future__ import annotations

import inspect
import multiprocessing
import queue
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import wraps
from typing import Any

CONTEXT = multiprocessing.get_context("fork")  # what spaces uses


@dataclass(frozen=True)
class Ok:
    """A value the handler returned or yielded (spaces' OkResult)."""

    value: Any


@dataclass(frozen=True)
class Raised:
    """What the handler raised (spaces' ExceptionResult): its class and traceback."""

    error_cls: str
    traceback: str
    error: Any = None  # the exception itself, when it pickles


@dataclass(frozen=True)
class Probed:
    """What the test's probe saw in the child once a call was over (not part of spaces)."""

    value: Any


END = "end"  # the call is over (spaces' EndResult)


class Worker:
    """A forked process that runs one handler, call after call (spaces' Worker)."""

    def __init__(self, task: Callable[..., Any], probe: Callable[[], Any] | None = None) -> None:
        self.probes: list[Any] = []  # what ``probe`` saw in the child after each call
        self.arg_queue = CONTEXT.SimpleQueue()
        self.res_queue = CONTEXT.Queue()  # get() with a timeout: a hung child fails the test
        self.stop_event = CONTEXT.Event()
        self.process = CONTEXT.Process(
            target=_serve, args=(task, probe, self.arg_queue, self.res_queue, self.stop_event), daemon=True
        )
        self.process.start()

    def results(self, timeout: float) -> Iterator[Any]:
        """What the child sends for the call under way, until its end."""
        while True:
            try:
                result = self.res_queue.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"the GPU process sent nothing for {timeout:g} s: it hangs") from None
            if result == END:
                return
            if isinstance(result, Probed):
                self.probes.append(result.value)
                continue
            if isinstance(result, Raised):
                if isinstance(result.error, BaseException):
                    raise result.error
                raise AssertionError(f"the GPU process raised {result.error_cls}:\n{result.traceback}")
            yield result.value

    def close(self, timeout: float) -> int | None:
        """End the process (spaces sends SIGTERM); its exit code, None if it had to be killed."""
        self.arg_queue.put(None)
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
            return None
        return self.process.exitcode


def _serve(task: Callable[..., Any], probe: Any, arg_queue: Any, res_queue: Any, stop_event: Any) -> None:
    """The child: each call's handler on a new thread of an executor, its values sent back (spaces' thread_wrapper)."""
    while (call := arg_queue.get()) is not None:
        args, kwargs = call
        stop_event.clear()
        with ThreadPoolExecutor() as executor:
            executor.submit(_run_call, task, args, kwargs, res_queue, stop_event)
        if probe is not None:
            res_queue.put(Probed(probe()))
        res_queue.put(END)


def _run_call(task: Callable[..., Any], args: tuple, kwargs: dict, res_queue: Any, stop_event: Any) -> None:
    """One call of the handler in the child: what it returns, or each value it yields, or what it raised."""
    try:
        produced = task(*args, **kwargs)
        if not inspect.isgenerator(produced):
            res_queue.put(Ok(produced))
            return
        for value in produced:
            if stop_event.is_set():
                produced.close()
                return
            res_queue.put(Ok(value))
    except Exception as exc:
        res_queue.put(_raised(exc))


def _raised(exc: Exception) -> Raised:
    import pickle

    text = "".join(traceback.format_exception(exc))
    try:
        pickle.dumps(exc)
    except Exception:
        return Raised(type(exc).__name__, text)
    return Raised(type(exc).__name__, text, exc)


class ZeroGpu:
    """A stand-in for ``spaces.GPU``: each decorated handler runs in forked workers; see the module's docstring."""

    def __init__(self, timeout: float, probe: Callable[[], Any] | None = None) -> None:
        self.timeout = timeout
        self.probe = probe  # run in the child after each call; what it returns lands in the worker's ``probes``
        self.workers: list[Worker] = []  # every worker started, in order
        self.durations: list[Any] = []  # the duration each decoration asked for

    def GPU(self, task: Callable[..., Any] | None = None, *, duration: Any = None, **_: Any) -> Any:  # noqa: N802
        """``spaces.GPU``'s signature: ``@GPU``, ``@GPU(duration=60)``."""
        if task is None:
            return lambda fn: self.GPU(fn, duration=duration)
        self.durations.append(duration)
        idle: list[Worker] = []  # the handler's idle workers, reused as spaces reuses them

        def take() -> Worker:
            worker = idle.pop() if idle and idle[-1].process.is_alive() else Worker(task, self.probe)
            if worker not in self.workers:
                self.workers.append(worker)
            return worker

        if inspect.isgeneratorfunction(task):

            @wraps(task)
            def handler(*args: Any, **kwargs: Any) -> Iterator[Any]:
                worker = take()
                worker.arg_queue.put((args, kwargs))
                try:
                    yield from worker.results(self.timeout)
                except GeneratorExit:
                    worker.stop_event.set()
                    raise
                idle.append(worker)

            handler.on_zero_gpu = True  # type: ignore[attr-defined]  # for tests that check what is decorated
            return handler

        @wraps(task)
        def call(*args: Any, **kwargs: Any) -> Any:
            worker = take()
            worker.arg_queue.put((args, kwargs))
            [value] = list(worker.results(self.timeout))
            idle.append(worker)
            return value

        call.on_zero_gpu = True  # type: ignore[attr-defined]
        return call

    def close(self) -> list[int | None]:
        """End every worker; their exit codes (None: it had to be killed)."""
        return [worker.close(self.timeout) for worker in self.workers]
