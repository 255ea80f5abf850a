"""Fixtures of the model tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.models.gguf_files import smollm2_path


@pytest.fixture(scope="session")
def smollm2_gguf() -> Path:
    """The bundled SmolLM2 GGUF file."""
    return smollm2_path()
