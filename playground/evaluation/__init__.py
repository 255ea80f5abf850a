"""Evaluation: perplexity and next-token accuracy of base vs adapter, few-shot scoring.

The metrics are ``evaluate`` modules that live in ``metrics/`` and are loaded from this
folder (nothing is fetched from the Hub).
"""
