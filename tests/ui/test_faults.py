"""Faults in the running app: a generation that fails half-way, a model that cannot load.

The faulty model is real: a tiny GPT-2 with 24 positions that the registry says has a
context of 128 tokens, so the forward pass that reaches position 24 raises inside torch.
The broken model's folder holds a config.json that is not JSON.
"""

from __future__ import annotations

import threading

import pytest

from tests import tiny_models
from tests.clients import api_client

FAULT_AT = 24  # positions of the faulty model


@pytest.fixture(scope="module")
def fault_app(tiny_hub, tmp_path_factory):
    """The app on the tiny registry plus ``faulty`` and ``broken`` models."""
    from tests.conftest import launch_app

    root = tmp_path_factory.mktemp("faults")
    tiny_models.save_model(tiny_models.tiny_gpt2(seed=5, positions=FAULT_AT), tiny_hub.tokenizer, root / "faulty")
    broken = root / "broken"
    tiny_models.save_model(tiny_models.tiny_gpt2(seed=6), tiny_hub.tokenizer, broken)
    (broken / "config.json").write_text("{this is not json", encoding="utf-8")
    registry = tiny_hub.registry_dict()
    local = {"languages": ["en"], "context_length": tiny_models.CONTEXT, "prompt_style": "plain", "license": "mit"}
    local.update(tiny_models.FLOAT32)
    registry["models"] += [
        {"name": "faulty", "local_path": str(root / "faulty"), **local},
        {"name": "broken", "local_path": str(broken), **local},
    ]
    with launch_app(registry, tmp_path_factory) as (url, _log):
        yield url


def _kwargs(model: str, max_new_tokens: int) -> dict:
    return tiny_models.generate_kwargs(model, max_new_tokens=max_new_tokens)


def test_a_fault_half_way_reaches_that_user_and_the_others_go_on(fault_app):
    from gradio_client.exceptions import AppError

    other: dict = {}

    def meanwhile() -> None:  # another visitor, on another model, at the same time
        other["result"] = api_client(fault_app).predict(**_kwargs("tiny", 40), api_name="/generate")

    neighbour = threading.Thread(target=meanwhile)
    neighbour.start()
    job = api_client(fault_app).submit(**_kwargs("faulty", 60), api_name="/generate")
    with pytest.raises(AppError, match=r"generation failed after \d+ tokens: IndexError"):
        job.result()
    streamed = [text for text, _ in job.outputs()]
    assert streamed and streamed[-1].strip()  # it was writing when it failed: a fault half-way
    neighbour.join(timeout=120)
    text, details = other["result"]
    assert text and "**Done:** 40 tokens" in details

    client = api_client(fault_app)  # the server and the faulty model's worker go on
    text, details = client.predict(**_kwargs("faulty", 10), api_name="/generate")
    assert text and "**Done:** 10 tokens" in details
    text, details = client.predict(**_kwargs("tiny", 5), api_name="/generate")
    assert "**Done:** 5 tokens" in details


def test_a_model_that_cannot_load_says_so_and_the_others_stay_usable(fault_app):
    from gradio_client.exceptions import AppError

    client = api_client(fault_app)
    with pytest.raises(AppError, match=r"broken: config.json is not valid JSON"):
        client.predict(**_kwargs("broken", 5), api_name="/generate")
    with pytest.raises(AppError, match=r"broken: config.json is not valid JSON"):  # asked again: the same answer
        client.predict(**_kwargs("broken", 5), api_name="/generate")
    for model in ("tiny", "faulty"):
        text, details = client.predict(**_kwargs(model, 5), api_name="/generate")
        assert text and "**Done:** 5 tokens" in details, model
