"""The local backend: models loaded in this process, their requests batched per model.

:class:`LocalBackend` holds the :class:`~playground.models.loader.ModelCache` (one copy of each
base, its adapters attached) and one :class:`~playground.serving.batching.Batcher` per loaded
model, made with the model's first request and stopped when the model leaves the cache.
The lab's next-token view and the Compare tab's scoring are jobs of the same batcher; how
a batcher shares its steps: :mod:`playground.serving.batching`.
"""

from __future__ import annotations

import threading

from playground.forking import renew_in_child
from playground.models.loader import LoadedModel, ModelCache
from playground.models.registry import Registry
from playground.models.sources import weights_at_hand
from playground.serving.backend import Capabilities, Handle, Progress, TokenScores
from playground.serving.batching import Batcher, Ending, Generation, Step
from playground.serving.forward_jobs import ScoreJob
from playground.serving.inspection import next_token_distribution
from playground.serving.requests import GenerationRequest, NextTokensRequest, ScoreRequest
from playground.serving.token_record import NextToken


class LocalBackend:
    """Runs the registry's models in this process; see the module's docstring."""

    def __init__(self, registry: Registry, cache: ModelCache | None = None) -> None:
        self.registry = registry
        self.cache = cache or ModelCache(registry)
        self.cache.on_drop.append(self._dropped)
        self._lock = threading.Lock()
        self._batchers: dict[str, tuple[LoadedModel, Batcher]] = {}
        self._stopped: list[Batcher] = []  # batchers of dropped models, joined by close()
        renew_in_child(self, LocalBackend._start_again)

    def _start_again(self) -> None:
        """In a forked child: its lock free (:mod:`playground.forking`); stopped batchers have no worker there."""
        self._lock = threading.Lock()
        self._stopped = []

    # -- models and batchers -------------------------------------------------------
    def loaded(self, model: str, progress: Progress | None = None) -> LoadedModel:
        """The loaded model (loading it and its adapters if needed)."""
        return self.cache.get(model, progress=progress)

    def batcher(self, model: str) -> Batcher:
        """The batcher of the loaded ``model`` (loading the model, making the batcher if needed)."""
        return self._batcher(self.cache.get(model))

    def _batcher(self, loaded: LoadedModel) -> Batcher:
        name = loaded.spec.name
        with self._lock:
            entry = self._batchers.get(name)
            if entry is not None and entry[0] is loaded:
                return entry[1]
            limits = self.registry.limits
            batcher = Batcher(
                loaded,
                max_batch_size=limits.max_batch_size,
                max_waiting=limits.max_waiting,
                step_tokens=limits.step_tokens,
                prefill_tokens=limits.prefill_tokens,
                max_rows_per_visitor=min(limits.max_rows_per_visitor, limits.max_batch_size),
                max_rows_per_address=min(limits.max_rows_per_address, limits.max_batch_size),
            )
            self._batchers[name] = (loaded, batcher)
            return batcher

    def _dropped(self, name: str, loaded: LoadedModel) -> None:
        with self._lock:
            entry = self._batchers.get(name)
            if entry is None or entry[0] is not loaded:
                return
            del self._batchers[name]
            self._stopped = [b for b in self._stopped if b.is_alive()] + [entry[1]]
        entry[1].stop()  # finishes what it holds, then its worker exits

    def _batchers_by_model(self) -> dict[str, Batcher]:
        """Each loaded model's batcher, as it stands now (read under the lock, used outside it)."""
        with self._lock:
            return {name: batcher for name, (_, batcher) in self._batchers.items()}

    def ended(self) -> dict[str, list[Ending]]:
        """The latest requests each loaded model's batcher ended (:meth:`Batcher.ended`), by model."""
        return {name: batcher.ended() for name, batcher in self._batchers_by_model().items()}

    def latest_steps(self) -> dict[str, list[Step]]:
        """The latest forward passes of each loaded model's batcher (:meth:`Batcher.latest_steps`), by model."""
        return {name: batcher.latest_steps() for name, batcher in self._batchers_by_model().items()}

    def at_hand(self, model: str) -> bool:
        """Whether ``model`` is loaded, or a source could provide its weights now (nothing is loaded)."""
        return model in self.cache.loaded_names() or weights_at_hand(self.registry.model(model), self.registry)

    # -- the Backend protocol ------------------------------------------------------
    def prepare(self, model: str, adapter: str | None, progress: Progress | None = None) -> Handle:
        """Load ``model`` and check that ``adapter`` is attached to it."""
        loaded = self.cache.get(model, progress=progress)
        loaded.forward_kwargs(adapter)  # refuses an adapter that failed to attach
        return Handle(model, loaded.tokenizer, loaded.source, loaded.spec.context_length, loaded.vocab_size)

    def check_room(self, model: str) -> None:
        """BusyError when the model's wait queue is full."""
        self.batcher(model).check_room()

    def submit(self, request: GenerationRequest) -> Generation:
        """Queue the request for the model's batcher."""
        loaded = self.cache.get(request.model)
        generation = Generation(request, loaded.device)
        self._batcher(loaded).submit(generation)
        return generation

    def capabilities(self, model: str) -> Capabilities:
        """Everything: the logits are here."""
        return Capabilities()

    def next_tokens(self, request: NextTokensRequest) -> list[NextToken]:
        """The whole vocabulary's distribution: a logits job of the model's batcher."""
        loaded = self.cache.get(request.model)
        return next_token_distribution(loaded, request, self._batcher(loaded))

    def score(self, request: ScoreRequest) -> TokenScores:
        """A scoring job of the model's batcher: a chunk of a window per step."""
        loaded = self.cache.get(request.model)
        loaded.forward_kwargs(request.adapter)  # refuses an adapter that failed to attach
        job = ScoreJob(list(request.windows), request.adapter, request.visitor, request.cancel)
        return TokenScores(*self._batcher(loaded).run_job(job))

    def close(self, wait_s: float = 0.0) -> None:
        """Drop every model; their batchers finish what they hold (waiting up to ``wait_s`` each)."""
        self.cache.close()
        with self._lock:
            stopped, self._stopped = self._stopped, []
            leftover = [b for _, b in self._batchers.values()]
            self._batchers.clear()
        for batcher in leftover:  # models loaded by another cache user; stop them too
            batcher.stop()
        if wait_s > 0:
            for batcher in stopped + leftover:
                batcher.join(wait_s)
