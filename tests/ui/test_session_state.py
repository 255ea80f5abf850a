"""The lean session state: Gradio's, less the up-front copy of every component's configuration."""

from __future__ import annotations

import tracemalloc

import gradio as gr
import pytest
from gradio.state_holder import SessionState

from playground.ui.app import build_app
from playground.ui.session_state import LeanSessionState


@pytest.fixture()
def demo(engine) -> gr.Blocks:
    return build_app(engine)


def _touch(state: SessionState, demo: gr.Blocks) -> None:
    """What the page's events do to a session: a State value set, a component updated."""
    flag = next(b for b in demo.blocks.values() if isinstance(b, gr.State))
    box = next(b for b in demo.blocks.values() if isinstance(b, gr.Textbox))
    state[flag._id] = True
    state[box._id] = gr.Textbox(value="changed", label="Prompt")
    state._update_config(box._id)


def test_it_has_gradios_attributes_and_gives_the_same_components(demo):
    stock, lean = SessionState(demo), LeanSessionState(demo)
    assert set(vars(lean)) - {"_page"} == set(vars(stock))  # a Gradio upgrade that adds one fails here
    assert list(lean.components) == list(stock.components)
    _touch(stock, demo)
    _touch(lean, demo)
    assert list(lean.components) == list(stock.components)
    assert [(k, v) for k, v in lean.state_data.items()] == [(k, v) for k, v in stock.state_data.items()]
    assert any(c.get("props", {}).get("value") == "changed" for c in lean.components)


def test_a_new_session_costs_a_small_fraction_of_gradios(demo):
    def allocated(kind: type[SessionState]) -> int:
        tracemalloc.start()
        states = [kind(demo) for _ in range(10)]
        size = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        assert len(states) == 10
        return size

    stock, lean = allocated(SessionState), allocated(LeanSessionState)
    assert lean < stock / 20, (lean, stock)
