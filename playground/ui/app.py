"""Assemble the Gradio Blocks app from its tabs."""

from __future__ import annotations

from typing import Any

import gradio as gr

from playground.classroom.rooms import Classroom
from playground.engine import Engine
from playground.ui.classroom_api import add_classroom_endpoints
from playground.ui.classroom_sends import wire_sends
from playground.ui.classroom_tab import build_classroom_tab
from playground.ui.compare_tab import build_compare_tab
from playground.ui.explorer import page_flag
from playground.ui.generate_tab import build_generate_tab
from playground.ui.i18n import I18N
from playground.ui.instructions_tab import build_instructions_tab
from playground.ui.lab_tab import build_lab_tab
from playground.ui.lens_tab import build_lens_tab
from playground.ui.links import wire_links
from playground.ui.reproduce_panel import add_reproduce_endpoint
from playground.ui.style_tab import build_style_tab
from playground.ui.token_api import add_token_endpoints

TITLE = "Playground: text generation, zero to few shots"


def build_app(engine: Engine, classroom: Classroom | None = None) -> gr.Blocks:
    """The whole app; every tab calls ``engine``; with a ``classroom``, its tab, Send buttons and endpoints."""
    tasks = {a.task for a in engine.registry.adapters.values()}
    with gr.Blocks(title=TITLE) as demo:
        title = gr.Markdown(I18N("title"), elem_id="title")
        page = page_flag()
        tab_items: dict[str, gr.Tab] = {}
        pairs = []  # the pair tabs' parts a classroom sends
        others: dict[str, dict[str, Any]] = {}  # the components a link fills in on the other tabs, by tab
        with gr.Tabs(overflow_behavior="wrap") as tabs:  # every tab in one tap, on a phone too
            with gr.Tab(I18N("tab_lab"), id="lab") as tab_items["lab"]:
                lab = build_lab_tab(engine, page)
            if "style" in tasks:
                with gr.Tab(I18N("tab_style"), id="style") as tab_items["style"]:
                    pairs.append(build_style_tab(engine, page))
                    others["style"] = pairs[-1].fields()
            if "instructions" in tasks:
                with gr.Tab(I18N("tab_instructions"), id="instructions") as tab_items["instructions"]:
                    pairs.append(build_instructions_tab(engine, page))
                    others["instructions"] = pairs[-1].fields()
            with gr.Tab(I18N("tab_compare"), id="compare") as tab_items["compare"]:
                others["compare"] = build_compare_tab(engine)
            with gr.Tab(I18N("tab_generate"), id="generate") as tab_items["generate"]:
                others["generate"] = build_generate_tab(engine, page)
            with gr.Tab(I18N("tab_lens"), id="lens") as tab_items["lens"]:
                build_lens_tab(engine)
            if classroom is not None:
                with gr.Tab(I18N("tab_classroom"), id="classroom") as tab_items["classroom"]:
                    room = gr.State(None)  # {"role", "code", "key"} of the page's room
                    build_classroom_tab(demo, classroom, room, wire_sends(classroom, engine, room, lab, pairs))
        add_token_endpoints(engine)
        add_reproduce_endpoint(engine)
        if classroom is not None:
            add_classroom_endpoints(classroom)
        wire_links(demo, engine, tabs, tab_items, title, lab, page, others)
    return demo
