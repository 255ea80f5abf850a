"""Shared fixtures: an offline Hugging Face cache holding tiny GPT-2 models.

The environment is set at import time, before huggingface_hub or transformers is
imported anywhere: ``HF_HUB_OFFLINE=1`` and a fresh ``HF_HOME``, so that the real
``from_pretrained("org/name", revision=sha)`` path runs against the cache these fixtures
fill, and nothing reaches the network.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

_HF_HOME = Path(tempfile.mkdtemp(prefix="playground-tests-hf-"))
os.environ["HF_HOME"] = str(_HF_HOME)
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["PLAYGROUND_CACHE"] = str(_HF_HOME / "playground")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import pytest  # noqa: E402

from tests import tiny_models  # noqa: E402


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(_HF_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def hf_home() -> Path:
    """The test session's HF_HOME."""
    return _HF_HOME


@pytest.fixture(scope="session")
def tiny_hub(hf_home: Path, tmp_path_factory: pytest.TempPathFactory) -> tiny_models.TinyHub:
    """Tiny GPT-2 models in the HF cache, two LoRA adapters, and a registry over them."""
    return tiny_models.build_tiny_hub(hf_home, tmp_path_factory.mktemp("tiny-hub"))


@pytest.fixture()
def engine(tiny_hub: tiny_models.TinyHub):
    """A fresh engine (and model cache) over the tiny registry."""
    from playground.engine import Engine

    return Engine(tiny_hub.registry())
