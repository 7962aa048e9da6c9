"""The README and the pages of docs/ as GitHub shows them: their links lead somewhere; the README stays short.

The website renders the same files (website/build.py; tests/test_site.py opens them in a browser); here they
are checked as files, fast, without building anything.
"""

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = ["README.md"] + sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").glob("*.md"))
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _build_module():
    spec = importlib.util.spec_from_file_location("website_build", ROOT / "website" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _outside_code(text):
    """The lines of ``text`` outside fenced code blocks."""
    lines, fenced = [], False
    for line in text.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def _anchors(path):
    """The anchors GitHub gives the headings of a markdown file."""
    headings = [line.lstrip("#").strip() for line in _outside_code(path.read_text(encoding="utf-8"))
                if re.match(r"#{1,6} ", line)]
    return {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in headings}


@pytest.mark.parametrize("page", PAGES)
def test_relative_links_lead_to_files_and_headings(page):
    base = (ROOT / page).parent
    for line in _outside_code((ROOT / page).read_text(encoding="utf-8")):
        for target in LINK.findall(line):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):
                continue
            path, _, anchor = target.partition("#")
            dest = (base / path).resolve() if path else ROOT / page
            assert dest.is_relative_to(ROOT) and dest.exists(), f"{page}: {target} leads to nothing"
            if anchor and dest.suffix == ".md":
                assert anchor in _anchors(dest), f"{page}: {target}: no such heading"


def test_the_readme_links_every_docs_page_and_stays_short():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    linked = set(LINK.findall(readme))
    docs = {p for p in PAGES if p.startswith("docs/")}
    assert docs <= linked, f"pages the README does not link: {sorted(docs - linked)}"
    lines = readme.count("\n")
    assert lines <= 200, f"README.md has {lines} lines: it is the front door, move the detail to docs/"


@pytest.mark.parametrize("page", PAGES[1:])
def test_docs_pages_start_with_their_title_and_stage_for_the_website(page):
    build = _build_module()
    text = (ROOT / page).read_text(encoding="utf-8")
    assert re.match(r"# \S", text), f"{page} must start with its title, one '# ' heading"
    titles = re.findall(r"^# ", "\n".join(_outside_code(text)), re.M)
    assert len(titles) == 1, f"{page}: one '# ' heading only"
    build.rewrite_links(text, page, build.header.repository_url())  # raises for a link the site cannot map
