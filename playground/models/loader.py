"""The cache of loaded models: one copy of each base, shared by all of its adapters.

:class:`ModelCache` is the only place that holds loaded models. ``cache.get(name)`` loads a
base model the first time (through :mod:`playground.models.sources`), attaches every registered
LoRA adapter of that base to the same weights with PEFT, and keeps the result for later
requests. Adapters are all attached at load time, before the model serves anything, so
no request ever changes a model another request is using: the adapter of a forward pass is
chosen per call with ``adapter_names`` (see :meth:`LoadedModel.forward_kwargs`).

PEFT implements ``adapter_names`` by registering forward hooks on the shared LoRA layers
for the duration of the call, so two forward passes of one model must not overlap:
``LoadedModel.forward_lock`` serialises them. :meth:`LoadedModel.forward_rows` registers
those hooks itself on the LoRA layers listed once at load: PEFT's own path walks every
module of the model twice per call to find them (on Gemma 3 270M, a fifth of a bf16
decode step). The cache knows nothing of batching (:mod:`playground.serving.batching`); it tells
its ``on_drop`` listeners when a model leaves it (the local backend then stops that model's
batcher).

An adapter that fails its checks is left out with its error recorded in
``LoadedModel.adapter_errors``; the base and the other adapters stay usable.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from playground.allocator import release_memory
from playground.errors import ModelLoadError, PlaygroundError, UnknownModelError
from playground.forking import renew_in_child
from playground.messages import Message
from playground.models.int8_sources import load_model
from playground.models.packed_linear import pack_linear_layers
from playground.models.registry import AdapterSpec, ModelSpec, Registry
from playground.models.row_attention import use_row_attention
from playground.models.safety import HUB_ADAPTER_PATTERNS, check_adapter_folder
from playground.models.sources import Progress
from playground.models.thread_pools import in_own_thread
from playground.models.tokenizer_tables import drop_build_tables

log = logging.getLogger(__name__)

BASE_ADAPTER = "__base__"  # PEFT's name for "no adapter" in a mixed batch


@dataclass
class LoadedModel:
    """A base model in memory, its tokenizer, and the adapters attached to it."""

    spec: ModelSpec
    model: Any  # the transformers model, or a PeftModel wrapping it once adapters exist
    tokenizer: Any
    source: str  # where the weights came from, for the UI
    adapters: dict[str, AdapterSpec] = field(default_factory=dict)  # attached, by name
    adapter_errors: dict[str, str] = field(default_factory=dict)  # refused, with the reason
    supports_logits_to_keep: bool = False  # the forward accepts logits_to_keep
    forward_lock: threading.Lock = field(default_factory=threading.Lock)  # one forward at a time
    lora_layers: list[Any] = field(default_factory=list)  # the PEFT layers that take adapter_names, listed once
    int8: bool = False  # its products are int8 (playground.models.int8_sources)
    lean: Any = None  # its lean forward (playground.models.decoder.LeanDecoder), when it has one
    _undo: Callable[[], None] | None = field(default=None, repr=False)  # puts back what the pass under way changed

    def __post_init__(self) -> None:
        renew_in_child(self, LoadedModel._start_again)

    def _start_again(self) -> None:
        """In a forked child: the model as no pass changed it, ``forward_lock`` free (a parent's pass held both)."""
        if self._undo is not None:
            self._undo()
            self._undo = None
        self.forward_lock = threading.Lock()

    @contextlib.contextmanager
    def _changed_for_one_pass(self, undo: Callable[[], None]) -> Iterator[None]:
        """While one pass runs with the model changed; ``undo`` (idempotent) puts it back after, or in a forked child.

        ``undo`` is known before the first change: a fork at any instant of the pass leaves
        the child a way back to the model as it is between passes.
        """
        self._undo = undo
        try:
            yield
        finally:
            undo()
            self._undo = None

    @property
    def device(self) -> Any:
        """The device the weights live on."""
        return next(self.model.parameters()).device

    @property
    def pad_token_id(self) -> int:
        """The padding id for batches: the tokenizer's, else its end-of-sequence id."""
        pad = self.tokenizer.pad_token_id
        return int(pad if pad is not None else self.tokenizer.eos_token_id)

    @property
    def vocab_size(self) -> int:
        """How many token ids the model and its tokenizer both know (ids 0 to this - 1)."""
        config = self.model.config
        text = config.get_text_config() if hasattr(config, "get_text_config") else config
        return min(len(self.tokenizer), int(text.vocab_size))

    @property
    def eos_token_ids(self) -> set[int]:
        """Token ids that end a generation (generation config and tokenizer)."""
        ids: set[int] = set()
        gen = getattr(self.model, "generation_config", None)
        eos = getattr(gen, "eos_token_id", None)
        if isinstance(eos, int):
            ids.add(eos)
        elif isinstance(eos, (list, tuple)):
            ids.update(int(i) for i in eos)
        if self.tokenizer.eos_token_id is not None:
            ids.add(int(self.tokenizer.eos_token_id))
        return ids

    def forward_kwargs(self, adapter: str | None, batch_size: int = 1) -> dict[str, Any]:
        """Keyword arguments that select ``adapter`` (None = the base) for one forward call.

        Once any adapter is attached the model is a PeftModel whose "active adapter" is
        shared state; passing ``adapter_names`` on every call makes each request name its
        own adapter instead of relying on (or flipping) that state.
        """
        if adapter is not None and adapter not in self.adapters:
            reason = self.adapter_errors.get(adapter)
            if reason:
                raise ModelLoadError(Message("adapter_refused", name=adapter, reason=reason))
            raise UnknownModelError(
                Message("adapter_not_attached", field="adapter", name=adapter, model=self.spec.name)
            )
        if not self.adapters:
            return {}
        return {"adapter_names": [adapter or BASE_ADAPTER] * batch_size}

    def rows_forward_kwargs(self, adapters: Sequence[str | None]) -> dict[str, Any]:
        """Keyword arguments for one forward call over rows that each name their adapter (None = the base)."""
        for adapter in set(adapters):
            self.forward_kwargs(adapter)
        if not self.adapters:
            return {}
        return {"adapter_names": [adapter or BASE_ADAPTER for adapter in adapters]}

    def forward_rows(self, adapters: Sequence[str | None], **inputs: Any) -> Any:
        """One forward pass, under ``forward_lock``, over rows that each name their adapter (None = the base).

        The same as ``model(**inputs, adapter_names=...)``, without PEFT's walk over every
        module: each listed LoRA layer gets the rows' adapter names for this call only.
        """
        names = self.rows_forward_kwargs(adapters).get("adapter_names")
        with self.forward_lock:
            if names is None:
                return self.model(**inputs)
            if all(adapter is None for adapter in adapters):
                return self._base_forward(**inputs)
            hook = functools.partial(_with_adapter_names, adapter_names=names)
            handles: list[Any] = []
            with self._changed_for_one_pass(lambda: [handle.remove() for handle in handles]):
                for layer in self.lora_layers:
                    handles.append(layer.register_forward_pre_hook(hook, with_kwargs=True))
                return self.model(**inputs)

    def _base_forward(self, **inputs: Any) -> Any:
        """One forward pass of the base alone: each LoRA layer hands its input to its base layer.

        PEFT's per-row path sorts the rows by adapter in every LoRA layer (126 of them in
        Gemma 3 270M), even when every row names the base: about a tenth of a decode step.
        With adapters switched off, a LoRA layer still checks its arguments before calling
        its base layer (4 % of a step, against the same model without adapters). For this
        one call (under ``forward_lock``), each LoRA layer's ``forward`` is its base layer,
        which is what PEFT calls when adapters are off: the same products. Wrappers without
        a base layer (PEFT's modules_to_save) are switched off instead.
        """
        bypassed, switched = [], []
        for layer in self.lora_layers:
            (bypassed if isinstance(getattr(layer, "base_layer", None), torch.nn.Module) else switched).append(layer)
        before = [layer._disable_adapters for layer in switched]

        def undo() -> None:
            for layer in bypassed:
                layer.__dict__.pop("forward", None)
            for layer, disabled in zip(switched, before, strict=True):
                layer._disable_adapters = disabled

        with self._changed_for_one_pass(undo):
            for layer in bypassed:
                layer.__dict__["forward"] = layer.base_layer  # an instance attribute: nn.Module.__call__ finds it first
            for layer in switched:
                layer._disable_adapters = True
            return self.model(**inputs)


def _with_adapter_names(module: Any, args: tuple, kwargs: dict, adapter_names: list[str]) -> tuple[tuple, dict]:
    """A LoRA layer's pre-forward hook: the rows' adapter names (PEFT's ``_adapter_names_pre_forward_hook``)."""
    kwargs["adapter_names"] = adapter_names
    return args, kwargs


def _adapter_folder(spec: AdapterSpec, registry: Registry) -> Path:
    if spec.path is not None:
        return registry.resolve_path(spec.path)
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(spec.repo_id, revision=spec.revision, allow_patterns=HUB_ADAPTER_PATTERNS))


