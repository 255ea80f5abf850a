"""A generated token's record from a server's log-probabilities (the remote backend's token explorer).

An OpenAI-compatible server such as vLLM answers ``logprobs: N`` with, for every generated
token, its log-probability and the ``N`` most likely tokens' (vLLM: the raw distribution,
before the request's penalties, temperature and filters; the chosen token is always among
them). :func:`choice_from_logprobs` turns one such step into the same
:class:`~playground.serving.token_record.Choice` the local batcher records, so the explorer shows a
remote answer as it shows a local one:

- the raw probabilities are the server's, exact;
- the adjusted ones (the distribution the token was drawn from) are the request's settings
  applied here to the server's candidates only (the rest of the vocabulary is unknown), so
  they are an estimate: :class:`~playground.serving.backend.Capabilities` ``exact_adjusted`` is
  False and the explorer says so. A greedy answer puts all the adjusted mass on the token
  the server chose.

Only numbers are computed here, on a tensor of the candidates (not the vocabulary), so the
stream's reader thread stays cheap; the reader of the stream names the tokens.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace

import torch

from playground.serving.sampling import build_processors
from playground.serving.token_record import TOP, Choice, candidates
from playground.settings import GenerationSettings

TOP_LOGPROBS = 20  # the candidates asked of a server per step (vLLM's default --max-logprobs)


def choice_from_logprobs(
    token_id: int,
    logprobs: Mapping[int, float],
    context: Sequence[int],
    settings: GenerationSettings,
    top: int = TOP,
) -> Choice:
    """The :class:`Choice` of ``token_id`` from the server's top ``logprobs`` ({id: raw log-probability}).

    ``context`` is the prompt and the tokens generated before this one (for the repetition
    penalty); ``settings`` those the server applied (settings it ignores must be left at
    their defaults by the caller).
    """
    ids = list(dict.fromkeys([*logprobs, token_id]))
    slot = {t: k for k, t in enumerate(ids)}
    other = len(ids)  # one slot for the tokens the server did not name: the rest of the raw mass
    raw = torch.full((other + 1,), float("-inf"))
    for t, lp in logprobs.items():
        raw[slot[t]] = float(lp)
    rest = 1.0 - float(raw[:other].exp().sum())
    if rest > 1e-9:
        raw[other] = math.log(rest)
    with torch.inference_mode():
        if settings.greedy:
            adjusted = torch.zeros_like(raw)
            adjusted[slot[token_id]] = 1.0
        else:
            adjusted = _sampled(raw, [slot.get(t, other) for t in context], settings, other)
    raw[other] = float("-inf")  # never a candidate
    ranked = [k for k in candidates(raw, adjusted, min(top, other)) if k != other]
    return Choice(
        token_id=token_id,
        logprob=float(raw[slot[token_id]]),
        probability=float(raw[slot[token_id]].exp()),
        adjusted=float(adjusted[slot[token_id]]),
        forced=False,
        ids=tuple(ids[k] for k in ranked),
        probabilities=tuple(float(raw[k].exp()) for k in ranked),
        adjusted_probabilities=tuple(float(adjusted[k]) for k in ranked),
    )


def _sampled(raw: torch.Tensor, seen: list[int], settings: GenerationSettings, other: int) -> torch.Tensor:
    """The distribution sampled from, over the candidates and the ``other`` slot (the rest of the vocabulary).

    The repetition penalty and the temperature are transformers' processors (as the local
    engine's); top-k and top-p are applied here, knowing that every token of the ``other``
    slot is less likely than every candidate: top-k within the candidates removes them all,
    and top-p counts their mass after the candidates'.
    """
    penalties = replace(settings, top_k=0, top_p=1.0)
    scores = build_processors(penalties)(torch.tensor([seen], dtype=torch.long), raw.clone().unsqueeze(0))[0]
    probs = torch.softmax(scores, dim=-1).nan_to_num(0.0)
    order = torch.argsort(probs[:other], descending=True).tolist()  # the candidates, most likely first
    if 0 < settings.top_k <= len(order):  # the top k are candidates: the rest of the vocabulary goes
        probs[order[settings.top_k :]] = 0.0
        probs[other] = 0.0
        order = order[: settings.top_k]
    probs = probs / probs.sum()
    if settings.top_p < 1.0:  # the smallest most-likely set holding top_p of the mass
        kept = 0.0
        for k in order:
            if kept >= settings.top_p:
                probs[k] = 0.0
            kept += float(probs[k])
        if kept >= settings.top_p:
            probs[other] = 0.0
        probs = probs / probs.sum()
    return probs
