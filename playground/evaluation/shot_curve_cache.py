"""Shot curves of the shipped presets, drawn once by the app's own code and read back instead of drawn again.

    python -m playground.evaluation.shot_curve_cache --write-cache                 # the default presets
    python -m playground.evaluation.shot_curve_cache --write-cache --presets en-fr-sentences --views curve

A curve of the lesson model takes minutes on a CPU; a class should see it at once. The
command draws the curves of ``--presets`` (each preset's curve set, the preset's settings,
greedy, the default shots, orderings and seed) in every view that applies to its metric,
through the same :func:`~playground.evaluation.shot_curve_runs.draw_curve` as the lab, and
writes them to ``shot_curve_cache.json``. The lab reads a series from that file when
everything that decides it is the same: the model and where its weights come from (package
and version, or Hub repository and revision), the adapter, the task, separator, pool, tests,
shots, orderings, seed, metric, view and generation settings (the key is a hash of all of
them); the chart then says that the curve comes from the cache. Anything else is drawn live.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from playground.lessons.shot_curve import METRIC_NAMES, PLAN_VERSION, Series, ShotCurve

if TYPE_CHECKING:
    from playground.engine import Engine
    from playground.lessons.shot_curve import CurveSetup
    from playground.settings import GenerationSettings

log = logging.getLogger(__name__)

CACHE_PATH = Path(__file__).with_name("shot_curve_cache.json")
DEFAULT_PRESETS = ("en-fr-sentences", "sentiment")  # the lab's showcases: a translation, a classification
VIEWS_BY_METRIC = {
    "chrf": ("curve", "order", "random_labels"),
    "exact": ("curve", "order", "random_labels"),
    "accuracy": ("curve", "order", "random_labels", "calibration"),
}
COMMAND_TIME_LIMIT_S = 3600.0  # per answer: no visitor waits behind the command


def weights_identity(source: str) -> str:
    """Where a model's weights come from, the same whether they were read now or from a local cache.

    ``source`` is a loaded model's source (a Message: its key and parameters name the package
    and version, or the Hub repository and revision); plain text is kept as it is.
    """
    key = getattr(source, "key", None)
    if key is None:
        return str(source)
    kind = key.removesuffix("_cache").removesuffix("_now")
    params = getattr(source, "params", {})
    parts = [f"{name}={weights_identity(value)}" for name, value in sorted(params.items())]
    return f"{kind}({', '.join(parts)})"


def cache_key(identity: str, model: str, adapter: str | None, setup: CurveSetup, settings: GenerationSettings) -> str:
    """The hash of everything that decides one model's series of a curve."""
    decided = {
        "model": model, "weights": identity, "adapter": adapter, "task": setup.task, "separator": setup.separator,
        "pool": [[s.input, s.output] for s in setup.pool], "tests": [[s.input, s.output] for s in setup.tests],
        "shots": list(setup.shots), "orderings": setup.orderings, "seed": setup.seed, "metric": setup.metric,
        "view": setup.view, "plan": PLAN_VERSION,
        # a classification scores its labels: the generation settings change nothing
        "settings": None if setup.metric == "accuracy" else {**settings.to_dict(), "seed": None},
    }  # fmt: skip
    return hashlib.sha256(json.dumps(decided, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


class CurveCache:
    """The shipped curves' series by key, read from a JSON file (once, when first asked)."""

    def __init__(self, path: Path = CACHE_PATH) -> None:
        self.path = Path(path)
        self._entries: dict[str, Any] | None = None

    @property
    def entries(self) -> dict[str, Any]:
        """Every stored entry by key (none when the file is missing or unreadable)."""
        if self._entries is None:
            try:
                self._entries = json.loads(self.path.read_text(encoding="utf-8")).get("curves", {})
            except (OSError, ValueError, AttributeError) as exc:
                log.warning("no shot curve cache read from %s: %s", self.path, exc)
                self._entries = {}
        return self._entries

    def key(self, engine: Engine, model: str, adapter: str | None, setup: CurveSetup, settings: Any) -> str:
        """The key of ``model``'s series as ``engine`` serves it now (the model is loaded if needed)."""
        return cache_key(weights_identity(engine.source(model)), model, adapter, setup, settings)

    def fill(
        self, curve: ShotCurve, engine: Engine, model: str, adapter: str | None, setup: CurveSetup, settings: Any
    ) -> bool:
        """Add ``model``'s stored series to ``curve`` (marked as from the cache); False when none is stored."""
        entry = self.entries.get(self.key(engine, model, adapter, setup, settings))
        if entry is None:
            return False
        curve.series += [Series.from_dict(s, cached=True) for s in entry["series"]]
        return True

    def store(self, key: str, about: dict[str, Any], series: list[Series]) -> None:
        """Keep ``series`` under ``key``, with ``about`` (what they are, for a reader of the file)."""
        self.entries[key] = {**about, "series": [s.to_dict() for s in series]}

    def save(self) -> None:
        """Write every entry back, sorted, one JSON file."""
        data = {"about": __doc__.splitlines()[0], "curves": dict(sorted(self.entries.items()))}
        self.path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


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
