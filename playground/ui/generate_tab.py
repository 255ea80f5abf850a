"""The "Generate" tab: one prompt, one model, text streamed as it is written."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gradio as gr

from playground.engine import Engine
from playground.errors import PlaygroundError
from playground.lessons.tab_links import generate_link
from playground.lessons.tab_openings import GENERATE_PROMPT
from playground.ui.accessibility import STATUS, answer_region
from playground.ui.controls import FOLLOW_MODEL, control_values, settings_controls
from playground.ui.details import describe
from playground.ui.explorer import Explored, explorer_panes, records_for, show_original, wire_branching
from playground.ui.handler import Call, Settings, handler
from playground.ui.i18n import I18N
from playground.ui.menus import NO_ADAPTER, adapter_choices, adapter_menu, chosen_adapter, model_menu
from playground.ui.reproduce_panel import reproduce_panel
from playground.ui.share import share_row


def build_generate_tab(engine: Engine, page: gr.State) -> dict[str, Any]:
    """Add the Generate tab's components and events to the current Blocks (``page``: whether a session is the page).

    Returns the components a deep link fills in, by parameter name.
    """
    registry = engine.registry
    default = registry.model(registry.opening_model("generate"))
    d = default.generation

    with gr.Row():
        with gr.Column(scale=3):
            with gr.Row():
                model = model_menu(engine, "generate")
                adapter = adapter_menu(engine, "generate")
            prompt = gr.Textbox(label=I18N("prompt"), lines=4, value=GENERATE_PROMPT, elem_id="prompt")
            use_style = gr.Checkbox(
                value=default.prompt_style != "plain",
                label=I18N("wrap"),
            )
            with gr.Row():
                generate = gr.Button(I18N("generate"), variant="primary", elem_id="generate")
                stop = gr.Button(I18N("stop"), variant="stop", elem_id="stop")
        with gr.Column(scale=2), gr.Accordion(I18N("settings"), open=False):
            controls = settings_controls(d, registry.limits.max_new_tokens, "generate")
    with answer_region(elem_id="generate-answer"):
        output = gr.Textbox(label=I18N("output"), lines=8, interactive=False, elem_id="output")
        details = gr.Markdown(elem_id="details", elem_classes=[STATUS])
    panes = explorer_panes("generate", "explorer_generate")

    follow_model(engine, model, adapter, use_style, controls)

    @handler(cancel="generate", gpu=True, progress=True)  # a Stop reaches the engine, even before a token
    def run(
        call: Call, model: str, adapter: str, prompt: str, use_prompt_style: bool, settings: Settings, is_page: bool
    ) -> Iterator[tuple[Any, ...]]:
        stream = engine.stream(
            model, prompt, settings, adapter=chosen_adapter(adapter), use_prompt_style=use_prompt_style,
            progress=call.progress, visitor=call.visitor, cancel=call.cancel,
            record_tokens=records_for(engine, model, is_page),  # the page shows them, where the backend can
        )  # fmt: skip
        shown = ""
        for piece in stream:
            shown += piece
            yield shown, describe(stream.result, running=True, lang=call.lang), gr.skip()
        explored = Explored.of(stream.result, prompt, settings, use_prompt_style, engine.capabilities(model))
        yield stream.result.text, describe(stream.result, lang=call.lang), explored

    inputs = [model, adapter, prompt, use_style, *controls.inputs(), page]  # a State is not part of the API
    outputs = [output, details, panes.explored]  # the State is not part of the API
    event = generate.click(run, inputs=inputs, outputs=outputs, api_name="generate")
    submitted = prompt.submit(run, inputs=inputs, outputs=outputs, api_name=False)
    for ran in (event, submitted):
        ran.then(show_original, inputs=panes.explored, outputs=panes.shown_outputs(), api_name=False)
    stop.click(None, cancels=[event, submitted, *wire_branching(engine, panes)], api_name=False)

    @handler()
    def share_setup(
        call: Call, model: str, adapter: str, prompt: str, use_prompt_style: bool, settings: Settings
    ) -> str:
        return generate_link(registry, model, chosen_adapter(adapter), prompt, use_prompt_style, settings)

    share = share_row("generate", share_setup, [model, adapter, prompt, use_style, *controls.inputs()])
    reproduce_panel(engine, "generate", share)
    return {"model": model, "adapter": adapter, "prompt": prompt, "use_prompt_style": use_style, **controls}


def follow_model(engine: Engine, model: Any, adapter: Any, use_style: Any, controls: Any) -> None:
    """A model change resets the adapter, the prompt-style box and the model's settings; an adapter change the box."""
    registry = engine.registry
    followed = [adapter, use_style, *controls.inputs(FOLLOW_MODEL)]  # what a model change resets

    def on_model_change(name: str) -> list[Any]:
        if name not in registry.models:
            return [gr.update()] * len(followed)
        spec = registry.model(name)
        menu = gr.update(choices=adapter_choices(engine, name), value=NO_ADAPTER)
        return [menu, gr.update(value=spec.prompt_style != "plain"), *control_values(spec.generation, FOLLOW_MODEL)]

    model.input(on_model_change, inputs=model, outputs=followed, api_name=False)  # a link sets all of these itself

    def on_adapter_change(model_name: str, adapter_name: str) -> Any:
        try:
            style = engine.prompt_style(model_name, chosen_adapter(adapter_name))
        except PlaygroundError:  # a name the menus do not offer: the next request says which
            return gr.update()
        return gr.update(value=style != "plain")

    adapter.input(on_adapter_change, inputs=[model, adapter], outputs=use_style, api_name=False)
