"""The app's front door (``playground/ui/guard.py``) against a hostile visitor, in the running app.

Uploads, unknown event indices, poisoned session hashes and overlong URLs get a clean 4xx;
one session or one client address holds a bounded share of the queue, and the refused read
our busy message in their language; a visit whose client never listens is dropped unrun;
forgotten sessions leave Gradio's memory.
"""

from __future__ import annotations

import http.client
import json
import re
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest

from bench.server import queue_data
from tests import tiny_models
from tests.clients import api_client
from tests.waiting import WAIT_S, wait_until

LONG = 3000  # tokens of a request that keeps the long model busy for seconds


def _get(url: str, target: str) -> tuple[int, bytes]:
    """GET a raw request target (httpx refuses URLs over 65,536 characters before sending them)."""
    parts = urlparse(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=WAIT_S)
    connection.request("GET", target)
    response = connection.getresponse()
    return response.status, response.read()


def _fn_index(url: str, api_name: str) -> int:
    config = httpx.get(url + "config", timeout=WAIT_S).json()
    return next(d["id"] for d in config["dependencies"] if d.get("api_name") == api_name)


def _join(url: str, api_name: str, args: list, session: str, address: str | None = None, lang: str = "en"):
    fn_index, data = queue_data(url, api_name, args)
    headers = {"accept-language": lang}
    if address:
        headers["x-forwarded-for"] = address  # uvicorn trusts it from loopback, as from a Space's proxy
    body = {"data": data, "fn_index": fn_index, "session_hash": session}
    return httpx.post(url + "gradio_api/queue/join", json=body, headers=headers, timeout=WAIT_S)


def test_an_overlong_url_gets_a_clean_414_and_a_long_legal_one_the_page(app_url):
    status, body = _get(app_url, "/?tab=lab&task=" + "a" * 70_000)
    assert status == 414 and b"url:" in body and b"Traceback" not in body
    status, body = _get(app_url, "/?tab=lab&task=" + "a" * 30_000)
    assert status == 200 and b"<html" in body.lower()


def test_uploads_are_refused_and_nothing_is_stored(app_url, tmp_path):
    import tempfile

    cache = Path(tempfile.gettempdir()) / "gradio"
    before = {p for p in cache.rglob("*")} if cache.exists() else set()
    for path in ("gradio_api/upload", "gradio_api/upload?upload_id=abc", "upload"):
        response = httpx.post(app_url + path, files={"files": ("free-hosting.bin", b"x" * 100_000)}, timeout=WAIT_S)
        assert response.status_code == 403, path
        assert "uploads are refused" in response.json()["detail"]
    after = {p for p in cache.rglob("*")} if cache.exists() else set()
    assert not [p for p in after - before if p.name == "free-hosting.bin"]


def test_gradios_deep_link_route_writes_nothing(app_url):
    """Gradio's /deep_link writes a file of a live session's whole state on every GET: refused."""
    import tempfile

    client = api_client(app_url)  # a live session
    client.predict(**tiny_models.generate_kwargs("tiny", "Hi", max_new_tokens=2), api_name="/generate")
    cache = Path(tempfile.gettempdir()) / "gradio"
    before = {p for p in cache.rglob("*")} if cache.exists() else set()
    for lang, text in (("en", "no stored links"), ("fr", "pas de liens enregistrés")):
        response = httpx.get(
            app_url + f"gradio_api/deep_link?session_hash={client.session_hash}",
            headers={"accept-language": lang},
            timeout=WAIT_S,
        )
        assert response.status_code == 404 and response.json()["detail"].startswith(text)
    after = {p for p in cache.rglob("*")} if cache.exists() else set()
    assert not [p for p in after - before if "deep_links" in p.parts]


def test_an_unknown_event_index_gets_a_4xx_not_a_traceback(app_url):
    for index in (9999, -1, "0", None, True):
        response = httpx.post(
            app_url + "gradio_api/queue/join",
            json={"data": [], "fn_index": index, "session_hash": "abc123"},
            timeout=WAIT_S,
        )
        assert response.status_code == 422, index
        assert response.json() == {"detail": "fn_index: not an event of this app"}


