"""A debug-only view of the engine's own record of ended requests, for the app's tests.

Off unless ``PLAYGROUND_DEBUG_RECORD=1`` (``app.py`` then installs :class:`EndedRecord`
behind the guard). ``GET /_debug/ended`` answers :meth:`Engine.ended
<playground.engine.Engine.ended>` as JSON: for each locally loaded model, its batcher's
latest ended requests, each its id, why it ended (``cancelled``, ``length``, ...) and how
many tokens it wrote. So a test of the running app sees that a Stop, a closed tab or a
dropped client ended the request in the batcher, from the batcher's record rather than
from the log's text. It is not a Gradio route (not in the API, ``/config`` or the page)
and carries no prompt, text or visitor: ids, reasons and counts only.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from playground.engine import Engine

PATH = "/_debug/ended"
ENV = "PLAYGROUND_DEBUG_RECORD"  # "1" installs it

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class EndedRecord:
    """ASGI middleware answering ``GET /_debug/ended``; every other request goes on to ``app``."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], engine: Engine) -> None:
        self.app = app
        self.engine = engine

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        record = {model: [dataclasses.asdict(e) for e in ended] for model, ended in self.engine.ended().items()}
        body = json.dumps(record).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
