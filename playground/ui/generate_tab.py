"""The "Generate" tab: one prompt, one model, text streamed as it is written."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gradio as gr

from playground.engine import Engine
from playground.errors import PlaygroundError
from playground.ui.controls import settings_controls, settings_from
from playground.ui.details import describe
from playground.ui.feedback import load_progress, user_error
from playground.ui.gpu import on_gpu
from playground.ui.i18n import I18N, request_language

NO_ADAPTER = "(base)"  # dropdown value for "no adapter"; registry names cannot contain parentheses


def adapter_choices(engine: Engine, model: str) -> list[tuple[str, str]]:
    """Dropdown choices: the base alone, then each registered adapter of ``model``."""
    adapters = engine.registry.adapters_of(model)
    return [(I18N("no_adapter"), NO_ADAPTER)] + [(f"{a.label} ({a.language})", a.name) for a in adapters]


def build_generate_tab(engine: Engine) -> None:
    """Add the Generate tab's components and events to the current Blocks."""
    registry = engine.registry
    default = registry.model(registry.default_model)
    d = default.generation
    choices = [(spec.label, spec.name) for spec in registry.models.values()]

    with gr.Row():
        with gr.Column(scale=3):
            with gr.Row():
                model = gr.Dropdown(choices=choices, value=default.name, label=I18N("model"))
                adapter = gr.Dropdown(
                    choices=adapter_choices(engine, default.name), value=NO_ADAPTER, label=I18N("adapter")
                )
            prompt = gr.Textbox(label=I18N("prompt"), lines=4, value="What is the capital of France?", elem_id="prompt")
            use_style = gr.Checkbox(
                value=default.prompt_style != "plain",
                label=I18N("wrap"),
            )
            with gr.Row():
                generate = gr.Button(I18N("generate"), variant="primary", elem_id="generate")
                stop = gr.Button(I18N("stop"), variant="stop", elem_id="stop")
        with gr.Column(scale=2), gr.Accordion(I18N("settings"), open=False):
            controls = settings_controls(d, registry.limits.max_new_tokens, "generate")
    output = gr.Textbox(label=I18N("output"), lines=8, interactive=False, elem_id="output")
    details = gr.Markdown(elem_id="details")

    def on_model_change(name: str) -> tuple[Any, ...]:
        spec = registry.model(name)
        g = spec.generation
        return (
            gr.update(choices=adapter_choices(engine, name), value=NO_ADAPTER),
            gr.update(value=spec.prompt_style != "plain"),
            g.temperature,
            g.top_p,
            g.top_k,
            g.max_new_tokens,
            g.repetition_penalty,
            g.no_repeat_ngram_size,
        )

    model.change(
        on_model_change,
        inputs=model,
        outputs=[adapter, use_style, *controls.inputs()[:6]],
        api_name=False,
    )

    def on_adapter_change(model_name: str, adapter_name: str) -> Any:
        style = engine.prompt_style(model_name, None if adapter_name == NO_ADAPTER else adapter_name)
        return gr.update(value=style != "plain")

    adapter.change(on_adapter_change, inputs=[model, adapter], outputs=use_style, api_name=False)

    @on_gpu()
    def run(
        model_name: str,
        adapter_name: str,
        text: str,
        wrap: bool,
        temp: float,
        p: float,
        k: float,
        n: float,
        rep: float,
        ngram: float,
        stops: str,
        seed_value: str | None,
        request: gr.Request,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 (Gradio's idiom)
    ) -> Iterator[tuple[str, str]]:
        lang = request_language(request)
        try:
            settings = settings_from(temp, p, k, n, rep, ngram, stops, seed_value)
            stream = engine.stream(
                model_name,
                text,
                settings,
                adapter=None if adapter_name in (NO_ADAPTER, "", None) else adapter_name,
                use_prompt_style=bool(wrap),
                progress=load_progress(progress, lang),
            )
            shown = ""
            for piece in stream:
                shown += piece
                yield shown, describe(stream.result, running=True, lang=lang)
        except (PlaygroundError, ValueError) as exc:
            raise user_error(exc, lang) from None
        yield stream.result.text, describe(stream.result, lang=lang)

    inputs = [model, adapter, prompt, use_style, *controls.inputs()]
    event = generate.click(
        run,
        inputs=inputs,
        outputs=[output, details],
        api_name="generate",
    )
    prompt.submit(
        run,
        inputs=inputs,
        outputs=[output, details],
        api_name=False,
    )
    stop.click(None, cancels=[event], api_name=False)
