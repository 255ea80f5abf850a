"""What runs in the visitor's page: the language from the link, and the compact embed view.

Gradio's ``gr.I18n`` picks the browser's language when the page starts. A teacher's link
may ask for another one (``?lang=fr``): :data:`PAGE_JS` runs when the page loads, before
the load event reaches the server, and switches Gradio's own locale store (the function
its settings panel calls). Tab labels are computed once when the page starts, so the load
event then sends every tab's label again (see :mod:`playground.ui.links`) and they follow.

``?embed=1`` adds the ``pg-embed`` class to the page: :data:`PAGE_CSS` then hides the
title, the tab bar and the footer, and tightens the margins, so a course page shows one
tab, compact.
"""

from __future__ import annotations

import json

from playground.messages import LANGUAGES

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
  return [];
}
""".replace("__LANGUAGES__", json.dumps(LANGUAGES))

PAGE_CSS = """
body.pg-embed .tab-wrapper,
body.pg-embed footer,
body.pg-embed #title { display: none !important; }
body.pg-embed .gradio-container { padding: 4px !important; }
body.pg-embed .main { padding: 0 !important; }
"""