def test_the_engines_record_of_ended_requests_is_not_served_unless_asked(app_url):
    assert httpx.get(app_url + "_debug/ended", timeout=WAIT_S).status_code == 404  # only with PLAYGROUND_DEBUG_RECORD=1


def test_direct_calls_that_would_skip_the_queue_are_refused(app_url):
    response = httpx.post(app_url + "gradio_api/run/generate", json={"data": tiny_models.long_args(3)}, timeout=WAIT_S)
    assert response.status_code == 404


@pytest.mark.parametrize(
    "request_kind",
    ["join", "data", "heartbeat", "cancel"],
)
def test_a_poisoned_session_hash_never_reaches_gradio(app_url, request_kind):
    poison = '"\\ud800"'
    fn = _fn_index(app_url, "generate")
    headers = {"content-type": "application/json", "accept-language": "fr"}
    if request_kind == "join":
        body = f'{{"data": [], "fn_index": {fn}, "session_hash": {poison}}}'
        response = httpx.post(app_url + "gradio_api/queue/join", content=body, headers=headers, timeout=WAIT_S)
    elif request_kind == "cancel":
        body = f'{{"fn_index": {fn}, "session_hash": {poison}, "event_id": "x"}}'
        response = httpx.post(app_url + "gradio_api/cancel", content=body, headers=headers, timeout=WAIT_S)
    elif request_kind == "data":
        response = httpx.get(app_url + "gradio_api/queue/data?session_hash=%ED%A0%80", headers=headers, timeout=WAIT_S)
    else:
        response = httpx.get(app_url + "gradio_api/heartbeat/a%20b", headers=headers, timeout=WAIT_S)
    assert response.status_code == 422
    assert "session_hash : doit faire de 1 à 64 lettres" in response.json()["detail"]
    kwargs = tiny_models.generate_kwargs("tiny", max_new_tokens=3)
    _text, details = api_client(app_url).predict(**kwargs, api_name="/generate")
    assert "**Done:** 3 tokens" in details


# -- fair shares and deaf clients, on the long model (its answers last seconds) -----------------


@pytest.fixture(scope="module")
def long_app(tiny_hub, long_model, tmp_path_factory):
    """The long model, 1 row at a time, 2 visits a session, 4 an address, 10 s to listen, 2 s TTL, 2-token steps."""
    from tests.conftest import DEBUG_RECORD, launch_app

    limits = {
        "max_batch_size": 1,
        "max_rows_per_visitor": 1,
        "max_events_per_session": 2,
        "max_events_per_address": 4,
        "listen_wait_s": 10,
        "session_ttl_s": 2,
        "step_tokens": 2,  # a long prompt takes hundreds of steps to prefill (longer than a Stop takes to arrive)
        "max_prompt_chars": 20_000,  # room for such a prompt
    }
    registry = tiny_models.with_long_model(tiny_hub, long_model, LONG, **limits)
    with launch_app(registry, tmp_path_factory, env=DEBUG_RECORD) as (url, log):
        yield url, log


def _refusals_logged(log) -> dict[str, int]:
    """The refusals the guard's log lines count, summed by reason."""
    counts: dict[str, int] = {}
    for line in re.findall(r"told \d+ visit\(s\) the app is busy: (.*)", log.read_text()):
        for count, why in re.findall(r"(\d+) for ([^,]+)", line):
            counts[why] = counts.get(why, 0) + int(count)
    return counts


