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
"""

from __future__ import annotations

import json

from playground.messages import LANGUAGES
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
      if (core) {
        (await import(core)).changeLocale(lang);
        document.documentElement.setAttribute("lang", lang);
      }
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
  return [];
}
""".replace("__LANGUAGES__", json.dumps(LANGUAGES)).replace(
    "__BUSY__",
    json.dumps({"gradio": GRADIO_QUEUE_FULL, "texts": {lang: TRANSLATIONS[lang]["queue_full"] for lang in LANGUAGES}}),
)

PAGE_CSS = """
body.pg-embed .tab-wrapper,
body.pg-embed footer,
body.pg-embed #title { display: none !important; }
body.pg-embed .gradio-container { padding: 4px !important; }
body.pg-embed .main { padding: 0 !important; }
"""
