"""The lab's shot curve in a real browser (Debian's Chromium, Playwright), on the tiny models, in English and French.

The section opens under the lab with the preset's pool and tests; Draw streams the curve into
a chart (an image) and its numbers (a table, a row per k); the random-label view draws the
gold and the shuffled lines. A French page has the same in French.
"""

from __future__ import annotations

import shutil

import pytest

from tests.ui.test_browser import WAIT_MS, _done, _open

pytestmark = pytest.mark.skipif(not shutil.which("chromium"), reason="Debian's chromium is not installed")

ROWS_JS = "(s) => document.querySelectorAll(s + ' tbody tr').length"


def _open_curve(page, title: str) -> None:
    """Open the shot curve's accordion (its title starts with ``title``) and wait for its pool table."""
    page.locator("#curve").get_by_text(title).first.click()
    page.locator("#curve-draw").wait_for(state="visible", timeout=WAIT_MS)


def _table_text(page) -> str:
    return page.locator("#curve-table").inner_text()


def _draw(page, button: str, done: str) -> str:
    """Click ``button``, wait until the status line says ``done`` and the chart is an image; the status line."""
    page.locator(button).click()
    _done(page, "#curve-status", done)
    page.locator("#curve-chart img, #curve-chart svg, #curve-chart canvas").first.wait_for(timeout=WAIT_MS)
    return page.locator("#curve-status").inner_text()


def test_the_lab_draws_the_shot_curve_and_its_random_label_view(browser, app_url):
    context, page = _open(browser, app_url)
    _open_curve(page, "Shot curve")
    assert "input" in page.locator("#curve-pool").inner_text()  # the preset's pool, its headers in English
    status = _draw(page, "#curve-draw", "Done")
    assert "seed 0" in status and "at k = 0" in status and "(chrF)" in status
    table = _table_text(page)
    assert "mean" in table and "lowest" in table and "highest" in table
    rows = page.evaluate(ROWS_JS, "#curve-table")
    assert rows == 5  # k = 0, 1, 2, 4, 8: a row each
    status = _draw(page, "#curve-random_labels", "Done")
    assert "gold labels" in status and "random labels" in status
    assert page.evaluate(ROWS_JS, "#curve-table") == 2 * rows  # gold and random, a row per k each
    context.close()


def test_a_french_page_draws_the_curve_in_french(browser, app_url):
    context, page = _open(browser, app_url + "?lang=fr", locale="fr-FR")
    _open_curve(page, "Courbe des exemples")
    page.locator("#curve-pool").get_by_text("entrée").first.wait_for(timeout=WAIT_MS)  # headers in French
    status = _draw(page, "#curve-draw", "Terminé")
    assert "graine 0" in status and "à k = 0" in status
    table = _table_text(page)
    assert "moyenne" in table and "minimum" in table and "maximum" in table
    assert page.evaluate(ROWS_JS, "#curve-table") == 5
    context.close()
