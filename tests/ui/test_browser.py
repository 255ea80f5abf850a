"""The app in a real browser: Debian's Chromium driven by Playwright, on the tiny models.

Each tab is clicked and its text seen streamed (in the updates the server sends through the
Gradio queue, tapped in the page); a French-locale browser sees French labels;
a deep link opens a prepared few-shot demo.
"""

from __future__ import annotations

import copy
import json
import shutil
from urllib.parse import urlencode

import pytest

from tests.waiting import WAIT_MS

pytestmark = pytest.mark.skipif(not shutil.which("chromium"), reason="Debian's chromium is not installed")


FRENCH_TABS = ["Labo de prompts", "George Sand", "Instructions", "Comparer", "Générer", "Loupe à tokens", "Classe"]


def _open(browser, url: str, locale: str = "en-US", ready: str = "#lab-run", width: int = 1280):
    context = browser.new_context(viewport={"width": width, "height": 1000}, locale=locale)
    context.add_init_script(_TAP_SSE_JS)  # before the page's scripts: the Gradio client's fetch is the tapped one
    page = context.new_page()
    page.goto(url, wait_until="load")
    page.locator(ready).wait_for(timeout=WAIT_MS)
    return context, page


# Every server-sent-event stream the page fetches (the Gradio queue's) is copied, as it arrives,
# into window.__sse: the updates the server sent, whatever the browser painted of them.
_TAP_SSE_JS = """(() => {
  window.__sse = [];
  const fetch0 = window.fetch;
  window.fetch = async function (...args) {
    const response = await fetch0.apply(this, args);
    const type = response.headers.get("content-type") || "";
    if (!type.includes("text/event-stream") || !response.body) return response;
    const [copy, theirs] = response.body.tee();
    (async () => {
      const reader = copy.getReader(), decoder = new TextDecoder();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          window.__sse.push(decoder.decode(value, { stream: true }));
        }
      } catch (e) {}  // the client closed the stream
    })();
    const { status, statusText, headers } = response;
    return new Response(theirs, { status, statusText, headers });
  };
})();"""


def _patched(value, edits):
    """``value`` after Gradio's streaming edits (``gradio.utils.diff``: replace, append, add, delete at a path)."""
    for action, path, new in edits:
        if not path:
            value = value + new if action == "append" else new
            continue
        parent = value
        for key in path[:-1]:
            parent = parent[key]
        if action == "replace":
            parent[path[-1]] = new
        elif action == "append":
            parent[path[-1]] = parent[path[-1]] + new
        elif action == "add" and isinstance(parent, list):
            parent.insert(path[-1], new)
        elif action == "add":
            parent[path[-1]] = new
        else:
            del parent[path[-1]]
    return value


def sent_updates(page) -> dict[tuple[str, int], list]:
    """Each value every output of every event took in the server's updates, in order, by (event id, output index).

    Read from the tapped Gradio queue stream (see ``_TAP_SSE_JS``): a generator's first update
    carries its outputs whole, the next ones carry edits, the last (``process_completed``)
    whole values again.
    """
    text = "".join(page.evaluate("() => window.__sse"))
    updates: dict[tuple[str, int], list] = {}
    for block in text.replace("\r\n", "\n").split("\n\n"):
        data = "\n".join(line[5:].lstrip() for line in block.splitlines() if line.startswith("data:"))
        message = json.loads(data) if data.startswith("{") else {}  # not "ALIVE", the keep-alive
        if message.get("msg") not in ("process_generating", "process_completed") or not message.get("success"):
            continue
        for index, item in enumerate(message["output"].get("data", [])):
            seen = updates.setdefault((message["event_id"], index), [])
            is_edit = message["msg"] == "process_generating" and seen and isinstance(item, list)
            seen.append(_patched(copy.deepcopy(seen[-1]), item) if is_edit else item)
    return updates


def _value(page, selector: str) -> str:
    return page.locator(f"{selector} textarea, {selector} input").first.input_value()


def _done(page, selector: str, word: str = "Done") -> None:
    """Wait until the status line ``selector`` says the generation is done."""
    page.wait_for_function(
        "([s, w]) => (document.querySelector(s)?.innerText || '').includes(w)", arg=[selector, word], timeout=WAIT_MS
    )


def _wait_value(page, selector: str, value: str) -> None:
    """Wait until the text box ``selector`` holds ``value``."""
    page.wait_for_function(
        "([s, v]) => document.querySelector(s + ' textarea, ' + s + ' input')?.value === v",
        arg=[selector, value],
        timeout=WAIT_MS,
    )


def _wait_lab_inspection(page) -> None:
    """Wait until the lab shows the exact prompt and its tokens (their own event, beside the run's)."""
    page.wait_for_function(
        "() => (document.querySelector('#lab-prompt textarea')?.value || '').endsWith('cheese =>')"
        " && (document.querySelector('#lab-tokens')?.innerText || '').includes('Trans')",
        timeout=WAIT_MS,
    )


def _assert_streamed(page, selector: str, prefix: str) -> None:
    """Once the tab's run has ended, the server had streamed the box's text: partial texts, then the final one.

    The end is a condition, not a quiet spell: the tab's token explorer gets its status line
    ("Done: ...") only after the answer is complete. The stream is judged on the updates the
    server sent (:func:`sent_updates`), each a prefix of the text the box ends with, never on
    the frames the browser painted: a fast model's tokens can all land in one frame.
    """
    _done(page, f"{prefix}-explorer-details")
    final = _value(page, selector)
    streams = [values for values in sent_updates(page).values() if values and values[-1] == final]
    grew = [
        values
        for values in streams
        if any(isinstance(v, str) and v.strip() and v != final for v in values)
        and all(isinstance(v, str) and final.startswith(v) for v in values)
    ]
    assert final.strip() and grew, (final, streams)


