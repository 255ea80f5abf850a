"""Perplexity from per-token negative log-likelihoods, as an ``evaluate`` metric."""

import math

import evaluate

from playground.evaluation.metric_loader import metric_info

_DESCRIPTION = """Perplexity = exp(mean negative log-likelihood) over all scored tokens.
The model is run by the caller (playground.evaluation.scoring); this module only aggregates,
so the same numbers come out whichever way the model was loaded."""

_KWARGS = """
Args:
    nll: negative log-likelihood (natural log) of each scored token.
Returns:
    perplexity: exp(mean nll); mean_nll: the mean; tokens: how many were scored.
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS)
class Perplexity(evaluate.Metric):
    """exp of the mean negative log-likelihood."""

    def _info(self):
        return metric_info(_DESCRIPTION, _KWARGS, {"nll": "float64"})

    def _compute(self, nll):
        if not nll:
            raise ValueError("nll: no tokens to score")
        mean = sum(nll) / len(nll)
        return {"perplexity": math.exp(mean), "mean_nll": mean, "tokens": len(nll)}
