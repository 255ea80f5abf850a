"""Every label the UI asks for exists in English and in French."""

from __future__ import annotations

import re
from pathlib import Path

from playground.ui.i18n import TRANSLATIONS, tr

UI = Path(__file__).resolve().parent.parent / "playground" / "ui"


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
    assert set(same) <= {"prompt", "top_p", "tab_style", "tab_instructions", "instruction"}, same
    assert tr("stop", "fr") == "Arrêter" and tr("stop", "de") == "Stop"
