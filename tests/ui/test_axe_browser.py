"""axe-core's WCAG 2.1 A and AA rules on every tab, English and French, before and after a run, and embedded.

Each scan counts the serious and critical violations (one per element) and fails on any,
naming the rule and the element. "After a run" is after every tab ran and the lab branched
(every explorer filled, the distributions and the table drawn), with a token's alternatives
on screen. The embed is a plain HTML page from another origin with ``<gradio-app>`` in it,
as a course page embeds the app; and the compact ``?embed=1`` view, with a warning toast on
screen. A class (a teacher's page and a student's, English and French) is scanned at each of
its moments: the room, the board, the Send button, the vote, its result, closing. Dark mode
(a browser that prefers it) is scanned on the lab, before and after a run.

``python -m pytest tests/ui/test_axe_browser.py -s`` prints the count of each scan.
"""

from __future__ import annotations

import shutil

import pytest

from tests.ui.accessibility import (
    LOCALES,
    TABS,
    branch_in_the_lab,
    course_page,
    open_app,
    pages_by_language,
    run_every_tab,
    run_tab,
    serious_violations,
    show_tab,
    wait_until_idle,
)
from tests.ui.classroom_moments import ENTRY, a_class
from tests.ui.test_browser import _open

pytestmark = pytest.mark.skipif(not shutil.which("chromium"), reason="Debian's chromium is not installed")


def _scan_every_tab(page, label: str) -> dict[str, list[str]]:
    """The violations of each tab, by tab name; each count printed."""
    found = {}
    for index, tab in enumerate(TABS):
        show_tab(page, index)
        if tab.name == "lab" and page.locator("#lab-explorer .pg-answer > .pg-tok").count():
            page.locator("#lab-explorer .pg-answer > .pg-tok").nth(1).focus()  # its alternatives on screen
            page.locator("#lab-explorer .pg-pop").wait_for()
        found[tab.name] = serious_violations(page)
        print(f"axe {label} {tab.name}: {len(found[tab.name])} serious or critical")
    return found


def _assert_none(found: dict[str, list[str]]) -> None:
    assert not any(found.values()), "\n".join(f"{tab}: {line}" for tab, lines in found.items() for line in lines)


@pytest.fixture(scope="module")
def pages(browser, app_url):
    """One page of the app per language, kept for the module (opened when first asked for)."""
    with pages_by_language(browser, app_url) as page:
        yield page


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_every_tab_before_a_run(pages, lang):
    page = pages(lang)
    assert page.locator("html").get_attribute("lang") == lang
    _assert_none(_scan_every_tab(page, f"{lang} before a run"))


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_every_tab_after_a_run(pages, lang):
    page = pages(lang)
    run_every_tab(page, lang)
    _assert_none(_scan_every_tab(page, f"{lang} after a run"))


@pytest.fixture(scope="module")
def course(app_url):
    """A course page (another origin) embedding the app with ``<gradio-app>``: its URL."""
    with course_page(app_url) as url:
        yield url


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_app_embedded_in_a_course_page(browser, course, lang):
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, locale=LOCALES[lang])
    page = context.new_page()
    page.goto(course, wait_until="load")
    page.locator("#lab-run").wait_for(timeout=60_000)
    assert page.locator(".gradio-container").get_attribute("lang") == lang  # the app's language...
    assert page.locator("body > main").get_attribute("lang") == "en"  # ...and the course's own text's
    _assert_none(_scan_every_tab(page, f"{lang} embedded, before a run"))
    show_tab(page, 0)
    run_tab(page, 0, lang)
    branch_in_the_lab(page, lang)
    found = {"lab": serious_violations(page)}
    print(f"axe {lang} embedded, after a run lab: {len(found['lab'])} serious or critical")
    _assert_none(found)
    context.close()


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_a_class_the_teachers_page_and_a_students(browser, app_url, lang):
    """Each moment of a class (tests/ui/classroom_moments.py), on the teacher's page and the student's."""
    contexts, found = [], {}

    def open_page(url: str):
        context, page = open_app(browser, url, lang, ready=ENTRY)
        contexts.append(context)
        return context, page

    def scan(page, moment: str) -> None:
        wait_until_idle(page)
        found[moment] = serious_violations(page)
        print(f"axe {lang} classroom, {moment}: {len(found[moment])} serious or critical")

    try:
        a_class(open_page, app_url, lang, scan)
    finally:
        for context in contexts:
            context.close()
    _assert_none(found)


def test_the_compact_embed_view_with_a_warning(browser, app_url):
    """``?embed=1`` (one tab, compact), with a link parameter it ignores: a warning toast on screen."""
    context, page = _open(browser, app_url + "?embed=1&tab=lab&colour=blue", width=900)
    page.locator(".toast-body").wait_for(timeout=60_000)
    found = {"lab (?embed=1, a warning)": serious_violations(page)}
    print(f"axe en ?embed=1 lab with a warning: {len(found['lab (?embed=1, a warning)'])} serious or critical")
    _assert_none(found)
    context.close()


def test_dark_mode(browser, app_url):
    """A browser that prefers dark colours: Gradio's dark mode, the theme's dark colours; the lab before and after."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, color_scheme="dark")
    page = context.new_page()
    page.goto(app_url, wait_until="load")
    page.locator("body.dark #lab-run").wait_for(timeout=60_000)
    found = {"lab, dark": serious_violations(page)}
    run_tab(page, 0, "en")
    wait_until_idle(page)  # the branch pane emptied, its progress gone
    page.locator("#lab-explorer .pg-answer > .pg-tok").nth(1).focus()
    found["lab, dark, after a run"] = serious_violations(page)
    print(f"axe en dark lab: {len(found['lab, dark'])}, after a run {len(found['lab, dark, after a run'])}")
    _assert_none(found)
    context.close()
