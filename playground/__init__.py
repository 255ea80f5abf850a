"""Playground: a multilingual text-generation playground for Hugging Face Spaces.

The core (this package, minus ``playground.ui``) never imports gradio. Importing the
package itself is cheap: nothing here touches torch, transformers or the Hub, so that
``app.py`` can decide whether the Hub is reachable before those libraries read their
environment.
"""

__version__ = "0.1.0"
