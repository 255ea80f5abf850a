"""The prompting lab: one query run zero-, one- and few-shot side by side (the GPT-3 paper's lesson).

Same model, seed and settings in the three panes, so a class sees at once what the
examples change. The exact prompt, its tokens and the next-token distribution (raw and as
temperature / top-k / top-p reshape it) are shown under the answers and follow the
settings live.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import gradio as gr

from playground.engine import Engine
from playground.errors import PlaygroundError
from playground.fewshot import FewShotSetup
from playground.messages import Message, localize
from playground.presets import Preset, load_presets
from playground.settings import GenerationSettings
from playground.share import SharedSetup
from playground.side_by_side import interleave
from playground.ui.checked import core_checked
from playground.ui.controls import settings_controls, settings_from, stop_text
from playground.ui.details import describe_panes
from playground.ui.explorer import Explored, explorer_panes, records_for, show_original, wire_branching
from playground.ui.feedback import load_progress, user_error, warn
from playground.ui.gpu import on_gpu
from playground.ui.i18n import I18N, request_language, tr
from playground.ui.menus import NO_ADAPTER, adapter_choices, adapter_menu, chosen_adapter, model_menu
from playground.ui.visitor import CANCELS, visitor_of

LINK_HEADROOM = 512  # characters of a page's query string besides the shared setup (Gradio's own parameters)


def preset_rows(preset: Preset) -> list[list[str]]:
    """A preset's examples as table rows [input, output]."""
    return [[s.input, s.output] for s in preset.examples]


def example_table(rows: list[list[str]], lang: str) -> dict[str, Any]:
    """The examples table's value with its column names in ``lang``.

    Gradio does not translate a Dataframe's headers, so every handler that fills the table
    sends them in the request's language.
    """
    return {"headers": [tr("example_input", lang), tr("example_output", lang)], "data": rows}


def _label(piece: str) -> str:
    """A token piece shown so that spaces and newlines are visible (and keys stay distinct)."""
    return repr(piece)[1:-1].replace(" ", "␣") or "∅"


