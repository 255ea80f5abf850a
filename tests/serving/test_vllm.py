"""The remote backend against a real vLLM server (CPU, float32) serving the lesson model and its adapters.

The session's :func:`~tests.conftest.vllm_server` creates the vLLM venv once (``.venv-vllm/``),
exports the registry model's weights as the local engine loads them, and starts vLLM with
every adapter of the model as a LoRA module. An engine whose registry says the model is
remote is compared with the local engine, request for request.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from playground.engine import Engine
from playground.errors import BusyError, RemoteError, UnknownModelError, UnsupportedError
from playground.evaluation.scoring import score_text
from playground.models.registry import Registry, RemoteSpec, load_registry
from playground.serving.remote_backend import RemoteBackend
from tests.conftest import VLLM_MODEL
from tests.waiting import WAIT_S, wait_until

pytestmark = pytest.mark.vllm

PROMPTS = [("Le soir elle se rappelait", False), ("Give three tips for staying healthy.", True)]  # plain, chat
GREEDY = {"temperature": 0, "max_new_tokens": 24, "repetition_penalty": 1.1}
SAFETY_S = WAIT_S  # bound on any wait for the server (never reached when it works)


def _float32() -> Registry:
    """The project's registry with the lesson model served in float32 locally, as vLLM serves it (exact equality)."""
    registry = load_registry()
    spec = dataclasses.replace(registry.model(VLLM_MODEL), dtype="float32")
    return dataclasses.replace(registry, models={**registry.models, VLLM_MODEL: spec})


def _remote_registry(server, **changes) -> Registry:
    base = _float32()
    spec = RemoteSpec(
        model=VLLM_MODEL,
        base_url=server.base_url,
        served_name=server.base_name,  # the zero adapter: see playground/serving/vllm_server.py
        adapters={name: name for name in server.adapters if name != server.base_name},
        context_length=2048,
    )
    return dataclasses.replace(base, remote={VLLM_MODEL: dataclasses.replace(spec, **changes)})


@pytest.fixture(scope="module")
def local_engine():
    engine = Engine(_float32())
    yield engine
    engine.close(wait_s=60)


@pytest.fixture(scope="module")
def local_texts(vllm_server, local_engine) -> dict:
    """The local engine's greedy results for every (adapter, prompt) of the tests, computed once."""
    return {
        (adapter, prompt): local_engine.generate(VLLM_MODEL, prompt, GREEDY, adapter, use_prompt_style=styled)
        for adapter in _adapters(vllm_server)
        for prompt, styled in PROMPTS
    }


@pytest.fixture(scope="module")
def remote_engine(vllm_server):
    engine = Engine(_remote_registry(vllm_server))
    yield engine
    engine.close()


def _adapters(server) -> list[str | None]:
    names = [name for name in server.adapters if name != server.base_name]
    assert set(names) == {a.name for a in load_registry().adapters_of(VLLM_MODEL)}
    return [None, *names]


def _metric(server, name: str) -> float:
    """A counter or gauge of the server's Prometheus /metrics (summed over its labels)."""
    text = httpx.get(f"http://127.0.0.1:{server.port}/metrics", timeout=10).text
    values = [float(m.group(1)) for m in re.finditer(rf"^{re.escape(name)}(?:{{[^}}]*}})? (\S+)$", text, re.M)]
    assert values, f"{name} not in /metrics"
    return sum(values)


def test_greedy_text_through_vllm_equals_the_local_engine_for_the_base_and_each_adapter(
    vllm_server, local_engine, local_texts, remote_engine
):
    for adapter in _adapters(vllm_server):
        for prompt, styled in PROMPTS:
            here = local_texts[adapter, prompt]
            there = remote_engine.generate(VLLM_MODEL, prompt, GREEDY, adapter, use_prompt_style=styled)
            assert there.text == here.text, (adapter, prompt)
            assert there.token_ids == here.token_ids and there.finish_reason == here.finish_reason
            assert there.prompt_tokens == here.prompt_tokens
            assert there.source.startswith("vllm server http://127.0.0.1:")
    stopped = dict(GREEDY, stop=["\n"], max_new_tokens=60)
    here = local_engine.generate(VLLM_MODEL, "List three colours, one per line.", stopped, use_prompt_style=True)
    there = remote_engine.generate(VLLM_MODEL, "List three colours, one per line.", stopped, use_prompt_style=True)
    assert (there.text, there.finish_reason, there.stop_string) == (here.text, "stop_string", "\n")