def attach_adapters(loaded: LoadedModel, specs: list[AdapterSpec], registry: Registry) -> None:
    """Check and attach LoRA adapters to a loaded base, recording refusals by name."""
    from peft import PeftModel

    for spec in specs:
        try:
            folder = _adapter_folder(spec, registry)
            config = check_adapter_folder(folder, f"adapter {spec.name}", expected_base=loaded.spec.base_id)
            if loaded.int8 and config.get("use_dora"):  # DoRA reads the base weight, which int8 layers do not keep
                raise ModelLoadError(Message("adapter_dora_int8", name=spec.name))
            if isinstance(loaded.model, PeftModel):
                loaded.model.load_adapter(str(folder), adapter_name=spec.name, is_trainable=False)
            else:
                loaded.model = PeftModel.from_pretrained(
                    loaded.model, str(folder), adapter_name=spec.name, is_trainable=False
                )
            loaded.model.eval()
        except (PlaygroundError, OSError, ValueError, KeyError, RuntimeError) as exc:
            log.warning("adapter %s refused: %s", spec.name, exc)
            loaded.adapter_errors[spec.name] = str(exc)
            continue
        loaded.adapters[spec.name] = spec
        log.info("adapter %s attached to %s", spec.name, loaded.spec.name)
    if loaded.adapters:
        from peft.tuners.lora import LoraLayer
        from peft.utils import AuxiliaryTrainingWrapper

        kinds = (LoraLayer, AuxiliaryTrainingWrapper)  # what PEFT hooks for adapter_names
        loaded.lora_layers = [m for m in loaded.model.modules() if isinstance(m, kinds)]


