"""What the page does for screen readers, keyboards and phones (WCAG 2.1 AA).

Colours are the theme's (:mod:`playground.ui.theme`). The rest runs in the page:

- **Language.** The app's root (and, on the app's own page, ``<html>``) carries ``lang``:
  the UI language, so a screen reader reads French as French (WCAG 3.1.1).
- **Answers that stream.** A region whose components a run fills (:func:`answer_region`) is
  ``aria-busy="true"`` while the run is on, and nothing in it is a live region, so a screen
  reader says nothing per token. When the run ends, one polite announcement, in a
  ``role="status"`` region of its own (as LibreChat does): the "Done: 12 tokens in 0.4 s…"
  part of the region's status lines, in the UI language (French writes "Terminé :" as well
  as "Terminé:"); "the generation ended early" when
  a Stop or an error left none; "the results are ready" for a region without a status line.
  Busy means that one of the region's components shows Gradio's progress (its status
  tracker is not hidden), whatever ends the run: its end, a Stop, an error.
- **Charts.** Gradio names a chart's image "matplotlib plot visualising provided data", in
  English; the page gives each chart of :data:`CHARTS` its own name in the UI language
  (``aria-label``) and points it at the table of its numbers (``aria-describedby``).
- **Gradio's empty placeholders** (an empty ``gr.Label`` or ``gr.HighlightedText``) name a
  plain ``div`` with ``aria-label``, which ARIA forbids (axe's ``aria-prohibited-attr``); the
  page gives them ``role="img"``, the role of what they show (an icon).
- **Gradio's toasts** (a warning, an error) make their header a ``role="button"`` that holds
  the Close button (axe's ``nested-interactive``); the page takes the role (and the tab stop)
  off the header, so a toast is its message and its Close button. What the header did, fold
  the message, is a mouse nicety: a toast opens unfolded.
- **Gradio's code view** (``gr.Code``, the "Reproduce in Python" script, marked ``pg-code``)
  scrolls in a wrapper when the script outgrows it (axe's ``scrollable-region-focusable``):
  the page makes that wrapper a tab stop, a ``region`` named "Python script", so a keyboard
  can scroll it. The script's long lines wrap, so it scrolls only down.
- **Focus** is outlined on every control, 3 px in the theme's focus colour (that of a focused
  text box: blue-700 on white, 6.7:1; WCAG 1.4.11 and 2.4.7).
- **Phones** (640 px wide or less): buttons and tabs at least 44 px tall (WCAG 2.5.5); the tab
  bar wraps instead of hiding tabs in a menu (``gr.Tabs(overflow_behavior="wrap")``). The
  footer's links and a toast's Close button are 44 px on every screen.
- **Gradio's HighlightedText** writes each token's id in white on a chip of its category's
  colour (1.9:1 to 3.7:1), with no theme variable for it: the lab's token view shows the ids
  in the body's text colour on the page's background instead.
"""

from __future__ import annotations

import json

import gradio as gr

from playground.messages import LANGUAGES
from playground.ui.i18n import TRANSLATIONS

STREAM = "pg-stream"  # a region that a run fills: aria-busy while it runs
ANNOUNCE = "pg-announce"  # a region whose end a screen reader hears (once)
STATUS = "pg-status"  # a status line ("Generating… 5 tokens", "Done: 12 tokens…") inside a region
# A chart's element id: the i18n key of its accessible name, the element id of the table of its numbers.
CHARTS = {"curve-chart": ("curve_chart_name", "curve-table")}


def answer_region(announce: bool = True, **column: object) -> gr.Column:
    """A column holding what a run fills (answers and their status lines, marked :data:`STATUS`).

    ``announce``: a screen reader hears when its run ends (False for a region that another,
    announced one always accompanies, such as the explorer of an answer already announced).
    """
    classes = [STREAM, ANNOUNCE] if announce else [STREAM]
    return gr.Column(elem_classes=classes, **column)


# What a screen reader is told, by UI language: the status line's "Done" word (as the status
# line writes it, ui/details.py), and the sentences said when there is no such line.
WORDS = {
    lang: {
        "done": TRANSLATIONS[lang]["d_done"],
        "ended": TRANSLATIONS[lang]["a11y_ended"],
        "results": TRANSLATIONS[lang]["a11y_results"],
        "charts": {chart: [TRANSLATIONS[lang][name], table] for chart, (name, table) in CHARTS.items()},
        "code": TRANSLATIONS[lang]["reproduce_code"],
    }
    for lang in LANGUAGES
}

