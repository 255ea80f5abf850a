"""What the model could have written: each token's probability, raw and as sampled, and its alternatives.

Two distributions matter at every step of a generation:

- the **raw** one, the model's softmax at temperature 1 with no filter ("how sure was the
  model?"), and
- the **adjusted** one, the distribution the token was actually drawn from, after the
  request's repetition controls, temperature, top-k and top-p (a greedy request puts all
  of its mass on the argmax).

:func:`distributions` computes both from one line of logits and the processed scores the
sampler uses; the lab's next-token view (:mod:`playground.serving.inspection`) and the per-token
record of a generation (:func:`record_choice`, called by the batcher for the row that chose
the token, from the logits it already has) share it. :func:`candidates` ranks the tokens
worth showing: the raw top and the adjusted top, together.

The batcher's worker only computes numbers (:class:`Choice`); the reader of the stream
names the tokens (:meth:`Choice.named`), so decoding pieces never slows a batch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

TOP = 10  # alternatives kept from each distribution


@dataclass(frozen=True)
class NextToken:
    """One candidate token at one position."""

    id: int  # token id
    piece: str  # its text, decoded alone ("\ufffd" where it splits a character)
    probability: float  # under the raw model distribution (temperature 1, no filter)
    adjusted: float  # after the settings' penalties, temperature, top-k and top-p (0 = filtered out)


def token_piece(tokenizer: Any, token_id: int) -> str:
    """The text of one token decoded alone, special tokens included."""
    return tokenizer.decode([token_id], skip_special_tokens=False, clean_up_tokenization_spaces=False)


@dataclass(frozen=True)
class TokenRecord:
    """One generated token: how likely it was, raw and as sampled, and what else the model offered."""

    token: NextToken  # the token written
    logprob: float  # its natural log-probability under the raw distribution
    forced: bool  # True when the request imposed it (a branch's prefix or chosen token)
    alternatives: tuple[NextToken, ...]  # raw top and adjusted top together, most likely (adjusted, then raw) first

    def to_dict(self) -> dict[str, object]:
        """A JSON-friendly mapping (for the API)."""
        token = self.token
        return {
            "id": token.id,
            "piece": token.piece,
            "probability": token.probability,
            "adjusted": token.adjusted,
            "logprob": self.logprob,
            "forced": self.forced,
            "alternatives": [
                {"id": a.id, "piece": a.piece, "probability": a.probability, "adjusted": a.adjusted}
                for a in self.alternatives
            ],
        }


@dataclass(frozen=True)
class Choice:
    """What the batcher's worker records when a row writes a token: numbers only."""

    token_id: int
    logprob: float  # raw log-probability of the token
    probability: float  # raw probability of the token
    adjusted: float  # its probability under the distribution sampled from
    forced: bool
    ids: tuple[int, ...]  # the candidates, ranked
    probabilities: tuple[float, ...]  # their raw probabilities
    adjusted_probabilities: tuple[float, ...]  # their adjusted probabilities

    def named(self, piece: Callable[[int], str]) -> TokenRecord:
        """The record with each token's text, ``piece(id)``."""
        token = NextToken(self.token_id, piece(self.token_id), self.probability, self.adjusted)
        alternatives = tuple(
            NextToken(i, piece(i), p, a)
            for i, p, a in zip(self.ids, self.probabilities, self.adjusted_probabilities, strict=True)
        )
        return TokenRecord(token, self.logprob, self.forced, alternatives)


def distributions(logits: torch.Tensor, scores: torch.Tensor, greedy: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """(raw log-probabilities, adjusted probabilities), each of shape (vocab,), from one line.

    ``logits`` is the model's line (1, vocab); ``scores`` the processed scores the sampler
    used. Greedy decoding puts all the adjusted mass on the argmax of ``scores``.
    """
    raw = torch.log_softmax(logits.float(), dim=-1)[0]
    if greedy:
        adjusted = torch.zeros_like(raw)
        adjusted[int(torch.argmax(scores, dim=-1)[0])] = 1.0
    else:
        adjusted = torch.softmax(scores.float(), dim=-1)[0]
    return raw, adjusted


def candidates(raw: torch.Tensor, adjusted: torch.Tensor, top: int = TOP) -> list[int]:
    """The ``top`` most likely tokens of each distribution together, ranked by adjusted then raw probability.

    Tokens the settings filtered out (adjusted probability 0) only come from the raw top.
    """
    likely = torch.topk(adjusted, top)
    kept = likely.indices[likely.values > 0].tolist()  # not the tokens the settings filtered out
    ids = dict.fromkeys(torch.topk(raw, top).indices.tolist() + kept)
    adjusted_of = dict(zip(ids, adjusted[list(ids)].tolist(), strict=True))
    raw_of = dict(zip(ids, raw[list(ids)].tolist(), strict=True))
    return sorted(ids, key=lambda i: (-adjusted_of[i], -raw_of[i]))


def record_choice(
    token: int, logits: torch.Tensor, scores: torch.Tensor, greedy: bool, forced: bool = False, top: int = TOP
) -> Choice:
    """The :class:`Choice` of ``token`` at a step whose model line is ``logits`` and processed scores ``scores``."""
    raw, adjusted = distributions(logits, scores, greedy)
    ranked = candidates(raw, adjusted, top)
    index = torch.tensor(ranked, device=raw.device)
    return Choice(
        token_id=token,
        logprob=float(raw[token]),
        probability=float(raw[token].exp()),
        adjusted=float(adjusted[token]),
        forced=forced,
        ids=tuple(ranked),
        probabilities=tuple(raw[index].exp().tolist()),
        adjusted_probabilities=tuple(adjusted[index].tolist()),
    )


@dataclass(frozen=True)
class AnswerScore:
    """Numbers a teacher can say aloud about an answer: how likely the model found it."""

    tokens: int  # tokens scored
    logprob: float  # total natural log-probability under the raw distribution
    mean_logprob: float  # per token
    perplexity: float  # exp(-mean_logprob): "as unsure as choosing among this many tokens"


def score(records: Sequence[TokenRecord]) -> AnswerScore | None:
    """The total and per-token log-probability of ``records`` and their perplexity; None when empty."""
    if not records:
        return None
    total = math.fsum(r.logprob for r in records)
    mean = total / len(records)
    return AnswerScore(len(records), total, mean, math.exp(-mean))
