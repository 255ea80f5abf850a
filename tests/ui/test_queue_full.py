"""A full queue: the visitor is told, in their language, that the app is busy; nothing else changes.

The app runs with ``queue_size: 1``, ``max_batch_size: 1`` and ``max_events_per_address: 1``
(so Gradio runs two handlers of an event at once: ``app.handler_slots``), on the tiny "long"
model, so three API visitors from three addresses asking for thousands of tokens fill it:
one decodes, one waits for the batch's row, one waits in the queue. A fourth visitor gets
the busy answer at once: Gradio's
``QueueError`` over the API, and in the browser a message in the page's language (Gradio's
page writes its own English text; ``playground/ui/page.py`` translates it). When the line
empties, the next visitor is served normally.
"""

from __future__ import annotations

import pytest

from bench.server import queue_data
from playground.ui.i18n import TRANSLATIONS
from tests import tiny_models
from tests.clients import api_client
from tests.waiting import WAIT_MS, WAIT_S, wait_until

LONG = 3000  # tokens of each request that keeps the app busy


@pytest.fixture(scope="module")
def full_app(tiny_hub, long_model, tmp_path_factory):
    """The app with room for one running and one waiting request."""
    from tests.conftest import launch_app

    registry = tiny_models.with_long_model(
        tiny_hub, long_model, LONG, queue_size=1, max_batch_size=1, max_events_per_address=1
    )
    with launch_app(registry, tmp_path_factory) as (url, _log):
        yield url


class FullLine:
    """Three API visitors from three addresses: two handlers running, one waiting in the queue (a full line)."""

    def __init__(self, url: str) -> None:
        self.url = url

    def __enter__(self) -> FullLine:
        from gradio_client.utils import Status

        kwargs = tiny_models.long_kwargs(LONG)
        joining = (Status.STARTING, Status.JOINING_QUEUE)
        self.jobs = []
        for i in range(3):  # the app trusts X-Forwarded-For from loopback, as behind a Space's proxy
            client = api_client(self.url, headers={"x-forwarded-for": f"198.51.100.{i + 1}"})
            job = client.submit(**kwargs, api_name="/generate")
            self.jobs.append(job)
            # one at a time, in order
            wait_until(lambda job=job: job.status().code not in joining, f"visitor {i + 1} to join the queue")
        line = [Status.ITERATING, Status.IN_QUEUE]  # the first writing, the third in the queue
        wait_until(lambda: [j.status().code for j in self.jobs][::2] == line, "the line to fill")
        return self

    def __exit__(self, *exc) -> None:
        for job in self.jobs:
            job.cancel()


def test_an_api_visitor_is_told_the_app_is_busy_then_served_when_the_line_empties(full_app):
    from gradio_client.utils import QueueError

    with FullLine(full_app), pytest.raises(QueueError):
        api_client(full_app).predict(**tiny_models.long_kwargs(5), api_name="/generate")
    client = api_client(full_app)

    def served() -> tuple[str, str] | None:
        try:
            return client.predict(**tiny_models.long_kwargs(5), api_name="/generate")
        except QueueError:
            return None

    text, details = wait_until(served, "the cancelled requests to leave the line and a visitor served", every=0.5)
    assert text and "**Done:** 5 tokens" in details


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_an_api_visitor_reads_the_busy_answer_in_their_language(full_app, lang):
    import httpx

    fn, data = queue_data(full_app, "generate", tiny_models.long_args(5))
    body = {"data": data, "fn_index": fn, "session_hash": f"busy{lang}"}
    with FullLine(full_app):
        headers = {"accept-language": lang}
        response = httpx.post(full_app + "gradio_api/queue/join", json=body, headers=headers, timeout=WAIT_S)
    assert response.status_code == 503
    assert response.json() == {"detail": TRANSLATIONS[lang]["queue_full"]}


@pytest.mark.parametrize("locale, lang", [("fr-FR", "fr"), ("en-US", "en")])
def test_a_browser_visitor_reads_the_busy_message_in_their_language(browser, full_app, locale, lang):
    context = browser.new_context(locale=locale)
    page = context.new_page()
    page.goto(f"{full_app}?tab=generate", wait_until="load")
    page.locator("#generate").wait_for(timeout=WAIT_MS)
    with FullLine(full_app):
        page.locator("#generate").click(force=True)
        page.get_by_text(TRANSLATIONS[lang]["queue_full"]).wait_for(timeout=WAIT_S * 1000)
        assert "currently busy" not in page.evaluate("() => document.body.innerText")
    context.close()
