"""Stop strings: end a generation when one appears, and never show it.

Text is streamed in pieces, so a stop string can arrive split across pieces ("###" as
"#" then "##"). :class:`StopStringFilter` holds back the end of the text while it could
still be the start of a stop string, and releases it as soon as it cannot.
"""

from __future__ import annotations

from collections.abc import Sequence


class StopStringFilter:
    """Feed text deltas in; get back the text that is safe to show."""

    def __init__(self, stops: Sequence[str]) -> None:
        self.stops = tuple(stops)
        self.pending = ""  # received, not yet shown: may be the start of a stop string
        self.stopped: str | None = None  # the stop string that ended the text, if any

    def _held_suffix(self, text: str) -> int:
        """Length of the longest end of ``text`` that begins some stop string."""
        best = 0
        for stop in self.stops:
            for n in range(min(len(stop) - 1, len(text)), best, -1):
                if text.endswith(stop[:n]):
                    best = n
                    break
        return best

    def feed(self, delta: str) -> str:
        """Add ``delta``; return the text now safe to show (all of it before a stop string)."""
        if self.stopped is not None:
            return ""
        text = self.pending + delta
        hits = [(i, s) for s in self.stops if (i := text.find(s)) >= 0]
        if hits:
            index, stop = min(hits)
            self.stopped, self.pending = stop, ""
            return text[:index]
        held = self._held_suffix(text)
        self.pending = text[len(text) - held :] if held else ""
        return text[: len(text) - held]

    def flush(self) -> str:
        """At the end of generation: release the held text (no stop string completed)."""
        out, self.pending = self.pending, ""
        return "" if self.stopped is not None else out
