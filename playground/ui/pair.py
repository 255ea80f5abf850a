"""Base model and adapter side by side: the shared part of the Style and Instructions tabs."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

from playground.engine import Engine, GenerationStream
from playground.lessons.side_by_side import interleave
from playground.serving.visitor_keys import Visitor
from playground.ui.details import describe


def start_pair(
    engine: Engine,
    model: str,
    adapter: str,
    prompt: str,
    settings: dict[str, Any],
    use_prompt_style: bool,
    prompt_input: str = "",
    progress: Callable[[str], None] | None = None,
    visitor: Visitor | str | None = None,
    cancel: threading.Event | None = None,
    record_tokens: bool = False,
) -> list[GenerationStream]:
    """The base's stream and the adapter's, both checked before either starts; with a seed they share it.

    ``progress`` sees the model's loading steps, if it has to be loaded; ``visitor`` is who asks;
    setting ``cancel`` stops both; ``record_tokens`` records the adapter's tokens (for an explorer).
    """
    return [
        engine.stream(
            model, prompt, settings, adapter=a, use_prompt_style=use_prompt_style, prompt_input=prompt_input,
            progress=progress, visitor=visitor, cancel=cancel, record_tokens=record_tokens and a is not None,
        )
        for a in (None, adapter)
    ]  # fmt: skip


def pair_frames(streams: list[GenerationStream], lang: str = "en") -> Iterator[tuple[str, str, str, str]]:
    """Yield (base text, adapter text, base details, adapter details) as both streams of :func:`start_pair` run."""
    texts = ["", ""]
    for texts in interleave(streams, lang=lang):
        running = [describe(s.result, running=True, lang=lang) for s in streams]
        yield texts[0], texts[1], running[0], running[1]
    yield texts[0], texts[1], describe(streams[0].result, lang=lang), describe(streams[1].result, lang=lang)
