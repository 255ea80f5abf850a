"""The engine on every device present (CPU here; CUDA where a GPU is): batching, caches, branching, records.

Each test runs on an engine whose model cache loads the tiny models on one device, in
float32 (so a batched answer equals the same request alone, bit for bit, on any device).
What must hold everywhere: the weights are where the cache put them, requests that share
decode steps (with adapters, joining a running batch) answer as each alone, a branch keeps
the answer's first tokens and writes the chosen one, the explorer's record is the answer's
tokens with their alternatives, and a seed replays a sampled answer.
``bench/gpu_check.py`` runs this file first on a GPU machine.
"""

from __future__ import annotations

import math

import pytest
import torch

from playground.engine import Engine
from playground.engine.branching import Branch
from playground.models.loader import ModelCache
from tests.serving.test_batching import StepGate

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
PROMPTS = ["The sea otter is", "Once upon a time, in a small village by the sea, there lived", "Hello"]


@pytest.fixture(params=DEVICES)
def engine_on(request, tiny_hub):
    """An engine whose models load on the device of the parameter, in float32."""
    data = tiny_hub.registry_dict()
    for model in data["models"]:
        model["dtype"] = "float32"
    from playground.models.registry import Registry

    registry = Registry.from_dict(data, root=tiny_hub.root)
    engine = Engine(registry, ModelCache(registry, device=request.param))
    yield engine, request.param
    engine.close(wait_s=60)


def test_the_weights_and_every_answer_stay_on_the_device(engine_on):
    engine, device = engine_on
    loaded = engine.cache.get("tiny")
    assert loaded.device.type == device and next(loaded.model.parameters()).dtype == torch.float32
    cases = [(PROMPTS[0], None, 20), (PROMPTS[1], "style-a", 12), (PROMPTS[2], "style-b", 16)]
    alone = [engine.generate("tiny", p, {"max_new_tokens": n}, adapter=a) for p, a, n in cases]
    gate = StepGate(loaded.model)  # the first prefill waits until every request is in: they share steps
    streams = [engine.stream("tiny", p, {"max_new_tokens": n}, adapter=a) for p, a, n in cases]
    gate.wait_entered(1)
    gate.open()
    texts = ["".join(stream) for stream in streams]
    for stream, text, single in zip(streams, texts, alone, strict=True):
        assert stream.result.token_ids == single.token_ids and text == single.text
    batcher = engine.local.batcher("tiny")
    assert any(len(step.request_ids) == len(cases) for step in batcher.history)  # decode steps held every row


def test_a_branch_and_the_explorers_record_on_the_device(engine_on):
    engine, _ = engine_on
    original = engine.generate("tiny", PROMPTS[0], {"max_new_tokens": 12}, record_tokens=True)
    assert [record.token.id for record in original.tokens] == original.token_ids
    for record in original.tokens:
        assert record.alternatives and all(math.isfinite(a.probability) for a in record.alternatives)
        assert 0.0 < record.token.probability <= 1.0
        assert math.isclose(record.logprob, math.log(record.token.probability), rel_tol=1e-4)
    position = 4
    other = next(a for a in original.tokens[position].alternatives if a.id != original.token_ids[position])
    branch = Branch(tuple(original.token_ids), position, other.id)
    branched = engine.generate("tiny", PROMPTS[0], {"max_new_tokens": 12}, branch=branch, record_tokens=True)
    assert branched.token_ids[:position] == original.token_ids[:position]
    assert branched.token_ids[position] == other.id and branched.tokens[position].forced


def test_a_seed_replays_a_sampled_answer_on_the_device(engine_on):
    engine, _ = engine_on
    settings = {"max_new_tokens": 16, "temperature": 1.2, "top_k": 50, "seed": 1234}
    first = engine.generate("tiny", PROMPTS[1], settings)
    again = engine.generate("tiny", PROMPTS[1], settings)
    assert first.token_ids == again.token_ids and first.seed == again.seed == 1234
