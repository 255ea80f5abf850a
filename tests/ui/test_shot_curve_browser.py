"""The lab's shot curve in a real browser (Debian's Chromium, Playwright), on the tiny models, in English and French.

A link opens the lab on the sentiment preset: a classification, whose labels are scored and
never generated, so a curve is a few batches of the tiny model. The section opens with the
preset's pool and tests, their headers in the page's language; Draw (one draw at each k)
streams the curve into a chart and its numbers (a table, a row per k) with a status line; a
screen reader hears "Done: N answers" once, and the chart's image is named in the page's
language and described by the table. The calibration view draws the lines before and after
calibration. axe-core finds no serious or critical violation in the section with a curve drawn.
"""

from __future__ import annotations

import shutil

import pytest

from playground.lessons.curve_sets import load_curve_sets
from playground.lessons.presets import load_presets
from playground.lessons.shot_curve import DEFAULT_SHOTS
from tests.ui.accessibility import open_app, serious_violations
from tests.ui.test_browser import WAIT_MS

pytestmark = pytest.mark.skipif(not shutil.which("chromium"), reason="Debian's chromium is not installed")

PRESET = "sentiment"
ANSWERS = len(load_curve_sets(load_presets())[PRESET].tests) * len(DEFAULT_SHOTS)  # one draw at each k
WORDS = {
    "en": {
        "title": "Shot curve", "input": "input", "query": "query", "done": f"Done: {ANSWERS} answers",
        "seed": "seed 0", "metric": "(accuracy %)", "columns": ("mean", "lowest", "highest"),
        "before": "tiny: before calibration", "after": "tiny: after calibration", "chart": "Chart of the shot curve",
    },
    "fr": {
        "title": "Courbe des exemples", "input": "entrée", "query": "requête", "done": f"Terminé : {ANSWERS} réponses",
        "seed": "graine 0", "metric": "(exactitude %)", "columns": ("moyenne", "minimum", "maximum"),
        "before": "tiny : avant calibration", "after": "tiny : après calibration", "chart": "Graphique de la courbe",
    },
}  # fmt: skip


def _open_curve(page, title: str) -> None:
    """Open the shot curve's accordion (its title starts with ``title``); one draw at each k."""
    page.locator("#curve").get_by_text(title).first.click()
    page.locator("#curve-draw").wait_for(state="visible", timeout=WAIT_MS)
    draws = page.locator("#curve-orderings input[type=number]")
    draws.fill("1")
    draws.press("Enter")


def _draw(page, button: str, done: str, row: str) -> str:
    """Click ``button``; wait until the status line says ``done`` and the table has a ``row``; the status line."""
    page.locator(button).click()
    try:
        page.wait_for_function(
            "([done, row]) => (document.querySelector('#curve-status')?.innerText || '').includes(done)"
            " && (document.querySelector('#curve-table')?.innerText || '').includes(row)",
            arg=[done, row],
            timeout=WAIT_MS,
        )
    except Exception as exc:  # say what the page shows instead: the status line so far, an error's toast
        shown = page.locator("#curve-status").inner_text(), page.locator(".toast-body").all_inner_texts()
        raise AssertionError(f"the curve never said {done!r}; the page shows {shown!r}") from exc
    page.locator("#curve-chart img").first.wait_for(timeout=WAIT_MS)
    return page.locator("#curve-status").inner_text()


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_lab_draws_the_shot_curve_and_its_calibration_view(browser, app_url, lang):
    words = WORDS[lang]
    context, page = open_app(browser, f"{app_url}?preset={PRESET}", lang)
    _open_curve(page, words["title"])
    assert words["input"] in page.locator("#curve-pool").inner_text()  # the preset's pool, headers in the language
    assert words["query"] in page.locator("#curve-tests").inner_text()
    status = _draw(page, "#curve-draw", words["done"], "tiny")
    assert words["seed"] in status and words["metric"] in status
    table = page.locator("#curve-table").inner_text()
    assert all(column in table for column in words["columns"]), table
    assert table.count("tiny") == len(DEFAULT_SHOTS), table  # a row per k
    page.wait_for_function(  # a screen reader hears the end of the curve, once, in the page's language
        "(done) => document.querySelector('#pg-announcer').textContent.includes(done)", arg=words["done"]
    )
    assert page.locator("#pg-announcer").text_content() == words["done"]
    image = page.locator("#curve-chart img").first
    assert (image.get_attribute("aria-label") or "").startswith(words["chart"])
    assert image.get_attribute("aria-describedby") == "curve-table"
    status = _draw(page, "#curve-calibration", words["done"], words["after"])
    table = page.locator("#curve-table").inner_text()
    assert table.count(words["before"]) == table.count(words["after"]) == len(DEFAULT_SHOTS), table
    found = serious_violations(page, context="#curve")
    print(f"axe {lang} shot curve, calibration drawn: {len(found)} serious or critical")
    assert not found, "\n".join(found)
    context.close()
