"""Opening the app from a deep link: select a tab, fill the lab, or show one tab compact (embed)."""

from __future__ import annotations

from typing import Any

import gradio as gr

from playground.engine import Engine
from playground.lessons.curve_sets import CurveSet, load_curve_sets
from playground.lessons.deep_links import TABS, SharedSetup, from_query
from playground.lessons.presets import load_presets
from playground.ui.controls import BY_NAME, NAMES, control_values
from playground.ui.feedback import warn
from playground.ui.handler import Call, handler
from playground.ui.i18n import I18N
from playground.ui.lab_tab import PRESET_SETTINGS, example_table, preset_rows
from playground.ui.menus import NO_ADAPTER, adapter_choices
from playground.ui.page import PAGE_JS
from playground.ui.shot_curve_section import curve_tables

LAB_FIELDS = (
    "preset", "model", "adapter", "task", "examples", "query", "separator", *NAMES, "branch",
    "curve_pool", "curve_tests",  # the shot curve's tables under the lab
)  # fmt: skip
TEXT_FIELDS = ("prompt", "prompt_input", "model_a", "model_b", "text")  # the other tabs' texts a link fills in


def query_pairs(request: Any) -> list[tuple[str, str]]:
    """The page's query parameters as (name, value) pairs, repeats kept (the first one counts)."""
    if request is None:
        return []
    params = request.query_params
    if hasattr(params, "multi_items"):  # starlette's QueryParams
        return list(params.multi_items())
    return list(dict(params).items())  # a request that went through pickling (ZeroGPU) keeps a plain mapping


def lab_values(
    engine: Engine, setup: Any, presets: dict[str, Any], curve_sets: dict[str, CurveSet], lang: str
) -> list[Any]:
    """What a link sets in the lab, in the order of :data:`LAB_FIELDS` (no change where it says nothing).

    The tables always come back, their headers in the page's language: the examples (the
    link's, else its preset's, else the opening preset's) and the shot curve's pool and tests
    (of the link's preset, else the opening one).
    """
    keep = gr.update()
    fields: dict[str, Any] = dict.fromkeys(LAB_FIELDS, keep)
    opening = next(iter(presets))
    rows = preset_rows(presets[opening])
    if setup.preset:
        p = presets[setup.preset]
        fields.update(preset=p.id, task=p.task, query=p.query, separator=p.separator)
        fields.update(zip(PRESET_SETTINGS, control_values(p, PRESET_SETTINGS), strict=True))
        rows = preset_rows(p)
    if setup.model:
        fields["model"] = setup.model
        fields["adapter"] = gr.update(choices=adapter_choices(engine, setup.model), value=setup.adapter or NO_ADAPTER)
    for key in ("task", "query", "separator"):
        if getattr(setup, key) is not None:
            fields[key] = getattr(setup, key)
    if setup.examples is not None:
        rows = [list(e) for e in setup.examples]
    fields["examples"] = example_table(rows, lang)  # always: its headers are in the page's language
    if setup.stop is not None:
        fields["stop"] = BY_NAME["stop"].show(setup.stop)
    for key, value in setup.settings.items():
        fields[key] = BY_NAME[key].show(value)  # as its control shows it (the seed box is a text box)
    fields["branch"] = setup.branch  # run once the few-shot answer is shown
    fields["curve_pool"], fields["curve_tests"] = curve_tables(curve_sets[setup.preset or opening], lang)
    return [fields[f] for f in LAB_FIELDS]


