"""Where a base model's weights come from: a local folder, the Hub, or a bundled file.

:func:`load_base_model` tries the sources of a :class:`~playground.models.registry.ModelSpec` in
order (local folder, Hub or its cache, bundled GGUF) and returns the model, its tokenizer
and a human-readable label of the source that answered, e.g.
``"Hub HuggingFaceTB/SmolLM2-135M-Instruct@12fd25f (offline cache)"``. Every source runs
the checks of :mod:`playground.models.safety` first. A bundled GGUF file is dequantized once and
its weights are cached as safetensors, so later starts skip the ~20 s dequantization.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playground.errors import ModelLoadError, UnsafeArtifactError
from playground.messages import Message
from playground.models.atomic_folder import atomic_folder
from playground.models.registry import BundledFile, ModelSpec, Registry
from playground.models.safety import HUB_MODEL_PATTERNS, check_model_folder
from playground.models.saved_tokenizer import load_saved_tokenizer, save_tokenizer

log = logging.getLogger(__name__)

Progress = Callable[[str], None]
_DONE_MARKER = ".complete"


@dataclass
class LoadedWeights:
    """A model and tokenizer fresh from a source, and where they came from."""

    model: Any  # a transformers PreTrainedModel, in eval mode, on the target device
    tokenizer: Any  # its tokenizer
    source: str  # human-readable label of the source that answered
    int8: bool = False  # its products are int8 already (playground.models.int8_sources)


def hub_offline() -> bool:
    """True when huggingface_hub was told not to reach the network."""
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def playground_cache_dir() -> Path:
    """Folder for the playground's own caches (dequantized weights)."""
    from huggingface_hub import constants

    env = os.environ.get("PLAYGROUND_CACHE")
    return Path(env) if env else Path(constants.HF_HOME) / "playground"


def target_device() -> str:
    """``cuda`` when a GPU is visible, else ``cpu``."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def cpu_computes_bf16(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """True when this CPU multiplies bfloat16 natively (AVX512-BF16 or AMX), so bf16 halves the bytes for free."""
    try:
        flags = cpuinfo.read_text(encoding="utf-8", errors="replace").split()
    except OSError:  # not Linux: stay with float32
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def serving_dtype(choice: str, device: Any) -> Any:
    """The torch dtype a model is served in: the registry's ``dtype`` (``auto``, ``float32``, ``bfloat16``).

    ``auto`` is bfloat16 where the device computes it natively (a GPU that supports it, a CPU
    with AVX512-BF16 or AMX), float32 elsewhere: a decode step reads every weight, so half
    the bytes is up to twice the speed where the arithmetic keeps up.
    """
    import torch

    if choice == "int8":  # the parts of an int8 model that stay float (norms): float32 (see int8_sources)
        return torch.float32
    if choice != "auto":
        return getattr(torch, choice)
    if str(device).startswith("cuda"):
        native = torch.cuda.is_bf16_supported(including_emulation=False)  # a T4 only emulates it: slower
        return torch.bfloat16 if native else torch.float32
    return torch.bfloat16 if cpu_computes_bf16() else torch.float32


def _finish(model: Any, device: str, dtype: Any) -> Any:
    model.to(device=device, dtype=dtype)
    model.eval()
    return model


def _from_folder(
    folder: Path | str, device: str, dtype: Any, playground_cache: bool = False, **kwargs: Any
) -> tuple[Any, Any]:
    """Load model + tokenizer with the safe policy from a folder or a Hub repo id, weights in ``dtype``.

    ``playground_cache``: the folder is one :func:`save_model_folder` wrote, its tokenizer read by
    :func:`~playground.models.saved_tokenizer.load_saved_tokenizer`.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if playground_cache:
        tokenizer = load_saved_tokenizer(Path(folder))
    else:
        tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=False, **kwargs)
    model = AutoModelForCausalLM.from_pretrained(
        folder, trust_remote_code=False, use_safetensors=True, dtype=dtype, **kwargs
    )
    return _finish(model, device, dtype), tokenizer


def load_from_local(spec: ModelSpec, registry: Registry, device: str, dtype: Any) -> LoadedWeights:
    """Load from the registry entry's ``local_path`` folder."""
    folder = registry.resolve_path(spec.local_path or "")
    if not folder.is_dir():
        raise ModelLoadError(f"local folder {folder} does not exist")
    check_model_folder(folder, spec.name)
    model, tokenizer = _from_folder(folder, device, dtype)
    return LoadedWeights(model, tokenizer, Message("from_local", folder=str(folder)))


