"""Looking inside a prompt: its tokens, and the model's next-token distribution.

For the prompting lab: :func:`prompt_tokens` shows how the tokenizer splits the exact
prompt (ids and pieces, as a tokenization exercise shows them); :func:`next_token_distribution` gives
the most likely next tokens at the end of the prompt, before and after temperature, top-k
and top-p reshape the distribution, with the same processors the engine samples with and
the same computation as the per-token record of a generation (:mod:`playground.serving.token_record`).

A prompt longer than the model's context is cut like a generation's (:func:`fit_context`:
its start is dropped, a warning says so), and the forward pass computes logits for the
last position only: the one shown.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from playground.messages import Message
from playground.serving.forward_jobs import LogitsJob
from playground.serving.requests import NextTokensRequest
from playground.serving.sampling import build_processors
from playground.serving.token_record import NextToken, candidates, distributions, token_piece
from playground.serving.visitor_keys import Visitor
from playground.settings import GenerationSettings

if TYPE_CHECKING:
    from playground.models.loader import LoadedModel
    from playground.serving.batching import Batcher


@dataclass(frozen=True)
class TokenPiece:
    """One token of a prompt: its id and the text it stands for."""

    id: int  # token id in the vocabulary
    piece: str  # the text of this token alone ("\ufffd" parts when it splits a character)
    special: bool  # a special token such as <|im_start|>


def prompt_tokens(tokenizer: Any, ids: list[int]) -> list[TokenPiece]:
    """The pieces of ``ids``, each decoded on its own (so splits inside words show)."""
    special = set(getattr(tokenizer, "all_special_ids", []) or [])
    return [TokenPiece(i, token_piece(tokenizer, i), i in special) for i in ids]


def fit_context(ids: list[int], context_length: int, model: str) -> tuple[list[int], Message | None]:
    """``ids`` cut to the last ``context_length - 1`` tokens (room for the next one), and the warning if cut."""
    room = context_length - 1
    if len(ids) <= room:
        return ids, None
    warning = Message("inspect_truncated", total=len(ids), kept=room, model=model, context=context_length)
    return ids[-room:], warning


def next_token_distribution(
    loaded: LoadedModel, request: NextTokensRequest, batcher: Batcher | None = None
) -> list[NextToken]:
    """The ``top`` most likely next tokens after the request's ids, raw and as its settings reshape them.

    Greedy settings (temperature 0) put all the adjusted mass on the argmax. With the
    model's ``batcher``, the forward pass is a job of its steps (see :func:`last_logits`).
    """
    ids, top = list(request.ids), request.top
    if not ids:
        raise ValueError(Message("no_tokens", field="prompt"))
    if not isinstance(top, int) or not 1 <= top <= 100:
        raise ValueError(f"top: {top!r} must be an integer in [1, 100]")
    if len(ids) >= loaded.spec.context_length:
        limit = loaded.spec.context_length - 1
        raise ValueError(Message("too_many_tokens", field="prompt", limit=limit, count=len(ids)))
    logits = last_logits(loaded, ids, request.adapter, request.visitor, request.cancel, batcher)
    return rank_next_tokens(loaded.tokenizer, torch.tensor([ids], device=loaded.device), logits, request.settings, top)


def rank_next_tokens(
    tokenizer: Any, input_ids: torch.Tensor, logits: torch.Tensor, settings: GenerationSettings, top: int
) -> list[NextToken]:
    """The ``top`` candidates of ``logits`` (1, vocab): raw probabilities, and as the settings reshape them.

    ``logits`` may be log-probabilities, with ``-inf`` for the tokens a server did not
    return (those are never candidates).
    """
    with torch.inference_mode():
        scores = build_processors(settings)(input_ids, logits.clone())
        raw, adjusted = distributions(logits, scores, settings.greedy)
        probabilities = raw.exp()
    return [
        NextToken(i, token_piece(tokenizer, i), float(probabilities[i]), float(adjusted[i]))
        for i in candidates(raw, adjusted, top)[:top]
        if float(probabilities[i]) > 0 or float(adjusted[i]) > 0
    ]


def last_logits(
    loaded: LoadedModel,
    ids: list[int],
    adapter: str | None,
    visitor: Visitor | str | None = None,
    cancel: threading.Event | None = None,
    batcher: Batcher | None = None,
) -> torch.Tensor:
    """The model's logits (1, vocab) for the token after ``ids``, computed for that position only.

    With the model's ``batcher`` (the local backend's), a job of its steps: the prompt is
    fed in chunks between the decode steps of the generating rows, never around them.
    """
    loaded.forward_kwargs(adapter)  # refuses an adapter that failed to attach
    if batcher is not None:
        job = LogitsJob(ids, adapter, visitor, cancel=cancel)
        return batcher.run_job(job)
    kwargs = {"logits_to_keep": 1} if loaded.supports_logits_to_keep else {}
    input_ids = torch.tensor([ids], device=loaded.device)
    with torch.inference_mode():
        return loaded.forward_rows([adapter], input_ids=input_ids, **kwargs).logits[:, -1, :].float()
