"""Zero-, one- and few-shot prompts, in the format of the GPT-3 paper ("Language Models are Few-Shot Learners").

    Translate English to French:        <- task description
    sea otter => loutre de mer          <- examples ("shots"), one per line
    peppermint => menthe poivrée
    cheese =>                           <- the query; the model writes the answer

With no example the prompt is zero-shot, with one it is one-shot, with several few-shot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from playground.messages import Message
from playground.settings import check_text

if TYPE_CHECKING:
    from playground.models.registry import Limits

SHOT_NAMES = {0: "zero-shot", 1: "one-shot"}


@dataclass(frozen=True)
class Shot:
    """One worked example: an input and the expected output."""

    input: str
    output: str


def shot_name(k: int) -> str:
    """'zero-shot', 'one-shot' or 'few-shot (k)'."""
    return SHOT_NAMES.get(k, f"few-shot ({k})")


def build_prompt(task: str, shots: Sequence[Shot], query: str, separator: str = " => ") -> str:
    """The exact prompt: task line, one line per shot, then the query and the separator.

    Empty parts are left out; the prompt ends with the separator stripped of trailing
    spaces, so the model's first token carries its own leading space, as in training text.
    """
    if not isinstance(query, str) or not query.strip():
        raise ValueError(Message("empty", field="query"))
    lines = [task.strip()] if task and task.strip() else []
    lines += [f"{s.input.strip()}{separator}{s.output.strip()}" for s in shots]
    lines.append(f"{query.strip()}{separator.rstrip()}")
    return "\n".join(lines)


def _is_cell(value: object) -> bool:
    """A table cell: text, a number (shown as text) or empty."""
    return value is None or (isinstance(value, (str, int, float)) and not isinstance(value, bool))


@dataclass(frozen=True)
class FewShotSetup:
    """A task, its worked examples and a query: everything a zero/one/few-shot run needs."""

    task: str  # task description, the first line ("" for none)
    examples: tuple[Shot, ...]  # worked examples, in order
    query: str  # the input the model must complete
    separator: str = " => "  # between an input and its output
    input_prefix: str = ""  # written before each input ("Q: ")

    def prompt(self, shots: int | None = None) -> str:
        """The exact prompt with the first ``shots`` examples (all when None)."""
        chosen = self.examples if shots is None else self.examples[:shots]
        prefixed = [Shot(self.input_prefix + s.input, s.output) for s in chosen]
        return build_prompt(self.task, prefixed, self.input_prefix + self.query, self.separator)

    @classmethod
    def from_rows(
        cls,
        task: str,
        rows: Sequence[Sequence[object]],
        query: str,
        separator: str = " => ",
        input_prefix: str = "",
        limits: Limits | None = None,
    ) -> FewShotSetup:
        """Build from a table of [input, output] rows (UI or API); blank rows are skipped.

        Raises ValueError naming the field (``examples[2]``, ``query``...) when a value has
        the wrong type, or when only one side of an example is filled in. With ``limits``
        (the registry's), sizes are checked first, before anything else is read: at most
        ``max_lab_examples`` rows, ``max_lab_field_chars`` characters in each field and
        cell, ``max_lab_chars`` in the task, examples and query together.
        """
        for name, value in (("task", task), ("query", query), ("separator", separator)):
            if value is not None:
                check_text(name, value)
        if rows is not None and not isinstance(rows, (list, tuple)):
            raise ValueError(Message("not_rows", field="examples", type=type(rows).__name__))
        if limits is not None:
            _check_sizes(task, rows or [], query, separator, limits)
        shots = shots_from_rows("examples", rows)
        if not query or not query.strip():
            raise ValueError(Message("empty", field="query"))
        if not separator:
            raise ValueError(Message("empty", field="separator"))
        return cls(task or "", shots, query, separator, input_prefix)

    def shot_counts(self) -> list[int]:
        """The comparison a class sees: zero, one and all examples (without repeats)."""
        return sorted({0, min(1, len(self.examples)), len(self.examples)})


def shots_from_rows(name: str, rows: object) -> tuple[Shot, ...]:
    """A table of [input, output] rows (UI or API) as shots; blank rows are skipped.

    Raises ValueError naming the row (``name[2]``) when a value has the wrong type, or when
    only one side of a row is filled in. Sizes are checked before (:func:`check_row_count`,
    :func:`row_chars`).
    """
    if rows is not None and not isinstance(rows, (list, tuple)):
        raise ValueError(Message("not_rows", field=name, type=type(rows).__name__))
    shots = []
    for i, row in enumerate(rows or []):
        if not isinstance(row, (list, tuple)) or not all(_is_cell(c) for c in row):
            raise ValueError(Message("not_rows", field=f"{name}[{i}]", type=type(row).__name__))
        cells = ["" if c is None else check_text(f"{name}[{i}]", str(c)).strip() for c in list(row)[:2]]
        cells += ["", ""]
        inp, out = cells[0], cells[1]
        if not inp and not out:
            continue
        if not inp or not out:
            raise ValueError(Message("example_half", field=f"{name}[{i}]"))
        shots.append(Shot(inp, out))
    return tuple(shots)


def check_row_count(name: str, rows: Sequence[object], limit: int) -> None:
    """Refuse a table of more than ``limit`` rows (ValueError naming ``name``), reading none of them."""
    if len(rows) > limit:
        raise ValueError(Message("too_many_rows", field=name, limit=limit, count=len(rows)))


def row_chars(name: str, rows: Sequence[object], field_limit: int) -> int:
    """The characters of a table's cells, each at most ``field_limit`` (else ValueError naming ``name[i]``)."""
    total = 0
    for i, row in enumerate(rows):
        for cell in row[:2] if isinstance(row, (list, tuple)) else ():
            if isinstance(cell, str) and len(cell) > field_limit:
                raise ValueError(Message("too_long_chars", field=f"{name}[{i}]", limit=field_limit, count=len(cell)))
            total += len(cell) if isinstance(cell, str) else 0
    return total


def _check_sizes(task: object, rows: Sequence[object], query: object, separator: object, limits: Limits) -> None:
    """Refuse a lab setup larger than the registry's limits (ValueError naming the field), reading no more."""
    check_row_count("examples", rows, limits.max_lab_examples)
    field_limit = limits.max_lab_field_chars
    total = 0
    for name, value in (("task", task), ("query", query), ("separator", separator)):
        if isinstance(value, str):
            if len(value) > field_limit:
                raise ValueError(Message("too_long_chars", field=name, limit=field_limit, count=len(value)))
            total += len(value) if name != "separator" else 0
    total += row_chars("examples", rows, field_limit)
    if total > limits.max_lab_chars:
        raise ValueError(Message("lab_too_long", field="examples", limit=limits.max_lab_chars, count=total))
