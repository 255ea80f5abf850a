"""The line under an answer: which model, adapter and source answered, and how it went."""

from __future__ import annotations

from collections.abc import Sequence

from playground.engine import GenerationResult
from playground.messages import localize
from playground.ui.i18n import tr

# Characters with a meaning anywhere in a line. ("#", "+", "-" and "." only start headings
# and lists at the start of a line, where no value is ever put; escaping them would show
# their backslashes inside a URL that the Markdown renderer turns into a link.)
_MD_SPECIAL = "\\`*_{}[]()<>!|~"


def escape_markdown(text: str) -> str:
    """Escape Markdown and HTML so ``text`` shows as typed in a ``gr.Markdown``, on the line it is put in."""
    return "".join("\\" + c if c in _MD_SPECIAL else c for c in " ".join(text.splitlines()))


def _who(result: GenerationResult, lang: str) -> list[str]:
    """Which model and adapter answered, from where, under which license."""
    who = result.model + (f" + {tr('d_adapter', lang)} {result.adapter}" if result.adapter else "")
    return [
        f"**{tr('d_model', lang)}:** {escape_markdown(who)}",
        f"**{tr('d_source', lang)}:** {escape_markdown(localize(result.source, lang))}",
        f"**{tr('d_license', lang)}:** {escape_markdown(result.license)}",
    ]


def _progress(result: GenerationResult, running: bool, lang: str) -> str:
    """'Generating… 5 tokens' or 'Done: 12 tokens in 0.4 s (30 tokens/s), <why it ended>'.

    When the tokens were recorded, the answer's log-probability, per token and as a
    perplexity follow: numbers a teacher can say aloud.
    """
    if running:
        return f"**{tr('d_generating', lang)}** {tr('d_tokens', lang).format(n=result.completion_tokens)}"
    reason = result.finish_reason or ""
    finish = tr(f"finish_{reason}", lang) if f"finish_{reason}" in _FINISH_KEYS else reason
    counts = tr("d_tokens_in", lang).format(n=result.completion_tokens, s=result.elapsed_s, r=result.tokens_per_s)
    done = f"**{tr('d_done', lang)}:** {counts}, {escape_markdown(finish)}"
    score = result.score
    if score is None:
        return done
    numbers = tr("d_logprob", lang).format(total=score.logprob, mean=score.mean_logprob, perplexity=score.perplexity)
    return f"{done} · {escape_markdown(numbers)}"


def _warnings(results: Sequence[GenerationResult], lang: str) -> list[str]:
    seen: list[str] = []
    for result in results:
        for warning in result.warnings:
            text = localize(warning, lang)
            if text not in seen:
                seen.append(text)
    return [f"⚠️ {escape_markdown(w)}" for w in seen]


def describe(result: GenerationResult, running: bool = False, lang: str = "en") -> str:
    """Markdown describing a (possibly still running) generation in ``lang``; every value escaped."""
    parts = [*_who(result, lang), _progress(result, running, lang)]
    if not running and result.seed is not None:
        parts.append(f"**{tr('d_seed', lang)}:** {result.seed}")
    return "\n\n".join([" · ".join(parts), *_warnings([result], lang)])


def describe_panes(
    results: Sequence[GenerationResult], names: Sequence[str], running: bool = False, lang: str = "en"
) -> str:
    """Markdown for panes of one model side by side (the lab's zero/one/few-shot).

    Model, source, license and seed are said once; then each pane's progress by its name.
    """
    first = results[0]
    head = _who(first, lang)
    if first.seed is not None:
        head.append(f"**{tr('d_seed', lang)}:** {first.seed}")
    panes = [
        f"*{escape_markdown(name)}* — {_progress(r, running, lang)}" for name, r in zip(names, results, strict=True)
    ]
    return "\n\n".join([" · ".join(head), "  \n".join(panes), *_warnings(results, lang)])


_FINISH_KEYS = {f"finish_{r}" for r in ("eos", "stop_string", "length", "cancelled", "time_limit", "error")}
