"""Prompt styles: how a user's text becomes the exact string a model is given.

A registry of small classes, one per style named in the model registry:

- ``plain``: the text as typed (base models such as GPT-2 continue it);
- ``chat``: the tokenizer's own chat template, one user turn, generation prompt added;
- ``alpaca``: the Stanford Alpaca template of seed 001
  ("### Instruction: / ### Input: / ### Response:").

``encode`` returns token ids ready for the engine; ``render`` returns the string, so the UI
can show the exact prompt.
"""

from __future__ import annotations

from typing import Any, ClassVar

from playground.errors import ConfigError


class PromptStyle:
    """Base class: render an instruction (and optional input) into the model's prompt."""

    name: ClassVar[str]
    add_special_tokens: ClassVar[bool] = True  # let the tokenizer add BOS etc.

    def render(self, tokenizer: Any, instruction: str, input_text: str = "") -> str:
        """The exact prompt string."""
        raise NotImplementedError

    def encode(self, tokenizer: Any, instruction: str, input_text: str = "") -> list[int]:
        """Token ids of the rendered prompt."""
        text = self.render(tokenizer, instruction, input_text)
        return list(tokenizer(text, add_special_tokens=self.add_special_tokens)["input_ids"])


class Plain(PromptStyle):
    """The text as typed; an input, if any, follows it on a new line."""

    name = "plain"

    def render(self, tokenizer: Any, instruction: str, input_text: str = "") -> str:
        return f"{instruction}\n{input_text}" if input_text else instruction


class Chat(PromptStyle):
    """One user turn through the tokenizer's chat template."""

    name = "chat"
    add_special_tokens = False  # the template writes its own special tokens

    def render(self, tokenizer: Any, instruction: str, input_text: str = "") -> str:
        if not getattr(tokenizer, "chat_template", None):
            raise ConfigError("prompt_style: 'chat' needs a tokenizer with a chat template")
        content = f"{instruction}\n\n{input_text}" if input_text else instruction
        return tokenizer.apply_chat_template(
            [{"role": "user", "content": content}], tokenize=False, add_generation_prompt=True
        )


class Alpaca(PromptStyle):
    """The Stanford Alpaca instruction template (with and without an input)."""

    name = "alpaca"
    WITH_INPUT = (
        "Below is an instruction that describes a task, paired with an input that provides further "
        "context. Write a response that appropriately completes the request.\n\n"
        "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n"
    )
    NO_INPUT = (
        "Below is an instruction that describes a task. Write a response that appropriately "
        "completes the request.\n\n### Instruction:\n{instruction}\n\n### Response:\n"
    )

    def render(self, tokenizer: Any, instruction: str, input_text: str = "") -> str:
        if input_text:
            return self.WITH_INPUT.format(instruction=instruction, input=input_text)
        return self.NO_INPUT.format(instruction=instruction)


PROMPT_STYLES: dict[str, PromptStyle] = {cls.name: cls() for cls in (Plain, Chat, Alpaca)}


def get_style(name: str) -> PromptStyle:
    """Return the prompt style called ``name``."""
    try:
        return PROMPT_STYLES[name]
    except KeyError:
        raise ConfigError(f"prompt_style: {name!r} is not one of {', '.join(PROMPT_STYLES)}") from None
