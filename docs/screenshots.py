"""Retake the screenshots of the README and the guides: the real app (shipped registry, offline), EN and FR.

    python docs/screenshots.py                 # every shot, into docs/
    python docs/screenshots.py lab-en style-fr # some of them

Starts ``python app.py`` on a free loopback port, opens each tab in Debian's Chromium
(Playwright, ``executable_path="/usr/bin/chromium"``), clicks its button, waits until no
status line says "Generating…" any more, and saves a full-page PNG. The answers are the
model's own, written while the shot was taken.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
# Texts on the page while something still runs: a generation's status line (playground/ui/i18n.py),
# and Gradio's own progress over a component that waits for its value.
GENERATING = ("Generating…", "Génération…", "processing |")


@dataclass(frozen=True)
class Shot:
    """One screenshot: the page (query string), the button to click, and the box that must fill."""

    name: str
    query: str
    button: str | None  # elem_id of the button to click, None to shoot the page as it opens
    output: str | None  # elem_id of a text box that must be non-empty before the shot
    locale: str = "en-US"
    width: int = 1280


SHOTS = [
    Shot("lab-en", "tab=lab", "lab-run", "lab-few"),
    Shot("lab-fr", "tab=lab&lang=fr", "lab-run", "lab-few", locale="fr-FR"),
    Shot("style-en", "tab=style", "style-run", "style-adapted"),
    Shot("style-fr", "tab=style&lang=fr", "style-run", "style-adapted", locale="fr-FR"),
    Shot("instructions-en", "tab=instructions", "instructions-run", "instructions-adapted"),
    Shot("instructions-fr", "tab=instructions&lang=fr", "instructions-run", "instructions-adapted", locale="fr-FR"),
    Shot("compare-en", "tab=compare", "compare-run", None),
    Shot("compare-fr", "tab=compare&lang=fr", "compare-run", None, locale="fr-FR"),
    Shot("generate", "tab=generate", "generate", "output"),
    Shot("embed-style-fr", "embed=1&tab=style&lang=fr", "style-run", "style-adapted", locale="fr-FR", width=900),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_app(port: int, log_file: Path) -> subprocess.Popen:
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_SERVER_NAME": "127.0.0.1"}
    with log_file.open("w") as out:
        proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 600  # a first start dequantizes the lesson model
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"app.py exited with {proc.returncode}: see {log_file}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError("app.py did not start listening in 600 s")


def _finished(page, output: str | None) -> bool:
    text = page.locator("body").inner_text()
    if any(g in text for g in GENERATING):
        return False
    if output is None:
        return True
    box = page.locator(f"#{output} textarea, #{output} input").first
    return bool(box.input_value().strip())


def take(shot: Shot, browser, url: str, out_dir: Path, timeout_s: float = 600) -> Path:
    """Open, run and photograph one shot; returns the PNG's path."""
    context = browser.new_context(viewport={"width": shot.width, "height": 1000}, locale=shot.locale)
    page = context.new_page()
    page.goto(f"{url}/?{shot.query}", wait_until="load")
    if shot.button:
        button = page.locator(f"#{shot.button}")
        button.wait_for(timeout=60_000)
        button.click()
        page.wait_for_timeout(1000)  # the click reaches the server and the first status line shows
        deadline = time.monotonic() + timeout_s
        while not _finished(page, shot.output):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{shot.name}: not finished after {timeout_s:.0f} s")
            page.wait_for_timeout(500)
        page.wait_for_timeout(500)
    path = out_dir / f"{shot.name}.png"
    page.screenshot(path=str(path), full_page=True)
    context.close()
    log.info("%s: %s", shot.name, path)
    return path


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    from playwright.sync_api import sync_playwright

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    names = set(argv if argv is not None else sys.argv[1:])
    shots = [s for s in SHOTS if not names or s.name in names]
    port = _free_port()
    log_file = ROOT / "docs" / "screenshots.log"
    proc = _start_app(port, log_file)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium")
            for shot in shots:
                take(shot, browser, f"http://127.0.0.1:{port}", ROOT / "docs")
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log_file.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
