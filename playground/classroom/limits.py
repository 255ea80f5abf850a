"""The classroom's bounds, declared once: what one room, one student and one visitor may hold (docs/serving.md)."""

from __future__ import annotations

from dataclasses import dataclass

HOUR_S = 3600.0


@dataclass(frozen=True)
class ClassroomLimits:
    """Every bound of the classroom; a request past one is refused with a message naming the field."""

    room_ttl_s: float = 12 * HOUR_S  # a room (and all it holds) is deleted this long after it opens
    max_open_rooms: int = 1_000  # rooms open at once on the server
    max_open_rooms_per_visitor: int = 10  # rooms one client address (or session) has open at once
    max_title_chars: int = 80  # a room's title
    max_name_chars: int = 32  # a student's display name
    max_members_per_room: int = 200  # students who joined one room
    max_posts_per_member: int = 300  # runs one student posts in one room
    max_posts_per_minute: int = 20  # runs one student posts in any 60 seconds
    max_posts_per_room: int = 3_000  # runs one room holds
    max_room_bytes: int = 8_000_000  # UTF-8 bytes of the runs one room holds (links, prompts, answers)
    max_link_chars: int = 24_000  # a posted run's setup link
    max_prompt_chars: int = 4_000  # a posted run's prompt (an opening, an instruction); a vote's prompt
    max_answer_chars: int = 8_000  # each answer of a posted run or of a vote
    max_curve_points: int = 32  # points (numbers of examples k) of a posted shot curve
    max_label_chars: int = 40  # the teacher's name for each side of a vote ("base", "adapter")
    max_failed_lookups: int = 60  # wrong codes or keys of one visitor in lookup_window_s; past it, it joins no room
    lookup_window_s: float = 600.0  # the window of max_failed_lookups
    sweep_every_s: float = 60.0  # expired rooms are deleted at most this often (and at start)
