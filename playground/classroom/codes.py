"""Room codes, teacher and student keys: unguessable, from :mod:`secrets`, and only their hashes kept.

A room code is 8 characters of an alphabet with nothing to misread on a board (no I, L, O,
U, 0 or 1): 30**8, about 6.6e11 codes (39 bits). It is what students type, so it is short;
guessing one is bounded by the visitor's wrong-try limit (``max_failed_lookups``), and a
code alone lets a visitor join and post, never read anyone else's runs. Keys (the teacher's,
each student's) are 192 random bits; the database keeps their SHA-256, so a copy of it
opens no room.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import Any

from playground.classroom.errors import ClassroomInputError
from playground.config_checks import check_text
from playground.messages import Message

ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
CODE_CHARS = 8
CODE_RE = re.compile(rf"^[{ALPHABET}]{{{CODE_CHARS}}}$")
KEY_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
MAX_CODE_INPUT = 32  # characters of a typed code, spaces and dashes included


def new_code() -> str:
    """A fresh room code (8 characters of :data:`ALPHABET`)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_CHARS))


def shown(code: str) -> str:
    """A code as written on the board: ``ABCD-EFGH``."""
    half = len(code) // 2
    return f"{code[:half]}-{code[half:]}"


def read_code(value: Any, field: str = "code") -> str:
    """A typed code as stored: capitals, without spaces or dashes; ClassroomInputError when it cannot be one."""
    typed = check_text(field, value)
    if len(typed) > MAX_CODE_INPUT:
        raise ClassroomInputError(Message("too_long_chars", field=field, limit=MAX_CODE_INPUT, count=len(typed)))
    code = re.sub(r"[\s-]", "", typed).upper()
    if not CODE_RE.match(code):
        raise ClassroomInputError(Message("room_bad_code", field=field, value=typed, chars=CODE_CHARS))
    return code


def new_key() -> str:
    """A fresh key: 192 random bits, URL-safe."""
    return secrets.token_urlsafe(24)


def key_hash(key: str) -> str:
    """What the database keeps of a key."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def well_formed_key(value: Any) -> str | None:
    """``value`` when it has a key's shape, else None (it then matches nothing)."""
    return value if isinstance(value, str) and KEY_RE.match(value) else None


def same_key(key: str, stored_hash: str) -> bool:
    """Whether ``key`` hashes to ``stored_hash`` (compared in constant time)."""
    return hmac.compare_digest(key_hash(key), stored_hash)


def visitor_hash(secret: str, visitor: str) -> str:
    """The keyed hash a room keeps of the visitor who opened it (to count their open rooms)."""
    return hmac.new(secret.encode("utf-8"), visitor.encode("utf-8"), hashlib.sha256).hexdigest()


def side_flipped(salt: str, member_id: int) -> bool:
    """Whether a student sees a vote's second side as A: a keyed coin per (vote, student), fixed for both."""
    digest = hmac.new(salt.encode("utf-8"), str(member_id).encode("ascii"), hashlib.sha256).digest()
    return bool(digest[0] & 1)
