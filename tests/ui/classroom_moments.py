"""A class in two browsers, a teacher's and a student's, with a check of each page at each moment.

The accessibility tests run it with their own check: axe-core's scan
(``tests/ui/test_axe_browser.py``), a phone's sideways scroll and target sizes
(``tests/ui/test_phone_browser.py``). The moments: the Classroom tab before any room; the
teacher's empty room; the student joined; the student's lab after a run sent (its Send
button and the "Sent" toast); the board with the run; the vote's run picker open; the vote
open on both pages; the student's ballot cast; the vote closed (the tally, on both pages);
the teacher asked again before clearing and closing; the room closed (both pages back at
the entry, each with its toast).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.ui.accessibility import DONE, TABS, show_tab
from tests.ui.test_browser import WAIT_MS, _done

Check = Callable[[Any, str], None]  # check(page, moment)
Opener = Callable[[str], tuple[Any, Any]]  # open(url) -> (context, page), the page ready in its language

CLASSROOM = next(i for i, tab in enumerate(TABS) if tab.name == "classroom")
CLOSED = {"en": "Closed: ", "fr": "Fermé : "}  # the teacher's tally (room_vote_tally)
RESULT = {"en": "Result: ", "fr": "Résultat : "}  # the student's (room_vote_result)
ENTRY = "#room-open"  # on screen when the page is in no room


def wait_text(page, selector: str, pattern: str) -> None:
    """Wait until the element ``selector`` shows text matching ``pattern`` (a regular expression)."""
    page.wait_for_function(
        "([s, p]) => new RegExp(p).test(document.querySelector(s)?.innerText || '')",
        arg=[selector, pattern],
        timeout=WAIT_MS,
    )


def _field(page, selector: str):
    return page.locator(f"{selector} textarea, {selector} input").first


def _open_a_room(open_page: Opener, url: str, check: Check) -> tuple[Any, str]:
    """The teacher's page: the entry, then a room opened; (the page, the room's code)."""
    _, teacher = open_page(url + "?tab=classroom")
    teacher.locator(ENTRY).wait_for(timeout=WAIT_MS)
    check(teacher, "the Classroom tab, no room")
    _field(teacher, "#room-title").fill("Period 3")
    teacher.locator("#room-open").click()
    wait_text(teacher, "#pg-room-code", r"^[A-Z2-9]{4}-[A-Z2-9]{4}$")
    check(teacher, "teacher, an empty room")
    return teacher, teacher.locator("#pg-room-code").inner_text()


def _join_and_send(open_page: Opener, url: str, code: str, lang: str, check: Check) -> Any:
    """The student's page: joined by the room's link, a lab run sent; the page."""
    _, student = open_page(f"{url}?tab=classroom&room={code.replace('-', '')}")
    student.wait_for_function(
        "(c) => document.querySelector('#room-code textarea, #room-code input')?.value === c", arg=code
    )
    _field(student, "#room-name").fill("Ada")
    student.locator("#room-join").click()
    wait_text(student, "#pg-student-status", "Ada")
    check(student, "student, joined")
    show_tab(student, 0)
    student.locator("#lab-run").click()
    _done(student, "#lab-explorer-details", DONE[lang])
    student.locator("#lab-send").click()
    student.locator(".toast-body").first.wait_for(timeout=WAIT_MS)
    check(student, "student, the lab's run sent")
    return student


def _vote(teacher, student, lang: str, check: Check) -> None:
    """The teacher fills a vote from the student's run and starts it; the student votes; the teacher closes it."""
    wait_text(teacher, "#pg-board", "Ada")
    check(teacher, "teacher, the board with a run")
    teacher.locator("#vote-picker input").click()
    teacher.get_by_role("option").first.wait_for(timeout=WAIT_MS)
    check(teacher, "teacher, the vote's run picker open")
    teacher.keyboard.press("ArrowDown")  # the keyboard picks it: a phone's list may open off screen (it is fixed)
    teacher.keyboard.press("Enter")
    teacher.wait_for_function("() => document.querySelector('#vote-answer-2 textarea')?.value !== ''", timeout=WAIT_MS)
    _field(teacher, "#vote-setup-prompt").fill("Which answer is better?")
    teacher.locator("#vote-start").click()
    wait_text(teacher, "#pg-board-vote", "Which answer is better")
    check(teacher, "teacher, the vote open")
    student.get_by_role("tab").nth(CLASSROOM).click()  # the student's room (no entry: show_tab would wait on it)
    student.wait_for_function("() => document.querySelector('#vote-A')?.disabled === false", timeout=WAIT_MS)
    check(student, "student, the vote open")
    student.locator("#vote-A").click()
    student.wait_for_function("() => document.querySelector('#vote-A')?.disabled === true", timeout=WAIT_MS)
    check(student, "student, the ballot cast")
    teacher.locator("#vote-close").click()
    wait_text(teacher, "#pg-board-vote", CLOSED[lang])
    check(teacher, "teacher, the vote closed")
    wait_text(student, "#pg-student-vote", RESULT[lang])
    check(student, "student, the result")


def _close(teacher, student, check: Check) -> None:
    """The teacher is asked again before clearing and closing, and closes the room: both pages at the entry."""
    teacher.locator("#room-clear").click()
    teacher.locator("#room-clear-yes").wait_for(timeout=WAIT_MS)
    teacher.locator("#room-close").click()
    teacher.locator("#room-close-yes").wait_for(timeout=WAIT_MS)
    check(teacher, "teacher, asked again before clearing and closing")
    teacher.locator("#room-close-yes").click()
    teacher.locator(ENTRY).wait_for(timeout=WAIT_MS)
    teacher.locator(".toast-body").first.wait_for(timeout=WAIT_MS)
    check(teacher, "teacher, the room closed")
    student.locator(ENTRY).wait_for(timeout=WAIT_MS)  # its next poll finds the room closed
    student.locator(".toast-body").first.wait_for(timeout=WAIT_MS)
    check(student, "student, the room closed")


def a_class(open_page: Opener, url: str, lang: str, check: Check) -> None:
    """A teacher's page and a student's, each opened with ``open_page``; ``check(page, moment)`` at each moment."""
    teacher, code = _open_a_room(open_page, url, check)
    student = _join_and_send(open_page, url, code, lang, check)
    _vote(teacher, student, lang, check)
    _close(teacher, student, check)
