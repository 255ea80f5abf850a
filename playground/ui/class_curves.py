"""The class's shot curves on the teacher's board: each a chart drawn by the lab's chart code, its numbers beside it.

Each chart of :attr:`~playground.classroom.board.Board.curves` is drawn by
:func:`~playground.ui.curve_chart.chart_figure` (the lab's own curve chart): the class's
mean at each k, the band from the lowest to the highest student's mean, and each student's
mean as a dot; or, for a lesson no curve was sent for, the share of the lab runs' answers
that give the reference at 0, 1 and all the examples. It is shown as a PNG in an ``<img>``
(a data URI: an image, which runs no script) named in the page's language, with a table of
the same numbers beside it for screen readers and for copying. A chart is drawn once for
each content and language (:func:`chart_uri` is cached): the board reads itself again every
few seconds, and an unchanged curve is not drawn again. Every text a student wrote (a task
as a title, names) is escaped (:mod:`playground.ui.inert_html`); none is drawn in the image.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from functools import lru_cache

from playground.classroom.curves import REFERENCE, ClassCurve
from playground.ui.curve_chart import Line, chart_figure
from playground.ui.i18n import tr
from playground.ui.inert_html import Markup, esc, fill, name

CHARTS_KEPT = 64  # charts kept drawn (a few per room on the board)
DPI = 80  # 720 x 416 pixels, scaled to the board's width; some 40 to 50 kB a chart


@lru_cache(maxsize=CHARTS_KEPT)
def chart_uri(curve: ClassCurve, lang: str) -> str:
    """The chart of ``curve`` as a PNG data URI, its texts in ``lang``."""
    points = curve.points()
    if curve.metric == REFERENCE:
        line = Line(tr("room_curve_counted", lang), points)
    else:
        dots = [(p.shots, p.mean) for c in curve.students for p in c.points]
        line = Line(tr("room_curve_class", lang), points, dots)
    metric = tr(f"cv_metric_{curve.metric}", lang)
    figure = chart_figure([line], [p.shots for p in points], metric, tr("room_curve_title", lang), lang)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _table(curve: ClassCurve, lang: str) -> str:
    """The chart's numbers: a row per k (mean, lowest, highest, students; or the share of answers that give it)."""
    if curve.metric == REFERENCE:
        columns = ["cv_shots", "cv_metric_reference", "room_curve_answers"]
        rows = [[k, f"{100 * g / a:.1f}", f"{g} / {a}"] for k, g, a in curve.counts if a]
    else:
        columns = ["cv_shots", "cv_mean", "cv_low", "cv_high", "room_curve_students"]
        rows = [[p.shots, f"{p.mean:.1f}", f"{p.low:.1f}", f"{p.high:.1f}", p.runs] for p in curve.points()]
    head = "".join(f'<th scope="col">{esc(tr(c, lang))}</th>' for c in columns)
    body = "".join(
        f'<tr><th scope="row">{esc(row[0])}</th>' + "".join(f"<td>{esc(v)}</td>" for v in row[1:]) + "</tr>"
        for row in rows
    )
    caption = fill("room_curve_table", lang, title=curve.title)
    return (
        f'<table class="pg-curve-table"><caption>{caption}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def _chart(curve: ClassCurve, index: int, lang: str) -> str:
    metric = tr(f"cv_metric_{curve.metric}", lang)
    if curve.metric == REFERENCE:
        head = fill("room_curve_head_counted", lang, title=curve.title)
        who = ""
    else:
        low, high = curve.tests()
        tests = str(low) if low == high else f"{low}–{high}"
        count = len(curve.students)
        head = fill("room_curve_head", lang, title=curve.title, metric=metric, students=count, tests=tests)
        names = Markup(", ".join(name(c.student) for c in curve.students))
        who = f'<div class="pg-curve-who">{fill("room_curve_who", lang, names=names)}</div>'
    alt = esc(tr("room_curve_chart", lang).format(title=curve.title, metric=metric))
    image = f'<img class="pg-curve-chart" alt="{alt}" src="{chart_uri(curve, lang)}">'
    return (
        f'<div class="pg-curve" id="pg-curve-{index}"><div class="pg-curve-head">{head}</div>'
        f'<div class="pg-curve-body">{image}{_table(curve, lang)}</div>{who}</div>'
    )


def class_curves_html(curves: Sequence[ClassCurve], lang: str) -> str:
    """Every chart of the board, in its order ("" when there is none)."""
    return "".join(_chart(curve, i, lang) for i, curve in enumerate(curves))
