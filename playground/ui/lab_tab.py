"""The prompting lab: one query run zero-, one- and few-shot side by side (the GPT-3 paper's lesson).

Same model, seed and settings in the three panes, so a class sees at once what the
examples change. The exact prompt, its tokens and the next-token distribution (raw and as
temperature / top-k / top-p reshape it) are shown under the answers and follow the
settings live.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import gradio as gr

from playground.engine import Engine
from playground.lessons.curve_sets import load_curve_sets
from playground.lessons.deep_links import lab_link
from playground.lessons.fewshot import FewShotSetup
from playground.lessons.presets import Preset, load_presets
from playground.lessons.side_by_side import interleave
from playground.lessons.tab_openings import lab_settings
from playground.messages import localize
from playground.settings import fresh_seed
from playground.ui.accessibility import STATUS, answer_region
from playground.ui.checked import core_checked
from playground.ui.classroom_button import send_button
from playground.ui.controls import DISTRIBUTION, SettingsControls, control_values, settings_controls
from playground.ui.details import describe_panes
from playground.ui.explorer import Explored, explorer_panes, records_for, show_original, wire_branching
from playground.ui.feedback import warn
from playground.ui.handler import Call, Settings, handler
from playground.ui.i18n import I18N, tr
from playground.ui.menus import NO_ADAPTER, adapter_choices, adapter_menu, chosen_adapter, model_menu
from playground.ui.reproduce_panel import reproduce_panel
from playground.ui.share import ShareLink, share_row
from playground.ui.shot_curve_section import build_curve_section

PRESET_SETTINGS = ("max_new_tokens", "stop")  # the settings a preset sets


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


@dataclass
class LabInputs:
    """The lab's inputs: what a run, an inspection and a share link read."""

    preset: gr.Dropdown
    model: gr.Dropdown
    adapter: gr.Dropdown
    task: gr.Textbox
    examples: gr.Dataframe
    query: gr.Textbox
    separator: gr.Textbox
    controls: SettingsControls

    def setup(self) -> list[Any]:
        """model, adapter, task, examples, query, separator: the inputs every lab endpoint starts with."""
        return [self.model, self.adapter, self.task, self.examples, self.query, self.separator]


def build_lab_tab(engine: Engine, page: gr.State) -> dict[str, Any]:
    """Add the lab's components and events; return the components deep links fill in (and a classroom sends).

    ``page``: whether a session is the page (which records tokens for the explorer).
    """
    presets = load_presets()
    lab = _inputs(engine, presets)
    with gr.Row():
        run = gr.Button(I18N("run_shots"), variant="primary", elem_id="lab-run")
        stop = gr.Button(I18N("stop"), variant="stop")
        send = send_button("lab")  # shown in a classroom (playground/ui/classroom_sends.py)
    with answer_region(elem_id="lab-answers"):
        with gr.Row():  # side by side on a screen, stacked on a phone (each at least 260 px wide)
            answers = [
                gr.Textbox(label=I18N(f"{n}_shot"), lines=4, interactive=False, elem_id=f"lab-{n}", min_width=260)
                for n in ("zero", "one", "few")
            ]
        details = gr.Markdown(elem_id="lab-details", elem_classes=[STATUS])
    panes = explorer_panes("lab", "explorer_lab")
    _wire_run(engine, lab, run, stop, [*answers, details], panes, page)
    _wire_inspect(engine, lab, run)
    reproduce_panel(engine, "lab", _wire_share(engine, presets, lab, panes), panes=True)
    curve = build_curve_section(engine, lab, load_curve_sets(presets, limits=engine.registry.limits))
    return {
        "preset": lab.preset, "model": lab.model, "adapter": lab.adapter, "task": lab.task,
        "examples": lab.examples, "query": lab.query, "separator": lab.separator, **lab.controls,
        "branch": panes.pending, "send": send, "answers": answers, **curve,
    }  # fmt: skip


