"""The token explorer: an answer as tokens coloured by probability, their alternatives, and a branch.

Under an answer (the lab's few-shot pane, the Generate tab), each token is coloured by the
probability the model gave it (a legend says which colour is which). Hovering, focusing or
tapping a token shows what else the model could have written there, with both
distributions: the model's own and the one the token was drawn from after temperature,
top-k, top-p and the repetition controls. Clicking an alternative streams a branch beside
the original: the same prompt, settings and seed, that token written instead, and the
model going on from there (:mod:`playground.engine.branching`). Each pane has its status line, with
the answer's log-probability and perplexity.

For a screen reader, an answer is a listbox whose options are its tokens, each named with
its text and probability ("fromage, 60 percent", :func:`token_name`); the keyboard moves
through it with the arrow keys and reaches the alternatives with Enter
(:data:`playground.ui.page.EXPLORER_JS`).

Where the model's backend cannot do part of this (a model served by vLLM: no branching, the
sampled distribution estimated from the server's 20 candidates; a plain OpenAI server: no
token probabilities at all), the pane says so in place of what is missing
(:class:`~playground.serving.backend.Capabilities`), instead of failing.

The rendering is inert. The HTML is built here from escaped text only: every piece of
model text goes through :func:`html.escape` (as element text, or as JSON inside an escaped
attribute), and the page's script (:data:`playground.ui.page.EXPLORER_JS`) builds the
alternatives with ``textContent``, never ``innerHTML``.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from playground.engine import Engine, GenerationResult
from playground.engine.branching import Branch
from playground.messages import Message, localize
from playground.serving.backend import Capabilities
from playground.serving.logprob_record import TOP_LOGPROBS
from playground.serving.token_record import NextToken, TokenRecord
from playground.ui.accessibility import STATUS, answer_region
from playground.ui.details import describe, escape_markdown
from playground.ui.gpu import on_gpu
from playground.ui.handler import Call, handler
from playground.ui.i18n import I18N, tr
from playground.ui.page import EXPLORER_JS

LEVELS = (0.9, 0.5, 0.2, 0.05)  # lower bounds of the colour levels, most likely first


def level(probability: float) -> int:
    """The colour level of a probability: 0 for >= 90% down to 4 for < 5%."""
    return next((i for i, low in enumerate(LEVELS) if probability >= low), len(LEVELS))


def shown(piece: str) -> str:
    """A token's text where spaces and line ends are visible (for the alternatives)."""
    return piece.replace(" ", "␣").replace("\n", "↵").replace("\t", "⇥") or "∅"


def _percent(probability: float) -> str:
    if probability >= 0.9995:
        return "100%"
    if probability >= 0.1:
        return f"{100 * probability:.0f}%"
    if probability >= 0.001:
        return f"{100 * probability:.1f}%"
    return "<0.1%" if probability > 0 else "0%"


def _legend(lang: str, branch: bool, branchable: bool = True) -> str:
    """The colours (and, in a branch, the chosen token's outline); the hint where alternatives can be clicked."""
    bounds = [f"≥ {_percent(LEVELS[0])}"]
    bounds += [f"{_percent(low)}–{_percent(high)}" for low, high in zip(LEVELS[1:], LEVELS, strict=False)]
    bounds.append(f"< {_percent(LEVELS[-1])}")
    swatches = "".join(
        f'<span class="pg-tok pg-p{i} pg-swatch">{html.escape(text)}</span>' for i, text in enumerate(bounds)
    )
    if branch:
        swatches += f'<span class="pg-tok pg-forced pg-swatch">{html.escape(tr("explorer_forced", lang))}</span>'
        hint = ""
    else:
        key = "explorer_hint" if branchable else "explorer_hint_view"
        hint = f'<div class="pg-hint">{html.escape(tr(key, lang))}</div>'
    return f'<div class="pg-legend"><span>{html.escape(tr("explorer_legend", lang))}</span> {swatches}{hint}</div>'


