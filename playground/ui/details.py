"""The line under an answer: which model, adapter and source answered, and how it went."""

from __future__ import annotations

from playground.engine import GenerationResult
from playground.ui.i18n import tr

_MD_SPECIAL = "\\`*_{}[]()<>#+-.!|~"


def escape_markdown(text: str) -> str:
    """Escape Markdown and HTML so ``text`` shows as typed in a ``gr.Markdown``."""
    return "".join("\\" + c if c in _MD_SPECIAL else c for c in text)


def describe(result: GenerationResult, running: bool = False, lang: str = "en") -> str:
    """Markdown describing a (possibly still running) generation in ``lang``; every value escaped."""
    who = result.model + (f" + {tr('d_adapter', lang)} {result.adapter}" if result.adapter else "")
    parts = [
        f"**{tr('d_model', lang)}:** {escape_markdown(who)}",
        f"**{tr('d_source', lang)}:** {escape_markdown(result.source)}",
        f"**{tr('d_licence', lang)}:** {escape_markdown(result.license)}",
    ]
    if running:
        parts.append(f"**{tr('d_generating', lang)}** {tr('d_tokens', lang).format(n=result.completion_tokens)}")
    else:
        reason = result.finish_reason or ""
        finish = tr(f"finish_{reason}", lang) if f"finish_{reason}" in _FINISH_KEYS else reason
        counts = tr("d_tokens_in", lang).format(n=result.completion_tokens, s=result.elapsed_s, r=result.tokens_per_s)
        parts.append(f"**{tr('d_done', lang)}:** {counts}, {escape_markdown(finish)}")
        if result.seed is not None:
            parts.append(f"**{tr('d_seed', lang)}:** {result.seed}")
    lines = [" · ".join(parts)]
    lines += [f"⚠️ {escape_markdown(w)}" for w in result.warnings]
    return "\n\n".join(lines)


_FINISH_KEYS = {f"finish_{r}" for r in ("eos", "stop_string", "length", "cancelled", "time_limit", "error")}
