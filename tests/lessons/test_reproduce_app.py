"""Reproduce in Python end to end on the tiny registry: the app's answer, its share link, the code, run.

Each tab's share endpoint writes the link of a setup, the tab's own endpoint answers it, and
``/reproduce`` turns the link into a script (run with ``python``) and a notebook (run with
nbclient): what they print ends with the app's answer, token for token (greedy, and sampled
with a seed on the local engine).
"""

from __future__ import annotations

import re

import pytest

from playground.lessons.presets import load_presets
from playground.ui.controls import settings_kwargs
from tests.lessons.run_code import run_notebook, run_script

ROWS = {"headers": ["input", "output"], "data": [["sea otter", "loutre de mer"], ["cheese", "fromage"]]}


@pytest.fixture(scope="module")
def client(app_url):
    from gradio_client import Client

    return Client(app_url, verbose=False)


def _lab(**settings):
    setup = {"model": "tiny", "adapter": "(base)", "task": "Translate English to French:", "examples": ROWS,
             "query": "peppermint", "separator": " => "}  # fmt: skip
    return {**setup, **settings_kwargs(**{"max_new_tokens": 6, **settings})}


def _code(client, link: str, pane: str = "few") -> dict:
    code = client.predict(link=link, pane=pane, api_name="/reproduce")
    assert set(code) == {"python", "notebook"}
    assert not re.search(r"^\s*(from|import) playground", code["python"], re.M)  # transformers, peft, torch only
    return code


def test_the_lab_panes_scripts_print_the_apps_answers(client, tmp_path):
    answers = client.predict(**_lab(), api_name="/lab_run")[:3]
    preset = next(iter(load_presets()))
    link = client.predict(preset=preset, **_lab(), api_name="/lab_share")
    assert "tab=lab" in link
    for pane, answer in zip(("zero", "one", "few"), answers, strict=True):
        printed = run_script(_code(client, link, pane)["python"], tmp_path, f"lab_{pane}.py")
        assert printed.endswith(answer + "\n"), (pane, answer, printed)


def test_the_lab_notebook_runs_top_to_bottom_to_the_apps_answer(client, tmp_path):
    few = client.predict(**_lab(), api_name="/lab_run")[2]
    link = client.predict(preset=next(iter(load_presets())), **_lab(), api_name="/lab_share")
    notebook = _code(client, link)["notebook"]
    kinds = [cell["cell_type"] for cell in notebook["cells"]]
    assert notebook["nbformat"] == 4 and kinds[0] == "markdown" and kinds.count("markdown") >= 4
    assert run_notebook(notebook, tmp_path).endswith(few + "\n")


@pytest.mark.parametrize("seed", ["1", "7"])
def test_the_style_tabs_script_replays_both_sampled_panes(client, tmp_path, seed):
    settings = settings_kwargs(temperature=0.9, top_k=20, top_p=0.9, max_new_tokens=8, seed=seed)
    base, adapted = client.predict(adapter="noop", prompt="The sea otter", **settings, api_name="/style")[:2]
    link = client.predict(adapter="noop", prompt="The sea otter", **settings, api_name="/style_share")
    printed = run_script(_code(client, link)["python"], tmp_path)
    assert printed.endswith(f"{base}\n--- tiny + noop ---\n{adapted}\n") or f"\n{base}\n" in printed, printed
    assert printed.endswith(adapted + "\n")


def test_the_instructions_tabs_script_prints_both_answers(client, tmp_path):
    texts = {"prompt": "Say hello.", "prompt_input": "to the class"}
    settings = settings_kwargs(max_new_tokens=8)
    base, adapted = client.predict(adapter="style-b", **texts, **settings, api_name="/instructions")[:2]
    link = client.predict(adapter="style-b", **texts, **settings, api_name="/instructions_share")
    printed = run_script(_code(client, link)["python"], tmp_path)
    assert f"{base}\n" in printed and printed.endswith(adapted + "\n"), printed


def test_the_generate_tabs_script_prints_the_apps_answer(client, tmp_path):
    setup = {"model": "tiny", "adapter": "style-a", "prompt": "The sea otter is", "use_prompt_style": False}
    settings = settings_kwargs(max_new_tokens=10, temperature=0.8, seed="3")
    answer = client.predict(**setup, **settings, api_name="/generate")[0]
    link = client.predict(**setup, **settings, api_name="/generate_share")
    assert run_script(_code(client, link)["python"], tmp_path).endswith(answer + "\n")


def test_the_compare_tabs_script_prints_the_apps_scores(client, tmp_path):
    text = "Cette femme était assise près de la fenêtre, et le soir elle se rappelait sa jeunesse. " * 3
    table = client.predict(model_a="tiny", model_b="tiny + style-a", text=text, api_name="/compare")
    link = client.predict(model_a="tiny", model_b="tiny + style-a", text=text, api_name="/compare_share")
    printed = run_script(_code(client, link)["python"], tmp_path)
    for name, perplexity, _, tokens, *_ in table["data"]:
        assert f"{name}\t{perplexity:.2f}\t" in printed and printed.count(f"\t{tokens}\n") >= 1, printed


def test_a_bad_or_foreign_link_is_refused_naming_what_was_wrong(client):
    from gradio_client.exceptions import AppError

    for link, named in (
        ("https://example.org/", "link"),
        ("?tab=lab&temperature=hot", "temperature"),
        ("?model=tiny", "tab"),
        ("?tab=lens", "lens"),
    ):
        with pytest.raises(AppError, match=named):
            client.predict(link=link, pane="few", api_name="/reproduce")
    link = client.predict(preset=next(iter(load_presets())), **_lab(), api_name="/lab_share")
    with pytest.raises(AppError, match="pane"):
        client.predict(link=link, pane="many", api_name="/reproduce")


def test_the_tokenizer_lens_endpoint_returns_a_row_per_tokenizer_and_language(client):
    from gradio_client.exceptions import AppError

    from playground.lessons.tokenizer_lens import load_sentences

    sentence = load_sentences()[0]
    table = client.predict(**sentence, api_name="/tokenizer_lens")
    assert table["headers"][:3] == ["Tokenizer", "Language", "Tokens"]
    languages = [row[1] for row in table["data"]]
    assert len(languages) >= 5 and languages[:5] == ["en", "fr", "es", "de", "it"]
    for _, _, tokens, words, per_word, *_ in table["data"]:
        assert tokens > 0 and per_word == round(tokens / words, 2)
    with pytest.raises(AppError, match="fr"):
        client.predict(**{**sentence, "fr": "x" * 5000}, api_name="/tokenizer_lens")