def _alternatives(alternatives: Sequence[NextToken], chosen: NextToken) -> str:
    """The alternatives as compact JSON ([id, text, raw, adjusted] each), the chosen token included."""
    rows = list(alternatives) if any(a.id == chosen.id for a in alternatives) else [*alternatives, chosen]
    return json.dumps(
        [[a.id, shown(a.piece), round(a.probability, 6), round(a.adjusted, 6)] for a in rows], ensure_ascii=False
    )


def spoken_percent(probability: float, lang: str) -> str:
    """A probability as a screen reader says it: "60", "5.5" ("5,5" in French), "less than 0.1"."""
    number = _percent(probability).removesuffix("%")
    if lang == "fr":
        number = number.replace(".", ",")
    if number.startswith("<"):
        return tr("explorer_less_than", lang).format(n=number[1:])
    return number


def spoken_piece(piece: str, lang: str) -> str:
    """A token's text as a screen reader says it: its words, or what its blank is (a space, a line break)."""
    if piece.strip():
        return piece.strip()
    if "\n" in piece:
        return tr("explorer_newline", lang)
    return tr("explorer_space", lang) if piece else tr("explorer_nothing", lang)


def token_name(token: NextToken, lang: str, forced: bool = False) -> str:
    """A token's accessible name: "fromage, 60 percent" (and, in a branch, that the branch wrote it)."""
    name = tr("explorer_token_name", lang).format(
        piece=spoken_piece(token.piece, lang), percent=spoken_percent(token.probability, lang)
    )
    return f"{name}, {tr('explorer_forced', lang)}" if forced else name


def _token(i: int, record: TokenRecord, chosen: bool, lang: str) -> str:
    """One token: an option of the answer's listbox (the first one in the tab order), named with its probability."""
    token = record.token
    text = token.piece.replace("\n", "↵\n") or "∅"
    classes = f"pg-tok pg-p{level(token.probability)}" + (" pg-forced" if chosen else "")
    data = html.escape(_alternatives(record.alternatives, token), quote=True)
    name = html.escape(token_name(token, lang, forced=chosen), quote=True)
    return (
        f'<span class="{classes}" role="option" aria-selected="false" aria-label="{name}" '
        f'tabindex="{0 if i == 0 else -1}" data-i="{i}" data-id="{token.id}" data-alts="{data}">'
        f"{html.escape(text)}</span>"
    )


def render(
    records: Sequence[TokenRecord],
    lang: str,
    *,
    branch_at: int | None = None,
    branchable: bool = True,
    notes: Sequence[str] = (),
) -> str:
    """The answer's tokens as inert HTML, with the legend.

    Without ``branch_at`` (an original answer) the alternatives can be clicked to branch,
    unless ``branchable`` is False (the model's backend cannot branch); with it (a branch),
    the token chosen at that position is outlined. ``notes`` (plain text, escaped here) say
    what the backend cannot show.
    """
    labels = {
        "data-token": tr("explorer_token", lang),
        "data-model": tr("explorer_model", lang),
        "data-sampled": tr("explorer_sampled", lang),
        "data-branch": tr("explorer_branch_hint", lang),
        "data-alternatives": tr("explorer_alternatives", lang),
        # how a screen reader says an alternative (EXPLORER_JS): as token_name does, from the shown piece
        "data-percent": tr("explorer_token_name", lang).replace("{piece}, ", ""),
        "data-less-than": tr("explorer_less_than", lang),
        "data-decimal": "," if lang == "fr" else ".",
        "data-space": tr("explorer_space", lang),
        "data-newline": tr("explorer_newline", lang),
        "data-branchable": "1" if branch_at is None and branchable else "0",
    }
    attributes = " ".join(f'{k}="{html.escape(v, quote=True)}"' for k, v in labels.items())
    tokens = "".join(_token(i, r, i == branch_at, lang) for i, r in enumerate(records))
    legend = _legend(lang, branch=branch_at is not None, branchable=branchable) if records or not notes else ""
    remarks = "".join(f'<div class="pg-hint pg-missing">{html.escape(note)}</div>' for note in notes)
    # a listbox of tokens (the arrow keys move between them, see EXPLORER_JS); none while there are no tokens
    listbox = f' role="listbox" aria-orientation="horizontal" aria-label="{html.escape(tr("explorer_tokens", lang))}"'
    answer = f'<div class="pg-answer"{listbox if records else ""}>{tokens}</div>'
    return f'<div class="pg-explorer" {attributes}>{legend}{remarks}{answer}</div>'


