"""A transformers model and tokenizer built straight from a GGUF file, its weights kept int8.

transformers can load a GGUF file (``from_pretrained(gguf_file=...)``), but it dequantizes
every weight to float32 and parses the metadata element by element: for Gemma 3 270M,
about a minute and 1.1 GB. :func:`load_gguf` instead reads the header in under a second
(:mod:`playground.models.gguf_file`), keeps the quantized blocks as int8 groups without
loss (:mod:`playground.models.gguf_blocks`), and builds the model around them: a model of
the right class is made without memory (on the meta device), its products become
:class:`~playground.models.quantized.QuantizedLinear`, its norms get their float32
weights, and its rotary tables are computed as transformers computes them.
:func:`load_gguf_float` builds the float32 model transformers' own reader gives, the same
tensors bit for bit (each block dequantized as gguf-py dequantizes it), in seconds.

The names, the tokenizer and the fix-ups are transformers' own (its GGUF config and
tokenizer tables; Gemma's norms stored as ``w + 1``; Llama's q and k rows permuted by
llama.cpp). Architectures handled: ``gemma3`` and ``llama`` (SmolLM2).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from playground.models.gguf_blocks import read_blocks, readable
from playground.models.gguf_file import GGUFFile
from playground.models.int8_model import AssemblyError, assemble
from playground.models.quantized import GroupQuantized

log = logging.getLogger(__name__)

ARCHITECTURES = {"gemma3": "gemma3_text", "llama": "llama"}  # GGUF architecture -> transformers model type
_RENAMES = [  # GGUF tensor names -> transformers module names (transformers' DENSE_DECODER_RENAMINGS, and norms)
    (r"^token_embd$", "model.embed_tokens"),
    (r"^output_norm$", "model.norm"),
    (r"^output$", "lm_head"),
    (r"^blk\.(\d+)\.attn_norm$", r"model.layers.\1.input_layernorm"),
    (r"^blk\.(\d+)\.attn_(q|k|v)$", r"model.layers.\1.self_attn.\2_proj"),
    (r"^blk\.(\d+)\.attn_output$", r"model.layers.\1.self_attn.o_proj"),
    (r"^blk\.(\d+)\.attn_(q|k)_norm$", r"model.layers.\1.self_attn.\2_norm"),
    (r"^blk\.(\d+)\.post_attention_norm$", r"model.layers.\1.post_attention_layernorm"),
    (r"^blk\.(\d+)\.post_ffw_norm$", r"model.layers.\1.post_feedforward_layernorm"),
    (r"^blk\.(\d+)\.ffn_(gate|up|down)$", r"model.layers.\1.mlp.\2_proj"),
]
_FFN_NORM = {"gemma3": "pre_feedforward_layernorm", "llama": "post_attention_layernorm"}


class GGUFModelError(ValueError):
    """The file describes a model this module does not build (the message says what)."""


def _config_values(gguf: GGUFFile) -> dict[str, Any]:
    """The transformers config of the file, by transformers' own GGUF table for its architecture."""
    from transformers.integrations.ggml import GGUF_CONFIG_MAPPING

    arch = gguf.architecture
    if arch not in ARCHITECTURES:
        raise GGUFModelError(f"GGUF architecture {arch!r} is not built here (only {sorted(ARCHITECTURES)})")
    values: dict[str, Any] = {"model_type": ARCHITECTURES[arch]}
    for key, name in GGUF_CONFIG_MAPPING[arch].items():
        value = gguf.metadata.get(f"{arch}.{key}")
        if name is not None and value is not None:
            values[name] = value.tolist() if isinstance(value, np.ndarray) else value
    values.setdefault("vocab_size", len(gguf.metadata["tokenizer.ggml.tokens"]))
    values["tie_word_embeddings"] = "output.weight" not in gguf.tensors
    for key in ("bos_token_id", "eos_token_id", "padding_token_id", "unknown_token_id"):
        value = gguf.metadata.get(f"tokenizer.ggml.{key}")
        if value is not None:
            values[key.replace("padding", "pad").replace("unknown", "unk")] = int(value)
    return values


def read_config(gguf: GGUFFile) -> Any:
    """The model's transformers config."""
    from transformers import AutoConfig

    values = _config_values(gguf)
    return AutoConfig.for_model(values.pop("model_type"), **values)


def read_tokenizer(gguf: GGUFFile, config: Any) -> Any:
    """The model's tokenizer, built as transformers builds it from a GGUF file (its own tables and converters)."""
    from transformers.integrations.gguf.gguf_tokenizer_mapping import GGUF_TOKENIZER_MAPPING, convert_gguf_tokenizer
    from transformers.models.auto.tokenization_auto import TOKENIZER_MAPPING_NAMES, tokenizer_class_from_name

    grouped = {
        group: {
            name: gguf.metadata[f"tokenizer.{key}"]
            for key, name in renames.items()
            if f"tokenizer.{key}" in gguf.metadata
        }
        for group, renames in GGUF_TOKENIZER_MAPPING.items()
    }
    tokenizer, tokenizer_config = grouped["tokenizer"], grouped["tokenizer_config"]
    for name, value in tokenizer.items():  # transformers' converters take lists, as its own reader gives them
        if isinstance(value, np.ndarray):
            tokenizer[name] = value.tolist()
    if tokenizer.get("tokenizer_type") == "llama":
        tokenizer_config.setdefault("add_bos_token", True)
    for name, key in (
        ("bos_token", "bos_token_id"),
        ("eos_token", "eos_token_id"),
        ("unk_token", "unknown_token_id"),
        ("pad_token", "padding_token_id"),
    ):
        token_id = gguf.metadata.get(f"tokenizer.ggml.{key}")
        tokenizer_config[name] = tokenizer["tokens"][int(token_id)] if token_id is not None else None
    backend, extra = convert_gguf_tokenizer(gguf.architecture, tokenizer)
    names = TOKENIZER_MAPPING_NAMES.get(config.model_type)
    if isinstance(names, (tuple, list)):
        names = next((n for n in names if n), None)
    from transformers.tokenization_utils_tokenizers import TokenizersBackend

    tokenizer_class = tokenizer_class_from_name(names) if names else None
    # As AutoTokenizer does for a GGUF file of a model type without a tokenizer class of its own:
    tokenizer_class = tokenizer_class or TokenizersBackend
    return tokenizer_class(tokenizer_object=backend, **tokenizer_config, **extra)