def load_from_hub(spec: ModelSpec, device: str, dtype: Any) -> LoadedWeights:
    """Load ``repo_id`` at its pinned revision from the Hub, or from its cache when offline."""
    from huggingface_hub import snapshot_download

    if spec.revision is None:
        raise UnsafeArtifactError(
            f"{spec.repo_id} has no pinned revision in the registry; run `python -m playground.models.pin`"
        )
    offline = hub_offline()
    folder = Path(snapshot_download(spec.repo_id, revision=spec.revision, allow_patterns=HUB_MODEL_PATTERNS))
    check_model_folder(folder, spec.name)
    model, tokenizer = _from_folder(spec.repo_id, device, dtype, revision=spec.revision)
    key = "from_hub_cache" if offline else "from_hub"
    return LoadedWeights(model, tokenizer, Message(key, repo=spec.repo_id, revision=spec.revision[:7]))


def package_version(name: str) -> str:
    """The installed version of the distribution ``name`` (ModelLoadError when it is not installed)."""
    return _distribution(name).version


def _distribution(name: str) -> importlib.metadata.Distribution:
    try:
        return importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        raise ModelLoadError(f"package {name!r} is not installed (pip install -r requirements.txt)") from None


def _installed_file(dist: importlib.metadata.Distribution, file: str) -> Path:
    path = Path(str(dist.locate_file(file)))
    if not path.is_file():
        raise ModelLoadError(f"{file} is not in package {dist.metadata['Name']} {dist.version}")
    return path


def installed_file(distribution: str, file: str) -> Path:
    """The path of ``file`` in the installed ``distribution``, found without importing it (else ModelLoadError)."""
    return _installed_file(_distribution(distribution), file)


def bundled_file_path(bundled: BundledFile) -> tuple[Path, str]:
    """Locate a whole bundled file without importing its package; returns (path, dist version)."""
    dist = _distribution(bundled.distribution)
    return _installed_file(dist, bundled.file), dist.version


