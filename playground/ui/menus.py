"""The model and adapter menus the tabs share, and what their values mean."""

from __future__ import annotations

from typing import Any

import gradio as gr

from playground.engine import Engine
from playground.ui.checked import core_checked
from playground.ui.i18n import I18N

NO_ADAPTER = "(base)"  # the adapter menu's value for "no adapter"; registry names cannot contain parentheses


def adapter_choices(engine: Engine, model: str) -> list[tuple[Any, str]]:
    """Menu choices: the base alone, then each registered adapter of ``model``."""
    adapters = engine.registry.adapters_of(model) if model in engine.registry.models else []
    return [(I18N("no_adapter"), NO_ADAPTER)] + [(f"{a.label} ({a.language})", a.name) for a in adapters]


def chosen_adapter(value: Any) -> Any:
    """The adapter the engine is asked for: None for the base; anything else as sent (checked there)."""
    return None if value in (NO_ADAPTER, "", None) else value


def model_menu(engine: Engine, tab: str, elem_id: str | None = None) -> gr.Dropdown:
    """A menu of the registry's base models, on the one ``tab`` opens on."""
    registry = engine.registry
    choices = [(spec.label, spec.name) for spec in registry.models.values()]
    value = registry.opening_model(tab)
    return core_checked(gr.Dropdown(choices=choices, value=value, label=I18N("model"), elem_id=elem_id))


def adapter_menu(engine: Engine, tab: str, elem_id: str | None = None) -> gr.Dropdown:
    """A menu of the adapters of the model ``tab`` opens on, on "none"."""
    choices = adapter_choices(engine, engine.registry.opening_model(tab))
    return core_checked(gr.Dropdown(choices=choices, value=NO_ADAPTER, label=I18N("adapter"), elem_id=elem_id))


def task_adapter_menu(engine: Engine, task: str, label_key: str, elem_id: str) -> gr.Dropdown:
    """A menu of the adapters made for ``task`` ("style", "instructions"), each with its base.

    It opens on the adapter the registry chose for the tab of that task.
    """
    adapters = [a for a in engine.registry.adapters.values() if a.task == task]
    opening = engine.registry.opening_adapter(task)
    return core_checked(
        gr.Dropdown(
            choices=[(f"{a.label} ({engine.registry.model(a.base).label})", a.name) for a in adapters],
            value=opening.name if opening else adapters[0].name,
            label=I18N(label_key),
            elem_id=elem_id,
        )
    )
