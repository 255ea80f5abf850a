"""How often int8 weights choose the token float32 weights choose, on the lessons scoreboard's answers.

    python -m playground.evaluation.int8_agreement --data ../shared/data
    python -m playground.evaluation.int8_agreement --data DIR --samples 50 --json agreement.json

The scoreboard's greedy requests (:mod:`playground.evaluation.lessons`: the lab's 0, 1 and
5 shots, the instructions for the base and the adapter, the repetition openings without a
penalty or n-gram ban, whose token is not the most likely one) are
answered by the lesson model served in float32 (its GGUF dequantized: the reference). Each
answer is then read by the same model served from int8 weights (``dtype: int8``, the
app's default on a CPU), teacher-forced along the float32 answer: at every decode step,
int8's most likely next token is compared with the token float32 wrote. The share that
agree is printed per lesson and overall, with the first step each disagreeing answer
turned (after it, a free-running int8 answer would write other words).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

TARGET = 0.98  # the share of decode steps on which int8 must agree with float32


@dataclass
class Agreement:
    """Decode steps compared, and agreed, for one group of requests."""

    steps: int = 0
    agreed: int = 0
    answers: int = 0
    turned: list[int] = field(default_factory=list)  # per disagreeing answer, its first disagreeing step

    @property
    def share(self) -> float:
        """Agreed steps / steps."""
        return self.agreed / self.steps if self.steps else float("nan")


def compare(reference: Any, int8: Any, requests: list[dict[str, Any]]) -> Agreement:
    """Float32's answers to ``requests``, read by int8 step by step (see the module's docstring)."""
    from playground.evaluation.lessons import run_all

    agreement = Agreement()
    for request, result in zip(requests, run_all(reference, requests), strict=True):
        model, adapter = request["model"], request.get("adapter")
        prompt_ids = int8.encode(model, request["prompt"], use_prompt_style=False)
        answer = list(result.token_ids)
        if result.finish_reason == "eos":  # choosing to stop was a decode step too
            answer.append(int(int8.prepare(model).tokenizer.eos_token_id))
        if not answer:
            continue
        ids = prompt_ids + answer
        labels = [-100] * len(prompt_ids) + answer  # scored: each answer token, predicted from what precedes it
        choices = list(int8.score(model, adapter, [(ids, labels)]).predictions)
        same = [c == t for c, t in zip(choices, answer, strict=True)]
        agreement.steps += len(same)
        agreement.agreed += sum(same)
        agreement.answers += 1
        if not all(same):
            agreement.turned.append(same.index(False))
    return agreement


def choice_is_argmax(settings: dict[str, Any]) -> bool:
    """Whether a greedy request's token is the model's most likely one (no penalty or n-gram ban moves it).

    Teacher forcing reads int8's raw most likely token; where a repetition control chose
    float32's token instead, the two would be compared under different rules.
    """
    return float(settings.get("repetition_penalty", 1.0)) == 1.0 and not int(settings.get("no_repeat_ngram_size", 0))


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: the agreement per lesson and overall, and the verdict against the target."""
    from playground.network import configure_hub_access

    configure_hub_access()
    from playground.adapters.recipe import load_recipe
    from playground.data.alpaca import load_alpaca
    from playground.data.tatoeba import load_pairs
    from playground.engine import Engine
    from playground.evaluation import lessons
    from playground.models.registry import DEFAULT_REGISTRY_PATH, load_registry

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=None, help="folder with tatoeba-en-fr/, alpaca/ (as the scoreboard's)")
    parser.add_argument("--registry", default=str(DEFAULT_REGISTRY_PATH), help="registry YAML")
    parser.add_argument("--samples", type=int, default=50, help="Tatoeba pairs and Alpaca instructions")
    parser.add_argument("--instruction-tokens", type=int, default=128)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    registry = load_registry(args.registry)
    reference = Engine(lessons.with_dtype(registry, "float32"))
    int8 = Engine(lessons.with_dtype(registry, "int8"))
    model = registry.opening_model("lab")
    groups: dict[str, list[dict[str, Any]]] = {}
    pairs = load_pairs(lessons._data_path(args.data, "tatoeba-en-fr", "fra.txt"))
    for k, requests in lessons.lab_requests(model, pairs, args.samples, seed=0)[1].items():
        groups[f"lab, {k} shots"] = requests
    spec = registry.opening_adapter("instructions")
    recipe = load_recipe(registry.resolve_path(spec.path or "") / "recipe.yaml")
    records = load_alpaca(lessons._data_path(args.data, "alpaca", "alpaca_data_first2000.json"))
    held_out = records[-recipe.data.test_records :][: args.samples]
    for name, requests in lessons.instruction_requests(reference, spec.name, held_out, args.instruction_tokens).items():
        groups[f"instructions, {name or 'base'}"] = requests
    for label, requests in lessons.repetition_requests(model, 128).items():
        if all(choice_is_argmax(r["settings"]) for r in requests):  # int8's choice is read as the raw argmax
            groups[f"repetition, {label}"] = requests
    results = {label: compare(reference, int8, requests) for label, requests in groups.items()}
    total = Agreement(sum(a.steps for a in results.values()), sum(a.agreed for a in results.values()))
    print(format_agreement(results, total))
    if args.json:
        payload = {label: {"steps": a.steps, "agreed": a.agreed, "share": a.share, "answers": a.answers,
                           "turned_at": a.turned} for label, a in {**results, "all": total}.items()}  # fmt: skip
        args.json.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return 0 if total.share >= TARGET else 1


def format_agreement(results: dict[str, Agreement], total: Agreement) -> str:
    """The table: per group, steps, agreed share, answers that turned and where."""
    rows = ["| requests | decode steps | int8 = float32 | answers that turned (at step) |", "|---|---:|---:|---|"]
    for label, a in results.items():
        turned = ", ".join(str(t) for t in sorted(a.turned)[:8]) + (" ..." if len(a.turned) > 8 else "")
        rows.append(f"| {label} | {a.steps} | {100 * a.share:.2f} % | {len(a.turned)} of {a.answers} ({turned}) |")
    verdict = "met" if total.share >= TARGET else "missed"
    rows.append(f"| **all** | {total.steps} | **{100 * total.share:.2f} %** | target {100 * TARGET:.0f} %: {verdict} |")
    return "\n".join(rows)


if __name__ == "__main__":
    sys.exit(main())
