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

Compiling takes a few tenths of a second per module. With :func:`cache_objects` set (the
loader sets it to the playground's cache folder), the machine code of each module is kept
on disk, named by a hash of its IR, the CPU and its features, and LLVM's version, with a
checksum of its bytes: a later start loads it instead of compiling, and a file whose bytes
do not match is compiled again.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import logging
import os
import tempfile
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
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
    emit: Any  # makes the machine code as text (compiles the module again: only when asked)

    @property
    def assembly(self) -> str:
        """The machine code as text, for tests and benchmarks that check the instructions used."""
        return str(self.emit())

    def function(self, name: str, restype: Any, *argtypes: Any) -> Any:
        """The function ``name`` as a ctypes callable (ctypes releases the GIL while it runs)."""
        return ctypes.CFUNCTYPE(restype, *argtypes)(self.addresses[name])


_lock = threading.Lock()
_openmp_pid: int | None = None  # the process in which the OpenMP symbols were bound
_object_dir: Path | None = None  # where compiled machine code is kept between starts (None: not kept)


def cache_objects(folder: Path | None) -> None:
    """Keep compiled machine code in ``folder`` between starts (None: compile every time)."""
    global _object_dir
    _object_dir = folder


def _object_path(ir: str, cpu: str, features: str, llvm: Any) -> Path | None:
    if _object_dir is None:
        return None
    version = ".".join(map(str, llvm.llvm_version_info))
    key = hashlib.sha256("\0".join([ir, cpu, features, version]).encode()).hexdigest()
    return _object_dir / f"{key[:32]}.o"


def _cached_object(path: Path | None) -> bytes | None:
    """The machine code kept at ``path``, when its checksum matches; None otherwise."""
    if path is None:
        return None
    try:
        data = path.read_bytes()
    except OSError:
        return None
    digest, code = data[:32], data[32:]
    if hashlib.sha256(code).digest() != digest:
        log.warning("compiled code in %s does not match its checksum: compiled again", path)
        return None
    return code


def _keep_object(path: Path | None, code: bytes) -> None:
    """Write ``code`` and its checksum to ``path`` atomically; a disk that refuses costs the next start a compile."""
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=path.name, delete=False) as scratch:
            scratch.write(hashlib.sha256(code).digest() + code)
        os.replace(scratch.name, path)
    except OSError as exc:
        log.info("compiled code not kept in %s: %s", path.parent, exc)


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
            cpu = cpu or llvm.get_host_cpu_name()
            machine = target.create_target_machine(cpu=cpu, features=features, opt=3)
            module = llvm.parse_assembly(ir)
            module.verify()
            kept = _object_path(ir, cpu, features, llvm)
            cached = _cached_object(kept)
            if cached is None:  # the module is optimised here; loaded code is already optimised
                builder = llvm.create_pass_builder(machine, llvm.create_pipeline_tuning_options(3))
                builder.getModulePassManager().run(module, builder)
            engine = llvm.create_mcjit_compiler(module, machine)
            engine.set_object_cache(
                notify_func=lambda _module, code: _keep_object(kept, code),  # called only for code compiled here
                getbuffer_func=lambda _module: cached,
            )
            engine.finalize_object()
        except RuntimeError as exc:
            raise JitUnavailableError(f"LLVM could not compile the module: {exc}") from exc
        names = [f.name for f in module.functions if not f.is_declaration]
        addresses = {name: engine.get_function_address(name) for name in names}

        @cache
        def emit() -> str:
            if cached is not None:  # loaded from the disk: optimise the module as a compile would have
                builder = llvm.create_pass_builder(machine, llvm.create_pipeline_tuning_options(3))
                builder.getModulePassManager().run(module, builder)
            return str(machine.emit_assembly(module))

        return Compiled(engine, addresses, emit)
