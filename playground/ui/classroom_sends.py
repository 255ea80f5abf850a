"""The "Send to the class" buttons: a student sends the run on screen (setup and answers) to their room.

Each of the lab, George Sand and Instructions tabs has the button
(:func:`~playground.ui.classroom_button.send_button`), and so does the lab's shot curve,
hidden until the page joins a classroom as a student (:mod:`playground.ui.classroom_tab`
shows it). What is sent is the setup as the tab's share link writes it
(:func:`~playground.lessons.deep_links.lab_link`, :func:`~playground.lessons.deep_links.pair_link`)
and the answers in the tab's panes, or the curve's metric, test items and points as the
section drew them; the classroom checks all of it (:class:`~playground.classroom.posts.PostContent`,
:class:`~playground.classroom.curves.CurveContent`).
Nothing is sent without the click.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gradio as gr

from playground.classroom.codes import shown
from playground.classroom.rooms import Classroom
from playground.engine import Engine
from playground.lessons.deep_links import lab_link, pair_link
from playground.lessons.presets import load_presets
from playground.ui.classroom_tab import ROOM_EVENTS, room_of
from playground.ui.controls import NAMES
from playground.ui.feedback import toast_text
from playground.ui.handler import Call, Settings, Texts, handler
from playground.ui.i18n import tr
from playground.ui.menus import chosen_adapter
from playground.ui.pair_tab import PairParts


def _sent(call: Call, code: str, count: int) -> None:
    gr.Info(toast_text(tr("room_sent", call.lang).format(code=shown(code), count=count)))


def wire_sends(
    classroom: Classroom, engine: Engine, room: gr.State, lab: dict[str, Any], pairs: list[PairParts]
) -> list[gr.Button]:
    """Wire the lab's, its shot curve's and the pair tabs' Send buttons to ``classroom``; the buttons."""
    presets = load_presets()

    def link_of(preset: str, model: str, adapter: str, task: str, examples: Any, query: str, separator: str,
                settings: Settings) -> str:  # fmt: skip
        return lab_link(
            engine.registry, presets, preset=preset, model=model, adapter=chosen_adapter(adapter), task=task,
            examples=examples, query=query, separator=separator, settings=settings,
        )  # fmt: skip

    @handler()
    def send_lab_run(
        call: Call, room: Any, preset: str, model: str, adapter: str, task: str, examples: list[list[str]],
        query: str, separator: str, settings: Settings, zero: str, one: str, few: str,
    ) -> None:  # fmt: skip
        code, key = room_of(room, "student")
        link = link_of(preset, model, adapter, task, examples, query, separator, settings)
        answers = {"zero": zero, "one": one, "few": few}
        _sent(call, code, classroom.post(code, key, "lab", link, "", answers, call.visitor))

    @handler()
    def send_shot_curve(
        call: Call, room: Any, preset: str, model: str, adapter: str, task: str, examples: list[list[str]],
        query: str, separator: str, settings: Settings, curve: Any,
    ) -> None:  # fmt: skip
        code, key = room_of(room, "student")
        link = link_of(preset, model, adapter, task, examples, query, separator, settings)
        data = curve if isinstance(curve, dict) else {}  # the curve as /shot_curve answers it (none before a draw)
        sent = classroom.post_curve(code, key, link, data.get("metric"), data.get("tests"), data.get("points"),
                                    call.visitor)  # fmt: skip
        _sent(call, code, sent)

    setup = [lab["preset"], lab["model"], lab["adapter"], lab["task"], lab["examples"], lab["query"], lab["separator"]]
    inputs = [room, *setup, *(lab[name] for name in NAMES)]  # the settings in the handler's order
    lab["send"].click(send_lab_run, inputs=[*inputs, *lab["answers"]], outputs=None, api_name=False, **ROOM_EVENTS)
    lab["curve_send"].click(send_shot_curve, inputs=[*inputs, lab["curve_data"]], outputs=None, api_name=False,
                            **ROOM_EVENTS)  # fmt: skip
    for parts in pairs:
        send = _pair_sender(classroom, engine, parts.tab.name, parts.tab.texts)
        inputs = [room, parts.adapter, *parts.texts, *parts.controls.inputs(), *parts.answers]
        parts.send.click(send, inputs=inputs, outputs=None, api_name=False, **ROOM_EVENTS)
    return [lab["send"], lab["curve_send"], *(p.send for p in pairs)]


def _pair_sender(classroom: Classroom, engine: Engine, tab: str, texts: tuple[str, ...]) -> Callable[..., None]:
    """The Send handler of pair tab ``tab`` (its text inputs named ``texts``)."""

    @handler(texts=texts)
    def send_pair_run(call: Call, room: Any, adapter: str, texts: Texts, settings: Settings, base: str, adapted: str):
        code, key = room_of(room, "student")
        link = pair_link(engine.registry, tab=tab, adapter=adapter, settings=settings)
        prompt = "\n".join(text for text in texts if text)  # an opening; an instruction, then its input
        answers = {"base": base, "adapter": adapted}
        _sent(call, code, classroom.post(code, key, tab, link, prompt, answers, call.visitor))

    send_pair_run.__name__ = f"send_{tab}_run"
    return send_pair_run
