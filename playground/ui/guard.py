"""The app's front door: what reaches Gradio is bounded, valid, and shared fairly between visitors.

:class:`Guard` is an ASGI middleware in front of Gradio's routes (``app.py`` installs it
through ``launch(app_kwargs=...)``). Before Gradio sees a request it:

- refuses a query string longer than ``limits.max_url_chars`` (414; Gradio itself fails
  with a 500 on URLs past 65,536 characters) and a request body over :data:`MAX_BODY_BYTES` (413);
- refuses uploads (403): the app has no file input, so nothing is ever uploaded, stored or
  served back; and Gradio's ``/deep_link`` (404), which writes a file of a session's whole
  state on every GET: the app's own links carry their settings in the URL; and direct
  calls that would skip the queue (``/run/``, ``/api/``: 404);
- checks the identifiers a client chooses: session hashes (in a body, a query or a path)
  and event ids must be short ASCII tokens (:data:`TOKEN_RE`): a lone surrogate
  (``"\\ud800"``) makes Gradio's analytics raise after every later event, which then
  keeps every request's input (see ``docs/upstream/``); an unknown event index gets a 422,
  not Gradio's 500 with a traceback;
- gives each visitor a fair share of the queue: at most ``limits.max_events_per_session``
  visits of one session and ``limits.max_events_per_address`` of one client address
  waiting or running at once; more get 503 with our busy message in their language, as
  does everyone when the whole queue is full (Gradio's own answer is in English); the log
  counts these refusals by reason, one line per sweep however many there were;
- drops, unrun, a visit whose client never listens for its results: if no one opened the
  session's event stream within ``limits.listen_wait_s`` of its joining, its events leave
  the queue (a running one is told its client is gone, and stops at its next step); a
  client that listens after all, late, is told so in its language (``unheard``), instead
  of waiting for ever for an answer that will not come;
- carries a Stop to the engine (:data:`~playground.ui.caller.CANCELS`): a cancelled event,
  or a session whose event stream closes while its visits run, sets its handlers' cancel
  events, so a request still waiting for its first token (a long prompt being prefilled)
  ends at the engine's next step instead of running on;
- forgets sessions: every session unused for ``limits.session_ttl_s`` (and with nothing
  waiting or running) loses its state, and the count is capped by Gradio at
  ``limits.max_sessions`` (``launch(state_session_capacity=...)``).

The client address is the visitor's as the platform sees it: the ``X-Forwarded-For`` entry
the outermost trusted proxy wrote, which :class:`~playground.ui.forwarded.ForwardedFor`
puts in the scope before the guard runs (``PLAYGROUND_PROXY_HOPS``; 1 on a Space).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from gradio.server_messages import ProcessCompletedMessage

from playground.allocator import release_memory
from playground.messages import Message
from playground.models.registry import Limits
from playground.ui.caller import CANCELS, Cancels
from playground.ui.i18n import request_language, tr

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

API = "/gradio_api"
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # Gradio's page and client make [a-z0-9] and uuid4 strings
MAX_BODY_BYTES = 1 << 20  # a 100,000-character prompt of escaped emoji is 600 kB of JSON
JOIN_PATHS = re.compile(rf"^{API}/(queue/join|call/(v2/)?[^/]+)/?$")
LISTEN_PATHS = re.compile(rf"^{API}/(queue/data|call/(v2/)?[^/]+/(?P<event>[^/]+))/?$")
REFUSED_PATHS = re.compile(rf"^({API})?/(upload|upload_progress)/?$")
DEEP_LINK_PATHS = re.compile(rf"^{API}/deep_link/?$")  # Gradio's: writes a session's state to disk on a GET
DIRECT_PATHS = re.compile(rf"^{API}/(run|api)/")
PATH_TOKENS = re.compile(rf"^{API}/(heartbeat|stream)/(?P<token>[^/]+)")
BODY_PATHS = re.compile(rf"^{API}/(queue/join|call/(v2/)?[^/]+|cancel|component_server|reset)/?$")
MAX_PATH_CHARS = 4096  # no route of the app has a longer path
SWEEP_S = 30.0  # how often forgotten sessions are swept (or the TTL, when shorter)


@dataclass
class _Visit:
    """A joined event the guard keeps an eye on."""

    session: str  # the session hash (the event id for /call/, which has none)
    address: str  # the client address
    joined: float  # time.monotonic() when it joined
    lang: str = "en"  # the visitor's language, for a message after the request itself is gone


class Guard:
    """ASGI middleware; see the module's docstring. ``blocks`` is the Gradio app it guards."""

    def __init__(self, app: Any, blocks: Any, limits: Limits, cancels: Cancels = CANCELS) -> None:
        self.app = app
        self.cancels = cancels  # the handlers' cancel events: a Stop reaches the engine
        self.blocks = blocks
        self.limits = limits
        self.visits: dict[str, _Visit] = {}  # event id -> visit, until the event leaves Gradio's queue
        self.joining: Counter[str] = Counter()  # sessions and addresses with a join under way
        self.listening: Counter[str] = Counter()  # open event streams, by session hash or event id
        self.listened: dict[str, float] = {}  # when a stream last opened, by session hash or event id
        self.dropped = 0  # visits dropped because no one listened
        self.refused: Counter[str] = Counter()  # visits told the app is busy since the last sweep, by why
        self._sweeper: asyncio.Task | None = None

    # -- the middleware ------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep_forever())
        path: str = scope.get("path", "")
        query = scope.get("query_string", b"").decode("latin-1")
        lang = request_language(_Headers(scope))
        path_length = len(scope.get("raw_path", path.encode()) or b"")
        if len(query) > self.limits.max_url_chars or path_length > MAX_PATH_CHARS:
            # the query, not the whole URL: the page's events repeat its query after their own path
            count, limit = max(len(query), path_length), max(self.limits.max_url_chars, MAX_PATH_CHARS)
            await _answer(send, 414, Message("link_too_long", field="url", count=count, limit=limit), lang)
            return
        if REFUSED_PATHS.match(path):
            await _answer(send, 403, Message("uploads_refused"), lang)
            return
        if DEEP_LINK_PATHS.match(path):
            await _answer(send, 404, Message("deep_links_here"), lang)
            return
        if scope["method"] == "POST" and DIRECT_PATHS.match(path):
            await _answer(send, 404, Message("queue_only"), lang)
            return
        bad = self._bad_token(path, query)
        if bad is not None:
            await _answer(send, 422, bad, lang)
            return
        listen = LISTEN_PATHS.match(path) if scope["method"] == "GET" else None
        if listen:
            key = listen.group("event") or dict(parse_qsl(query)).get("session_hash", "")
            await self._listen(key, scope, receive, send)
            return
        if scope["method"] == "POST" and BODY_PATHS.match(path):
            await self._with_body(path, scope, receive, send, lang)
            return
        await self.app(scope, receive, send)

    def _bad_token(self, path: str, query: str) -> Message | None:
        for key, value in parse_qsl(query, keep_blank_values=True):
            if key in ("session_hash", "event_id", "upload_id") and not TOKEN_RE.match(value):
                return Message("bad_identifier", field=key)
        found = PATH_TOKENS.match(path)
        if found and not TOKEN_RE.match(found.group("token")):
            return Message("bad_identifier", field="session_hash")
        return None

    async def _listen(self, key: str, scope: Scope, receive: Receive, send: Send) -> None:
        self.listening[key] += 1
        self.listened[key] = time.monotonic()
        try:
            await self.app(scope, receive, send)
        finally:
            self.listening[key] -= 1
            if self.listening[key] <= 0:
                del self.listening[key]
                if any(v.session == key for v in self._live().values()):  # gone while its visits run
                    self.cancels.cancel(key)
            self.listened[key] = time.monotonic()

    async def _with_body(self, path: str, scope: Scope, receive: Receive, send: Send, lang: str) -> None:
        body = await _read_body(receive, MAX_BODY_BYTES)
        if body is None:
            await _answer(send, 413, Message("body_too_large", limit=MAX_BODY_BYTES), lang)
            return
        try:
            data = json.loads(body) if body else {}
        except ValueError:
            data = None  # not JSON: Gradio answers it (422)
        if isinstance(data, dict):
            bad = self._bad_body(data, join=path.endswith("/queue/join"))
            if bad is not None:
                await _answer(send, 422, bad, lang)
                return
        replay = _replay(body, receive)
        if path.endswith("/cancel") and isinstance(data, dict):
            self._cancel(data)
        if not JOIN_PATHS.match(path):
            await self.app(scope, replay, send)
            return
        session = data.get("session_hash") if isinstance(data, dict) else None
        address = (scope.get("client") or ("?", 0))[0]
        queue = self.blocks._queue
        if queue.max_size is not None and len(queue) >= queue.max_size:  # Gradio would say it in English
            self.refused["the queue full"] += 1
            await _answer(send, 503, tr("queue_full", lang), lang)
            return
        busy = self._refusal(session, address)
        if busy is not None:
            await _answer(send, 503, busy, lang)
            return
        keys = [k for k in (f"s:{session}" if session else None, f"a:{address}") if k]
        self.joining.update(keys)
        try:
            await self.app(scope, replay, _capture_event_id(send, self, session, address, lang))
        finally:
            self.joining.subtract(keys)
            for key in keys:
                if self.joining[key] <= 0:
                    del self.joining[key]

    def _bad_body(self, data: dict, join: bool) -> Message | None:
        for key in ("session_hash", "event_id"):
            value = data.get(key)
            if value is not None and not (isinstance(value, str) and TOKEN_RE.match(value)):
                return Message("bad_identifier", field=key)
        if join:
            index = data.get("fn_index")
            fns = getattr(self.blocks, "fns", {})
            if isinstance(index, bool) or not isinstance(index, int) or index not in fns:
                return Message("unknown_event", field="fn_index")
        return None

    def _cancel(self, data: dict) -> None:
        """The page or a client cancels an event: its handler's cancel event stops the engine's request."""
        session, index = data.get("session_hash"), data.get("fn_index")
        fn = getattr(self.blocks, "fns", {}).get(index) if isinstance(index, int) else None
        name = getattr(fn, "api_name", None)
        if isinstance(session, str) and isinstance(name, str):
            self.cancels.cancel(session, name)

    # -- fair shares -----------------------------------------------------------------
    def _live(self) -> dict[str, _Visit]:
        """The visits whose events are still in Gradio's queue (waiting or running)."""
        events = self.blocks._queue.event_ids_to_events
        for event_id in [e for e in self.visits if e not in events]:
            del self.visits[event_id]
        return self.visits

    def _refusal(self, session: str | None, address: str) -> Message | None:
        live = self._live().values()
        mine = sum(1 for v in live if v.address == address) + self.joining[f"a:{address}"]
        if mine >= self.limits.max_events_per_address:
            self.refused["an address's share"] += 1
            return Message("busy_visitor", count=mine)
        if session:
            mine = sum(1 for v in live if v.session == session) + self.joining[f"s:{session}"]
            if mine >= self.limits.max_events_per_session:
                self.refused["a session's share"] += 1
                return Message("busy_visitor", count=mine)
        return None

    def joined(self, event_id: str, session: str | None, address: str, lang: str = "en") -> None:
        """A join was accepted: keep count of it, and drop it if its client never listens."""
        visit = _Visit(session or event_id, address, time.monotonic(), lang)
        self.visits[event_id] = visit
        asyncio.get_running_loop().create_task(self._drop_unheard(event_id, visit, by_session=session is not None))

    async def _drop_unheard(self, event_id: str, visit: _Visit, by_session: bool) -> None:
        await asyncio.sleep(self.limits.listen_wait_s)
        key = visit.session if by_session else event_id
        if self.listening[key] > 0 or self.listened.get(key, -1.0) >= visit.joined:
            return
        queue = self.blocks._queue
        if event_id not in queue.event_ids_to_events:
            return
        log.info("dropping event %s: no client listened within %g s", event_id, self.limits.listen_wait_s)
        self.dropped += 1
        self.cancels.cancel(visit.session)
        mine = (lambda e: e.session_hash == visit.session) if by_session else (lambda e: e._id == event_id)
        dropped = [e for e in list(queue.event_ids_to_events.values()) if mine(e)]
        if by_session:
            await queue.clean_events(session_hash=visit.session)
        else:
            await queue.clean_events(event_id=event_id)
        text = Message("unheard", seconds=f"{self.limits.listen_wait_s:g}").localized(visit.lang)
        for event in dropped:  # a late listener reads this answer, then its stream closes
            _tell_late_listener(queue, event, text)

    # -- forgetting sessions ---------------------------------------------------------
    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(min(SWEEP_S, self.limits.session_ttl_s / 4))
            try:
                self.log_refusals()
                if self.sweep():
                    release_memory()  # the forgotten sessions' memory goes back to the system
            except Exception:  # never let the sweeper die: the next round tries again
                log.exception("session sweep failed")

    def log_refusals(self) -> None:
        """One log line for the visits told the app is busy since the last call (a flood writes one line)."""
        if self.refused:
            reasons = ", ".join(f"{count} for {why}" for why, count in self.refused.most_common())
            log.info("told %d visit(s) the app is busy: %s", self.refused.total(), reasons)
            self.refused.clear()

    def sweep(self, now: float | None = None) -> int:
        """Forget the sessions unused for ``session_ttl_s`` with nothing waiting or running; how many."""
        holder = getattr(self.blocks, "state_holder", None) or getattr(self.blocks.app, "state_holder", None)
        if holder is None:
            return 0
        queue = self.blocks._queue
        busy = {e.session_hash for e in list(queue.event_ids_to_events.values())}
        wall = time.time() if now is None else now
        forgotten = 0
        with holder.lock:
            for session, used in list(holder.time_last_used.items()):
                if session in busy or wall - used.timestamp() < self.limits.session_ttl_s:
                    continue
                holder.session_data.pop(session, None)
                holder.time_last_used.pop(session, None)
                queue.pending_messages_per_session.pop(session, None)
                events = queue.pending_event_ids_session.get(session, ())
                if not any(e in queue.event_ids_to_events for e in events):  # none waits or runs (or dropped)
                    queue.pending_event_ids_session.pop(session, None)
                forgotten += 1
        stale = time.monotonic() - self.limits.session_ttl_s
        for key in [k for k, at in self.listened.items() if at < stale and k not in self.listening]:
            del self.listened[key]
        if forgotten:
            log.info("forgot %d session(s) unused for %g s", forgotten, self.limits.session_ttl_s)
        return forgotten