def _plain_strides_into_output_layer(model: Any) -> None:
    """The output layer gets its input in plain row-major strides.

    With ``logits_to_keep``, transformers hands the output layer a slice of the hidden
    states (the last position of each row), whose strides are not those of a fresh tensor.
    For such an input, a bfloat16 ``linear`` copies the whole 262k x 640 weight of Gemma 3
    transposed before multiplying: 600 ms for one prompt's prefill, 1.8 s for three rows,
    instead of 12 ms. Copying the few kept positions first costs microseconds.
    """
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    head = base.get_output_embeddings() if hasattr(base, "get_output_embeddings") else None
    if head is None:
        return

    def plain(module: Any, args: tuple) -> tuple:
        hidden = args[0]
        if hidden.dim() == 3 and not _plain(hidden):
            return (hidden.clone(memory_format=torch.contiguous_format), *args[1:])
        return args

    head.register_forward_pre_hook(plain)


def _plain(tensor: Any) -> bool:
    """True when ``tensor``'s strides are a fresh row-major tensor's (size-1 dimensions included)."""
    expected, stride = [], 1
    for size in reversed(tensor.shape):
        expected.append(stride)
        stride *= size
    return tuple(reversed(expected)) == tuple(tensor.stride())


def _lean(model: Any) -> Any:
    """The lean forward of an int8 model (:mod:`playground.models.decoder`), or None (transformers' serves).

    It runs once on one token before it serves, so its compiled steps are ready (numba
    compiles them, or reads them from its cache) before a visitor's first request.
    """
    try:
        from playground.models.decoder import RowInput
        from playground.models.decoder_weights import lean_decoder
    except ImportError as exc:  # numba missing: transformers' forward on the same int8 products
        log.info("no lean forward (%s): transformers' forward serves", exc)
        return None
    lean = lean_decoder(model)
    if lean is not None:
        with torch.inference_mode():
            lean([RowInput([0], lean.new_cache())])
    return lean


