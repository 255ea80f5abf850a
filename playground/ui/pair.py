"""Base model and adapter side by side: the shared part of the Style and Instructions tabs."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

from playground.engine import Engine
from playground.side_by_side import interleave
from playground.ui.details import describe


def stream_pair(
    engine: Engine,
    model: str,
    adapter: str,
    prompt: str,
    settings: dict[str, Any],
    use_prompt_style: bool,
    prompt_input: str = "",
    lang: str = "en",
    progress: Callable[[str], None] | None = None,
    visitor: str | None = None,
    cancel: threading.Event | None = None,
) -> Iterator[tuple[str, str, str, str]]:
    """Yield (base text, adapter text, base details, adapter details) as both panes stream.

    Both requests are checked before either starts; with a seed they share it.
    ``progress`` sees the model's loading steps, if it has to be loaded; ``visitor`` is who asks;
    setting ``cancel`` stops both.
    """
    streams = [
        engine.stream(
            model, prompt, settings, adapter=a, use_prompt_style=use_prompt_style, prompt_input=prompt_input,
            progress=progress, visitor=visitor, cancel=cancel,
        )
        for a in (None, adapter)
    ]  # fmt: skip
    texts = ["", ""]
    for texts in interleave(streams, lang=lang):
        running = [describe(s.result, running=True, lang=lang) for s in streams]
        yield texts[0], texts[1], running[0], running[1]
    yield texts[0], texts[1], describe(streams[0].result, lang=lang), describe(streams[1].result, lang=lang)
