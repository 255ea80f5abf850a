"""The pin command rewrites revision lines, keeping comments, and refuses pickle-only repos."""

from __future__ import annotations

import shutil

import pytest

from playground.errors import UnsafeArtifactError
from playground.models.pin import main, pin_text
from playground.models.registry import DEFAULT_REGISTRY_PATH, load_registry


def test_pin_text_changes_only_the_revision_lines():
    text = (
        "models:\n"
        "  - name: a  # first\n"
        "    repo_id: org/a\n"
        "    revision: null   # not pinned yet\n"
        "    license: mit\n"
        "  - name: b\n"
        "    repo_id: org/b\n"
        "    revision: " + "1" * 40 + "\n"
    )
    out = pin_text(text, {"org/a": "a" * 40})
    assert out == text.replace("revision: null   # not pinned yet", "revision: " + "a" * 40)


def test_pin_command_pins_every_hub_entry_of_the_shipped_registry(tmp_path):
    registry = tmp_path / "registry.yaml"
    shutil.copy(DEFAULT_REGISTRY_PATH, registry)
    asked = []

    def fake_hub(repo_id: str, branch: str):  # stands in for the Hub, which tests cannot reach
        asked.append((repo_id, branch))
        return format(abs(hash(repo_id)), "040x")[-40:], ["config.json", "model.safetensors"]

    assert main(["--registry", str(registry)], lookup=fake_hub) == 0
    pinned = load_registry(registry, root=tmp_path)
    for spec in pinned.models.values():
        if spec.repo_id:
            assert spec.revision == format(abs(hash(spec.repo_id)), "040x")[-40:]
    assert ("benjamin/gpt2-wechsel-french", "main") in asked
    assert "# the model the app loads first" in registry.read_text()  # comments kept


def test_pin_refuses_a_revision_without_safetensors(tmp_path):
    registry = tmp_path / "registry.yaml"
    shutil.copy(DEFAULT_REGISTRY_PATH, registry)
    before = registry.read_text()
    with pytest.raises(UnsafeArtifactError, match="no safetensors weights; not pinned"):
        main(["--registry", str(registry)], lookup=lambda repo, branch: ("f" * 40, ["pytorch_model.bin"]))
    assert registry.read_text() == before  # nothing changed