def _accepts_logits_to_keep(model: Any) -> bool:
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return "logits_to_keep" in inspect.signature(base.forward).parameters


class ModelCache:
    """Loaded base models by name, at most ``registry.limits.max_loaded_models`` at once.

    Thread-safe: concurrent ``get`` calls for the same model load it once; other models
    load in parallel. The least recently used model is dropped when the limit is passed
    (requests still holding it finish normally); each callable in ``on_drop`` is then
    called with its name and the dropped model.
    """

    def __init__(self, registry: Registry, device: str | None = None) -> None:
        self.registry = registry
        self.device = device
        self.on_drop: list[Callable[[str, LoadedModel], None]] = []  # told when a model leaves the cache
        self._models: OrderedDict[str, LoadedModel] = OrderedDict()
        self._lock = threading.Lock()
        self._load_locks: dict[str, threading.Lock] = {}
        renew_in_child(self, ModelCache._start_again)

    def _start_again(self) -> None:
        """In a forked child: its locks free (a parent's thread may have been loading: :mod:`playground.forking`)."""
        self._lock = threading.Lock()
        self._load_locks = {}

    def loaded_names(self) -> list[str]:
        """Names of the models in memory, least recently used first."""
        with self._lock:
            return list(self._models)

    def peek(self, name: str) -> LoadedModel | None:
        """The loaded model ``name`` if it is in memory now, else None (nothing is loaded)."""
        with self._lock:
            return self._models.get(name)

    def get(self, name: str, progress: Progress | None = None) -> LoadedModel:
        """Return the loaded model ``name``, loading it (and its adapters) if needed."""
        spec = self.registry.model(name)
        with self._lock:
            if name in self._models:
                self._models.move_to_end(name)
                return self._models[name]
            load_lock = self._load_locks.setdefault(name, threading.Lock())
        with load_lock:
            with self._lock:
                if name in self._models:
                    return self._models[name]
            loaded = in_own_thread(self._load, spec, progress, name=f"load-{name}")  # see thread_pools
            with self._lock:
                self._models[name] = loaded
                while len(self._models) > self.registry.limits.max_loaded_models:
                    self._drop(*self._models.popitem(last=False))
            return loaded

    def close(self) -> None:
        """Drop every model (the ``on_drop`` listeners are told)."""
        with self._lock:
            dropped = list(self._models.items())
            self._models.clear()
        for name, loaded in dropped:
            self._drop(name, loaded)

    def _drop(self, name: str, loaded: LoadedModel) -> None:
        for listener in list(self.on_drop):
            listener(name, loaded)
        log.info("dropped %s from memory", name)

    def _load(self, spec: ModelSpec, progress: Progress | None) -> LoadedModel:
        weights = load_model(spec, self.registry, progress=progress, device=self.device)
        loaded = LoadedModel(
            spec=spec, model=weights.model, tokenizer=weights.tokenizer, source=weights.source, int8=weights.int8
        )
        adapters = self.registry.adapters_of(spec.name)
        if adapters:
            if progress:
                progress(Message("progress_adapters", count=len(adapters), model=spec.label))
            attach_adapters(loaded, adapters, self.registry)
        loaded.supports_logits_to_keep = _accepts_logits_to_keep(loaded.model)
        use_row_attention(loaded.model)  # a batched answer is the same request's answer alone, bit for bit
        _plain_strides_into_output_layer(loaded.model)
        if self.registry.limits.prepacked_weights:
            pack_linear_layers(loaded.model, decode_rows=self.registry.limits.max_batch_size)  # bfloat16: read faster
        if loaded.int8:
            loaded.lean = _lean(loaded.model)
        drop_build_tables(loaded.tokenizer)  # its Python copies of the vocabulary and merges (Gemma: ~140 MB)
        release_memory()  # what loading left free (the tokenizer's parse, the file's buffers) back to the system
        return loaded