def test_one_session_and_one_address_hold_a_bounded_share_and_others_are_served(long_app):
    url, log = long_app
    args = tiny_models.long_args(LONG)
    accepted = []
    refused = []
    for i in range(12):  # one client: one session, then fresh sessions from the same address
        session = "flood" if i < 3 else f"flood{i}"
        response = _join(url, "generate", args, session, address="203.0.113.7", lang="fr")
        (accepted if response.status_code == 200 else refused).append(response)
    assert len(accepted) == 4 and len(refused) == 8  # 2 of session "flood", 2 more from the address
    assert {r.status_code for r in refused} == {503}
    assert all("occupé : vous avez déjà" in r.json()["detail"] for r in refused)
    logged = {"a session's share": 1, "an address's share": 7}  # the operator's log counts them, one line a sweep
    wait_until(lambda: _refusals_logged(log) == logged, "the refusals in the log")
    other = api_client(url, headers={"x-forwarded-for": "198.51.100.2"})
    job = other.submit(**tiny_models.long_kwargs(3), api_name="/generate")  # another visitor: still queued, served
    # nobody listens to the flood: it is dropped, and the other visitor's answer comes
    _text, details = job.result(timeout=WAIT_S * 2)
    assert "**Done:** 3 tokens" in details


def test_a_visit_no_one_listens_for_is_dropped_unrun(long_app):
    url, log = long_app
    response = _join(url, "generate", tiny_models.long_args(LONG), "deafvisitor", address="192.0.2.44", lang="fr")
    assert response.status_code == 200
    event_id = response.json()["event_id"]
    wait_until(lambda: f"dropping event {event_id}" in log.read_text(), "the guard to drop the deaf visit")
    # a client that listens after all, late, is told why, in its language, and its stream closes
    messages = []
    with httpx.stream("GET", url + "gradio_api/queue/data?session_hash=deafvisitor", timeout=WAIT_S) as stream:
        for line in stream.iter_lines():
            if line.startswith("data:"):
                messages.append(json.loads(line[5:]))
                if messages[-1]["msg"] == "close_stream":
                    break
    completed = [m for m in messages if m["msg"] == "process_completed"]
    assert [(m["event_id"], m["success"]) for m in completed] == [(event_id, False)]
    assert completed[0]["output"]["error"].startswith("abandonnée sans être lancée : aucun client n'a écouté")
    # its share is free again: the same session may join twice more
    again = [_join(url, "generate", tiny_models.long_args(3), "deafvisitor", "192.0.2.44") for _ in range(2)]
    assert [r.status_code for r in again] == [200, 200]


def test_sessions_unused_for_their_ttl_are_forgotten(long_app):
    from bench.sessions import open_sessions, page_events

    url, log = long_app
    open_sessions(url, page_events(url, apply="link"), 30)  # thirty pages opened, each marked a page and given a link

    def forgotten() -> int:
        return sum(int(n) for n in re.findall(r"forgot (\d+) session", log.read_text()))

    wait_until(lambda: forgotten() >= 30, "the guard to forget the thirty sessions", every=0.5)
    assert _join(url, "generate", tiny_models.long_args(3), "afterwards").status_code == 200


def test_a_stop_during_a_long_prefill_reaches_the_engine_before_any_token(long_app):
    from tests.conftest import ended, latest_steps

    url, _log = long_app
    earlier = {e["request_id"] for e in ended(url, "long")}
    earlier |= {i for step in latest_steps(url, "long") for i in step["request_ids"]}

    def prefilling() -> list[int]:  # [the id of a new request in a prefill pass], once the batcher runs one
        steps = latest_steps(url, "long")
        new = [i for step in steps if step["kind"] in ("prefill", "chunk") for i in step["request_ids"]]
        return [i for i in new if i not in earlier][:1]  # a list: request 0 is an id too

    # 3,900 tokens (all the long model's context leaves beside the answer): 1,950 chunks of 2 tokens, a
    # prefill that outlasts the Stop's round trip many times over (the Stop lands after a few chunks)
    prompt = "word " * 3900
    kwargs = tiny_models.generate_kwargs("long", prompt, max_new_tokens=50)
    job = api_client(url, headers={"x-forwarded-for": "192.0.2.80"}).submit(**kwargs, api_name="/generate")
    [request_id] = wait_until(prefilling, "the request to be in its prefill in the engine", every=0.05)
    job.cancel()  # the page's Stop: POST /cancel for this event

    def ending() -> dict | None:
        return next((e for e in ended(url, "long") if e["request_id"] == request_id), None)

    end = wait_until(ending, "the Stop to end the request in the engine")
    assert end["reason"] == "cancelled" and end["tokens"] == 0 and end["steps"] > 0, end
