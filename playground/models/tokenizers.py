"""A registry model's tokenizer on its own, without its weights (for the tokenizer lens).

:func:`load_tokenizer` tries, in order: the tokenizer files an installed package ships
(``bundled_tokenizer``: GPT-2's offline), the model's local folder, the folder the app
cached for a bundled model (its int8 or dequantized copy), the Hub at the pinned revision
(or its cache when offline), and last the bundled GGUF file's own tables. It raises
:class:`~playground.errors.ModelLoadError` naming the model when none answers.
:func:`tokenizer_key` says which models share one tokenizer (the GPT-2 sizes do).
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playground.errors import ModelLoadError, UnsafeArtifactError
from playground.models.registry import BundledTokenizer, ModelSpec, Registry
from playground.models.tokenizer_tables import drop_build_tables

log = logging.getLogger(__name__)


def tokenizer_key(spec: ModelSpec) -> str:
    """What identifies a model's tokenizer: models with the same key tokenize alike."""
    if spec.bundled_tokenizer is not None:
        return f"package:{spec.bundled_tokenizer.distribution}"
    if spec.local_path:
        return f"folder:{spec.local_path}"
    if spec.bundled is not None:
        return f"bundled:{spec.bundled.distribution}/{spec.bundled.file}"
    return f"hub:{spec.repo_id}@{spec.revision}"


def bpe_tokenizer(files: BundledTokenizer) -> Any:
    """A byte-level BPE tokenizer (GPT-2's) from the vocabulary and merges an installed package ships."""
    from transformers import GPT2Tokenizer

    from playground.models.sources import installed_file

    vocab = json.loads(installed_file(files.distribution, files.vocab).read_text(encoding="utf-8"))
    lines = installed_file(files.distribution, files.merges).read_text(encoding="utf-8").splitlines()
    merges = [tuple(line.split(" ")) for line in lines[1:] if line.strip()]
    return GPT2Tokenizer(vocab=vocab, merges=merges)


def _from_folder(folder: Path | str, **kwargs: Any) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(folder, trust_remote_code=False, **kwargs)


def _from_hub(spec: ModelSpec) -> Any:
    """The tokenizer at the pinned revision: the Hub, or only its local cache when the Hub is off."""
    from playground.models.sources import hub_offline

    return _from_folder(spec.repo_id or "", revision=spec.revision, local_files_only=hub_offline())


def _cached_copy(spec: ModelSpec) -> Any:
    """The tokenizer the app saved beside a bundled model's int8 or dequantized weights, once it loaded it."""
    import torch

    from playground.models.int8_model import folder_ready
    from playground.models.int8_sources import int8_cache
    from playground.models.sources import bundled_cache, bundled_cache_ready

    assert spec.bundled is not None
    for folder, ready in (
        (int8_cache(spec)[0], folder_ready),
        (bundled_cache(spec.bundled, torch.float32)[0], bundled_cache_ready),
        (bundled_cache(spec.bundled, torch.bfloat16)[0], bundled_cache_ready),
    ):
        if ready(folder):
            return _from_folder(folder)
    raise ModelLoadError(f"{spec.name}: no cached copy of its bundled file yet")


def _from_gguf(spec: ModelSpec) -> Any:
    """The tokenizer of the bundled GGUF file, from its own tables (the chunks joined first, if any)."""
    from playground.models.gguf_file import GGUFFile
    from playground.models.gguf_model import read_config, read_tokenizer
    from playground.models.sources import bundled_file_path, join_parts

    bundled = spec.bundled
    assert bundled is not None
    with tempfile.TemporaryDirectory(prefix="playground-gguf-") as scratch:
        path = join_parts(bundled, Path(scratch) / bundled.file) if bundled.parts else bundled_file_path(bundled)[0]
        gguf = GGUFFile(path)
        return read_tokenizer(gguf, read_config(gguf))


def _attempts(spec: ModelSpec, registry: Registry) -> list[Callable[[], Any]]:
    """The sources of ``spec``'s tokenizer, cheapest first."""
    attempts: list[Callable[[], Any]] = []
    if spec.bundled_tokenizer is not None:
        attempts.append(lambda: bpe_tokenizer(spec.bundled_tokenizer))
    if spec.local_path:
        attempts.append(lambda: _from_folder(registry.resolve_path(spec.local_path or "")))
    if spec.bundled is not None:
        attempts.append(lambda: _cached_copy(spec))
    if spec.repo_id and spec.revision:
        attempts.append(lambda: _from_hub(spec))
    if spec.bundled is not None:
        attempts.append(lambda: _from_gguf(spec))
    return attempts


def load_tokenizer(spec: ModelSpec, registry: Registry) -> Any:
    """``spec``'s tokenizer from the first source that has it (see the module's docstring)."""
    failures = []
    for attempt in _attempts(spec, registry):
        try:
            tokenizer = attempt()
            drop_build_tables(tokenizer)  # the lens keeps it: its Python copies of the tables it was built from go
            return tokenizer
        except UnsafeArtifactError:
            raise
        except Exception as exc:  # a missing file or package, an offline Hub: try the next source
            log.info("%s: a tokenizer source failed: %s", spec.name, exc)
            failures.append(f"{type(exc).__name__}: {exc}".splitlines()[0])
    raise ModelLoadError(f"{spec.name}: no tokenizer available here ({'; '.join(failures) or 'no source'})")
