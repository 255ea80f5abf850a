"""The classroom's typed errors; each carries a :class:`~playground.messages.Message` (EN and FR)."""

from __future__ import annotations

from playground.errors import PlaygroundError


class ClassroomError(PlaygroundError):
    """Base of every error the classroom raises on purpose."""


class ClassroomInputError(ClassroomError, ValueError):
    """A field of a request is not valid (too long, wrong type, unknown choice); the message names it."""


class RoomAccessError(ClassroomError):
    """No open room matches the code and key given (wrong, expired, or closed: the message never says which)."""


class RoomLimitError(ClassroomError):
    """A bound was reached: rooms per visitor, students or runs per room, posts per minute, wrong tries."""


class VoteError(ClassroomError):
    """A vote cannot be started, cast or closed now (one is already open, none is, already voted)."""


class StorageError(ClassroomError):
    """The database cannot take the request now (full disk, locked, unreachable); nothing already stored is lost."""
