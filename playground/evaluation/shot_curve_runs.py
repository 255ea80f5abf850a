"""A shot curve drawn through the engine: its planned runs answered, each run scored as its answers come in.

:func:`draw_curve` checks the work against the registry's limits, then yields the
:class:`~playground.lessons.shot_curve.ShotCurve` after every run it scores, so the points
appear as they are measured. The plan, the views and the results are
:mod:`playground.lessons.shot_curve`'s; this module asks the engine:

- **generated answers** (metrics ``chrf`` and ``exact``): every (run, test) prompt is a
  generation of the engine, at most the visitor's share of the batch in flight at once
  (``limits.max_rows_per_visitor``), so a curve's answers batch together and with other
  visitors', and never fill the model's wait queue; a greedy answer to a prompt already asked
  is not asked again (zero-shot is the same prompt in every view). A run's score is the
  corpus chrF of its answers (the lessons scoreboard's), or the share of exact matches;
- **label probabilities** (metric ``accuracy``): no generation; each label after each
  prompt is scored by :meth:`Engine.score` (one job of the batcher per run), the predicted
  label is the most probable one, and the calibration view also scores content-free inputs
  (:mod:`playground.lessons.calibration`).

Every request names the visitor, so a curve takes that visitor's fair share and no more,
and the ``cancel`` event (Stop) ends it between two answers.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from playground.evaluation.fewshot_scores import normalise
from playground.evaluation.metric_loader import load_metric
from playground.lessons.calibration import accuracy, calibrated, content_free_bias, label_probabilities, predicted
from playground.lessons.shot_curve import (
    AFTER,
    BEFORE,
    CONTENT_FREE,
    CurveSetup,
    PlannedRun,
    RunScore,
    ShotCurve,
    check_work,
    plan_runs,
)
from playground.messages import Message
from playground.serving.requests import ScoredWindow
from playground.serving.visitor_keys import Visitor
from playground.settings import GenerationSettings

if TYPE_CHECKING:
    from playground.engine import Engine, GenerationStream
    from playground.evaluation.shot_curve_cache import CurveCache
    from playground.serving.backend import Handle


@dataclass(frozen=True)
class CurveAsk:
    """What to draw: a checked setup, for a model (and adapter) and maybe other base models on the same chart."""

    setup: CurveSetup
    model: str
    adapter: str | None = None
    settings: Mapping[str, Any] | None = None  # generation settings (each model's defaults fill the rest)
    others: tuple[str, ...] = ()  # other base models drawn on the same chart (no adapter)
    visitor: Visitor | str | None = None  # who asks: the curve takes this visitor's share of each batch
    cancel: threading.Event | None = None  # set by a Stop: the curve ends between two answers
    progress: Callable[[str], None] | None = None  # a model's loading steps
    cache: CurveCache | None = None  # shipped curves read instead of drawn again
    time_limit_s: float | None = None  # each answer's limit (None: the registry's)

    def candidates(self) -> list[tuple[str, str | None]]:
        """The curves of the chart: the model (and adapter), then each other model alone, without repeats."""
        out = [(self.model, self.adapter)]
        out += [(m, None) for m in dict.fromkeys(self.others) if (m, None) not in out]
        return out


def draw_curve(engine: Engine, ask: CurveAsk) -> Iterator[ShotCurve]:
    """The curve, yielded once planned and again after every run scored (or series read from the cache).

    Raises before any work when a name, a setting or the amount of work is refused (the
    error names the field). Stops early, the curve incomplete, when ``ask.cancel`` is set.
    """
    setup, limits = ask.setup, engine.registry.limits
    candidates = ask.candidates()
    check_models(ask, engine)
    settings = {model: engine.settings_for(model, ask.settings) for model, _ in candidates}
    greedy = setup.metric == "accuracy" or settings[ask.model].greedy  # label scores have no sampling
    runs = plan_runs(setup, greedy)
    planned = check_work(setup, runs, len(candidates), limits)
    curve = ShotCurve(setup.metric, setup.view, setup.seed, setup.shots, planned, tests=len(setup.tests))
    yield curve
    for model, adapter in candidates:
        engine.prepare(model, adapter, ask.progress)
        if ask.cache is not None and ask.cache.fill(curve, engine, model, adapter, setup, settings[model]):
            curve.done += len(runs) * len(setup.tests)
            yield curve
            continue
        scored = _label_runs if setup.metric == "accuracy" else _generated_runs
        for _ in scored(engine, ask, curve, model, adapter, runs, settings[model]):
            yield curve
            if ask.cancel is not None and ask.cancel.is_set():
                return


def check_models(ask: CurveAsk, engine: Engine) -> None:
    """The model and adapter are in the registry; so is each other model, and at hand (a source could provide it
    now: offline, a Hub model never downloaded is not). Else the error names it, before any work."""
    engine.validation.names(ask.model, ask.adapter)
    at_hand = engine.models_at_hand() if ask.others else []
    for i, model in enumerate(ask.others):
        if model not in engine.registry.models:
            known = ", ".join(engine.registry.models)
            raise ValueError(Message("unknown_model", field=f"models[{i}]", name=model, known=known))
        if model not in at_hand:
            raise ValueError(Message("model_not_at_hand", field=f"models[{i}]", name=model, known=", ".join(at_hand)))


# -- generated answers ------------------------------------------------------------------
def run_score(metric: str, answers: Sequence[str], references: Sequence[str]) -> float:
    """One run's score, 0 to 100: corpus chrF of its answers, or the share of exact matches."""
    if metric == "chrf":
        return float(load_metric("chrf").compute(predictions=list(answers), references=list(references))["score"])
    return 100.0 * sum(normalise(a) == normalise(r) for a, r in zip(answers, references, strict=True)) / len(answers)


