"""Deciding, before huggingface_hub is imported, whether the Hub can be reached.

huggingface_hub reads ``HF_HUB_OFFLINE`` when it is imported. On a machine without
network, leaving it unset makes every load retry for about a minute before falling back
to another source, so the app checks once, quickly, and sets it.
"""

from __future__ import annotations

import logging
import os
import socket
from urllib.parse import urlparse

log = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "https://huggingface.co"


def hub_reachable(endpoint: str | None = None, timeout: float = 3.0) -> bool:
    """True when a TCP connection to the Hub's endpoint opens within ``timeout`` seconds."""
    url = urlparse(endpoint or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname or "", port), timeout=timeout):
            return True
    except OSError:
        return False


def configure_hub_access() -> bool:
    """Set ``HF_HUB_OFFLINE=1`` when the Hub is unreachable; return True when online.

    Must run before huggingface_hub or transformers is imported. An explicit
    ``HF_HUB_OFFLINE`` in the environment is respected as it is.
    """
    if "HF_HUB_OFFLINE" in os.environ:
        online = os.environ["HF_HUB_OFFLINE"].strip().lower() not in {"1", "true", "yes", "on"}
        log.info("HF_HUB_OFFLINE=%s set by the environment", os.environ["HF_HUB_OFFLINE"])
        return online
    if hub_reachable():
        return True
    os.environ["HF_HUB_OFFLINE"] = "1"
    log.warning("the Hugging Face Hub is unreachable: working offline (cache and bundled models)")
    return False
