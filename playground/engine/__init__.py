"""The engine: the one door every request goes through, above the backends that run it.

``Engine.stream(model, prompt, settings)`` checks a request once, hands it to the model's
backend and returns a :class:`GenerationStream` of its text. The UI, the lessons, the
evaluation and the benchmarks use these names from here.
"""

from playground.engine.engine import Engine, GenerationResult, GenerationStream, Inspection

__all__ = ["Engine", "GenerationResult", "GenerationStream", "Inspection"]
