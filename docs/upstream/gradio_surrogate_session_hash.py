"""Minimal reproduction, for an upstream Gradio issue: a lone surrogate session hash poisons the queue.

Run: ``python docs/upstream/gradio_surrogate_session_hash.py`` (Gradio 6.31, no model needed).

What happens: ``POST /gradio_api/queue/join`` accepts ``"session_hash": "\\ud800"`` (valid
JSON, not valid Unicode). The event runs; its analytics record carries the session hash,
and ``Queue.compute_analytics_summary`` (pandas, after every event) then raises
``UnicodeEncodeError`` for every later event of every visitor, before
``Queue.process_events`` reaches ``self.event_ids_to_events.pop(event._id)``: from then on
each finished event (with its inputs) stays in memory until the server restarts.

Expected: a 4xx for a session hash that is not a short printable token (or any string that
cannot be encoded), and analytics that cannot stop the queue from releasing events.

The script prints how many finished events the queue still holds after 40 normal calls,
without and then with one poisoned join first. It exits 1 when the bug shows.
"""

from __future__ import annotations

import os
import socket
import threading
import time

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr
import httpx
from gradio_client import Client


def echo(text: str) -> str:
    """The app's only event."""
    return text


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def held_after(poison: bool, calls: int = 40) -> int:
    """Finished events still held by the queue after ``calls`` normal calls (one poisoned join first)."""
    demo = gr.Interface(echo, "textbox", "textbox").queue()
    port = free_port()
    threading.Thread(
        target=lambda: demo.launch(server_port=port, prevent_thread_lock=True, quiet=True), daemon=True
    ).start()
    url = f"http://127.0.0.1:{port}/"
    for _ in range(100):
        try:
            httpx.get(url, timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.2)
    if poison:
        body = '{"data": ["x"], "fn_index": 0, "session_hash": "\\ud800"}'
        joined = httpx.post(url + "gradio_api/queue/join", content=body, headers={"content-type": "application/json"})
        print("poisoned join:", joined.status_code, joined.text)
        time.sleep(1)  # it runs (nobody listens; it does not matter)
    client = Client(url, verbose=False)
    for i in range(calls):
        client.predict(f"call {i}", fn_index=0)
    time.sleep(1)
    held = len(demo._queue.event_ids_to_events)
    demo.close()
    return held


if __name__ == "__main__":
    clean = held_after(poison=False)
    poisoned = held_after(poison=True)
    print(f"finished events still held: {clean} without the poisoned join, {poisoned} with it")
    raise SystemExit(1 if poisoned > clean else 0)
