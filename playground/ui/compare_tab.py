"""Compare (generic vs fine-tuned): perplexity and next-token accuracy of two models or adapters on one text."""

from __future__ import annotations

from typing import Any

import gradio as gr

from playground.engine import Engine
from playground.errors import UnsupportedError
from playground.evaluation.scoring import check_size, score_text
from playground.lessons.tab_links import compare_link
from playground.lessons.tab_openings import COMPARE_MAX_WINDOWS, COMPARE_WINDOW, compare_pair, heldout_texts
from playground.messages import localize
from playground.models.registry import Candidate
from playground.ui.accessibility import answer_region
from playground.ui.checked import core_checked
from playground.ui.handler import Call, handler
from playground.ui.i18n import I18N, tr
from playground.ui.reproduce_panel import reproduce_panel
from playground.ui.share import share_row

COLUMNS = ("c_model", "c_perplexity", "c_accuracy", "c_tokens", "c_seconds", "c_license", "c_source")
WINDOW = COMPARE_WINDOW  # tokens per scored window (or the model's context, if shorter)
MAX_WINDOWS = COMPARE_MAX_WINDOWS  # windows scored at most


def candidate_choices(engine: Engine) -> list[tuple[str, str]]:
    """Every base model, and every base + adapter, as dropdown choices (label, key)."""
    registry = engine.registry
    return [(registry.candidate_label(c), c.key) for c in registry.candidates()]


def headers(lang: str) -> list[str]:
    """The result table's column names in ``lang``."""
    return [tr(key, lang) for key in COLUMNS]


def score_row(engine: Engine, pair: Candidate, text: str, call: Call) -> list[Any]:
    """One row of the table: ``pair``'s perplexity and accuracy on ``text``, or what its server cannot do."""
    license = engine.registry.license(pair.model, pair.adapter)
    try:
        r = score_text(
            engine, pair.model, text, pair.adapter, window=WINDOW, max_windows=MAX_WINDOWS,
            progress=call.progress, visitor=call.visitor, cancel=call.cancel,
        )  # fmt: skip
    except UnsupportedError as exc:  # the row says what its server cannot do
        return [pair.key, localize(exc, call.lang), "", "", "", license, localize(engine.source(pair.model), call.lang)]
    accuracy = f"{100 * r['accuracy']:.1f}%"
    source = localize(r["source"], call.lang)
    return [pair.key, round(r["perplexity"], 2), accuracy, r["tokens"], round(r["seconds"], 1), license, source]


def build_compare_tab(engine: Engine) -> dict[str, Any]:
    """Add the Compare tab; return the components a deep link fills in, by parameter name."""
    registry = engine.registry
    choices = candidate_choices(engine)
    texts = heldout_texts()
    generic, tuned = compare_pair(registry)
    with gr.Row():  # opens on the first adapter against its own base: generic vs fine-tuned
        first = core_checked(gr.Dropdown(choices=choices, value=generic.key, label=I18N("model_a")))
        second = core_checked(gr.Dropdown(choices=choices, value=tuned.key, label=I18N("model_b")))
    builtin = gr.Dropdown(choices=list(texts), value=next(iter(texts), None), label=I18N("builtin_text"))
    text = gr.Textbox(
        value=next(iter(texts.values()), ""), lines=8, label=I18N("text_to_score"), elem_id="compare-text"
    )
    run = gr.Button(I18N("evaluate"), variant="primary", elem_id="compare-run")
    with answer_region(elem_id="compare-results"):  # a screen reader hears when the table is ready
        table = gr.Dataframe(
            headers=headers("en"),
            interactive=False,
            label=I18N("results"),
            elem_id="compare-table",
        )
    builtin.change(lambda name: texts.get(name, ""), inputs=builtin, outputs=text, api_name=False)

    @handler(cancel="compare", gpu=True, progress=True)  # a Stop, or a client gone, ends its job
    def evaluate(call: Call, model_a: str, model_b: str, text: str) -> dict[str, Any]:
        check_size(text, registry.limits.max_compare_chars)  # before any model loads
        pairs = [registry.parse_candidate(model_a, "model_a"), registry.parse_candidate(model_b, "model_b")]
        return {"headers": headers(call.lang), "data": [score_row(engine, pair, text, call) for pair in pairs]}

    run.click(evaluate, inputs=[first, second, text], outputs=table, api_name="compare")

    @handler(settings=())
    def share_setup(call: Call, model_a: str, model_b: str, text: str) -> str:
        return compare_link(registry, model_a, model_b, text)

    reproduce_panel(engine, "compare", share_row("compare", share_setup, [first, second, text]))
    return {"model_a": first, "model_b": second, "text": text}
