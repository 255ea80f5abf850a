"""George Sand: the base and the style adapter continue a French opening side by side (a pair tab)."""

from __future__ import annotations

import gradio as gr

from playground.engine import Engine
from playground.lessons.tab_openings import OPENINGS, STYLE_SETTINGS
from playground.ui.i18n import I18N
from playground.ui.menus import task_adapter_menu
from playground.ui.pair_tab import PairParts, PairTab, build_pair_tab

STYLE = PairTab(name="style", texts=("prompt",), defaults=STYLE_SETTINGS)


def build_style_tab(engine: Engine, page: gr.State) -> PairParts:
    """Add the Style tab (shown only when the registry has a style adapter); ``page``: whether a session is the page."""
    gr.Markdown(I18N("style_intro"))
    with gr.Row():
        adapter = task_adapter_menu(engine, "style", "style_adapter", "style-adapter")
        examples = gr.Dropdown(choices=OPENINGS, value=OPENINGS[0], label=I18N("openings"))
    opening = gr.Textbox(value=OPENINGS[0], label=I18N("opening"), lines=2, elem_id="style-opening")
    examples.change(lambda text: text, inputs=examples, outputs=opening, api_name=False)
    return build_pair_tab(engine, page, STYLE, adapter, [opening])
