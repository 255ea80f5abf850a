"""A debug-only view of the engine's own record of ended requests, for the app's tests.

Off unless ``PLAYGROUND_DEBUG_RECORD=1`` (``app.py`` then installs :class:`DebugRecord`
behind the guard). ``GET /_debug/ended`` answers :meth:`Engine.ended
<playground.engine.Engine.ended>` as JSON: for each locally loaded model, its batcher's
latest ended requests, each its id, why it ended (``cancelled``, ``length``, ...) and how
many tokens it wrote. So a test of the running app sees that a Stop, a closed tab or a
dropped client ended the request in the batcher, from the batcher's record rather than
from the log's text. ``GET /_debug/steps`` answers :meth:`Engine.latest_steps
<playground.engine.Engine.latest_steps>`: each model's latest forward passes, each its
number, kind (``prefill``, ``chunk``, ``decode``, ...) and the request ids in it, so that a
test can act while a given request is known to be in its prefill. Neither is a Gradio
route (not in the API, ``/config`` or the page), and they carry no prompt, text or
visitor: ids, kinds, reasons and counts only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable

from playground.engine import Engine
from playground.ui.guard import Receive, Scope, Send, send_json

PATH = "/_debug/ended"
STEPS_PATH = "/_debug/steps"
ENV = "PLAYGROUND_DEBUG_RECORD"  # "1" installs it


class DebugRecord:
    """ASGI middleware answering ``GET /_debug/ended`` and ``/_debug/steps``; every other request goes on to ``app``."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], engine: Engine) -> None:
        self.app = app
        self.engine = engine

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in (PATH, STEPS_PATH) or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        views = self.engine.ended() if scope["path"] == PATH else self.engine.latest_steps()
        record = {model: [dataclasses.asdict(item) for item in items] for model, items in views.items()}
        await send_json(send, 200, record)
