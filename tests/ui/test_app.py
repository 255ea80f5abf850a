"""The app end to end: ``python app.py`` on the tiny registry, driven by gradio_client."""

from __future__ import annotations

import pytest

from playground.ui.controls import DISTRIBUTION, settings_kwargs
from tests import tiny_models
from tests.clients import api_client


def _generate(**overrides):
    """/generate's keyword arguments: the tiny model, greedy, 20 new tokens, then ``overrides``."""
    return tiny_models.generate_kwargs("tiny", **{"max_new_tokens": 20, **overrides})


def test_generate_streams_over_the_api(app_url):
    client = api_client(app_url)
    job = client.submit(**_generate(), api_name="/generate")
    updates = list(job)
    text, details = job.outputs()[-1]
    assert len(updates) > 3  # streamed, not sent at once
    assert updates[0][0] != text and text.startswith(updates[0][0])
    assert "**Model:** tiny" in details and "Hub playground-test/tiny-gpt2@" in details
    assert "20 tokens" in details


def test_adapter_is_chosen_per_request_over_the_api(app_url):
    client = api_client(app_url)
    base = client.predict(**_generate(), api_name="/generate")
    styled = client.predict(**_generate(adapter="style-a"), api_name="/generate")
    assert styled[0] != base[0]
    assert "adapter style-a" in styled[1] and "mit + mit" in styled[1]
    assert client.predict(**_generate(), api_name="/generate")[0] == base[0]


def test_greedy_is_reproducible_over_the_api(app_url):
    client = api_client(app_url)
    first = client.predict(**_generate(), api_name="/generate")[0]
    assert client.predict(**_generate(), api_name="/generate")[0] == first


LAB_SETUP = ("model", "adapter", "task", "examples", "query", "separator")  # what every lab endpoint reads first


def _lab(**overrides):
    """/lab_run's keyword arguments: two examples, greedy, 8 new tokens, then ``overrides``."""
    rows = {"headers": ["input", "output"], "data": [["sea otter", "loutre de mer"], ["cheese", "fromage"]]}
    setup = {"model": "tiny", "adapter": "(base)", "task": "Translate English to French:", "examples": rows,
             "query": "peppermint", "separator": " => "}  # fmt: skip
    return {**setup, **settings_kwargs(max_new_tokens=8), **overrides}


def test_lab_runs_zero_one_and_few_shot_side_by_side(app_url):
    client = api_client(app_url)
    job = client.submit(**_lab(), api_name="/lab_run")
    frames = list(job)
    zero, one, few, details = job.outputs()[-1]
    assert len(frames) > 3 and zero and one and few
    assert any(0 < len(f[0]) < len(zero) and f[2] for f in frames)  # the panes grew together
    assert zero != few  # the examples changed the answer of the tiny model too
    assert "**Model:** tiny" in details and "**Licence:** mit" in details and "Hub playground" in details
    assert details.count("**Done:** 8 tokens") == 3  # one line per pane


def test_lab_inspect_shows_prompt_tokens_and_distributions(app_url):
    client = api_client(app_url)
    setup = {key: value for key, value in _lab().items() if key in LAB_SETUP}
    distribution = settings_kwargs(names=DISTRIBUTION, temperature=0.7, top_k=3)
    prompt, tokens, raw, adjusted = client.predict(**setup, **distribution, api_name="/lab_inspect")
    assert prompt.endswith("cheese => fromage\npeppermint =>")
    assert [t["token"] for t in tokens][:3] == ["Trans", "late", "␣English"]
    assert all(t["class_or_confidence"].isdigit() for t in tokens)
    assert len(raw["confidences"]) == 10
    kept = [c for c in adjusted["confidences"] if c["confidence"] > 0]
    assert len(kept) == 3  # top-k = 3


def test_lab_refuses_half_filled_examples(app_url):
    from gradio_client.exceptions import AppError

    client = api_client(app_url)
    rows = {"headers": ["input", "output"], "data": [["sea otter", ""]]}
    with pytest.raises(AppError, match=r"examples\[0\]: needs both an input and an output"):
        client.predict(**_lab(examples=rows), api_name="/lab_run")


def test_style_tab_streams_base_and_adapter_side_by_side(app_url):
    client = api_client(app_url)
    settings = settings_kwargs(max_new_tokens=12, no_repeat_ngram_size=3, seed="1")
    job = client.submit(adapter="style-a", prompt="Cette femme était assise", **settings, api_name="/style")
    frames = list(job)
    base, adapted, base_details, adapter_details = job.outputs()[-1]
    assert len(frames) > 3 and base and adapted and base != adapted
    assert "adapter style-a" in adapter_details and "adapter" not in base_details.split("·")[0]


def test_instructions_tab_shows_each_exact_prompt(app_url):
    client = api_client(app_url)
    texts = {"prompt": "Say hello.", "prompt_input": "to the class"}
    settings = settings_kwargs(max_new_tokens=8, seed="1")
    outputs = client.predict(adapter="style-b", **texts, **settings, api_name="/instructions")
    base, adapted, _, _, base_prompt, adapter_prompt = outputs
    assert base and adapted
    assert base_prompt == adapter_prompt == "Say hello.\nto the class"  # both plain in the tiny registry


def test_compare_tab_scores_two_models_on_the_same_text(app_url):
    client = api_client(app_url)
    text = "Cette femme était assise près de la fenêtre, et le soir elle se rappelait sa jeunesse. " * 3
    table = client.predict(model_a="tiny", model_b="tiny + noop", text=text, api_name="/compare")
    assert table["headers"][:2] == ["model", "perplexity"] and table["headers"][-2:] == ["licence", "source"]
    (name_a, ppl_a, acc_a, tokens_a, _, license_a, source_a) = table["data"][0]
    (name_b, ppl_b, acc_b, tokens_b, _, license_b, _) = table["data"][1]
    assert (name_a, name_b) == ("tiny", "tiny + noop")
    assert ppl_a == ppl_b and acc_a == acc_b and tokens_a == tokens_b > 50  # a fresh LoRA changes nothing
    assert source_a.startswith("Hub playground-test/tiny-gpt2@") and (license_a, license_b) == ("mit", "mit + mit")
    styled = client.predict(model_a="tiny", model_b="tiny + style-a", text=text, api_name="/compare")["data"][1]
    assert styled[1] != ppl_a


def test_errors_and_status_follow_the_french_browser(app_url):
    from gradio_client.exceptions import AppError

    client = api_client(app_url, headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    with pytest.raises(AppError, match="stop : au plus 4 chaînes d'arrêt, reçu 5"):
        client.predict(**_generate(stop="a\nb\nc\nd\ne"), api_name="/generate")
    with pytest.raises(AppError, match=r"examples\[0\] : il faut une entrée et une sortie"):
        rows = {"headers": ["input", "output"], "data": [["sea otter", ""]]}
        client.predict(**_lab(examples=rows), api_name="/lab_run")
    with pytest.raises(AppError, match="seed : doit être un entier ou rester vide, reçu 'abc'"):
        settings = settings_kwargs(temperature=0.8, max_new_tokens=5, seed="abc")
        client.predict(adapter="style-a", prompt="Il était", **settings, api_name="/style")
    text, details = client.predict(**_generate(max_new_tokens=5), api_name="/generate")
    assert text and "**Modèle:** tiny" in details and "**Terminé:** 5 tokens en" in details
    text = "Le soir elle se rappelait sa jeunesse."
    table = client.predict(model_a="tiny", model_b="tiny + noop", text=text, api_name="/compare")
    assert table["headers"][:2] == ["modèle", "perplexité"]
