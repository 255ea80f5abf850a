"""Shot curves of the shipped presets, drawn once by the app's own code and read back instead of drawn again.

A curve of the lesson model takes minutes on a CPU; a class should see it at once. The
command of :mod:`playground.evaluation.shipped_curves` draws them through the same
:func:`~playground.evaluation.shot_curve_runs.draw_curve` as the lab and writes them to
``shot_curve_cache.json``. The lab reads a series from that file when
everything that decides it is the same: the model and where its weights come from (package
and version, or Hub repository and revision), the adapter, the task, separator, pool, tests,
shots, orderings, seed, metric, view and generation settings (the key is a hash of all of
them); the chart then says that the curve comes from the cache. Anything else is drawn live.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from playground.lessons.shot_curve import PLAN_VERSION, Series, ShotCurve

if TYPE_CHECKING:
    from playground.engine import Engine
    from playground.lessons.shot_curve import CurveSetup
    from playground.settings import GenerationSettings

log = logging.getLogger(__name__)

CACHE_PATH = Path(__file__).with_name("shot_curve_cache.json")


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
