"""A tab's share link: a button, the link it writes (with a copy button), and its API endpoint.

:func:`share_row` adds them under a tab; the link is a deep link
(:mod:`playground.lessons.deep_links`), the one description of what the tab shows, which
"Reproduce in Python" (:mod:`playground.ui.reproduce_panel`) turns into code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gradio as gr

from playground.ui.i18n import I18N

FULL_URL_JS = "(q) => (q && q.startsWith('?') ? window.location.origin + window.location.pathname + q : q)"


@dataclass
class ShareLink:
    """A tab's share link: the handler that writes it (a query string), its inputs, and the box that shows it."""

    write: Callable[..., str]
    inputs: list[Any]
    box: gr.Textbox


def share_row(name: str, write: Callable[..., str], inputs: list[Any]) -> ShareLink:
    """The share button and link box of tab ``name`` (``#<name>-share``, ``#<name>-link``), and ``/<name>_share``."""
    with gr.Row():
        button = gr.Button(I18N("share"), size="sm", elem_id=f"{name}-share")
        box = gr.Textbox(label=I18N("share_link"), interactive=False, buttons=["copy"], elem_id=f"{name}-link", scale=4)
    button.click(write, inputs=inputs, outputs=box, api_name=f"{name}_share").then(
        None, inputs=box, outputs=box, js=FULL_URL_JS
    )
    return ShareLink(write, inputs, box)
