"""The batcher on real tiny GPT-2 models: shared decode steps, per-row adapters, cancellation, faults.

A :class:`StepGate` (a forward pre-hook on the model, no core code replaced) holds every
forward pass until the test lets it through, so the tests decide exactly which requests
are waiting, running or joining, without relying on timing.
"""

from __future__ import annotations

import gc
import itertools
import os
import threading
import time

import pytest
import torch

from playground.engine import Engine
from playground.errors import BusyError, GenerationError
from tests.waiting import REQUEST_LIMIT_S, WAIT_S

PROMPTS = [
    "The sea otter is",
    "Once upon a time, in a small village by the sea, there lived",
    "Cette femme",
    "Name three French painters, and say why each one matters to",
    "Hello",
]
SAFETY_S = WAIT_S  # an upper bound for a wait that should end at once; never a measured time


class StepGate:
    """Holds each forward pass of ``model`` until the test releases it (in this process: a forked child passes)."""

    def __init__(self, model) -> None:
        self.entered = 0  # forward passes that reached the gate
        self._cond = threading.Condition()
        self._permits = 0
        self._pid = os.getpid()
        self._handle = model.register_forward_pre_hook(self._hook)

    def _hook(self, module, args) -> None:
        if os.getpid() != self._pid:  # a child forked while the gate held a pass (tests/ui/test_zero_gpu.py)
            return
        with self._cond:
            self.entered += 1
            self._cond.notify_all()
            if not self._cond.wait_for(lambda: self._permits > 0, SAFETY_S):
                raise RuntimeError("step gate: never released")
            self._permits -= 1

    def wait_entered(self, n: int) -> None:
        """Wait until the n-th forward pass has reached the gate (and is held there)."""
        with self._cond:
            assert self._cond.wait_for(lambda: self.entered >= n, SAFETY_S), f"forward pass {n} never came"

    def release(self, n: int = 1) -> None:
        """Let ``n`` more forward passes through."""
        with self._cond:
            self._permits += n
            self._cond.notify_all()

    def open(self) -> None:
        """Remove the gate; passes held there go on."""
        self._handle.remove()
        self.release(10_000)


def _alone(engine: Engine, prompt: str, settings: dict, adapter: str | None = None):
    """The result of a request run with no other request in the batcher."""
    return engine.generate("tiny", prompt, settings, adapter=adapter)


def _hf_generate(loaded, prompt: str, adapter: str | None, n: int) -> list[int]:
    ids = loaded.tokenizer(prompt, return_tensors="pt")
    with torch.inference_mode():
        out = loaded.model.generate(
            **ids,
            max_new_tokens=n,
            do_sample=False,
            pad_token_id=loaded.tokenizer.eos_token_id,
            adapter_names=[adapter or "__base__"],
        )
    return out[0, ids["input_ids"].shape[1] :].tolist()


def _steps_with(batcher, *requests) -> list:
    ids = {r.id for r in requests}
    return [s for s in batcher.history if ids <= set(s.request_ids)]


