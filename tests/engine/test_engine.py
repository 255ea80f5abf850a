"""The streaming engine on real tiny GPT-2 models with the real GPT-2 tokenizer."""

from __future__ import annotations

import threading

import pytest
import torch

from playground.errors import GenerationError, SettingsError, UnknownModelError
from tests.waiting import REQUEST_LIMIT_S

PROMPT = "The sea otter is"


def _hf_generate(model, tokenizer, prompt: str, **kwargs) -> list[int]:
    """Bare ``model.generate``: the reference the engine must match."""
    ids = tokenizer(prompt, return_tensors="pt")
    with torch.inference_mode():
        out = model.generate(**ids, pad_token_id=tokenizer.eos_token_id, **kwargs)
    return out[0, ids["input_ids"].shape[1] :].tolist()


def test_greedy_stream_equals_model_generate(engine, plain_base):
    stream = engine.stream("tiny", PROMPT, {"max_new_tokens": 24})
    pieces = list(stream)
    loaded = engine.cache.get("tiny")
    expected = _hf_generate(plain_base, loaded.tokenizer, PROMPT, max_new_tokens=24, do_sample=False)
    assert stream.result.token_ids == expected
    assert "".join(pieces) == stream.result.text
    assert stream.result.text == loaded.tokenizer.decode(expected, clean_up_tokenization_spaces=False)
    assert len(pieces) > 1  # it streamed
    assert stream.result.finish_reason == "length"
    assert stream.result.source.startswith("Hub playground-test/tiny-gpt2@")


def test_sampling_matches_model_generate_with_same_seed(engine, plain_base):
    settings = {
        "temperature": 0.9,
        "top_k": 40,
        "top_p": 0.9,
        "repetition_penalty": 1.3,
        "max_new_tokens": 20,
        "seed": 1234,
    }
    result = engine.generate("tiny", PROMPT, settings)
    loaded = engine.cache.get("tiny")
    torch.manual_seed(1234)
    expected = _hf_generate(
        plain_base,
        loaded.tokenizer,
        PROMPT,
        max_new_tokens=20,
        do_sample=True,
        temperature=0.9,
        top_k=40,
        top_p=0.9,
        repetition_penalty=1.3,
    )
    assert result.token_ids == expected
    assert result.seed == 1234


@pytest.mark.parametrize("adapter", ["style-a", "style-b"])
def test_adapter_stream_equals_peft_generate_with_that_adapter(engine, adapter):
    result = engine.generate("tiny", PROMPT, {"max_new_tokens": 16}, adapter=adapter)
    loaded = engine.cache.get("tiny")
    expected = _hf_generate(
        loaded.model, loaded.tokenizer, PROMPT, max_new_tokens=16, do_sample=False, adapter_names=[adapter]
    )
    assert result.token_ids == expected
    assert result.adapter == adapter
    assert result.license == f"{engine.registry.model('tiny').license} + {engine.registry.adapters[adapter].license}"


def test_seed_reproduces_and_differs(engine):
    base = {"temperature": 1.0, "max_new_tokens": 20}
    a = engine.generate("tiny", PROMPT, {**base, "seed": 7})
    b = engine.generate("tiny", PROMPT, {**base, "seed": 7})
    c = engine.generate("tiny", PROMPT, {**base, "seed": 8})
    assert a.token_ids == b.token_ids
    assert a.token_ids != c.token_ids
    random_seed = engine.generate("tiny", PROMPT, base)
    assert isinstance(random_seed.seed, int)  # reported, so the answer can be reproduced
    assert engine.generate("tiny", PROMPT, {**base, "seed": random_seed.seed}).token_ids == random_seed.token_ids


