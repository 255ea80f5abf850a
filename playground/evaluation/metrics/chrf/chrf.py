"""chrF: character n-gram F-score (Popović, 2015), computed here without sacrebleu.

Corpus-level, as sacrebleu's default chrF: character n-grams of order 1..6 (whitespace
removed), statistics summed over all sentences, precision and recall averaged over the
orders, then F-beta with beta = 2. Scores are 0..100.
"""

from collections import Counter

import evaluate

from playground.evaluation.metric_loader import metric_info

_DESCRIPTION = "Character n-gram F-score (chrF, beta=2, n=1..6), corpus level, 0..100."
_KWARGS = """
Args:
    predictions: hypothesis strings.
    references: one reference string per prediction.
Returns:
    score: chrF in 0..100.
"""


def _ngrams(text, n):
    chars = "".join(text.split())
    return Counter(chars[i : i + n] for i in range(len(chars) - n + 1))


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS)
class Chrf(evaluate.Metric):
    """Corpus-level chrF."""

    def _info(self):
        citation = "Popović, M. (2015). chrF: character n-gram F-score for automatic MT evaluation."
        return metric_info(_DESCRIPTION, _KWARGS, {"predictions": "string", "references": "string"}, citation)

    def _compute(self, predictions, references, char_order=6, beta=2.0):
        precisions, recalls = [], []
        for n in range(1, char_order + 1):
            match = hyp_total = ref_total = 0
            for hyp, ref in zip(predictions, references, strict=True):
                h, r = _ngrams(hyp, n), _ngrams(ref, n)
                match += sum((h & r).values())
                hyp_total += sum(h.values())
                ref_total += sum(r.values())
            if hyp_total and ref_total:
                precisions.append(match / hyp_total)
                recalls.append(match / ref_total)
        if not precisions:
            return {"score": 0.0}
        p, r = sum(precisions) / len(precisions), sum(recalls) / len(recalls)
        if p + r == 0:
            return {"score": 0.0}
        b2 = beta * beta
        return {"score": 100.0 * (1 + b2) * p * r / (b2 * p + r)}
