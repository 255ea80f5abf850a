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
os.environ["PLAYGROUND_CLASSROOM_DB"] = str(_HF_HOME / "classroom.sqlite3")  # never a machine's /data
os.environ.pop("PLAYGROUND_CLASSROOM_URL", None)
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import dataclasses  # noqa: E402
import pwd  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402
import yaml  # noqa: E402

from tests import hostile, tiny_models  # noqa: E402
from tests.paths import TESTS  # noqa: E402
from tests.waiting import REQUEST_LIMIT_S, START_S, WAIT_MS, WAIT_S, wait_until  # noqa: E402


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _VLLM:  # launched for tests that did not run to their fixture (a -x stop, an interrupt)
        _VLLM.pop("server").stop()
    shutil.rmtree(_HF_HOME, ignore_errors=True)


# -- tiers: every test is in exactly one (``pytest -m unit``, ``-m app``, ``-m browser``) ---------
# unit: in this process (tiny models, the engine, a module's functions), no server.
# app: against a running server process (``python app.py``, the vLLM server, a bench script's app).
# browser: drives Debian's Chromium (any test using the ``browser`` fixture, whatever its file's tier).
# A test file not named here fails the collection: a new file says its tier here, by its path
# under tests/ (the folders mirror the package: tests/serving/ tests playground/serving/).
TIERS = {
    "unit": {
        "classroom/test_curves.py",
        "classroom/test_rooms.py",
        "classroom/test_storage.py",
        "bench/test_gpu_check.py",
        "data/test_data.py",
        "engine/test_engine.py",
        "engine/test_validation.py",
        "evaluation/test_evaluation.py",
        "evaluation/test_int8_agreement.py",
        "evaluation/test_lessons.py",
        "evaluation/test_scoring.py",
        "evaluation/test_shot_curve_runs.py",
        "lessons/test_deep_links.py",
        "lessons/test_presets.py",
        "lessons/test_shot_curve.py",
        "lessons/test_curve_sets.py",
        "lessons/test_reproduce.py",
        "lessons/test_side_by_side.py",
        "lessons/test_tokenizer_lens.py",
        "models/test_decoder.py",
        "models/test_gemma.py",
        "models/test_gguf_blocks.py",
        "models/test_gguf_file.py",
        "models/test_gguf_model.py",
        "models/test_int8_matmul.py",
        "models/test_int8_sources.py",
        "models/test_jit.py",
        "models/test_loader.py",
        "models/test_packed_linear.py",
        "models/test_pin.py",
        "models/test_prompt_styles.py",
        "models/test_registry.py",
        "models/test_remote_config.py",
        "models/test_row_attention.py",
        "models/test_saved_tokenizer.py",
        "models/test_self_check.py",
        "models/test_serving_dtype.py",
        "models/test_smollm2.py",
        "models/test_sources.py",
        "models/test_thread_pools.py",
        "models/test_tokenizer_tables.py",
        "serving/test_admission.py",
        "serving/test_batching.py",
        "serving/test_devices.py",
        "serving/test_inspection.py",
        "serving/test_int8_serving.py",
        "serving/test_sampling.py",
        "serving/test_sliding_window.py",
        "serving/test_text_pieces.py",
        "serving/test_token_record.py",
        "test_allocator.py",
        "test_config_checks.py",
        "test_docs.py",
        "test_imports.py",
        "test_layers.py",
        "test_messages.py",
        "test_network.py",
        "test_settings.py",
        "test_tiers.py",
        "training/test_training.py",
        "training/test_training_loss.py",
        "ui/test_classroom_tab.py",
        "ui/test_forwarded.py",
        "ui/test_i18n.py",
        "ui/test_session_state.py",
        "ui/test_settings_form.py",
        "ui/test_zero_gpu.py",
    },
    "app": {
        "bench/test_soak.py",
        "models/test_hostile_artifacts.py",
        "serving/test_vllm.py",
        "lessons/test_reproduce_app.py",
        "lessons/test_reproduce_gemma.py",
        "ui/test_api_input.py",
        "ui/test_app.py",
        "ui/test_cancellation.py",
        "ui/test_classroom_app.py",
        "ui/test_faults.py",
        "ui/test_guard.py",
        "ui/test_hostile_output.py",
        "ui/test_input_bounds.py",
        "ui/test_proxy.py",
        "ui/test_queue_full.py",
        "ui/test_shot_curve_api.py",
        "ui/test_token_api.py",
    },
    "browser": {
        "ui/test_axe_browser.py",
        "ui/test_browser.py",
        "ui/test_classroom_browser.py",
        "ui/test_explorer_browser.py",
        "ui/test_keyboard_browser.py",
        "ui/test_phone_browser.py",
        "ui/test_reproduce_browser.py",
        "ui/test_screen_reader_browser.py",
        "ui/test_shot_curve_browser.py",
        "ui/test_vllm_browser.py",
    },
}


