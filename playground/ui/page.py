"""What runs in the visitor's page: the language from the link, and the compact embed view.

Gradio's ``gr.I18n`` picks the browser's language when the page starts. A teacher's link
may ask for another one (``?lang=fr``): :data:`PAGE_JS` runs when the page loads, before
the load event reaches the server, and switches Gradio's own locale store (the function
its settings panel calls). Tab labels are computed once when the page starts, so the load
event then sends every tab's label again (see :mod:`playground.ui.links`) and they follow.

When the app's queue is full, Gradio's page writes its own English message; :data:`PAGE_JS`
replaces it with the translated one, in the page's language.

``?embed=1`` adds the ``pg-embed`` class to the page: :data:`PAGE_CSS` then hides the
title, the tab bar and the footer, and tightens the margins, so a course page shows one
tab, compact.

:data:`EXPLORER_JS` runs in each token explorer (:mod:`playground.ui.explorer`, a
``gr.HTML``): hovering, focusing or tapping a token shows its alternatives, built from the
token's data with ``textContent`` only (model text never becomes markup), and clicking an
alternative sends its position and token id to the server. With the keyboard, an answer is
one Tab stop (a listbox of tokens): the arrow keys, Home and End move between its tokens and
show each one's alternatives; Enter goes to them, the up and down arrows move between them,
Enter branches on one (the focus comes back to its token), Escape comes back without.

What the page does for screen readers, keyboards and phones (the page's language, busy
regions and announcements, focus outlines, touch sizes) is :mod:`playground.ui.accessibility`,
run by :data:`PAGE_JS` and styled by :data:`PAGE_CSS`.
"""

from __future__ import annotations

import json

from playground.messages import LANGUAGES
from playground.ui.accessibility import ACCESS_CSS, ACCESS_JS
from playground.ui.i18n import TRANSLATIONS

# What Gradio's page itself writes when the app's queue is full (limits.queue_size); the page
# shows the visitor's language instead ("queue_full" in ui/i18n.py).
GRADIO_QUEUE_FULL = "This application is currently busy. Please try again."

PAGE_JS = """
async () => {
  const params = new URLSearchParams(window.location.search);
  const lang = params.get("lang") || params.get("__lang");
  if (__LANGUAGES__.includes(lang)) {
    try {
      const core = performance.getEntriesByType("resource")
        .map((entry) => entry.name)
        .find((name) => /\\/assets\\/core-[^/]+\\.js$/.test(name));
      if (core) (await import(core)).changeLocale(lang);
    } catch (error) {
      console.warn("playground: could not switch the language to " + lang, error);
    }
  }
  if (/^(1|true|yes)$/i.test(params.get("embed") || "")) {
    document.body.classList.add("pg-embed");
  }
  const busy = __BUSY__;
  const pageLang = __LANGUAGES__.includes(lang) ? lang : (navigator.language || "en").slice(0, 2);
  const ours = busy.texts[pageLang] || busy.texts.en;
  const swap = (text) => {
    if (text.nodeValue && text.nodeValue.trim() === busy.gradio) text.nodeValue = ours;
  };
  new MutationObserver((records) => {
    for (const record of records) {
      if (record.type === "characterData") swap(record.target);
      for (const node of record.addedNodes) {
        if (node.nodeType === Node.TEXT_NODE) swap(node);
        else if (node.nodeType === Node.ELEMENT_NODE && node.textContent.includes(busy.gradio)) {
          const walker = document.createTreeWalker(node, NodeFilter.SHOW_TEXT);
          for (let text = walker.nextNode(); text; text = walker.nextNode()) swap(text);
        }
      }
    }
  }).observe(document.body, { childList: true, subtree: true, characterData: true });
__ACCESS__
  // what the server must apply: a link's query; else, for a page not in English, its language
  // (the examples table's headers); nothing for a plain English page (its session then holds
  // no component of its own)
  const query = window.location.search.length > 1 ? window.location.search : "";
  return [query, !query && pageLang !== "en" ? pageLang : ""];
}
"""
PAGE_JS = PAGE_JS.replace("__ACCESS__", ACCESS_JS)
PAGE_JS = PAGE_JS.replace("__LANGUAGES__", json.dumps(LANGUAGES)).replace(
    "__BUSY__",
    json.dumps({"gradio": GRADIO_QUEUE_FULL, "texts": {lang: TRANSLATIONS[lang]["queue_full"] for lang in LANGUAGES}}),
)

