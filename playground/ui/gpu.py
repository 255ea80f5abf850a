"""``@spaces.GPU`` where the ``spaces`` package exists (ZeroGPU Spaces), a no-op elsewhere."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

GENERATION_GPU_SECONDS = 60  # ZeroGPU time requested per generation request


def on_gpu(duration: int = GENERATION_GPU_SECONDS) -> Callable[[F], F]:
    """Decorate a Gradio handler so that ZeroGPU attaches a GPU for ``duration`` seconds."""
    try:
        import spaces
    except ImportError:  # pragma: no cover - spaces is in requirements.txt
        return lambda fn: fn
    return spaces.GPU(duration=duration)
