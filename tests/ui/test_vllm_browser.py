"""Every tab of the app in Chromium, its lesson model served by a real vLLM server (``PLAYGROUND_REMOTE``).

The app runs on the project's registry; an overlay file says the lesson model and its
adapters are served by the session's vLLM server. The same checks as tests/ui/test_browser.py
(each generation tab streams; the lab shows the prompt's tokens, the token explorer from
the server's logprobs and the next-token distribution; the Compare table fills), and the
status line names the remote source.
"""

from __future__ import annotations

import shutil

import pytest
import yaml

from playground.serving.vllm_server import overlay
from tests.conftest import launch_app
from tests.ui.test_browser import (
    GENERATION_TABS,
    WAIT_MS,
    _done,
    _open,
    _value,
    _wait_lab_inspection,
    check_generation_tab,
)

pytestmark = [
    pytest.mark.vllm,
    pytest.mark.skipif(not shutil.which("chromium"), reason="Debian's chromium is not installed"),
]


@pytest.fixture(scope="module")
def remote_app(vllm_server, tmp_path_factory):
    """``python app.py`` on the project's registry, the lesson model served by vLLM."""
    path = tmp_path_factory.mktemp("remote") / "remote.yaml"
    path.write_text(yaml.safe_dump(overlay(vllm_server)), encoding="utf-8")
    with launch_app(None, tmp_path_factory, env={"PLAYGROUND_REMOTE": str(path)}) as (url, log):
        yield url
    assert f"ready, from vllm server {vllm_server.base_url}" in log.read_text()


def test_the_lab_answers_and_shows_tokens_the_explorer_and_the_next_token_distribution(
    browser, remote_app, vllm_server
):
    context, page = _open(browser, remote_app)
    page.locator("#lab-run").click()
    _done(page, "#lab-explorer-details")  # the lesson model's few-shot answer may be one word: no stream to see
    assert _value(page, "#lab-few").strip() and _value(page, "#lab-zero").strip()
    explorer = page.locator("#lab-explorer")
    assert explorer.locator(".pg-tok[data-alts]").count() >= 1  # the record, from the server's logprobs
    assert "cannot branch an answer" in explorer.inner_text()  # said, instead of a click that fails
    _wait_lab_inspection(page)
    page.locator("#lab-raw").get_by_text("%").first.wait_for(timeout=WAIT_MS)  # from the server's logprobs
    # the URL is autolinked: shown as is, no Markdown escape inside it
    details = page.locator("#lab-details").inner_text()
    assert f"vllm server {vllm_server.base_url}" in details
    context.close()


@pytest.mark.parametrize(("tab", "run", "outputs"), GENERATION_TABS)
def test_each_generation_tab_streams_from_vllm(browser, remote_app, tab, run, outputs):
    check_generation_tab(browser, remote_app, tab, run, outputs)


def test_compare_says_the_server_cannot_score(browser, remote_app):
    context, page = _open(browser, remote_app)
    page.get_by_role("tab").nth(3).click()
    page.locator("#compare-run").click()
    page.wait_for_function(  # no prompt_logprobs with LoRA: the row says so (the table also has hidden copies)
        "() => (document.querySelector('#compare-table')?.innerText || '').includes('cannot score a text')",
        timeout=WAIT_MS,
    )
    table = page.locator("#compare-table").inner_text()
    assert "george-sand" in table and "vllm server" in table
    context.close()