def tier_of(item: pytest.Item) -> str:
    """The tier of a collected test: ``browser`` when it drives Chromium, else its file's (see :data:`TIERS`)."""
    if "browser" in getattr(item, "fixturenames", ()):
        return "browser"
    name = item.path.resolve().relative_to(TESTS).as_posix()
    tiers = [tier for tier, files in TIERS.items() if name in files]
    if len(tiers) != 1:
        raise pytest.UsageError(f"{name} must be in exactly one tier of tests/conftest.py's TIERS, not {tiers}")
    return tiers[0]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test with its tier."""
    for item in items:
        item.add_marker(tier_of(item))


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"  # Debian's chromium, never `playwright install`
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


class PatientBrowser:
    """A Playwright browser whose contexts wait up to ``WAIT_MS`` for anything, not Playwright's 30 s.

    A page load or a click that takes more than 30 s on a machine whose cores are all busy is
    slowness, not a failure of what a test checks; every other attribute is the browser's.
    """

    def __init__(self, browser: Any) -> None:
        self._browser = browser

    def new_context(self, **kwargs: Any) -> Any:
        """``Browser.new_context``, its actions, waits and navigations bounded by ``WAIT_MS``."""
        context = self._browser.new_context(**kwargs)
        context.set_default_timeout(WAIT_MS)
        context.set_default_navigation_timeout(WAIT_MS)
        return context

    def __getattr__(self, name: str) -> Any:
        return getattr(self._browser, name)


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright (the tests that use it skip without it)."""
    if not shutil.which("chromium"):
        pytest.skip("Debian's chromium is not installed")
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield PatientBrowser(b)
        b.close()


