"""gradio_client's ``Client`` as the tests make it: quiet, and waiting on the server as long as the tests do."""

from __future__ import annotations

from typing import Any

from tests.waiting import WAIT_S


def api_client(url: str, **kwargs: Any) -> Any:
    """``gradio_client.Client(url, **kwargs)``, its HTTP requests bounded by ``WAIT_S`` instead of httpx's 5 s.

    On a machine whose cores are all busy, a server writing another visitor's answer can take
    longer than 5 s to send its config or accept a queue join: that is slowness, not a failure
    of what a test checks.
    """
    from gradio_client import Client

    return Client(url, verbose=False, httpx_kwargs={"timeout": WAIT_S}, **kwargs)