def test_concurrent_greedy_requests_equal_each_request_alone(engine):
    loaded = engine.cache.get("tiny")
    full = _alone(engine, PROMPTS[0], {"max_new_tokens": 30}).text
    stop = full[len(full) // 2 : len(full) // 2 + 3]
    cases = [
        (PROMPTS[0], None, {"max_new_tokens": 30, "stop": [stop]}),
        (PROMPTS[1], "style-a", {"max_new_tokens": 20}),
        (PROMPTS[2], "style-b", {"max_new_tokens": 12}),
        (PROMPTS[3], None, {"max_new_tokens": 25}),
        (PROMPTS[4], "style-a", {"max_new_tokens": 5, "repetition_penalty": 1.3}),
    ]
    alone = [_alone(engine, p, s, a) for p, a, s in cases]
    references = [_hf_generate(loaded, p, a, s["max_new_tokens"]) for p, a, s in cases[1:4]]

    gate = StepGate(loaded.model)
    streams = [engine.stream("tiny", p, s, adapter=a) for p, a, s in cases]
    gate.wait_entered(1)
    gate.open()
    texts = ["".join(stream) for stream in streams]

    for stream, text, single in zip(streams, texts, alone, strict=True):
        assert stream.result.token_ids == single.token_ids
        assert text == stream.result.text == single.text
        assert stream.result.finish_reason == single.finish_reason
    assert [s.result.token_ids for s in streams[1:4]] == references
    assert streams[0].result.finish_reason == "stop_string" and stop not in texts[0]
    assert {s.result.finish_reason for s in streams[1:]} == {"length"}
    assert _steps_with(
        engine.local.batcher(loaded.spec.name), *(s.request for s in streams)
    )  # all five shared decode steps


def test_a_request_arriving_mid_batch_joins_it_at_the_next_step(engine):
    loaded = engine.cache.get("tiny")
    expected_a = _alone(engine, PROMPTS[1], {"max_new_tokens": 24}).token_ids
    expected_b = _alone(engine, PROMPTS[0], {"max_new_tokens": 6}, "style-b").token_ids
    gate = StepGate(loaded.model)
    a = engine.stream("tiny", PROMPTS[1], {"max_new_tokens": 24})
    gate.wait_entered(1)
    gate.release(3)  # a's prefill and two decode steps
    gate.wait_entered(4)  # a's third decode step is under way
    b = engine.stream("tiny", PROMPTS[0], {"max_new_tokens": 6}, adapter="style-b")
    gate.release(1)  # ends a's step: b is admitted at this boundary
    gate.wait_entered(5)
    assert engine.local.batcher(loaded.spec.name).history[-1].kind == "prefill" and engine.local.batcher(
        loaded.spec.name
    ).history[-1].request_ids == (b.request.id,)
    gate.open()
    a.text()
    b.text()
    assert a.result.token_ids == expected_a and b.result.token_ids == expected_b
    shared = _steps_with(engine.local.batcher(loaded.spec.name), a.request, b.request)
    assert len(shared) == 6 - 1 and all(s.kind == "decode" for s in shared)  # b's later tokens rode a's steps
    assert b.request.steps[0] == a.request.steps[3] + 1


def test_seeded_sampling_per_row_does_not_depend_on_the_batch(engine):
    loaded = engine.cache.get("tiny")
    sampled = {"temperature": 1.0, "top_k": 40, "max_new_tokens": 16, "seed": 7}
    alone = _alone(engine, PROMPTS[0], sampled, "style-a").token_ids
    gate = StepGate(loaded.model)
    streams = [
        engine.stream("tiny", PROMPTS[3], {"temperature": 0.9, "max_new_tokens": 16, "seed": 8}),
        engine.stream("tiny", PROMPTS[0], sampled, adapter="style-a"),
        engine.stream("tiny", PROMPTS[1], {"max_new_tokens": 16}, adapter="style-b"),
    ]
    gate.open()
    for stream in streams:
        stream.text()
    assert streams[1].result.token_ids == alone and streams[1].result.seed == 7
    assert _steps_with(engine.local.batcher(loaded.spec.name), *(s.request for s in streams))


@pytest.mark.parametrize("how", ["close", "cancel_event", "garbage_collected"])
def test_a_cancelled_row_leaves_within_two_steps_and_the_others_go_on(engine, how):
    loaded = engine.cache.get("tiny")
    expected = _alone(engine, PROMPTS[1], {"max_new_tokens": 20}).token_ids
    gate = StepGate(loaded.model)
    cancel = threading.Event()
    keep = engine.stream("tiny", PROMPTS[1], {"max_new_tokens": 20})
    gate.wait_entered(1)
    leave = engine.stream("tiny", PROMPTS[0], {"max_new_tokens": 40}, adapter="style-a", cancel=cancel)
    gate.release(4)  # keep's prefill and first step, leave's prefill, a step together
    gate.wait_entered(5)
    request = leave.request
    assert _steps_with(engine.local.batcher(loaded.spec.name), keep.request, request)
    assert request.steps[-1] == engine.local.batcher(loaded.spec.name).steps  # leave is in the forward pass under way
    at = engine.local.batcher(loaded.spec.name).steps  # the forward pass under way when the request is cancelled
    if how == "close":
        leave.close()
        assert leave.result.finish_reason == "cancelled"
    elif how == "cancel_event":
        cancel.set()
    else:
        del leave
        gc.collect()
    assert request.cancelled
    gate.open()
    assert keep.text() and keep.result.token_ids == expected and keep.result.finish_reason == "length"
    assert len([s for s in request.steps if s >= at]) <= 2
    if how == "cancel_event":
        assert list(leave) == [] and leave.result.finish_reason == "cancelled"
    assert engine.local.batcher(loaded.spec.name).wait_idle(SAFETY_S)
    ended = {e.request_id: e for e in engine.ended()["tiny"]}  # the batcher's own record of how each ended
    assert ended[request.id].reason == "cancelled" and ended[request.id].steps == len(request.steps)
    assert 0 < ended[request.id].tokens < 40
    assert (ended[keep.request.id].reason, ended[keep.request.id].tokens) == ("length", 20)


def test_close_from_another_thread_wakes_a_blocked_reader(engine):
    loaded = engine.cache.get("tiny")
    gate = StepGate(loaded.model)
    stream = engine.stream("tiny", PROMPTS[0], {"max_new_tokens": 20})
    gate.wait_entered(1)  # the worker is held: no piece can come
    got: list = []
    reader = threading.Thread(target=lambda: got.extend(stream))
    reader.start()
    stream.close()
    reader.join(SAFETY_S)
    assert not reader.is_alive() and got == []
    assert stream.result.finish_reason == "cancelled"
    gate.open()
    assert engine.local.batcher(loaded.spec.name).wait_idle(SAFETY_S)
    assert len(stream.request.steps) <= 2  # its prefill, and at most one step more


@pytest.fixture()
def engine_with(tiny_hub):
    """Engines over the tiny registry with other limits (``engine_with(max_batch_size=1)``), closed after the test."""
    engines = []

    def make(**limits) -> Engine:
        limits = {"max_new_tokens": 64, "time_limit_s": REQUEST_LIMIT_S, **limits}
        engines.append(Engine(tiny_hub.registry(limits=limits)))
        return engines[-1]

    yield make
    for engine in engines:
        engine.close(wait_s=SAFETY_S)


@pytest.fixture()
def one_row(engine_with):
    """An engine serving one row at a time, with two places to wait."""
    return engine_with(max_batch_size=1, max_waiting=2)


def _one_running(engine: Engine):
    """The only row taken by a 4-token request held at the gate: (the loaded model, the gate, that stream)."""
    loaded = engine.cache.get("tiny")
    gate = StepGate(loaded.model)
    running = engine.stream("tiny", PROMPTS[0], {"max_new_tokens": 4})
    gate.wait_entered(1)
    return loaded, gate, running


def test_busy_when_the_wait_queue_is_full_and_nothing_changes(one_row):
    engine = one_row
    loaded, gate, running = _one_running(engine)
    waiting = [engine.stream("tiny", p, {"max_new_tokens": 4}) for p in PROMPTS[1:3]]
    with pytest.raises(BusyError, match="busy: 2 requests are already waiting for tiny; try again"):
        engine.stream("tiny", PROMPTS[3], {"max_new_tokens": 4})
    assert engine.local.batcher(loaded.spec.name).waiting == 2
    gate.open()
    for stream in [running, *waiting]:
        stream.text()
        assert stream.result.finish_reason == "length"
    # one at a time: no forward pass held two requests
    assert max(len(s.request_ids) for s in engine.local.batcher(loaded.spec.name).history) == 1
    assert engine.generate("tiny", PROMPTS[3], {"max_new_tokens": 4}).completion_tokens == 4


def test_a_fault_in_a_batched_forward_fails_that_batch_and_the_next_request_is_served(engine):
    loaded = engine.cache.get("tiny")
    engine.local.batcher(loaded.spec.name).idle_exit_s = SAFETY_S  # no idle exit between the requests below

    def explode(module, args, kwargs):
        if kwargs["input_ids"].shape == (2, 1):  # a decode step of both requests
            raise RuntimeError("injected batch fault")

    gate = StepGate(loaded.model)
    handle = loaded.model.register_forward_pre_hook(explode, with_kwargs=True)
    try:
        streams = [engine.stream("tiny", p, {"max_new_tokens": 10}) for p in PROMPTS[:2]]
        gate.open()
        for stream in streams:
            with pytest.raises(GenerationError, match="injected batch fault"):
                stream.text()
            assert stream.result.finish_reason == "error"
    finally:
        handle.remove()
    assert engine.generate("tiny", PROMPTS[2], {"max_new_tokens": 5}).completion_tokens == 5
    assert engine.local.batcher(loaded.spec.name).threads_started == 1  # the same worker went on


def test_a_fault_in_one_rows_token_choice_fails_only_that_row(engine, monkeypatch):
    loaded = engine.cache.get("tiny")
    expected = _alone(engine, PROMPTS[1], {"max_new_tokens": 12}).token_ids
    forward_rows = loaded.forward_rows

    def poison_style_b_in_decode_steps(adapters, **inputs):
        out = forward_rows(adapters, **inputs)
        if inputs["input_ids"].shape[1] == 1:
            for row, name in enumerate(adapters):
                if name == "style-b":
                    out.logits[row] = float("nan")  # sampling from NaN probabilities raises
        return out

    gate = StepGate(loaded.model)
    monkeypatch.setattr(loaded, "forward_rows", poison_style_b_in_decode_steps)
    good = engine.stream("tiny", PROMPTS[1], {"max_new_tokens": 12})
    gate.wait_entered(1)
    bad = engine.stream("tiny", PROMPTS[0], {"temperature": 1.0, "max_new_tokens": 12}, adapter="style-b")
    gate.open()
    with pytest.raises(GenerationError, match="generation failed after 1 tokens: RuntimeError"):
        bad.text()
    assert good.text() and good.result.token_ids == expected and good.result.finish_reason == "length"
    assert (
        len(_steps_with(engine.local.batcher(loaded.spec.name), good.request, bad.request)) == 1
    )  # the decode step bad failed in


def test_an_aborted_batcher_cancels_what_it_holds_and_exits(engine):
    loaded = engine.cache.get("tiny")
    gate = StepGate(loaded.model)
    running = engine.stream("tiny", PROMPTS[0], {"max_new_tokens": 20})
    gate.wait_entered(1)
    waiting = engine.stream("tiny", PROMPTS[1], {"max_new_tokens": 20})
    engine.local.batcher(loaded.spec.name).stop(drain=False)  # what happens at interpreter exit
    gate.open()
    assert engine.local.batcher(loaded.spec.name).join(SAFETY_S)
    for stream in (running, waiting):
        stream.text()
        assert stream.result.finish_reason == "cancelled"
    assert waiting.request.steps == [] and len(running.request.steps) <= 2


def test_one_worker_per_loaded_model_and_it_stops_when_the_model_leaves(tiny_hub):
    limits = {"max_new_tokens": 64, "time_limit_s": REQUEST_LIMIT_S, "max_loaded_models": 1}
    engine = Engine(tiny_hub.registry(limits=limits))
    try:
        first = engine.local.batcher("tiny")
        first.idle_exit_s = SAFETY_S  # alive until the model leaves, however slow the machine
        streams = [engine.stream("tiny", p, {"max_new_tokens": 8}) for p in PROMPTS for _ in range(2)]
        for stream in streams:
            stream.text()
        assert first.threads_started == 1 and first.is_alive()
        assert engine.generate("tiny-local", "Say hi.", {"max_new_tokens": 3}).completion_tokens == 3
        assert engine.cache.loaded_names() == ["tiny-local"]
        assert first.join(SAFETY_S)  # tiny left the cache: its worker exited
        local = engine.local.batcher("tiny-local")
        assert local.threads_started == 1
        local.idle_exit_s = 0.01
        assert engine.generate("tiny-local", "Say hi.", {"max_new_tokens": 3}).completion_tokens == 3
        assert local.join(SAFETY_S)  # an idle worker exits ...
        assert engine.generate("tiny-local", "Say hi.", {"max_new_tokens": 3}).completion_tokens == 3
        assert local.threads_started == 2  # ... and the next request starts another
    finally:
        engine.close(wait_s=SAFETY_S)


def test_shared_cache_pads_on_the_left_and_cuts_columns_no_row_uses():
    from transformers import DynamicCache

    from playground.serving.batch_cache import SharedCache, prefill_inputs

    def cache(values: torch.Tensor) -> DynamicCache:
        return DynamicCache(ddp_cache_data=[(values, values.clone())])

    inputs = prefill_inputs([[7, 8], [9, 10, 11]], pad_id=0, device="cpu")
    assert inputs["input_ids"].tolist() == [[0, 7, 8], [9, 10, 11]]
    assert inputs["position_ids"].tolist() == [[0, 0, 1], [0, 1, 2]]
    running = SharedCache(cache(torch.ones(1, 2, 5, 4)), torch.ones(1, 5, dtype=torch.long))
    joining = SharedCache(cache(torch.full((2, 2, 3, 4), 2.0)), inputs["attention_mask"])
    running.merge(joining)
    assert running.mask.tolist() == [[1, 1, 1, 1, 1], [0, 0, 0, 1, 1], [0, 0, 1, 1, 1]]
    keys = running.cache.layers[0].keys
    assert keys.shape == (3, 2, 5, 4) and keys[1, :, :2].abs().sum() == 0 and keys[1, :, 2:].eq(2).all()
    step = running.decode_inputs([5, 6, 7])
    assert step["position_ids"].tolist() == [[5], [2], [3]] and step["attention_mask"].shape == (3, 6)
    running.select([1, 2])  # the long row left: the two columns no one uses go
    assert running.mask.tolist() == [[0, 1, 1], [1, 1, 1]] and running.cache.layers[0].keys.shape == (2, 2, 3, 4)
    running.select([])
    assert len(running) == 0


# -- fair steps: chunked prefill, jobs in the budget, per-visitor shares, time from admission -----

LONG_PROMPT = " ".join(["the sea otter swims in the cold kelp forest"] * 9)  # ~100 tokens of the tiny model


@pytest.fixture()
def chunked(engine_with):
    """An engine whose steps prefill at most 16 tokens: the tiny model's long prompts take several chunks."""
    return engine_with(step_tokens=16, max_rows_per_visitor=2)


def _chunks(batcher, tokens: int) -> int:
    """How many chunks the batcher cuts a sequence of ``tokens`` into (fewer tokens each as its context grows)."""
    count = done = 0
    while done < tokens:
        done += batcher.chunk_size(done)
        count += 1
    return count


def _between_decodes(batcher, request) -> list[int]:
    """For each pair of consecutive decode steps of ``request``: how many other forward passes ran between."""
    decodes = [s.number for s in batcher.history if s.kind == "decode" and request.id in s.request_ids]
    return [b - a - 1 for a, b in itertools.pairwise(decodes)]


def test_a_long_prompt_is_prefilled_in_chunks_between_the_decode_steps_of_others(chunked):
    loaded = chunked.cache.get("tiny")
    batcher = chunked.local.batcher("tiny")
    expected_short = _alone(chunked, PROMPTS[1], {"max_new_tokens": 30}).token_ids
    expected_long = _alone(chunked, LONG_PROMPT, {"max_new_tokens": 8}).token_ids
    assert expected_long == _hf_generate(loaded, LONG_PROMPT, None, 8)  # chunked prefill = model.generate
    gate = StepGate(loaded.model)
    start = batcher.steps
    short = chunked.stream("tiny", PROMPTS[1], {"max_new_tokens": 30})
    gate.wait_entered(1)
    gate.release(3)  # short's prefill and two decode steps
    gate.wait_entered(4)
    long = chunked.stream("tiny", LONG_PROMPT, {"max_new_tokens": 8})
    gate.open()
    short.text()
    long.text()
    assert short.result.token_ids == expected_short and long.result.token_ids == expected_long
    steps = [s for s in batcher.history if s.number > start]
    chunks = [s for s in steps if s.kind == "chunk" and s.request_ids == (long.request.id,)]
    assert len(chunks) == _chunks(batcher, long.result.prompt_tokens) >= 6  # its whole prompt, 16 at most
    assert batcher.chunk_size(0) == 16 and batcher.chunk_size(100) < 16  # costlier later
    assert max(_between_decodes(batcher, short.request)) <= 1  # short never waited for more than a chunk
    first_chunk, last_chunk = chunks[0].number, chunks[-1].number
    assert any(s.kind == "decode" and first_chunk < s.number < last_chunk for s in steps)  # interleaved


@pytest.mark.parametrize("prefill_tokens", [8, 32])
def test_short_prompts_arriving_together_are_prefilled_together_up_to_prefill_tokens(engine_with, prefill_tokens):
    engine = engine_with(step_tokens=8, prefill_tokens=prefill_tokens, max_rows_per_visitor=8)
    loaded = engine.cache.get("tiny")
    batcher = engine.local.batcher("tiny")
    prompts = [PROMPTS[0], PROMPTS[2], PROMPTS[4], "The sea"]
    widths = [len(loaded.tokenizer(p)["input_ids"]) for p in prompts]
    assert max(widths) * len(prompts) <= 32 and max(widths) * 2 > 8  # all fit in 32, never all in 8
    alone = [_alone(engine, p, {"max_new_tokens": 6}).token_ids for p in prompts]
    gate = StepGate(loaded.model)
    first = engine.stream("tiny", PROMPTS[1], {"max_new_tokens": 12})
    gate.wait_entered(1)  # the first request's prefill is held: the others arrive meanwhile
    streams = [engine.stream("tiny", p, {"max_new_tokens": 6}) for p in prompts]
    gate.open()
    for stream in [first, *streams]:
        stream.text()
    assert [s.result.token_ids for s in streams] == alone  # however they were grouped
    width = {s.request.id: w for s, w in zip(streams, widths, strict=True)}
    prefills = [s for s in batcher.history if s.kind == "prefill" and set(width) & set(s.request_ids)]
    assert sorted(i for s in prefills for i in s.request_ids) == sorted(width)  # each prefilled once
    for step in prefills:  # each forward pass within the padded budget
        assert len(step.request_ids) * max(width[i] for i in step.request_ids) <= prefill_tokens
    if prefill_tokens == 32:
        assert len(prefills) == 1  # the four first tokens after one forward pass
    else:
        assert len(prefills) >= 2


def test_inspection_and_scoring_are_jobs_of_the_same_budgeted_steps(chunked):
    from playground.evaluation.scoring import score, score_examples, summarise, text_examples
    from playground.serving.inspection import last_logits

    loaded = chunked.cache.get("tiny")
    batcher = chunked.local.batcher("tiny")
    ids = loaded.tokenizer(LONG_PROMPT).input_ids
    with torch.inference_mode():
        direct = loaded.model(input_ids=torch.tensor([ids]), **loaded.forward_kwargs("style-a")).logits[:, -1]
    examples = text_examples(loaded.tokenizer, LONG_PROMPT * 3, window=16, max_windows=8)
    with loaded.forward_lock:
        alone = summarise(score_examples(loaded.model, examples, loaded.pad_token_id, 4, loaded.forward_kwargs(None)))
    gate = StepGate(loaded.model)
    start = batcher.steps
    decoding = chunked.stream("tiny", PROMPTS[0], {"max_new_tokens": 40})
    gate.wait_entered(1)
    got: dict = {}
    threads = [
        threading.Thread(target=lambda: got.update(logits=last_logits(loaded, ids, "style-a", batcher=batcher))),
        threading.Thread(target=lambda: got.update(scores=score(loaded, None, examples, batcher=batcher))),
    ]
    for thread in threads:
        thread.start()
    gate.open()
    for thread in threads:
        thread.join(SAFETY_S)
    decoding.text()
    assert torch.allclose(got["logits"], direct.float(), atol=1e-4)
    assert got["scores"]["perplexity"] == pytest.approx(alone["perplexity"], rel=1e-4)
    assert got["scores"]["tokens"] == alone["tokens"]
    kinds = [s.kind for s in batcher.history if s.number > start]
    assert kinds.count("logits") == _chunks(batcher, len(ids))
    assert kinds.count("score") == sum(_chunks(batcher, len(e.input_ids)) for e in examples)
    assert max(_between_decodes(batcher, decoding.request)) <= 1  # one chunk at most between its tokens


def test_one_visitor_holds_at_most_its_share_of_the_rows(chunked):
    loaded = chunked.cache.get("tiny")
    batcher = chunked.local.batcher("tiny")
    gate = StepGate(loaded.model)
    first = chunked.stream("tiny", PROMPTS[0], {"max_new_tokens": 20}, visitor="crowd")
    gate.wait_entered(1)
    crowd = [chunked.stream("tiny", p, {"max_new_tokens": 20}, visitor="crowd") for p in PROMPTS[1:4]]
    other = chunked.stream("tiny", PROMPTS[4], {"max_new_tokens": 5}, visitor="someone-else")
    gate.open()
    for stream in [first, *crowd, other]:
        stream.text()
        assert stream.result.finish_reason == "length"
    crowd_ids = {s.request.id for s in [first, *crowd]}
    assert max(len(crowd_ids & set(s.request_ids)) for s in batcher.history) == 2  # its share: 2 rows
    assert other.request.steps[0] < crowd[-1].request.steps[0]  # the other visitor passed the crowd's queue


def test_many_sessions_of_one_address_hold_at_most_its_share_of_the_rows(engine_with):
    from playground.serving.visitor_keys import Visitor

    engine = engine_with(max_batch_size=4, max_rows_per_visitor=2, max_rows_per_address=3)
    loaded = engine.cache.get("tiny")
    gate = StepGate(loaded.model)
    flood = [Visitor(f"flood-{i}", "203.0.113.66") for i in range(4)]  # a session each, one address
    first = engine.stream("tiny", PROMPTS[0], {"max_new_tokens": 20}, visitor=flood[0])
    gate.wait_entered(1)
    rest = [
        engine.stream("tiny", p, {"max_new_tokens": 20}, visitor=v)
        for p, v in zip(PROMPTS[1:4], flood[1:], strict=True)
    ]
    other = engine.stream("tiny", PROMPTS[4], {"max_new_tokens": 5}, visitor=Visitor("normal", "198.51.100.10"))
    gate.open()
    for stream in [first, *rest, other]:
        stream.text()
        assert stream.result.finish_reason == "length"
    flood_ids = {s.request.id for s in [first, *rest]}
    history = engine.local.batcher("tiny").history
    assert max(len(flood_ids & set(s.request_ids)) for s in history) == 3  # the address's share
    assert other.request.steps[0] < rest[-1].request.steps[0]  # the other address found a free row at once


def test_the_time_limit_counts_from_admission_not_from_queueing(one_row):
    engine = one_row
    _loaded, gate, running = _one_running(engine)
    waiting = engine.stream("tiny", PROMPTS[1], {"max_new_tokens": 4}, time_limit_s=1.0)
    limit_passed = threading.Event()
    threading.Timer(1.0, limit_passed.set).start()
    assert limit_passed.wait(SAFETY_S)  # it has waited longer than its limit ...
    assert waiting.request.deadline == float("inf")  # ... which has not started yet
    queued_until = time.monotonic()  # it is admitted after this, once the running request has ended
    gate.open()
    running.text()
    waiting.text()
    assert waiting.request.deadline >= queued_until + 1.0  # its second counted from its admission
    assert waiting.result.finish_reason in ("length", "time_limit")  # which of the two: how fast the machine is


def test_a_stopped_job_leaves_at_the_next_step(chunked):
    from playground.serving.forward_jobs import LogitsJob

    loaded = chunked.cache.get("tiny")
    batcher = chunked.local.batcher("tiny")
    ids = loaded.tokenizer(LONG_PROMPT).input_ids
    gate = StepGate(loaded.model)
    cancel = threading.Event()
    job = LogitsJob(ids, None, cancel=cancel)
    batcher.submit(job)
    gate.wait_entered(1)  # its first chunk is under way
    cancel.set()
    gate.open()
    with pytest.raises(GenerationError, match="stopped before the end"):
        job.wait(SAFETY_S)
    assert len(job.steps) <= 2 < _chunks(batcher, len(ids))


def test_latest_steps_name_each_forward_pass_of_a_request_in_order(engine):
    engine.generate("tiny", "The sea otter is", {"temperature": 0.0, "max_new_tokens": 3})
    ending = engine.ended()["tiny"][-1]
    steps = engine.latest_steps()["tiny"]
    kinds = [s.kind for s in steps if ending.request_id in s.request_ids]
    assert kinds[0] == "prefill" and set(kinds[1:]) == {"decode"} and len(kinds) == ending.steps
    numbers = [s.number for s in steps]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
