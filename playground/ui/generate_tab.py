"""The "Generate" tab: one prompt, one model, text streamed as it is written."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gradio as gr

from playground.engine import Engine
from playground.errors import PlaygroundError
from playground.ui.details import describe
from playground.ui.gpu import on_gpu
from playground.ui.i18n import I18N, request_language


def parse_stop_strings(text: str) -> list[str]:
    """One stop string per line; ``\\n`` and ``\\t`` stand for a newline and a tab."""
    lines = [line for line in (text or "").splitlines() if line != ""]
    return [line.replace("\\n", "\n").replace("\\t", "\t") for line in lines]


def parse_seed(value: object) -> int | None:
    """The seed box's value: empty means a random seed (None); otherwise an integer.

    A text box, not a number box: an empty gr.Number shows and sends 0, and 0 is a seed.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError(f"seed: must be an integer, got {value!r}")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise ValueError(f"seed: must be an integer or empty, got {value!r}")


NO_ADAPTER = "(base)"  # dropdown value for "no adapter"; registry names cannot contain parentheses


def adapter_choices(engine: Engine, model: str) -> list[tuple[str, str]]:
    """Dropdown choices: the base alone, then each registered adapter of ``model``."""
    adapters = engine.registry.adapters_of(model)
    return [("none (base model)", NO_ADAPTER)] + [(f"{a.label} ({a.language})", a.name) for a in adapters]


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
            temperature = gr.Slider(0, 2, value=d.temperature, step=0.05, label=I18N("temperature"))
            top_p = gr.Slider(0.01, 1, value=d.top_p, step=0.01, label=I18N("top_p"))
            top_k = gr.Slider(0, 200, value=d.top_k, step=1, label=I18N("top_k"))
            max_new_tokens = gr.Slider(
                1, registry.limits.max_new_tokens, value=d.max_new_tokens, step=1, label=I18N("max_new_tokens")
            )
            repetition_penalty = gr.Slider(
                0.5, 2, value=d.repetition_penalty, step=0.05, label=I18N("repetition_penalty")
            )
            stop_strings = gr.Textbox(label=I18N("stop_strings"), lines=2)
            seed = gr.Textbox(value="", placeholder="random", label=I18N("seed"), max_lines=1)
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
        )

    model.change(
        on_model_change,
        inputs=model,
        outputs=[adapter, use_style, temperature, top_p, top_k, max_new_tokens, repetition_penalty],
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
        stops: str,
        seed_value: str | None,
        request: gr.Request,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 (Gradio's idiom)
    ) -> Iterator[tuple[str, str]]:
        lang = request_language(request)
        settings = {
            "temperature": temp,
            "top_p": p,
            "top_k": k,
            "max_new_tokens": n,
            "repetition_penalty": rep,
            "stop": parse_stop_strings(stops),
        }
        try:
            settings["seed"] = parse_seed(seed_value)
            stream = engine.stream(
                model_name,
                text,
                settings,
                adapter=None if adapter_name in (NO_ADAPTER, "", None) else adapter_name,
                use_prompt_style=bool(wrap),
                progress=lambda message: progress(None, desc=message),
            )
            shown = ""
            for piece in stream:
                shown += piece
                yield shown, describe(stream.result, running=True, lang=lang)
        except (PlaygroundError, ValueError) as exc:
            raise gr.Error(str(exc)) from None
        yield stream.result.text, describe(stream.result, lang=lang)

    inputs = [model, adapter, prompt, use_style, temperature, top_p, top_k, max_new_tokens, repetition_penalty]
    inputs += [stop_strings, seed]
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