def _module_name(tensor: str, arch: str) -> str | None:
    stem = tensor.removesuffix(".weight")
    if (match := re.fullmatch(r"blk\.(\d+)\.ffn_norm", stem)) is not None:
        return f"model.layers.{match.group(1)}.{_FFN_NORM[arch]}"
    for pattern, target in _RENAMES:
        if re.fullmatch(pattern, stem):
            return re.sub(pattern, target, stem)
    return None


def _llama_rows(rows: int, heads: int) -> torch.Tensor:
    """The order of llama.cpp's permuted q / k rows as transformers undoes it (``_reverse_permute_weights``)."""
    half = rows // heads // 2
    return torch.arange(rows).reshape(heads, half, 2).transpose(1, 2).reshape(rows)


def _permuted(weight: GroupQuantized, order: torch.Tensor) -> GroupQuantized:
    q, scale, offset = weight.to_rows()
    return GroupQuantized.from_rows(q[order], scale[order], None if offset is None else offset[order], weight.group)


def _weights(gguf: GGUFFile, config: Any) -> tuple[dict[str, GroupQuantized], dict[str, torch.Tensor]]:
    """The file's quantized products (by module name) and float tensors (by parameter name)."""
    arch = gguf.architecture
    quantized, floats = {}, {}
    for name, info in gguf.tensors.items():
        module = _module_name(name, arch)
        if module is None:
            raise GGUFModelError(f"tensor {name} has no place in a {arch} model")
        if info.type_name in ("F32", "F16", "BF16"):
            values = torch.from_numpy(gguf.floats(name).copy())
            if arch == "gemma3" and "norm" in module:
                values = values - 1  # llama.cpp stores Gemma's norms as w + 1 (transformers' Gemma2TensorProcessor)
            floats[f"{module}.weight"] = values
            continue
        if not readable(info.type_name) or len(info.shape) != 2:
            raise GGUFModelError(f"tensor {name} is {info.type_name}, which is not read as int8 groups")
        try:
            weight = read_blocks(info.type_name, info.data, *info.shape)
        except ValueError as exc:  # e.g. outputs that are not whole blocks of the kernel's lanes
            raise GGUFModelError(f"tensor {name}: {exc}") from exc
        if arch == "llama" and module.endswith(("q_proj", "k_proj")):
            heads = config.num_attention_heads if module.endswith("q_proj") else config.num_key_value_heads
            weight = _permuted(weight, _llama_rows(weight.shape[0], heads))
        quantized[module] = weight
    return quantized, floats


def read_parts(gguf: GGUFFile) -> tuple[Any, Any, dict[str, GroupQuantized], dict[str, torch.Tensor]]:
    """(config, tokenizer, int8 products by module name, float tensors by parameter name) of a GGUF file."""
    config = read_config(gguf)
    quantized, floats = _weights(gguf, config)
    return config, read_tokenizer(gguf, config), quantized, floats


def float_model(config: Any, quantized: dict[str, GroupQuantized], floats: dict[str, torch.Tensor]) -> Any:
    """The float32 model of ``config``: each int8 product dequantized, the float tensors as they are.

    The model is made without initializing its weights (every one is set here; its buffers,
    the rotary tables and embedding scale, are computed by its own constructors), and its
    tied output layer shares the embedding's tensor, as ``from_pretrained`` leaves it.
    """
    from transformers import AutoModelForCausalLM
    from transformers.initialization import no_init_weights

    weights = {**floats, **{f"{module}.weight": weight.dequantize() for module, weight in quantized.items()}}
    with no_init_weights():
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    result = model.load_state_dict(weights, strict=False, assign=True)
    model.tie_weights()
    tied = {"lm_head.weight"} if getattr(config, "tie_word_embeddings", False) else set()
    missing = [name for name in result.missing_keys if name not in tied]
    if missing or result.unexpected_keys:
        raise AssemblyError(f"no weight for {missing[:3]}; unused: {result.unexpected_keys[:3]}")
    return model.eval()


def load_gguf_float(path: Path | str) -> tuple[Any, Any]:
    """(model, tokenizer) of a GGUF file in float32, as ``from_pretrained(gguf_file=...)`` gives them.

    Raises :class:`GGUFModelError` for a file this module does not build (an architecture
    or a block type it does not read): transformers' own reader is the way for those.
    """
    config, tokenizer, quantized, floats = read_parts(GGUFFile(path))
    return float_model(config, quantized, floats), tokenizer


def load_gguf(path: Path | str) -> tuple[Any, Any]:
    """(model, tokenizer) of a GGUF file, the model's products int8 as the file stores them."""
    config, tokenizer, quantized, floats = read_parts(GGUFFile(path))
    return assemble(config, quantized, floats), tokenizer
