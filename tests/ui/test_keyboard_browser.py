"""The lab, the token explorer and the Generate tab with the keyboard alone, in Chromium, English and French.

Tab goes through every control of the lab in the order of the page (the tabs, the setup,
the examples, the settings, then Run), each with a visible focus; a menu, a slider, Run,
the explorer's tokens (arrow keys), their alternatives (Enter) and a branch (Enter) all work
from the keyboard; Tab leaves the explorer and Shift+Tab comes back (no trap). In the
Classroom tab, a teacher opens a room and starts a vote, and a student joins and votes,
each with the keyboard alone.
"""

from __future__ import annotations

import json
import shutil

import pytest

from tests.ui.accessibility import DONE, TABS, open_app
from tests.ui.classroom_moments import ENTRY, wait_text
from tests.ui.test_browser import WAIT_MS, _done, _value

pytestmark = pytest.mark.skipif(not shutil.which("chromium"), reason="Debian's chromium is not installed")

# The focused element: what the test names it by, and where it is in the window (scrolled how far).
_FOCUSED = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  const box = e.getBoundingClientRect();
  let block = e.closest("[id]");  // the nearest id of the app's own (not one Gradio numbers)
  while (block && /^(component-|range_id|html-)/.test(block.id)) block = block.parentElement.closest("[id]");
  return {
    id: block ? block.id : "", role: e.getAttribute("role") || "", tag: e.tagName.toLowerCase(),
    name: (e.getAttribute("aria-label") || e.innerText || "").trim().slice(0, 60),
    token: e.classList.contains("pg-tok") ? Number(e.dataset.i) : null,
    x: box.left, y: box.top, width: box.width, height: box.height, scrollX: window.scrollX, scrollY: window.scrollY,
  };
}"""

# Whether the focused element is outlined (the explorer's tokens and alternatives: ui/accessibility.py's rule).
_OUTLINED = """() => {
  const style = getComputedStyle(document.activeElement);
  return style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2;
}"""

LAB_ORDER = ["lab-preset", "lab-model", "lab-adapter", "lab-task", "lab-examples", "lab-query", "lab-temperature",
             "lab-top_k", "lab-seed", "lab-run"]  # fmt: skip


def _focused(page) -> dict | None:
    return page.evaluate(_FOCUSED)


def _tab_until(page, found, limit: int = 150, key: str = "Tab", shots: list | None = None) -> list[dict]:
    """Press ``key`` until the focused element satisfies ``found``; every element focused on the way.

    ``shots``: a list to which a picture of each focused element (and its surroundings) is added.
    """
    stops = []
    for _ in range(limit):
        page.keyboard.press(key)
        stop = _focused(page)
        if stop is not None:
            stops.append(stop)
            if shots is not None:
                shots.append(page.screenshot(clip=_clip(stop)))
            if found(stop):
                return stops
    raise AssertionError(f"{key} never reached it; focused on the way: {[(s['id'], s['name']) for s in stops]}")


def _from_the_top(page) -> None:
    """Make the top of the page (the title) where the next Tab starts from."""
    page.locator("#title").click()


def _clip(stop: dict) -> dict:
    pad = 6
    return {"x": max(0, stop["x"] - pad), "y": max(0, stop["y"] - pad),
            "width": stop["width"] + 2 * pad, "height": stop["height"] + 2 * pad}  # fmt: skip


def _tokens(page, selector: str):
    return page.locator(f"{selector} .pg-answer > .pg-tok")


def _shown_alternatives_of(page) -> int:
    """The position of the token whose alternatives are on screen (the lab's explorer)."""
    popover = page.locator("#lab-explorer .pg-pop")
    popover.wait_for(timeout=WAIT_MS)
    assert popover.locator("tbody tr").count() >= 2
    return int(popover.get_attribute("data-i"))


def _assert_every_focus_is_visible(page) -> None:
    """Tab from the top to Run: each control looks different focused than with nothing focused."""
    _from_the_top(page)
    shots = []
    stops = _tab_until(page, lambda s: s["id"] == "lab-run", shots=shots)
    page.evaluate("() => document.activeElement.blur()")
    unseen = []
    for stop, shot in zip(stops, shots, strict=True):
        page.evaluate("([x, y]) => window.scrollTo(x, y)", [stop["scrollX"], stop["scrollY"]])
        if page.screenshot(clip=_clip(stop)) == shot:
            unseen.append(stop)
    assert not unseen, f"no visible focus on: {[(s['id'], s['tag'], s['name']) for s in unseen]}"


def _walk_the_lab(page, lang: str) -> None:
    """Tab through the lab to Run, choosing a preset and a top-k on the way, and run it."""
    _from_the_top(page)
    stops = _tab_until(page, lambda s: s["id"] == "lab-preset")
    tabs = [s["name"] for s in stops if s["role"] == "tab"]
    assert len(tabs) == len(TABS) and stops[0]["role"] == "tab", stops  # the tab bar first, every tab
    query = _value(page, "#lab-query")
    page.keyboard.press("ArrowDown")  # the preset menu (open on focus): the next preset, its query
    page.keyboard.press("Enter")
    page.wait_for_function(
        "(q) => document.querySelector('#lab-query textarea').value !== q", arg=query, timeout=WAIT_MS
    )
    stops += _tab_until(page, lambda s: s["id"] == "lab-top_k" and s["name"].startswith("range"))
    page.keyboard.press("ArrowRight")  # the top-k slider: 0 -> 1
    page.wait_for_function(
        "() => document.querySelector('#lab-top_k input[type=number]').value === '1'", timeout=WAIT_MS
    )
    stops += _tab_until(page, lambda s: s["id"] == "lab-run")
    ids = [s["id"] for s in stops]
    assert all(i in ids for i in LAB_ORDER), ids
    assert [ids.index(i) for i in LAB_ORDER] == sorted(ids.index(i) for i in LAB_ORDER), ids  # the page's order
    page.keyboard.press("Enter")  # Run
    _done(page, "#lab-explorer-details", DONE[lang])


def _explore_and_branch(page, lang: str) -> None:
    """From Run, Tab to the explorer's tokens; arrows, Home, End; Enter, Escape; a branch with Enter."""
    _tab_until(page, lambda s: s["token"] is not None and s["id"] == "lab-explorer")
    tokens = _tokens(page, "#lab-explorer")
    count = tokens.count()
    assert _focused(page)["token"] == 0 and _shown_alternatives_of(page) == 0  # its alternatives listed
    assert page.evaluate(_OUTLINED), "no visible focus on the token"
    name = _focused(page)["name"]
    assert (" percent" if lang == "en" else " pour cent") in name, name  # "fromage, 60 percent"
    page.keyboard.press("ArrowRight")
    assert _focused(page)["token"] == 1 and _shown_alternatives_of(page) == 1
    page.keyboard.press("End")
    assert _focused(page)["token"] == count - 1 and _shown_alternatives_of(page) == count - 1
    page.keyboard.press("Home")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowRight")
    assert _focused(page)["token"] == 2 and _shown_alternatives_of(page) == 2
    page.keyboard.press("Enter")  # to the alternatives
    assert "pg-alt" in page.evaluate("() => document.activeElement.className")
    assert page.evaluate(_OUTLINED), "no visible focus on the alternative"
    page.keyboard.press("Escape")  # back to the token
    assert _focused(page)["token"] == 2
    page.keyboard.press("Enter")
    page.keyboard.press("ArrowDown")  # the second alternative
    chosen = int(page.evaluate("() => document.activeElement.dataset.token"))
    original = [int(t.get_attribute("data-id")) for t in tokens.all()]
    page.keyboard.press("Enter")  # branch on it
    _done(page, "#lab-branch-details", DONE[lang])
    branch = [int(t.get_attribute("data-id")) for t in _tokens(page, "#lab-branch").all()]
    assert branch[:3] == [*original[:2], chosen]
    assert _focused(page)["token"] == 2  # the focus is back on its token


def _no_trap(page) -> None:
    """Tab leaves the explorer for the controls after it; Shift+Tab comes back to the same token."""
    token = _focused(page)["token"]
    after = _tab_until(page, lambda s: s["id"] == "lab-share")
    assert len(after) < 40, after
    back = _tab_until(page, lambda s: s["id"] == "lab-explorer", key="Shift+Tab")
    assert back[-1]["token"] == token  # one stop per answer: the token last focused


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_lab_and_its_explorer_with_the_keyboard_alone(browser, app_url, lang):
    context, page = open_app(browser, app_url, lang)
    if lang == "en":
        _assert_every_focus_is_visible(page)
    _walk_the_lab(page, lang)
    _explore_and_branch(page, lang)
    _no_trap(page)
    context.close()


def test_the_generate_tab_with_the_keyboard_alone(browser, app_url):
    context, page = open_app(browser, app_url, "en")
    _tab_until(page, lambda s: s["role"] == "tab" and s["name"] == "Generate")
    page.keyboard.press("Enter")
    assert page.get_by_role("tab", name="Generate").get_attribute("aria-selected") == "true"
    _tab_until(page, lambda s: s["id"] == "prompt")
    page.keyboard.press("Control+A")
    page.keyboard.type("The sea otter")
    _tab_until(page, lambda s: s["id"] == "generate")
    page.keyboard.press("Space")  # Generate
    _done(page, "#generate-explorer-details")
    assert _value(page, "#output").strip()
    assert json.loads(_tokens(page, "#generate-explorer").first.get_attribute("data-alts"))  # the explorer filled
    assert not page.locator("#generate-temperature").is_visible()
    _tab_until(page, lambda s: s["name"].startswith("Settings") and s["tag"] == "button")  # the closed accordion
    page.keyboard.press("Enter")
    page.locator("#generate-temperature").wait_for(timeout=WAIT_MS)  # open: its settings show
    context.close()


def _type_into(page, field: str, text: str) -> None:
    """Tab to the text box ``field`` (its id) and type ``text`` in it."""
    _tab_until(page, lambda s: s["id"] == field and s["tag"] in ("input", "textarea"))
    page.keyboard.type(text)


def test_a_class_with_the_keyboard_alone(browser, app_url):
    teacher_context, teacher = open_app(browser, app_url + "?tab=classroom", "en", ready=ENTRY)
    _from_the_top(teacher)
    _type_into(teacher, "room-title", "Period 3")
    _tab_until(teacher, lambda s: s["id"] == "room-open")
    assert teacher.evaluate(_OUTLINED), "no visible focus on Open"
    teacher.keyboard.press("Enter")
    wait_text(teacher, "#pg-room-code", r"^[A-Z2-9]{4}-[A-Z2-9]{4}$")
    code = teacher.locator("#pg-room-code").inner_text().replace("-", "")
    student_context, student = open_app(browser, f"{app_url}?tab=classroom&room={code}", "en", ready=ENTRY)
    _from_the_top(student)
    _type_into(student, "room-name", "Ada")
    student.keyboard.press("Enter")  # joins
    wait_text(student, "#pg-student-status", "Ada")
    for field, text in (
        ("vote-setup-prompt", "Which is French?"),
        ("vote-label-1", "zero-shot"),
        ("vote-answer-1", "cheddar"),
        ("vote-label-2", "few-shot"),
        ("vote-answer-2", "fromage"),
    ):
        _type_into(teacher, field, text)  # fmt: skip
    _tab_until(teacher, lambda s: s["id"] == "vote-start")
    teacher.keyboard.press("Enter")
    wait_text(teacher, "#pg-board-vote", "Which is French")
    student.wait_for_function("() => document.querySelector('#vote-B')?.disabled === false", timeout=WAIT_MS)
    _from_the_top(student)
    _tab_until(student, lambda s: s["id"] == "vote-B")
    assert student.evaluate(_OUTLINED), "no visible focus on B"
    student.keyboard.press("Space")
    wait_text(student, "#pg-student-vote", "Your vote: B")
    teacher_context.close()
    student_context.close()
