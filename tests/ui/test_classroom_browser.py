"""A class in real browsers: a teacher's page and three students' pages in Debian's Chromium, on the tiny models.

The teacher opens a room; each student opens the join link (``?tab=classroom&room=CODE``),
joins, runs the lab and sends the run; the teacher's board shows the three runs side by
side (one student's name is markup, and shows as typed); the teacher starts a blind vote,
each student votes, and the tally appears on the board and on the students' pages only once
the teacher closes the vote. One student's browser is French, and her page speaks French.

A class's shot curves: a student draws the lab's curve and sends it (sending before drawing
is refused, and says why), another student's curve comes by the API; the teacher's French
board draws the pooled curve with its numbers table, and axe-core finds no serious or
critical violation in it.
"""

from __future__ import annotations

import re
import shutil

import pytest

from playground.lessons.shot_curve import DEFAULT_SHOTS
from tests.classroom.helpers import lab_run_link
from tests.clients import api_client
from tests.ui.accessibility import open_app, serious_violations, show_tab
from tests.ui.test_browser import WAIT_MS, _done, _open
from tests.ui.test_shot_curve_browser import ANSWERS, PRESET, _draw, _open_curve

pytestmark = pytest.mark.skipif(not shutil.which("chromium"), reason="Debian's chromium is not installed")

NAMES = ["Ada", "<b>Bo</b>", "Cy"]  # the second would be bold if the board rendered names as HTML
LOCALES = ["en-US", "en-US", "fr-FR"]  # Cy's browser is French: so are her page and its messages
WORDS = {  # what each language's page says
    "en-US": {"lab": "Prompting lab", "classroom": "Classroom", "sent": "Sent to room", "voted": "Your vote: ",
              "result": r"Result: A was (zero|few)-shot"},
    "fr-FR": {"lab": "Labo de prompts", "classroom": "Classe", "sent": "Envoyé à la salle", "voted": "Votre vote : ",
              "result": r"Résultat : A était (zero|few)-shot"},
}  # fmt: skip


def _text(page, selector: str) -> str:
    return page.locator(selector).inner_text()


def _wait_text(page, selector: str, pattern: str) -> None:
    """Wait until the element ``selector`` shows text matching ``pattern`` (a regular expression)."""
    page.wait_for_function(
        "([s, p]) => new RegExp(p).test(document.querySelector(s)?.innerText || '')",
        arg=[selector, pattern],
        timeout=WAIT_MS,
    )


def _tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()


def test_a_teacher_and_three_students_run_a_class(browser, app_url):
    teacher_context, teacher = _open(browser, app_url + "?tab=classroom", ready="#room-open")
    teacher.locator("#room-title textarea, #room-title input").first.fill("Period 3")
    teacher.locator("#room-open").click()
    _wait_text(teacher, "#pg-room-code", r"^[A-Z2-9]{4}-[A-Z2-9]{4}$")
    code = _text(teacher, "#pg-room-code")
    assert teacher.locator("img.pg-room-qr").get_attribute("src").startswith("data:image/svg+xml")
    assert f"room={code.replace('-', '')}" in teacher.url  # a reload finds the room again
    students = []
    for name, locale in zip(NAMES, LOCALES, strict=True):
        link = f"{app_url}?tab=classroom&room={code.replace('-', '')}"
        context, page = _open(browser, link, locale=locale, ready="#room-join")
        page.wait_for_function(
            "(c) => document.querySelector('#room-code textarea, #room-code input')?.value === c", arg=code
        )
        page.locator("#room-name textarea, #room-name input").first.fill(name)
        assert page.locator("#room-join").inner_text() == ("Rejoindre" if locale == "fr-FR" else "Join")
        page.locator("#room-join").click()
        _wait_text(page, "#pg-student-status", re.escape(name))
        students.append((context, page, WORDS[locale]))
    for _, page, words in students:
        _tab(page, words["lab"])
        page.locator("#lab-run").click()
        _done(page, "#lab-explorer-details", "Done" if words is WORDS["en-US"] else "Terminé")
        page.locator("#lab-send").click()
        page.get_by_text(f"{words['sent']} {code}").first.wait_for(timeout=WAIT_MS)
    _wait_text(teacher, "#pg-board", "3 students · ")  # the board reads itself again every few seconds
    board = teacher.locator("#pg-board")
    assert all(name in board.inner_text() for name in NAMES)
    assert board.locator("b", has_text="Bo").count() == 0  # the markup name is text, not bold
    assert board.locator("a.pg-open-setup").first.get_attribute("href").startswith("?tab=lab&")
    teacher.locator("#vote-setup-prompt textarea").fill("Translate: cheese")
    for side, (label, answer) in enumerate((("zero-shot", "cheddar"), ("few-shot", "fromage")), start=1):
        teacher.locator(f"#vote-label-{side} textarea, #vote-label-{side} input").first.fill(label)
        teacher.locator(f"#vote-answer-{side} textarea").fill(answer)
    teacher.locator("#vote-start").click()
    _wait_text(teacher, "#pg-board-vote", "0 of 3 students voted")
    for i, (_, page, words) in enumerate(students):
        _tab(page, words["classroom"])
        page.wait_for_function("() => document.querySelector('#vote-A')?.disabled === false", timeout=WAIT_MS)
        shown = {page.locator(f"#vote-{s} textarea").input_value() for s in ("a", "b")}
        assert shown == {"cheddar", "fromage"}
        page.locator(f"#vote-{('A', 'B', 'tie')[i]}").click()
        _wait_text(page, "#pg-student-vote", words["voted"])
        assert not re.search(words["result"], _text(page, "#pg-student-vote"))  # no tally before the teacher closes it
    _wait_text(teacher, "#pg-board-vote", "3 of 3 students voted")
    assert "Closed" not in _text(teacher, "#pg-board-vote")
    teacher.locator("#vote-close").click()
    _wait_text(teacher, "#pg-board-vote", r"Closed: zero-shot \d votes, few-shot \d votes, ties 1")
    votes = [int(n) for n in re.findall(r"(\d) votes", _text(teacher, "#pg-board-vote"))]
    assert sum(votes) == 2
    for _, page, words in students:
        _wait_text(page, "#pg-student-vote", words["result"])
    for context in [teacher_context, *(c for c, _, _ in students)]:
        context.close()


