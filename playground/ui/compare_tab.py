"""Compare (generic vs fine-tuned): perplexity and next-token accuracy of two models or adapters on one text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from playground.engine import Engine
from playground.errors import PlaygroundError, UnsupportedError
from playground.evaluation.scoring import check_size, score_text
from playground.messages import localize
from playground.ui.checked import core_checked
from playground.ui.feedback import load_progress, user_error
from playground.ui.gpu import on_gpu
from playground.ui.i18n import I18N, request_language, tr
from playground.ui.visitor import CANCELS, visitor_of

HELDOUT_DIR = Path(__file__).resolve().parent.parent / "heldout"
COLUMNS = ("c_model", "c_perplexity", "c_accuracy", "c_tokens", "c_seconds", "c_license", "c_source")
WINDOW = 256  # tokens per scored window (or the model's context, if shorter)
MAX_WINDOWS = 16  # windows scored at most: 4,096 tokens


def candidate_choices(engine: Engine) -> list[tuple[str, str]]:
    """Every base model, and every base + adapter, as dropdown choices (label, key)."""
    registry = engine.registry
    return [(registry.candidate_label(c), c.key) for c in registry.candidates()]


def heldout_texts() -> dict[str, str]:
    """The built-in held-out texts, by file name."""
    return {p.stem: p.read_text(encoding="utf-8") for p in sorted(HELDOUT_DIR.glob("*.txt"))}


def headers(lang: str) -> list[str]:
    """The result table's column names in ``lang``."""
    return [tr(key, lang) for key in COLUMNS]


def build_compare_tab(engine: Engine) -> None:
    """Add the Compare tab."""
    registry = engine.registry
    choices = candidate_choices(engine)
    texts = heldout_texts()
    tuned = next((c for c in registry.candidates() if c.adapter is not None), registry.candidates()[-1])
    with gr.Row():  # opens on the first adapter against its own base: generic vs fine-tuned
        first = core_checked(gr.Dropdown(choices=choices, value=tuned.model, label=I18N("model_a")))
        second = core_checked(gr.Dropdown(choices=choices, value=tuned.key, label=I18N("model_b")))
    builtin = gr.Dropdown(choices=list(texts), value=next(iter(texts), None), label=I18N("builtin_text"))
    text = gr.Textbox(
        value=next(iter(texts.values()), ""), lines=8, label=I18N("text_to_score"), elem_id="compare-text"
    )
    run = gr.Button(I18N("evaluate"), variant="primary", elem_id="compare-run")
    table = gr.Dataframe(
        headers=headers("en"),
        interactive=False,
        label=I18N("results"),
        elem_id="compare-table",
    )
    builtin.change(lambda name: texts.get(name, ""), inputs=builtin, outputs=text, api_name=False)

    @on_gpu()
    def evaluate(
        model_a: str,
        model_b: str,
        text: str,
        request: gr.Request,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 (Gradio's idiom)
    ) -> dict[str, Any]:
        lang = request_language(request)
        rows = []
        with CANCELS.watch(request, "compare") as cancel:  # a Stop, or a client gone, ends its job
            try:
                check_size(text, engine.registry.limits.max_compare_chars)  # before any model loads
                pairs = [registry.parse_candidate(model_a, "model_a"), registry.parse_candidate(model_b, "model_b")]
                for pair in pairs:
                    license = registry.license(pair.model, pair.adapter)
                    try:
                        r = score_text(
                            engine,
                            pair.model,
                            text,
                            pair.adapter,
                            window=WINDOW,
                            max_windows=MAX_WINDOWS,
                            progress=load_progress(progress, lang),
                            visitor=visitor_of(request),
                            cancel=cancel,
                        )
                    except UnsupportedError as exc:  # the row says what its server cannot do
                        missing = localize(exc, lang)
                        rows.append([pair.key, missing, "", "", "", license, localize(engine.source(pair.model), lang)])
                        continue
                    rows.append(
                        [
                            pair.key,
                            round(r["perplexity"], 2),
                            f"{100 * r['accuracy']:.1f}%",
                            r["tokens"],
                            round(r["seconds"], 1),
                            license,
                            localize(r["source"], lang),
                        ]
                    )
            except (PlaygroundError, ValueError) as exc:
                raise user_error(exc, lang) from None
        return {"headers": headers(lang), "data": rows}

    run.click(evaluate, inputs=[first, second, text], outputs=table, api_name="compare")
