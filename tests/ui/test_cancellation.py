"""Cancellation in the running app: a dropped API client, the Stop button and a closed tab.

Each ends its own request in the server (the batcher records it ended ``cancelled`` after
far fewer tokens than were asked for: its own record, read through the app's debug-only
``/_debug/ended``), while another visitor's request in the same batch goes on to its last
token. The model is a tiny GPT-2 with 4096 positions, so a request for 3000 tokens is still
running when the visitor walks away. That a cancelled row leaves within two decode steps is
shown step by step in ``tests/serving/test_batching.py``; here the point is that Gradio's Stop, a
closed tab and a dropped client reach it.
"""

from __future__ import annotations

import pytest

from tests import tiny_models
from tests.clients import api_client
from tests.waiting import WAIT_MS, WAIT_S, wait_until

LONG = 3000  # tokens asked for by the request that is stopped
OTHER = 400  # tokens asked for by the visitor who stays


@pytest.fixture(scope="module")
def long_app(tiny_hub, long_model, tmp_path_factory):
    """The app on a tiny GPT-2 with a long context (the default model), answering 3000 tokens by default."""
    from tests.conftest import DEBUG_RECORD, launch_app

    registry = tiny_models.with_long_model(tiny_hub, long_model, default_tokens=LONG)
    with launch_app(registry, tmp_path_factory, env=DEBUG_RECORD) as (url, _log):
        yield url


def _cancellations(url: str) -> list[int]:
    """Tokens written by each request of the long model the batcher ended as cancelled so far, in order."""
    from tests.conftest import ended

    return [e["tokens"] for e in ended(url, "long") if e["reason"] == "cancelled"]


def _wait_cancelled(url: str, before: int) -> int:
    """Wait for one more cancelled request in the batcher's record; the tokens that request had written."""
    seen = wait_until(lambda: _cancellations(url)[before:], "a request cancelled in the server")
    return seen[0]


def _other_visitor(url: str):
    """Another visitor's request, running while the first one is stopped."""
    return api_client(url).submit(**tiny_models.long_kwargs(OTHER), api_name="/generate")


def _assert_finished(job) -> None:
    """The other visitor's answer goes on to its last token: it may be slow on a busy machine, never stalled.

    Each wait is for one more update of its stream (or its end), under ``WAIT_S``: a whole
    answer's time depends on the machine's load, a stall does not.
    """
    updates = 0
    while not job.done():
        wait_until(lambda n=updates: job.done() or len(job.outputs()) > n, "the other visitor's answer to go on")
        updates = len(job.outputs())
    text, details = job.result(timeout=WAIT_S)
    assert text and f"**Done:** {OTHER} tokens" in details, details


def test_a_dropped_api_client_ends_its_request_and_the_other_goes_on(long_app):
    url = long_app
    before = len(_cancellations(url))
    job = api_client(url).submit(**tiny_models.long_kwargs(LONG), api_name="/generate")
    other = _other_visitor(url)
    for text, _details in job:
        if text:
            break  # it is writing: now the client walks away
    job.cancel()
    written = _wait_cancelled(url, before)
    assert 0 < written < LONG
    _assert_finished(other)


def _writing_page(browser, url: str):
    """A page on the Generate tab whose long generation has started writing."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.goto(f"{url}?tab=generate", wait_until="load")
    page.locator("#generate").wait_for(timeout=WAIT_MS)
    page.locator("#generate").click()
    page.wait_for_function("() => document.querySelector('#output textarea').value.length > 0", timeout=WAIT_S * 1000)
    return context, page


def test_the_stop_button_ends_the_request_in_the_server(browser, long_app):
    url = long_app
    before = len(_cancellations(url))
    context, page = _writing_page(browser, url)
    other = _other_visitor(url)
    page.locator("#stop").click(force=True)  # a real click; the page is busy drawing the stream
    written = _wait_cancelled(url, before)
    assert 0 < written < LONG
    context.close()
    _assert_finished(other)


def test_a_closed_tab_ends_its_request_in_the_server(browser, long_app):
    url = long_app
    before = len(_cancellations(url))
    context, _page = _writing_page(browser, url)
    other = _other_visitor(url)
    context.close()
    written = _wait_cancelled(url, before)
    assert 0 < written < LONG
    _assert_finished(other)
