"""Reproduce in Python and the tokenizer lens in Chromium, on the tiny models.

A teacher runs the lab, opens "Reproduce in Python" under it, copies the few-shot pane's
script with the copy button, runs it with ``python`` and reads the lab's few-shot answer;
the downloaded notebook runs top to bottom to the same answer. The lens cuts the ready-made
sentence with every tokenizer.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.lessons.run_code import run_notebook, run_script
from tests.ui.test_browser import WAIT_MS, _done, _open, _value

pytestmark = pytest.mark.skipif(not shutil.which("chromium"), reason="Debian's chromium is not installed")


def _wait_text(page, selector: str, text: str) -> None:
    """Wait until the element ``selector`` shows ``text`` (an error toast fails the test at once, with its text)."""
    page.wait_for_function(
        """([s, t]) => {
          const toast = document.querySelector('.toast-body.error, .toast-wrap .error');
          if (toast) throw new Error(toast.innerText);
          return (document.querySelector(s)?.innerText || '').includes(t);
        }""",
        arg=[selector, text],
        timeout=WAIT_MS,
    )


def test_the_lab_few_shot_pane_reproduced_in_python_prints_the_same_answer(browser, app_url, tmp_path):
    context, page = _open(browser, app_url)
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.locator("#lab-run").click()
    _done(page, "#lab-explorer-details")
    few = _value(page, "#lab-few")
    page.locator("#lab-reproduce").get_by_text("Reproduce in Python").click()
    page.locator("#lab-reproduce-show").click()
    _wait_text(page, "#lab-code", "AutoModelForCausalLM")
    assert _value(page, "#lab-link").startswith("http")  # the share link was written first: the code reads it
    page.locator("#lab-code button[aria-label*='opy'], #lab-code button[title*='opy']").first.click()
    script = page.wait_for_function("() => navigator.clipboard.readText()", timeout=WAIT_MS).json_value()
    assert "shots = examples[:" in script and "import playground" not in script
    assert run_script(script, tmp_path).endswith(few + "\n")
    with page.expect_download(timeout=WAIT_MS) as download:
        page.locator("#lab-notebook").click()
    assert download.value.suggested_filename == "lab_few_shot.ipynb"
    notebook = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert notebook["nbformat"] == 4 and notebook["cells"][0]["cell_type"] == "markdown"
    assert run_notebook(notebook, tmp_path).endswith(few + "\n")
    context.close()


def test_the_tokenizer_lens_shows_a_table_and_a_chart(browser, app_url):
    context, page = _open(browser, app_url)
    page.get_by_role("tab", name="Tokenizer lens").click()
    assert _value(page, "#lens-fr") == "J'ai besoin d'un marteau."
    page.locator("#lens-run").click()
    _wait_text(page, "#lens-table", "␣mart")
    table = page.locator("#lens-table").inner_text()
    assert "Tokens per word" in table and "it" in table
    page.locator("#lens-chart canvas, #lens-chart svg").first.wait_for(timeout=WAIT_MS)
    assert "cost" in page.locator("#lens-meaning").inner_text()
    context.close()


def test_a_link_of_another_tab_fills_that_tab_and_leaves_the_labs_settings(browser, app_url):
    from urllib.parse import urlencode

    from tests.ui.test_browser import _wait_value

    query = urlencode({"tab": "style", "adapter": "style-a", "prompt": "Le soir venu", "temperature": "0.55"})
    context, page = _open(browser, f"{app_url}?{query}", ready="#style-run")  # the lab's button never shows
    _wait_value(page, "#style-opening", "Le soir venu")
    page.locator("#style-share").click()  # the tab's own link says what the tab holds now
    page.wait_for_function("() => document.querySelector('#style-link textarea, #style-link input').value")
    assert "temperature=0.55" in _value(page, "#style-link") and "prompt=Le+soir+venu" in _value(page, "#style-link")
    page.get_by_role("tab").nth(0).click()
    page.locator("#lab-share").click()
    page.wait_for_function("() => document.querySelector('#lab-link textarea, #lab-link input').value")
    assert "temperature=0.0" in _value(page, "#lab-link")  # the lab kept its own (greedy) settings
    context.close()