def _generated_runs(
    engine: Engine, ask: CurveAsk, curve: ShotCurve, model: str, adapter: str | None, runs: list[PlannedRun],
    settings: GenerationSettings,
) -> Iterator[None]:  # fmt: skip
    """Score each run once its last answer is in; yield after each."""
    references = [t.output for t in ask.setup.tests]
    for run, answers in answered_runs(engine, ask, model, adapter, runs, settings, curve):
        score = run_score(ask.setup.metric, answers, references)
        curve.line(model, adapter, run.variant).runs.append(RunScore(run.shots, score, run.examples))
        curve.done += len(answers)
        yield


def answered_runs(
    engine: Engine, ask: CurveAsk, model: str, adapter: str | None, runs: list[PlannedRun],
    settings: GenerationSettings, curve: ShotCurve,
) -> Iterator[tuple[PlannedRun, list[str]]]:  # fmt: skip
    """Each run with its answers, in the plan's order, as soon as its last answer is in.

    At most the visitor's share of the batch is in flight (the whole batch for a curve with
    no visitor, the command's); a greedy prompt already asked is not asked again.
    """
    setup, limits = ask.setup, engine.registry.limits
    window = limits.max_rows_per_visitor if ask.visitor is not None else limits.max_batch_size
    jobs = iter([(i, t) for i in range(len(runs)) for t in range(len(setup.tests))])
    flying: deque[tuple[int, int, GenerationStream]] = deque()
    asked: dict[str, GenerationStream] = {}
    answers: dict[int, list[str | None]] = {}
    try:
        while True:
            while len({id(s) for _, _, s in flying}) < window:
                job = next(jobs, None)
                if job is None:
                    break
                flying.append((*job, _ask(engine, ask, model, adapter, runs[job[0]], job[1], settings, asked)))
            if not flying or (ask.cancel is not None and ask.cancel.is_set()):
                return
            i, t, stream = flying.popleft()
            text = stream.text()
            if stream.result.finish_reason == "cancelled":
                return
            if stream.result.truncated_tokens:
                curve.warn(Message("curve_truncated", model=model))
            answers.setdefault(i, [None] * len(setup.tests))[t] = text.strip()
            if all(a is not None for a in answers[i]):
                yield runs[i], [str(a) for a in answers.pop(i)]
    finally:
        for _, _, stream in flying:
            stream.close()


