"""A pair tab: the base and the base + an adapter answer the same prompt side by side.

George Sand (:mod:`~playground.ui.style_tab`) and Instructions
(:mod:`~playground.ui.instructions_tab`) are this tab: each builds its own inputs (an
opening; an instruction and its input) above it, and :func:`build_pair_tab` adds the rest:
the settings, the two panes, the explorer of the adapter's answer, and the API endpoint.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import gradio as gr

from playground.engine import Engine
from playground.lessons.deep_links import pair_link
from playground.settings import GenerationSettings
from playground.ui.accessibility import STATUS, answer_region
from playground.ui.classroom_button import send_button
from playground.ui.controls import SettingsControls, settings_controls
from playground.ui.explorer import Explored, explorer_panes, records_for, show_original, wire_branching
from playground.ui.handler import Call, Settings, Texts, handler
from playground.ui.i18n import I18N
from playground.ui.pair import pair_frames, start_pair
from playground.ui.reproduce_panel import reproduce_panel
from playground.ui.share import ShareLink, share_row


@dataclass(frozen=True)
class PairTab:
    """What differs between two pair tabs."""

    name: str  # its API name (/style), its elements' prefix (#style-run) and the event a Stop cancels
    texts: tuple[str, ...]  # the API names of its text inputs: the prompt, then what the template fills in
    defaults: GenerationSettings  # what its settings show when the page opens
    template: bool = False  # both panes get the adapter's template (shown under each), not the bare prompt


@dataclass
class PairParts:
    """What a classroom sends of a pair tab's run (:mod:`playground.ui.classroom_sends`)."""

    tab: PairTab
    adapter: gr.Dropdown
    texts: list[Any]  # the text inputs, in the order of ``tab.texts``
    controls: SettingsControls
    answers: list[gr.Textbox]  # the base's, the adapter's
    send: gr.Button  # "Send to the class", shown in a classroom
    share: ShareLink  # the tab's share link, which "Reproduce in Python" reads

    def fields(self) -> dict[str, Any]:
        """The components a deep link fills in: the adapter, the texts by API name, the settings."""
        return {"adapter": self.adapter, **dict(zip(self.tab.texts, self.texts, strict=True)), **self.controls}


def build_pair_tab(engine: Engine, page: gr.State, tab: PairTab, adapter: gr.Dropdown, texts: list[Any]) -> PairParts:
    """Add the settings, panes and events of ``tab`` under its ``adapter`` menu and ``texts`` inputs."""
    with gr.Accordion(I18N("settings"), open=False):
        controls = settings_controls(tab.defaults, engine.registry.limits.max_new_tokens, tab.name, stop_lines=1)
    with gr.Row():
        run = gr.Button(I18N("generate"), variant="primary", elem_id=f"{tab.name}-run")
        stop = gr.Button(I18N("stop"), variant="stop")
        send = send_button(tab.name)
    answers, details, prompts = _panes(tab)
    panes = explorer_panes(tab.name, f"explorer_{tab.name}")  # the adapter's answer

    @handler(cancel=tab.name, gpu=True, progress=True, texts=tab.texts)  # a Stop reaches the engine at once
    def run_pair(
        call: Call, adapter: str, texts: Texts, settings: Settings, is_page: bool
    ) -> Iterator[tuple[Any, ...]]:
        spec = engine.registry.adapter(adapter)
        # With a template, both panes get it: the same prompt, so what differs is what LoRA taught the base.
        prompt = engine.render(spec.base, texts[0], spec.name, *texts[1:]) if tab.template else texts[0]
        streams = start_pair(
            engine, spec.base, spec.name, prompt, settings, use_prompt_style=False, progress=call.progress,
            visitor=call.visitor, cancel=call.cancel, record_tokens=records_for(engine, spec.base, is_page),
        )  # fmt: skip
        shown = (prompt, prompt) if tab.template else ()
        for frame in pair_frames(streams, call.lang):
            yield (*frame, *shown, gr.skip())
        explored = Explored.of(streams[1].result, prompt, settings, capabilities=engine.capabilities(spec.base))
        yield (*frame, *shown, explored)

    inputs = [adapter, *texts, *controls.inputs(), page]  # a State is not part of the API
    outputs = [*answers, *details, *prompts, panes.explored]
    event = run.click(run_pair, inputs=inputs, outputs=outputs, api_name=tab.name)
    event.then(show_original, inputs=panes.explored, outputs=panes.shown_outputs(), api_name=False)
    stop.click(None, cancels=[event, *wire_branching(engine, panes)], api_name=False)
    share = _share(engine, tab, [adapter, *texts, *controls.inputs()])
    reproduce_panel(engine, tab.name, share, panes=False)
    return PairParts(tab, adapter, texts, controls, answers, send, share)


def _share(engine: Engine, tab: PairTab, inputs: list[Any]) -> ShareLink:
    """The tab's share link (/style_share, /instructions_share): the adapter, its texts and the settings."""

    @handler(texts=tab.texts)
    def share_setup(call: Call, adapter: str, texts: Texts, settings: Settings) -> str:
        given = texts[1] if len(texts) > 1 else None
        return pair_link(
            engine.registry, tab=tab.name, adapter=adapter, settings=settings, prompt=texts[0], prompt_input=given
        )

    return share_row(tab.name, share_setup, inputs)


def _panes(tab: PairTab) -> tuple[list[gr.Textbox], list[gr.Markdown], list[gr.Textbox]]:
    """The base's pane and the adapter's: (answers, details, exact prompts when the tab shows them)."""
    answers, details, prompts = [], [], []
    with answer_region(elem_id=f"{tab.name}-answers"), gr.Row():
        for side, pane, prompt in (("base", "base_pane", "base_prompt"), ("adapted", "adapter_pane", "adapter_prompt")):
            with gr.Column():
                answers.append(gr.Textbox(label=I18N(pane), lines=8, interactive=False, elem_id=f"{tab.name}-{side}"))
                details.append(gr.Markdown(elem_classes=[STATUS]))
                if tab.template:
                    prompts.append(gr.Textbox(label=I18N(prompt), lines=4, interactive=False))
    return answers, details, prompts
