"""Stanford Alpaca records (instruction / input / output) as training examples.

    records = load_alpaca()                                  # downloads the 52,002 records
    records = load_alpaca("data/alpaca_data_first2000.json") # reads a local copy

Each example is the Alpaca prompt (see :class:`playground.models.prompt_styles.Alpaca`) followed by the
response and the tokenizer's end-of-sequence token. Without that token the tuned model
never learns to stop, the classic "the output never stops" bug of instruction tuning.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playground.models.prompt_styles import Alpaca

log = logging.getLogger(__name__)

ALPACA_URL = "https://raw.githubusercontent.com/tatsu-lab/stanford_alpaca/main/alpaca_data.json"


@dataclass(frozen=True)
class InstructionExample:
    """One instruction record."""

    instruction: str
    input: str
    output: str


def parse_records(data: Any) -> list[InstructionExample]:
    """Check and convert the JSON list of records; raises ValueError naming the bad record."""
    if not isinstance(data, list):
        raise ValueError("alpaca: expected a JSON list of records")
    out = []
    for i, rec in enumerate(data):
        if not isinstance(rec, dict) or not all(isinstance(rec.get(k), str) for k in ("instruction", "output")):
            raise ValueError(f"alpaca[{i}]: needs string fields instruction and output")
        inp = rec.get("input", "")
        if not isinstance(inp, str):
            raise ValueError(f"alpaca[{i}].input: must be a string")
        out.append(InstructionExample(rec["instruction"].strip(), inp.strip(), rec["output"].strip()))
    return out


def load_alpaca(local_file: str | Path | None = None, limit: int | None = None) -> list[InstructionExample]:
    """Alpaca records from ``local_file``, or downloaded from the Stanford repository."""
    if local_file:
        data = json.loads(Path(local_file).read_text(encoding="utf-8"))
    else:
        log.info("downloading %s", ALPACA_URL)
        with urllib.request.urlopen(ALPACA_URL, timeout=120) as response:
            data = json.loads(response.read().decode("utf-8"))
    records = parse_records(data)
    return records[:limit] if limit else records


def encode_example(tokenizer: Any, example: InstructionExample, max_len: int) -> tuple[list[int], list[int]]:
    """Token ids and labels for one example: the loss is on the response and the EOS only.

    Returns ``(input_ids, labels)`` with prompt positions labelled -100, truncated to
    ``max_len`` tokens (the EOS is kept at the end).
    """
    prompt = Alpaca().render(tokenizer, example.instruction, example.input)
    prompt_ids = tokenizer(prompt, add_special_tokens=True)["input_ids"]
    response_ids = tokenizer(example.output, add_special_tokens=False)["input_ids"]
    eos = tokenizer.eos_token_id
    if eos is None:
        raise ValueError("alpaca: the tokenizer has no end-of-sequence token")
    room = max_len - len(prompt_ids) - 1
    if room < 1:
        prompt_ids = prompt_ids[: max_len - 2]
        room = 1
    response_ids = [*response_ids[:room], eos]
    return prompt_ids + response_ids, [-100] * len(prompt_ids) + response_ids
