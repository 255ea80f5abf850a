"""Branching: what if the model had written another token here?

A :class:`Branch` names an answer (its token ids), a position in it and the token to write
there instead. The branched generation writes the answer's tokens before that position,
then the chosen token, then continues on its own with the same prompt, settings and seed.

Everything is in token ids, so the branch is exact: no text is re-tokenized. The tokens
before the branch point are written one per decode step, and the request's seeded
generator draws at each of them as it did in the original generation (the draw is then
replaced by the forced token), so after the chosen token the branch samples from the very
random stream the original used: only the chosen token differs. A greedy branch is simply
the greedy continuation of the new prefix.

:meth:`Branch.checked` validates a branch against the model and the settings before any
work, naming the bad field (``answer_ids[3]``, ``position``, ``token``) in English and
French like every other input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from playground.errors import SettingsError
from playground.messages import Message
from playground.settings import GenerationSettings, check_integer


@dataclass(frozen=True)
class Branch:
    """Branch ``answer_ids`` at ``position``: keep the tokens before it, write ``token`` there, go on."""

    answer_ids: tuple[int, ...]  # the generated token ids of the answer being branched
    position: int  # index in answer_ids of the token replaced (0 = the first generated token)
    token: int  # the token id written at ``position``

    def checked(self, vocab: int, name: str, settings: GenerationSettings) -> Branch:
        """A normalised copy, or SettingsError naming the first bad field (nothing changes).

        ``vocab`` is the model's vocabulary size (``Handle.vocab_size``), ``name`` its registry name.
        """
        ids = self.answer_ids
        if isinstance(ids, str) or not isinstance(ids, (list, tuple)):
            raise SettingsError(Message("not_a_token_list", field="answer_ids", type=type(ids).__name__))
        if len(ids) > settings.max_new_tokens:
            raise SettingsError(
                Message("too_many_token_ids", field="answer_ids", limit=settings.max_new_tokens, count=len(ids))
            )
        answer = tuple(_token(f"answer_ids[{i}]", v, vocab, name) for i, v in enumerate(ids))
        last = min(len(answer), settings.max_new_tokens - 1)
        position = check_integer("position", self.position, 0, last)
        return Branch(answer, position, _token("token", self.token, vocab, name))

    def forced_ids(self) -> list[int]:
        """The tokens the branched generation writes before it continues on its own."""
        return [*self.answer_ids[: self.position], self.token]


def _token(field: str, value: Any, vocab: int, model: str) -> int:
    """``value`` as a token id of the model, or SettingsError naming ``field``."""
    number = check_integer(field, value, -(2**63), 2**63 - 1)
    if not 0 <= number < vocab:
        raise SettingsError(Message("not_a_token", field=field, value=value, model=model, last=vocab - 1))
    return number
