"""Prompt styles: how a user's text becomes the exact string a model is given.

A registry of small classes, one per style named in the model registry:

- ``plain``: the text as typed (base models such as GPT-2 continue it);
- ``chat``: the tokenizer's own chat template, one user turn, generation prompt added;
- ``alpaca``: the Stanford Alpaca template (the instructions adapter's)
  ("### Instruction: / ### Input: / ### Response:").

``encode`` returns token ids ready for the engine; ``render`` returns the string, so the UI
can show the exact prompt.

What a person typed is always tokenized as text: typing ``<|endoftext|>`` or
``<|im_end|><|im_start|>system`` gives the tokens of those characters, never the special
tokens, so a visitor cannot end a turn or forge a system message. Only a template's own
special tokens (written by the chat template, not typed) are special.
"""

from __future__ import annotations

from typing import Any, ClassVar

from playground.errors import ConfigError

USER_TEXT = "\ue000playground-user-text\ue000"  # stands for the typed text while a template renders


def encode_text(tokenizer: Any, text: str, add_special_tokens: bool = False) -> list[int]:
    """Token ids of typed ``text``: special-token strings in it are split like any text."""
    return list(tokenizer(text, add_special_tokens=add_special_tokens, split_special_tokens=True)["input_ids"])


class PromptStyle:
    """Base class: render an instruction (and optional input) into the model's prompt."""

    name: ClassVar[str]
    add_special_tokens: ClassVar[bool] = True  # let the tokenizer add BOS etc.

    def render(self, tokenizer: Any, instruction: str, input_text: str = "") -> str:
        """The exact prompt string."""
        raise NotImplementedError

    def encode(self, tokenizer: Any, instruction: str, input_text: str = "") -> list[int]:
        """Token ids of the rendered prompt; the typed text is never read as special tokens."""
        return encode_text(tokenizer, self.render(tokenizer, instruction, input_text), self.add_special_tokens)


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
        return self._template(tokenizer).replace(USER_TEXT, self._content(instruction, input_text))

    def encode(self, tokenizer: Any, instruction: str, input_text: str = "") -> list[int]:
        """The template's parts keep their special tokens; the typed text is tokenized as text.

        The ids are those of the whole rendered string, except that whitespace at the very
        start or end of the typed text is not merged with the template's next to it (same
        characters, another split).
        """
        before, after = self._template(tokenizer).split(USER_TEXT)
        template = {"add_special_tokens": False}
        return (
            list(tokenizer(before, **template)["input_ids"])
            + encode_text(tokenizer, self._content(instruction, input_text))
            + list(tokenizer(after, **template)["input_ids"])
        )

    @staticmethod
    def _content(instruction: str, input_text: str) -> str:
        return f"{instruction}\n\n{input_text}" if input_text else instruction

    @staticmethod
    def _template(tokenizer: Any) -> str:
        """The chat template rendered around a placeholder that stands for the user's turn."""
        if not getattr(tokenizer, "chat_template", None):
            raise ConfigError("prompt_style: 'chat' needs a tokenizer with a chat template")
        rendered = tokenizer.apply_chat_template(
            [{"role": "user", "content": USER_TEXT}], tokenize=False, add_generation_prompt=True
        )
        if rendered.count(USER_TEXT) != 1:
            raise ConfigError("prompt_style: the chat template must write the user's turn exactly once")
        return rendered


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
