"""George Sand: the base and the style adapter continue a French opening side by side."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gradio as gr

from playground.engine import Engine
from playground.errors import PlaygroundError
from playground.settings import GenerationSettings
from playground.ui.controls import settings_controls, settings_from
from playground.ui.explorer import Explored, explorer_panes, records_for, show_original, wire_branching
from playground.ui.feedback import load_progress, user_error
from playground.ui.gpu import on_gpu
from playground.ui.i18n import I18N, request_language
from playground.ui.menus import task_adapter_menu
from playground.ui.pair import pair_frames, start_pair
from playground.ui.visitor import CANCELS, visitor_of

OPENINGS = [
    "Cette femme était assise",
    "Le soir elle se rappelait",
    "Au bord de l'étang, la petite Fadette",
    "Je vous écris de la montagne, mon ami,",
]


def build_style_tab(engine: Engine, page: gr.State) -> None:
    """Add the Style tab (shown only when the registry has a style adapter); ``page``: whether a session is the page."""
    gr.Markdown(I18N("style_intro"))
    with gr.Row():
        adapter = task_adapter_menu(engine, "style", "style_adapter", "style-adapter")
        examples = gr.Dropdown(choices=OPENINGS, value=OPENINGS[0], label=I18N("openings"))
    opening = gr.Textbox(value=OPENINGS[0], label=I18N("opening"), lines=2, elem_id="style-opening")
    with gr.Accordion(I18N("settings"), open=False):
        defaults = GenerationSettings(
            temperature=0.8,
            top_p=0.95,
            top_k=50,
            max_new_tokens=80,
            repetition_penalty=1.2,
            no_repeat_ngram_size=3,
            seed=1,
        )
        controls = settings_controls(defaults, engine.registry.limits.max_new_tokens, "style", stop_lines=1)
    with gr.Row():
        run = gr.Button(I18N("generate"), variant="primary", elem_id="style-run")
        stop = gr.Button(I18N("stop"), variant="stop")
    with gr.Row():
        with gr.Column():
            base_out = gr.Textbox(label=I18N("base_pane"), lines=8, interactive=False, elem_id="style-base")
            base_details = gr.Markdown()
        with gr.Column():
            adapter_out = gr.Textbox(label=I18N("adapter_pane"), lines=8, interactive=False, elem_id="style-adapted")
            adapter_details = gr.Markdown()
    panes = explorer_panes("style", "explorer_style")  # the adapter's text: which words the style made likely

    examples.change(lambda text: text, inputs=examples, outputs=opening, api_name=False)

    @on_gpu()
    def run_style(
        adapter: str, prompt: str, temperature: float, top_p: float, top_k: float, max_new_tokens: float,
        repetition_penalty: float, no_repeat_ngram_size: float, stop: str, seed: str | None, is_page: bool,
        request: gr.Request, progress: gr.Progress = gr.Progress(),  # noqa: B008 (Gradio's idiom)
    ) -> Iterator[tuple[Any, ...]]:  # fmt: skip
        lang = request_language(request)
        with CANCELS.watch(request, "style") as cancel:  # a Stop reaches the engine, even before a token
            try:
                spec = engine.registry.adapter(adapter)
                settings = settings_from(
                    temperature, top_p, top_k, max_new_tokens, repetition_penalty, no_repeat_ngram_size, stop, seed
                )
                streams = start_pair(
                    engine, spec.base, spec.name, prompt, settings, use_prompt_style=False,
                    progress=load_progress(progress, lang), visitor=visitor_of(request), cancel=cancel,
                    record_tokens=records_for(engine, spec.base, is_page),
                )  # fmt: skip
                for frame in pair_frames(streams, lang):
                    yield (*frame, gr.skip())
            except (PlaygroundError, ValueError) as exc:
                raise user_error(exc, lang) from None
            explored = Explored.of(streams[1].result, prompt, settings, capabilities=engine.capabilities(spec.base))
            yield (*frame, explored)

    inputs = [adapter, opening, *controls.inputs(), page]  # a State is not part of the API
    outputs = [base_out, adapter_out, base_details, adapter_details, panes.explored]
    event = run.click(run_style, inputs=inputs, outputs=outputs, api_name="style")
    event.then(show_original, inputs=panes.explored, outputs=panes.shown_outputs(), api_name=False)
    stop.click(None, cancels=[event, *wire_branching(engine, panes)], api_name=False)
