"""What a screen reader gets, in Chromium, English and French: read from the DOM and the accessibility tree.

- While the lab's answers stream, their region is ``aria-busy="true"``, no live region
  carries their text, and nothing is said; when the run ends, one polite announcement
  (``role="status"``) says the status line's "Done: 12 tokens…", in the page's language; a
  branch of the explorer is announced the same way when it ends.
- Each token of the explorer is an option of a listbox, named with its probability
  ("fromage, 60 percent"), as its data says.
- The next-token distributions, the token view, the explorer's legend and the Compare
  table have their numbers as text in the accessibility tree; the table, once filled, is
  announced ("The results are ready.").
- ``<html lang>`` follows the UI language: the browser's, or ``?lang=``.
"""

from __future__ import annotations

import json
import re
import shutil

import pytest

from playground.ui.explorer import spoken_percent, spoken_piece
from playground.ui.i18n import tr
from tests.ui.accessibility import DONE, LOCALES, branch_in_the_lab, pages_by_language, run_tab, wait_until_idle
from tests.ui.test_browser import WAIT_MS, _done, _open

pytestmark = pytest.mark.skipif(not shutil.which("chromium"), reason="Debian's chromium is not installed")

# Record, frame by frame, what a screen reader could get while the lab runs: the few-shot
# answer's text with its region's aria-busy; every text our announcer takes; every text any
# other live region of the page takes.
_LISTEN_JS = """() => {
  window.__busy = [];
  window.__said = [];
  window.__other = [];
  const region = document.querySelector("#lab-answers");
  const box = document.querySelector("#lab-few textarea");
  let last = box.value;
  const tick = () => {
    if (box.value !== last) { last = box.value; window.__busy.push([last, region.getAttribute("aria-busy")]); }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  const announcer = document.querySelector("#pg-announcer");
  const watch = (node, into) => new MutationObserver(() => { if (node.textContent) into.push(node.textContent); })
    .observe(node, { childList: true, characterData: true, subtree: true });
  watch(announcer, window.__said);
  for (const live of document.querySelectorAll("[aria-live], [role=status], [role=alert], [role=log]")) {
    if (live !== announcer) watch(live, window.__other);
  }
}"""


def _done_parts(page, selector: str, lang: str) -> str:
    """The "Done: …" parts of a status line, as the announcement says them."""
    parts = [p.strip() for line in page.locator(selector).inner_text().split("\n") for p in line.split(" · ")]
    return ". ".join(p for p in parts if f"{DONE[lang]}:" in p)


