"""README.md and docs/*.md stay inside the repository: no ../shared paths, no dead relative links."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def relative_links(text: str) -> list[str]:
    """Targets of the markdown links in ``text`` that are not URLs, mail addresses or in-page
    anchors; code spans and fenced blocks are skipped (they show commands, not links)."""
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    text = re.sub(r"`[^`\n]*`", "", text)
    return [t for t in LINK.findall(text) if not (re.match(r"^[a-z][a-z0-9+.-]*:", t, flags=re.I) or t.startswith("#"))]


def problems(path: Path, root: Path) -> list[str]:
    """What is wrong with one page: references outside ``root`` and links to missing files."""
    text = path.read_text(encoding="utf-8")
    out = []
    if "../shared" in text:
        out.append("refers to ../shared (outside the repository)")
    if "/work/" in text:
        out.append("refers to an absolute machine path")
    for target in relative_links(text):
        dest = (path.parent / target.split("#", 1)[0]).resolve()
        if not dest.is_relative_to(root.resolve()):
            out.append(f"link {target!r} leaves the repository")
        elif not dest.exists():
            out.append(f"link {target!r} points to a missing file")
    return out


def test_docs_exist():
    assert (REPO / "docs" / "README.md").is_file() and len(DOCS) > 3


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_page_stays_inside_the_repo(path):
    assert problems(path, REPO) == []


def test_link_parser():
    text = "see [a](docs/a.md#x), [b](https://x.org), `[c](nope.md)`, [d](#top), ![i](img.png)\n```\n[e](f.md)\n```"
    assert relative_links(text) == ["docs/a.md#x"]


def test_the_checks_catch_a_bad_page(tmp_path):
    """Sabotage: a page with a ../shared path, a dead link and a link out of the tree fails."""
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "ok.md").write_text("fine\n")
    page = tmp_path / "repo" / "bad.md"
    page.write_text("See `../shared/DESIGN.md`, [ok](ok.md), [notes](missing/notes.md) and [up](../x.md).\n")
    assert problems(page, tmp_path / "repo") == [
        "refers to ../shared (outside the repository)",
        "link 'missing/notes.md' points to a missing file",
        "link '../x.md' leaves the repository",
    ]
