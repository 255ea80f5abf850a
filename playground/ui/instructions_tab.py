"""Instructions: the pretrained base vs the base + instruction adapter, the same Alpaca prompt, side by side."""

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

INSTRUCTIONS = [
    ("Give three tips for staying healthy.", ""),
    ("Translate the sentence into French.", "The sea otter sleeps on its back."),
    ("Write a haiku about autumn.", ""),
    ("Classify the sentiment of the review as positive or negative.", "A boring, far too long film."),
]


def build_instructions_tab(engine: Engine, page: gr.State) -> None:
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
    with gr.Accordion(I18N("settings"), open=False):
        # the GPT-2 + LoRA Alpaca exercise's settings: temperature 0.8, top-p 0.95, top-k 50, 100 new tokens
        defaults = GenerationSettings(temperature=0.8, top_p=0.95, top_k=50, max_new_tokens=100, seed=1)
        controls = settings_controls(defaults, engine.registry.limits.max_new_tokens, "instructions", stop_lines=1)
    with gr.Row():
        run = gr.Button(I18N("generate"), variant="primary", elem_id="instructions-run")
        stop = gr.Button(I18N("stop"), variant="stop")
    with gr.Row():
        with gr.Column():
            base_out = gr.Textbox(label=I18N("base_pane"), lines=8, interactive=False, elem_id="instructions-base")
            base_details = gr.Markdown()
            base_prompt = gr.Textbox(label=I18N("base_prompt"), lines=4, interactive=False)
        with gr.Column():
            adapter_out = gr.Textbox(
                label=I18N("adapter_pane"), lines=8, interactive=False, elem_id="instructions-adapted"
            )
            adapter_details = gr.Markdown()
            adapter_prompt = gr.Textbox(label=I18N("adapter_prompt"), lines=4, interactive=False)
    panes = explorer_panes("instructions", "explorer_instructions")  # the adapter's answer, down to where it stops

    @on_gpu()
    def run_instructions(
        adapter: str, prompt: str, prompt_input: str, temperature: float, top_p: float, top_k: float,
        max_new_tokens: float, repetition_penalty: float, no_repeat_ngram_size: float, stop: str, seed: str | None,
        is_page: bool, request: gr.Request, progress: gr.Progress = gr.Progress(),  # noqa: B008 (Gradio's idiom)
    ) -> Iterator[tuple[Any, ...]]:  # fmt: skip
        lang = request_language(request)
        with CANCELS.watch(request, "instructions") as cancel:  # a Stop reaches the engine, even before a token
            try:
                spec = engine.registry.adapter(adapter)
                settings = settings_from(
                    temperature, top_p, top_k, max_new_tokens, repetition_penalty, no_repeat_ngram_size, stop, seed
                )
                # Both panes get the adapter's template (Alpaca's): the same prompt, so what differs
                # is what LoRA taught the base, to answer and to stop.
                wrapped = engine.render(spec.base, prompt, spec.name, prompt_input)
                streams = start_pair(
                    engine,
                    spec.base,
                    spec.name,
                    wrapped,
                    settings,
                    use_prompt_style=False,
                    progress=load_progress(progress, lang),
                    visitor=visitor_of(request),
                    cancel=cancel,
                    record_tokens=records_for(engine, spec.base, is_page),
                )
                prompts = (wrapped, wrapped)
                for frame in pair_frames(streams, lang):
                    yield (*frame, *prompts, gr.skip())
            except (PlaygroundError, ValueError) as exc:
                raise user_error(exc, lang) from None
            explored = Explored.of(streams[1].result, wrapped, settings, capabilities=engine.capabilities(spec.base))
            yield (*frame, *prompts, explored)

    inputs = [adapter, instruction, instruction_input, *controls.inputs(), page]  # a State is not part of the API
    outputs = [base_out, adapter_out, base_details, adapter_details, base_prompt, adapter_prompt, panes.explored]
    event = run.click(run_instructions, inputs=inputs, outputs=outputs, api_name="instructions")
    event.then(show_original, inputs=panes.explored, outputs=panes.shown_outputs(), api_name=False)
    stop.click(None, cancels=[event, *wire_branching(engine, panes)], api_name=False)
