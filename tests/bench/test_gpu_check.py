"""``bench/gpu_check.py --dry-run``: the GPU check runs end to end on a CPU, on tiny sizes, with nothing missing."""

from __future__ import annotations

import re


def test_the_dry_run_builds_serves_and_measures_the_gemma_shaped_model(capsys):
    from bench.gpu_check import main

    assert main(["--dry-run", "--streams", "1", "3", "--tokens", "4"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("CPU (dry run") and "4 new tokens per stream" in out
    rows = re.findall(r"^\| (\d+) \| (\d+) \| (\d+) \| (\d+) \| ([\d.]+) \|$", out, flags=re.MULTILINE)
    assert [int(row[0]) for row in rows] == [1, 3]  # one row per number of streams
    assert all(int(median) <= int(slowest) for _, median, slowest, _, _ in rows)


def test_the_model_has_gemma_3_270ms_shape():
    from transformers import Gemma3TextConfig

    from bench.gpu_check import GEMMA3_270M

    config = Gemma3TextConfig(**GEMMA3_270M)
    params = config.vocab_size * config.hidden_size + config.num_hidden_layers * (
        config.hidden_size * config.head_dim * (config.num_attention_heads * 2 + config.num_key_value_heads * 2)
        + 3 * config.hidden_size * config.intermediate_size
    )
    assert 260e6 < params < 275e6  # 270M parameters, the embedding tied to the output
