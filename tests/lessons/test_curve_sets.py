"""The shipped curve sets: one per lab preset, each a valid curve; bad entries refused by key."""

from __future__ import annotations

import pytest
import yaml

from playground.errors import ConfigError
from playground.evaluation.shipped_curves import VIEWS_BY_METRIC, shipped_setup
from playground.lessons.curve_sets import DEFAULT_CURVE_SETS_PATH, load_curve_sets
from playground.lessons.presets import load_presets
from playground.models.registry import Limits


def test_every_preset_ships_a_pool_and_tests_that_make_a_curve_in_each_of_its_views():
    presets = load_presets()
    sets = load_curve_sets(presets)
    assert set(sets) == set(presets)
    for preset_id, curve_set in sets.items():
        for view in VIEWS_BY_METRIC[curve_set.metric]:
            setup = shipped_setup(presets[preset_id], curve_set, view, Limits())
            assert setup.shots[0] == 0 and len(setup.shots) >= 3, preset_id
    assert sets["sentiment"].metric == "accuracy" and sets["arithmetic"].metric == "exact"
    assert "Tatoeba" in sets["en-fr-sentences"].source
    assert len(sets["en-fr-sentences"].tests) == Limits().max_curve_tests


def _write(tmp_path, change) -> str:
    data = yaml.safe_load(DEFAULT_CURVE_SETS_PATH.read_text(encoding="utf-8"))
    change(data["curve_sets"])
    path = tmp_path / "curve_sets.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return str(path)


BAD = [
    (lambda s: s.pop("arithmetic"), "curve_sets.arithmetic: missing"),
    (lambda s: s.update(nowhere=s["arithmetic"]), "curve_sets.nowhere: not a preset"),
    (lambda s: s["arithmetic"].update(metric="bleu"), "curve_sets.arithmetic.metric: 'bleu' is not one of"),
    (
        lambda s: s["arithmetic"]["tests"].__setitem__(5, s["arithmetic"]["pool"][0]),
        "curve_sets.arithmetic.tests[5]: '12 + 7' is also in the pool",
    ),
    (
        lambda s: s["sentiment"]["tests"].__setitem__(3, ["meh", "neutral"]),
        "curve_sets.sentiment.tests[3]: 'neutral' is not one of",
    ),
    (lambda s: s["fr-pluriel"]["pool"].__setitem__(0, ["un cheval"]), "curve_sets.fr-pluriel.pool[0]: must be a pair"),
]


@pytest.mark.parametrize(("change", "start"), BAD)
def test_a_bad_curve_set_is_refused_naming_its_key(tmp_path, change, start):
    with pytest.raises(ConfigError) as info:
        load_curve_sets(load_presets(), _write(tmp_path, change))
    assert str(info.value).startswith(start), str(info.value)
