"""What a GPU gives a Space: the device tests on CUDA, then the engine's speed at 1, 8 and 32 streams.

    python -m bench.gpu_check              # on a GPU machine, in a few minutes
    python -m bench.gpu_check --dry-run    # anywhere: tiny sizes on the CPU, proves nothing it needs is missing

It needs PyTorch, transformers and peft (and this repository), no network and no model
files. First, where pytest is installed, ``tests/serving/test_devices.py`` (batching,
caches, branching, records and seeds on every device present). Then a model with Gemma 3
270M's configuration (:data:`GEMMA3_270M`) and random weights, in bfloat16 (the speed of a
forward pass does not depend on the values), is saved to a temporary folder beside a
byte-level tokenizer made in memory, and served by the engine as a registry's local model.
Its tokenizer has no end-of-sequence token, so every stream writes all its tokens (what
``min_new_tokens`` does for ``model.generate``). For 1, 8 and 32 streams started at once,
it prints each stream's time to first token (median and slowest) and the tokens per
second of all streams together, with the device's name: the figures a Space owner needs
to pick hardware.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from playground.engine import Engine
from playground.models.loader import ModelCache
from playground.models.registry import Registry

log = logging.getLogger("bench.gpu_check")
ROOT = Path(__file__).resolve().parent.parent
DEVICE_TESTS = "tests/serving/test_devices.py"
PROMPT = "Once upon a time, in a small village by the sea, there lived an old fisherman who " * 2

# google/gemma-3-270m's text configuration (its config.json), less its token ids
GEMMA3_270M: dict[str, Any] = {
    "vocab_size": 262_144,
    "hidden_size": 640,
    "intermediate_size": 2048,
    "num_hidden_layers": 18,
    "num_attention_heads": 4,
    "num_key_value_heads": 1,
    "head_dim": 256,
    "max_position_embeddings": 32_768,
    "sliding_window": 512,
    "query_pre_attn_scalar": 256,
    "rope_theta": 1_000_000.0,
    "rope_local_base_freq": 10_000.0,
    "rms_norm_eps": 1e-6,
    "hidden_activation": "gelu_pytorch_tanh",
    "tie_word_embeddings": True,
    "attn_logit_softcapping": None,
    "final_logit_softcapping": None,
}
DRY_RUN: dict[str, Any] = {  # the same model, tiny
    **GEMMA3_270M,
    "vocab_size": 1024,
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "head_dim": 32,
    "query_pre_attn_scalar": 32,
    "sliding_window": 64,
}


@dataclass(frozen=True)
class Run:
    """One measurement: ``streams`` requests started at once."""

    streams: int
    first_token_s: list[float]  # each stream's time to its first token
    tokens: int  # written by all streams
    seconds: float  # from the first start to the last token

    def line(self) -> str:
        """A row of the printed table."""
        ttft = sorted(self.first_token_s)
        return (
            f"| {self.streams} | {1000 * statistics.median(ttft):.0f} | {1000 * ttft[-1]:.0f} "
            f"| {self.tokens / self.seconds:.0f} | {self.tokens / self.seconds / self.streams:.1f} |"
        )


def byte_tokenizer(vocab_size: int) -> Any:
    """A byte-level tokenizer of ``vocab_size`` ids, made in memory: 0 pads, 1-256 are bytes, the rest named."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"<pad>": 0}
    vocab.update({char: i + 1 for i, char in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))})
    vocab.update({f"t{i}": i for i in range(len(vocab), vocab_size)})  # ASCII: written as themselves
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, pad_token="<pad>")


def save_random_model(folder: Path, shape: dict[str, Any]) -> None:
    """A Gemma 3 text model of ``shape`` with random weights, and its tokenizer, saved in ``folder``."""
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    config = Gemma3TextConfig(**shape, pad_token_id=0, bos_token_id=None, eos_token_id=None)
    torch.manual_seed(0)
    model = Gemma3ForCausalLM(config)
    model.generation_config.eos_token_id = None  # nothing ends a stream early
    model.save_pretrained(folder)
    byte_tokenizer(shape["vocab_size"]).save_pretrained(folder)


