"""A model built from a GGUF file around its int8 blocks: transformers' model and tokenizer, the same answers.

On the bundled SmolLM2 file (Llama architecture, Q4_1 and Q8_0 blocks): the tokenizer is
transformers' own GGUF tokenizer, the logits match transformers' dequantized model, and
the folder that keeps the parts between starts gives back the same model.
"""

from __future__ import annotations

import pytest
import torch

from playground.models.gguf_file import GGUFFile
from playground.models.gguf_model import GGUFModelError, float_model, load_gguf, read_parts
from playground.models.int8_model import AssemblyError, assemble, folder_ready, load_folder, save_folder
from playground.models.quantized import QuantizedEmbedding, QuantizedLinear

TEXTS = [
    "Hello world",
    "Translate English to French: cheese =>",
    "Cette femme était assise près de la fenêtre, et",
    "  spaces\n\nnewlines\ttabs",
    "<|im_start|>user\nWhat is 2+2?<|im_end|>\n",
]


@pytest.fixture(scope="module")
def smollm2_parts(smollm2_gguf):
    return read_parts(GGUFFile(smollm2_gguf))


@pytest.fixture(scope="module")
def reference(smollm2_gguf):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, name = str(smollm2_gguf.parent), smollm2_gguf.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    return AutoModelForCausalLM.from_pretrained(folder, gguf_file=name).eval(), tokenizer


def test_the_tokenizer_is_transformers_gguf_tokenizer(smollm2_parts, reference):
    _, tokenizer, _, _ = smollm2_parts
    expected = reference[1]
    for text in TEXTS:
        assert tokenizer(text).input_ids == expected(text).input_ids, text
    assert (tokenizer.eos_token, tokenizer.bos_token) == (expected.eos_token, expected.bos_token)


def test_every_product_is_int8_and_the_logits_are_transformers(smollm2_parts, reference):
    model = assemble(*(smollm2_parts[i] for i in (0, 2, 3)))
    layers = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert layers and all(isinstance(m, QuantizedLinear) for m in layers)
    assert isinstance(model.get_input_embeddings(), QuantizedEmbedding)
    ids = reference[1](TEXTS[4], return_tensors="pt").input_ids
    with torch.inference_mode():
        got, expected = model(ids).logits[0], reference[0](ids).logits[0]
    assert bool((got - expected).abs().max() <= 1e-3 * expected.abs().max())
    assert torch.equal(got.argmax(-1), expected.argmax(-1))


def test_the_float_model_is_transformers_dequantized_model_bit_for_bit(smollm2_parts, reference):
    config, _, quantized, floats = smollm2_parts
    model, expected = float_model(config, quantized, floats), reference[0]
    got, want = model.state_dict(), expected.state_dict()
    assert got.keys() == want.keys()
    assert [name for name in want if not torch.equal(got[name], want[name])] == []
    buffers = dict(expected.named_buffers())
    assert all(torch.equal(value, buffers[name]) for name, value in model.named_buffers())
    assert model.lm_head.weight is model.get_input_embeddings().weight  # tied, as from_pretrained ties them
    differ = {k for k in config.to_dict().keys() | expected.config.to_dict().keys()
              if config.to_dict().get(k) != expected.config.to_dict().get(k)}  # fmt: skip
    assert differ <= {"quantization_config", "_name_or_path", "_model_name_or_path"}, differ
    with pytest.raises(AssemblyError, match=r"no weight for \['model\.norm\.weight'\]"):
        float_model(config, quantized, {k: v for k, v in floats.items() if k != "model.norm.weight"})


def test_the_folder_gives_back_the_same_model(smollm2_parts, tmp_path):
    config, tokenizer, quantized, floats = smollm2_parts
    folder = tmp_path / "smollm2-int8"
    save_folder(folder, config, tokenizer, quantized, floats, note="test")
    assert folder_ready(folder)
    model, loaded_tokenizer = load_folder(folder)
    ids = tokenizer(TEXTS[0], return_tensors="pt").input_ids
    with torch.inference_mode():
        assert torch.equal(model(ids).logits, assemble(config, quantized, floats)(ids).logits)
    assert loaded_tokenizer(TEXTS[2]).input_ids == tokenizer(TEXTS[2]).input_ids


def test_a_folder_of_another_format_or_missing_a_weight_is_refused(smollm2_parts, tmp_path):
    from safetensors.torch import save_file

    config, tokenizer, quantized, floats = smollm2_parts
    folder = tmp_path / "other"
    save_folder(folder, config, tokenizer, quantized, floats, note="test")
    save_file({"x": torch.zeros(1)}, str(folder / "int8.safetensors"), metadata={"format": "something-else"})
    assert not folder_ready(folder)  # a cache of an earlier layout is written again, not read
    with pytest.raises(AssemblyError, match="not in the format"):
        load_folder(folder)
    with pytest.raises(AssemblyError, match=r"no weight for model\.norm\.weight"):
        assemble(config, quantized, {k: v for k, v in floats.items() if k != "model.norm.weight"})


def test_an_architecture_not_built_here_is_refused(tmp_path, smollm2_gguf):
    gguf = GGUFFile(smollm2_gguf)
    gguf.metadata["general.architecture"] = "mamba"
    with pytest.raises(GGUFModelError, match="'mamba' is not built here"):
        read_parts(gguf)
    assert callable(load_gguf)
