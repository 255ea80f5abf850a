"""The line under an answer: which model, adapter and source answered, and how it went."""

from __future__ import annotations

from playground.engine import GenerationResult

_MD_SPECIAL = "\\`*_{}[]()<>#+-.!|~"

FINISH_TEXT = {
    "eos": "the model ended its answer",
    "stop_string": "a stop string was reached",
    "length": "the token limit was reached",
    "cancelled": "stopped",
    "time_limit": "the time limit was reached",
    "error": "an error occurred",
}


def escape_markdown(text: str) -> str:
    """Escape Markdown and HTML so ``text`` shows as typed in a ``gr.Markdown``."""
    return "".join("\\" + c if c in _MD_SPECIAL else c for c in text)


def describe(result: GenerationResult, running: bool = False) -> str:
    """Markdown describing a (possibly still running) generation; every value escaped."""
    who = result.model + (f" + adapter {result.adapter}" if result.adapter else "")
    parts = [
        f"**Model:** {escape_markdown(who)}",
        f"**Source:** {escape_markdown(result.source)}",
        f"**Licence:** {escape_markdown(result.license)}",
    ]
    if running:
        parts.append(f"**Generating…** {result.completion_tokens} tokens")
    else:
        finish = FINISH_TEXT.get(result.finish_reason or "", result.finish_reason or "")
        parts.append(
            f"**Done:** {result.completion_tokens} tokens in {result.elapsed_s:.1f} s "
            f"({result.tokens_per_s:.1f} tokens/s), {escape_markdown(finish)}"
        )
        if result.seed is not None:
            parts.append(f"**Seed:** {result.seed}")
    lines = [" · ".join(parts)]
    lines += [f"⚠️ {escape_markdown(w)}" for w in result.warnings]
    return "\n\n".join(lines)
