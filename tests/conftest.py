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

import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import pytest  # noqa: E402
import yaml  # noqa: E402

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
    """A fresh engine (and model cache) over the tiny registry; its batcher threads stop after the test."""
    from playground.engine import Engine

    engine = Engine(tiny_hub.registry())
    yield engine
    engine.cache.close(wait_s=60)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def app_url(tiny_hub, tmp_path_factory):
    """``python app.py`` on the tiny registry, on a free loopback port; its URL."""
    registry = tmp_path_factory.mktemp("app") / "registry.yaml"
    registry.write_text(yaml.safe_dump(tiny_hub.registry_dict()), encoding="utf-8")
    port = _free_port()
    env = {
        **os.environ,
        "PLAYGROUND_REGISTRY": str(registry),
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_SERVER_NAME": "127.0.0.1",
    }
    log = tmp_path_factory.mktemp("app-log") / "app.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "app.py"],
            cwd=Path(__file__).resolve().parent.parent,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"app.py exited with {proc.returncode}:\n{log.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail(f"app.py did not start:\n{log.read_text()}")
    yield url
    proc.terminate()
    proc.wait(timeout=30)
    assert "default model tiny ready, from Hub playground-test/tiny-gpt2@" in log.read_text()
