"""One wrapper for every event handler: language, errors, GPU, Stop, and the settings by name.

A tab writes its handler plainly::

    @handler(cancel="generate", gpu=True, progress=True)
    def run(call: Call, model: str, prompt: str, settings: Settings, is_page: bool) -> Iterator[...]:
        stream = engine.stream(model, prompt, settings, visitor=call.visitor, cancel=call.cancel, ...)

and :func:`handler` gives Gradio a function whose signature names every input: the
``settings`` parameter becomes the eight settings' named parameters (those of
:data:`~playground.ui.controls.SETTINGS`, or the ones given), so the API documents
``temperature``, ``top_p``... and keyword calls work; ``request: gr.Request`` (and
``progress``, when asked) are added for Gradio to fill. When it runs, the wrapper reads
the request's language, watches for a Stop (:data:`~playground.ui.caller.CANCELS`),
builds the settings mapping (:func:`~playground.ui.controls.settings_from`), and turns a
core error into a ``gr.Error`` in the visitor's language. A generator stays a generator
(Gradio streams what a generator function yields), and ``gpu=True`` asks ZeroGPU for a GPU
(:func:`~playground.ui.gpu.on_gpu`).
"""

from __future__ import annotations

import contextlib
import inspect
import threading
import typing
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import gradio as gr

from playground.errors import PlaygroundError
from playground.serving.visitor_keys import Visitor
from playground.ui.caller import CANCELS, visitor_of
from playground.ui.controls import BY_NAME, NAMES, settings_from
from playground.ui.feedback import load_progress, user_error
from playground.ui.gpu import on_gpu
from playground.ui.i18n import request_language

Settings = dict[str, Any]  # the settings mapping a handler receives (its ``settings`` parameter)
Texts = tuple[str, ...]  # the texts a handler receives (its ``texts`` parameter, named by ``handler(texts=...)``)


@dataclass
class Call:
    """What a handler knows about the request it serves."""

    request: gr.Request | None
    lang: str  # the visitor's language
    cancel: threading.Event | None  # set by a Stop (handlers given ``cancel=``)
    progress: Callable[[str], None] | None  # shows the model's loading steps (handlers given ``progress=True``)

    @property
    def visitor(self) -> Visitor | None:
        """Who asks: the engine shares a batch fairly between visitors."""
        return visitor_of(self.request)


def _signature(
    fn: Callable[..., Any], settings: Sequence[str], texts: Sequence[str], progress: bool
) -> inspect.Signature:
    """``fn``'s signature as Gradio sees it: no ``call``, ``settings`` and ``texts`` spread out, the request added."""
    hints = typing.get_type_hints(fn)
    params: list[inspect.Parameter] = []
    for p in list(inspect.signature(fn).parameters.values())[1:]:  # the first is the Call
        if p.name == "settings":
            params += [inspect.Parameter(n, p.POSITIONAL_OR_KEYWORD, annotation=BY_NAME[n].api_type) for n in settings]
        elif p.name == "texts":
            params += [inspect.Parameter(n, p.POSITIONAL_OR_KEYWORD, annotation=str) for n in texts]
        else:
            params.append(p.replace(annotation=hints.get(p.name, p.annotation)))
    params.append(inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=gr.Request))
    if progress:
        params.append(inspect.Parameter("progress", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=gr.Progress()))
    return inspect.Signature(params, return_annotation=hints.get("return", inspect.Signature.empty))


def _present(wrapper: Callable[..., Any], fn: Callable[..., Any], signature: inspect.Signature) -> None:
    """Give ``wrapper`` the name and docs of ``fn`` and the ``signature`` Gradio reads (names and types)."""
    wrapper.__name__ = wrapper.__qualname__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    wrapper.__module__ = fn.__module__
    wrapper.__signature__ = signature  # type: ignore[attr-defined]  # Gradio reads the names here
    wrapper.__annotations__ = {
        p.name: p.annotation for p in signature.parameters.values() if p.annotation is not p.empty
    }  # and the types (gr.Request: filled in by Gradio) here
    if signature.return_annotation is not signature.empty:
        wrapper.__annotations__["return"] = signature.return_annotation


def handler(
    *,
    cancel: str | None = None,
    gpu: bool = False,
    progress: bool = False,
    settings: Sequence[str] = NAMES,
    texts: Sequence[str] = (),
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Wrap a handler ``fn(call, ..., settings, ...)`` for Gradio (see the module's docstring).

    ``cancel``: the event name a Stop cancels (the handler gets ``call.cancel``); ``gpu``: ask
    ZeroGPU for a GPU; ``progress``: show the loading steps (``call.progress``);
    ``settings``: which settings the ``settings`` parameter stands for (all, by default);
    ``texts``: the names of the text parameters a ``texts`` parameter stands for (a tab whose
    text inputs vary, e.g. the pair tabs).
    """

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        signature = _signature(fn, settings, texts, progress)
        own = inspect.signature(fn).parameters
        spread, gathered = "settings" in own, "texts" in own

        @contextlib.contextmanager
        def prepared(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Iterator[tuple[Call, dict[str, Any]]]:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            values = dict(bound.arguments)
            request = values.pop("request")
            shown = values.pop("progress", None)
            lang = request_language(request)
            watch = CANCELS.watch(request, cancel) if cancel else contextlib.nullcontext(None)
            with watch as event:
                try:
                    if gathered:
                        values["texts"] = tuple(values.pop(name) for name in texts)
                    if spread:
                        values["settings"] = settings_from({name: values.pop(name) for name in settings})
                    yield Call(request, lang, event, load_progress(shown, lang) if progress else None), values
                except (PlaygroundError, ValueError) as exc:
                    raise user_error(exc, lang) from None

        if inspect.isgeneratorfunction(fn):

            def wrapper(*args: Any, **kwargs: Any) -> Any:
                with prepared(args, kwargs) as (call, values):
                    yield from fn(call, **values)

        else:

            def wrapper(*args: Any, **kwargs: Any) -> Any:
                with prepared(args, kwargs) as (call, values):
                    return fn(call, **values)

        _present(wrapper, fn, signature)
        return on_gpu()(wrapper) if gpu else wrapper

    return wrap
