"""Cancellation in the running app: a dropped API client, the Stop button and a closed tab.

Each ends its own request in the server (the batcher logs ``request N cancelled after K
tokens``, far fewer than were asked for), while another visitor's request in the same
batch goes on to its last token. The model is a tiny GPT-2 with 4096 positions, so a
request for 3000 tokens is still running when the visitor walks away. That a cancelled
row leaves within two decode steps is shown step by step in ``tests/test_batching.py``;
here the point is that Gradio's Stop, a closed tab and a dropped client reach it.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from tests import tiny_models

LONG = 3000  # tokens asked for by the request that is stopped
OTHER = 400  # tokens asked for by the visitor who stays
CANCELLED = re.compile(r"request (\d+) cancelled after (\d+) tokens")
WAIT_S = 60  # an upper bound for a wait that should end soon; never a measured time


@pytest.fixture(scope="module")
def long_app(tiny_hub, long_model, tmp_path_factory):
    """The app on a tiny GPT-2 with a long context (the default model), answering 3000 tokens by default."""
    from tests.conftest import launch_app

    registry = tiny_models.with_long_model(tiny_hub, long_model, default_tokens=LONG)
    with launch_app(registry, tmp_path_factory) as (url, log):
        yield url, log


def _cancellations(log: Path) -> list[int]:
    """Tokens written by each request the server cancelled so far, in order."""
    return [int(m.group(2)) for m in CANCELLED.finditer(log.read_text(encoding="utf-8"))]


def _wait_cancelled(log: Path, before: int) -> int:
    """Wait for one more cancellation in the log; the tokens that request had written."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        seen = _cancellations(log)
        if len(seen) > before:
            return seen[before]
        time.sleep(0.1)
    pytest.fail(f"no request was cancelled in the server:\n{log.read_text(encoding='utf-8')[-3000:]}")


def _other_visitor(url: str):
    """Another visitor's request, running while the first one is stopped."""
    from gradio_client import Client

    return Client(url, verbose=False).submit(**tiny_models.long_kwargs(OTHER), api_name="/generate")


def _assert_finished(job) -> None:
    text, details = job.result(timeout=WAIT_S)
    assert text and f"**Done:** {OTHER} tokens" in details, details


def test_a_dropped_api_client_ends_its_request_and_the_other_goes_on(long_app):
    from gradio_client import Client

    url, log = long_app
    before = len(_cancellations(log))
    job = Client(url, verbose=False).submit(**tiny_models.long_kwargs(LONG), api_name="/generate")
    other = _other_visitor(url)
    for text, _details in job:
        if text:
            break  # it is writing: now the client walks away
    job.cancel()
    written = _wait_cancelled(log, before)
    assert 0 < written < LONG
    _assert_finished(other)


def _writing_page(browser, url: str):
    """A page on the Generate tab whose long generation has started writing."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.goto(f"{url}?tab=generate", wait_until="load")
    page.locator("#generate").wait_for(timeout=30_000)
    page.locator("#generate").click()
    page.wait_for_function("() => document.querySelector('#output textarea').value.length > 0", timeout=WAIT_S * 1000)
    return context, page


def test_the_stop_button_ends_the_request_in_the_server(browser, long_app):
    url, log = long_app
    before = len(_cancellations(log))
    context, page = _writing_page(browser, url)
    other = _other_visitor(url)
    page.locator("#stop").click(force=True)  # a real click; the page is busy drawing the stream
    written = _wait_cancelled(log, before)
    assert 0 < written < LONG
    context.close()
    _assert_finished(other)


def test_a_closed_tab_ends_its_request_in_the_server(browser, long_app):
    url, log = long_app
    before = len(_cancellations(log))
    context, _page = _writing_page(browser, url)
    other = _other_visitor(url)
    context.close()
    written = _wait_cancelled(log, before)
    assert 0 < written < LONG
    _assert_finished(other)
