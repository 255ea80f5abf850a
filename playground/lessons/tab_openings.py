"""What each tab shows when the page opens: its ready-made texts and settings.

The tabs (``playground/ui``) show these; a deep link that leaves a field out means this
value (:mod:`playground.lessons.reproduce` reads links the way the page opens them).
"""

from __future__ import annotations

from pathlib import Path

from playground.lessons.presets import Preset
from playground.models.registry import Candidate, Registry
from playground.settings import GenerationSettings

HELDOUT_DIR = Path(__file__).resolve().parent.parent / "heldout"

# George Sand: openings the base and the style adapter continue
OPENINGS = [
    "Cette femme était assise",
    "Le soir elle se rappelait",
    "Au bord de l'étang, la petite Fadette",
    "Je vous écris de la montagne, mon ami,",
]
STYLE_SETTINGS = GenerationSettings(
    temperature=0.8, top_p=0.95, top_k=50, max_new_tokens=80, repetition_penalty=1.2, no_repeat_ngram_size=3, seed=1
)

# Instructions: (instruction, input) pairs
INSTRUCTIONS = [
    ("Give three tips for staying healthy.", ""),
    ("Translate the sentence into French.", "The sea otter sleeps on its back."),
    ("Write a haiku about autumn.", ""),
    ("Classify the sentiment of the review as positive or negative.", "A boring, far too long film."),
]
# the GPT-2 + LoRA Alpaca exercise's settings: temperature 0.8, top-p 0.95, top-k 50, 100 new tokens
INSTRUCTIONS_SETTINGS = GenerationSettings(temperature=0.8, top_p=0.95, top_k=50, max_new_tokens=100, seed=1)

# Generate: a question an instruction model answers out of the box
GENERATE_PROMPT = "What is the capital of France?"

# Compare: the windows a text is scored in
COMPARE_WINDOW = 256  # tokens per scored window (or the model's context, if shorter)
COMPARE_MAX_WINDOWS = 16  # windows scored at most: 4,096 tokens


def lab_settings(first: Preset) -> GenerationSettings:
    """The lab's settings when the page opens: greedy, with the first preset's length and stop strings."""
    return GenerationSettings(max_new_tokens=first.max_new_tokens, stop=first.stop)


def heldout_texts() -> dict[str, str]:
    """The built-in held-out texts Compare offers, by file name."""
    return {p.stem: p.read_text(encoding="utf-8") for p in sorted(HELDOUT_DIR.glob("*.txt"))}


def compare_pair(registry: Registry) -> tuple[Candidate, Candidate]:
    """What Compare opens on: the first adapter against its own base (generic vs fine-tuned)."""
    candidates = registry.candidates()
    tuned = next((c for c in candidates if c.adapter is not None), candidates[-1])
    return Candidate(tuned.model), tuned
