"""Zero-, one- and few-shot prompts, in the format of the GPT-3 paper (seed 004).

    Translate English to French:        <- task description
    sea otter => loutre de mer          <- examples ("shots"), one per line
    peppermint => menthe poivrée
    cheese =>                           <- the query; the model writes the answer

With no example the prompt is zero-shot, with one it is one-shot, with several few-shot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

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
        raise ValueError("query: must not be empty")
    lines = [task.strip()] if task and task.strip() else []
    lines += [f"{s.input.strip()}{separator}{s.output.strip()}" for s in shots]
    lines.append(f"{query.strip()}{separator.rstrip()}")
    return "\n".join(lines)
