"""The app on a phone: 390 × 844 and 360 × 800 viewports, touch, in Chromium.

Every tab is on screen and one tap away (no overflow menu), no page scrolls sideways,
every button is at least 44 px tall; the lab's three panes stack, full width, and after a
run the answers, the explorer and a tapped token's alternatives stay inside the screen. A
class on two phones (a teacher's and a student's) keeps both at each of its moments.
"""

from __future__ import annotations

import itertools
import shutil

import pytest

from tests.ui.accessibility import TABS, wait_for_language, wait_until_idle
from tests.ui.classroom_moments import ENTRY, a_class
from tests.ui.test_browser import WAIT_MS, _done

pytestmark = pytest.mark.skipif(not shutil.which("chromium"), reason="Debian's chromium is not installed")

VIEWPORTS = [(390, 844), (360, 800)]
MIN_TARGET = 44  # px: WCAG 2.5.5's target size

# Every visible button (tabs included) shorter than MIN_TARGET, outside what assistive technology is told to skip.
_SHORT_BUTTONS = """(least) => [...document.querySelectorAll("button, [role=tab], [role=button]")]
  .filter((b) => !b.closest("[aria-hidden=true]") && b.getClientRects().length)
  .filter((b) => getComputedStyle(b).visibility !== "hidden")
  .map((b) => [b.getAttribute("aria-label") || b.innerText.trim().slice(0, 30) || b.className,
               b.getBoundingClientRect()])
  .filter(([, box]) => box.width > 2 && box.height < least - 0.5)
  .map(([name, box]) => `${name}: ${box.height.toFixed(1)} px`)"""

_SIDEWAYS = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


def _phone(browser, url: str, width: int, height: int, ready: str = "#lab-run"):
    context = browser.new_context(
        viewport={"width": width, "height": height}, is_mobile=True, has_touch=True, locale="en-US"
    )
    page = context.new_page()
    page.goto(url, wait_until="load")
    page.locator(ready).wait_for(timeout=WAIT_MS)
    wait_for_language(page, "en")
    return context, page


def _inside(box: dict, width: int) -> bool:
    return box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5


@pytest.mark.parametrize(("width", "height"), VIEWPORTS)
def test_every_tab_is_one_tap_away_and_nothing_scrolls_sideways(browser, app_url, width, height):
    context, page = _phone(browser, app_url, width, height)
    tabs = page.get_by_role("tab")
    assert tabs.count() == len(TABS)
    assert not page.get_by_role("button", name="More tabs").is_visible()  # no overflow menu
    for index, tab in enumerate(TABS):
        button = tabs.nth(index)
        assert button.is_visible() and _inside(button.bounding_box(), width), index
        button.tap()
        page.locator(tab.ready).wait_for(timeout=WAIT_MS)
        assert button.get_attribute("aria-selected") == "true"
        assert page.evaluate(_SIDEWAYS) <= 0, tab.name
        assert page.evaluate(_SHORT_BUTTONS, MIN_TARGET) == [], tab.name
    context.close()


@pytest.mark.parametrize(("width", "height"), VIEWPORTS)
def test_the_lab_stacks_its_panes_and_a_run_stays_on_screen(browser, app_url, width, height):
    context, page = _phone(browser, app_url, width, height)
    page.locator("#lab-run").tap()
    _done(page, "#lab-explorer-details")
    boxes = [page.locator(f"#lab-{n}").bounding_box() for n in ("zero", "one", "few")]
    column = page.locator("#lab-answers").bounding_box()
    for above, below in itertools.pairwise(boxes):
        assert below["y"] >= above["y"] + above["height"] - 0.5  # stacked, one under the other
    assert all(abs(b["x"] - column["x"]) <= 1 and b["width"] >= column["width"] - 2 for b in boxes)  # full width
    for pane in ("zero", "one", "few"):
        box = page.locator(f"#lab-{pane} textarea")
        assert box.input_value().strip()
        assert float(box.evaluate("(t) => parseFloat(getComputedStyle(t).fontSize)")) >= 14  # readable
        assert box.evaluate("(t) => t.scrollWidth <= t.clientWidth")  # the answer wraps, no sideways scroll
    assert page.evaluate(_SIDEWAYS) <= 0
    assert _inside(page.locator("#lab-explorer .pg-answer").bounding_box(), width)
    assert page.evaluate(_SHORT_BUTTONS, MIN_TARGET) == []
    token = page.locator("#lab-explorer .pg-answer > .pg-tok").nth(1)
    token.scroll_into_view_if_needed()
    token.tap()
    popover = page.locator("#lab-explorer .pg-pop")
    popover.wait_for(timeout=WAIT_MS)
    assert _inside(popover.bounding_box(), width)
    assert all(alt.bounding_box()["height"] >= MIN_TARGET - 0.5 for alt in popover.locator(".pg-alt").all())
    context.close()


def test_a_class_on_phones(browser, app_url):
    """A teacher's phone and a student's (360 × 800): at each moment of a class, nothing sideways, no small button."""
    width, height = VIEWPORTS[-1]
    contexts, found = [], {}

    def open_page(url: str):
        context, page = _phone(browser, url, width, height, ready=ENTRY)
        contexts.append(context)
        return context, page

    def measure(page, moment: str) -> None:
        wait_until_idle(page)
        sideways = page.evaluate(_SIDEWAYS)
        found[moment] = ([f"scrolls {sideways} px sideways"] if sideways > 0 else []) + page.evaluate(
            _SHORT_BUTTONS, MIN_TARGET
        )

    try:
        a_class(open_page, app_url, "en", measure)
    finally:
        for context in contexts:
            context.close()
    assert not any(found.values()), {moment: problems for moment, problems in found.items() if problems}
