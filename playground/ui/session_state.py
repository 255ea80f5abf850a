"""A session's state in Gradio, without a copy of every component's configuration up front.

Gradio's ``SessionState`` copies the configuration of every component of the page when a
session starts, for its ``/deep_link`` route (which :mod:`playground.ui.guard` refuses):
about 350 KB a session for this app's 234 components, measured with ``tracemalloc``. A
thousand sessions opened at once grew the server by 370 MB, and after they were forgotten
a third of it stayed, scattered among live objects (``bench/sessions.py``).

:class:`LeanSessionState` makes a component's configuration when it is first updated or
asked for; what a session stores and reads (its ``gr.State`` values, the components its
events update) is the same. :func:`use_lean_sessions` installs it for the app's sessions.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from copy import copy
from typing import Any

import gradio.state_holder
from gradio.state_holder import SessionState

log = logging.getLogger(__name__)


class LeanSessionState(SessionState):
    """Gradio's session state, with each component's configuration made on first use."""

    def __init__(self, blocks: Any) -> None:
        # Gradio's __init__, less the loop that configures every component up front. The
        # attributes are Gradio's own (tests/ui/test_session_state.py checks the two agree).
        self.blocks_config = copy(blocks.default_config)
        self._page = blocks.blocks  # the page's own components (Gradio's dict, shared by every session)
        self.config_values: dict[int, Any] = {}
        self.state_data: dict[int, Any] = {}
        self._state_ttl: dict[int, Any] = {}
        self.is_closed = False
        self.STATE_TTL_WHEN_CLOSED = 1 if os.getenv("GRADIO_IS_E2E_TEST", None) else 3600

    @property
    def components(self) -> Iterator[dict]:
        """Every component's configuration, as Gradio's ``components`` gives it (made where not yet made)."""
        for key, block in self.blocks_config.blocks.items():  # page order; what this session changed is here too
            config = self.config_values.get(key)
            if config is None and key in self._page:
                config = self.blocks_config.config_for_block(key, [], block)
            if config:
                yield config


def use_lean_sessions() -> None:
    """Give every new session of the app a :class:`LeanSessionState` (Gradio's ``StateHolder`` makes them)."""
    gradio.state_holder.SessionState = LeanSessionState
    log.info("sessions make their components' configurations on first use")
