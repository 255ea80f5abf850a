"""/shot_curve through ``gradio_client``: a curve's numbers as the API promises them, and bad input refused by name."""

from __future__ import annotations

import pytest

from playground.ui.controls import settings_kwargs
from playground.ui.shot_curve_section import CURVE_SETTINGS

POOL = [["sea otter", "loutre de mer"], ["peppermint", "menthe poivrée"], ["cheese", "fromage"], ["bread", "pain"]]
TESTS = [["moon", "lune"], ["dog", "chien"]]
CURVE = {
    "model": "tiny", "adapter": "(base)", "task": "Translate English to French:", "separator": " => ",
    "pool": {"headers": ["input", "output"], "data": POOL}, "tests": {"headers": ["query", "reference"], "data": TESTS},
    "shots": [0, 1, 2], "orderings": 2, "seed": "5", "metric": "chrf", "view": "curve", "models": [],
    **settings_kwargs(names=CURVE_SETTINGS, max_new_tokens=4, stop="\\n"),
}  # fmt: skip
TWENTY = {"headers": ["query", "reference"], "data": [[f"word {i}", f"mot {i}"] for i in range(20)]}

BAD = [
    ({"shots": [0, 1, 9]}, r"shots\[2\]: 9 examples asked for, but the pool has 4"),
    ({"shots": "0, 1"}, r"shots: must be a list of whole numbers, got str"),
    ({"tests": {"headers": ["query", "reference"], "data": []}}, r"tests: must not be empty"),
    ({"tests": "moon"}, r"tests: must be a list of \[input, output\] rows of text, got str"),
    ({"pool": {"headers": ["input", "output"], "data": [["sea otter", ""]]}}, r"pool\[0\]: needs both"),
    ({"orderings": 9}, r"orderings: 9 is out of range \[1, 6\]"),
    ({"metric": "bleu"}, r"metric: 'bleu' is not one of chrf, exact, accuracy"),
    ({"view": "calibration"}, r"view: calibration needs a classification"),
    ({"models": ["gpt-5"]}, r"models\[0\]: unknown model 'gpt-5'"),
    ({"model": "gpt-5"}, r"model: unknown model 'gpt-5'"),
    ({"seed": "abc"}, r"seed: must be an integer or empty, got 'abc'"),
    ({"temperature": 9}, r"temperature: 9 is out of range"),
    (
        {"tests": TWENTY, "shots": [0, 1, 2, 3, 4], "orderings": 6, "models": ["tiny-local"]},
        r"shots × orderings × tests: this curve needs 920 answers, more than the limit of 600",
    ),
]


@pytest.fixture(scope="module")
def client(app_url):
    from gradio_client import Client

    return Client(app_url, verbose=False)


def test_the_api_draws_a_curve_and_answers_its_points(client):
    _, table, status, data = client.predict(**CURVE, api_name="/shot_curve")
    assert data["metric"] == "chrF" and data["complete"] and data["seed"] == 5
    assert [p["shots"] for p in data["points"]] == [0, 1, 2] and [p["runs"] for p in data["points"]] == [1, 2, 2]
    for point in data["points"]:
        assert set(point) == {"shots", "mean", "low", "high", "runs"}
        assert 0 <= point["low"] <= point["mean"] <= point["high"] <= 100
    assert len(table["data"]) == 3 and table["headers"][0] == "series"
    assert "Done: 10 answers" in status
    again = client.predict(**CURVE, api_name="/shot_curve")[3]
    assert again["points"] == data["points"]  # the same seed, the same curve


@pytest.mark.parametrize(("overrides", "message"), BAD, ids=[m.split(":")[0] for _, m in BAD])
def test_bad_input_is_refused_naming_the_field(client, overrides, message):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match=message):
        client.predict(**{**CURVE, **overrides}, api_name="/shot_curve")


def test_errors_speak_the_callers_language(app_url):
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    french = Client(app_url, verbose=False, headers={"Accept-Language": "fr"})
    with pytest.raises(AppError, match=r"shots\[2\] : 9 exemples demandés, mais la réserve n'en a que 4"):
        french.predict(**{**CURVE, "shots": [0, 1, 9]}, api_name="/shot_curve")
