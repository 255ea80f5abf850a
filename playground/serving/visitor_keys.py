"""Who asks: the key under which the engine shares a model's batch fairly between visitors.

A visitor is a session (one page, or one API client) and, where known, the client address
it comes from. The batcher bounds the rows of one session (``limits.max_rows_per_visitor``)
and of one address (``limits.max_rows_per_address``): many sessions opened from one address
cannot take every row, while a classroom behind one address still shares most of them.
A plain string stands for a session whose address is unknown.
"""

from __future__ import annotations

from typing import NamedTuple


class Visitor(NamedTuple):
    """A session and the client address it comes from (None when unknown)."""

    session: str
    address: str | None = None


def address_of(visitor: Visitor | str | None) -> str | None:
    """The client address of a visitor; None for a plain session key or an unknown one."""
    return visitor.address if isinstance(visitor, Visitor) else None
