"""The token explorer in a real browser (Debian's Chromium through Playwright, tiny model).

A lab run shows the few-shot answer as coloured tokens (the George Sand and Instructions
tabs the adapter's answer); hovering a token shows its
alternatives with both distributions; clicking one streams a branch beside the original,
which starts with the original's tokens and the chosen one. In French the legend, the
table and the status lines are French. At phone width, embedded, a tapped token's
alternatives stay on screen. A deep link opens a prepared branch demo.
"""

from __future__ import annotations

import shutil
from urllib.parse import urlencode

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.ui.test_browser import _done, _open, sent_updates
from tests.waiting import WAIT_MS

pytestmark = pytest.mark.skipif(not shutil.which("chromium"), reason="Debian's chromium is not installed")


def _show_alternatives(page, token, how: str = "hover") -> None:
    """Hover (or tap) ``token`` until its alternatives show.

    The explorer's HTML is replaced once more after the status line says "done" (the final
    update of the answer): a hover on the element it replaced shows nothing, so the gesture
    is repeated on the current element until the popover is there.
    """
    popover = page.locator(".pg-pop")
    for _ in range(WAIT_MS // 2_000):
        getattr(token, how)()
        try:
            popover.wait_for(timeout=2_000)
            return
        except PlaywrightTimeout:
            page.mouse.move(0, 0)
    raise AssertionError("the alternatives never showed")


def _tokens(page, selector: str):
    return page.locator(f"{selector} .pg-answer > .pg-tok")


def _run_lab_and_branch(page, lang_done: str) -> tuple[list[str], str]:
    """Run the lab, hover token 2 of the few-shot answer, click its first alternative; (original pieces, chosen)."""
    page.locator("#lab-run").click()
    _done(page, "#lab-explorer-details", lang_done)
    tokens = _tokens(page, "#lab-explorer")
    pieces = [t.get_attribute("data-id") for t in tokens.all()]
    assert len(pieces) >= 3
    classes = tokens.nth(0).get_attribute("class")
    assert any(f"pg-p{i}" in classes for i in range(5))  # coloured by its probability
    _show_alternatives(page, tokens.nth(2))
    popover = page.locator("#lab-explorer .pg-pop")
    alternative = popover.locator(".pg-alt").first
    chosen = alternative.get_attribute("data-token")
    alternative.click()
    _done(page, "#lab-branch-details", lang_done)
    branch = [t.get_attribute("data-id") for t in _tokens(page, "#lab-branch").all()]
    assert branch[:3] == [*pieces[:2], chosen]  # the original's prefix, then the chosen token
    assert "pg-forced" in _tokens(page, "#lab-branch").nth(2).get_attribute("class")
    return pieces, chosen


def test_lab_tokens_hover_and_branch_in_english(browser, app_url):
    context, page = _open(browser, app_url)
    _run_lab_and_branch(page, "Done")
    branches = [values for values in sent_updates(page).values() if "pg-forced" in str(values)]  # its outline
    counts = [{v.count(' data-i="') for v in values if isinstance(v, str)} - {0} for values in branches]
    assert any(len(seen) >= 2 for seen in counts), counts  # the branch pane grew as the server streamed it
    legend = page.locator("#lab-explorer .pg-legend").inner_text()
    assert "The model's probability of each token" in legend and "≥ 90%" in legend
    _show_alternatives(page, _tokens(page, "#lab-explorer").nth(1))
    header = page.locator("#lab-explorer .pg-pop th").all_inner_texts()
    assert header == ["token", "model", "sampled from"]
    rows = page.locator("#lab-explorer .pg-pop tbody tr")
    assert rows.count() >= 10 and "%" in rows.nth(0).inner_text()
    assert page.locator("#lab-branch-details").inner_text().startswith("Branch at token 3:")
    details = page.locator("#lab-explorer-details").inner_text()
    assert "log-probability -" in details and "per token, perplexity" in details
    assert "log-probability -" in page.locator("#lab-details").inner_text()  # each pane's numbers
    context.close()


def test_lab_tokens_and_branch_in_french(browser, app_url):
    context, page = _open(browser, app_url, locale="fr-FR")
    _run_lab_and_branch(page, "Terminé")
    assert "La probabilité de chaque token selon le modèle" in page.locator("#lab-explorer .pg-legend").inner_text()
    assert page.locator("#lab-branch-details").inner_text().startswith("Bifurcation au token 3 :")
    assert "perplexité" in page.locator("#lab-explorer-details").inner_text()
    _show_alternatives(page, _tokens(page, "#lab-explorer").nth(0))
    assert page.locator("#lab-explorer .pg-pop th").all_inner_texts() == ["token", "modèle", "tiré de"]
    context.close()


def test_generate_tab_explorer_branches(browser, app_url):
    context, page = _open(browser, app_url)
    page.get_by_role("tab", name="Generate").click()
    page.locator("#generate").click()
    _done(page, "#generate-explorer-details")
    _tokens(page, "#generate-explorer").nth(4).focus()  # keyboard focus shows the alternatives too
    page.locator("#generate-explorer .pg-pop .pg-alt").first.click()
    _done(page, "#generate-branch-details")
    assert page.locator("#generate-branch-details").inner_text().startswith("Branch at token 5:")
    context.close()


@pytest.mark.parametrize(("tab", "prefix"), [("George Sand", "#style"), ("Instructions", "#instructions")])
def test_side_by_side_tabs_explore_the_adapters_answer(browser, app_url, tab, prefix):
    context, page = _open(browser, app_url)
    page.get_by_role("tab", name=tab).click()
    page.locator(f"{prefix}-run").click()
    _done(page, f"{prefix}-explorer-details")
    answer = page.locator(f"{prefix}-adapted textarea").input_value()
    assert page.locator(f"{prefix}-explorer .pg-answer").inner_text() == answer  # the adapter's pane, token by token
    assert "log-probability -" in page.locator(f"{prefix}-explorer-details").inner_text()
    _show_alternatives(page, _tokens(page, f"{prefix}-explorer").nth(1))
    page.locator(f"{prefix}-explorer .pg-pop .pg-alt").first.click()
    _done(page, f"{prefix}-branch-details")
    assert page.locator(f"{prefix}-branch-details").inner_text().startswith("Branch at token 2:")
    context.close()


def test_phone_width_embed_shows_a_tapped_tokens_alternatives_on_screen(browser, app_url):
    context, page = _open(browser, app_url + "?embed=1&tab=lab", width=375)
    page.locator("#lab-run").click()
    _done(page, "#lab-explorer-details")
    tokens = _tokens(page, "#lab-explorer")
    last = tokens.nth(tokens.count() - 1)
    last.scroll_into_view_if_needed()
    _show_alternatives(page, last, how="click")  # a tap
    popover = page.locator("#lab-explorer .pg-pop")
    box = popover.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 375
    popover.locator(".pg-alt").first.click()
    _done(page, "#lab-branch-details")
    assert not page.get_by_role("tablist").first.is_visible()  # still the compact embed view
    context.close()


def test_deep_link_opens_a_prepared_branch_demo(browser, app_url):
    query = {"tab": "lab", "preset": "fr-pluriel", "seed": "3", "temperature": "0.7"}
    link = urlencode({**query, "branch_position": "1", "branch_token": "1169"})
    context, page = _open(browser, f"{app_url}?{link}")
    page.wait_for_function("() => document.querySelector('#lab-task textarea').value === 'Mettre au pluriel :'")
    page.locator("#lab-run").click()
    _done(page, "#lab-branch-details")  # the branch runs by itself once the original is shown
    branch = _tokens(page, "#lab-branch")
    assert branch.nth(1).get_attribute("data-id") == "1169"
    original = _tokens(page, "#lab-explorer")
    assert branch.nth(0).get_attribute("data-id") == original.nth(0).get_attribute("data-id")
    page.locator("#lab-share").click()
    page.wait_for_function("() => document.querySelector('#lab-link textarea').value.includes('branch_token=1169')")
    context.close()
