"""What a handler tells the visitor besides its output, in the visitor's language.

- :func:`user_error`: a core error (bad setting, unknown model, busy...) as a ``gr.Error``
  in the request's language; the message still names the field.
- :func:`load_progress`: the model's loading steps, shown while a model loads.
- :func:`warn`: warnings (e.g. link parameters that were ignored) as a toast.

Gradio renders a toast's message as HTML (sanitized, but an ``<img>`` still loads and a
link still shows), and these messages quote values from links and from model or adapter
files: :func:`toast_text` escapes them so that they show as typed.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable
from typing import Any

import gradio as gr

from playground.messages import localize


def toast_text(message: str) -> str:
    """``message`` escaped for a toast, which Gradio renders as HTML: it shows as typed.

    API clients receive the same escaped text (``&lt;`` for ``<``, ``&amp;`` for ``&``).
    """
    return html.escape(message, quote=False)


def user_error(exc: BaseException, lang: str) -> gr.Error:
    """The ``gr.Error`` to raise for ``exc``: its message in ``lang``, escaped for the toast."""
    return gr.Error(toast_text(localize(exc, lang)))


LOAD_TOAST_S = 20  # seconds a loading step's toast stays on screen


def load_progress(progress: Any, lang: str) -> Callable[[str], None]:
    """A callback for ``Engine.stream(progress=...)`` that shows each loading step.

    Each step's text appears as a toast, and the outputs' progress timer counts the steps.
    (Gradio prints a step's text on the outputs only beside a completed fraction, which a
    download or a dequantization cannot honestly give.)
    """
    steps = 0

    def show(message: str) -> None:
        nonlocal steps
        steps += 1
        text = localize(message, lang)
        gr.Info(toast_text(text), duration=LOAD_TOAST_S)
        progress((steps, None), desc=text, unit="steps")

    return show


def warn(messages: Iterable[str], lang: str) -> None:
    """Show ``messages`` (if any) as one warning toast in ``lang``."""
    texts = [localize(m, lang) for m in messages]
    if texts:
        gr.Warning(toast_text("; ".join(texts)))
