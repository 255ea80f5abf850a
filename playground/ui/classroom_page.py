"""What the classroom runs in the visitor's page: finding its room again, keeping its key, the CSV download.

- :data:`RESUME_JS` (on page load): reads ``?room=CODE`` and, for the teacher's private link,
  ``#teacher=KEY`` (a fragment: browsers never send it to a server, nor in a Referer); takes
  the key out of the address bar at once, so a projected page never shows it; and gives the
  server the room, the key this browser keeps for it (``localStorage``), and the page's
  address (for the join link and its QR code).
- :data:`REMEMBER_JS`: keeps (or forgets) a room's key in ``localStorage`` and puts the room in
  the address bar (``?tab=classroom&room=CODE``), so a reload finds the room again; the key
  stays in this browser only.
- :data:`DOWNLOAD_JS`: saves the board's CSV as a file made in the page (a Blob): the server
  writes no file.

:data:`CLASSROOM_CSS` lays out the room's banner and the board (its class curves: a chart, its table beside it).
"""

from __future__ import annotations

STORE_PREFIX = "pg-room:"  # localStorage key of a room's {"role", "key"}

RESUME_JS = """
() => {
  const params = new URLSearchParams(window.location.search);
  const room = (params.get("room") || "").toUpperCase().replace(/[\\s-]/g, "").slice(0, 16);
  const page = window.location.origin + window.location.pathname;
  let saved = null;
  try { saved = JSON.parse(window.localStorage.getItem("__PREFIX__" + room) || "null"); } catch (e) { saved = null; }
  const fragment = new URLSearchParams(window.location.hash.slice(1));
  const teacher = fragment.get("teacher");
  if (teacher) {
    saved = { role: "teacher", key: teacher };
    history.replaceState(null, "", window.location.pathname + window.location.search);
  }
  const found = room ? { room: room, role: (saved && saved.role) || "", key: (saved && saved.key) || "" } : null;
  return [found ? JSON.stringify(found) : "", page];
}
""".replace("__PREFIX__", STORE_PREFIX)

REMEMBER_JS = """
(value) => {
  let room = null;
  try { room = JSON.parse(value || "null"); } catch (e) { room = null; }
  if (!room || !room.code) return;
  const params = new URLSearchParams(window.location.search);
  if (room.forget) {
    window.localStorage.removeItem("__PREFIX__" + room.code);
    params.delete("room");
  } else {
    window.localStorage.setItem("__PREFIX__" + room.code, JSON.stringify({ role: room.role, key: room.key }));
    params.set("tab", "classroom");
    params.set("room", room.code);
  }
  history.replaceState(null, "", window.location.pathname + "?" + params.toString());
}
""".replace("__PREFIX__", STORE_PREFIX)

DOWNLOAD_JS = """
(text, code) => {
  if (!text) return;
  const blob = new Blob([text], { type: "text/csv;charset=utf-8" });
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = "classroom-" + (code || "room") + ".csv";
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
}
"""

CLASSROOM_CSS = """
.pg-room-banner { display: flex; gap: 1.5em; align-items: center; flex-wrap: wrap; }
.pg-room-qr { width: 180px; height: 180px; image-rendering: pixelated; background: #fff; }
.pg-room-code { font-size: 3.2em; font-weight: bold; letter-spacing: 0.08em; font-family: monospace; }
.pg-room-label { font-size: 0.95em; }
.pg-room-link { font-family: monospace; overflow-wrap: anywhere; }
.pg-room-title { font-weight: bold; }
.pg-board-head { font-weight: bold; margin-bottom: 0.4em; }
.pg-board h4 { margin: 0.8em 0 0.3em; }
.pg-group { margin: 0.6em 0 1em; overflow-x: auto; }
.pg-group table { width: 100%; border-collapse: collapse; }
.pg-group th, .pg-group td { border: 1px solid var(--border-color-primary, #ccc); padding: 3px 6px;
  vertical-align: top; text-align: left; }
.pg-answer-cell { white-space: pre-wrap; overflow-wrap: anywhere; max-width: 28em; }
.pg-answer-cell, .pg-group td { max-height: 8em; }
.pg-vote { margin: 0.6em 0; padding: 0.5em; border: 1px solid var(--border-color-primary, #ccc); border-radius: 6px; }
.pg-vote ul { margin: 0.3em 0; }
.pg-curve { margin: 0.6em 0 1.2em; }
.pg-curve-head { font-weight: bold; margin-bottom: 0.3em; }
.pg-curve-body { display: flex; flex-wrap: wrap; gap: 1em; align-items: flex-start; }
.pg-curve-chart { width: 100%; max-width: 720px; height: auto; background: #fff; }
.pg-curve-table { border-collapse: collapse; }
.pg-curve-table caption { text-align: left; font-weight: bold; padding-bottom: 0.3em; }
.pg-curve-table th, .pg-curve-table td { border: 1px solid var(--border-color-primary, #ccc); padding: 3px 8px;
  text-align: right; }
.pg-curve-table thead th { text-align: left; }
"""
