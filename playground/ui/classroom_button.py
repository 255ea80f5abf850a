"""The "Send to the class" button each of the lab, George Sand and Instructions tabs places by its Run button.

Hidden until the page joins a classroom as a student; :mod:`playground.ui.classroom_sends`
wires it and :mod:`playground.ui.classroom_tab` shows it.
"""

from __future__ import annotations

import gradio as gr

from playground.ui.i18n import I18N


def send_button(tab: str) -> gr.Button:
    """The "Send to the class" button of ``tab`` (``#<tab>-send``), hidden until the page is a student's."""
    return gr.Button(I18N("room_send"), visible=False, elem_id=f"{tab}-send")
