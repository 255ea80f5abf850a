"""Every relative link of the README and the guides resolves: the file exists, and so does its anchor.

Links are read outside code blocks, as ``[text](target)`` and ``![alt](target)``; web
addresses are left alone. An anchor is a heading's slug as GitHub writes it (lower case,
punctuation dropped, spaces as hyphens, ``-1``, ``-2`` for repeats).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.paths import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$")


def prose(text: str) -> list[str]:
    """The lines of a Markdown text outside fenced code blocks."""
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def slug(heading: str) -> str:
    """A heading's anchor, as GitHub makes it."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.replace("`", ""))  # a link keeps its text
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every anchor of a Markdown page."""
    seen: dict[str, int] = {}
    found = set()
    for line in prose(page.read_text(encoding="utf-8")):
        match = HEADING.match(line)
        if match:
            base = slug(match.group(1))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(page: Path) -> list[str]:
    """The relative link targets of a page (web addresses and mail left out)."""
    targets = [t for line in prose(page.read_text(encoding="utf-8")) for t in LINK.findall(line)]
    return [t for t in targets if not re.match(r"^[a-z][a-z0-9+.-]*:", t)]


def broken(page: Path) -> list[str]:
    """The links of ``page`` whose file or anchor does not exist."""
    bad = []
    for target in links(page):
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            bad.append(f"{target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            bad.append(f"{target}: no such anchor")
    return bad


def test_the_slugs_are_githubs():
    assert slug("Engine vs `model.generate`") == "engine-vs-modelgenerate"
    assert slug("/generate_tokens and /branch") == "generate_tokens-and-branch"
    assert slug("Does each lesson show?") == "does-each-lesson-show"
    assert slug("One request's path") == "one-requests-path"


def test_a_broken_link_is_found(tmp_path: Path):
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n[ok](#title) [gone](missing.md) [no anchor](#nope)\n```\n[code](x.md)\n```\n")
    assert broken(page) == ["missing.md: no such file", "#nope: no such anchor"]


@pytest.mark.parametrize("page", PAGES, ids=[p.relative_to(ROOT).as_posix() for p in PAGES])
def test_every_relative_link_resolves(page: Path):
    assert broken(page) == []


def test_every_guide_says_who_it_is_for():
    for page in sorted((ROOT / "docs").glob("*.md")):
        first = next(line for line in prose(page.read_text(encoding="utf-8")) if line and not line.startswith("#"))
        assert first.startswith("*For "), f"{page.name}: the first paragraph says who the guide is for"


def test_the_architecture_picture_draws_the_declared_layers_in_order():
    from tests.test_layers import LAYERS

    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    picture = text.split("## The layers", 1)[1].split("```text", 1)[1].split("```", 1)[0]
    drawn = [m.group(1) for m in re.finditer(r"^\s*│ (\w+)\s", picture, re.MULTILINE)]
    drawn = [name for name in drawn if name in {layer.rpartition(".")[2] for layer in LAYERS}]
    assert drawn == [layer.rpartition(".")[2] for layer in reversed(LAYERS)]  # the top of the picture is the top layer
