"""The lab's shot curve (/shot_curve): k examples against the score, several draws each, and its sensitivities.

For the lab's model, adapter, task and separator, the section scores k = 0, 1, 2, 4, 8...
examples drawn from a pool on a test set, and draws the mean and spread against k; the points
appear as they are scored (:func:`playground.evaluation.shot_curve_runs.draw_curve`), a Stop
ends it between two answers, and every answer counts against the visitor's share of the
batch. The order, random-label and calibration views are one click from the curve. A preset
fills the pool, the tests and the metric (:mod:`playground.lessons.curve_sets`); the shipped
curves come from the curve cache when nothing that decides them changed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gradio as gr

from playground.engine import Engine
from playground.evaluation.shot_curve_cache import CurveCache
from playground.evaluation.shot_curve_runs import CurveAsk, draw_curve
from playground.lessons.curve_sets import CurveSet
from playground.lessons.shot_curve import (
    DEFAULT_ORDERINGS,
    DEFAULT_SEED,
    DEFAULT_SHOTS,
    METRICS,
    VIEWS,
    CurveSetup,
    parse_models,
)
from playground.ui.accessibility import STATUS, answer_region
from playground.ui.checked import core_checked
from playground.ui.classroom_button import send_button
from playground.ui.controls import NAMES
from playground.ui.curve_chart import curve_figure, curve_status, curve_table
from playground.ui.handler import Call, Settings, handler
from playground.ui.i18n import I18N, tr
from playground.ui.menus import chosen_adapter

CURVE_SETTINGS = tuple(n for n in NAMES if n != "seed")  # the curve's own seed draws the examples and seeds each run
SHOT_CHOICES = (0, 1, 2, 3, 4, 5, 6, 8, 10, 12, 16)
SENSITIVITIES = (("order", "curve_order"), ("random_labels", "curve_random"), ("calibration", "curve_calibrate"))


def curve_tables(curve_set: CurveSet, lang: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The pool and tests tables of a curve set, their column names in ``lang`` (Gradio does not translate them)."""
    pool = {"headers": [tr("example_input", lang), tr("example_output", lang)], "data": curve_set.pool_rows()}
    tests = {"headers": [tr("curve_query", lang), tr("curve_reference", lang)], "data": curve_set.test_rows()}
    return pool, tests


class CurveInputs:
    """The section's own inputs, in the API's order after the lab's model, adapter, task and separator."""

    def __init__(self, engine: Engine, first: CurveSet) -> None:
        limits = engine.registry.limits
        table = {"column_count": 2, "type": "array", "interactive": True}  # headers: English, then the page's language
        with gr.Row():
            pool, tests = curve_tables(first, "en")
            self.pool = core_checked(
                gr.Dataframe(
                    value=pool["data"], headers=pool["headers"], label=I18N("curve_pool"), elem_id="curve-pool", **table
                )
            )
            self.tests = core_checked(
                gr.Dataframe(
                    value=tests["data"],
                    headers=tests["headers"],
                    label=I18N("curve_tests"),
                    elem_id="curve-tests",
                    **table,
                )
            )
        with gr.Row():
            self.shots = core_checked(
                gr.Dropdown(
                    choices=list(SHOT_CHOICES),
                    value=list(DEFAULT_SHOTS),
                    multiselect=True,
                    label=I18N("curve_shots"),
                    elem_id="curve-shots",
                    scale=2,
                )
            )
            self.orderings = core_checked(
                gr.Slider(
                    1,
                    limits.max_curve_orderings,
                    value=DEFAULT_ORDERINGS,
                    step=1,
                    label=I18N("curve_orderings"),
                    elem_id="curve-orderings",
                )
            )
            self.seed = gr.Textbox(value=str(DEFAULT_SEED), label=I18N("curve_seed"), max_lines=1, elem_id="curve-seed")
        with gr.Row():
            metrics = [(I18N(f"metric_{m}"), m) for m in METRICS]
            views = [(I18N(f"view_{v}"), v) for v in VIEWS]
            self.metric = core_checked(
                gr.Dropdown(choices=metrics, value=first.metric, label=I18N("curve_metric"), elem_id="curve-metric")
            )
            self.view = core_checked(
                gr.Dropdown(choices=views, value="curve", label=I18N("curve_view"), elem_id="curve-view")
            )
            self.models = core_checked(
                gr.Dropdown(
                    choices=engine.models_at_hand(),
                    value=[],
                    multiselect=True,
                    label=I18N("curve_models"),
                    elem_id="curve-models",
                )
            )

    def inputs(self) -> list[Any]:
        """pool, tests, shots, orderings, seed, metric, view, models."""
        return [self.pool, self.tests, self.shots, self.orderings, self.seed, self.metric, self.view, self.models]


