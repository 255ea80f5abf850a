"""What a handler tells the visitor besides its output, in the visitor's language.

- :func:`user_error`: a core error (bad setting, unknown model, busy...) as a ``gr.Error``
  in the request's language; the message still names the field.
- :func:`load_progress`: the model's loading steps shown on the outputs' progress bar.
- :func:`warn`: warnings (e.g. link parameters that were ignored) as a toast.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import gradio as gr

from playground.messages import localize


def user_error(exc: BaseException, lang: str) -> gr.Error:
    """The ``gr.Error`` to raise for ``exc``: its message in ``lang``."""
    return gr.Error(localize(exc, lang))


def load_progress(progress: Any, lang: str) -> Callable[[str], None]:
    """A callback for ``Engine.stream(progress=...)`` that shows each loading step."""

    def show(message: str) -> None:
        progress(None, desc=localize(message, lang))

    return show


def warn(messages: Iterable[str], lang: str) -> None:
    """Show ``messages`` (if any) as one warning toast in ``lang``."""
    texts = [localize(m, lang) for m in messages]
    if texts:
        gr.Warning("; ".join(texts))
