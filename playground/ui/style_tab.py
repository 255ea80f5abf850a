"""George Sand: the base and the style adapter continue a French opening side by side (a pair tab)."""

from __future__ import annotations

import gradio as gr

from playground.engine import Engine
from playground.settings import GenerationSettings
from playground.ui.i18n import I18N
from playground.ui.menus import task_adapter_menu
from playground.ui.pair_tab import PairParts, PairTab, build_pair_tab

OPENINGS = [
    "Cette femme était assise",
    "Le soir elle se rappelait",
    "Au bord de l'étang, la petite Fadette",
    "Je vous écris de la montagne, mon ami,",
]
STYLE = PairTab(
    name="style",
    texts=("prompt",),
    defaults=GenerationSettings(
        temperature=0.8, top_p=0.95, top_k=50, max_new_tokens=80, repetition_penalty=1.2, no_repeat_ngram_size=3, seed=1
    ),
)


def build_style_tab(engine: Engine, page: gr.State) -> PairParts:
    """Add the Style tab (shown only when the registry has a style adapter); ``page``: whether a session is the page."""
    gr.Markdown(I18N("style_intro"))
    with gr.Row():
        adapter = task_adapter_menu(engine, "style", "style_adapter", "style-adapter")
        examples = gr.Dropdown(choices=OPENINGS, value=OPENINGS[0], label=I18N("openings"))
    opening = gr.Textbox(value=OPENINGS[0], label=I18N("opening"), lines=2, elem_id="style-opening")
    examples.change(lambda text: text, inputs=examples, outputs=opening, api_name=False)
    return build_pair_tab(engine, page, STYLE, adapter, [opening])
