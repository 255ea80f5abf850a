"""Serving: running requests on the loaded models, or on a server that runs them.

The :class:`~playground.serving.backend.Backend` seam, the local backend (one continuous
batcher per loaded model, with its admission policy) and the remote one (an
OpenAI-compatible server such as vLLM), and what a step needs: token choice, detokenizing,
stop strings, the per-token record. How batching, fairness and the limits work:
``docs/serving.md``.
"""
