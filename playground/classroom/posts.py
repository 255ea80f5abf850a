"""A run a student sends to the room: which tab, its setup as the share link carries it, its answers.

The link is the share link's query string (:mod:`playground.lessons.deep_links`:
:func:`~playground.lessons.deep_links.lab_link` for a lab run,
:func:`~playground.lessons.deep_links.pair_link` for George Sand and Instructions) and is read
back with :func:`~playground.lessons.deep_links.from_query`: a link with any parameter that would be
dropped, or of another tab, is refused. Every text is bounded (``max_link_chars``,
``max_prompt_chars``, ``max_answer_chars``) and checked for valid Unicode.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from playground.classroom.errors import ClassroomInputError
from playground.classroom.limits import ClassroomLimits
from playground.config_checks import check_text
from playground.lessons.deep_links import SharedSetup, first_values, from_query
from playground.lessons.presets import Preset
from playground.messages import Message
from playground.models.registry import Registry

# the answers each kind of run has, in the order its tab shows them
ANSWERS: dict[str, tuple[str, ...]] = {
    "lab": ("zero", "one", "few"),
    "style": ("base", "adapter"),
    "instructions": ("base", "adapter"),
}


def bounded_text(field: str, value: Any, limit: int, *, required: bool = False) -> str:
    """``value`` as a string of valid Unicode of at most ``limit`` characters (not blank when ``required``)."""
    if value is None and not required:
        return ""
    text = check_text(field, value)
    if len(text) > limit:
        raise ClassroomInputError(Message("too_long_chars", field=field, limit=limit, count=len(text)))
    if required and not text.strip():
        raise ClassroomInputError(Message("empty", field=field))
    return text


@dataclass(frozen=True)
class PostContent:
    """A run as the room keeps it; build with :meth:`checked`."""

    kind: str  # lab, style, instructions
    link: str  # "?tab=lab&..." as the share link writes it
    prompt: str  # a lab run's query; a pair tab's opening or instruction
    answers: dict[str, str]  # ANSWERS[kind] -> text
    lesson: str | None  # a lab run of a preset's own question: the preset's id

    @classmethod
    def checked(
        cls, kind: Any, link: Any, prompt: Any, answers: Any, *,
        registry: Registry, presets: Mapping[str, Preset], limits: ClassroomLimits,
    ) -> PostContent:  # fmt: skip
        """The run, every field checked (ClassroomInputError naming the first bad one)."""
        if kind not in ANSWERS:
            raise ClassroomInputError(Message("room_bad_kind", field="kind", value=kind, choices=", ".join(ANSWERS)))
        text = bounded_text("link", link, limits.max_link_chars, required=True)
        setup = _setup(text, kind, registry, presets)
        checked = _answers(kind, answers, limits.max_answer_chars)
        if kind == "lab":
            prompt = setup.query or ""
        prompt = bounded_text("prompt", prompt, limits.max_prompt_chars, required=kind != "lab")
        lesson = None
        if kind == "lab" and setup.preset is not None and prompt == presets[setup.preset].query:
            lesson = setup.preset
        return cls(kind, "?" + text.lstrip("?"), prompt, checked, lesson)

    def answers_json(self) -> str:
        """The answers as the database keeps them."""
        return json.dumps(self.answers, ensure_ascii=False)

    def size(self) -> int:
        """UTF-8 bytes it takes in the room (counted against ``max_room_bytes``)."""
        return sum(len(t.encode("utf-8")) for t in (self.link, self.prompt, self.answers_json()))


def _setup(link: str, kind: str, registry: Registry, presets: Mapping[str, Preset]) -> SharedSetup:
    """The setup a posted link carries; refused when a parameter would be dropped or the tab is another."""
    setup = from_query(parse_qsl(link.lstrip("?"), keep_blank_values=True), registry, presets)
    if setup.warnings:
        raise ClassroomInputError(Message("room_bad_link", field="link", reason=setup.warnings[0]))
    if setup.tab != kind:
        raise ClassroomInputError(Message("room_link_tab", field="link", tab=setup.tab or "", kind=kind))
    return setup


def _answers(kind: str, answers: Any, limit: int) -> dict[str, str]:
    """The answers of a ``kind`` run: a mapping of its answer names to text, at least one not blank."""
    names = ANSWERS[kind]
    if isinstance(answers, str):  # an API client may send the JSON text
        try:
            answers = json.loads(answers) if len(answers) <= limit * len(names) * 2 else None
        except ValueError:
            answers = None
    if not isinstance(answers, dict) or set(answers) - set(names):
        raise ClassroomInputError(Message("room_bad_answers", field="answers", names=", ".join(names)))
    checked = {name: bounded_text(f"answers.{name}", answers.get(name), limit) for name in names}
    if not any(text.strip() for text in checked.values()):
        raise ClassroomInputError(Message("room_nothing_to_post", field="answers"))
    return checked


def read_link(link: str) -> dict[str, str]:
    """A stored (already checked) link's parameters, first values, for the board and the CSV."""
    return first_values(parse_qsl(link.lstrip("?"), keep_blank_values=True))


def example_count(link: str, presets: Mapping[str, Preset]) -> int:
    """How many worked examples a stored lab link's few-shot prompt has."""
    params = read_link(link)
    if "examples" in params:
        try:
            return len(json.loads(params["examples"]))
        except ValueError:
            return 0
    preset = presets.get(params.get("preset", ""))
    return len(preset.examples) if preset is not None else 0