def test_stop_string_ends_generation_and_is_not_shown(engine):
    full = engine.generate("tiny", PROMPT, {"max_new_tokens": 40}).text
    # a stop string that appears in the greedy text, away from its start
    stop = full[len(full) // 2 : len(full) // 2 + 3]
    assert stop.strip(), full
    result = engine.generate("tiny", PROMPT, {"max_new_tokens": 40, "stop": [stop, "never-appears"]})
    assert result.finish_reason == "stop_string"
    assert result.stop_string == stop
    assert result.text == full[: full.index(stop)]
    assert stop not in result.text


def test_stop_string_split_across_pieces_is_held_back(engine):
    full = engine.generate("tiny", PROMPT, {"max_new_tokens": 40}).text
    stop = full[5:40]  # long: spans several tokens, so it arrives in pieces
    pieces = list(engine.stream("tiny", PROMPT, {"max_new_tokens": 40, "stop": [stop]}))
    shown = "".join(pieces)
    assert shown == full[: full.index(stop)]
    for i in range(1, len(pieces) + 1):  # no prefix of the stop string was shown and taken back
        assert not "".join(pieces[:i]).endswith(stop[:3]) or i == len(pieces)


def test_cancel_event_stops_within_two_steps(engine):
    cancel = threading.Event()
    stream = engine.stream("tiny", PROMPT, {"max_new_tokens": 60}, cancel=cancel)
    for _ in stream:
        if len(stream.result.token_ids) >= 3 and not cancel.is_set():
            cancel.set()
            cancelled_at = len(stream.result.token_ids)
    assert stream.result.finish_reason == "cancelled"
    assert stream.result.completion_tokens <= cancelled_at + 2


def test_closing_the_stream_stops_generation(engine):
    stream = engine.stream("tiny", PROMPT, {"max_new_tokens": 60})
    next(stream)
    stream.close()
    assert stream.result.finish_reason == "cancelled"
    assert stream.result.completion_tokens < 60
    with pytest.raises(StopIteration):
        next(stream)


def test_time_limit_ends_request_with_warning(engine):
    result = engine.generate("tiny", PROMPT, {"max_new_tokens": 60}, time_limit_s=1e-6)
    assert result.finish_reason == "time_limit"
    assert result.completion_tokens == 1
    assert "time limit" in result.warnings[0]


def test_long_prompt_is_left_truncated_with_a_warning(engine):
    prompt = " ".join(f"word{i}" for i in range(200))
    n_tokens = len(engine.cache.get("tiny").tokenizer(prompt)["input_ids"])
    assert n_tokens > 128
    result = engine.generate("tiny", prompt, {"max_new_tokens": 10})
    assert result.prompt_tokens == 128 - 10
    assert result.truncated_tokens == n_tokens - (128 - 10)
    assert "dropped" in result.warnings[0]
    assert result.completion_tokens == 10


def test_error_in_the_model_reaches_the_caller_and_the_engine_recovers(engine):
    loaded = engine.cache.get("tiny")
    calls = {"n": 0}

    def explode(module, args, output):
        calls["n"] += 1
        if calls["n"] == 4:
            raise RuntimeError("injected fault")

    handle = loaded.model.transformer.h[0].register_forward_hook(explode)
    try:
        stream = engine.stream("tiny", PROMPT, {"max_new_tokens": 20})
        with pytest.raises(GenerationError, match="injected fault"):
            list(stream)
        assert stream.result.finish_reason == "error"
    finally:
        handle.remove()
    assert engine.generate("tiny", PROMPT, {"max_new_tokens": 5}).completion_tokens == 5


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"model": "nope"}, "model: unknown model 'nope'"),
        ({"adapter": "nope"}, "adapter: unknown adapter 'nope'"),
        ({"prompt": ""}, "prompt: must not be empty"),
        ({"prompt": 42}, "prompt: must be a string"),
        ({"prompt": "x" * 5001}, "prompt: 5001 characters"),
        ({"settings": {"temperature": float("nan")}}, "temperature: must be a finite number"),
        ({"settings": {"max_new_tokens": 65}}, r"max_new_tokens: 65 is out of range \[1, 64\]"),
        ({"settings": {"stop": ["a", "b", "c", "d", "e"]}}, "stop: at most 4"),
        ({"settings": {"stop": [""]}}, r"stop\[0\]: must not be empty"),
        ({"settings": {"top_p": 0}}, r"top_p: 0 is out of range \(0, 1\]"),
        ({"settings": {"colour": 1}}, "colour: unknown setting"),
    ],
)
def test_bad_requests_are_refused_by_name_before_any_work(engine, kwargs, message):
    request = {"model": "tiny", "prompt": PROMPT, "settings": None, "adapter": None, **kwargs}
    with pytest.raises((SettingsError, UnknownModelError), match=message):
        engine.stream(request["model"], request["prompt"], request["settings"], request["adapter"])
    assert engine.cache.loaded_names() == []  # nothing was loaded for a bad request


def test_max_new_tokens_must_leave_room_for_the_prompt(tiny_hub):
    from playground.engine import Engine

    limits = {"max_new_tokens": 200, "time_limit_s": REQUEST_LIMIT_S}
    engine = Engine(tiny_hub.registry(limits=limits))
    with pytest.raises(SettingsError, match="max_new_tokens: 128 leaves no room"):
        engine.stream("tiny", PROMPT, {"max_new_tokens": 128})


def test_prompt_style_is_applied_when_asked(engine):
    loaded = engine.cache.get("tiny-local")
    ids = engine.encode(loaded, "Translate to French: sea otter", use_prompt_style=True)
    text = loaded.tokenizer.decode(ids)
    assert text.startswith("Below is an instruction")
    assert text.endswith("### Instruction:\nTranslate to French: sea otter\n\n### Response:\n")
    result = engine.generate(
        "tiny-local", "Translate to French: sea otter", {"max_new_tokens": 4}, use_prompt_style=True
    )
    assert result.prompt_tokens == len(ids)


def test_adapter_prompt_style_overrides_its_base(tiny_hub):
    from playground.engine import Engine

    data = tiny_hub.registry_dict()
    data["adapters"][0]["prompt_style"] = "alpaca"
    from playground.models.registry import Registry

    engine = Engine(Registry.from_dict(data, root=tiny_hub.root))
    assert engine.prompt_style("tiny") == "plain"
    assert engine.prompt_style("tiny", "style-a") == "alpaca"
    loaded = engine.cache.get("tiny")
    with_style = engine.encode(loaded, "Say hi.", use_prompt_style=True, adapter="style-a")
    assert loaded.tokenizer.decode(with_style).endswith("### Instruction:\nSay hi.\n\n### Response:\n")
    assert engine.encode(loaded, "Say hi.", use_prompt_style=True) == loaded.tokenizer("Say hi.")["input_ids"]


def test_a_typed_special_token_is_read_as_its_characters(engine):
    stream = engine.stream("tiny", "The end <|endoftext|>", {"max_new_tokens": 3})
    stream.text()
    tokenizer = engine.cache.get("tiny").tokenizer
    literal = tokenizer("The end <|endoftext|>", split_special_tokens=True)["input_ids"]
    assert stream.result.prompt_tokens == len(literal) > len(tokenizer("The end <|endoftext|>")["input_ids"])
