"""The app behind a reverse proxy, as on a Space: each visitor is its own address, and a forged header gains nothing.

``python app.py`` runs with ``PLAYGROUND_PROXY_HOPS=1``; the visitors reach it only through
:class:`tests.reverse_proxy.ReverseProxy`, which appends each connection's address to
``X-Forwarded-For`` and connects to the app from 127.0.0.2. Each visitor connects to the
proxy from a loopback address of its own (bound as the source), so the app sees what a
Space's app sees: every connection from the proxy, the visitor only in the header.
"""

from __future__ import annotations

import json
from urllib.parse import urlparse

import httpx
import pytest

from bench.server import queue_data
from tests import tiny_models
from tests.reverse_proxy import ReverseProxy
from tests.waiting import WAIT_S

LONG = 3000  # tokens of a request that keeps the long model busy for seconds
FLOODER = "127.0.0.10"
VISITOR = "127.0.0.11"


@pytest.fixture(scope="module")
def proxied_app(tiny_hub, long_model, tmp_path_factory):
    """The long model, 1 row at a time, 4 visits an address, behind the proxy; the proxy's URL."""
    from tests.conftest import launch_app

    limits = {"max_batch_size": 1, "max_rows_per_visitor": 1, "max_events_per_address": 4, "listen_wait_s": 10}
    registry = tiny_models.with_long_model(tiny_hub, long_model, LONG, **limits)
    with launch_app(registry, tmp_path_factory, env={"PLAYGROUND_PROXY_HOPS": "1"}) as (url, _log):
        proxy = ReverseProxy(urlparse(url).port)
        try:
            yield proxy
        finally:
            proxy.close()


def _visitor(proxy: ReverseProxy, address: str) -> httpx.Client:
    """A visitor's HTTP client, connecting to the proxy from ``address``."""
    return httpx.Client(base_url=proxy.url, transport=httpx.HTTPTransport(local_address=address), timeout=WAIT_S)


def _join(client: httpx.Client, args: list, session: str, forged: str | None = None) -> httpx.Response:
    fn_index, data = queue_data(str(client.base_url), "generate", args)
    headers = {"x-forwarded-for": forged} if forged else {}
    body = {"data": data, "fn_index": fn_index, "session_hash": session}
    return client.post("gradio_api/queue/join", json=body, headers=headers)


def _completed(client: httpx.Client, session: str) -> list[dict]:
    """The session's completed events, read from its event stream until it closes."""
    completed = []
    with client.stream("GET", f"gradio_api/queue/data?session_hash={session}", timeout=WAIT_S * 2) as stream:
        for line in stream.iter_lines():
            if line.startswith("data:"):
                message = json.loads(line[5:])
                completed += [message] if message["msg"] == "process_completed" else []
                if message["msg"] == "close_stream":
                    break
    return completed


def test_one_visitors_flood_leaves_the_others_served_and_forged_headers_gain_nothing(proxied_app):
    proxy = proxied_app
    with _visitor(proxy, FLOODER) as flooder, _visitor(proxy, VISITOR) as visitor:
        responses = [
            _join(flooder, tiny_models.long_args(LONG), f"flood{i}", forged=forged)
            for i, forged in enumerate([None, "198.51.100.1", None, VISITOR] + [f"198.51.100.{i}" for i in range(8)])
        ]  # fresh sessions, and headers naming other addresses, the other visitor's among them
        statuses = [r.status_code for r in responses]
        assert statuses[:4] == [200] * 4 and statuses[4:] == [503] * 8  # one address's share, whatever it forged
        assert all("busy" in r.json()["detail"] for r in responses[4:])

        joined = _join(visitor, tiny_models.long_args(3), "other")  # charged nothing for the flooder's forgeries
        assert joined.status_code == 200
        [done] = _completed(visitor, "other")  # served while the flood holds its share
        assert done["success"] and "**Done:** 3 tokens" in done["output"]["data"][1]
    assert {FLOODER, VISITOR} <= proxy.peers  # both reached the app through the proxy only
