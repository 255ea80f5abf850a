"""Turning a growing list of token ids into text deltas, one token at a time.

A token can end in the middle of a UTF-8 character (byte-level BPE splits "é" or an emoji
across tokens), and some tokenizers only know how to space a token by looking at the one
before. :class:`IncrementalDetokenizer` decodes a short window of recent tokens and emits
only the text that is complete, the scheme used by text-generation-inference and vLLM.
Joined, the deltas equal ``tokenizer.decode(all_ids)``.
"""

from __future__ import annotations

from typing import Any

_INCOMPLETE = "\ufffd"


class IncrementalDetokenizer:
    """Decode token ids as they arrive; :meth:`push` returns the new complete text."""

    def __init__(self, tokenizer: Any, skip_special_tokens: bool = True) -> None:
        self.tokenizer = tokenizer
        self.skip_special_tokens = skip_special_tokens
        self.ids: list[int] = []
        self._prefix = 0  # start of the window re-decoded for context
        self._read = 0  # tokens before this index have been emitted

    def _decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(
            ids, skip_special_tokens=self.skip_special_tokens, clean_up_tokenization_spaces=False
        )

    def _delta(self, final: bool) -> str:
        prefix_text = self._decode(self.ids[self._prefix : self._read])
        new_text = self._decode(self.ids[self._prefix :])
        if len(new_text) > len(prefix_text) and (final or not new_text.endswith(_INCOMPLETE)):
            self._prefix, self._read = self._read, len(self.ids)
            return new_text[len(prefix_text) :]
        return ""

    def push(self, token_id: int) -> str:
        """Add one token id; return the text it completes (possibly empty)."""
        self.ids.append(token_id)
        return self._delta(final=False)

    def flush(self) -> str:
        """Return whatever text is still held back (an incomplete character at the end)."""
        return self._delta(final=True) if self._read < len(self.ids) else ""