def _inputs(engine: Engine, presets: dict[str, Preset]) -> LabInputs:
    """The preset menu, the model, the task, its examples (rows that move), the query and the settings."""
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
            _row_mover(examples)
            with gr.Row():
                query = gr.Textbox(value=first.query, label=I18N("query"), elem_id="lab-query", scale=3)
                separator = gr.Textbox(value=first.separator, label=I18N("separator"), scale=1)
        with gr.Column(scale=2):
            greedy = lab_settings(first)  # greedy by default
            controls = settings_controls(greedy, engine.registry.limits.max_new_tokens, "lab")
    lab = LabInputs(preset, model, adapter, task, examples, query, separator, controls)

    @handler()
    def on_preset(call: Call, preset_id: str) -> tuple[Any, ...]:
        p = presets[preset_id]
        rows = example_table(preset_rows(p), call.lang)
        return p.task, rows, p.query, p.separator, *control_values(p, PRESET_SETTINGS)

    preset.input(  # .input: user choices only, so a deep link can set fields without this overwriting them
        on_preset,
        inputs=preset,
        outputs=[task, examples, query, separator, *controls.inputs(PRESET_SETTINGS)],
        api_name=False,
    )
    model.input(
        lambda name: gr.update(choices=adapter_choices(engine, name), value=NO_ADAPTER),
        inputs=model,
        outputs=adapter,
        api_name=False,
    )
    return lab


def _row_mover(examples: gr.Dataframe) -> None:
    """A row number and two buttons that move that example up or down."""
    with gr.Row():
        row = gr.Number(value=1, precision=0, minimum=1, label=I18N("move_row"), scale=1)
        up = gr.Button(I18N("move_up"), size="sm", scale=1)
        down = gr.Button(I18N("move_down"), size="sm", scale=1)

    def move(rows: list[list[str]], number: float | None, delta: int, lang: str) -> tuple[dict[str, Any], int]:
        rows = [list(r) for r in rows or []]
        i = int(number or 1) - 1
        j = i + delta
        if 0 <= i < len(rows) and 0 <= j < len(rows):
            rows[i], rows[j] = rows[j], rows[i]
            return example_table(rows, lang), j + 1
        return example_table(rows, lang), i + 1

    @handler()
    def move_up(call: Call, rows: list[list[str]], number: float | None) -> tuple[dict[str, Any], int]:
        return move(rows, number, -1, call.lang)

    @handler()
    def move_down(call: Call, rows: list[list[str]], number: float | None) -> tuple[dict[str, Any], int]:
        return move(rows, number, +1, call.lang)

    up.click(move_up, inputs=[examples, row], outputs=[examples, row], api_name=False)
    down.click(move_down, inputs=[examples, row], outputs=[examples, row], api_name=False)


def _wire_run(
    engine: Engine, lab: LabInputs, run: gr.Button, stop: gr.Button, outputs: list[Any], panes: Any, page: gr.State
) -> None:
    """Run zero-, one- and few-shot side by side (/lab_run); the explorer shows the few-shot answer."""
    limits = engine.registry.limits

    @handler(cancel="lab_run", gpu=True, progress=True)  # a Stop reaches the engine, even before a token
    def run_lab(
        call: Call, model: str, adapter: str, task: str, examples: list[list[str]], query: str, separator: str,
        settings: Settings, is_page: bool,
    ) -> Iterator[tuple[Any, ...]]:  # fmt: skip
        names = [tr("zero_shot", call.lang), tr("one_shot", call.lang), tr("few_shot", call.lang)]
        setup = FewShotSetup.from_rows(task, examples, query, separator, limits=limits)
        if settings["seed"] is None:
            settings["seed"] = fresh_seed()  # one seed for the three panes (unused when greedy)
        prompts = [setup.prompt(c) for c in (0, 1, len(setup.examples))]
        record = records_for(engine, model, is_page)  # the page shows the tokens, where the backend can
        streams = [
            engine.stream(
                model, text, settings, adapter=chosen_adapter(adapter), progress=call.progress,
                visitor=call.visitor, cancel=call.cancel, record_tokens=record,
            )
            for text in prompts
        ]  # fmt: skip
        results = [s.result for s in streams]
        texts = ["", "", ""]
        for texts in interleave(streams, lang=call.lang):
            yield *texts, describe_panes(results, names, running=True, lang=call.lang), gr.skip()
        # the explorer shows the few-shot answer (and says what the model's backend cannot show)
        few_shot = Explored.of(results[2], prompts[2], settings, capabilities=engine.capabilities(model))
        yield *texts, describe_panes(results, names, lang=call.lang), few_shot

    inputs = [*lab.setup(), *lab.controls.inputs(), page]  # a State is not part of the API
    event = run.click(run_lab, inputs=inputs, outputs=[*outputs, panes.explored], api_name="lab_run")
    shown = event.then(show_original, inputs=panes.explored, outputs=panes.shown_outputs(), api_name=False)
    stop.click(None, cancels=[event, *wire_branching(engine, panes, shown)], api_name=False)