def test_the_board_pools_the_class_shot_curves(browser, app_url, tiny_hub):
    """A student draws the lab's shot curve and sends it, another sends one by the API: the French board pools them."""
    teacher_context, teacher = open_app(browser, app_url + "?tab=classroom", "fr", ready="#room-open")
    teacher.locator("#room-open").click()
    _wait_text(teacher, "#pg-room-code", r"^[A-Z2-9]{4}-[A-Z2-9]{4}$")
    code = _text(teacher, "#pg-room-code").replace("-", "")
    context, page = open_app(browser, f"{app_url}?preset={PRESET}", "en")  # the lab, on the lesson's preset
    _tab(page, "Classroom")
    page.locator("#room-code textarea, #room-code input").first.fill(code)
    page.locator("#room-name textarea, #room-name input").first.fill("Ada")
    page.locator("#room-join").click()
    _wait_text(page, "#pg-student-status", "Ada")
    show_tab(page, 0)
    _open_curve(page, "Shot curve")
    page.locator("#curve-send").click()  # nothing drawn yet: refused, and said why
    page.locator(".toast-body", has_text="draw it first").first.wait_for(timeout=WAIT_MS)
    _draw(page, "#curve-draw", f"Done: {ANSWERS} answers", "tiny")
    page.locator("#curve-send").click()
    page.get_by_text(f"Sent to room {code[:4]}-{code[4:]}").first.wait_for(timeout=WAIT_MS)
    client = api_client(app_url)
    bo = client.predict(code=code, name="Bo", api_name="/room_join")["student_key"]
    link = lab_run_link(PRESET, model="tiny", registry=tiny_hub.registry())
    client.predict(code=code, student_key=bo, link=link, metric="accuracy", tests=4,
                   points=[{"shots": 0, "mean": 75, "low": 75, "high": 75}], api_name="/room_post_curve")  # fmt: skip
    _wait_text(teacher, "#pg-curve-0", "2 élèves")  # the board reads itself again every few seconds
    chart = teacher.locator("#pg-curve-0")
    assert chart.locator("img.pg-curve-chart").get_attribute("alt").startswith("Graphique de la courbe de la classe")
    rows = chart.locator("table.pg-curve-table tbody tr")
    assert rows.count() == len(DEFAULT_SHOTS)  # a row per k of the union of the two curves
    assert rows.first.locator("td").last.inner_text() == "2"  # both students have a point at k = 0
    assert {"Ada", "Bo"} <= set(re.findall(r"\w+", chart.locator(".pg-curve-who").inner_text()))
    found = serious_violations(teacher, context="#pg-board")
    print(f"axe fr classroom, the board with a class curve: {len(found)} serious or critical")
    assert not found, "\n".join(found)
    for opened in (teacher_context, context):
        opened.close()
