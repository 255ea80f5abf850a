"""The visitor's address as the platform sees it: the ``X-Forwarded-For`` entry the outermost trusted proxy wrote.

Behind a reverse proxy every connection comes from the proxy (on a Space, from an internal
address of the platform), so the connection's address is one address for every visitor,
and the fair shares per address (``limits.max_events_per_address``,
``limits.max_rows_per_address``) would cap the whole app. Each proxy that forwards a request
appends the address it received it from to ``X-Forwarded-For``; everything to the left of
what the trusted proxies appended is whatever the client sent, and a client can send
anything. So, with ``hops`` proxies in front of the app, the visitor's address is the
``hops``-th entry from the right: the one the outermost trusted proxy wrote, from the
connection it accepted. A forged header only adds entries further left, which are never
read.

:data:`ENV` (``PLAYGROUND_PROXY_HOPS``) says how many proxies there are: 1 on a Space
(the platform's proxy; the default where ``SPACE_ID`` is set), 0 with none (the default
elsewhere: the connection's own address), 1 behind one nginx or load balancer, 2 behind a
CDN in front of a load balancer. A request with fewer entries than that did not come
through the proxies, and its connection's address counts. :class:`ForwardedFor` writes the
address into the ASGI scope's ``client``, before the guard and Gradio read it, so fair
shares, ``gr.Request.client.host`` and the logs all see the visitor. uvicorn's own reading
of the header (from ``FORWARDED_ALLOW_IPS``) is turned off by ``app.py``: one rule decides.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

from playground.errors import ConfigError

ENV = "PLAYGROUND_PROXY_HOPS"
MAX_HOPS = 8  # more proxies than this in front of one app is a mistake in the setting

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]


def proxy_hops(environ: Mapping[str, str]) -> int:
    """The number of trusted proxies in front of the app: :data:`ENV`, else 1 on a Space, else 0."""
    raw = environ.get(ENV, "").strip()
    if not raw:
        return 1 if environ.get("SPACE_ID") else 0
    if not raw.isdigit() or int(raw) > MAX_HOPS:
        raise ConfigError(f"{ENV}: {raw!r} is not a number of proxies in [0, {MAX_HOPS}]")
    return int(raw)


def _address(entry: str) -> str | None:
    """An entry of ``X-Forwarded-For`` as an IP address (a port or IPv6 brackets dropped); None if it is none."""
    entry = entry.strip()
    if entry.startswith("["):  # [2001:db8::1]:443
        entry = entry[1 : entry.find("]")] if "]" in entry else ""
    elif entry.count(":") == 1:  # 203.0.113.7:51234
        entry = entry.split(":")[0]
    try:
        return str(ipaddress.ip_address(entry))
    except ValueError:
        return None


def client_address(peer: str | None, forwarded: list[str], hops: int) -> str | None:
    """The visitor's address: the ``hops``-th ``X-Forwarded-For`` entry from the right, else ``peer``.

    ``forwarded``: every ``X-Forwarded-For`` header of the request, in order (a proxy may
    add a header of its own rather than append to the client's). ``peer``: the
    connection's address, which counts with no proxy, when the request did not come
    through them all, or when the trusted entry is not an address.
    """
    if hops <= 0:
        return peer
    entries = [entry for header in forwarded for entry in header.split(",")]
    if len(entries) < hops:
        return peer
    return _address(entries[-hops]) or peer


class ForwardedFor:
    """ASGI middleware: the scope's ``client`` becomes the visitor's address (:func:`client_address`)."""

    def __init__(self, app: ASGIApp, hops: int) -> None:
        self.app = app
        self.hops = hops

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if self.hops > 0 and scope.get("type") in ("http", "websocket"):
            peer, port = scope.get("client") or (None, 0)
            forwarded = [v.decode("latin-1") for k, v in scope.get("headers", ()) if k.lower() == b"x-forwarded-for"]
            address = client_address(peer, forwarded, self.hops)
            if address is not None and address != peer:
                scope = {**scope, "client": (address, port)}
        await self.app(scope, receive, send)
