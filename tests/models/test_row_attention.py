"""Attention row by row (playground/models/row_attention.py): right, and a batched row is bit for bit the row alone.

The function is checked against transformers' SDPA on a left-padded batch (float32, close),
and row by row against each row computed alone (bfloat16, identical). Then through the
engine, in bfloat16: greedy answers batched together (the base and adapters, a GPT-2 and a
sliding-window Gemma 3 with grouped key/value heads) equal each answer alone. The tiny
models' random weights leave near-ties everywhere, which is what makes this a test: with
transformers' SDPA instead, bfloat16 rows batched this way continue differently.
"""

from __future__ import annotations

import pytest
import torch

from playground.engine import Engine
from playground.models.registry import Registry
from playground.models.row_attention import NAME, row_attention, use_row_attention
from tests.serving.test_batching import PROMPTS, StepGate, _steps_with
from tests.tiny_models import tiny_gemma_entries


class _Module:
    """What transformers' SDPA function reads from an attention module."""

    is_causal = True
    num_key_value_groups = 2


def _batch(dtype: torch.dtype, lengths: list[int], queries: int | None = None, seed: int = 0):
    """Random q, k, v for rows of ``lengths`` tokens, left-padded to the longest, and the boolean mask."""
    torch.manual_seed(seed)
    width = max(lengths)
    q_len = queries or width
    q = torch.randn(len(lengths), 4, q_len, 16).to(dtype)
    k = torch.randn(len(lengths), 2, width, 16).to(dtype)
    v = torch.randn(len(lengths), 2, width, 16).to(dtype)
    mask = torch.zeros(len(lengths), 1, q_len, width, dtype=torch.bool)
    for row, n in enumerate(lengths):
        for i in range(q_len):
            pos = width - q_len + i  # the query's column
            if pos >= width - n:
                mask[row, 0, i, width - n : pos + 1] = True
    return q, k, v, mask


@pytest.mark.parametrize("queries", [None, 1])  # a prefill of padded rows, a decode step
def test_it_computes_what_sdpa_computes_on_each_rows_own_tokens(queries):
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    lengths = [7, 3, 5]
    q, k, v, mask = _batch(torch.float32, lengths, queries)
    ours, _ = row_attention(_Module(), q, k, v, mask, scaling=0.25)
    theirs, _ = sdpa_attention_forward(_Module(), q, k, v, mask, scaling=0.25)
    for row, n in enumerate(lengths):
        real = slice(q.shape[2] - min(n, q.shape[2]), None)  # the row's own query positions
        assert torch.allclose(ours[row, real], theirs[row, real], atol=1e-5)


@pytest.mark.parametrize("queries", [None, 1])
def test_a_padded_row_is_bit_for_bit_the_row_alone_in_bfloat16(queries):
    lengths = [9, 4, 6]
    q, k, v, mask = _batch(torch.bfloat16, lengths, queries, seed=3)
    together, _ = row_attention(_Module(), q, k, v, mask, scaling=0.25)
    width = max(lengths)
    for row, n in enumerate(lengths):
        q_len = q.shape[2] if queries else n
        alone_q = q[row : row + 1, :, -q_len:] if queries else q[row : row + 1, :, width - n :]
        alone, _ = row_attention(_Module(), alone_q, k[row : row + 1, :, width - n :], v[row : row + 1, :, width - n :],
                                 None, scaling=0.25)  # fmt: skip
        assert torch.equal(together[row, -alone.shape[1] :], alone[0])


@pytest.fixture(scope="module")
def bf16_engines(tiny_hub, tmp_path_factory):
    """Engines over the tiny GPT-2 (two adapters) and a tiny sliding-window Gemma 3 (two adapters), in bfloat16."""
    model, adapters = tiny_gemma_entries(tiny_hub, tmp_path_factory.mktemp("row-attention"), seed=41)
    data = tiny_hub.registry_dict()
    data["models"].append(model)
    data["adapters"] += adapters
    for entry in data["models"]:
        entry["dtype"] = "bfloat16"
    engine = Engine(Registry.from_dict(data, root=tiny_hub.root))
    yield engine
    engine.close(wait_s=60)


@pytest.mark.parametrize(
    "model, adapters",
    [("tiny", (None, "style-a", "style-b", None)), ("tiny-gemma", (None, "gemma-a", "gemma-b", None))],
)
def test_batched_bfloat16_answers_equal_each_alone(bf16_engines, model, adapters):
    engine = bf16_engines
    loaded = engine.cache.get(model)
    assert loaded.model.get_base_model().config._attn_implementation == NAME
    assert next(loaded.model.get_base_model().parameters()).dtype == torch.bfloat16
    cases = [(p, a, 24 - 4 * i) for i, (p, a) in enumerate(zip(PROMPTS, adapters, strict=False))]
    alone = [engine.generate(model, p, {"temperature": 0, "max_new_tokens": n}, adapter=a) for p, a, n in cases]
    gate = StepGate(loaded.model)
    streams = [engine.stream(model, p, {"temperature": 0, "max_new_tokens": n}, adapter=a) for p, a, n in cases]
    gate.wait_entered(1)
    gate.open()
    for stream, single in zip(streams, alone, strict=True):
        stream.text()
        assert stream.result.token_ids == single.token_ids
    assert _steps_with(engine.local.batcher(model), *(s.request for s in streams))  # they shared decode steps


def test_a_model_without_sdpa_or_eager_attention_keeps_its_own(tiny_hub):
    class Config:
        _attn_implementation = "flash_attention_2"

    class Model:
        config = Config()

    assert use_row_attention(Model()) is False


def test_a_decode_query_with_keys_masked_inside_its_span_matches_sdpa():
    """The float32 one-query path honours a mask that is not one range (a row with a hole in its keys)."""
    from playground.models.row_attention import _one_query

    torch.manual_seed(5)
    q, k, v = torch.randn(1, 4, 1, 16), torch.randn(1, 2, 9, 16), torch.randn(1, 2, 9, 16)
    mask = torch.tensor([[True, True, False, True, False, True, True, True, True]])
    ours = _one_query(q, k, v, mask, 0.25)
    theirs = torch.nn.functional.scaled_dot_product_attention(
        q, k.repeat_interleave(2, dim=1), v.repeat_interleave(2, dim=1), attn_mask=mask, scale=0.25
    )
    assert torch.allclose(ours, theirs, atol=1e-5)


def test_the_spans_of_a_mask_are_read_again_when_it_changes_in_place():
    from playground.models.row_attention import _row_spans

    _, _, _, mask = _batch(torch.float32, [4, 2], queries=1)
    first = _row_spans(mask)
    assert _row_spans(mask) is first  # read once per mask
    mask[1, 0, 0, 1] = True  # the second row now sees one more key
    again = _row_spans(mask)
    assert again is not first and again[1][1] != first[1][1]
    fresh = mask.clone()
    assert _row_spans(fresh) is not again and _row_spans(fresh) == again  # another mask, the same spans
