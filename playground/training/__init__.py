"""LoRA training recipes: ``python -m playground.training.train adapters/<name>/recipe.yaml``."""