def build_lab_tab(engine: Engine, page: gr.State) -> dict[str, Any]:
    """Add the lab's components and events; return the components deep links fill in.

    ``page``: whether a session is the page (which records tokens for the explorer).
    """
    registry = engine.registry
    presets = load_presets()
    first = next(iter(presets.values()))

    with gr.Row():
        preset = core_checked(
            gr.Dropdown(
                choices=[(f"{p.title} ({p.language})", p.id) for p in presets.values()],
                value=first.id,
                label=I18N("preset"),
                elem_id="lab-preset",
            )
        )
        model = model_menu(engine, "lab", elem_id="lab-model")
        adapter = adapter_menu(engine, "lab", elem_id="lab-adapter")
    with gr.Row():
        with gr.Column(scale=3):
            task = gr.Textbox(value=first.task, label=I18N("task"), elem_id="lab-task")
            examples = core_checked(
                gr.Dataframe(
                    value=preset_rows(first),
                    headers=["input", "output"],
                    column_count=2,
                    type="array",
                    interactive=True,
                    label=I18N("examples"),
                    elem_id="lab-examples",
                )
            )
            with gr.Row():
                row = gr.Number(value=1, precision=0, minimum=1, label=I18N("move_row"), scale=1)
                up = gr.Button(I18N("move_up"), size="sm", scale=1)
                down = gr.Button(I18N("move_down"), size="sm", scale=1)
            with gr.Row():
                query = gr.Textbox(value=first.query, label=I18N("query"), elem_id="lab-query", scale=3)
                separator = gr.Textbox(value=first.separator, label=I18N("separator"), scale=1)
        with gr.Column(scale=2):
            greedy = GenerationSettings(max_new_tokens=first.max_new_tokens, stop=first.stop)  # greedy by default
            controls = settings_controls(greedy, registry.limits.max_new_tokens, "lab")
            temperature, top_p, top_k = controls.temperature, controls.top_p, controls.top_k
            max_new_tokens, repetition_penalty = controls.max_new_tokens, controls.repetition_penalty
            no_repeat, stop_strings, seed = controls.no_repeat_ngram_size, controls.stop, controls.seed
    with gr.Row():
        run = gr.Button(I18N("run_shots"), variant="primary", elem_id="lab-run")
        stop = gr.Button(I18N("stop"), variant="stop")
    with gr.Row():
        zero = gr.Textbox(label=I18N("zero_shot"), lines=4, interactive=False, elem_id="lab-zero")
        one = gr.Textbox(label=I18N("one_shot"), lines=4, interactive=False, elem_id="lab-one")
        few = gr.Textbox(label=I18N("few_shot"), lines=4, interactive=False, elem_id="lab-few")
    details = gr.Markdown(elem_id="lab-details")
    panes = explorer_panes("lab", "explorer_lab")
    with gr.Accordion(I18N("inspect"), open=True):
        exact_prompt = gr.Textbox(label=I18N("exact_prompt"), lines=6, interactive=False, elem_id="lab-prompt")
        tokens = gr.HighlightedText(label=I18N("tokens"), elem_id="lab-tokens")
        with gr.Row():
            raw = gr.Label(num_top_classes=10, label=I18N("distribution_raw"), elem_id="lab-raw")
            adjusted = gr.Label(num_top_classes=10, label=I18N("distribution_adjusted"), elem_id="lab-adjusted")

    def on_preset(preset_id: str, request: gr.Request) -> tuple[Any, ...]:
        p = presets[preset_id]
        rows = example_table(preset_rows(p), request_language(request))
        return p.task, rows, p.query, p.separator, stop_text(p.stop), p.max_new_tokens

    preset.input(  # .input: user choices only, so a deep link can set fields without this overwriting them
        on_preset,
        inputs=preset,
        outputs=[task, examples, query, separator, stop_strings, max_new_tokens],
        api_name=False,
    )
    model.input(
        lambda name: gr.update(choices=adapter_choices(engine, name), value=NO_ADAPTER),
        inputs=model,
        outputs=adapter,
        api_name=False,
    )

    def move(rows: list[list[str]], number: float | None, delta: int, lang: str) -> tuple[dict[str, Any], int]:
        rows = [list(r) for r in rows or []]
        i = int(number or 1) - 1
        j = i + delta
        if 0 <= i < len(rows) and 0 <= j < len(rows):
            rows[i], rows[j] = rows[j], rows[i]
            return example_table(rows, lang), j + 1
        return example_table(rows, lang), i + 1

    def move_up(rows: list[list[str]], number: float | None, request: gr.Request) -> tuple[dict[str, Any], int]:
        return move(rows, number, -1, request_language(request))

    def move_down(rows: list[list[str]], number: float | None, request: gr.Request) -> tuple[dict[str, Any], int]:
        return move(rows, number, +1, request_language(request))

    up.click(move_up, inputs=[examples, row], outputs=[examples, row], api_name=False)
    down.click(move_down, inputs=[examples, row], outputs=[examples, row], api_name=False)

    @on_gpu()
    def run_lab(
        model: str, adapter: str, task: str, examples: list[list[str]], query: str, separator: str,
        temperature: float, top_p: float, top_k: float, max_new_tokens: float, repetition_penalty: float,
        no_repeat_ngram_size: float, stop: str, seed: str | None, is_page: bool, request: gr.Request,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 (Gradio's idiom)
    ) -> Iterator[tuple[Any, ...]]:  # fmt: skip
        lang = request_language(request)
        names = [tr("zero_shot", lang), tr("one_shot", lang), tr("few_shot", lang)]
        with CANCELS.watch(request, "lab_run") as cancel:  # a Stop reaches the engine, even before a token
            try:
                setup = FewShotSetup.from_rows(task, examples, query, separator, limits=registry.limits)
                settings = settings_from(
                    temperature, top_p, top_k, max_new_tokens, repetition_penalty, no_repeat_ngram_size, stop, seed
                )
                if settings["seed"] is None:
                    settings["seed"] = secrets.randbits(31)  # one seed for the three panes (unused when greedy)
                shown = load_progress(progress, lang)
                prompts = [setup.prompt(c) for c in (0, 1, len(setup.examples))]
                record = records_for(engine, model, is_page)  # the page shows the tokens, where the backend can
                streams = [
                    engine.stream(
                        model,
                        text,
                        settings,
                        adapter=chosen_adapter(adapter),
                        progress=shown,
                        visitor=visitor_of(request),
                        cancel=cancel,
                        record_tokens=record,
                    )
                    for text in prompts
                ]
                results = [s.result for s in streams]
                texts = ["", "", ""]
                for texts in interleave(streams, lang=lang):
                    yield (
                        texts[0], texts[1], texts[2], describe_panes(results, names, running=True, lang=lang), gr.skip()
                    )  # fmt: skip
            except (PlaygroundError, ValueError) as exc:
                raise user_error(exc, lang) from None
            # the explorer shows the few-shot answer (and says what the model's backend cannot show)
            few_shot = Explored.of(results[2], prompts[2], settings, capabilities=engine.capabilities(model))
            yield texts[0], texts[1], texts[2], describe_panes(results, names, lang=lang), few_shot

    def inspect_prompt(
        model: str, adapter: str, task: str, examples: list[list[str]], query: str, separator: str,
        temperature: float, top_p: float, top_k: float, repetition_penalty: float, no_repeat_ngram_size: float,
        request: gr.Request, progress: gr.Progress = gr.Progress(),  # noqa: B008 (Gradio's idiom)
    ) -> tuple[str, list[tuple[str, str]], dict[str, float], dict[str, float]]:  # fmt: skip
        lang = request_language(request)
        with CANCELS.watch(request, "lab_inspect") as cancel:  # a Stop, or a client gone, ends its job
            try:
                setup = FewShotSetup.from_rows(task, examples, query, separator, limits=registry.limits)
                settings = engine.settings_for(
                    model,
                    {"temperature": temperature, "top_p": top_p, "top_k": top_k,
                     "repetition_penalty": repetition_penalty, "no_repeat_ngram_size": no_repeat_ngram_size},
                )  # fmt: skip
                text = setup.prompt()
                seen = engine.inspect(
                    model,
                    text,
                    settings,
                    chosen_adapter(adapter),
                    top=10,
                    progress=load_progress(progress, lang),
                    visitor=visitor_of(request),
                    cancel=cancel,
                )
                if seen.warning is not None:
                    warn([seen.warning], lang)
                pieces = [(_label(t.piece), str(t.id)) for t in seen.pieces]
                dist = seen.distribution
                if seen.missing is not None:  # the model's server gives no distribution: say so
                    gr.Warning(localize(seen.missing, lang))
            except (PlaygroundError, ValueError) as exc:
                raise user_error(exc, lang) from None
        return (
            text,
            pieces,
            {_label(t.piece): t.probability for t in dist},
            {_label(t.piece): t.adjusted for t in dist},
        )

    run_inputs = [model, adapter, task, examples, query, separator, *controls.inputs(), page]  # a State: not in the API
    run_outputs = [zero, one, few, details, panes.explored]  # the State is not part of the API
    event = run.click(run_lab, inputs=run_inputs, outputs=run_outputs, api_name="lab_run")
    shown = event.then(show_original, inputs=panes.explored, outputs=panes.shown_outputs(), api_name=False)
    stop.click(None, cancels=[event, *wire_branching(engine, panes, shown)], api_name=False)

    inspect_inputs = [model, adapter, task, examples, query, separator, temperature, top_p, top_k, repetition_penalty]
    inspect_inputs.append(no_repeat)
    inspect_outputs = [exact_prompt, tokens, raw, adjusted]
    run.click(inspect_prompt, inputs=inspect_inputs, outputs=inspect_outputs, api_name="lab_inspect")
    for control in (temperature, top_p, top_k, repetition_penalty, no_repeat):
        control.release(inspect_prompt, inputs=inspect_inputs, outputs=inspect_outputs, api_name=False)
    for control in (query, separator, task):
        control.change(inspect_prompt, inputs=inspect_inputs, outputs=inspect_outputs, api_name=False)

    share_inputs = [preset, model, adapter, task, examples, query, separator, *controls.inputs(), panes.chosen]
    with gr.Row():
        share = gr.Button(I18N("share"), size="sm", elem_id="lab-share")
        link = gr.Textbox(label=I18N("share_link"), interactive=False, buttons=["copy"], elem_id="lab-link", scale=4)

    def share_setup(
        preset: str, model: str, adapter: str, task: str, examples: list[list[str]], query: str, separator: str,
        temperature: float, top_p: float, top_k: float, max_new_tokens: float, repetition_penalty: float,
        no_repeat_ngram_size: float, stop: str, seed: str | None, branch: tuple[int, int] | None,
        request: gr.Request,
    ) -> str:  # fmt: skip
        lang = request_language(request)
        try:
            if preset not in presets:
                raise ValueError(Message("link_unknown_preset", field="preset", value=preset))
            engine.registry.model(model)
            if chosen_adapter(adapter) is not None:
                engine.registry.adapter(adapter, base=model)
            setup = FewShotSetup.from_rows(task, examples, query, separator, limits=registry.limits)
            values = settings_from(
                temperature, top_p, top_k, max_new_tokens, repetition_penalty, no_repeat_ngram_size, stop, seed
            )
            checked = engine.settings_for(model, values)
        except (PlaygroundError, ValueError) as exc:
            raise user_error(exc, lang) from None
        keys = ("temperature", "top_p", "top_k", "max_new_tokens", "repetition_penalty")
        settings: dict[str, Any] = {key: getattr(checked, key) for key in keys}
        if checked.no_repeat_ngram_size:
            settings["no_repeat_ngram_size"] = checked.no_repeat_ngram_size
        if checked.seed is not None:
            settings["seed"] = checked.seed
        shared = SharedSetup(
            tab="lab",
            model=model,
            adapter=chosen_adapter(adapter),
            preset=preset,
            task=setup.task,
            examples=[(e.input, e.output) for e in setup.examples],
            query=setup.query,
            separator=separator,
            stop=list(checked.stop),
            settings=settings,
            branch=(int(branch[0]), int(branch[1])) if branch else None,  # the branch on screen
        )
        link = "?" + shared.to_query()
        limit = registry.limits.max_url_chars - LINK_HEADROOM
        if len(link) - 1 > limit:  # a link the page would refuse is never written
            raise user_error(ValueError(Message("link_too_long", field="link", count=len(link), limit=limit)), lang)
        return link

    share.click(share_setup, inputs=share_inputs, outputs=link, api_name="lab_share").then(
        None, inputs=link, outputs=link, js="(q) => window.location.origin + window.location.pathname + q"
    )
    return {
        "preset": preset, "model": model, "adapter": adapter, "task": task, "examples": examples, "query": query,
        "separator": separator, "temperature": temperature, "top_p": top_p, "top_k": top_k,
        "max_new_tokens": max_new_tokens, "repetition_penalty": repetition_penalty,
        "no_repeat_ngram_size": no_repeat, "stop": stop_strings, "seed": seed, "branch": panes.pending,
    }  # fmt: skip
