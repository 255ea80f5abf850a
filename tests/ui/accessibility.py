"""What the accessibility tests share: axe-core in the page, the app's tabs, a run of every tab, a course page.

axe-core comes with PyPI's ``axe-playwright-python`` (requirements-dev.txt), which injects
it into the page; the tests count the serious and critical violations of its WCAG 2.1 A and
AA rules.
"""

from __future__ import annotations

import http.server
import re
import threading
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tests.ui.test_browser import WAIT_MS, _done, _open

WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]  # axe-core's tags of the WCAG 2.1 A and AA rules
SERIOUS = ("serious", "critical")


@dataclass(frozen=True)
class Tab:
    """One tab of the app: its id (``?tab=``), the element that shows it is on screen, and its run."""

    name: str
    ready: str  # its run button (the Classroom: its Open button)
    done: str | None  # the status line that says its run is done (None: the Compare table, the lens's)
    runs: bool = True  # False: a tab with nothing to run (the Classroom)
    reproduce: bool = True  # it has a share link and a "Reproduce in Python" panel (#<name>-reproduce)


TABS = [
    Tab("lab", "#lab-run", "#lab-explorer-details"),
    Tab("style", "#style-run", "#style-explorer-details"),
    Tab("instructions", "#instructions-run", "#instructions-explorer-details"),
    Tab("compare", "#compare-run", None),
    Tab("generate", "#generate", "#generate-explorer-details"),
    Tab("lens", "#lens-run", None, reproduce=False),
    Tab("classroom", "#room-open", None, runs=False, reproduce=False),
]
DONE = {"en": "Done", "fr": "Terminé"}
LOCALES = {"en": "en-US", "fr": "fr-FR"}

_axe = None
SCANS = 5  # scans tried before one runs with the page at rest throughout (a chained event may start mid-scan)

# The status trackers on show: for each, the id of the nearest element with one (or ?), its classes, what it says.
_TRACKERS_SHOWN = """() => [...document.querySelectorAll('[data-testid=status-tracker]')]
  .filter((tracker) => !tracker.classList.contains('hide'))
  .map((tracker) => {
    const block = tracker.closest('[id]');
    return `${block ? '#' + block.id : '?'}: ${tracker.className} ${JSON.stringify(tracker.innerText.slice(0, 120))}`;
  })"""


# Watches the page for any event starting (a status tracker shown) or ending (a component's dimmed
# ``pending`` look put on or taken off: its opacity then changes over 0.15 s); the scan reads and clears it.
_WATCH_EVENTS = """() => {
  const busy = () => (TRACKERS_SHOWN)().length > 0;
  const dims = (record) => record.target.classList.contains('pending')
    || (record.oldValue || '').split(/\\s+/).includes('pending');
  if (!window.__pgWatch) {
    window.__pgWatch = new MutationObserver((records) => {
      if (busy() || records.some(dims)) window.__pgEventSeen = true;
    });
    const what = {subtree: true, childList: true, attributes: true, attributeFilter: ['class']};
    what.attributeOldValue = true;  // a class taken off is seen too
    window.__pgWatch.observe(document.body, what);
  }
  window.__pgEventSeen = busy();
}""".replace("TRACKERS_SHOWN", _TRACKERS_SHOWN)

# Nothing in transition: no finite animation running (a component fading back from Gradio's dimmed look
# once its event ended, a toast fading in or out), but for the bar of a toast's time on screen.
_STILL = """() => document.getAnimations().every((animation) => {
  if (animation.playState !== "running" || !animation.effect) return true;
  const target = animation.effect.target;
  if (target && target.classList && target.classList.contains("timer") && target.closest(".toast-body")) return true;
  return animation.effect.getComputedTiming().endTime === Infinity;
})"""


def serious_violations(page, context: str | None = None) -> list[str]:
    """The serious and critical violations of axe-core's WCAG 2.1 A/AA rules in ``page``: one line per element.

    The page is measured at rest: once no component shows Gradio's progress (an output of an
    event still running is dimmed, its text paler than it is) and nothing is in transition (a
    component fading back in after its event, a toast fading in: halfway, the same). A scan
    during which an event started or ended (the next event of a chain, once the first has
    ended) is done again, up to :data:`SCANS` times.
    """
    global _axe
    if _axe is None:
        from axe_playwright_python.sync_playwright import Axe

        _axe = Axe()
    options = {"runOnly": {"type": "tag", "values": WCAG_21_AA}, "resultTypes": ["violations"]}
    for _ in range(SCANS):
        wait_until_idle(page)
        page.wait_for_function(_STILL, timeout=WAIT_MS)
        page.evaluate(_WATCH_EVENTS)
        results = _axe.run(page, context=context, options=options).response
        if not page.evaluate("() => window.__pgEventSeen"):
            break
    else:
        raise AssertionError(f"an event started or ended during each of {SCANS} scans: the page was never at rest")
    return [
        f"{rule['id']} ({rule['impact']}): {' '.join(map(str, node['target']))}: {node['failureSummary']}"
        for rule in results["violations"]
        if rule["impact"] in SERIOUS
        for node in rule["nodes"]
    ]


def open_app(browser, url: str, lang: str, **options):
    """The app in a browser of ``lang``'s locale, with ``?lang=`` too, once its labels are in that language."""
    context, page = _open(browser, f"{url}{'&' if '?' in url else '?'}lang={lang}", locale=LOCALES[lang], **options)
    wait_for_language(page, lang)
    return context, page


