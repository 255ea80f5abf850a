"""The Tokenizer lens tab: one sentence in five languages, cut by each registry model's tokenizer.

Five editable boxes (English, French, Spanish, German, Italian) open on a Tatoeba pair and
its translations (:mod:`playground.lessons.tokenizer_lens`); "Cut into tokens" fills a table
(tokens, words, tokens per word, characters per token, the pieces) and a chart of tokens
per word. ``/tokenizer_lens`` returns the same table to API callers.
"""

from __future__ import annotations

from typing import Any

import gradio as gr
import pandas as pd

from playground.engine import Engine
from playground.lessons.tokenizer_lens import LANGS, TokenizerShelf, checked_sentences, lens, load_sentences
from playground.ui.handler import Call, handler
from playground.ui.i18n import I18N, tr

COLUMNS = ("l_tokenizer", "l_language", "l_tokens", "l_words", "l_tokens_per_word", "l_chars_per_token", "l_pieces")
PIECE_JOINT = " · "  # between the pieces of a sentence in the table


def lens_table(shelf: TokenizerShelf, sentences: dict[str, Any], lang: str) -> dict[str, Any]:
    """The lens as a table (``{"headers": [...], "data": [[...], ...]}``), headers in ``lang``.

    A tokenizer not available here gets its rows with 0 tokens and the reason in the pieces' column.
    """
    rows = lens(checked_sentences(sentences), shelf.tokenizers())
    data = [
        [
            r.tokenizer, r.language, r.tokens, r.words, round(r.tokens_per_word, 2), round(r.chars_per_token, 2),
            PIECE_JOINT.join(r.pieces) if r.missing is None else r.missing,
        ]
        for r in rows
    ]  # fmt: skip
    return {"headers": [tr(key, lang) for key in COLUMNS], "data": data}


def chart_frame(table: dict[str, Any]) -> pd.DataFrame:
    """Tokens per word by tokenizer and language (the chart's data), from a lens table."""
    rows = [(row[0], row[1], row[4]) for row in table["data"] if row[2]]
    return pd.DataFrame(rows, columns=["tokenizer", "language", "tokens_per_word"])


def build_lens_tab(engine: Engine) -> dict[str, Any]:
    """Add the Tokenizer lens tab and ``/tokenizer_lens``; return the sentence boxes by language."""
    shelf = TokenizerShelf(engine.registry)
    ready = load_sentences()
    gr.Markdown(I18N("lens_intro"))
    choices = [(s["en"], i) for i, s in enumerate(ready)]
    examples = gr.Dropdown(choices=choices, value=0, label=I18N("lens_examples"), elem_id="lens-examples")
    with gr.Row():
        boxes = [gr.Textbox(value=ready[0][lang], label=I18N(f"lens_{lang}"), elem_id=f"lens-{lang}") for lang in LANGS]
    run = gr.Button(I18N("lens_run"), variant="primary", elem_id="lens-run")
    table = gr.Dataframe(
        headers=[tr(key, "en") for key in COLUMNS], interactive=False, label=I18N("lens_table"), elem_id="lens-table"
    )
    chart = gr.BarPlot(
        x="tokenizer", y="tokens_per_word", color="language", label=I18N("lens_chart"), elem_id="lens-chart",
        x_title=" ", y_title="tokens / word",
    )  # fmt: skip
    gr.Markdown(I18N("lens_meaning"), elem_id="lens-meaning")
    examples.input(lambda i: [ready[int(i)][lang] for lang in LANGS], inputs=examples, outputs=boxes, api_name=False)

    @handler(settings=())
    def tokenizer_lens(call: Call, en: str, fr: str, es: str, de: str, it: str) -> dict[str, Any]:
        """Each registry tokenizer's cut of the five sentences: tokens, words, tokens per word, chars per token."""
        return lens_table(shelf, dict(zip(LANGS, (en, fr, es, de, it), strict=True)), call.lang)

    @handler(settings=())
    def show_lens(call: Call, en: str, fr: str, es: str, de: str, it: str) -> tuple[dict[str, Any], pd.DataFrame]:
        table_value = lens_table(shelf, dict(zip(LANGS, (en, fr, es, de, it), strict=True)), call.lang)
        return table_value, chart_frame(table_value)

    gr.api(tokenizer_lens, api_name="tokenizer_lens")
    run.click(show_lens, inputs=boxes, outputs=[table, chart], api_name=False)
    return dict(zip(LANGS, boxes, strict=True))
