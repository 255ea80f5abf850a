"""Inert HTML from text that students, teachers or models wrote: escaped text, translated sentences, names.

Every text goes through :func:`html.escape` as element text or as a quoted attribute; a
translated sentence is escaped and filled with escaped values (:func:`fill`); a name sits in
a ``<bdi>``, so a right-to-left name cannot reorder the text around it.
"""

from __future__ import annotations

import html
from typing import Any

from playground.ui.i18n import tr


class Markup(str):
    """HTML built from escaped parts: :func:`fill` puts it in as it is."""


def esc(text: Any) -> str:
    """``text`` as inert HTML text (quotes escaped too: safe in an attribute)."""
    return html.escape(str(text), quote=True)


def fill(key: str, lang: str, **params: Any) -> Markup:
    """The sentence ``key`` in ``lang``, escaped, with each value escaped (a :class:`Markup` value as it is)."""
    return Markup(esc(tr(key, lang)).format(**{k: v if isinstance(v, Markup) else esc(v) for k, v in params.items()}))


def name(student: str) -> Markup:
    """A student's name, isolated from the text around it."""
    return Markup(f"<bdi>{esc(student)}</bdi>")