def test_a_concurrent_batch_mixing_base_and_adapters_keeps_each_rows_own_output(
    vllm_server, local_texts, remote_engine
):
    jobs = [(adapter, prompt, styled) for adapter in _adapters(vllm_server) for prompt, styled in PROMPTS]
    expected = [local_texts[a, p].text for a, p, _ in jobs]
    streams = [remote_engine.stream(VLLM_MODEL, p, GREEDY, a, use_prompt_style=s) for a, p, s in jobs]
    texts = ["" for _ in streams]
    for i, stream in enumerate(streams):  # a first piece of each: all are in flight together
        texts[i] += next(stream)
    assert all(s.result.finish_reason is None for s in streams)
    for i, stream in enumerate(streams):
        texts[i] += "".join(stream)
    assert texts == expected
    assert [s.result.text for s in streams] == expected


def test_the_token_explorers_record_comes_from_the_servers_logprobs(vllm_server, local_engine, remote_engine):
    prompt, styled = PROMPTS[0]
    for adapter in _adapters(vllm_server):
        here = local_engine.generate(VLLM_MODEL, prompt, GREEDY, adapter, use_prompt_style=styled, record_tokens=True)
        there = remote_engine.generate(VLLM_MODEL, prompt, GREEDY, adapter, use_prompt_style=styled, record_tokens=True)
        assert there.token_ids == here.token_ids and len(there.tokens) == len(here.tokens) == here.completion_tokens
        for a, b in zip(there.tokens, here.tokens, strict=True):
            assert (a.token.id, a.token.piece, a.token.adjusted) == (b.token.id, b.token.piece, 1.0)  # greedy
            assert a.logprob == pytest.approx(b.logprob, abs=1e-3)
            assert [t.id for t in a.alternatives[:3]] == [t.id for t in b.alternatives[:3]]
        assert there.score.perplexity == pytest.approx(here.score.perplexity, rel=1e-3)
    sampled = {"temperature": 0.8, "top_k": 40, "top_p": 0.95, "max_new_tokens": 12, "seed": 3}
    there = remote_engine.generate(VLLM_MODEL, prompt, sampled, record_tokens=True)
    assert len(there.tokens) == there.completion_tokens
    for record in there.tokens:  # the sampled distribution, estimated from the server's 20 candidates
        assert 0 < record.token.probability <= 1 and 0 <= record.token.adjusted <= 1
        assert sum(t.adjusted for t in record.alternatives) <= 1 + 1e-6
    can = remote_engine.capabilities(VLLM_MODEL)
    assert can.record_tokens and not can.exact_adjusted and not can.branching


def test_the_labs_next_token_view_works_from_logprobs(vllm_server, local_engine, remote_engine):
    settings = {"temperature": 0.8, "top_k": 40, "top_p": 0.95}
    for adapter in _adapters(vllm_server):
        here = local_engine.inspect(VLLM_MODEL, "The capital of France is", settings, adapter, top=10)
        there = remote_engine.inspect(VLLM_MODEL, "The capital of France is", settings, adapter, top=10)
        assert there.missing is None and there.ids == here.ids and there.pieces == here.pieces
        assert [t.id for t in there.distribution[:5]] == [t.id for t in here.distribution[:5]]
        for a, b in zip(there.distribution, here.distribution, strict=False):
            if a.id == b.id:
                assert a.probability == pytest.approx(b.probability, rel=1e-3, abs=1e-6)
        assert sum(t.adjusted for t in there.distribution) <= 1 + 1e-6


def test_scoring_is_off_with_adapters_and_says_so(vllm_server, remote_engine):
    assert not remote_engine.capabilities(VLLM_MODEL).scoring  # prompt_logprobs + LoRA can crash vLLM 0.32
    with pytest.raises(UnsupportedError, match=f"{VLLM_MODEL}: its server .* cannot score a text"):
        score_text(remote_engine, VLLM_MODEL, "Le soir, elle se rappelait les paroles de sa mère.")


def test_compare_scores_through_prompt_logprobs_when_turned_on(vllm_server, local_engine):
    engine = Engine(_remote_registry(vllm_server, prompt_logprobs=True))
    text = "Le soir, elle se rappelait les paroles de sa mère, et elle pleurait en silence. " * 4
    for adapter in _adapters(vllm_server):
        here = score_text(local_engine, VLLM_MODEL, text, adapter, window=32)
        there = score_text(engine, VLLM_MODEL, text, adapter, window=32)  # one window at a time, nothing else running
        assert there["tokens"] == here["tokens"]
        assert there["perplexity"] == pytest.approx(here["perplexity"], rel=1e-3)
        assert there["accuracy"] == pytest.approx(here["accuracy"])
        assert there["source"].startswith("vllm server")
    engine.close()


