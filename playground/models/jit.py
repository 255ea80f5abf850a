"""Machine code compiled in the process, for the host CPU, from LLVM IR (through llvmlite).

The kernels of :mod:`playground.models.int8_matmul` are written as LLVM IR text and
compiled here when the first model that needs them loads: no C compiler is needed on the
machine, only the ``llvmlite`` wheel (LLVM itself, as a library). LLVM picks the
instructions for the CPU it runs on (AVX2, AVX-512, NEON), so one IR text serves every
machine.

Parallel parts run on torch's own OpenMP thread pool: the IR calls ``GOMP_parallel`` of the
``libgomp`` that torch loaded, so a kernel and torch's operators share one team of threads
per calling thread (a second pool would make both wake sleeping threads on every region).
Where that runtime is not found (another OpenMP, another platform), or in a process forked
after the pool started (a forked child inherits no threads, and GNU OpenMP waits for them),
kernels run on the calling thread alone.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import threading
from dataclasses import dataclass
from functools import cache
from typing import Any

log = logging.getLogger(__name__)

OPENMP_SYMBOLS = ("GOMP_parallel", "omp_get_thread_num", "omp_get_num_threads")


class JitUnavailableError(RuntimeError):
    """The in-process compiler cannot be used here (llvmlite missing, or LLVM refused the module)."""


@dataclass(frozen=True)
class Compiled:
    """A compiled module: its functions' addresses, kept alive with the engine that owns them."""

    engine: Any  # llvmlite's execution engine (owns the machine code)
    addresses: dict[str, int]
    assembly: str  # the machine code as text, for tests and benchmarks that check the instructions used

    def function(self, name: str, restype: Any, *argtypes: Any) -> Any:
        """The function ``name`` as a ctypes callable (ctypes releases the GIL while it runs)."""
        return ctypes.CFUNCTYPE(restype, *argtypes)(self.addresses[name])


_lock = threading.Lock()
_openmp_pid: int | None = None  # the process in which the OpenMP symbols were bound


def _free_lock_in_child() -> None:
    """A forked child compiles with a lock of its own (a parent's thread may have been compiling)."""
    global _lock
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_free_lock_in_child)


@cache
def _llvm() -> Any:
    try:
        import llvmlite.binding as llvm
    except ImportError as exc:  # the wheel is missing: callers fall back
        raise JitUnavailableError(f"llvmlite is not installed: {exc}") from exc
    with contextlib.suppress(RuntimeError):  # llvmlite >= 0.45 initialises itself
        llvm.initialize()
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    return llvm


def host_cpu() -> str:
    """LLVM's name of this CPU (e.g. ``znver3``, ``sapphirerapids``), or ``unknown``."""
    try:
        return str(_llvm().get_host_cpu_name())
    except JitUnavailableError:
        return "unknown"


def _bind_openmp(llvm: Any) -> bool:
    """Make torch's OpenMP runtime's entry points known to LLVM; False when it is not found."""
    global _openmp_pid
    if _openmp_pid == os.getpid():
        return True
    import torch  # noqa: F401  (loads torch's libgomp first, so the name below finds that copy)

    try:
        runtime = ctypes.CDLL("libgomp.so.1", mode=ctypes.RTLD_GLOBAL)
        for name in OPENMP_SYMBOLS:
            llvm.add_symbol(name, ctypes.cast(getattr(runtime, name), ctypes.c_void_p).value)
    except (OSError, AttributeError) as exc:
        log.info("no GNU OpenMP runtime in this process (%s): kernels run on one thread", exc)
        return False
    _openmp_pid = os.getpid()
    return True


def openmp_usable() -> bool:
    """Whether kernels may start parallel regions here: the runtime is bound, in this very process.

    A forked child has the parent's memory but none of its threads; GNU OpenMP would wait for
    the parent's workers, so a child runs its kernels on one thread.
    """
    return _openmp_pid is not None and _openmp_pid == os.getpid()


def compile_module(ir: str, needs_openmp: bool = False, cpu: str | None = None) -> Compiled:
    """Compile LLVM IR text for this CPU, optimised; JitUnavailableError when it cannot be.

    ``cpu`` names another CPU to compile for (LLVM's names: ``haswell``, ``znver3``), with
    that CPU's instructions only: tests run the code an older CPU of the same family gets.
    """
    llvm = _llvm()
    with _lock:
        if needs_openmp and not _bind_openmp(llvm):
            raise JitUnavailableError("the module calls OpenMP, and no GNU OpenMP runtime is loaded")
        try:
            target = llvm.Target.from_default_triple()
            features = "" if cpu else llvm.get_host_cpu_features().flatten()
            machine = target.create_target_machine(cpu=cpu or llvm.get_host_cpu_name(), features=features, opt=3)
            module = llvm.parse_assembly(ir)
            module.verify()
            builder = llvm.create_pass_builder(machine, llvm.create_pipeline_tuning_options(3))
            builder.getModulePassManager().run(module, builder)
            engine = llvm.create_mcjit_compiler(module, machine)
            engine.finalize_object()
        except RuntimeError as exc:
            raise JitUnavailableError(f"LLVM could not compile the module: {exc}") from exc
        names = [f.name for f in module.functions if not f.is_declaration]
        addresses = {name: engine.get_function_address(name) for name in names}
        return Compiled(engine, addresses, machine.emit_assembly(module))
