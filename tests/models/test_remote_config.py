"""Remote entries of the registry and the PLAYGROUND_REMOTE overlay: checked like the rest, the bad key named."""

from __future__ import annotations

import pytest
import yaml

from playground.errors import ConfigError
from playground.models.registry import Registry, with_remote

GOOD = {"model": "tiny", "base_url": "http://127.0.0.1:8000/v1", "adapters": ["style-a"], "api_key_env": "VLLM_KEY"}


def _registry(tiny_hub, *entries) -> Registry:
    return Registry.from_dict(tiny_hub.registry_dict(remote=list(entries)), root=tiny_hub.root)


def test_a_remote_entry_is_read_with_its_defaults(tiny_hub):
    spec = _registry(tiny_hub, GOOD).remote["tiny"]
    assert spec.base_url == "http://127.0.0.1:8000/v1" and spec.served_name == "tiny"
    assert spec.adapters == {"style-a": "style-a"} and spec.api_key_env == "VLLM_KEY" and spec.dialect == "vllm"
    assert spec.prompt_logprobs is None and spec.timeout_s == 60.0
    assert "tiny-local" not in _registry(tiny_hub, GOOD).remote


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"base_url": "ftp://x"}, "remote[0].base_url"),
        ({"model": "nope"}, "remote[0].model"),
        ({"adapters": ["style-b-nope"]}, "remote[0].adapters"),
        ({"adapters": "style-a"}, "remote[0].adapters"),
        ({"api_key_env": "sk-123 secret"}, "remote[0].api_key_env"),
        ({"dialect": "tgi"}, "remote[0].dialect"),
        ({"timeout_s": 0}, "remote[0].timeout_s"),
        ({"context_length": 3}, "remote[0].context_length"),
        ({"prompt_logprobs": "yes"}, "remote[0].prompt_logprobs"),
        ({"api_key": "sk-123"}, "remote[0].api_key"),  # a key itself is an unknown key
    ],
)
def test_a_bad_remote_entry_names_the_key(tiny_hub, change, named):
    with pytest.raises(ConfigError) as error:
        _registry(tiny_hub, {**GOOD, **change})
    assert str(error.value).startswith(named + ":") or str(error.value).startswith(named + " ")


def test_an_adapter_of_another_model_is_refused(tiny_hub):
    entry = {**GOOD, "model": "tiny-local"}
    with pytest.raises(ConfigError, match=r"remote\[0\]\.adapters: 'style-a' is not an adapter of 'tiny-local'"):
        _registry(tiny_hub, entry)


def test_the_overlay_adds_or_replaces_entries(tiny_hub, tmp_path):
    registry = _registry(tiny_hub, GOOD)
    overlay = tmp_path / "remote.yaml"
    overlay.write_text(yaml.safe_dump({"remote": [{**GOOD, "base_url": "https://vllm.example.org/v1"}]}))
    assert with_remote(registry, overlay).remote["tiny"].base_url == "https://vllm.example.org/v1"
    assert registry.remote["tiny"].base_url == "http://127.0.0.1:8000/v1"  # the registry itself is unchanged
    overlay.write_text(yaml.safe_dump({"remote": [{**GOOD, "dialect": "tgi"}]}))
    with pytest.raises(ConfigError, match=r"remote\.yaml: remote\[0\]\.dialect"):
        with_remote(registry, overlay)
    overlay.write_text(yaml.safe_dump({"models": []}))
    with pytest.raises(ConfigError, match=r"remote\.yaml\.models: unknown key"):
        with_remote(registry, overlay)


def test_tabs_and_remote_entries_live_in_one_registry(tiny_hub):
    registry = Registry.from_dict(tiny_hub.registry_dict(remote=[GOOD], tabs={"generate": "tiny-local"}))
    assert registry.opening_model("generate") == "tiny-local" and registry.opening_model("lab") == "tiny"
    assert set(registry.remote) == {"tiny"}
    with pytest.raises(ConfigError, match=r"tabs\.lab: 'nope' is not a model of the registry"):
        Registry.from_dict(tiny_hub.registry_dict(remote=[GOOD], tabs={"lab": "nope"}))


def test_a_remote_model_refuses_what_its_server_cannot_do_before_any_request(tiny_hub):
    from playground.engine import Engine
    from playground.engine.branching import Branch
    from playground.errors import UnsupportedError
    from playground.messages import localize

    unreachable = {**GOOD, "base_url": "http://127.0.0.1:9/v1"}  # a request sent there would fail as RemoteError
    plain = {**unreachable, "model": "tiny-local", "adapters": [], "dialect": "openai"}
    engine = Engine(_registry(tiny_hub, unreachable, plain))
    try:
        vllm, openai = engine.capabilities("tiny"), engine.capabilities("tiny-local")
        assert vllm.record_tokens and not vllm.branching and not vllm.exact_adjusted  # records from logprobs
        assert not openai.record_tokens and not openai.branching and not openai.next_tokens
        refusals = [
            ("tiny", {"branch": Branch((1, 2), 0, 3)}, "cannot branch an answer", "ne sait pas bifurquer"),
            ("tiny-local", {"record_tokens": True}, "sends no token probabilities", "n'envoie pas les probabilités"),
        ]
        for model, asked, english, french in refusals:
            with pytest.raises(UnsupportedError) as caught:
                engine.stream(model, "Hello", {"max_new_tokens": 4}, **asked)
            assert str(caught.value).startswith(f"{model}: its server (")
            assert "http://127.0.0.1:9/v1" in str(caught.value) and english in str(caught.value)
            assert french in localize(caught.value, "fr")
    finally:
        engine.close(wait_s=60)


def test_the_local_backend_records_and_branches(tiny_hub):
    from playground.engine import Engine

    engine = Engine(_registry(tiny_hub, GOOD))
    try:
        local = engine.generate("tiny-local", "Hello", {"max_new_tokens": 4, "temperature": 0}, record_tokens=True)
        assert len(local.tokens) == local.completion_tokens > 0
        can = engine.capabilities("tiny-local")
        assert can.record_tokens and can.branching and can.exact_adjusted
    finally:
        engine.close(wait_s=60)
