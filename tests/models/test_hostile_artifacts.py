"""Hostile model and adapter folders are refused before anything in them is unpickled or imported.

Every hostile folder carries a live payload (tests/hostile.py): a pickle whose unpickling
creates a marker folder, a module whose import creates one. Each test asserts that the
loader refused the folder with a clear error, that no marker appeared, and that the audit
hook of :func:`tests.hostile.watch` saw no unpickling and no opening or import of a pickle
or code file from the folder. The first test shows that the payloads are live.
"""

from __future__ import annotations

import html
import importlib.util
import pickle
import re
import shutil
from pathlib import Path

import pytest
import torch

from playground.engine import Engine
from playground.errors import AdapterMismatchError, ModelLoadError, UnsafeArtifactError
from playground.models.loader import ModelCache
from playground.models.registry import Registry
from playground.models.safety import check_adapter_folder
from tests import tiny_models
from tests.clients import api_client
from tests.hostile import (
    ADAPTER_CASES,
    MODEL_CASES,
    Case,
    victim_model,
    watch,
    write_evil_module,
    write_pickle_bomb,
)
from tests.tiny_models import TINY_REPO, cache_snapshot, fake_sha

PROMPT = "Once upon a time"


@pytest.fixture(scope="module")
def victim(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small valid model folder; each test makes a hostile copy of it."""
    return victim_model(tmp_path_factory.mktemp("victim") / "model")


def _hostile_copy(source: Path, target: Path, markers: Path, case: Case) -> Path:
    shutil.copytree(source, target)
    markers.mkdir(exist_ok=True)
    case.edit(target, markers)
    return target


def _registry(tiny_hub, model: dict | None = None, adapter: Path | None = None) -> Registry:
    """The tiny registry with the adapter ``style-a``, plus a ``hostile-model`` and/or a ``hostile-adapter``."""
    data = tiny_hub.registry_dict()
    data["adapters"] = [data["adapters"][0]]
    if model is not None:
        entry = {"name": "hostile-model", "languages": ["en"], "context_length": 64, "prompt_style": "plain"}
        data["models"].append({**entry, "license": "mit", **model})
    if adapter is not None:
        entry = {"name": "hostile-adapter", "base": "tiny", "path": str(adapter), "task": "style", "language": "en"}
        data["adapters"].append({**entry, "license": "mit"})
    return Registry.from_dict(data, root=tiny_hub.root)


def test_the_payloads_are_live(tmp_path):
    """Control: loaded the unsafe way, the hostile files do run, and the audit hook sees it."""
    markers = tmp_path / "markers"
    markers.mkdir()
    archive = write_pickle_bomb(tmp_path / "pytorch_model.bin", markers / "torch-load")
    bare = write_pickle_bomb(tmp_path / "model.safetensors", markers / "pickle-load", zip_archive=False)
    module = write_evil_module(tmp_path, "modeling_evil_control", markers / "import")
    with watch(tmp_path) as seen:
        torch.load(archive, weights_only=False)
        pickle.loads(bare.read_bytes())
        spec = importlib.util.spec_from_file_location("modeling_evil_control", module)
        spec.loader.exec_module(importlib.util.module_from_spec(spec))
    assert sorted(p.name for p in markers.iterdir()) == ["import", "pickle-load", "torch-load"]
    assert f"opened {archive}" in seen
    assert "unpickled a reference to posix.mkdir" in seen
    assert any(s.startswith("executed code from") and s.endswith("modeling_evil_control.py") for s in seen)


def test_transformers_would_run_the_remote_code_if_asked(tmp_path, victim):
    """Control: with trust_remote_code the auto_map case's module is imported by transformers itself."""
    from transformers.dynamic_module_utils import get_class_from_dynamic_module

    folder = _hostile_copy(victim, tmp_path / "model", tmp_path / "markers", MODEL_CASES["auto-map-remote-code"])
    get_class_from_dynamic_module("modeling_evil.EvilForCausalLM", str(folder))
    assert (tmp_path / "markers" / "modeling-evil").is_dir()


@pytest.mark.parametrize("source", ["local folder", "Hub cache"])
@pytest.mark.parametrize("case_name", list(MODEL_CASES))
def test_hostile_model_is_refused_before_anything_is_unpickled_or_imported(
    tiny_hub, hf_home, victim, tmp_path, case_name, source
):
    case = MODEL_CASES[case_name]
    markers = tmp_path / "markers"
    if source == "local folder":
        folder = _hostile_copy(victim, tmp_path / "model", markers, case)
        model = {"local_path": str(folder)}
    else:
        repo, sha = f"playground-test/hostile-{case_name}", fake_sha(case_name)
        folder = cache_snapshot(hf_home, repo, sha, ref=None)
        folder.rmdir()
        _hostile_copy(victim, folder, markers, case)
        model = {"repo_id": repo, "revision": sha}
    cache = ModelCache(_registry(tiny_hub, model=model))
    with watch(folder) as seen, pytest.raises(UnsafeArtifactError, match=case.message):
        cache.get("hostile-model")
    assert seen == []
    assert list(markers.iterdir()) == []
    assert cache.get("tiny").adapters  # the other models still load


@pytest.mark.parametrize("case_name", list(ADAPTER_CASES))
def test_hostile_adapter_is_refused_and_the_base_and_other_adapters_still_serve(tiny_hub, tmp_path, case_name):
    case = ADAPTER_CASES[case_name]
    folder = _hostile_copy(tiny_hub.adapters["style-b"], tmp_path / "adapter", tmp_path / "markers", case)
    engine = Engine(_registry(tiny_hub, adapter=folder))
    with watch(folder) as seen:
        loaded = engine.cache.get("tiny")
    assert "hostile-adapter" not in loaded.adapters and "style-a" in loaded.adapters
    reason = loaded.adapter_errors["hostile-adapter"]
    assert re.search(case.message, reason), reason
    with pytest.raises(ModelLoadError, match="adapter 'hostile-adapter' could not be loaded: "):
        engine.stream("tiny", PROMPT, adapter="hostile-adapter")
    assert engine.generate("tiny", PROMPT, {"max_new_tokens": 3}, adapter="style-a").completion_tokens == 3
    assert engine.generate("tiny", PROMPT, {"max_new_tokens": 3}).completion_tokens == 3
    assert seen == []
    assert list((tmp_path / "markers").iterdir()) == []


def test_adapter_of_another_base_is_a_mismatch_error(tiny_hub, tmp_path):
    case = ADAPTER_CASES["other-base"]
    folder = _hostile_copy(tiny_hub.adapters["style-b"], tmp_path / "adapter", tmp_path / "markers", case)
    with pytest.raises(AdapterMismatchError, match=case.message):
        check_adapter_folder(folder, "adapter hostile-adapter", expected_base=TINY_REPO)


def test_pickles_beside_safetensors_are_never_opened(tiny_hub, victim, tmp_path):
    """A folder with safetensors weights and pickles beside them loads from the safetensors alone."""
    markers = tmp_path / "markers"
    markers.mkdir()
    model = tmp_path / "model"
    shutil.copytree(victim, model)
    write_pickle_bomb(model / "pytorch_model.bin", markers / "model-bin")
    write_pickle_bomb(model / "training_args.bin", markers / "training-args")
    adapter = tmp_path / "adapter"
    shutil.copytree(tiny_hub.adapters["style-b"], adapter)
    write_pickle_bomb(adapter / "adapter_model.bin", markers / "adapter-bin")
    engine = Engine(_registry(tiny_hub, model={"local_path": str(model)}, adapter=adapter))
    with watch(model, adapter) as seen:
        assert engine.generate("hostile-model", PROMPT, {"max_new_tokens": 3}).completion_tokens == 3
        assert engine.generate("tiny", PROMPT, {"max_new_tokens": 3}, adapter="hostile-adapter").completion_tokens == 3
    assert engine.cache.get("tiny").adapter_errors == {}
    assert seen == []
    assert list(markers.iterdir()) == []


def _generate(client, model: str, adapter: str = "(base)", max_new_tokens: int = 8) -> tuple[str, str]:
    kwargs = tiny_models.generate_kwargs(model, "Hi", adapter, max_new_tokens=max_new_tokens)
    return client.predict(**kwargs, api_name="/generate")


def test_the_app_starts_refuses_each_hostile_artifact_by_name_and_keeps_serving(hostile_app):
    """``python app.py`` on a registry full of hostile folders: each is refused by name, nothing runs."""
    from gradio_client.exceptions import AppError

    client = api_client(hostile_app.url)
    for case_name, case in ADAPTER_CASES.items():
        with pytest.raises(AppError) as refused:
            _generate(client, "scripted", adapter=f"evil-adapter-{case_name}")
        message = html.unescape(str(refused.value))  # Gradio messages are HTML: the app escapes them
        assert f"adapter 'evil-adapter-{case_name}' could not be loaded" in message
        assert re.search(case.message, message), message
    for case_name, case in MODEL_CASES.items():
        with pytest.raises(AppError) as refused:
            _generate(client, f"evil-model-{case_name}")
        message = html.unescape(str(refused.value))
        assert message.startswith(f"evil-model-{case_name}: ") and re.search(case.message, message), message
    for adapter in ("(base)", "scripted-style", "scripted-instructions"):  # the base and good adapters serve
        text, details = _generate(client, "scripted", adapter=adapter)
        assert text and "Done" in details
    assert list(hostile_app.markers.iterdir()) == []
    log = hostile_app.log.read_text()
    assert "default model scripted ready" in log
    assert all(f"adapter evil-adapter-{name} refused" in log for name in ADAPTER_CASES)
