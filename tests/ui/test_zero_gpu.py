"""The app on ZeroGPU's process model: its GPU handlers run in processes forked while the server is mid-step.

``spaces`` is replaced by :class:`tests.zero_gpu.ZeroGpu` before the app is built, so the
Generate tab's handler is decorated as on a ZeroGPU Space: each call is run in a process
forked from this one (``multiprocessing.get_context('fork')``), its arguments and each
value it yields pickled through queues. The fork happens while the server's batcher is
held in a forward pass (a :class:`~tests.serving.test_batching.StepGate`): the model's
``forward_lock`` is taken, the batcher has a visitor's row. The child must still answer,
stream, record the tokens for the explorer, and leave nothing held; the server must go on
serving its visitor as if nothing happened.
"""

from __future__ import annotations

import itertools
import sys
import types
from dataclasses import dataclass

import pytest

from playground.ui.controls import settings_kwargs
from tests.serving.test_batching import SAFETY_S, StepGate
from tests.zero_gpu import ZeroGpu

PROMPT = "Once upon a time, in a small village by the sea, there lived"
SERVER_PROMPT = "The sea otter is"


@dataclass(frozen=True)
class Client:
    host: str


@dataclass(frozen=True)
class Request:
    """What the handler reads of Gradio's request (pickled into the GPU process, as spaces pickles it)."""

    session_hash: str
    client: Client
    headers: tuple[tuple[str, str], ...] = (("accept-language", "en"),)


def _held(engine) -> dict[str, int]:
    """In the child, after a call: what its batcher and the Stop watchers still hold."""
    from playground.ui.caller import CANCELS

    batchers = [batcher for _, batcher in engine.local._batchers.values()]
    for batcher in batchers:
        assert batcher.wait_idle(SAFETY_S)
    return {
        "waiting": sum(batcher.waiting for batcher in batchers),
        "running": sum(batcher._running for batcher in batchers),
        "stop_watchers": len(CANCELS),
    }


@pytest.fixture()
def zero_gpu(engine, monkeypatch):
    """``spaces.GPU`` as ZeroGPU runs it, installed before the app is built; its workers end after the test."""
    gpu = ZeroGpu(timeout=SAFETY_S, probe=lambda: _held(engine))
    monkeypatch.setitem(sys.modules, "spaces", types.SimpleNamespace(GPU=gpu.GPU))
    yield gpu
    gpu.close()


def _handler(demo, api_name: str | None, name: str | None = None):
    """The app's handler of ``api_name``, or the first one called ``name`` (events without an API name)."""
    return next(
        f.fn
        for f in demo.fns.values()
        if f.fn is not None and (f.api_name == api_name if api_name else f.fn.__name__ == name)
    )


def test_a_forked_gpu_call_answers_while_the_server_is_mid_step(engine, zero_gpu):
    from playground.ui.app import build_app

    demo = build_app(engine)
    generate = _handler(demo, "generate")
    assert zero_gpu.durations == [60] * len(zero_gpu.durations) and zero_gpu.durations  # each GPU handler asks 60 s
    settings = {"max_new_tokens": 16}
    alone = engine.generate("tiny", PROMPT, settings, adapter="style-a")  # what the child must answer
    server_alone = engine.generate("tiny", SERVER_PROMPT, {"max_new_tokens": 12})

    gate = StepGate(engine.cache.get("tiny").model)
    served = engine.stream("tiny", SERVER_PROMPT, {"max_new_tokens": 12})
    gate.wait_entered(1)  # the server's batcher is in a forward pass: forward_lock held, a row running
    updates = list(
        generate(
            model="tiny", adapter="style-a", prompt=PROMPT, use_prompt_style=False,
            **settings_kwargs(max_new_tokens=16), is_page=True,
            request=Request("visitor-on-gpu", Client("203.0.113.7")), progress=None,
        )
    )  # fmt: skip

    texts = [update[0] for update in updates]
    assert len(updates) > 3 and all(b.startswith(a) for a, b in itertools.pairwise(texts))  # streamed
    explored = updates[-1][2]
    assert texts[-1] == alone.text and explored.result.token_ids == alone.token_ids  # the adapter's answer
    assert explored.adapter == "style-a"
    assert [r.token.id for r in explored.records] == alone.token_ids  # the explorer's record came back
    assert all(r.alternatives for r in explored.records)
    [worker] = zero_gpu.workers
    assert worker.probes == [{"waiting": 0, "running": 0, "stop_watchers": 0}]  # the child holds nothing

    assert gate.entered == 1  # the server's pass is still held: the child computed on its own
    gate.open()
    assert "".join(served) == server_alone.text and served.result.token_ids == server_alone.token_ids
    again = engine.generate("tiny", PROMPT, settings, adapter="style-a")  # and the server goes on serving
    assert again.token_ids == alone.token_ids

    second = list(
        generate(
            model="tiny", adapter="(base)", prompt=SERVER_PROMPT, use_prompt_style=False,
            **settings_kwargs(max_new_tokens=12), is_page=False,
            request=Request("another-visitor", Client("198.51.100.4")), progress=None,
        )
    )  # fmt: skip
    assert second[-1][0] == server_alone.text  # the idle worker serves the next call, as spaces reuses it
    assert zero_gpu.workers == [worker] and worker.probes[-1] == worker.probes[0]

    position = 3  # a click on an alternative in the explorer: the branch runs in a GPU process of its own
    token = next(a.id for a in explored.records[position].alternatives if a.id != alone.token_ids[position])
    on_choice = _handler(demo, None, name="on_choice")
    click = types.SimpleNamespace(_data={"position": position, "token": token})  # what the page sends
    branched = list(on_choice(explored, click, request=Request("visitor-on-gpu", Client("203.0.113.7"))))
    assert len(branched) > 2 and branched[-1][2] == (position, token)
    assert len(zero_gpu.workers) == 2 and zero_gpu.workers[1].probes == worker.probes[:1]
    assert zero_gpu.close() == [0, 0]  # the children exit cleanly


MODEL_ENDPOINTS = {"generate", "lab_run", "lab_inspect", "compare", "generate_tokens", "branch"}


def test_every_endpoint_that_runs_a_model_asks_zero_gpu_for_a_gpu(engine, zero_gpu):
    from playground.ui.app import build_app

    demo = build_app(engine)
    endpoints = {f.api_name: f.fn for f in demo.fns.values() if isinstance(f.api_name, str)}
    pairs = {name for name in endpoints if name in ("style", "instructions")}  # the pair tabs the registry has
    assert set(endpoints) >= MODEL_ENDPOINTS
    assert [
        name for name in sorted(MODEL_ENDPOINTS | pairs) if not getattr(endpoints[name], "on_zero_gpu", False)
    ] == []