@pytest.fixture(scope="module")
def ran(browser, app_url):
    """A page per language where the lab ran once, listened to (opened when first asked for)."""

    def listen_and_run(page, lang: str) -> None:
        page.evaluate(_LISTEN_JS)
        run_tab(page, 0, lang)
        page.wait_for_function("() => window.__said.length > 0", timeout=WAIT_MS)
        wait_until_idle(page)

    with pages_by_language(browser, app_url, listen_and_run) as page:
        yield page


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_a_streamed_answer_is_busy_silent_then_announced_once(ran, lang):
    page = ran(lang)
    seen = page.evaluate("() => window.__busy")
    final = page.locator("#lab-few textarea").input_value()
    partial = [(text, busy) for text, busy in seen if text.strip() and text != final]
    assert partial and all(busy == "true" for _, busy in partial), seen  # busy while it streamed
    assert page.locator("#lab-answers").get_attribute("aria-busy") == "false"
    assert page.evaluate("() => document.querySelector('#lab-few').closest('[aria-live]')") is None
    said = page.evaluate("() => window.__said")
    assert said == [_done_parts(page, "#lab-details", lang)], said  # one announcement, the status line's
    assert said[0].count(f"{DONE[lang]}:") == 3 and "tokens" in said[0]  # zero-, one- and few-shot
    other = page.evaluate("() => window.__other")
    assert not [t for t in other if any(text.strip() and text.strip() in t for text, _ in partial)], other
    branch_in_the_lab(page, lang)
    page.wait_for_function("() => window.__said.length > 1", timeout=WAIT_MS)
    wait_until_idle(page)
    said = page.evaluate("() => window.__said")
    assert said[1:] == [_done_parts(page, "#lab-branch-details", lang)], said  # the branch, once


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_each_token_is_named_with_its_probability(ran, lang):
    page = ran(lang)
    listbox = page.locator("#lab-explorer .pg-answer")
    assert listbox.get_attribute("role") == "listbox"
    assert listbox.get_attribute("aria-label") == tr("explorer_tokens", lang)
    tokens = page.locator("#lab-explorer .pg-answer > .pg-tok")
    stops = page.locator("#lab-explorer .pg-answer > .pg-tok[tabindex='0']")
    assert tokens.count() >= 3 and stops.count() == 1  # one Tab stop for the answer
    for token in tokens.all():
        alternatives = {row[0]: row[2] for row in json.loads(token.get_attribute("data-alts"))}
        probability = alternatives[int(token.get_attribute("data-id"))]
        text = token.inner_text().replace("↵\n", "\n")
        piece = spoken_piece("" if text == "∅" else text, lang)
        expected = tr("explorer_token_name", lang).format(piece=piece, percent=spoken_percent(probability, lang))
        assert token.get_attribute("role") == "option" and token.get_attribute("aria-label") == expected
    snapshot = listbox.aria_snapshot()
    assert snapshot.count("- option ") == tokens.count() and (" percent" if lang == "en" else " pour cent") in snapshot


def test_charts_and_tables_have_their_numbers_as_text(ran):
    page = ran("en")
    for distribution in ("#lab-raw", "#lab-adjusted"):
        snapshot = page.locator(distribution).aria_snapshot()
        assert snapshot.count("- definition: ") == 10 and "%" in snapshot, snapshot  # token and percentage, 10 rows
    tokens = page.locator("#lab-tokens").aria_snapshot()
    assert "Trans" in tokens and any(word.isdigit() for word in tokens.split()), tokens  # pieces and their ids
    legend = page.locator("#lab-explorer .pg-legend").aria_snapshot()
    assert "≥ 90%" in legend and "< 5.0%" in legend, legend  # what each colour means, as text
    run_tab(page, 3, "en")
    page.wait_for_function("(t) => window.__said.at(-1) === t", arg=tr("a11y_results", "en"), timeout=WAIT_MS)
    table = page.locator("#compare-table").aria_snapshot()
    assert '- columnheader "perplexity"' in table and '- gridcell "tiny + style-a"' in table, table
    cells = re.findall(r'- gridcell "([^"]*)"', table)
    assert any(re.fullmatch(r"\d+(\.\d+)?", cell) for cell in cells), table  # the perplexities, as numbers


@pytest.mark.parametrize(
    ("query", "locale", "lang"), [("", "en-US", "en"), ("?lang=fr", "en-US", "fr"), ("", "fr-FR", "fr")]
)
def test_the_page_language_is_the_ui_language(browser, app_url, query, locale, lang):
    context, page = _open(browser, app_url + query, locale=locale)
    page.wait_for_function("(l) => document.documentElement.lang === l", arg=lang, timeout=WAIT_MS)
    assert page.locator(".gradio-container").get_attribute("lang") == lang
    assert page.get_by_role("tab").first.inner_text() == tr("tab_lab", lang)  # the labels' language, the same
    context.close()


def test_a_french_run_is_announced_in_french(browser, app_url):
    """A French browser without ``?lang=``: the announcement is French too."""
    context, page = _open(browser, app_url, locale=LOCALES["fr"])
    page.get_by_role("tab").nth(4).click()
    page.locator("#generate").click()
    _done(page, "#generate-explorer-details", DONE["fr"])
    page.wait_for_function("() => document.querySelector('#pg-announcer').textContent.includes('Terminé:')")
    assert page.locator("#pg-announcer").text_content() == _done_parts(page, "#details", "fr")
    context.close()
