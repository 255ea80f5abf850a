"""Hostile model and adapter folders whose loading would leave a visible mark.

Every payload is harmless but visible: unpickling a :func:`write_pickle_bomb` file calls
``os.mkdir(marker)``, and importing a module written by :func:`write_evil_module` does
too. A test builds a hostile folder with its markers in one folder of its own, hands the
folder to the loader, and asserts that the marker folder stays empty.

:data:`MODEL_CASES` and :data:`ADAPTER_CASES` describe each hostile folder: how to turn a
valid folder into it, and the refusal it must get. The core tests
(``tests/models/test_hostile_artifacts.py``) and the hostile app of ``tests/conftest.py`` both use
them.

:func:`watch` is a second, direct proof inside the test process: a Python audit hook that
records, while a block runs, every global an unpickler resolves (``pickle.find_class``),
every opening of a pickle or Python file inside the watched folders, and every import or
``exec`` of code from them.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

MARKUP_BASE = '<img src="http://127.0.0.1:9/evil-base.png" onerror="window.__pwned=9">'  # an adapter's "base"

# What the scripted model writes (tests/tiny_models.py: scripted_gpt2): markup that would run
# script, hide the page, or fetch from 127.0.0.1:9 if it were rendered as HTML or Markdown.
HOSTILE_TEXTS = (
    "<script>window.__pwned=1</script>",
    '<img src=x onerror="window.__pwned=2">',
    '<a href="javascript:window.__pwned=3">click</a>',
    "<style>body{display:none}</style>",
    "![x](http://127.0.0.1:9/evil.png)",
    '<img src="http://127.0.0.1:9/evil.png">',
    '<iframe src="http://127.0.0.1:9/frame.html"></iframe>',
    "[click](javascript:window.__pwned=5)",
    '<svg onload="window.__pwned=6">',
)
HOSTILE_TEXT = " ".join(HOSTILE_TEXTS)
REMOTE = "127.0.0.1:9"  # where the hostile texts' images and frames point: nothing may be fetched from it


class PickleBomb:
    """An object whose unpickling calls ``os.mkdir(marker)``: the side effect proves it ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.mkdir, (self.marker,))


def write_pickle_bomb(path: Path, marker: Path, zip_archive: bool = True) -> Path:
    """Write a pickle at ``path`` that creates ``marker`` when unpickled.

    With ``zip_archive`` it is a ``torch.save`` file (what a real ``pytorch_model.bin`` is):
    ``torch.load(path, weights_only=False)`` would run it. Otherwise it is a bare pickle.
    """
    if zip_archive:
        torch.save({"transformer.wte.weight": PickleBomb(marker)}, path)
    else:
        path.write_bytes(pickle.dumps({"weight": PickleBomb(marker)}))
    return path


def write_evil_module(folder: Path, module: str, marker: Path, classes: tuple[str, ...] = ()) -> Path:
    """Write ``folder/<module>.py``: importing it creates ``marker``; it defines ``classes``."""
    body = [f"import os\n\nos.mkdir({str(marker)!r})\n"]
    body += [f"\n\nclass {name}:\n    pass\n" for name in classes]
    path = folder / f"{module}.py"
    path.write_text("".join(body), encoding="utf-8")
    return path


def edit_json(path: Path, **changes: Any) -> None:
    """Update the JSON object in ``path`` with ``changes``."""
    data = json.loads(path.read_text(encoding="utf-8"))
    data.update(changes)
    path.write_text(json.dumps(data), encoding="utf-8")


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _shard(folder: Path, weight_map_value: Callable[[str], str]) -> None:
    """Make ``model.safetensors`` a one-shard checkpoint; its index maps each tensor through ``weight_map_value``."""
    from safetensors import safe_open

    shard = folder / "model-00001-of-00001.safetensors"
    (folder / "model.safetensors").rename(shard)
    with safe_open(str(shard), framework="pt") as f:
        names = list(f.keys())
    index = {"metadata": {}, "weight_map": {name: weight_map_value(shard.name) for name in names}}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index), encoding="utf-8")


