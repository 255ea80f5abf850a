"""Run several generation streams at once and see them grow together.

The prompting lab (zero / one / few-shot), the style tab and the instructions tab (base vs
adapter) show two or three answers side by side. :func:`interleave` advances each stream
by one piece in turn and yields the texts so far, so every pane streams at the same time
from one handler. A stream that fails shows its error in its own pane; the others go on.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from playground.engine import GenerationStream
from playground.errors import PlaygroundError
from playground.messages import localize


def interleave(streams: Sequence[GenerationStream], lang: str = "en") -> Iterator[list[str]]:
    """Yield the list of texts so far after each step of each still-running stream.

    A stream that fails gets its error (in ``lang``) at the end of its own pane. Closing
    this generator closes every stream (so a Stop ends all panes at once).
    """
    texts = ["" for _ in streams]
    running = list(range(len(streams)))
    try:
        while running:
            for i in list(running):
                try:
                    texts[i] += next(streams[i])
                except StopIteration:
                    running.remove(i)
                except PlaygroundError as exc:
                    texts[i] += f"\n[{type(exc).__name__}: {localize(exc, lang)}]"
                    running.remove(i)
            yield list(texts)
    finally:
        for stream in streams:
            stream.close()