def _wire_inspect(engine: Engine, lab: LabInputs, run: gr.Button) -> None:
    """The exact prompt, its tokens and the next-token distribution (/lab_inspect), following the settings live."""
    with gr.Accordion(I18N("inspect"), open=True):
        exact_prompt = gr.Textbox(label=I18N("exact_prompt"), lines=6, interactive=False, elem_id="lab-prompt")
        tokens = gr.HighlightedText(label=I18N("tokens"), elem_id="lab-tokens")
        with gr.Row():
            raw = gr.Label(num_top_classes=10, label=I18N("distribution_raw"), elem_id="lab-raw")
            adjusted = gr.Label(num_top_classes=10, label=I18N("distribution_adjusted"), elem_id="lab-adjusted")
    limits = engine.registry.limits

    @handler(cancel="lab_inspect", gpu=True, progress=True, settings=DISTRIBUTION)  # a Stop or a client gone ends it
    def inspect_prompt(
        call: Call, model: str, adapter: str, task: str, examples: list[list[str]], query: str, separator: str,
        settings: Settings,
    ) -> tuple[str, list[tuple[str, str]], dict[str, float], dict[str, float]]:  # fmt: skip
        text = FewShotSetup.from_rows(task, examples, query, separator, limits=limits).prompt()
        seen = engine.inspect(
            model, text, engine.settings_for(model, settings), chosen_adapter(adapter), top=10,
            progress=call.progress, visitor=call.visitor, cancel=call.cancel,
        )  # fmt: skip
        if seen.warning is not None:
            warn([seen.warning], call.lang)
        if seen.missing is not None:  # the model's server gives no distribution: say so
            gr.Warning(localize(seen.missing, call.lang))
        pieces = [(_label(t.piece), str(t.id)) for t in seen.pieces]
        dist = seen.distribution
        return text, pieces, {_label(t.piece): t.probability for t in dist}, {_label(t.piece): t.adjusted for t in dist}

    inputs = [*lab.setup(), *lab.controls.inputs(DISTRIBUTION)]
    outputs = [exact_prompt, tokens, raw, adjusted]
    run.click(inspect_prompt, inputs=inputs, outputs=outputs, api_name="lab_inspect")
    for name in DISTRIBUTION:
        lab.controls[name].release(inspect_prompt, inputs=inputs, outputs=outputs, api_name=False)
    for control in (lab.query, lab.separator, lab.task):
        control.change(inspect_prompt, inputs=inputs, outputs=outputs, api_name=False)


def _wire_share(engine: Engine, presets: dict[str, Preset], lab: LabInputs, panes: Any) -> ShareLink:
    """A button that writes a link reopening the lab as it is (/lab_share), with the branch on screen."""

    @handler()
    def share_setup(
        call: Call, preset: str, model: str, adapter: str, task: str, examples: list[list[str]], query: str,
        separator: str, settings: Settings, branch: tuple[int, int] | None,
    ) -> str:  # fmt: skip
        return lab_link(
            engine.registry, presets, preset=preset, model=model, adapter=chosen_adapter(adapter), task=task,
            examples=examples, query=query, separator=separator, settings=settings, branch=branch,
        )  # fmt: skip

    return share_row("lab", share_setup, [lab.preset, *lab.setup(), *lab.controls.inputs(), panes.chosen])
