"""The lab's shot curve in a real browser (Debian's Chromium, Playwright), on the tiny models, in English and French.

The section opens under the lab with the preset's pool and tests; Draw streams the curve into
a chart (an image) and its numbers (a table, a row per k); the random-label view draws the
gold and the shuffled lines. A French page has the same in French.
"""

from __future__ import annotations

import shutil

import pytest

from tests.ui.test_browser import WAIT_MS, _open

pytestmark = pytest.mark.skipif(not shutil.which("chromium"), reason="Debian's chromium is not installed")

CURVE_WAIT_MS = 900_000  # a curve is a hundred answers or more: an upper bound on a loaded machine, not a time


def _open_curve(page, title: str) -> None:
    """Open the shot curve's accordion (its title starts with ``title``); one draw at each k (100 answers)."""
    page.locator("#curve").get_by_text(title).first.click()
    page.locator("#curve-draw").wait_for(state="visible", timeout=WAIT_MS)
    draws = page.locator("#curve-orderings input[type=number]")
    draws.fill("1")
    draws.press("Enter")


def _table_text(page) -> str:
    return page.locator("#curve-table").inner_text()


def _draw(page, button: str, done: str) -> str:
    """Click ``button``, wait until the status line says ``done`` and the chart is an image; the status line."""
    page.locator(button).click()
    try:
        page.wait_for_function(
            "([s, w]) => (document.querySelector(s)?.innerText || '').includes(w)",
            arg=["#curve-status", done],
            timeout=CURVE_WAIT_MS,
        )
    except Exception as exc:  # say what the page shows instead: the status line so far, an error's toast
        shown = page.locator("#curve-status").inner_text(), page.locator(".toast-body").all_inner_texts()
        raise AssertionError(f"the curve never said {done!r}; the page shows {shown!r}") from exc
    page.locator("#curve-chart img, #curve-chart svg, #curve-chart canvas").first.wait_for(timeout=WAIT_MS)
    return page.locator("#curve-status").inner_text()


def test_the_lab_draws_the_shot_curve_and_its_random_label_view(browser, app_url):
    context, page = _open(browser, app_url)
    _open_curve(page, "Shot curve")
    assert "input" in page.locator("#curve-pool").inner_text()  # the preset's pool, its headers in English
    status = _draw(page, "#curve-draw", "Done: 100 answers")
    assert "seed 0" in status and "at k = 0" in status and "(chrF)" in status
    table = _table_text(page)
    assert "mean" in table and "lowest" in table and "highest" in table
    assert table.count("tiny") == 5, table  # k = 0, 1, 2, 4, 8: a row each
    status = _draw(page, "#curve-random_labels", "Done: 200 answers")  # each draw with gold and random labels
    assert "gold labels" in status and "random labels" in status
    table = _table_text(page)
    assert table.count("tiny: gold labels") == table.count("tiny: random labels") == 5, table  # a row per k each
    context.close()


def test_a_french_page_draws_the_curve_in_french(browser, app_url):
    context, page = _open(browser, app_url + "?lang=fr", locale="fr-FR")
    _open_curve(page, "Courbe des exemples")
    page.locator("#curve-pool").get_by_text("entrée").first.wait_for(timeout=WAIT_MS)  # headers in French
    status = _draw(page, "#curve-draw", "Terminé : 100 réponses")
    assert "graine 0" in status and "à k = 0" in status
    table = _table_text(page)
    assert "moyenne" in table and "minimum" in table and "maximum" in table
    assert table.count("tiny") == 5, table
    context.close()
