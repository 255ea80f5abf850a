"""Serving the registry's models from an inference engine that scales out (vLLM)."""
