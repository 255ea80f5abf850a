"""Reproduce in Python: under each tab, the script (with a copy button) and the notebook of what the tab shows.

A click writes the tab's share link first (the link is the one description of the setup),
then turns it into code (:mod:`playground.lessons.reproduce`): a script shown with syntax
highlighting and a copy button, and a notebook downloaded by the page itself (nothing is
written on the server). ``/reproduce`` (:func:`add_reproduce_endpoint`) does the same for
API callers: ``link`` and ``pane`` in, ``{"python": str, "notebook": dict}`` out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import gradio as gr

from playground.engine import Engine
from playground.lessons.presets import load_presets
from playground.lessons.reproduce import expected_served, notebook, reproduction, script, served_from
from playground.lessons.script_code import Served
from playground.ui.handler import Call, handler
from playground.ui.i18n import I18N
from playground.ui.share import FULL_URL_JS, ShareLink

# The page downloads the notebook it was sent: no file is written on the server or served back.
DOWNLOAD_JS = """(saved) => {
  if (!saved || !saved.notebook) return;
  const blob = new Blob([JSON.stringify(saved.notebook, null, 1)], {type: "application/x-ipynb+json"});
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = saved.name;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
}"""


def served_as(engine: Engine) -> Callable[[str], Served]:
    """How the app serves each model: the loaded model says, else the loading policy's guess; a remote server's name."""
    guess = expected_served(engine.registry)

    def served(name: str) -> Served:
        loaded = engine.cache.peek(name)
        if loaded is not None:
            how = served_from(loaded.source, loaded.int8, str(next(loaded.model.parameters()).dtype))
        else:
            how = guess(name)
        remote = engine.registry.remote.get(name)
        return replace(how, server=remote.dialect) if remote is not None else how

    return served


def _code(engine: Engine, presets: dict[str, Any], call: Call, link: str, pane: str) -> tuple[str, dict[str, Any]]:
    program = reproduction(link, pane, engine.registry, presets, served_as(engine))
    return script(program, call.lang), {"name": f"{program.stem}.ipynb", "notebook": notebook(program, call.lang)}


def add_reproduce_endpoint(engine: Engine) -> None:
    """Register ``/reproduce``: a share link (or its query string) and a lab pane -> the script and the notebook."""
    presets = load_presets()

    @handler(settings=())
    def reproduce(call: Call, link: str, pane: str) -> dict[str, Any]:
        """The Python script and the notebook (nbformat 4) that reproduce a share link; ``pane``: the lab's answer."""
        python, saved = _code(engine, presets, call, link, pane)
        return {"python": python, "notebook": saved["notebook"]}

    gr.api(reproduce, api_name="reproduce")


def reproduce_panel(engine: Engine, name: str, share: ShareLink, panes: bool = False) -> None:
    """The "Reproduce in Python" accordion of tab ``name`` (``#<name>-code``, ``#<name>-notebook``...).

    ``panes``: the tab shows the lab's three answers, and a choice says which one to reproduce.
    """
    presets = load_presets()
    with gr.Accordion(I18N("reproduce"), open=False, elem_id=f"{name}-reproduce"):
        gr.Markdown(I18N("reproduce_intro"))
        with gr.Row():
            choices = [(I18N("zero_shot"), "zero"), (I18N("one_shot"), "one"), (I18N("few_shot"), "few")]
            pane = gr.Radio(choices, value="few", label=I18N("reproduce_pane"), visible=panes, elem_id=f"{name}-pane")
            show = gr.Button(I18N("reproduce_show"), variant="primary", elem_id=f"{name}-reproduce-show")
            save = gr.Button(I18N("reproduce_notebook"), elem_id=f"{name}-notebook")
        code = gr.Code(
            language="python", label=I18N("reproduce_code"), interactive=False, buttons=["copy", "download"],
            elem_id=f"{name}-code", elem_classes=["pg-code"],
        )  # fmt: skip
        saved = gr.JSON(visible=False)

    @handler(settings=())
    def write_code(call: Call, link: str, pane: str) -> tuple[str, dict[str, Any]]:
        return _code(engine, presets, call, link, pane)

    for button, download in ((show, False), (save, True)):
        event = button.click(share.write, inputs=share.inputs, outputs=share.box, api_name=False)
        event = event.then(None, inputs=share.box, outputs=share.box, js=FULL_URL_JS)
        event = event.then(write_code, inputs=[share.box, pane], outputs=[code, saved], api_name=False)
        if download:
            event.then(None, inputs=saved, js=DOWNLOAD_JS)