def build_curve_section(engine: Engine, lab: Any, curve_sets: dict[str, CurveSet]) -> dict[str, Any]:
    """The section under the lab: its inputs, the chart and its numbers, the draw and view buttons, Stop.

    Returns the tables whose headers a page in another language asks for again (``curve_pool``,
    ``curve_tests``), and what a classroom sends: the "Send to the class" button (``curve_send``)
    and the curve as data (``curve_data``).
    """
    first = curve_sets[lab.preset.value]
    classifies = first.metric == "accuracy"
    with gr.Accordion(I18N("curve"), open=False, elem_id="curve"):
        gr.Markdown(I18N("curve_intro"))
        inputs = CurveInputs(engine, first)
        with gr.Row():
            draw = gr.Button(I18N("curve_draw"), variant="primary", elem_id="curve-draw")
            views = {
                view: gr.Button(I18N(key), elem_id=f"curve-{view}", visible=view != "calibration" or classifies)
                for view, key in SENSITIVITIES
            }
            stop = gr.Button(I18N("stop"), variant="stop", elem_id="curve-stop")
            send = send_button("curve")  # shown in a classroom (playground/ui/classroom_sends.py)
        with answer_region(elem_id="curve-answers"):  # a screen reader hears "Done: 100 answers" once
            status = gr.Markdown(elem_id="curve-status", elem_classes=[STATUS])
            with gr.Row():
                chart = gr.Plot(label=I18N("curve_chart"), elem_id="curve-chart", scale=3)  # named: ui/accessibility
                table = gr.Dataframe(interactive=False, label=I18N("curve_table"), elem_id="curve-table", scale=2)
        with gr.Accordion(I18N("curve_json"), open=False):
            data = gr.JSON(elem_id="curve-json")
    events = _wire_draw(engine, lab, inputs, draw, views, [chart, table, status, data])
    stop.click(None, cancels=events, api_name=False)
    _wire_preset(lab, inputs, curve_sets, views["calibration"])
    return {"curve_pool": inputs.pool, "curve_tests": inputs.tests, "curve_send": send, "curve_data": data}


def _wire_draw(
    engine: Engine, lab: Any, curve: CurveInputs, draw: gr.Button, views: dict[str, gr.Button], outputs: list[Any]
) -> list[Any]:
    """/shot_curve on the draw button; each view's button sets the view and draws. The events a Stop cancels."""
    limits, cache = engine.registry.limits, CurveCache()

    @handler(cancel="shot_curve", gpu=True, progress=True, settings=CURVE_SETTINGS)
    def shot_curve(
        call: Call, model: str, adapter: str, task: str, separator: str, pool: list[list[str]],
        tests: list[list[str]], shots: list[int], orderings: float, seed: str, metric: str, view: str,
        models: list[str], settings: Settings,
    ) -> Iterator[tuple[Any, ...]]:  # fmt: skip
        setup = CurveSetup.build(
            task=task, separator=separator, pool=pool, tests=tests, shots=shots, orderings=orderings, seed=seed,
            metric=metric, view=view, limits=limits,
        )  # fmt: skip
        others = parse_models(models, len(engine.registry.models))
        ask = CurveAsk(
            setup, model, chosen_adapter(adapter), settings, others, visitor=call.visitor, cancel=call.cancel,
            progress=call.progress, cache=cache,
        )  # fmt: skip
        curve = None
        for curve in draw_curve(engine, ask):
            yield (
                curve_figure(curve, call.lang),
                curve_table(curve, call.lang),
                curve_status(curve, call.lang),
                curve.to_dict(),
            )
        if curve is not None and not curve.complete:  # stopped (a Stop, a client gone): say so
            yield gr.skip(), gr.skip(), curve_status(curve, call.lang, stopped=True), curve.to_dict()

    inputs = [lab.model, lab.adapter, lab.task, lab.separator, *curve.inputs(), *lab.controls.inputs(CURVE_SETTINGS)]
    events = [draw.click(shot_curve, inputs=inputs, outputs=outputs, api_name="shot_curve")]
    for view, button in views.items():
        chosen = button.click(lambda v=view: v, outputs=curve.view, api_name=False)
        events.append(chosen.then(shot_curve, inputs=inputs, outputs=outputs, api_name=False))
    return events


def _wire_preset(lab: Any, curve: CurveInputs, curve_sets: dict[str, CurveSet], calibrate: gr.Button) -> None:
    """A preset chosen (or set by a link) fills the pool, the tests and the metric.

    The calibration button shows for a classification only.
    """

    @handler()
    def on_preset(call: Call, preset_id: str) -> tuple[Any, ...]:
        chosen = curve_sets[preset_id]
        pool, tests = curve_tables(chosen, call.lang)
        return pool, tests, chosen.metric, "curve", gr.update(visible=chosen.metric == "accuracy")

    outputs = [curve.pool, curve.tests, curve.metric, curve.view, calibrate]
    lab.preset.change(on_preset, inputs=lab.preset, outputs=outputs, api_name=False)
    curve.metric.input(
        lambda metric: gr.update(visible=metric == "accuracy"), inputs=curve.metric, outputs=calibrate, api_name=False
    )
