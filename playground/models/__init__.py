"""The models: which exist (the registry), where their weights come from, and how they are loaded.

The registry (``registry.yaml``, checked into frozen dataclasses) names every model, adapter
and remote server; the prompt styles say how a prompt becomes tokens; the sources find and
check the weights (pinned revisions, safe formats, the bundled copies); the loader builds a
model, attaches its adapters and keeps it in a cache. Nothing here runs a request: that is
:mod:`playground.serving`.
"""