EXPLORER_JS = """
const pct = (p) => p >= 0.9995 ? "100%" : p >= 0.1 ? (100 * p).toFixed(0) + "%"
  : p >= 0.001 ? (100 * p).toFixed(1) + "%" : p > 0 ? "<0.1%" : "0%";
// what a screen reader says for a shown piece ("␣Paris" is "Paris") and a probability ("60 percent")
const spoken = (piece, labels) => {
  const text = piece.replace(/␣/g, " ").replace(/⇥/g, " ").trim();
  return text && text !== "↵" ? text.replace(/↵/g, " ") : piece.includes("↵") ? labels.newline : labels.space;
};
const said = (p, labels) => {
  const number = pct(p).replace("%", "").replace(".", labels.decimal);
  return labels.percent.replace("{percent}", number.startsWith("<")
    ? labels.lessThan.replace("{n}", number.slice(1)) : number);
};
const make = (tag, text, className) => {
  const node = document.createElement(tag);
  node.textContent = text;
  if (className) node.className = className;
  return node;
};
let open = null;  // the alternatives on screen, after the answer (outside the listbox of tokens)
let openFor = null;  // the token they belong to
let pinned = false;
const close = () => {
  if (open) open.remove();
  open = null;
  openFor = null;
  pinned = false;
};
const show = (tok) => {
  if (open && openFor === tok && open.isConnected) return;
  close();
  const root = tok.closest(".pg-explorer");
  if (!root) return;
  const labels = root.dataset;
  const branchable = labels.branchable === "1";
  const chosen = Number(tok.dataset.id);
  const pop = make("div", "", "pg-pop");
  pop.setAttribute("role", "group");
  pop.setAttribute("aria-label", labels.alternatives.replace("{piece}", tok.getAttribute("aria-label") || ""));
  pop.dataset.i = tok.dataset.i;
  const table = document.createElement("table");
  const head = table.createTHead().insertRow();
  for (const text of [labels.token, labels.model, labels.sampled]) head.appendChild(make("th", text));
  const body = table.createTBody();
  for (const [id, piece, raw, adjusted] of JSON.parse(tok.dataset.alts || "[]")) {
    const row = body.insertRow();
    const first = row.insertCell();
    if (branchable && id !== chosen) {
      const button = make("button", piece, "pg-alt");
      button.type = "button";
      button.tabIndex = -1;  // reached from its token (Enter), so that Tab leaves the explorer
      button.dataset.token = String(id);
      button.title = labels.branch;
      button.setAttribute("aria-label",
        `${spoken(piece, labels)}: ${labels.model} ${said(raw, labels)}, ${labels.sampled} ${said(adjusted, labels)}`);
      first.appendChild(button);
    } else {
      first.appendChild(make("span", piece, id === chosen ? "pg-piece pg-chosen" : "pg-piece"));
    }
    row.appendChild(make("td", pct(raw)));
    row.appendChild(make("td", pct(adjusted)));
  }
  pop.appendChild(table);
  root.appendChild(pop);
  open = pop;
  openFor = tok;
  place();
};
// fixed, so that no scrolling or clipping container hides it; under its token, inside the window
const place = () => {
  if (!open || !openFor) return;
  const at = openFor.getBoundingClientRect();
  const box = open.getBoundingClientRect();
  const width = document.documentElement.clientWidth;
  const height = document.documentElement.clientHeight;
  open.style.left = Math.max(4, Math.min(at.left, width - box.width - 4)) + "px";
  const below = at.bottom + 2;
  open.style.top = (below + box.height > height && at.top > box.height + 4 ? at.top - box.height - 2 : below) + "px";
};
window.addEventListener("scroll", place, true);
window.addEventListener("resize", place);
// the keyboard: one tab stop per answer (the token last focused); the arrow keys move between tokens
const select = (tok) => {
  for (const other of tok.parentNode.querySelectorAll(":scope > .pg-tok")) {
    other.tabIndex = other === tok ? 0 : -1;
    other.setAttribute("aria-selected", other === tok ? "true" : "false");
  }
};
const STEPS = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 };
const onToken = (event, tok) => {
  const tokens = [...tok.parentNode.querySelectorAll(":scope > .pg-tok")];
  const at = tokens.indexOf(tok);
  const to = event.key in STEPS ? at + STEPS[event.key] : event.key === "Home" ? 0
    : event.key === "End" ? tokens.length - 1 : null;
  if (to !== null) {
    event.preventDefault();
    tokens[Math.max(0, Math.min(tokens.length - 1, to))].focus();
  } else if (event.key === "Enter" || event.key === " ") {
    event.preventDefault();
    show(tok);
    const first = open && open.querySelector(".pg-alt");
    if (first) { pinned = true; first.focus(); }
  }
};
const onAlternative = (event, alt) => {
  const buttons = [...open.querySelectorAll(".pg-alt")];
  const step = event.key === "ArrowDown" ? 1 : event.key === "ArrowUp" ? -1 : 0;
  if (step) {
    event.preventDefault();
    buttons[Math.max(0, Math.min(buttons.length - 1, buttons.indexOf(alt) + step))].focus();
  }
};
element.addEventListener("keydown", (event) => {
  const tok = event.target.closest(".pg-answer .pg-tok");
  const alt = event.target.closest(".pg-pop .pg-alt");
  if (event.key === "Escape") {
    const back = openFor;
    close();
    if (back && alt) back.focus();
  } else if (tok) onToken(event, tok);
  else if (alt && open) onAlternative(event, alt);
});
element.addEventListener("mouseover", (event) => {
  const tok = event.target.closest(".pg-answer .pg-tok");
  if (tok && !pinned) show(tok);
});
element.addEventListener("focusin", (event) => {
  const tok = event.target.closest(".pg-answer .pg-tok");
  if (tok) { select(tok); show(tok); }
});
element.addEventListener("focusout", (event) => {  // focus gone elsewhere in the page: the alternatives go too
  if (event.relatedTarget && !element.contains(event.relatedTarget)) close();
});
element.addEventListener("mouseleave", () => { if (!pinned) close(); });
element.addEventListener("click", (event) => {
  const alt = event.target.closest(".pg-alt");
  if (alt) {
    const position = Number(alt.closest(".pg-pop").dataset.i);
    const back = openFor;
    event.stopPropagation();
    close();
    if (event.detail === 0 && back && back.isConnected) back.focus();  // from the keyboard: back to its token
    trigger("click", { position, token: Number(alt.dataset.token) });
    return;
  }
  const tok = event.target.closest(".pg-answer .pg-tok");
  if (tok) {
    if (pinned && openFor === tok) close();
    else { show(tok); pinned = true; }
  }
});
document.addEventListener("click", (event) => { if (!element.contains(event.target)) close(); });
"""

