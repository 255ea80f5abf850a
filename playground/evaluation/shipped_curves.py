"""The shipped shot curves: drawn by the app's own code for the lab's model, written to the curve cache.

    python -m playground.evaluation.shipped_curves --write-cache                 # the default presets
    python -m playground.evaluation.shipped_curves --write-cache --presets en-fr-sentences --views curve

The command draws the curves of ``--presets`` (each preset's curve set, the preset's
settings, greedy, the default shots, orderings and seed) in every view that applies to its
metric (or ``--views``), through the same
:func:`~playground.evaluation.shot_curve_runs.draw_curve` as the lab, and stores them in
the cache file the lab reads (:mod:`playground.evaluation.shot_curve_cache`); it prints each
curve's points as ``k: mean [lowest, highest]``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from playground.evaluation.shot_curve_cache import CACHE_PATH, CurveCache
from playground.lessons.shot_curve import METRIC_NAMES, ShotCurve

if TYPE_CHECKING:
    from playground.engine import Engine
    from playground.lessons.shot_curve import CurveSetup

log = logging.getLogger(__name__)

DEFAULT_PRESETS = ("en-fr-sentences", "sentiment")  # the lab's showcases: a translation, a classification
VIEWS_BY_METRIC = {
    "chrf": ("curve", "order", "random_labels"),
    "exact": ("curve", "order", "random_labels"),
    "accuracy": ("curve", "order", "random_labels", "calibration"),
}
COMMAND_TIME_LIMIT_S = 3600.0  # per answer: no visitor waits behind the command


def write_cache(engine: Engine, presets: list[str], views: list[str] | None, path: Path) -> list[str]:
    """Draw the curves of ``presets`` with the lab's model and store them in ``path``; a line of text per curve."""
    from playground.evaluation.shot_curve_runs import CurveAsk, draw_curve
    from playground.lessons.curve_sets import load_curve_sets
    from playground.lessons.presets import load_presets

    cache, lines = CurveCache(path), []
    shown = load_presets()
    sets = load_curve_sets(shown, limits=engine.registry.limits)
    model = engine.registry.opening_model("lab")
    for preset_id in presets:
        preset, curve_set = shown[preset_id], sets[preset_id]
        settings = {**preset_settings(preset), "seed": None}
        for view in views or VIEWS_BY_METRIC[curve_set.metric]:
            setup = shipped_setup(preset, curve_set, view, engine.registry.limits)
            ask = CurveAsk(setup, model, settings=settings, time_limit_s=COMMAND_TIME_LIMIT_S)
            curve = list(draw_curve(engine, ask))[-1]
            key = cache.key(engine, model, None, setup, engine.settings_for(model, settings))
            cache.store(key, {"preset": preset_id, "model": model, "view": view}, curve.series)
            lines.append(describe(preset_id, curve))
            log.info("%s", lines[-1])
    cache.save()
    return lines


def preset_settings(preset: Any) -> dict[str, Any]:
    """The generation settings the lab shows for ``preset``: greedy, its max_new_tokens and stop strings."""
    from playground.settings import GenerationSettings

    return GenerationSettings(max_new_tokens=preset.max_new_tokens, stop=preset.stop).to_dict()


def shipped_setup(preset: Any, curve_set: Any, view: str, limits: Any) -> CurveSetup:
    """The curve the lab opens on for ``preset``: its task and separator, its curve set, the default draws."""
    from playground.lessons.shot_curve import DEFAULT_ORDERINGS, DEFAULT_SEED, DEFAULT_SHOTS, CurveSetup

    shots = [k for k in DEFAULT_SHOTS if k <= len(curve_set.pool)]
    return CurveSetup.build(
        task=preset.task, separator=preset.separator, pool=curve_set.pool_rows(), tests=curve_set.test_rows(),
        shots=shots, orderings=DEFAULT_ORDERINGS, seed=str(DEFAULT_SEED), metric=curve_set.metric, view=view,
        limits=limits,
    )  # fmt: skip


def describe(name: str, curve: ShotCurve) -> str:
    """One line per series: its points as ``k: mean [low, high]``."""
    rows = []
    for series in curve.series:
        points = "; ".join(f"{p.shots}: {p.mean:.1f} [{p.low:.1f}, {p.high:.1f}]" for p in series.points())
        rows.append(f"{name} {curve.view} {series.candidate} {series.variant} ({METRIC_NAMES[curve.metric]}): {points}")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    from playground.network import configure_hub_access

    configure_hub_access()
    from playground.engine import Engine
    from playground.models.registry import load_registry

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write-cache", action="store_true", help="draw the curves and write the cache file")
    parser.add_argument("--presets", nargs="+", default=list(DEFAULT_PRESETS), help="lab preset ids")
    parser.add_argument("--views", nargs="+", default=None, help="views (default: every view of the metric)")
    parser.add_argument("--path", type=Path, default=CACHE_PATH, help="the cache file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not args.write_cache:
        parser.print_help()
        return 2
    engine = Engine(load_registry())
    try:
        print("\n".join(write_cache(engine, args.presets, args.views, args.path)))
    finally:
        engine.close(wait_s=60)
    return 0


if __name__ == "__main__":
    sys.exit(main())
