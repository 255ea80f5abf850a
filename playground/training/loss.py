"""The causal language-modelling loss and its backward pass, computed only where a label asks for it.

A model's own ``loss`` projects every position onto the whole vocabulary and keeps every
position's logits for the backward pass. With Gemma 3's 262,144-token vocabulary that
projection is most of a training step and its logits most of the memory (a batch of
2,048 positions holds 2 GiB of float32 logits, more with the soft-cap's intermediates):
enough to run a two-core, 24 GiB machine out of memory. :func:`backward_lm_loss` runs the
model's decoder, keeps the hidden states of the positions whose next token has a label,
and projects them ``chunk`` positions at a time, running each chunk's backward pass at
once into the hidden states; then one backward pass through the decoder. Only one chunk's
logits ever exist, and the gradients are the same as ``model(**batch).loss.backward()``'s.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812 (torch's usual alias)

from playground.data.examples import IGNORE

CHUNK = 1024  # positions projected onto the vocabulary at once


def backward_lm_loss(
    model: Any, batch: dict[str, torch.Tensor], chunk: int = CHUNK, autocast: torch.dtype | None = None
) -> float:
    """Accumulate the gradients of the mean next-token cross-entropy of ``batch``; return that mean.

    ``model`` is a transformers causal LM, or a PEFT model wrapping one; ``batch`` holds
    input_ids, attention_mask and labels (``IGNORE`` where no loss is taken). The forward
    passes run under ``torch.autocast`` in ``autocast`` when given (bfloat16 on CPU); the
    backward passes run outside it, as PyTorch recommends. A batch without any label
    returns 0.0 and leaves the gradients as they were.
    """
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    decoder, head = base.get_decoder(), base.get_output_embeddings()
    device_type = batch["input_ids"].device.type
    forward = (lambda: torch.autocast(device_type, dtype=autocast)) if autocast is not None else nullcontext
    with forward():
        hidden = decoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
    targets = batch["labels"][:, 1:]
    keep = targets != IGNORE
    picked, targets = hidden[:, :-1][keep], targets[keep]
    count = targets.numel()
    if count == 0:
        return 0.0
    softcap = getattr(base.config, "final_logit_softcapping", None)
    leaf = picked.detach().requires_grad_()  # the chunks' gradients gather here
    total = 0.0
    for start in range(0, count, chunk):
        with forward():
            logits = head(leaf[start : start + chunk]).float()
            if softcap:
                logits = torch.tanh(logits / softcap) * softcap
            loss = F.cross_entropy(logits, targets[start : start + chunk], reduction="sum") / count
        loss.backward()  # frees this chunk's logits before the next chunk is projected
        total += loss.item()
    picked.backward(leaf.grad)
    return total