def join_parts(bundled: BundledFile, target: Path) -> Path:
    """Join a chunked bundled file's parts into ``target`` (atomically) and check its sha256.

    The parts are located without importing their packages. A file already at ``target``
    is reused only when its digest matches.
    """
    assert bundled.parts and bundled.sha256
    if target.is_file() and _sha256(target) == bundled.sha256:
        return target
    paths = [_installed_file(_distribution(part.distribution), part.file) for part in bundled.parts]
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=target.name + ".", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            for path in paths:
                with path.open("rb") as chunk:
                    while block := chunk.read(1 << 20):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != bundled.sha256:
            raise ModelLoadError(
                f"{bundled.file} joined from {len(paths)} parts has sha256 {digest.hexdigest()[:12]}..., "
                f"the registry expects {bundled.sha256[:12]}..."
            )
        tmp.replace(target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def save_model_folder(model: Any, tokenizer: Any, target: Path, marker: str, note: str) -> None:
    """Write ``model`` and ``tokenizer`` as a safetensors folder at ``target``, atomically.

    The folder is written beside ``target`` and renamed into place with the file ``marker``
    (holding ``note``) in it, so a reader that finds the marker finds a whole folder.
    """
    with atomic_folder(target) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        save_tokenizer(tokenizer, tmp)
        (tmp / marker).write_text(note + "\n", encoding="utf-8")


def _save_dequantized(model: Any, tokenizer: Any, target: Path) -> None:
    """Write GGUF-dequantized weights as a safetensors model folder, atomically."""
    # The weights are plain float tensors once dequantized; forget the GGUF
    # quantizer so that save_pretrained writes them as ordinary safetensors.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    save_model_folder(model, tokenizer, target, _DONE_MARKER, "ok")


def bundled_cache(bundled: BundledFile, dtype: Any) -> tuple[Path, dict[str, str]]:
    """Where a bundled file's dequantized copy in ``dtype`` is cached (complete once it holds its marker), and what."""
    import torch

    version = _distribution(bundled.distribution).version
    name = Path(bundled.file).name
    what = {"package": bundled.distribution, "version": version, "file": name}
    stem = Path(name).stem + ("" if dtype == torch.float32 else f"-{str(dtype).removeprefix('torch.')}")
    return playground_cache_dir() / "dequantized" / f"{bundled.distribution}-{version}" / stem, what


def bundled_cache_ready(folder: Path) -> bool:
    """Whether the dequantized copy in ``folder`` (see :func:`bundled_cache`) is complete."""
    return (folder / _DONE_MARKER).is_file()


def load_from_bundled(spec: ModelSpec, device: str, dtype: Any, progress: Progress | None = None) -> LoadedWeights:
    """Load a GGUF file shipped in installed packages, using the safetensors cache.

    A chunked file is joined into a temporary folder first, then dequantized; only the
    dequantized safetensors copy is kept, in the dtype served (a bfloat16 copy is half the
    size and loads without conversion).
    """
    bundled = spec.bundled
    assert bundled is not None
    cached, what = bundled_cache(bundled, dtype)
    name = what["file"]
    if bundled_cache_ready(cached):
        check_model_folder(cached, spec.name)
        model, tokenizer = _from_folder(cached, device, dtype, playground_cache=True)
        return LoadedWeights(model, tokenizer, Message("from_bundled_cache", **what))
    if progress:
        progress(Message("progress_dequantize", file=name))
    with tempfile.TemporaryDirectory(prefix="playground-gguf-") as scratch:
        if bundled.parts:
            path = join_parts(bundled, Path(scratch) / name)
        else:
            path, _ = bundled_file_path(bundled)
        model, tokenizer = _dequantize(path)
    model.to(dtype=dtype)
    try:
        _save_dequantized(model, tokenizer, cached)
        log.info("cached dequantized weights of %s in %s", name, cached)
    except OSError as exc:  # a read-only disk costs speed on the next start, nothing else
        log.warning("could not cache dequantized weights in %s: %s", cached, exc)
    return LoadedWeights(_finish(model, device, dtype), tokenizer, Message("from_bundled_now", **what))


def _dequantize(path: Path) -> tuple[Any, Any]:
    """Model and tokenizer read from a GGUF file (weights dequantized to float32).

    The playground's own reader builds the architectures and block types it knows in seconds
    (the same tensors as transformers', bit for bit: :mod:`playground.models.gguf_model`);
    transformers' reader, about a minute for Gemma 3 270M, reads any other file.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from playground.models.gguf_model import GGUFModelError, load_gguf_float

    try:
        return load_gguf_float(path)
    except GGUFModelError as exc:
        log.info("%s is read by transformers: %s", path.name, exc)

    tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name, trust_remote_code=False)
    model = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name, trust_remote_code=False)
    return model, tokenizer


def weights_at_hand(spec: ModelSpec, registry: Registry) -> bool:
    """Whether a source of ``spec`` could provide its weights now, without loading anything.

    Its local folder exists; or its pinned Hub revision is reachable (online) or in the Hub
    cache (offline); or its bundled package is installed. A menu offers such models only:
    offline, a Hub model never downloaded is not at hand.
    """
    if spec.local_path and registry.resolve_path(spec.local_path).is_dir():
        return True
    if spec.repo_id and spec.revision is not None:
        if not hub_offline():
            return True
        from huggingface_hub import try_to_load_from_cache

        if isinstance(try_to_load_from_cache(spec.repo_id, "config.json", revision=spec.revision), str):
            return True
    if spec.bundled is not None:
        try:
            for distribution in [spec.bundled.distribution, *(p.distribution for p in spec.bundled.parts)]:
                _distribution(distribution)
        except ModelLoadError:
            return False
        return True
    return False


def load_base_model(
    spec: ModelSpec,
    registry: Registry,
    progress: Progress | None = None,
    device: str | None = None,
    dtype: str | None = None,
    bundled: Callable[[], LoadedWeights] | None = None,
) -> LoadedWeights:
    """Load a base model from the first source that can provide it, in ``dtype`` (default: the spec's).

    Raises UnsafeArtifactError when a source was refused on safety grounds (no fallback
    hides a hostile artifact), ModelLoadError when no source could provide the model. Any
    other error of a source (a malformed file can make transformers raise anything) counts
    as that source failing, so the caller always gets one of these two. ``bundled`` loads
    the bundled file in place of :func:`load_from_bundled` (the int8 weights' own reader).
    """
    device = device or target_device()
    torch_dtype = serving_dtype(dtype or spec.dtype, device)
    attempts: list[tuple[str, Callable[[], LoadedWeights]]] = []
    if spec.local_path:
        attempts.append((Message("source_local"), lambda: load_from_local(spec, registry, device, torch_dtype)))
    if spec.repo_id and (spec.revision is not None or not (spec.local_path or spec.bundled)):
        # An unpinned Hub entry is refused (load_from_hub says so) unless another source can
        # stand in for it: then the Hub is simply not asked until the entry is pinned.
        attempts.append((Message("source_hub"), lambda: load_from_hub(spec, device, torch_dtype)))
    if spec.bundled:
        default = lambda: load_from_bundled(spec, device, torch_dtype, progress)  # noqa: E731
        attempts.append((Message("source_bundled"), bundled or default))
    failures: list[str] = []
    for kind, attempt in attempts:
        if progress:
            progress(Message("progress_loading", model=spec.label, source=kind))
        try:
            loaded = attempt()
        except UnsafeArtifactError:
            raise
        except Exception as exc:  # a malformed artifact can make transformers raise anything
            log.info("%s: %s source failed: %s", spec.name, kind, exc)
            failures.append(f"{kind}: {type(exc).__name__}: {exc}".splitlines()[0])
            continue
        log.info("%s loaded from %s", spec.name, loaded.source)
        return loaded
    raise ModelLoadError(Message("model_load_failed", model=spec.name, reasons="; ".join(failures)))
