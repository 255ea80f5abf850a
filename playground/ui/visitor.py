"""Who is asking: the key under which the engine shares a batch fairly between visitors."""

from __future__ import annotations

from typing import Any


def visitor_of(request: Any) -> str | None:
    """The visitor of a Gradio request: its session (one page, or one API client); None when unknown.

    The session, not the address: a classroom behind one address is thirty visitors. (The
    app's front door, :mod:`playground.ui.guard`, also bounds what one address queues.)
    """
    session = getattr(request, "session_hash", None) if request is not None else None
    return session if isinstance(session, str) and session else None
