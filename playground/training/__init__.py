"""LoRA training from a recipe: ``python -m playground.training.train adapters/<name>/recipe.yaml``."""
