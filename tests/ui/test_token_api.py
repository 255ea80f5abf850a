"""The token explorer's API, through ``gradio_client`` on the running app (tiny model).

/generate_tokens gives the answer /generate gives, with each token's record; /branch keeps
an answer's tokens before a position, writes the chosen one and goes on; bad branches are
refused naming the field, in English or French; /generate and /lab_run are unchanged, and
the tabs' endpoints record no token for an API client (only the page, which shows them).
"""

from __future__ import annotations

import math

import pytest

from playground.ui.controls import NAMES
from tests.clients import api_client
from tests.ui.test_api_input import GOOD, LAB

SAMPLED = {**GOOD, "temperature": 0.9, "top_k": 8, "max_new_tokens": 10, "seed": "7"}


@pytest.fixture(scope="module")
def client(app_url):
    return api_client(app_url)


@pytest.fixture(scope="module")
def french(app_url):
    return api_client(app_url, headers={"Accept-Language": "fr"})


def _tokens(client, settings=SAMPLED):
    return client.predict(**settings, api_name="/generate_tokens")


def _branch(client, answer_ids, position, token, settings=SAMPLED):
    return client.predict(**settings, answer_ids=answer_ids, position=position, token=token, api_name="/branch")


def test_generate_tokens_is_generate_with_the_record(client):
    text, details, tokens = _tokens(client)
    plain, _ = client.predict(**SAMPLED, api_name="/generate")
    assert text == plain and len(tokens) == 10
    assert "".join(t["piece"] for t in tokens) == text
    for token in tokens:
        assert token["logprob"] == pytest.approx(math.log(token["probability"]), abs=1e-4)
        assert 0 < token["adjusted"] <= 1 and not token["forced"]
        kept = [a["adjusted"] for a in token["alternatives"] if a["adjusted"] > 0]
        assert len(kept) == 8 and sum(kept) == pytest.approx(1.0, abs=1e-4)  # top-k 8, all shown
    total = sum(t["logprob"] for t in tokens)
    shown = f"log-probability -{-total:.2f} (-{-total / 10:.2f} per token, perplexity {math.exp(-total / 10):.2f})"
    assert shown in details.replace("\\", "")  # Markdown-escaped in the status line


def test_branch_keeps_the_prefix_and_writes_the_chosen_token(client):
    _, _, tokens = _tokens(client)
    ids = [t["id"] for t in tokens]
    other = next(a["id"] for a in tokens[4]["alternatives"] if a["id"] != ids[4])
    text, details, branched = _branch(client, ids, 4, other)
    assert [t["id"] for t in branched[:5]] == [*ids[:4], other]
    assert [t["forced"] for t in branched] == [True] * 5 + [False] * 5
    assert text == "".join(t["piece"] for t in branched) and "**Done:** 10 tokens" in details
    same, _, _ = _branch(client, ids, 4, ids[4])  # the original's own token: the original again
    assert same == "".join(t["piece"] for t in tokens)


@pytest.mark.parametrize(
    ("position", "token", "answer", "english", "french_text"),
    [
        (10, 13, None, r"position: 10 is out of range \[0, 9\]", r"position : 10 est hors de l'intervalle \[0, 9\]"),
        (2, 50257, None, r"token: 50257 is not a token id of tiny", r"token : 50257 n'est pas un identifiant"),
        (2, 13, [1, -1], r"answer_ids\[1\]: -1 is not a token id", r"answer_ids\[1\] : -1 n'est pas"),
        (2, 13, "12", r"answer_ids: must be a list of token ids", r"answer_ids : doit être une liste"),
    ],
)
def test_bad_branches_are_refused_naming_the_field(client, french, position, token, answer, english, french_text):
    from gradio_client.exceptions import AppError

    ids = answer if answer is not None else [t["id"] for t in _tokens(client)[2]]
    with pytest.raises(AppError, match=english):
        _branch(client, ids, position, token)
    with pytest.raises(AppError, match=french_text):
        _branch(french, ids, position, token)


def test_generate_and_lab_run_are_unchanged(client):
    endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert len(endpoints["/generate"]["returns"]) == 2 and len(endpoints["/lab_run"]["returns"]) == 4
    assert [p["parameter_name"] for p in endpoints["/branch"]["parameters"]][-3:] == ["answer_ids", "position", "token"]


def test_the_tabs_endpoints_record_no_tokens_for_an_api_client(client):
    """The status line carries the answer's log-probability only where tokens were recorded."""
    settings = {key: value for key, value in SAMPLED.items() if key in NAMES}
    _, recorded, _ = _tokens(client)
    _, generated = client.predict(**SAMPLED, api_name="/generate")
    *_, lab = client.predict(**LAB, api_name="/lab_run")
    *_, style_base, style = client.predict(adapter="style-a", prompt="Il était", **settings, api_name="/style")
    instructions = client.predict(
        adapter="style-b", prompt="Say hello.", prompt_input="", **settings, api_name="/instructions"
    )[2:4]
    assert "log-probability" in recorded.replace("\\", "")  # Markdown-escaped
    for details in (generated, lab, style_base, style, *instructions):
        assert "**Done:**" in details and "log-probability" not in details.replace("\\", "")
