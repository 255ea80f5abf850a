"""The weights of a loaded transformers decoder, gathered for :class:`~playground.models.decoder.LeanDecoder`.

:func:`lean_decoder` walks a Gemma 3 or Llama-family model (PEFT-wrapped or not) whose
products are :class:`~playground.models.quantized.QuantizedLinear` and whose embedding is a
:class:`~playground.models.quantized.QuantizedEmbedding`, and returns the lean forward of
the same function, or None (with the reason in the log) when the model has anything it
does not compute: another architecture, biases, a LoRA variant other than plain LoRA
(DoRA, LoRA biases), an untied output layer that is not quantized.

The products of a layer that share their input and their layout are fused into one
(q, k and v; gate and up); the transformers layers are then given views of the fused
values, so both forwards read one copy.
"""

from __future__ import annotations

import logging
from typing import Any

import torch

from playground.models.decoder import FAMILIES, Layer, LeanDecoder, Lora, Product
from playground.models.quantized import GroupQuantized, QuantizedEmbedding, QuantizedLinear

log = logging.getLogger(__name__)


class UnsupportedError(Exception):
    """The model has something the lean forward does not compute (the message says what)."""


def _base_layer(module: Any) -> QuantizedLinear:
    base = getattr(module, "base_layer", module)
    if not isinstance(base, QuantizedLinear):
        raise UnsupportedError(f"{type(base).__name__} is not an int8 linear layer")
    if base.bias is not None:
        raise UnsupportedError("a product has a bias")
    return base


def _loras(module: Any) -> dict[str, Lora]:
    """The plain LoRA adapters of a PEFT layer, by name (none for a plain layer)."""
    if not hasattr(module, "lora_A"):
        return {}
    found = {}
    for name in module.lora_A:
        if module.use_dora.get(name) or getattr(module, "lora_bias", {}).get(name):
            raise UnsupportedError(f"adapter {name} uses DoRA or LoRA biases")
        a = module.lora_A[name].weight.detach().to(torch.float32)
        b = module.lora_B[name].weight.detach().to(torch.float32)
        found[name] = Lora(a.contiguous(), b.contiguous(), float(module.scaling[name]))
    return found


def _fused(modules: list[Any]) -> Product:
    """One product of modules sharing their input: fused when their layouts allow it."""
    bases = [_base_layer(m) for m in modules]
    weights = [b.quantized for b in bases]
    parts = tuple(w.shape[0] for w in weights)
    first = weights[0]
    if len(weights) > 1:
        try:
            weight = GroupQuantized.join(weights)
        except ValueError as exc:  # other inputs, groups or offsets, or a partial block before the last part
            raise _NotFusableError from exc
        start = 0
        for base, size in zip(bases, parts, strict=True):  # the transformers layers read views of the fused values
            base.quantized = weight.outputs_between(start, start + size)
            start += size
    else:
        weight = first
    loras: dict[str, list[Lora | None]] = {}
    for index, module in enumerate(modules):
        for name, lora in _loras(module).items():
            loras.setdefault(name, [None] * len(modules))[index] = lora
    return Product(weight, parts, loras)


class _NotFusableError(Exception):
    """Products that share an input but not a layout (kept apart)."""


def _product(modules: list[Any]) -> Product | list[Product]:
    try:
        return _fused(modules)
    except _NotFusableError:
        return [_fused([m]) for m in modules]


def _norm(module: Any, plus_one: bool) -> torch.Tensor:
    weight = module.weight.detach().to(torch.float32)
    return (1.0 + weight) if plus_one else weight


def _rotary(model: Any, config: Any, family: str) -> dict[str, tuple[torch.Tensor, float]]:
    rotary = model.model.rotary_emb
    if family == "gemma3":
        return {
            kind: (getattr(rotary, f"{kind}_inv_freq").float(), float(getattr(rotary, f"{kind}_attention_scaling")))
            for kind in sorted(set(config.layer_types))
        }
    return {"default": (rotary.inv_freq.float(), float(rotary.attention_scaling))}


def _layer(layer: Any, config: Any, family: str, index: int) -> Layer:
    attn, mlp = layer.self_attn, layer.mlp
    qkv, gate_up = _product([attn.q_proj, attn.k_proj, attn.v_proj]), _product([mlp.gate_proj, mlp.up_proj])
    if isinstance(qkv, list) or isinstance(gate_up, list):
        raise UnsupportedError("products sharing an input have different layouts")
    gemma = family == "gemma3"
    norms = {
        "input": _norm(layer.input_layernorm, gemma),
        "post_attention": _norm(layer.post_attention_layernorm, gemma),
    }
    if gemma:
        norms["pre_feedforward"] = _norm(layer.pre_feedforward_layernorm, True)
        norms["post_feedforward"] = _norm(layer.post_feedforward_layernorm, True)
        norms["q"], norms["k"] = _norm(attn.q_norm, True), _norm(attn.k_norm, True)
        kind = config.layer_types[index]
        window = int(config.sliding_window) if kind == "sliding_attention" else None
    else:
        kind, window = "default", getattr(config, "sliding_window", None)
    return Layer(qkv, _fused([attn.o_proj]), gate_up, _fused([mlp.down_proj]), norms, kind, window)


def lean_decoder(model: Any) -> LeanDecoder | None:
    """The lean forward of ``model`` (PEFT-wrapped or not), or None when it computes something else."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    config = base.config.get_text_config() if hasattr(base.config, "get_text_config") else base.config
    family = FAMILIES.get(getattr(config, "model_type", ""))
    try:
        if family is None:
            raise UnsupportedError(f"architecture {getattr(config, 'model_type', '?')}")
        embed = base.model.embed_tokens
        if not isinstance(embed, QuantizedEmbedding):
            raise UnsupportedError("the embedding is not int8")
        head = getattr(base.lm_head, "base_layer", base.lm_head)
        if isinstance(head, QuantizedLinear):
            head_weight = head.quantized
        else:
            raise UnsupportedError("the output layer is not int8")
        if getattr(config, "attention_bias", False) or getattr(config, "mlp_bias", False):
            raise UnsupportedError("biases")
        layers = [_layer(layer, config, family, i) for i, layer in enumerate(base.model.layers)]
        final = _norm(base.model.norm, family == "gemma3")
        return LeanDecoder(family, config, embed, head_weight, layers, final, _rotary(base, config, family))
    except (UnsupportedError, AttributeError) as exc:
        log.info("%s keeps transformers' forward: %s", type(base).__name__, exc)
        return None
