"""Every label the UI asks for exists in English and in French."""

from __future__ import annotations

import re

from playground.ui.i18n import TRANSLATIONS, tr
from tests.paths import ROOT

UI = ROOT / "playground" / "ui"


def test_every_used_key_is_translated_in_both_languages():
    used = set()
    for path in UI.glob("*.py"):
        used |= set(re.findall(r'I18N\("([a-z_]+)"\)', path.read_text(encoding="utf-8")))
    assert len(used) > 40
    for lang in ("en", "fr"):
        missing = sorted(used - set(TRANSLATIONS[lang]))
        assert not missing, f"{lang}: {missing}"


def test_both_languages_have_the_same_keys_and_french_is_french():
    assert set(TRANSLATIONS["en"]) == set(TRANSLATIONS["fr"])
    same = [k for k in TRANSLATIONS["en"] if TRANSLATIONS["en"][k] == TRANSLATIONS["fr"][k]]
    assert set(same) <= {
        "prompt",
        "top_p",
        "tab_style",
        "tab_instructions",
        "instruction",
        "d_source",
        "d_license",
        "d_tokens",
        "c_tokens",
        "l_tokens",
        "c_source",
        "c_license",
        "explorer_token",
        "cv_metric_chrf",  # a metric's name
    }, same
    assert tr("stop", "fr") == "Arrêter" and tr("stop", "de") == "Stop"


class _Request:  # the two attributes of gr.Request that request_language reads
    def __init__(self, headers):
        self.headers = headers


def test_request_language_from_the_page_link_then_the_browser():
    from playground.ui.i18n import request_language

    assert request_language(_Request({"referer": "http://x/?tab=lab&lang=fr", "accept-language": "en-US"})) == "fr"
    assert request_language(_Request({"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.8"})) == "fr"
    assert request_language(_Request({"accept-language": "de-DE,en;q=0.5"})) == "en"
    assert request_language(None) == "en"


def test_status_line_in_french_escapes_values():
    from playground.engine import GenerationResult
    from playground.ui.details import describe

    result = GenerationResult(model="gpt2", adapter="george-sand", source="<b>x</b>", license="mit")
    result.token_ids, result.elapsed_s, result.finish_reason, result.seed = [1, 2], 0.5, "stop_string", 7
    text = describe(result, lang="fr")
    assert "**Modèle:** gpt2 + adaptateur george-sand" in text
    assert "2 tokens en 0.5 s" in text and "une chaîne d'arrêt a été atteinte" in text and "**Graine:** 7" in text
    assert "<b>" not in text  # markup from a value is escaped
    assert "**Generating…** 2 tokens" in describe(result, running=True)


def test_seed_box_values():
    import pytest

    from playground.ui.controls import parse_seed

    assert [parse_seed(v) for v in (None, "", "  ", "0", " 42 ", 7, 3.0)] == [None, None, None, 0, 42, 7, 3]
    for bad in ("abc", "1.5", 2.5, True):
        with pytest.raises(ValueError, match="seed: must be an integer"):
            parse_seed(bad)