class _Headers:
    """Just enough of a request for :func:`request_language`: its headers."""

    def __init__(self, scope: Scope) -> None:
        self.headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body, or None as soon as it passes ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the body read already, then what the client sends next (its leaving)."""
    sent = False

    async def replay() -> MutableMapping[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _tell_late_listener(queue: Any, event: Any, text: str) -> None:
    """Leave, for a dropped ``event``, the failed completion its client reads if it ever listens."""
    queue.pending_event_ids_session.setdefault(event.session_hash, set()).add(event._id)
    message = ProcessCompletedMessage(output={"error": text, "visible": True}, success=False)
    message.event_id = event._id
    queue.pending_messages_per_session[event.session_hash].put_nowait(message)


def _capture_event_id(send: Send, guard: Guard, session: str | None, address: str, lang: str) -> Send:
    """A ``send`` that tells ``guard`` the event id of an accepted join."""
    status = 0
    body = b""

    async def capture(message: MutableMapping[str, Any]) -> None:
        nonlocal status, body
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body" and status == 200:
            body += message.get("body", b"")
            if not message.get("more_body", False):
                try:
                    event_id = json.loads(body).get("event_id")
                except (ValueError, AttributeError):
                    event_id = None
                if isinstance(event_id, str):
                    guard.joined(event_id, session, address, lang)
        await send(message)

    return capture


async def send_json(send: Send, status: int, payload: Any) -> None:
    """Answer an ASGI request with ``payload`` as JSON (UTF-8) and ``status``."""
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _answer(send: Send, status: int, message: Message | str, lang: str) -> None:
    """A JSON error ``{"detail": ...}`` in the visitor's language, as Gradio's own errors are shaped."""
    text = message.localized(lang) if isinstance(message, Message) else message
    await send_json(send, status, {"detail": text})
