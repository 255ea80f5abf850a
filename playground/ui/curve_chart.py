"""A shot curve shown: the chart (matplotlib, readable on a projector), its numbers as a table, a status line.

The chart (:func:`chart_figure`, also the teacher's board's class curve) draws each
series' mean against the number of examples, its spread (lowest to highest run) as a band
and every run as a dot; series differ by colour (Okabe and Ito's
palette, safe for colour blindness), line style and marker, so they stay apart in grey on a
washed-out projector. The table has the same numbers for screen readers and for copying; the
status line says how far the curve is, where it came from, and each series' first and last
points in words. Every text follows the visitor's language.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from playground.lessons.shot_curve import AFTER, BEFORE, GOLD, RANDOM, CurvePoint, Series, ShotCurve
from playground.messages import localize
from playground.ui.details import escape_markdown
from playground.ui.i18n import tr

COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")  # Okabe & Ito
LINES = ("-", "--", ":", "-.")
MARKERS = ("o", "s", "^", "D", "v", "P")
TITLE_WIDTH = 48  # characters a title line: a centred line this long stays clear of the label in the corner
VARIANT_KEYS = {GOLD: "cv_gold", RANDOM: "cv_random", BEFORE: "cv_before", AFTER: "cv_after"}
CACHE_COMMAND = "python -m playground.evaluation.shipped_curves --write-cache"


def series_label(series: Series, view: str, lang: str) -> str:
    """The legend's and the table's name of a series: its model, and its variant when the view has two."""
    colon = " : " if lang == "fr" else ": "  # French sets a space before the colon
    if view in ("random_labels", "calibration"):
        return f"{series.candidate}{colon}{tr(VARIANT_KEYS[series.variant], lang)}"
    if view == "order":
        return f"{series.candidate}{colon}{tr('cv_same_examples', lang)}"
    return series.candidate


@dataclass(frozen=True)
class Line:
    """One line of a chart: its label, its points (mean and spread at each k) and its dots (each run's score)."""

    label: str
    points: Sequence[CurvePoint]
    dots: Sequence[tuple[int, float]] = ()  # (k, score)


def curve_figure(curve: ShotCurve, lang: str) -> Any:
    """The chart of ``curve`` (a matplotlib Figure), or None before its first point."""
    lines = [
        Line(series_label(s, curve.view, lang), s.points(), [(r.shots, r.score) for r in s.runs])
        for s in curve.series
        if s.runs
    ]
    if not lines:
        return None
    cached = tr("cv_cached_title", lang) if any(s.cached for s in curve.series) else ""
    title = tr(f"cv_title_{curve.view}", lang) + cached
    return chart_figure(lines, curve.shots, tr(f"cv_metric_{curve.metric}", lang), title, lang)


def chart_figure(lines: Sequence[Line], shots: Sequence[int], y_label: str, title: str, lang: str) -> Any:
    """A chart of ``lines`` against k (each of ``shots`` one step of the x axis), scores 0 to 100: a matplotlib Figure.

    Every text drawn is the app's own (labels, titles): none is read as mathtext.
    """
    import matplotlib

    matplotlib.use("Agg")  # the server draws into images, never a window
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, 5.2), dpi=100, layout="constrained")
    axes = figure.subplots()
    where = {k: i for i, k in enumerate(shots)}
    for n, line in enumerate(lines):
        points, colour = [p for p in line.points if p.shots in where], COLOURS[n % len(COLOURS)]
        xs = [where[p.shots] + 0.04 * (n - 0.5) for p in points]  # lines side by side, dots apart
        axes.fill_between(xs, [p.low for p in points], [p.high for p in points], color=colour, alpha=0.15, lw=0)
        axes.plot(
            xs, [p.mean for p in points], color=colour, linestyle=LINES[n % len(LINES)], linewidth=3,
            marker=MARKERS[n % len(MARKERS)], markersize=10, label=line.label,
        )  # fmt: skip
        dots = [(k, score) for k, score in line.dots if k in where]
        axes.scatter([where[k] + 0.04 * (n - 0.5) for k, _ in dots], [score for _, score in dots], color=colour, s=22)
    axes.set_xticks(range(len(shots)), [str(k) for k in shots], fontsize=15)
    axes.tick_params(axis="y", labelsize=14)
    axes.set_xlabel(tr("cv_x", lang), fontsize=16)
    axes.set_ylabel(y_label, fontsize=16, parse_math=False)
    axes.set_ylim(0, 100)
    axes.grid(alpha=0.3)
    legend = axes.legend(fontsize=13, loc="best")
    for text in legend.get_texts():
        text.set_parse_math(False)
    axes.set_title(textwrap.fill(title, TITLE_WIDTH), fontsize=17, parse_math=False)  # clear of the plot's label
    return figure


def curve_table(curve: ShotCurve, lang: str) -> dict[str, Any]:
    """The chart's numbers, a row per series and k (for screen readers), headers in ``lang``."""
    headers = [tr(k, lang) for k in ("cv_series", "cv_shots", "cv_mean", "cv_low", "cv_high", "cv_runs")]
    rows = [
        [series_label(s, curve.view, lang), p.shots, round(p.mean, 1), round(p.low, 1), round(p.high, 1), p.runs]
        for s in curve.series
        for p in s.points()
    ]
    return {"headers": headers, "data": rows}


def curve_status(curve: ShotCurve, lang: str, stopped: bool = False) -> str:
    """Markdown: how far the curve is, where it came from, each series' first and last points, warnings."""
    counts = {"done": curve.done, "planned": curve.planned, "seed": curve.seed}
    state = "cv_stopped" if stopped else "cv_done" if curve.complete else "cv_running"
    lines = [f"**{tr(state, lang).format(**counts)}** · {tr('cv_seed', lang).format(**counts)}"]
    for series in curve.series:
        points = series.points()
        if len(points) >= 2:
            first, last = points[0], points[-1]
            rise = tr("cv_rise", lang).format(
                name=series_label(series, curve.view, lang), low=first.mean, k0=first.shots, high=last.mean,
                k1=last.shots, metric=tr(f"cv_metric_{curve.metric}", lang),
            )  # fmt: skip
            lines.append(f"- {escape_markdown(rise)}")
    if any(s.cached for s in curve.series):
        lines.append(tr("cv_from_cache", lang).format(command=CACHE_COMMAND))
    lines += [f"- {escape_markdown(localize(w, lang))}" for w in curve.warnings]
    return "\n".join(lines)