def _ask(
    engine: Engine, ask: CurveAsk, model: str, adapter: str | None, run: PlannedRun, test: int,
    settings: GenerationSettings, asked: dict[str, GenerationStream],
) -> GenerationStream:  # fmt: skip
    """The stream of one answer: a new generation, or the one already asked for the same greedy prompt."""
    prompt = ask.setup.prompt(run, ask.setup.tests[test].input)
    if settings.greedy and prompt in asked:
        return asked[prompt]
    own = settings if settings.greedy else replace(settings, seed=run.sampling_seed(ask.setup.seed))
    stream = engine.stream(
        model, prompt, own, adapter, visitor=ask.visitor, cancel=ask.cancel, time_limit_s=ask.time_limit_s
    )
    if settings.greedy:
        asked[prompt] = stream
    return stream


# -- label probabilities ----------------------------------------------------------------
def _label_runs(
    engine: Engine, ask: CurveAsk, curve: ShotCurve, model: str, adapter: str | None, runs: list[PlannedRun],
    settings: GenerationSettings,
) -> Iterator[None]:  # fmt: skip
    """Score each run from its labels' probabilities (and the calibrated ones in that view); yield after each."""
    setup = ask.setup
    golds = [setup.labels.index(t.output) for t in setup.tests]
    queries = [t.input for t in setup.tests] + (list(CONTENT_FREE) if setup.view == "calibration" else [])
    handle = engine.prepare(model, adapter)
    engine.check_scoring(model)
    known: dict[str, list[float]] = {}  # a prompt's label probabilities (zero-shot repeats across views)
    for run in runs:
        prompts = [setup.prompt(run, q) for q in queries]
        todo = [p for p in dict.fromkeys(prompts) if p not in known]
        known.update(zip(todo, label_scores(engine, ask, handle, adapter, todo, curve), strict=True))
        probabilities = [known[p] for p in prompts]
        tests = probabilities[: len(golds)]
        before = accuracy([predicted(p) for p in tests], golds)
        if setup.view == "calibration":
            bias = content_free_bias(probabilities[len(golds) :])
            after = accuracy([predicted(calibrated(p, bias)) for p in tests], golds)
            curve.line(model, adapter, BEFORE).runs.append(RunScore(run.shots, before, run.examples))
            curve.line(model, adapter, AFTER).runs.append(RunScore(run.shots, after, run.examples))
        else:
            curve.line(model, adapter, run.variant).runs.append(RunScore(run.shots, before, run.examples))
        curve.done += len(golds)
        yield
        if ask.cancel is not None and ask.cancel.is_set():
            return


def label_scores(
    engine: Engine, ask: CurveAsk, handle: Handle, adapter: str | None, prompts: list[str], curve: ShotCurve
) -> list[list[float]]:
    """Each prompt's label probabilities: every label's tokens scored after it, in one job of the batcher."""
    labels = ask.setup.labels
    windows, sizes = [], []
    for prompt in prompts:
        for label in labels:
            window, cut = label_window(engine, handle, prompt, ask.setup.answer_prefix() + label)
            windows.append(window)
            sizes.append(sum(1 for x in window[1] if x != -100))
            if cut:
                curve.warn(Message("curve_truncated", model=handle.model))
    if not windows:
        return []
    nll = engine.score(handle.model, adapter, windows, visitor=ask.visitor, cancel=ask.cancel).nll
    logprobs, start = [], 0
    for size in sizes:
        logprobs.append(-sum(nll[start : start + size]))
        start += size
    n = len(labels)
    return [label_probabilities(logprobs[i : i + n]) for i in range(0, len(logprobs), n)]


def label_window(engine: Engine, handle: Handle, prompt: str, continuation: str) -> tuple[ScoredWindow, bool]:
    """``prompt`` then ``continuation`` as a scored window (only the continuation's tokens scored), and whether
    the prompt lost its start to fit the context.

    The continuation's tokens are those of the whole text after the prompt's, when the prompt's
    tokens are its start (the usual case: a label begins with a space); else its own.
    """
    ids = engine.encode(handle, prompt, use_prompt_style=False)
    whole = engine.encode(handle, prompt + continuation, use_prompt_style=False)
    if whole[: len(ids)] == ids and len(whole) > len(ids):
        label = whole[len(ids) :]
    else:
        label = list(handle.tokenizer(continuation, add_special_tokens=False)["input_ids"])
    if not label:
        raise ValueError(Message("no_tokens", field="pool"))
    cut = max(0, len(ids) + len(label) - handle.context_length)
    ids = ids[cut:]
    return (ids + label, [-100] * len(ids) + label), cut > 0
