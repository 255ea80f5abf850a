"""The lean forward computes the model transformers computes, row by row, with adapters per row.

On small Gemma 3 (sliding-window and global layers, window 8) and Llama models with random
weights, made int8: the lean forward's logits match transformers' forward of the same int8
model, greedy continuations are the same token for token (past the sliding window), a row
batched with others (other lengths, other adapters, a prefill beside decodes) gets the
numbers it gets alone, and a model it does not compute is left to transformers.
"""

from __future__ import annotations

import copy

import pytest
import torch

from playground.models.decoder import RowInput
from playground.models.decoder_weights import lean_decoder
from playground.models.quantize_model import quantize_model
from tests.tiny_models import tiny_gemma3, tiny_gpt2

LOGIT_TOLERANCE = 1e-3  # relative to the largest logit: the same products, attention summed in another order


def _tiny_llama(seed: int) -> torch.nn.Module:
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=512,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=3,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        tie_word_embeddings=True,
        rope_theta=10000.0,
    )
    return LlamaForCausalLM(config).eval()


def _int8(model: torch.nn.Module) -> torch.nn.Module:
    model = copy.deepcopy(model)
    quantize_model(model)
    return model


@pytest.fixture(scope="module", params=["gemma3", "llama"])
def int8_model(request):
    return _int8(tiny_gemma3(seed=5) if request.param == "gemma3" else _tiny_llama(seed=6))


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    return bool((a - b).abs().max() <= LOGIT_TOLERANCE * b.abs().max())


def test_logits_match_transformers_forward_of_the_same_int8_model(int8_model):
    lean = lean_decoder(int8_model)
    assert lean is not None
    ids = torch.randint(0, 500, (1, 21), generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        expected = int8_model(ids).logits[0]
        got = lean.forward([RowInput(ids[0].tolist(), lean.new_cache(), all_logits=True)])[0]
    assert _close(got, expected)


def test_greedy_continuations_are_transformers_token_for_token_past_the_window(int8_model):
    lean = lean_decoder(int8_model)
    ids = torch.randint(0, 500, (1, 5), generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        expected = int8_model.generate(
            ids, attention_mask=torch.ones_like(ids), max_new_tokens=24, do_sample=False, pad_token_id=0
        )[0, 5:].tolist()
        cache = lean.new_cache()
        logits = lean.forward([RowInput(ids[0].tolist(), cache)])[0]
        got = []
        for _ in range(24):
            got.append(int(logits[0].argmax()))
            logits = lean.forward([RowInput([got[-1]], cache)])[0]
    assert got == expected
    assert cache.length == 5 + 24


def test_a_row_gets_the_same_numbers_alone_as_among_others(int8_model):
    lean = lean_decoder(int8_model)
    generator = torch.Generator().manual_seed(2)
    prompts = [torch.randint(0, 500, (n,), generator=generator).tolist() for n in (3, 17, 9)]
    with torch.inference_mode():
        alone = []
        for prompt in prompts:
            cache = lean.new_cache()
            first = lean.forward([RowInput(prompt, cache)])[0]
            alone.append((first, lean.forward([RowInput([7], cache)])[0]))
        caches = [lean.new_cache() for _ in prompts]
        firsts = lean.forward([RowInput(p, c) for p, c in zip(prompts, caches, strict=True)])
        seconds = lean.forward([RowInput([7], c) for c in caches])
    for (first, second), batched_first, batched_second in zip(alone, firsts, seconds, strict=True):
        assert torch.equal(first, batched_first) and torch.equal(second, batched_second)


def test_a_prompt_in_chunks_continues_as_the_whole_prompt_does(int8_model):
    lean = lean_decoder(int8_model)
    prompt = torch.randint(0, 500, (23,), generator=torch.Generator().manual_seed(3)).tolist()
    with torch.inference_mode():
        whole = lean.forward([RowInput(prompt, lean.new_cache())])[0]
        cache = lean.new_cache()
        for start in range(0, 23, 6):
            chunked = lean.forward([RowInput(prompt[start : start + 6], cache)])[0]
    assert _close(chunked, whole) and int(chunked.argmax()) == int(whole.argmax())


def test_adapters_apply_per_row_as_peft_mixed_batches_do(tmp_path):
    from peft import PeftModel

    from tests.tiny_models import make_lora

    base = tiny_gemma3(seed=7)
    folders = {
        name: make_lora(base, "tiny", tmp_path / name, seed, targets=("q_proj", "v_proj", "down_proj"))
        for name, seed in (("one", 1), ("two", 2))
    }
    model = PeftModel.from_pretrained(_int8(base), str(folders["one"]), adapter_name="one", is_trainable=False)
    model.load_adapter(str(folders["two"]), adapter_name="two", is_trainable=False)
    model.eval()
    lean = lean_decoder(model)
    assert lean is not None
    ids = torch.randint(0, 500, (3, 12), generator=torch.Generator().manual_seed(4))
    names = ["__base__", "one", "two"]
    with torch.inference_mode():
        expected = model(ids, adapter_names=names).logits[:, -1]
        adapters = [None if n == "__base__" else n for n in names]
        rows = [RowInput(ids[i].tolist(), lean.new_cache(), a) for i, a in enumerate(adapters)]
        got = torch.cat(lean.forward(rows))
        alone = torch.cat([lean.forward([RowInput(r.tokens, lean.new_cache(), r.adapter)])[0] for r in rows])
    assert _close(got, expected)
    assert not _close(expected[1], expected[0])  # the adapters change the answer
    assert torch.equal(got, alone)


def test_a_model_the_lean_forward_does_not_compute_is_left_to_transformers():
    assert lean_decoder(_int8(tiny_gpt2(seed=1))) is None  # GPT-2: another architecture
    assert lean_decoder(tiny_gemma3(seed=1)) is None  # float weights: not int8
