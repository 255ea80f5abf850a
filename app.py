"""Hugging Face Spaces entry point: ``python app.py``.

Environment variables:
    PLAYGROUND_REGISTRY  another registry YAML file (default: playground/models/registry.yaml)
    PLAYGROUND_REMOTE    a YAML file of ``remote:`` entries: models served by a vLLM / OpenAI-compatible server
    PLAYGROUND_PRELOAD   0 to skip loading the default model before the server starts
    PLAYGROUND_PROXY_HOPS  the reverse proxies in front of the app that append to X-Forwarded-For: the visitor's
                           address is the entry the outermost one wrote (default 1 on a Space, else 0: the
                           connection's address; playground/ui/forwarded.py). FORWARDED_ALLOW_IPS is not read.
    PLAYGROUND_DEBUG_RECORD  1 to answer GET /_debug/ended and /_debug/steps: how the latest requests ended,
                             the latest forward passes (for tests; ui/debug.py)
    PLAYGROUND_CLASSROOM     0 for no Classroom tab (and no database)
    PLAYGROUND_CLASSROOM_DB  the classroom's SQLite file (default: /data/playground/, else the cache)
    PLAYGROUND_CLASSROOM_URL a PostgreSQL URL for the classroom instead (a secret; see docs/classroom.md)
    HF_HUB_OFFLINE       1 to never reach the Hub (set automatically when it is unreachable)
"""

from __future__ import annotations

import logging
import os

from playground.allocator import limit_arenas
from playground.network import configure_hub_access

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
limit_arenas()  # before any thread starts: memory freed by one request's thread serves the next
configure_hub_access()  # before huggingface_hub and transformers read their environment
os.environ["FORWARDED_ALLOW_IPS"] = ""  # uvicorn trusts no proxy itself: PLAYGROUND_PROXY_HOPS decides (ForwardedFor)

try:  # on a ZeroGPU Space, `spaces` must be imported before CUDA is touched
    import spaces
except ImportError:  # pragma: no cover - optional outside Spaces
    spaces = None

import gradio as gr  # noqa: E402
from starlette.middleware import Middleware  # noqa: E402

from playground.classroom.errors import StorageError  # noqa: E402
from playground.classroom.rooms import Classroom  # noqa: E402
from playground.classroom.storage import Store, database_url  # noqa: E402
from playground.engine import Engine  # noqa: E402
from playground.errors import ConfigError  # noqa: E402
from playground.lessons.presets import load_presets  # noqa: E402
from playground.models.registry import DEFAULT_REGISTRY_PATH, Limits, load_registry, with_remote  # noqa: E402
from playground.ui.app import build_app  # noqa: E402
from playground.ui.classroom_page import CLASSROOM_CSS  # noqa: E402
from playground.ui.debug import ENV as DEBUG_RECORD  # noqa: E402
from playground.ui.debug import DebugRecord  # noqa: E402
from playground.ui.forwarded import ForwardedFor, proxy_hops  # noqa: E402
from playground.ui.guard import Guard  # noqa: E402
from playground.ui.i18n import I18N  # noqa: E402
from playground.ui.page import PAGE_CSS  # noqa: E402
from playground.ui.session_state import use_lean_sessions  # noqa: E402
from playground.ui.theme import THEME  # noqa: E402

log = logging.getLogger("app")


def create_engine() -> Engine:
    """Engine over the configured registry, with the default model loaded unless told not to."""
    registry = load_registry(os.environ.get("PLAYGROUND_REGISTRY") or DEFAULT_REGISTRY_PATH)
    if os.environ.get("PLAYGROUND_REMOTE"):
        registry = with_remote(registry, os.environ["PLAYGROUND_REMOTE"])
    engine = Engine(registry)
    if os.environ.get("PLAYGROUND_PRELOAD", "1") != "0":
        source = engine.source(registry.default_model, progress=log.info)
        log.info("default model %s ready, from %s", registry.default_model, source)
    return engine


def create_classroom(engine: Engine) -> Classroom | None:
    """The classroom over its database (playground/classroom/storage.py); None when turned off or it cannot open.

    A database that cannot open (a read-only disk, an unreachable server, a newer schema)
    leaves the rest of the playground running, without the Classroom tab.
    """
    if os.environ.get("PLAYGROUND_CLASSROOM", "1") == "0":
        return None
    try:
        return Classroom(Store(database_url()), engine.registry, load_presets())
    except (StorageError, ConfigError) as exc:
        log.error("no Classroom tab: its database cannot open: %s", exc)
        return None


def handler_slots(limits: Limits) -> int:
    """Handlers of one event that Gradio runs at once.

    More than one client address may hold (``max_events_per_address``, waiting or running,
    counted by the guard), so a visitor's flood never takes every slot: the engine's fair
    row shares (``max_rows_per_visitor``) decide who decodes, not Gradio's queue. A handler
    waiting for a row costs a thread and nothing else.
    """
    return limits.max_events_per_address + limits.max_batch_size


def queue_options(limits: Limits) -> dict:
    """``demo.queue`` arguments: handler slots, the queue's size, every call through the queue."""
    return {
        "default_concurrency_limit": handler_slots(limits),
        "max_size": limits.queue_size,  # visits beyond this are told the app is busy
        "api_open": False,  # every call goes through the queue, where the guard counts it
    }


def launch_options(demo: gr.Blocks, engine: Engine) -> dict:
    """``demo.launch`` arguments: the visitor's address, the guard in front of Gradio's routes, session cap, threads.

    Threads: one address's handlers (at most ``max_events_per_address``) leave as many
    again for everyone else (a running sync handler holds one of Gradio's threads).
    With ``PLAYGROUND_DEBUG_RECORD=1``, the engine's record of ended requests behind the guard.
    """
    limits = engine.registry.limits
    middleware = [  # the first is the outermost: the guard counts visitors by the address ForwardedFor set
        Middleware(ForwardedFor, hops=proxy_hops(os.environ)),
        Middleware(Guard, blocks=demo, limits=limits),
    ]
    if os.environ.get(DEBUG_RECORD) == "1":
        middleware.append(Middleware(DebugRecord, engine=engine))
    return {
        "app_kwargs": {"middleware": middleware},
        "state_session_capacity": limits.max_sessions,
        "max_threads": 2 * handler_slots(limits),
    }


use_lean_sessions()  # a session keeps what it changes, not a copy of every component (350 KB less each)
engine = create_engine()
limits = engine.registry.limits
demo = build_app(engine, create_classroom(engine)).queue(**queue_options(limits))

if __name__ == "__main__":
    demo.launch(
        server_name=os.environ.get("GRADIO_SERVER_NAME", "0.0.0.0"),
        i18n=I18N,
        css=PAGE_CSS + CLASSROOM_CSS,
        theme=THEME,
        **launch_options(demo, engine),
    )
