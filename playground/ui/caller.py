"""Who is asking, and how their request is stopped: the link between a Gradio event and the engine.

:func:`visitor_of` is the key under which the engine shares a batch fairly between visitors:
the session and the client address (:class:`~playground.serving.visitor_keys.Visitor`).

:data:`CANCELS` carries a Stop to the engine. Gradio cancels an event by closing its
handler's iterator, which a handler blocked waiting for its first token (a long prompt
being prefilled, or a request waiting for a place in the batch) never sees until that
token comes. So each generating handler registers a ``threading.Event`` under its session
and event name (:meth:`Cancels.watch`) and hands it to the engine as ``cancel``; the app's
front door (:mod:`playground.ui.guard`) sets it when the page or the client asks Gradio to
cancel that event, when the session's event stream closes while it runs, and when a visit
is dropped because no one listens. The engine then ends the request at its next step.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from playground.forking import renew_in_child
from playground.serving.visitor_keys import Visitor


def session_of(request: Any) -> str | None:
    """The session of a Gradio request (one page, or one API client); None when unknown."""
    session = getattr(request, "session_hash", None) if request is not None else None
    return session if isinstance(session, str) and session else None


def visitor_of(request: Any) -> Visitor | None:
    """The visitor of a Gradio request: its session and client address; None without a session.

    Both, because a classroom behind one address is thirty visitors (each session holds its
    own share of a batch) while thirty sessions opened by one client must not take every row
    (one address holds a larger, still bounded share). The address is the visitor's as the
    platform sees it (:mod:`playground.ui.forwarded`: the entry the Space's proxy wrote).
    """
    session = session_of(request)
    if session is None:
        return None
    client = getattr(request, "client", None)
    host = getattr(client, "host", None)
    return Visitor(session, host if isinstance(host, str) and host else None)


class Cancels:
    """The cancel events of running handlers, by session and event name (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: dict[tuple[str, str], set[threading.Event]] = {}
        renew_in_child(self, Cancels._start_again)

    def _start_again(self) -> None:
        """In a forked child: its lock free, and none of the parent's handlers (:mod:`playground.forking`)."""
        self._lock = threading.Lock()
        self._events = {}

    @contextmanager
    def watch(self, request: Any, name: str) -> Iterator[threading.Event]:
        """A cancel event for the handler of event ``name`` in the request's session, while it runs."""
        event = threading.Event()
        key = (session_of(request) or "", name)
        with self._lock:
            self._events.setdefault(key, set()).add(event)
        try:
            yield event
        finally:
            with self._lock:
                watchers = self._events.get(key)
                if watchers is not None:
                    watchers.discard(event)
                    if not watchers:
                        del self._events[key]

    def cancel(self, session: str, name: str | None = None) -> int:
        """Set the cancel events of ``session`` (of its event ``name`` only, when given); how many."""
        with self._lock:
            keys = [k for k in self._events if k[0] == session and (name is None or k[1] == name)]
            events = [e for k in keys for e in self._events[k]]
        for event in events:
            event.set()
        return len(events)

    def __len__(self) -> int:
        with self._lock:
            return sum(len(v) for v in self._events.values())


CANCELS = Cancels()  # the app's: handlers watch, the front door cancels
