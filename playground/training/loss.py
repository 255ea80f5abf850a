"""The causal language-modelling loss, computed only where a label asks for it.

A model's own ``loss`` projects every position onto the whole vocabulary. With Gemma 3's
262,144-token vocabulary that projection is most of a training step, and most positions of
an instruction example (its prompt) take no loss at all. :func:`causal_lm_loss` runs the
model's decoder, keeps the hidden states of the positions whose next token has a label,
and projects only those, in chunks: the same mean cross-entropy as ``model(**batch).loss``
for a fraction of the work and memory.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812 (torch's usual alias)

from playground.data.examples import IGNORE

CHUNK = 1024  # positions projected onto the vocabulary at once


def causal_lm_loss(model: Any, batch: dict[str, torch.Tensor], chunk: int = CHUNK) -> torch.Tensor:
    """Mean next-token cross-entropy of ``batch`` (input_ids, attention_mask, labels) under ``model``.

    ``model`` is a transformers causal LM, or a PEFT model wrapping one.
    """
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    decoder, head = base.get_decoder(), base.get_output_embeddings()
    hidden = decoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
    targets = batch["labels"][:, 1:]
    keep = targets != IGNORE
    hidden, targets = hidden[:, :-1][keep], targets[keep]
    if targets.numel() == 0:
        return hidden.sum() * 0.0  # nothing to learn from, but a graph for backward()
    softcap = getattr(base.config, "final_logit_softcapping", None)
    total = hidden.new_zeros(())
    for start in range(0, targets.numel(), chunk):
        logits = head(hidden[start : start + chunk]).float()
        if softcap:
            logits = torch.tanh(logits / softcap) * softcap
        total = total + F.cross_entropy(logits, targets[start : start + chunk], reduction="sum")
    return total / targets.numel()