@contextmanager
def pages_by_language(browser, url: str, prepare: Callable[[Any, str], None] | None = None) -> Iterator[Callable]:
    """A function giving the app's page in a language: opened (then ``prepare(page, lang)``) when first asked for.

    The pages are closed when the block ends (a module's fixture keeps them for its tests).
    """
    opened: dict[str, tuple[Any, Any]] = {}

    def page(lang: str):
        if lang not in opened:
            opened[lang] = open_app(browser, url, lang)
            if prepare is not None:
                prepare(opened[lang][1], lang)
        return opened[lang][1]

    try:
        yield page
    finally:
        for context, _ in opened.values():
            context.close()


def wait_for_language(page, lang: str) -> None:
    """Wait until the page's load events have applied ``lang`` and ended (no component shows progress).

    The lab's examples header says it, on screen or not (a link may open another tab).
    """
    header = {"en": "input", "fr": "entrée"}[lang]
    page.locator("#lab-examples").get_by_text(header, exact=True).first.wait_for(state="attached", timeout=WAIT_MS)
    wait_until_idle(page)


def wait_until_idle(page) -> None:
    """Wait until no component of the page shows Gradio's progress (every status tracker hidden).

    When it never happens, the error names the trackers still on show and what they say.
    """
    try:
        page.wait_for_function(f"() => ({_TRACKERS_SHOWN})().length === 0", timeout=WAIT_MS)
    except Exception as exc:
        shown = page.evaluate(_TRACKERS_SHOWN)
        raise AssertionError(f"the page never came to rest: {len(shown)} status tracker(s) on show: {shown}") from exc


def show_tab(page, index: int) -> None:
    """Click tab ``index`` (of :data:`TABS`) and wait until its run button shows."""
    page.get_by_role("tab").nth(index).click()
    page.locator(TABS[index].ready).wait_for(timeout=WAIT_MS)


def run_tab(page, index: int, lang: str) -> None:
    """Show tab ``index``, run it, and wait until it is done (its explorer filled, or the table)."""
    tab = TABS[index]
    show_tab(page, index)
    page.locator(tab.ready).click()
    if tab.name == "lens":
        page.wait_for_function(
            "() => (document.querySelector('#lens-table')?.innerText || '').includes('␣')", timeout=WAIT_MS
        )
    elif tab.done is None:
        page.locator("#compare-table").get_by_text("tiny + style-a").last.wait_for(timeout=WAIT_MS)
    else:
        _done(page, tab.done, DONE[lang])
    if tab.reproduce:
        show_code(page, tab.name)


def show_code(page, name: str) -> None:
    """Open tab ``name``'s "Reproduce in Python" panel and show its script (the share link written first)."""
    panel = page.locator(f"#{name}-reproduce")
    if not page.locator(f"#{name}-reproduce-show").is_visible():
        panel.locator("button, .label-wrap").first.click()
    page.locator(f"#{name}-reproduce-show").click()
    page.wait_for_function(
        "(s) => (document.querySelector(s)?.innerText || '').includes('AutoModelForCausalLM')",
        arg=f"#{name}-code",
        timeout=WAIT_MS,
    )


def branch_in_the_lab(page, lang: str) -> None:
    """In the lab's explorer (after a run), branch on the first alternative of token 2, with the keyboard."""
    tokens = page.locator("#lab-explorer .pg-answer > .pg-tok")
    tokens.nth(2).focus()
    page.keyboard.press("Enter")
    page.locator("#lab-explorer .pg-pop .pg-alt:focus").wait_for(timeout=WAIT_MS)
    page.keyboard.press("Enter")
    _done(page, "#lab-branch-details", DONE[lang])


def run_every_tab(page, lang: str) -> None:
    """Run every tab that runs, and branch in the lab: every explorer filled, every plot and table drawn."""
    for index in (i for i, tab in enumerate(TABS) if tab.runs):
        run_tab(page, index, lang)
        if TABS[index].name == "lab":
            page.locator("#lab-raw").get_by_text("%").first.wait_for(timeout=WAIT_MS)  # the distributions drawn
            branch_in_the_lab(page, lang)


def app_script(url: str) -> str:
    """The URL of the app's own script (what a course page loads before ``<gradio-app>``)."""
    with urllib.request.urlopen(url, timeout=60) as answer:
        page = answer.read().decode("utf-8")
    return url + re.search(r'src="\./(assets/index-[^"]+\.js)"', page).group(1)


COURSE_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Week 3: few-shot prompting</title>
<script type="module" src="{script}"></script></head>
<body><main lang="en"><h1>Week 3: few-shot prompting</h1><p>Try the examples in the playground below.</p>
<gradio-app src="{url}" initial_height="900px"></gradio-app></main></body></html>
"""


@contextmanager
def course_page(app_url: str) -> Iterator[str]:
    """A plain HTML page embedding the app with ``<gradio-app>``, as a course page does: its URL.

    Its text declares its language on ``<main>``: Gradio's i18n library sets ``<html lang>``
    to the reader's language, the course page's too (docs/accessibility.md).

    It is served from another origin (``localhost``, another port) by a small server on the
    loopback interface, stopped when the block ends.
    """
    body = COURSE_PAGE.format(script=app_script(app_url), url=app_url).encode("utf-8")

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}/week3.html"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=30)
