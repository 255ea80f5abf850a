"""The core's messages: the same keys and placeholders in English and French."""

from __future__ import annotations

import pickle
import string

import pytest

from playground.errors import SettingsError
from playground.messages import CATALOG, Message, localize
from playground.settings import GenerationSettings


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_both_languages_have_the_same_keys_and_placeholders():
    assert set(CATALOG["en"]) == set(CATALOG["fr"])
    for key, english in CATALOG["en"].items():
        assert _placeholders(english) == _placeholders(CATALOG["fr"][key]), key
    same = [k for k in CATALOG["en"] if CATALOG["en"][k] == CATALOG["fr"][k]]
    assert same == ["source_hub", "from_hub"], same


def test_a_message_is_its_english_text_and_renders_in_french():
    message = Message("out_of_range", field="top_p", value=1.5, range="(0, 1]")
    assert message == "top_p: 1.5 is out of range (0, 1]"
    assert message.localized("fr") == "top_p : 1.5 est hors de l'intervalle (0, 1]"
    assert message.localized("de") == message  # unknown language: English


def test_nested_messages_follow_the_language():
    warning = Message("link_ignored", reason=Message("link_unknown_model", field="model", value="gpt-9"))
    assert warning == "model: unknown model 'gpt-9'; ignored"
    assert localize(warning, "fr") == "model : modèle inconnu 'gpt-9' ; ignoré"


def test_errors_of_the_core_are_localized_and_keep_their_field():
    with pytest.raises(SettingsError) as info:
        GenerationSettings.from_dict({"temperature": float("nan")})
    assert str(info.value) == "temperature: must be a finite number, got nan"
    assert localize(info.value, "fr") == "temperature : doit être un nombre fini, reçu nan"
    assert localize(ValueError("plain text"), "fr") == "plain text"  # not from the catalog: as it is


def test_messages_survive_pickling():
    message = Message("empty", field="query")
    back = pickle.loads(pickle.dumps(message))
    assert back == message and back.localized("fr") == "query : ne doit pas être vide"


def test_unknown_key_is_a_programming_error():
    with pytest.raises(KeyError):
        Message("no_such_message")
