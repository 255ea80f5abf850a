"""Input components whose values the core checks, not Gradio.

API callers bypass the sliders and menus. Gradio's own checks then answer "Value 5 is
greater than maximum value 2." without saying which field, and a wrongly typed value
("abc" for a slider, a string for a table) breaks Gradio's preprocessing with an error
that names nothing. :func:`core_checked` makes a component pass its value on as it came,
and the core (:mod:`playground.settings`, the registry, :mod:`playground.lessons.fewshot`)
refuses a bad one with an error that names the field. In the page nothing changes.

The components are Gradio's own, changed on the instance: a subclass would make Gradio
write a ``.pyi`` stub next to this file at import time, which fails on a read-only disk.
"""

from __future__ import annotations

import types
from typing import Any, TypeVar

import gradio as gr
from gradio.components.dataframe import DataframeData
from gradio.data_classes import GradioRootModel
from pydantic import ValidationError

C = TypeVar("C", bound=gr.components.Component)


class _AnyPayload(GradioRootModel):
    """Whatever an API caller sent for a table, read by :func:`_table_or_as_sent`."""

    root: Any


def _as_sent(self: Any, payload: Any) -> Any:
    """The value as sent: the core checks its type, range, or name."""
    return payload


def _table_or_as_sent(self: gr.Dataframe, payload: Any) -> Any:
    """The table as ``gr.Dataframe`` reads it, or the payload as sent when it is not a table."""
    value = payload.root if isinstance(payload, GradioRootModel) else payload
    try:
        table = DataframeData.model_validate(value)
    except ValidationError:
        return value
    return gr.Dataframe.preprocess(self, table)


def core_checked(component: C) -> C:
    """Make ``component`` hand its value to the handler as sent; returns it.

    Sliders and dropdowns skip Gradio's range and choice checks. A table is read as usual
    when it is one; anything else reaches the handler (Gradio's data model would otherwise
    refuse it first). The documented API type stays Gradio's.
    """
    if isinstance(component, gr.Dataframe):
        component.api_info()  # computed (and cached) from Gradio's table model, for the API page
        component.data_model = _AnyPayload  # type: ignore[misc]
        component.preprocess = types.MethodType(_table_or_as_sent, component)  # type: ignore[method-assign]
    elif isinstance(component, (gr.Slider, gr.Dropdown)):
        component.preprocess = types.MethodType(_as_sent, component)  # type: ignore[method-assign]
    else:
        raise TypeError(f"core_checked: {type(component).__name__} is not a slider, dropdown or table")
    return component