def registry_for(folder: Path, dtype: str, streams: int, new_tokens: int) -> Registry:
    """A registry serving the saved model alone, with room for ``streams`` rows at once."""
    return Registry.from_dict(
        {
            "default_model": "gemma3-shaped",
            "limits": {
                "max_new_tokens": new_tokens,
                "time_limit_s": 600,
                "max_batch_size": streams,
                "max_waiting": 2 * streams,
                "max_rows_per_visitor": streams,
                "max_rows_per_address": streams,
                "step_tokens": 512,  # a GPU prefills a whole prompt in one step
                "prefill_tokens": 4096,
            },
            "models": [
                {
                    "name": "gemma3-shaped",
                    "local_path": str(folder),
                    "languages": ["en"],
                    "context_length": 4096,
                    "prompt_style": "plain",
                    "license": "gemma",
                    "dtype": dtype,
                    "generation": {"temperature": 0.0, "max_new_tokens": new_tokens},
                }
            ],
        },
        root=folder,
    )


def measure(engine: Engine, streams: int, new_tokens: int) -> Run:
    """``streams`` greedy requests started at once, each read on a thread of its own as a visitor's handler reads."""
    firsts: list[float] = [0.0] * streams
    counts: list[int] = [0] * streams
    start = time.perf_counter()

    def read(i: int) -> None:
        stream = engine.stream("gemma3-shaped", PROMPT, {"max_new_tokens": new_tokens})
        for _ in stream:
            if not firsts[i]:
                firsts[i] = time.perf_counter() - start
        result = stream.result
        if result.finish_reason != "length" or len(result.token_ids) != new_tokens:
            raise RuntimeError(f"stream {i} ended early: {result.finish_reason}, {len(result.token_ids)} tokens")
        counts[i] = len(result.token_ids)

    threads = [threading.Thread(target=read, args=(i,)) for i in range(streams)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if sum(counts) != streams * new_tokens:
        raise RuntimeError("a stream failed (see the log)")
    return Run(streams, firsts, sum(counts), time.perf_counter() - start)


def device_tests() -> int:
    """Run the device tests where pytest is installed; their exit status (0 when skipped, said so)."""
    if importlib.util.find_spec("pytest") is None:
        log.warning("pytest is not installed: %s skipped", DEVICE_TESTS)
        return 0
    return subprocess.call([sys.executable, "-m", "pytest", DEVICE_TESTS, "-q", "-p", "no:cacheprovider"], cwd=ROOT)


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, run the checks, print the table; the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dry-run", action="store_true", help="tiny sizes on the CPU, no device tests")
    parser.add_argument("--streams", type=int, nargs="+", default=None, help="streams at once (default 1 8 32)")
    parser.add_argument("--tokens", type=int, default=None, help="new tokens per stream (default 256)")
    args = parser.parse_args(argv)
    dry = args.dry_run
    device = "cpu" if dry else "cuda"
    if not dry and not torch.cuda.is_available():
        parser.error("no CUDA device: run with --dry-run on a CPU")
    streams = args.streams or ([1, 2, 4] if dry else [1, 8, 32])
    new_tokens = args.tokens or (8 if dry else 256)
    if not dry and device_tests() != 0:
        return 1
    name = torch.cuda.get_device_name() if device == "cuda" else "CPU (dry run: sizes too small to mean anything)"
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as tmp:
        folder = Path(tmp) / "gemma3-shaped"
        save_random_model(folder, DRY_RUN if dry else GEMMA3_270M)
        registry = registry_for(folder, "float32" if dry else "bfloat16", max(streams), new_tokens)
        engine = Engine(registry, ModelCache(registry, device=device))
        try:
            engine.generate("gemma3-shaped", PROMPT, {"max_new_tokens": 2})  # loads the model, warms the kernels
            runs = [measure(engine, n, new_tokens) for n in streams]
        finally:
            engine.close(wait_s=60)
    print(f"{name}, torch {torch.__version__}, {new_tokens} new tokens per stream, greedy")
    print("| streams | first token, median (ms) | first token, slowest (ms) | tokens/s, all | tokens/s, per stream |")
    print("|---|---|---|---|---|")
    for run in runs:
        print(run.line())
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    sys.exit(main())
