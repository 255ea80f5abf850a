"""The training loss: chunked projections with their backward passes at once, the same gradients as the model's loss."""

from __future__ import annotations

import pytest
import torch
from peft import LoraConfig, get_peft_model

from playground.data.examples import IGNORE
from playground.training.loss import backward_lm_loss
from tests.tiny_models import tiny_gemma3, tiny_gpt2


def _lora(model, targets: list[str]):
    torch.manual_seed(0)
    peft = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules=targets))
    for name, p in peft.named_parameters():  # LoRA's B starts at zero: make both factors matter
        if "lora_B" in name:
            torch.nn.init.normal_(p, std=0.02)
    return peft.float()


def _batch(vocab: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(3)
    ids = torch.randint(3, vocab, (3, 12), generator=g)
    mask = torch.ones_like(ids)
    mask[2, :4] = 0  # a left-padded row
    labels = ids.clone()
    labels[mask == 0] = IGNORE
    labels[0, :5] = IGNORE  # a prompt that takes no loss
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def _grads(model) -> dict[str, torch.Tensor]:
    return {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad}


@pytest.mark.parametrize(
    ("build", "targets", "softcap"),
    [
        (lambda: tiny_gpt2(seed=1), ["c_attn"], None),
        (lambda: tiny_gemma3(seed=1), ["q_proj", "v_proj", "down_proj"], None),
        (lambda: tiny_gemma3(seed=1), ["q_proj", "v_proj"], 5.0),  # Gemma 2's soft-capped logits
    ],
    ids=["gpt2", "gemma3", "gemma3-softcap"],
)
@pytest.mark.parametrize("chunk", [1, 5, 1024])
def test_chunked_backward_gives_the_models_own_loss_and_gradients(build, targets, softcap, chunk):
    model = build()
    if softcap is not None:
        model.config.final_logit_softcapping = softcap
    model = _lora(model, targets)
    batch = _batch(model.config.vocab_size)

    expected = model(**batch).loss  # transformers' loss over every labelled next token
    expected.backward()
    expected_grads = _grads(model)
    model.zero_grad(set_to_none=True)

    loss = backward_lm_loss(model, batch, chunk=chunk)

    assert loss == pytest.approx(expected.item(), rel=1e-5)
    grads = _grads(model)
    assert grads.keys() == expected_grads.keys() and grads
    for name, grad in grads.items():
        scale = expected_grads[name].abs().max().item()  # float32 sums in another order: 0.1 % of the largest
        torch.testing.assert_close(grad, expected_grads[name], rtol=1e-3, atol=1e-3 * scale)


def test_a_batch_without_labels_changes_no_gradient():
    model = _lora(tiny_gpt2(seed=1), ["c_attn"])
    batch = _batch(model.config.vocab_size)
    batch["labels"] = torch.full_like(batch["labels"], IGNORE)
    assert backward_lm_loss(model, batch) == 0.0
    assert all(p.grad is None for p in model.parameters())