# A block of statements run by the page's load script (ui/page.py) once ``pageLang`` is known.
ACCESS_JS = """
{
  const uiLang = __LANGUAGES__.includes(pageLang) ? pageLang : "en";
  const app = document.querySelector(".gradio-container") || document.body;
  app.setAttribute("lang", uiLang);
  if (window.__gradio_mode__ === "app") document.documentElement.setAttribute("lang", uiLang);
  const words = __WORDS__[uiLang];
  const live = document.createElement("div");
  live.id = "pg-announcer";
  live.className = "pg-sr-only";
  live.setAttribute("role", "status");
  live.setAttribute("aria-live", "polite");
  live.setAttribute("aria-atomic", "true");
  app.appendChild(live);
  const announce = (text) => {
    live.textContent = "";
    requestAnimationFrame(() => { live.textContent = text; });  // said again even when the same as before
  };
  const running = (region) => [...region.querySelectorAll('[data-testid="status-tracker"]')]
    .some((tracker) => !tracker.classList.contains("hide"));
  const summary = (region) => {  // what to say when the region's run ends; null: nothing ran in it
    const marked = [...region.querySelectorAll(".__STATUS__")];
    if (!marked.length) return words.results;
    const lines = marked.filter((line) => !marked.some((other) => other !== line && other.contains(line)));
    const parts = lines.flatMap((line) => line.innerText.split(/\\n| · /)).map((part) => part.trim()).filter(Boolean);
    if (!parts.length) return null;  // emptied (a new answer clears its branch): nothing to say
    const done = parts.filter((part) => part.includes(words.done + ":") || part.includes(words.done + " :"));
    return done.length ? done.join(". ") : words.ended;
  };
  const busy = new WeakMap();
  const check = (region) => {
    const now = running(region);
    if (now === Boolean(busy.get(region))) return;
    busy.set(region, now);
    region.setAttribute("aria-busy", String(now));
    const said = !now && region.classList.contains("__ANNOUNCE__") ? summary(region) : null;
    if (said) announce(said);
  };
  const within = (node, selector) => node.matches(selector) ? [node] : [...node.querySelectorAll(selector)];
  const mend = (node) => {
    for (const empty of within(node, "div.empty[aria-label]:not([role])")) empty.setAttribute("role", "img");
    for (const scroller of within(node, ".pg-code .codemirror-wrapper:not([tabindex])")) {
      scroller.setAttribute("tabindex", "0");  // a region that may scroll: reachable, and named, from the keyboard
      scroller.setAttribute("role", "region");
      scroller.setAttribute("aria-label", words.code);
    }
    for (const header of within(node, ".toast-header[role=button]")) {
      header.removeAttribute("role");  // a "button" holding the Close button: the message, and its Close button
      header.removeAttribute("tabindex");
    }
    for (const [chart, [name, table]] of Object.entries(words.charts)) {
      for (const image of within(node, `#${chart} img`)) {
        image.setAttribute("aria-label", name);  // Gradio's alt text is English and says nothing of the chart
        image.setAttribute("aria-describedby", table);
      }
    }
  };
  mend(document.body);
  new MutationObserver((records) => {
    const regions = new Set();
    for (const record of records) {
      const region = record.target.closest && record.target.closest(".__STREAM__");
      if (region) regions.add(region);
      for (const node of record.addedNodes) if (node.nodeType === Node.ELEMENT_NODE) mend(node);
    }
    regions.forEach(check);
  }).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ["class"] });
}
""".replace("__WORDS__", json.dumps(WORDS, ensure_ascii=False)).replace("__LANGUAGES__", json.dumps(LANGUAGES))
ACCESS_JS = ACCESS_JS.replace("__STATUS__", STATUS).replace("__ANNOUNCE__", ANNOUNCE).replace("__STREAM__", STREAM)

ACCESS_CSS = """
.pg-sr-only { position: absolute !important; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden;
  clip: rect(0, 0, 0, 0); white-space: nowrap; border: 0; }
.gradio-container button:focus-visible, .gradio-container a:focus-visible, .gradio-container summary:focus-visible,
.gradio-container [role="tab"]:focus-visible, .gradio-container input[type="range"]:focus-visible,
.gradio-container input[type="checkbox"]:focus-visible, .gradio-container input[type="number"]:focus-visible,
.gradio-container [tabindex]:focus-visible, .pg-tok:focus-visible {
  outline: 3px solid var(--input-border-color-focus) !important; outline-offset: 2px; }
#lab-tokens .label { color: var(--body-text-color) !important; background: var(--background-fill-primary) !important; }
.pg-code .cm-content span, .pg-code .cm-gutters, .pg-code .cm-gutterElement {
  color: var(--body-text-color) !important; }
.pg-code .cm-content span[class] { font-weight: 600; }
.pg-code .cm-scroller { overflow: visible !important; }  /* no scroll region a keyboard could not reach */
.pg-code .cm-content, .pg-code .cm-line { white-space: pre-wrap !important; word-break: break-word; }
footer a, footer button { min-height: 44px; display: inline-flex; align-items: center; }
.toast-close { min-width: 44px; min-height: 44px; display: inline-flex; align-items: center; justify-content: center; }
@media (max-width: 640px) {
  button, [role="tab"] { min-height: 44px; }
  .pg-pop .pg-alt { min-height: 44px; min-width: 44px; }
}
"""
# (Gradio scopes the app's CSS: a rule inside @media is kept only under ".gradio-container … .contain",
# so the rules there name no ancestor; the footer and the toasts are outside ".contain" and get their rule
# on every screen.)