def test_closing_a_stream_frees_the_request_on_the_server(vllm_server, remote_engine):
    def idle() -> bool:
        return _metric(vllm_server, "vllm:num_requests_running") == 0

    wait_until(idle, "the vLLM server to run no request", timeout=SAFETY_S)
    before = _metric(vllm_server, "vllm:generation_tokens_total")
    stream = remote_engine.stream(VLLM_MODEL, "Tell me a very long story.", {"temperature": 0, "max_new_tokens": 500})
    for _ in range(3):
        next(stream)
    stream.close()
    assert stream.result.finish_reason == "cancelled"
    wait_until(idle, "the vLLM server to drop the closed stream", timeout=SAFETY_S)  # the server dropped it ...
    assert _metric(vllm_server, "vllm:generation_tokens_total") - before < 250  # ... long before its 500 tokens


@pytest.fixture(scope="module")
def mixed_engine(vllm_server, tiny_hub):
    """The lesson model remote, a tiny model local, and two broken remote entries, in one engine."""
    data = tiny_hub.registry_dict()
    real = load_registry()
    registry = Registry.from_dict(data, root=tiny_hub.root)
    registry = dataclasses.replace(
        registry,
        models={**registry.models, VLLM_MODEL: real.models[VLLM_MODEL]},
        adapters={**registry.adapters, **{a.name: a for a in real.adapters_of(VLLM_MODEL)}},
    )
    good = _remote_registry(vllm_server).remote[VLLM_MODEL]
    lost = dataclasses.replace(good, adapters={"george-sand": "no-such-adapter", "alpaca": "alpaca"})
    down = dataclasses.replace(good, base_url=f"http://127.0.0.1:{_closed_port()}/v1", timeout_s=5)
    engines = {
        "good": Engine(dataclasses.replace(registry, remote={VLLM_MODEL: good})),
        "lost": Engine(dataclasses.replace(registry, remote={VLLM_MODEL: lost})),
        "down": Engine(dataclasses.replace(registry, remote={VLLM_MODEL: down})),
    }
    yield engines
    for engine in engines.values():
        engine.close(wait_s=60)


def _closed_port() -> int:
    from playground.serving.vllm_server import free_port

    return free_port()  # nothing listens there once the probe socket is closed


def test_an_unknown_adapter_and_a_server_down_give_clear_errors_while_local_models_keep_serving(mixed_engine):
    local_answer = mixed_engine["good"].generate("tiny", "The sea otter", {"max_new_tokens": 8}).text
    with pytest.raises(RemoteError) as lost:
        mixed_engine["lost"].stream(VLLM_MODEL, "Le soir", GREEDY, "george-sand")
    assert VLLM_MODEL in str(lost.value) and "'george-sand'" in str(lost.value) and "does not serve" in str(lost.value)
    assert mixed_engine["lost"].generate(VLLM_MODEL, "Le soir", GREEDY, "alpaca").text  # the others still work
    with pytest.raises(RemoteError) as down:
        mixed_engine["down"].stream(VLLM_MODEL, "Le soir", GREEDY)
    assert VLLM_MODEL in str(down.value) and "cannot be reached" in str(down.value)
    for name in ("lost", "down"):  # the local model of the same engine is untouched
        assert mixed_engine[name].generate("tiny", "The sea otter", {"max_new_tokens": 8}).text == local_answer
    with pytest.raises(UnknownModelError, match="adapter"):
        mixed_engine["good"].stream(VLLM_MODEL, "Le soir", GREEDY, "style-a")  # another model's adapter


class _Refusing(BaseHTTPRequestHandler):
    """A stub for the answers vLLM cannot be made to give here: every request is refused with ``status``."""

    status = 429

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        body = b'{"error": {"message": "server overloaded", "code": %d}}' % self.status
        self.send_response(self.status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.mark.parametrize("status", [429, 503])
def test_a_full_server_gives_the_busy_message(status):
    handler = type("Handler", (_Refusing,), {"status": status})
    stub = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=stub.serve_forever, daemon=True)
    thread.start()
    try:
        registry = load_registry()
        spec = RemoteSpec(
            model=VLLM_MODEL, base_url=f"http://127.0.0.1:{stub.server_port}/v1", served_name="m", adapters={}
        )
        engine = Engine(dataclasses.replace(registry, remote={VLLM_MODEL: spec}))
        with pytest.raises(BusyError, match=f"busy: the server of {VLLM_MODEL}") as busy:
            engine.stream(VLLM_MODEL, "Hello", {"max_new_tokens": 4})
        assert busy.value.args[0].localized("fr").startswith("occupé")
        assert isinstance(engine.backend(VLLM_MODEL), RemoteBackend)
        engine.close()
    finally:
        stub.shutdown()
        thread.join(10)