PAGE_CSS = """
body.pg-embed .tab-wrapper,
body.pg-embed footer,
body.pg-embed #title { display: none !important; }
body.pg-embed .gradio-container { padding: 4px !important; }
body.pg-embed .main { padding: 0 !important; }
.pg-explorer { line-height: 1.9; }
.pg-answer { white-space: pre-wrap; overflow-wrap: anywhere; padding-bottom: 0.5em; }
.pg-tok { position: relative; border-radius: 3px; padding: 1px 0; cursor: pointer; }
.pg-p0 { background: rgba(34, 197, 94, 0.35); }
.pg-p1 { background: rgba(163, 230, 53, 0.40); }
.pg-p2 { background: rgba(250, 204, 21, 0.45); }
.pg-p3 { background: rgba(249, 115, 22, 0.45); }
.pg-p4 { background: rgba(239, 68, 68, 0.45); }
.dark .pg-p1 { background: rgba(163, 230, 53, 0.3); }  /* lighter in dark mode: light text on them, 6.3:1 */
.dark .pg-p2 { background: rgba(250, 204, 21, 0.3); }
.pg-forced { outline: 2px dashed var(--body-text-color, #333); outline-offset: -1px; }
.pg-legend { font-size: 0.85em; margin-bottom: 0.4em; }
.pg-swatch { padding: 0 0.4em; margin-right: 0.2em; cursor: default; white-space: nowrap; }
.pg-hint { opacity: 0.8; }
.pg-pop { position: fixed; top: 0; left: 0; z-index: 1000; white-space: normal; line-height: 1.3;
  width: max-content; max-width: min(26em, 92vw); padding: 0.4em; border-radius: 6px; font-size: 0.85em;
  background: var(--background-fill-primary, #fff); color: var(--body-text-color, #111);
  border: 1px solid var(--border-color-primary, #ccc); box-shadow: 0 4px 12px rgba(0, 0, 0, 0.2); }
.pg-pop table { width: 100%; border-collapse: collapse; margin: 0; }
.pg-pop th, .pg-pop td { padding: 1px 6px; text-align: right; border: 0; white-space: nowrap; }
.pg-pop th:first-child, .pg-pop td:first-child { text-align: left; }
.pg-alt { font: inherit; padding: 0 4px; border: 1px solid var(--border-color-primary, #ccc); border-radius: 3px;
  background: var(--button-secondary-background-fill, #eee); cursor: pointer; white-space: pre; }
.pg-piece { white-space: pre; }
.pg-chosen { font-weight: bold; }
.pg-hidden { display: none !important; }
"""
PAGE_CSS += ACCESS_CSS  # what the page does for screen readers, keyboards and phones
