"""The Gradio layer: one file per tab, each a thin shell over the core in ``playground``."""