def records_for(engine: Engine, model: str, is_page: bool) -> bool:
    """Whether a tab records an answer's tokens: for the page (which shows them), where the model's backend can.

    Where it cannot, the answer still streams and the explorer says what is missing
    (:func:`show_original`).
    """
    return bool(is_page) and engine.capabilities(model).record_tokens


def page_flag() -> gr.State:
    """Whether a session is the page: True once the page has loaded (the load event sets it), False for API clients.

    The tabs record the tokens of an answer only for the page, which shows them in an
    explorer; an API client that wants the record asks ``/generate_tokens``.
    """
    return gr.State(False)


@dataclass
class Explored:
    """A finished generation shown in an explorer, and what is needed to branch it."""

    model: str
    adapter: str | None
    prompt: str
    use_prompt_style: bool
    settings: dict[str, Any]  # as validated by the engine, with the seed the answer used
    result: GenerationResult
    records: list[TokenRecord] = field(default_factory=list)
    capabilities: Capabilities = field(default_factory=Capabilities)  # what the model's backend can show

    @classmethod
    def of(
        cls,
        result: GenerationResult,
        prompt: str,
        settings: dict[str, Any],
        use_prompt_style: bool = False,
        capabilities: Capabilities | None = None,
    ) -> Explored:
        """What a finished ``result`` of ``prompt`` with ``settings`` needs to be explored and branched.

        ``capabilities``: those of the model's backend (the engine's), so that the explorer
        says what it cannot show.
        """
        return cls(
            result.model,
            result.adapter,
            prompt,
            use_prompt_style,
            {**settings, "seed": result.seed},
            result,
            list(result.tokens),
            capabilities or Capabilities(),
        )

    def notes(self) -> list[Message]:
        """What the model's backend cannot show of this answer (none for a local model)."""
        can, source = self.capabilities, self.result.source
        if not can.record_tokens:
            return [Message("no_record_tokens", model=self.model, source=source)]
        notes = []
        if not can.exact_adjusted and self.records:
            notes.append(Message("adjusted_from_candidates", count=TOP_LOGPROBS))
        if not can.branching and self.records:
            notes.append(Message("no_branching", model=self.model, source=source))
        return notes


def branch_note(explored: Explored, branch: Branch, result: GenerationResult, lang: str) -> str:
    """'Branch at token 5: ␣Paris → ␣London' (Markdown, escaped)."""
    before = explored.records[branch.position].token.piece if branch.position < len(explored.records) else ""
    after = result.tokens[branch.position].token.piece if branch.position < len(result.tokens) else ""
    text = tr("explorer_branch_note", lang).format(n=branch.position + 1, old=shown(before), new=shown(after))
    return f"**{escape_markdown(text)}**"


@dataclass
class ExplorerPanes:
    """The explorer's components: the original and the branch, each with its status line."""

    original: gr.HTML
    original_details: gr.Markdown
    branch: gr.HTML
    branch_details: gr.Markdown
    explored: gr.State  # the original (Explored), once finished
    chosen: gr.State  # (position, token) of the branch on screen, for a shared link
    pending: gr.State  # (position, token) of a branch to run once the original is shown (a deep link)

    def shown_outputs(self) -> list[Any]:
        """What :func:`show_original` fills."""
        return [self.original, self.original_details, self.branch, self.branch_details, self.chosen]

    def branch_outputs(self) -> list[Any]:
        """What a branch fills."""
        return [self.branch, self.branch_details, self.chosen]


