"""Assemble the Gradio Blocks app from its tabs."""

from __future__ import annotations

import gradio as gr

from playground.engine import Engine
from playground.ui.compare_tab import build_compare_tab
from playground.ui.generate_tab import build_generate_tab
from playground.ui.i18n import I18N
from playground.ui.instructions_tab import build_instructions_tab
from playground.ui.lab_tab import build_lab_tab
from playground.ui.style_tab import build_style_tab

TITLE = "Playground: text generation, zero to few shots"


def build_app(engine: Engine) -> gr.Blocks:
    """The whole app; every tab calls ``engine``."""
    with gr.Blocks(title=TITLE) as demo:
        gr.Markdown(I18N("title"), elem_id="title")
        with gr.Tab(I18N("tab_lab"), id="lab"):
            build_lab_tab(engine)
        tasks = {a.task for a in engine.registry.adapters.values()}
        if "style" in tasks:
            with gr.Tab(I18N("tab_style"), id="style"):
                build_style_tab(engine)
        if "instructions" in tasks:
            with gr.Tab(I18N("tab_instructions"), id="instructions"):
                build_instructions_tab(engine)
        with gr.Tab(I18N("tab_compare"), id="compare"):
            build_compare_tab(engine)
        with gr.Tab(I18N("tab_generate"), id="generate"):
            build_generate_tab(engine)
    return demo