@pytest.fixture(scope="session")
def long_model(tiny_hub: tiny_models.TinyHub, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of the tiny "long" model (see :func:`tiny_models.with_long_model`), built once."""
    folder = tmp_path_factory.mktemp("long") / "long"
    tiny_models.save_long_model(tiny_hub, folder)
    return folder


@pytest.fixture(scope="session")
def hf_home() -> Path:
    """The test session's HF_HOME."""
    return _HF_HOME


@pytest.fixture(scope="session")
def tiny_hub(hf_home: Path, tmp_path_factory: pytest.TempPathFactory) -> tiny_models.TinyHub:
    """Tiny GPT-2 models in the HF cache, two LoRA adapters, and a registry over them."""
    return tiny_models.build_tiny_hub(hf_home, tmp_path_factory.mktemp("tiny-hub"))


@pytest.fixture(scope="session")
def plain_base(tiny_hub: tiny_models.TinyHub):
    """The pinned tiny model loaded on its own, without the engine or any adapter (the reference)."""
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(
        tiny_models.TINY_REPO, revision=tiny_hub.sha, use_safetensors=True
    ).eval()


@pytest.fixture()
def engine(tiny_hub: tiny_models.TinyHub):
    """A fresh engine (and model cache) over the tiny registry; its batcher threads stop after the test."""
    from playground.engine import Engine

    engine = Engine(tiny_hub.registry())
    yield engine
    engine.close(wait_s=60)


def project_registry():
    """The project's registry (``playground/models/registry.yaml``), its requests under the tests' time limit.

    Its own limit (two minutes) is a guard for a public Space; the real models' answers in the
    tests can outlast it when every core is busy, and a verdict must not depend on that.
    """
    from playground.models.registry import load_registry

    registry = load_registry()
    return dataclasses.replace(registry, limits=dataclasses.replace(registry.limits, time_limit_s=REQUEST_LIMIT_S))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def launch_app(
    registry: dict | None, tmp_path_factory: pytest.TempPathFactory, env: dict[str, str] | None = None
) -> Iterator[tuple[str, Path]]:
    """``python app.py`` on ``registry`` (None: the project's), on a free loopback port; yields (its URL, its log file).

    ``env`` adds environment variables (``PLAYGROUND_REMOTE``, say; :data:`DEBUG_RECORD` for :func:`ended`).
    """
    port = _free_port()
    env = {
        **os.environ,
        "PLAYGROUND_PROXY_HOPS": "1",  # a test's client plays a proxy: its X-Forwarded-For names the visitor
        **(env or {}),
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_SERVER_NAME": "127.0.0.1",
    }
    if registry is not None:
        registry_file = tmp_path_factory.mktemp("app") / "registry.yaml"
        registry_file.write_text(yaml.safe_dump(registry), encoding="utf-8")
        env["PLAYGROUND_REGISTRY"] = str(registry_file)
    log = tmp_path_factory.mktemp("app-log") / "app.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "app.py"],
            cwd=Path(__file__).resolve().parent.parent,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )

    def listening() -> bool:
        if proc.poll() is not None:
            pytest.fail(f"app.py exited with {proc.returncode}:\n{log.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False

    try:
        wait_until(listening, "app.py to listen on its port", timeout=START_S, every=0.5)
    except AssertionError as exc:
        proc.kill()
        pytest.fail(f"{exc}:\n{log.read_text()}")
    try:
        yield f"http://127.0.0.1:{port}/", log
    finally:
        proc.terminate()
        proc.wait(timeout=30)


DEBUG_RECORD = {"PLAYGROUND_DEBUG_RECORD": "1"}  # launch_app's env for an app whose record ended() reads


def ended(url: str, model: str) -> list[dict]:
    """How the latest requests of ``model`` ended in the app at ``url``: its batcher's own record.

    Each is ``{"request_id", "reason", "tokens"}`` (``playground/ui/debug.py``; the app must
    run with :data:`DEBUG_RECORD`).
    """
    import httpx

    return httpx.get(url + "_debug/ended", timeout=WAIT_S).json().get(model, [])


def latest_steps(url: str, model: str) -> list[dict]:
    """The latest forward passes of ``model`` in the app at ``url``: each ``{"number", "kind", "request_ids"}``.

    From its batcher's record (``playground/ui/debug.py``; the app must run with :data:`DEBUG_RECORD`).
    """
    import httpx

    return httpx.get(url + "_debug/steps", timeout=WAIT_S).json().get(model, [])


VLLM_MODEL = "gemma-3-270m"  # the lesson model: the vLLM tests serve it with all its adapters


_VLLM: dict[str, Any] = {}  # the session's vLLM server, launched once the tests are collected


def pytest_collection_finish(session: pytest.Session) -> None:
    """Launch vLLM when a selected test will use it: its minute of start-up (mostly one core) overlaps earlier tests."""
    if session.config.option.collectonly:
        return
    if any("vllm_server" in getattr(item, "fixturenames", ()) for item in session.items):
        from playground.models.registry import load_registry
        from playground.serving.vllm_server import launch_server

        log_dir = Path(tempfile.mkdtemp(prefix="vllm-", dir=_HF_HOME))
        _VLLM["server"] = launch_server(load_registry(), VLLM_MODEL, log_path=log_dir / "vllm.log")


@pytest.fixture(scope="session")
def vllm_server():
    """vLLM (its venv created once, under .venv-vllm/) serving :data:`VLLM_MODEL` and its adapters, float32.

    Launched when the session's tests were collected (:func:`pytest_collection_finish`); the
    first test that needs it waits until it answers.
    """
    server = _VLLM["server"]
    server.wait_healthy()
    yield server
    _VLLM.pop("server", None)
    server.stop()


@pytest.fixture(scope="session")
def app_url(tiny_hub, tmp_path_factory):
    """``python app.py`` on the tiny registry, on a free loopback port; its URL."""
    with launch_app(tiny_hub.registry_dict(), tmp_path_factory) as (url, log):
        yield url
    assert "default model tiny ready, from Hub playground-test/tiny-gpt2@" in log.read_text()


@dataclass
class HostileApp:
    """The app on a registry of hostile things (see :func:`hostile_app`)."""

    url: str
    log: Path
    markers: Path  # every payload of every hostile folder would create something here
    registry: dict  # the registry the app runs on
    cycle: int  # tokens in one copy of the scripted text

    @property
    def max_new_tokens(self) -> int:
        """Enough new tokens for one whole copy of the scripted text, whatever the prompt."""
        return 2 * self.cycle - 1

    @property
    def aligned_prompt(self) -> str:
        """A prompt after which ``cycle`` new tokens are exactly ``" " + HOSTILE_TEXT``."""
        return tiny_models.scripted_prompt(self.cycle)


@pytest.fixture(scope="session")
def hostile_app(hf_home, tmp_path_factory) -> Iterator[HostileApp]:
    """``python app.py`` on a registry of hostile things.

    - ``scripted`` (the default model, preloaded at start) writes :data:`tests.hostile.HOSTILE_TEXT`
      whatever the prompt; ``scripted-style`` and ``scripted-instructions`` are no-op LoRA
      adapters on it, so the Style and Instructions tabs show it too.
    - ``evil-adapter-<case>`` adapters of ``scripted``, one per :data:`tests.hostile.ADAPTER_CASES`;
    - ``evil-model-<case>`` models (local folders), one per :data:`tests.hostile.MODEL_CASES`.

    Every payload's marker would appear in ``markers``.
    """
    root = tmp_path_factory.mktemp("hostile-hub")
    markers = root / "markers"
    markers.mkdir()
    sha, scripted = tiny_models.build_scripted_model(hf_home, hostile.HOSTILE_TEXT)
    cycle = scripted.config.n_embd
    adapters = []
    for name, task in (("scripted-style", "style"), ("scripted-instructions", "instructions")):
        folder = tiny_models.make_lora(scripted, tiny_models.SCRIPTED_REPO, root / name, seed=20, zero_b=True)
        adapters.append({"name": name, "base": "scripted", "path": str(folder), "task": task})
    for case_name, case in hostile.ADAPTER_CASES.items():
        folder = root / f"adapter-{case_name}"
        shutil.copytree(root / "scripted-style", folder)
        case.edit(folder, markers)
        adapters.append({"name": f"evil-adapter-{case_name}", "base": "scripted", "path": str(folder), "task": "style"})
    victim = hostile.victim_model(root / "victim")
    models = [
        {
            "name": "scripted",
            "label": "Scripted GPT-2",
            "repo_id": tiny_models.SCRIPTED_REPO,
            "revision": sha,
            "context_length": tiny_models.SCRIPTED_CONTEXT,
            "generation": {"temperature": 0.0, "max_new_tokens": cycle, "repetition_penalty": 1.0},
        }
    ]
    for case_name, case in hostile.MODEL_CASES.items():
        folder = root / f"model-{case_name}"
        shutil.copytree(victim, folder)
        case.edit(folder, markers)
        models.append({"name": f"evil-model-{case_name}", "local_path": str(folder), "context_length": 64})
    for entry in models:
        entry.update(languages=["en"], prompt_style="plain", license="mit", **tiny_models.FLOAT32)
    for entry in adapters:
        entry.update(language="en", license="mit")
    registry = {
        "default_model": "scripted",
        "limits": {
            "max_new_tokens": 512,
            "time_limit_s": REQUEST_LIMIT_S,
            "max_prompt_chars": 5000,
            "max_loaded_models": 2,
        },
        "models": models,
        "adapters": adapters,
    }
    with launch_app(registry, tmp_path_factory) as (url, log):
        yield HostileApp(url=url, log=log, markers=markers, registry=registry, cycle=cycle)


PG_BIN = Path("/usr/lib/postgresql/15/bin")  # Debian's postgresql-15


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A PostgreSQL server of Debian's binaries on a free loopback port, in a temporary folder; its base URL.

    ``initdb`` then ``pg_ctl start``, stopped and removed at the end of the session. PostgreSQL
    refuses to run as root: as root, it runs as the ``postgres`` user the package creates.
    Skipped where the binaries are not installed.
    """
    if not (PG_BIN / "initdb").exists() or not (PG_BIN / "pg_ctl").exists():
        pytest.skip(f"PostgreSQL's binaries are not installed ({PG_BIN}: Debian's postgresql)")
    root = Path(tempfile.mkdtemp(prefix="playground-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no postgres user to run PostgreSQL as")
        os.chown(root, user.pw_uid, user.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    data, port = root / "data", _free_port()
    init = [str(PG_BIN / "initdb"), "-D", str(data), "-U", "playground", "--auth=trust", "-E", "UTF8", "--no-sync"]
    subprocess.run([*run_as, *init, "--locale=C"], check=True, capture_output=True)
    options = f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories='' -c fsync=off"
    pg_ctl = [*run_as, str(PG_BIN / "pg_ctl"), "-D", str(data), "-w", "-t", "120"]
    started = subprocess.run([*pg_ctl, "-l", str(root / "server.log"), "-o", options, "start"], capture_output=True)
    if started.returncode != 0:
        log = (root / "server.log").read_text() if (root / "server.log").exists() else ""
        pytest.fail(f"pg_ctl start failed: {started.stderr.decode()}\n{log}")
    try:
        yield f"postgresql+psycopg://playground@127.0.0.1:{port}"
    finally:
        subprocess.run([*pg_ctl, "-m", "fast", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture()
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty database on the test session's PostgreSQL server; its URL (dropped after the test)."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = postgres_server.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"{postgres_server}/{name}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def classroom_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty classroom database: a SQLite file, then a PostgreSQL database (the test runs on both)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'classroom.sqlite3'}"
    return request.getfixturevalue("postgres_url")
