"""Compare (generic vs fine-tuned): perplexity and next-token accuracy of two models or adapters on one text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from playground.engine import Engine
from playground.errors import PlaygroundError, UnknownModelError, UnsupportedError
from playground.evaluation.scoring import check_size, score_text
from playground.messages import Message, localize
from playground.registry import ModelSpec
from playground.ui.checked import core_checked
from playground.ui.feedback import load_progress, user_error
from playground.ui.gpu import on_gpu
from playground.ui.i18n import I18N, request_language, tr
from playground.ui.visitor import CANCELS, visitor_of

HELDOUT_DIR = Path(__file__).resolve().parent.parent / "heldout"
SEPARATOR = " + "
COLUMNS = ("c_model", "c_perplexity", "c_accuracy", "c_tokens", "c_seconds", "c_license", "c_source")
WINDOW = 256  # tokens per scored window (or the model's context, if shorter)
MAX_WINDOWS = 16  # windows scored at most: 4,096 tokens


def candidates(engine: Engine) -> list[tuple[str, str]]:
    """Every base model, and every base + adapter, as dropdown choices."""
    out = [(spec.label, spec.name) for spec in engine.registry.models.values()]
    out += [(f"{a.base} + {a.label}", f"{a.base}{SEPARATOR}{a.name}") for a in engine.registry.adapters.values()]
    return out


def parse_choice(engine: Engine, choice: object, field: str) -> tuple[ModelSpec, str | None]:
    """The model and adapter of a menu value ("model" or "model + adapter"); errors name ``field``."""
    if not isinstance(choice, str):
        raise UnknownModelError(Message("not_a_string", field=field, type=type(choice).__name__))
    model, _, adapter = choice.partition(SEPARATOR)
    if model not in engine.registry.models:
        known = ", ".join(value for _, value in candidates(engine))
        raise UnknownModelError(Message("unknown_model", field=field, name=choice, known=known))
    if adapter:
        spec = engine.registry.adapters.get(adapter)
        if spec is None or spec.base != model:
            known = ", ".join(value for _, value in candidates(engine))
            raise UnknownModelError(Message("unknown_model", field=field, name=choice, known=known))
    return engine.registry.model(model), adapter or None


def heldout_texts() -> dict[str, str]:
    """The built-in held-out texts, by file name."""
    return {p.stem: p.read_text(encoding="utf-8") for p in sorted(HELDOUT_DIR.glob("*.txt"))}


def headers(lang: str) -> list[str]:
    """The result table's column names in ``lang``."""
    return [tr(key, lang) for key in COLUMNS]


def build_compare_tab(engine: Engine) -> None:
    """Add the Compare tab."""
    choices = candidates(engine)
    texts = heldout_texts()
    first_adapter = next((v for _, v in choices if SEPARATOR in v), choices[-1][1])
    with gr.Row():
        first = core_checked(
            gr.Dropdown(choices=choices, value=first_adapter.split(SEPARATOR)[0], label=I18N("model_a"))
        )
        second = core_checked(gr.Dropdown(choices=choices, value=first_adapter, label=I18N("model_b")))
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
                pairs = [
                    (choice, *parse_choice(engine, choice, field))
                    for field, choice in (("model_a", model_a), ("model_b", model_b))
                ]
                for choice, spec, adapter in pairs:
                    license = engine.registry.license(spec.name, adapter)
                    try:
                        r = score_text(
                            engine,
                            spec.name,
                            text,
                            adapter,
                            window=WINDOW,
                            max_windows=MAX_WINDOWS,
                            progress=load_progress(progress, lang),
                            visitor=visitor_of(request),
                            cancel=cancel,
                        )
                    except UnsupportedError as exc:  # the row says what its server cannot do
                        missing = localize(exc, lang)
                        rows.append([choice, missing, "", "", "", license, localize(engine.source(spec.name), lang)])
                        continue
                    rows.append(
                        [
                            choice,
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
