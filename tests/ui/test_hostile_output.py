"""Hostile output is shown as text: the real app, a real model that writes markup, a real browser.

The ``scripted`` model of the hostile app (tests/conftest.py, tests/tiny_models.py) writes
:data:`tests.hostile.HOSTILE_TEXT` whatever its prompt: a ``<script>``, an ``<img onerror>``,
a ``javascript:`` link, a ``<style>`` that would hide the page, remote images in HTML and
Markdown, an ``<iframe>``, a Markdown link and an ``<svg onload>``. Every tab shows it, and so does the token explorer
(tokens, alternatives and a branch); the
browser tests check that it appears literally, that none of it became an element, that no
script ran (``window.__pwned`` stays undefined), that the page is still displayed, and that
nothing was fetched from the remote address. Messages built from hostile artifacts or
links (Gradio shows toasts as HTML) are checked the same way. The browser tests skip when
Debian's ``chromium`` is not installed, like tests/ui/test_browser.py.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest

from playground.ui.controls import DISTRIBUTION, settings_kwargs
from tests.clients import api_client
from tests.hostile import HOSTILE_TEXT, HOSTILE_TEXTS, MARKUP_BASE, REMOTE
from tests.tiny_models import generate_kwargs
from tests.ui.test_explorer_browser import _show_alternatives
from tests.waiting import WAIT_MS

needs_chromium = pytest.mark.skipif(not shutil.which("chromium"), reason="Debian's chromium is not installed")

EXAMPLES = [['<img src=x onerror="window.__pwned=10">', "<script>window.__pwned=11</script>"]]

# Elements the hostile texts would create if rendered, and script that would have run.
_INJECTED_JS = r"""() => {
  const found = [];
  const attr = (el, name) => el.getAttribute(name) || "";
  for (const el of document.querySelectorAll("script, style")) {
    if (/__pwned|body\s*\{\s*display:\s*none/.test(el.textContent)) found.push(el.outerHTML);
  }
  for (const el of document.querySelectorAll("img, iframe, a, svg, [onerror], [onload]")) {
    const url = attr(el, "src") + " " + attr(el, "href");
    if (/127\.0\.0\.1:9|javascript:|evil|^x /.test(url) || el.hasAttribute("onerror") || el.hasAttribute("onload")) {
      found.push(el.outerHTML.slice(0, 200));
    }
  }
  return found;
}"""


def _contains_all(text: str) -> bool:
    return all(piece in text for piece in HOSTILE_TEXTS)


def _shows(value: str) -> bool:
    """``value`` holds the hostile text literally: whole, or one copy that starts part-way through.

    The scripted model writes its text from the phase its prompt leaves it at, so ``cycle``
    new tokens are the text rotated; either way the text is in ``value`` followed by itself.
    """
    return HOSTILE_TEXT in value + value


def _wait_done(page, count: int) -> None:
    """Wait until ``count`` status lines on screen say the generation is done."""
    page.wait_for_function(
        "(n) => (document.body.innerText.match(/Done:/g) || []).length >= n", arg=count, timeout=WAIT_MS
    )


def _value(page, selector: str) -> str:
    return page.locator(f"{selector} textarea, {selector} input").first.input_value()


@dataclass
class Watched:
    """A page, and what it did that hostile text could have caused."""

    page: Any
    requests: list[str] = field(default_factory=list)  # every URL the page asked for
    dialogs: list[str] = field(default_factory=list)  # every alert/confirm/prompt it opened

    def assert_nothing_ran(self) -> None:
        """No script ran, no element was injected, the page shows, nothing was fetched from :data:`REMOTE`."""
        page = self.page
        assert page.evaluate("() => window.__pwned") is None
        assert self.dialogs == []
        assert page.evaluate(_INJECTED_JS) == []
        assert page.evaluate("() => getComputedStyle(document.body).display") != "none"
        assert page.locator("body").is_visible()
        assert [url for url in self.requests if REMOTE in url] == []

    def assert_shown_as_text(self, *boxes: str) -> None:
        """The boxes hold the whole hostile text literally, on screen, and nothing of it is live."""
        for box in boxes:
            assert self.page.locator(box).is_visible()
            assert _shows(_value(self.page, box)), (box, _value(self.page, box))
        self.assert_nothing_ran()


@contextmanager
def _page(browser, url: str) -> Iterator[Watched]:
    """Open ``url`` in a fresh context, watching requests and dialogs from before the first byte."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, locale="en-US")
    page = context.new_page()
    watched = Watched(page)
    page.on("request", lambda request: watched.requests.append(request.url))
    page.on("dialog", lambda dialog: (watched.dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(url, wait_until="load")
    page.locator("#lab-run").wait_for(timeout=WAIT_MS)
    try:
        yield watched
    finally:
        context.close()


def _set_number(page, label: str, value: int) -> None:
    """Type ``value`` into the visible number box of the slider ``label``."""
    box = page.locator(f'input[aria-label="number input for {label}"]:visible')
    box.fill(str(value))
    box.press("Tab")


# ---- the API returns the hostile text as plain data -----------------------------------


def test_the_api_returns_the_hostile_text_as_plain_strings(hostile_app):
    client = api_client(hostile_app.url)
    n, aligned, exact = hostile_app.max_new_tokens, hostile_app.aligned_prompt, " " + HOSTILE_TEXT
    text, details = client.predict(**generate_kwargs("scripted", "Hello", max_new_tokens=n), api_name="/generate")
    assert isinstance(text, str) and _contains_all(text), text
    assert "<" not in details  # the status line is Markdown with every value escaped
    settings = settings_kwargs(max_new_tokens=hostile_app.cycle)
    assert client.predict(**generate_kwargs("scripted", aligned, **settings), api_name="/generate")[0] == exact
    rows = {"headers": ["input", "output"], "data": EXAMPLES}
    lab = {"model": "scripted", "adapter": "(base)", "task": HOSTILE_TEXTS[0], "examples": rows,
           "query": HOSTILE_TEXTS[1], "separator": " => "}  # fmt: skip
    zero, one, few, _ = client.predict(**lab, **settings, api_name="/lab_run")
    assert all(isinstance(t, str) and _shows(t) for t in (zero, one, few))
    greedy = settings_kwargs(names=DISTRIBUTION)
    prompt, tokens, raw, adjusted = client.predict(**lab, **greedy, api_name="/lab_inspect")
    assert prompt.startswith(HOSTILE_TEXTS[0]) and prompt.endswith(HOSTILE_TEXTS[1] + " =>")
    assert "".join(t["token"] for t in tokens).startswith("<script>window")  # the pieces, as plain strings
    assert raw["label"] and all(isinstance(c["label"], str) for c in raw["confidences"])
    assert adjusted["label"] == raw["label"]
    sampled = settings_kwargs(temperature=0.8, top_p=0.95, top_k=50, max_new_tokens=hostile_app.cycle,
                              repetition_penalty=1.2, seed="1")  # the George Sand tab's sampling  # fmt: skip
    assert client.predict(adapter="scripted-style", prompt=aligned, **sampled, api_name="/style")[:2] == (exact, exact)
    texts = {"prompt": aligned, "prompt_input": ""}
    outputs = client.predict(adapter="scripted-instructions", **texts, **settings, api_name="/instructions")
    assert outputs[:2] == (exact, exact) and outputs[4:] == (aligned, aligned)


# ---- the browser shows it as text -----------------------------------------------------


@needs_chromium
def test_generate_tab_shows_hostile_output_as_text(browser, hostile_app):
    with _page(browser, hostile_app.url) as watched:
        page = watched.page
        page.get_by_role("tab", name="Generate").click()
        page.locator("#generate").click()
        _wait_done(page, 1)
        watched.assert_shown_as_text("#output")
        assert page.locator("#details").inner_text().startswith("Model: scripted")
        _assert_explorer_shows_text(watched, "#generate", _value(page, "#output"))


def _assert_explorer_shows_text(watched: Watched, prefix: str, answer: str) -> None:
    """The token explorer under an answer: its tokens, their alternatives and a branch are text, nothing runs."""
    page = watched.page
    tokens = page.locator(f"{prefix}-explorer .pg-answer > .pg-tok")
    tokens.first.wait_for(timeout=WAIT_MS)
    shown = page.locator(f"{prefix}-explorer .pg-answer").inner_text()
    assert shown == answer and _shows(shown), shown  # every token's text, literally
    script = next(i for i, text in enumerate(tokens.all_inner_texts()) if "script" in text)
    _show_alternatives(page, tokens.nth(script))  # its alternatives, in the page's own markup only
    popover = page.locator(f"{prefix}-explorer .pg-pop")
    assert popover.locator("tbody tr").count() >= 2
    popover.locator(".pg-alt").first.click()  # a branch, written by the same hostile model
    page.wait_for_function(
        "(s) => document.querySelector(s).innerText.includes('Done:')", arg=f"{prefix}-branch-details", timeout=WAIT_MS
    )
    assert "<" in page.locator(f"{prefix}-branch .pg-answer").inner_text()  # markup shown as text
    watched.assert_nothing_ran()


@needs_chromium
def test_lab_shows_hostile_output_prompt_tokens_and_distributions_as_text(browser, hostile_app):
    """A link fills the lab with hostile input too; the panes, prompt, examples, tokens and distributions stay text."""
    link = urlencode(
        {
            "tab": "lab",
            "model": "scripted",
            "task": HOSTILE_TEXT,
            "examples": json.dumps(EXAMPLES),
            "query": HOSTILE_TEXTS[5],
            "stop": "[]",
            "max_new_tokens": hostile_app.cycle,
        }
    )
    with _page(browser, f"{hostile_app.url}?{link}") as watched:
        page = watched.page
        page.wait_for_function("(t) => document.querySelector('#lab-task textarea').value === t", arg=HOSTILE_TEXT)
        page.locator("#lab-run").click()
        _wait_done(page, 3)
        page.wait_for_function("() => document.querySelector('#lab-raw').innerText.includes('%')")
        watched.assert_shown_as_text("#lab-zero", "#lab-one", "#lab-few", "#lab-prompt", "#lab-task")
        assert EXAMPLES[0][0] in page.locator("#lab-examples").inner_text()  # the table shows the markup as text
        assert "\n< 27\nscript 12048\n> 29\nwindow 17497\n" in page.locator("#lab-tokens").inner_text()
        assert page.locator("#lab-raw").inner_text().strip() and page.locator("#lab-adjusted").inner_text().strip()
        _assert_explorer_shows_text(watched, "#lab", _value(page, "#lab-few"))


@needs_chromium
@pytest.mark.parametrize(
    ("tab", "prompt", "run", "panes"),
    [
        ("George Sand", "#style-opening", "#style-run", ("#style-base", "#style-adapted")),
        ("Instructions", "#instructions-text", "#instructions-run", ("#instructions-base", "#instructions-adapted")),
    ],
)
def test_side_by_side_tabs_show_hostile_output_as_text(browser, hostile_app, tab, prompt, run, panes):
    """Base and adapter panes, after a prompt that makes the scripted model write its text once from the start."""
    with _page(browser, hostile_app.url) as watched:
        page = watched.page
        page.get_by_role("tab", name=tab).click()
        page.locator(f"{prompt} textarea").fill(hostile_app.aligned_prompt)
        page.locator("button.label-wrap:visible", has_text="Settings").click()  # open the settings accordion
        greedy_once = {"Temperature (0 = greedy)": 0, "Max new tokens": hostile_app.cycle}
        for label, value in {**greedy_once, "No-repeat n-gram size (0 = off)": 0}.items():
            _set_number(page, label, value)
        page.locator(run).click()
        _wait_done(page, 2)
        watched.assert_shown_as_text(*panes)
        assert [_value(page, pane) for pane in panes] == [" " + HOSTILE_TEXT] * 2
        _assert_explorer_shows_text(watched, run.removesuffix("-run"), _value(page, panes[1]))  # the adapter's


@needs_chromium
def test_compare_table_and_hostile_text_to_score_stay_text(browser, hostile_app):
    with _page(browser, hostile_app.url) as watched:
        page = watched.page
        page.get_by_role("tab", name="Compare").click()
        page.locator("#compare-text textarea").fill(HOSTILE_TEXT)
        page.locator("#compare-run").click()
        page.wait_for_function(
            "() => document.querySelector('#compare-table').innerText.includes('scripted + scripted-style')",
            timeout=WAIT_MS,
        )
        watched.assert_shown_as_text("#compare-text")


@needs_chromium
def test_toasts_show_markup_from_artifacts_and_links_as_text(browser, hostile_app):
    """Gradio renders a toast's message as HTML: a link's bad value and an adapter's config show as typed."""
    bad_model = f'<img src="http://{REMOTE}/evil-link.png">'
    link = urlencode({"tab": "lab", "model": bad_model, "adapter": "evil-adapter-markup-in-config"})
    with _page(browser, f"{hostile_app.url}?{link}") as watched:
        page = watched.page
        toasts = page.get_by_test_id("toast-text")
        toasts.filter(has_text="ignored").first.wait_for(timeout=WAIT_MS)  # the link's warning
        page.locator("#lab-run").click()
        toasts.filter(has_text="could not be loaded").first.wait_for(timeout=WAIT_MS)  # the adapter's refusal
        text = " ".join(toasts.all_inner_texts())
        assert bad_model in text  # the link's value
        assert "adapter 'evil-adapter-markup-in-config' could not be loaded" in text
        assert MARKUP_BASE in text  # the adapter config's base_model_name_or_path
        assert page.locator("[data-testid=toast-text] img, [data-testid=toast-text] a").count() == 0
        watched.assert_nothing_ran()