def explorer_panes(prefix: str, heading: str) -> ExplorerPanes:
    """Create the explorer in the current layout: a heading, then original | branch (stacked on a phone)."""
    explored, chosen, pending = gr.State(None), gr.State(None), gr.State(None)
    with gr.Accordion(I18N(heading), open=True, elem_id=f"{prefix}-explorer-box"), gr.Row(equal_height=False):
        with answer_region(announce=False, min_width=300):  # the answer above was announced already
            gr.Markdown(I18N("explorer_original"))
            original = gr.HTML("", js_on_load=EXPLORER_JS, elem_id=f"{prefix}-explorer")
            original_details = gr.Markdown(elem_id=f"{prefix}-explorer-details", elem_classes=[STATUS])
        with answer_region(min_width=300, elem_id=f"{prefix}-branch-region"):  # a branch: announced when it ends
            gr.Markdown(I18N("explorer_branch"))
            branch = gr.HTML("", js_on_load=EXPLORER_JS, elem_id=f"{prefix}-branch")
            branch_details = gr.Markdown(elem_id=f"{prefix}-branch-details", elem_classes=[STATUS])
    return ExplorerPanes(original, original_details, branch, branch_details, explored, chosen, pending)


@handler(settings=())
def show_original(call: Call, explored: Explored | None) -> tuple[str, str, str, str, None]:
    """The original answer's tokens and status line; the branch pane emptied."""
    if explored is None:
        return "", "", "", "", None
    lang = call.lang
    notes = [localize(note, lang) for note in explored.notes()]
    tokens = render(explored.records, lang, branchable=explored.capabilities.branching, notes=notes)
    return tokens, describe(explored.result, lang=lang), "", "", None


def stream_branch(
    engine: Engine, explored: Explored, position: Any, token: Any, lang: str
) -> Iterator[tuple[str, str]]:
    """Stream the branch of ``explored`` at ``position`` with ``token``: (its tokens as HTML, its status line)."""
    stream = engine.stream(
        explored.model,
        explored.prompt,
        explored.settings,
        adapter=explored.adapter,
        use_prompt_style=explored.use_prompt_style,
        branch=Branch(tuple(explored.result.token_ids), position, token),
    )
    result = stream.result

    def panes(running: bool) -> tuple[str, str]:
        branch = result.branch
        note = branch_note(explored, branch, result, lang) if branch is not None else ""
        tokens = render(result.tokens, lang, branch_at=branch.position if branch is not None else None)
        return tokens, f"{note}\n\n{describe(result, running=running, lang=lang)}"

    for _ in stream:
        yield panes(running=True)
    yield panes(running=False)


def wire_branching(engine: Engine, panes: ExplorerPanes, shown: Any = None) -> list[Any]:
    """Clicking an alternative in the original pane streams the branch; returns the events (Stop cancels them).

    ``shown``: the event that shows the original; after it, a pending branch (from a deep
    link) runs once.
    """

    @on_gpu()  # the model runs here: on ZeroGPU, in a GPU process (the click's event data stays in the server)
    def branch(explored: Explored, position: Any, token: Any, lang: str) -> Iterator[tuple[Any, ...]]:
        for panes_now in stream_branch(engine, explored, position, token, lang):
            yield *panes_now, gr.skip()
        yield gr.skip(), gr.skip(), (position, token)

    @handler()
    def on_choice(call: Call, explored: Explored | None, evt: gr.EventData) -> Iterator[tuple[Any, ...]]:
        data = getattr(evt, "_data", None) or {}
        if explored is not None and "token" in data:
            yield from branch(explored, data.get("position"), data.get("token"), call.lang)

    @handler()
    def on_pending(call: Call, explored: Explored | None, pending: Any) -> Iterator[tuple[Any, ...]]:
        if explored is not None and pending:
            yield gr.skip(), gr.skip(), gr.skip(), None  # once, even if it fails
            yield from ((*update, gr.skip()) for update in branch(explored, *pending, call.lang))

    events = [panes.original.click(on_choice, inputs=panes.explored, outputs=panes.branch_outputs(), api_name=False)]
    if shown is not None:
        outputs = [*panes.branch_outputs(), panes.pending]  # a link's branch runs once
        events.append(shown.then(on_pending, inputs=[panes.explored, panes.pending], outputs=outputs, api_name=False))
    return events