def victim_model(folder: Path) -> Path:
    """A small valid GPT-2 model folder (safetensors, GPT-2's tokenizer) to make hostile copies of."""
    from transformers import GPT2Config, GPT2LMHeadModel

    from tests.tiny_models import gpt2_tokenizer, save_model

    torch.manual_seed(0)
    config = GPT2Config(n_layer=1, n_head=1, n_embd=8, n_positions=64, vocab_size=50257)
    return save_model(GPT2LMHeadModel(config).eval(), gpt2_tokenizer(), folder)


Edit = Callable[[Path, Path], None]  # (folder to make hostile, folder its markers go to)


@dataclass(frozen=True)
class Case:
    """One hostile folder: how to make it from a valid one, and the refusal it must get."""

    edit: Edit
    message: str  # a regular expression the error message must match


def _json_case(file: str, message: str, **changes: Any) -> Case:
    """A case that only sets ``changes`` in the JSON file ``file`` of the folder."""
    return Case(lambda folder, markers: edit_json(folder / file, **changes), message)


def _weight_cases(weights: str, pickle_name: str) -> dict[str, Case]:
    """The cases on a folder's weights file ``weights`` (a model's or an adapter's).

    Pickle weights (``pickle_name``) instead of it; a bare pickle or a ``torch.save`` archive
    under its name; the file cut in half.
    """
    name = re.escape(weights)

    def pickle_only(folder: Path, markers: Path) -> None:
        (folder / weights).unlink()
        write_pickle_bomb(folder / pickle_name, markers / f"{pickle_name}-only")

    return {
        "pickle-weights-only": Case(pickle_only, rf"only pickle weights \({re.escape(pickle_name)}\)"),
        "pickle-named-safetensors": Case(
            lambda f, m: write_pickle_bomb(f / weights, m / f"{weights}-bare-pickle", zip_archive=False),
            rf"{name} is not a valid safetensors file \(it looks like a pickle",
        ),
        "torch-archive-named-safetensors": Case(
            lambda f, m: write_pickle_bomb(f / weights, m / f"{weights}-torch-archive"),
            rf"{name} is not a valid safetensors file \(it looks like a pickle or a torch\.save archive",
        ),
        "truncated-safetensors": Case(
            lambda f, m: _truncate(f / weights), rf"{name} is not a valid safetensors file: "
        ),
    }


def _remote_code_model(folder: Path, markers: Path) -> None:
    write_evil_module(folder, "configuration_evil", markers / "configuration-evil", ("EvilConfig",))
    write_evil_module(folder, "modeling_evil", markers / "modeling-evil", ("EvilForCausalLM",))
    auto_map = {"AutoConfig": "configuration_evil.EvilConfig", "AutoModelForCausalLM": "modeling_evil.EvilForCausalLM"}
    edit_json(folder / "config.json", auto_map=auto_map)


def _trust_remote_code_model(folder: Path, markers: Path) -> None:
    write_evil_module(folder, "modeling_evil", markers / "trusted-modeling-evil", ("EvilForCausalLM",))
    edit_json(folder / "config.json", trust_remote_code=True)


def _remote_code_tokenizer(folder: Path, markers: Path) -> None:
    write_evil_module(folder, "tokenization_evil", markers / "tokenization-evil", ("EvilTokenizer",))
    edit_json(folder / "tokenizer_config.json", auto_map={"AutoTokenizer": ["tokenization_evil.EvilTokenizer", None]})


def _index_to_pickle(folder: Path, markers: Path) -> None:
    _shard(folder, lambda shard: "pytorch_model.bin")
    write_pickle_bomb(folder / "pytorch_model.bin", markers / "index-bin")


