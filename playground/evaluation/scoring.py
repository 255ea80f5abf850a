"""Score held-out examples with a loaded model (optionally through one of its adapters).

For every labelled position, the negative log-likelihood of the true next token and the
model's argmax prediction are collected; :func:`summarise` turns them into perplexity and
next-token accuracy with the project's ``evaluate`` modules.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch

from playground.data.examples import Example, batches, collate
from playground.evaluation.metric_loader import load_metric
from playground.messages import Message
from playground.models.prompt_styles import encode_text
from playground.serving.backend import TokenScores
from playground.serving.visitor_keys import Visitor
from playground.settings import check_text

if TYPE_CHECKING:
    from playground.engine import Engine
    from playground.models.loader import LoadedModel
    from playground.serving.batching import Batcher

__all__ = ["TokenScores", "check_size", "score", "score_examples", "score_text", "summarise", "text_examples"]


def score_examples(
    model: Any, examples: list[Example], pad_id: int, batch_size: int = 8, forward_kwargs: dict | None = None
) -> TokenScores:
    """Run ``model`` over ``examples`` (no gradients) and collect per-token scores."""
    nll: list[float] = []
    predictions: list[int] = []
    references: list[int] = []
    start = time.perf_counter()
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            for batch_examples in batches(examples, batch_size):
                batch = collate(batch_examples, pad_id)
                kwargs = dict(forward_kwargs or {})
                if "adapter_names" in kwargs:
                    kwargs["adapter_names"] = kwargs["adapter_names"][:1] * len(batch_examples)
                logits = model(
                    input_ids=batch["input_ids"].to(model.device),
                    attention_mask=batch["attention_mask"].to(model.device),
                    **kwargs,
                ).logits.float()
                shift_logits = logits[:, :-1, :]
                targets = batch["labels"][:, 1:].to(logits.device)
                keep = targets != -100
                logprobs = torch.log_softmax(shift_logits, dim=-1)
                true_lp = logprobs.gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)
                nll += (-true_lp[keep]).tolist()
                predictions += shift_logits.argmax(-1)[keep].tolist()
                references += targets[keep].tolist()
    finally:
        model.train(was_training)
    return TokenScores(nll, predictions, references, time.perf_counter() - start)


def summarise(scores: TokenScores) -> dict[str, float]:
    """Perplexity, mean NLL, next-token accuracy, token count and seconds."""
    ppl = load_metric("perplexity").compute(nll=scores.nll)
    acc = load_metric("next_token_accuracy").compute(predictions=scores.predictions, references=scores.references)
    return {
        "perplexity": ppl["perplexity"],
        "mean_nll": ppl["mean_nll"],
        "accuracy": acc["accuracy"],
        "tokens": ppl["tokens"],
        "seconds": scores.seconds,
    }


def score(
    loaded: LoadedModel,
    adapter: str | None,
    examples: list[Example],
    batch_size: int = 8,
    visitor: Visitor | str | None = None,
    cancel: threading.Event | None = None,
    batcher: Batcher | None = None,
) -> dict[str, float]:
    """Perplexity, next-token accuracy, tokens and seconds of the base or one adapter on ``examples``.

    With the model's ``batcher`` (the local backend's), the examples are a job of its steps, one
    example a step between the decode steps of the generating rows (``batch_size`` is then
    unused); ``visitor`` is who asks; setting ``cancel`` stops it (GenerationError). Without
    one (a command line's model), the examples are scored in batches of ``batch_size``.
    """
    from playground.serving.forward_jobs import ScoreJob

    if batcher is not None:
        loaded.forward_kwargs(adapter)  # refuses an adapter that failed to attach
        job = ScoreJob([(e.input_ids, e.labels) for e in examples], adapter, visitor, cancel)
        return summarise(TokenScores(*batcher.run_job(job)))
    with loaded.forward_lock:  # PEFT's adapter_names hooks: one forward of a model at a time
        scores = score_examples(loaded.model, examples, loaded.pad_token_id, batch_size, loaded.forward_kwargs(adapter))
    return summarise(scores)


def score_text(
    engine: Engine,
    model: str,
    text: str,
    adapter: str | None = None,
    window: int = 256,
    max_windows: int = 16,
    progress: Callable[[str], None] | None = None,
    visitor: Visitor | str | None = None,
    cancel: threading.Event | None = None,
) -> dict[str, Any]:
    """Perplexity, next-token accuracy, tokens, seconds and source of a model (or adapter) on ``text``.

    Whatever serves the model (this process, a vLLM server) scores it through ``engine``. The
    text is cut into windows of ``window`` tokens (at most ``max_windows``); a text of more
    than ``limits.max_compare_chars`` characters is refused (ValueError) before any model
    loads. Raises UnsupportedError when the model's backend cannot score. Locally the windows
    are a job of the model's batcher (``visitor``'s share); setting ``cancel`` stops it
    (GenerationError).
    """
    max_chars = engine.registry.limits.max_compare_chars
    check_size(text, max_chars)
    handle = engine.prepare(model, adapter, progress)
    engine.check_scoring(model)
    examples = text_examples(handle.tokenizer, text, min(window, handle.context_length), max_windows)
    scores = engine.score(model, adapter, [(e.input_ids, e.labels) for e in examples], visitor=visitor, cancel=cancel)
    return {**summarise(scores), "source": handle.source}


def check_size(text: object, max_chars: int) -> None:
    """Refuse a text of more than ``max_chars`` characters (ValueError naming ``text``), before any work."""
    if isinstance(text, str) and len(text) > max_chars:
        raise ValueError(Message("too_long_chars", field="text", limit=max_chars, count=len(text)))


TOKEN_MARGIN = 64  # tokens read past the ones kept, so that the cut never changes a kept token


def leading_tokens(tokenizer: Any, text: str, count: int) -> list[int]:
    """The first ``count`` token ids of ``text``, tokenizing only as much of it as they need.

    A long text (Compare takes 100,000 characters) is mostly never scored: tokenizing all of
    it would cost a CPU core for seconds while others wait. The prefix read starts at four
    characters a token and doubles until it holds ``count`` tokens plus a margin (or is the
    whole text), so the tokens kept are those of the whole text.
    """
    chars = 4 * (count + TOKEN_MARGIN)
    while True:
        ids = encode_text(tokenizer, text[:chars])
        if chars >= len(text) or len(ids) >= count + TOKEN_MARGIN:
            return ids[:count]
        chars *= 2


def text_examples(
    tokenizer: Any, text: str, window: int = 256, max_windows: int = 16, max_chars: int | None = None
) -> list[Example]:
    """Cut a text into consecutive windows of ``window`` tokens (the last one may be shorter).

    Raises ValueError when the text has fewer than two tokens (nothing to predict), or more
    than ``max_chars`` characters (checked before tokenizing).
    """
    if max_chars is not None:
        check_size(text, max_chars)
    if not check_text("text", text).strip():
        raise ValueError(Message("empty", field="text"))
    ids = leading_tokens(tokenizer, text, window * max_windows)
    if len(ids) < 2:
        raise ValueError(Message("text_too_short", field="text"))
    chunks = [ids[i : i + window] for i in range(0, len(ids), window)]
    return [Example(c, c) for c in chunks if len(c) >= 2]