def test_lab_runs_in_the_browser_and_shows_the_prompt(browser, app_url):
    context, page = _open(browser, app_url)
    page.locator("#lab-run").click()
    _assert_streamed(page, "#lab-few", "#lab")
    assert _value(page, "#lab-zero").strip() and _value(page, "#lab-one").strip()
    _wait_lab_inspection(page)
    context.close()


GENERATION_TABS = [  # (tab index, run button, the text boxes that stream)
    (1, "#style-run", ["#style-base", "#style-adapted"]),
    (2, "#instructions-run", ["#instructions-base", "#instructions-adapted"]),
    (4, "#generate", ["#output"]),
]


def check_generation_tab(browser, url: str, tab: int, run: str, outputs: list[str]) -> None:
    """Open ``url``, run a generation tab and see each of its boxes stream."""
    context, page = _open(browser, url)
    page.get_by_role("tab").nth(tab).click()
    page.locator(run).click()
    prefix = run.removesuffix("-run") if run.endswith("-run") else "#generate"
    for selector in outputs:
        _assert_streamed(page, selector, prefix)
    context.close()


@pytest.mark.parametrize(("tab", "run", "outputs"), GENERATION_TABS)
def test_each_generation_tab_streams_in_the_browser(browser, app_url, tab, run, outputs):
    check_generation_tab(browser, app_url, tab, run, outputs)


def test_compare_tab_shows_the_table(browser, app_url):
    context, page = _open(browser, app_url)
    page.get_by_role("tab").nth(3).click()
    page.locator("#compare-run").click()
    # scoring runs a window a step (it yields each step to other visitors): longer than one batched pass
    page.get_by_text("tiny + style-a").last.wait_for(timeout=WAIT_MS)
    assert "tiny + style-a" in page.locator("#compare-table").inner_text()
    context.close()


def test_french_browser_sees_french_labels(browser, app_url):
    context, page = _open(browser, app_url, locale="fr-FR")
    tabs = page.get_by_role("tab")
    assert [tabs.nth(i).inner_text() for i in range(tabs.count())] == FRENCH_TABS
    assert page.locator("#lab-run").inner_text() == "Lancer en zero-, one- et few-shot"
    page.locator("#lab-examples").get_by_text("entrée").wait_for(timeout=WAIT_MS)  # headers sent on load
    assert "sortie" in page.locator("#lab-examples").inner_text()
    assert page.locator("#lab-adapter input").input_value() == "aucun (modèle de base)"
    assert page.locator("#lab-seed textarea, #lab-seed input").first.get_attribute("placeholder") == "aléatoire"
    page.get_by_role("tab").nth(4).click()
    page.locator("#generate").click()
    page.locator("#details").get_by_text("Terminé").wait_for(timeout=WAIT_MS)  # the server's status line, in French
    assert "Modèle:" in page.locator("#details").inner_text()
    context.close()


def test_deep_link_opens_a_prepared_few_shot_demo(browser, app_url):
    query = urlencode({"tab": "lab", "preset": "fr-pluriel", "query": "un animal", "temperature": "0.7", "seed": "3"})
    context, page = _open(browser, app_url + "?" + query)
    _wait_value(page, "#lab-query", "un animal")  # the link is applied by the page's load event
    assert _value(page, "#lab-task") == "Mettre au pluriel :"
    assert _value(page, "#lab-query") == "un animal"
    assert page.locator("#lab-temperature input[type=number]").input_value() == "0.7"
    page.locator("#lab-share").click()
    page.wait_for_function(
        "() => document.querySelector('#lab-link textarea, #lab-link input').value.startsWith('http')"
    )
    link = _value(page, "#lab-link")
    assert "preset=fr-pluriel" in link and "query=un+animal" in link
    context.close()
    context, page = _open(browser, link)  # the shared link restores the same setup
    _wait_value(page, "#lab-query", "un animal")
    assert _value(page, "#lab-query") == "un animal" and _value(page, "#lab-task") == "Mettre au pluriel :"
    context.close()


def test_lang_parameter_gives_french_labels_and_messages_in_an_english_browser(browser, app_url):
    context, page = _open(browser, app_url + "?lang=fr", locale="en-US")
    page.get_by_role("tab", name="Comparer").wait_for(timeout=WAIT_MS)  # tab labels are sent again on load
    tabs = page.get_by_role("tab")
    assert [tabs.nth(i).inner_text() for i in range(tabs.count())] == FRENCH_TABS
    assert page.locator("#lab-run").inner_text() == "Lancer en zero-, one- et few-shot"
    assert page.get_by_role("tablist").first.is_visible() and page.locator("footer").is_visible()  # not embedded
    page.locator("#lab-run").click()
    page.locator("#lab-details").get_by_text("Terminé").first.wait_for(timeout=WAIT_MS)  # from ?lang=fr
    assert "Modèle:" in page.locator("#lab-details").inner_text()
    context.close()


def test_embed_shows_one_tab_compact_and_it_still_generates(browser, app_url):
    context, page = _open(browser, app_url + "?embed=1&tab=style", ready="#style-run", width=900)
    assert not page.get_by_role("tablist").first.is_visible()  # no tab bar
    assert not page.locator("#title").is_visible() and not page.locator("footer").is_visible()
    assert not page.locator("#lab-run").is_visible()  # the other tabs cannot be reached
    page.locator("#style-run").click()
    for selector in ("#style-base", "#style-adapted"):
        _assert_streamed(page, selector, "#style")
    context.close()