MODEL_CASES: dict[str, Case] = {
    **_weight_cases("model.safetensors", "pytorch_model.bin"),
    "auto-map-remote-code": Case(_remote_code_model, r"config\.json has auto_map \(remote code\)"),
    "trust-remote-code": Case(_trust_remote_code_model, r"config\.json asks for trust_remote_code"),
    "hub-attention-kernel": _json_case(
        "config.json",
        r"config\.json attn_implementation='kernels-community/evil-attention' is not one of eager, sdpa",
        attn_implementation="kernels-community/evil-attention",
    ),
    "private-attention-key": _json_case(
        "config.json",
        r"config\.json _attn_implementation='my_kernel' is not one of eager, sdpa",
        _attn_implementation="my_kernel",
    ),
    "sub-config-attention": _json_case(
        "config.json",
        r"config\.json text_config\.attn_implementation='flash_attention_9'",
        text_config={"attn_implementation": "flash_attention_9"},
    ),
    "tokenizer-remote-code": Case(_remote_code_tokenizer, r"tokenizer_config\.json has auto_map \(remote code\)"),
    "shard-index-names-a-pickle": Case(
        _index_to_pickle, r"model\.safetensors\.index\.json names 'pytorch_model\.bin', which is not a safetensors"
    ),
    "shard-index-leaves-the-folder": Case(
        lambda f, m: _shard(f, lambda shard: f"../{shard}"), r"index\.json names '\.\./model-00001-of-00001"
    ),
}


def _auto_mapping_adapter(folder: Path, markers: Path) -> None:
    write_evil_module(folder, "modeling_evil", markers / "adapter-modeling-evil", ("EvilModel",))
    auto_mapping = {"base_model_class": "EvilModel", "parent_library": "modeling_evil"}
    edit_json(folder / "adapter_config.json", auto_mapping=auto_mapping)


ADAPTER_CASES: dict[str, Case] = {
    **_weight_cases("adapter_model.safetensors", "adapter_model.bin"),
    "auto-mapping": Case(_auto_mapping_adapter, r"adapter_config\.json sets auto_mapping \(imports classes\)"),
    "unknown-key": _json_case(
        "adapter_config.json", r"adapter_config\.json has unexpected keys: evil_hook", evil_hook="modeling_evil.run"
    ),
    "other-base": _json_case(
        "adapter_config.json",
        r"trained on base model 'openai-community/gpt2', but the registry attaches it to",
        base_model_name_or_path="openai-community/gpt2",
    ),
    "not-lora": _json_case("adapter_config.json", r"is not LORA", peft_type="PROMPT_TUNING"),
    "markup-in-config": _json_case(
        "adapter_config.json", r"trained on base model '<img src=", base_model_name_or_path=MARKUP_BASE
    ),
}


# ---- the audit hook -------------------------------------------------------------------

_CODE_OR_PICKLE = (".py", ".pyc", ".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")
_watches: list[tuple[tuple[str, ...], list[str]]] = []
_watch_lock = threading.Lock()
_hook_installed = False


def _inside(path: Any, folders: tuple[str, ...]) -> str | None:
    if isinstance(path, (str, bytes, os.PathLike)):
        text = os.path.abspath(os.fsdecode(path))
        if any(text == folder or text.startswith(folder + os.sep) for folder in folders):
            return text
    return None


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if not _watches or event not in ("pickle.find_class", "open", "import", "exec"):
        return
    try:
        for folders, seen in list(_watches):
            if event == "pickle.find_class":
                seen.append(f"unpickled a reference to {args[0]}.{args[1]}")
            elif event == "open" and (path := _inside(args[0], folders)) and path.endswith(_CODE_OR_PICKLE):
                seen.append(f"opened {path}")
            elif event == "import" and ("evil" in str(args[0]) or str(args[0]).startswith("transformers_modules")):
                seen.append(f"imported {args[0]}")
            elif event == "exec" and _inside(getattr(args[0], "co_filename", None), folders):
                seen.append(f"executed code from {args[0].co_filename}")
    except Exception:  # an audit hook must never raise into the code it watches
        return


@contextmanager
def watch(*folders: Path) -> Iterator[list[str]]:
    """Record, while the block runs, any unpickling and any use of pickles or code from ``folders``.

    Yields the list the records go into (empty if nothing happened). The audit hook is
    installed once per process (audit hooks cannot be removed) and idles between watches.
    """
    global _hook_installed
    with _watch_lock:
        if not _hook_installed:
            sys.addaudithook(_audit)
            _hook_installed = True
    paths = {os.path.abspath(f) for f in folders} | {os.path.realpath(f) for f in folders}
    entry: tuple[tuple[str, ...], list[str]] = (tuple(sorted(paths)), [])
    _watches.append(entry)
    try:
        yield entry[1]
    finally:
        _watches.remove(entry)