def tab_values(engine: Engine, setup: SharedSetup, fields: dict[str, Any]) -> dict[str, Any]:
    """What a link of another tab (George Sand, Instructions, Generate, Compare) sets in it, by field name."""
    values: dict[str, Any] = {}
    for key in TEXT_FIELDS:
        if key in fields and getattr(setup, key) is not None:
            values[key] = getattr(setup, key)
    if "use_prompt_style" in fields and setup.use_prompt_style is not None:
        values["use_prompt_style"] = setup.use_prompt_style
    if "model" in fields and setup.model:  # Generate: the model, then its adapters
        values["model"] = setup.model
        values["adapter"] = gr.update(choices=adapter_choices(engine, setup.model), value=setup.adapter or NO_ADAPTER)
    elif "adapter" in fields and setup.adapter:
        values["adapter"] = setup.adapter
    if setup.stop is not None and "stop" in fields:
        values["stop"] = BY_NAME["stop"].show(setup.stop)
    for key, value in setup.settings.items():
        if key in fields:
            values[key] = BY_NAME[key].show(value)
    return values


def wire_links(
    demo: gr.Blocks,
    engine: Engine,
    tabs: gr.Tabs,
    tab_items: dict[str, gr.Tab],
    title: gr.Markdown,
    lab: dict[str, Any],
    page: gr.State,
    others: dict[str, dict[str, Any]] | None = None,
) -> None:
    """On page load, mark the session a page; when the URL has a query (or the page is not in English), apply it.

    A link of another tab fills that tab's fields (``others``: each tab's components by name);
    the lab's settings change only with a link of the lab. Bad parameters are ignored, each
    with a warning.
    """
    others = others or {}
    other_fields = [(tab, name) for tab, fields in others.items() for name in fields]
    presets = load_presets()
    curve_sets = load_curve_sets(presets, limits=engine.registry.limits)
    opening = next(iter(presets))  # the preset the page opens on
    tab_order = [t for t in TABS if t in tab_items]
    outputs = [tabs, title, *(tab_items[t] for t in tab_order), *(lab[f] for f in LAB_FIELDS)]
    outputs += [others[tab][name] for tab, name in other_fields]

    @handler(settings=())
    def apply(call: Call) -> list[Any]:
        params = query_pairs(call.request)
        setup = from_query(params, engine.registry, presets)
        lang = setup.lang or call.lang  # the link's language, else the page's
        warn(setup.warnings, lang)
        keep = gr.update()
        tab = setup.tab if setup.tab in tab_items else None
        updates: list[Any] = [gr.Tabs(selected=tab) if tab else keep, gr.update(visible=not setup.embed)]
        for name in tab_order:  # labels again: PAGE_JS may have switched the language after they were drawn
            updates.append(gr.update(label=I18N(f"tab_{name}")))
        lab_setup = setup if setup.tab in (None, "lab") else SharedSetup()  # another tab's settings stay there
        filled = {tab: tab_values(engine, setup, others[tab]) if tab == setup.tab else {} for tab in others}
        rest = [filled[tab].get(name, keep) for tab, name in other_fields]
        return [*updates, *lab_values(engine, lab_setup, presets, curve_sets, lang), *rest]

    @handler(settings=())
    def headers(call: Call) -> tuple[dict[str, Any], ...]:
        """A page in another language, without a link: the headers of the examples and curve tables in it."""
        return example_table(preset_rows(presets[opening]), call.lang), *curve_tables(curve_sets[opening], call.lang)

    # Gradio gives a session its own copy of every output of every event it runs, even of an
    # empty update: the outputs above cost a page that needs none of them (English, no
    # query) about 100 KB. So the page's script (PAGE_JS, client side) says what there is to
    # apply: a link (all of the above), or only a language (the table's headers), or nothing;
    # and every page marks its session a page.
    hidden = {"elem_classes": ["pg-hidden"], "container": False, "interactive": False}
    link = gr.Textbox("", elem_id="pg-link", **hidden)
    language = gr.Textbox("", elem_id="pg-language", **hidden)
    demo.load(None, inputs=None, outputs=[link, language], js=PAGE_JS, api_name=False)
    demo.load(lambda: True, inputs=None, outputs=page, api_name=False)  # a State: no component copied
    link.change(apply, inputs=None, outputs=outputs, api_name=False)
    tables = [lab["examples"], lab["curve_pool"], lab["curve_tests"]]
    language.change(headers, inputs=None, outputs=tables, api_name=False)
