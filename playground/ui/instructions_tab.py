"""Instructions: the pretrained base vs the base + instruction adapter, the same Alpaca prompt, side by side.

A pair tab whose panes both get the adapter's template, shown under each.
"""

from __future__ import annotations

import gradio as gr

from playground.engine import Engine
from playground.lessons.tab_openings import INSTRUCTIONS, INSTRUCTIONS_SETTINGS
from playground.ui.i18n import I18N
from playground.ui.menus import task_adapter_menu
from playground.ui.pair_tab import PairParts, PairTab, build_pair_tab

INSTRUCTIONS_TAB = PairTab(
    name="instructions", texts=("prompt", "prompt_input"), defaults=INSTRUCTIONS_SETTINGS, template=True
)


def build_instructions_tab(engine: Engine, page: gr.State) -> PairParts:
    """Add the Instructions tab (shown only when the registry has an instruction adapter).

    ``page``: whether a session is the page (which records the adapter's tokens for the explorer).
    """
    gr.Markdown(I18N("instructions_intro"))
    adapter = task_adapter_menu(engine, "instructions", "instructions_adapter", "instructions-adapter")
    instruction = gr.Textbox(value=INSTRUCTIONS[0][0], label=I18N("instruction"), elem_id="instructions-text")
    instruction_input = gr.Textbox(value="", label=I18N("instruction_input"), elem_id="instructions-input")
    ready = gr.Dropdown(
        choices=[(f"{text} {extra}".strip(), i) for i, (text, extra) in enumerate(INSTRUCTIONS)],
        value=0,
        label=I18N("examples_menu"),
    )
    ready.change(lambda i: INSTRUCTIONS[int(i)], inputs=ready, outputs=[instruction, instruction_input], api_name=False)
    return build_pair_tab(engine, page, INSTRUCTIONS_TAB, adapter, [instruction, instruction_input])
