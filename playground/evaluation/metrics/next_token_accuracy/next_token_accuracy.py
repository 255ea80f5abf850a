"""Next-token accuracy: how often the model's most likely next token is the true one."""

import evaluate

from playground.evaluation.metric_loader import metric_info

_DESCRIPTION = """Share of positions where argmax of the model's next-token distribution equals
the token that actually follows (the validation accuracy of a causal-LM fine-tuning run)."""

_KWARGS = """
Args:
    predictions: the model's argmax next-token id at each scored position.
    references: the true next-token id at each position.
Returns:
    accuracy: the share of positions where they are equal; tokens: how many were scored.
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS)
class NextTokenAccuracy(evaluate.Metric):
    """Top-1 next-token accuracy."""

    def _info(self):
        return metric_info(_DESCRIPTION, _KWARGS, {"predictions": "int64", "references": "int64"})

    def _compute(self, predictions, references):
        if not references:
            raise ValueError("references: no tokens to score")
        hits = sum(int(p == r) for p, r in zip(predictions, references, strict=True))
        return {"accuracy": hits / len(references), "tokens": len(references)}
