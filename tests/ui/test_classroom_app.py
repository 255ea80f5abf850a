"""The classroom over the app's API, in a real server process: the endpoints, a restart, 30 students at once.

- the endpoints with ``gradio_client``: a class opens, joins, posts, votes; a student's key
  reads no board and votes once; errors name the field, in the client's language; a curve
  /shot_curve drew is sent with /room_post_curve, and the board pools it with another;
- the server process is stopped and started again on the same SQLite file: the room, its
  runs, its students' keys and the vote are all still there;
- 30 clients (threads, each with its own connection) join, post and vote at once through
  Gradio's queue on loopback: every run is kept and every ballot counted once (a join the
  front door refuses as busy is sent again: it ran nothing).
"""

from __future__ import annotations

import json

import httpx
import pytest
from gradio_client.exceptions import AppError

from tests.classroom.helpers import at_once, lab_run_link
from tests.clients import api_client
from tests.conftest import launch_app
from tests.ui.test_shot_curve_api import CURVE
from tests.waiting import WAIT_S, wait_until


def _lab_answers(few: str) -> dict[str, str]:
    return {"zero": "cheddar", "one": "fromage", "few": few}


def test_a_class_over_the_api(app_url, tiny_hub):
    client = api_client(app_url)
    link = lab_run_link(model="tiny", registry=tiny_hub.registry())
    room = client.predict(title="API class", api_name="/room_open")
    code, teacher = room["code"], room["teacher_key"]
    assert room["join_query"] == f"?tab=classroom&room={code}"
    ada = client.predict(code=room["shown_code"].lower(), name="Ada", api_name="/room_join")
    posted = client.predict(code=code, student_key=ada["student_key"], kind="lab", link=link, prompt="",
                            answers=_lab_answers("fromage"), api_name="/room_post")  # fmt: skip
    assert posted == {"posts": 1}
    with pytest.raises(AppError, match="no open room with this code and key"):
        client.predict(code=code, teacher_key=ada["student_key"], api_name="/room_board")
    vote = client.predict(code=code, teacher_key=teacher, prompt="Which?", label_1="zero-shot", answer_1="cheddar",
                          label_2="few-shot", answer_2="fromage", api_name="/vote_start")  # fmt: skip
    seen = client.predict(code=code, student_key=ada["student_key"], vote_id=vote["vote_id"], choice="A",
                          api_name="/vote_cast")  # fmt: skip
    assert seen["chosen"] == "A" and seen["result"] is None
    with pytest.raises(AppError, match="already voted"):
        client.predict(code=code, student_key=ada["student_key"], vote_id=vote["vote_id"], choice="B",
                       api_name="/vote_cast")  # fmt: skip
    board = client.predict(code=code, teacher_key=teacher, api_name="/room_board")
    assert board["students"] == ["Ada"] and board["vote"]["ballots"] == 1 and "tally" not in board["vote"]
    assert board["lessons"][0]["given"] == {"zero": 0, "one": 1, "few": 1}
    closed = client.predict(code=code, teacher_key=teacher, api_name="/vote_close")
    picked = "side_1" if seen["a"] == "cheddar" else "side_2"
    assert closed["tally"][picked] == 1 and sum(closed["tally"].values()) == 1
    assert client.predict(code=code, teacher_key=teacher, api_name="/room_csv").count("\n") == 2
    french = api_client(app_url, headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    with pytest.raises(AppError, match="name : au plus 32 caractères, reçu 40"):
        french.predict(code=code, name="x" * 40, api_name="/room_join")
    assert client.predict(code=code, teacher_key=teacher, api_name="/room_close") == {"closed": True}


def test_a_class_sends_shot_curves_over_the_api(app_url, tiny_hub):
    client = api_client(app_url)
    link = lab_run_link(model="tiny", registry=tiny_hub.registry())
    drawn = client.predict(**{**CURVE, "shots": [0, 1], "orderings": 1}, api_name="/shot_curve")[3]
    assert drawn["tests"] == len(CURVE["tests"]["data"]) and [p["shots"] for p in drawn["points"]] == [0, 1]
    room = client.predict(title="Curves", api_name="/room_open")
    code, teacher = room["code"], room["teacher_key"]
    keys = [client.predict(code=code, name=name, api_name="/room_join")["student_key"] for name in ("Ada", "Bo")]
    sent = [drawn["points"], [{"shots": 0, "mean": 10.0, "low": 0.0, "high": 20.0}]]
    for key, points in zip(keys, sent, strict=True):
        posted = client.predict(code=code, student_key=key, link=link, metric=drawn["metric"], tests=drawn["tests"],
                                points=points, api_name="/room_post_curve")  # fmt: skip
        assert posted == {"posts": 1}
    [chart] = client.predict(code=code, teacher_key=teacher, api_name="/room_board")["curves"]
    assert chart["metric"] == "chrf" and [s["student"] for s in chart["students"]] == ["Ada", "Bo"]
    first = chart["points"][0]
    assert first["students"] == 2 and first["low"] == min(drawn["points"][0]["mean"], 10.0)
    assert chart["points"][1]["students"] == 1 and chart["points"][1]["mean"] == drawn["points"][1]["mean"]
    french = api_client(app_url, headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    with pytest.raises(AppError, match=r"points\[0\]\.mean : 120 est hors de l'intervalle"):
        too_high = [{"shots": 0, "mean": 120, "low": 0, "high": 120}]
        french.predict(code=code, student_key=keys[0], link=link, metric="chrf", tests=2, points=too_high,
                       api_name="/room_post_curve")  # fmt: skip
    assert client.predict(code=code, teacher_key=teacher, api_name="/room_csv").count("?tab=lab&") == 2


def test_a_restarted_server_keeps_the_room(tiny_hub, tmp_path_factory, tmp_path):
    env = {"PLAYGROUND_CLASSROOM_DB": str(tmp_path / "restart.sqlite3"), "PLAYGROUND_PRELOAD": "0"}
    link = lab_run_link(model="tiny", registry=tiny_hub.registry())
    with launch_app(tiny_hub.registry_dict(), tmp_path_factory, env=env) as (url, _):
        client = api_client(url)
        room = client.predict(title="before", api_name="/room_open")
        code, teacher = room["code"], room["teacher_key"]
        keys = [client.predict(code=code, name=n, api_name="/room_join")["student_key"] for n in ("Ada", "Bo")]
        for key, few in zip(keys, ("fromage", "pain"), strict=True):
            client.predict(code=code, student_key=key, kind="lab", link=link, prompt="", answers=_lab_answers(few),
                           api_name="/room_post")  # fmt: skip
        vote = client.predict(code=code, teacher_key=teacher, prompt="Which?", label_1="a", answer_1="1",
                              label_2="b", answer_2="2", api_name="/vote_start")  # fmt: skip
        client.predict(code=code, student_key=keys[0], vote_id=vote["vote_id"], choice="tie", api_name="/vote_cast")
    with launch_app(tiny_hub.registry_dict(), tmp_path_factory, env=env) as (url, _):  # a new process
        client = api_client(url)
        board = client.predict(code=code, teacher_key=teacher, api_name="/room_board")
        assert board["title"] == "before" and board["students"] == ["Ada", "Bo"] and board["posts"] == 2
        assert board["vote"]["open"] and board["vote"]["ballots"] == 1
        with pytest.raises(AppError, match="already voted"):
            client.predict(code=code, student_key=keys[0], vote_id=vote["vote_id"], choice="A", api_name="/vote_cast")
        client.predict(code=code, student_key=keys[1], vote_id=vote["vote_id"], choice="A", api_name="/vote_cast")
        closed = client.predict(code=code, teacher_key=teacher, api_name="/vote_close")
        assert closed["tally"]["ties"] == 1 and closed["tally"]["side_1"] + closed["tally"]["side_2"] == 1


def _call(http: httpx.Client, url: str, api: str, *data) -> object:
    """One call through Gradio's queue (``/gradio_api/call/<api>``, then its event stream): its result, or raise.

    A join the front door refuses as busy (503: this address has its share of the queue,
    the 30 clients all come from 127.0.0.1) ran nothing; the client sends it again, as a
    student would click again.
    """

    def join() -> httpx.Response | None:
        response = http.post(f"{url}gradio_api/call/{api}", json={"data": list(data)})
        return None if response.status_code == 503 else response

    joined = wait_until(join, f"/{api} accepted by the queue")
    joined.raise_for_status()
    stream = http.get(f"{url}gradio_api/call/{api}/{joined.json()['event_id']}", timeout=WAIT_S).text
    lines = stream.strip().splitlines()
    event = next(line for line in reversed(lines) if line.startswith("event: "))
    result = json.loads(lines[-1].removeprefix("data: "))
    if event != "event: complete":
        raise AssertionError(f"{api}: {event} {result}")
    return result[0]


STUDENTS = 30


def test_thirty_clients_post_and_vote_at_once(app_url, tiny_hub):
    link = lab_run_link(model="tiny", registry=tiny_hub.registry())
    with httpx.Client(timeout=WAIT_S) as http:
        room = _call(http, app_url, "room_open", "load")
        vote = _call(http, app_url, "vote_start", room["code"], room["teacher_key"], "?", "x", "1", "y", "2")

    def student(i: int) -> None:
        with httpx.Client(timeout=WAIT_S) as http:
            key = _call(http, app_url, "room_join", room["code"], f"student {i:02d}")["student_key"]
            for n in range(3):
                _call(http, app_url, "room_post", room["code"], key, "lab", link, "", _lab_answers(f"{i}-{n}"))
            _call(http, app_url, "vote_cast", room["code"], key, vote["vote_id"], ("A", "B", "tie")[i % 3])

    failures = at_once(STUDENTS, student)
    assert not failures, failures
    with httpx.Client(timeout=WAIT_S) as http:
        board = _call(http, app_url, "room_board", room["code"], room["teacher_key"])
        closed = _call(http, app_url, "vote_close", room["code"], room["teacher_key"])
        csv_text = _call(http, app_url, "room_csv", room["code"], room["teacher_key"])
    assert len(board["students"]) == STUDENTS and board["posts"] == 3 * STUDENTS
    assert sum(closed["tally"].values()) == STUDENTS and closed["tally"]["ties"] == STUDENTS // 3
    assert all(f"{i}-{n}" in csv_text for i in range(STUDENTS) for n in range(3))
