"""Assemble the Gradio Blocks app from its tabs."""

from __future__ import annotations

import gradio as gr

from playground.engine import Engine
from playground.ui.generate_tab import build_generate_tab

TITLE = "Playground: text generation, zero to few shots"


def build_app(engine: Engine) -> gr.Blocks:
    """The whole app; every tab calls ``engine``."""
    with gr.Blocks(title=TITLE) as demo:
        gr.Markdown(f"# {TITLE}")
        with gr.Tab("Generate"):
            build_generate_tab(engine)
    return demo
