"""Build the course website from the stored notebooks, the README and docs/, without running any notebook.

Usage:
    python website/build.py [--out DIR]       # default: <build>/site (make site)

Stages the sources under ``<out>-src/`` and runs Sphinx (settings in ``website/conf.py``) into ``<out>``:

* ``index``: the README's title and introduction, the course map (from ``notebooks/notebooks.toml``, each
  notebook a link to its page) and the README's list of documentation pages; then the pages in order;
* ``notebooks/NN_name``: each stored notebook as it is, in the order of ``notebooks/notebooks.toml``, its
  badge cell replaced by plain links (a download link for the notebook file, its lecture slides, and Colab,
  Binder and Kaggle), so that no page loads an image from the network;
* ``slides/``: the notebooks' reveal.js decks and what they load (``scripts/slides.py``, as ``make slides``
  builds them), written after Sphinx, so that the website needs no other folder;
* ``docs/<name>``: every ``docs/*.md`` page, in the order of :data:`DOCS_ORDER` (others after them,
  alphabetically).

Pages link to each other as they do on GitHub, by relative paths to files in the repository. The staged copies
keep the repository's layout, so that links to docs pages and notebooks resolve as they are; a link to the
README becomes one to the home page, and a link to any other file of the repository one to that file on
GitHub (see :func:`rewrite_links`).

The repository URL comes from pyproject.toml through scripts/notebook_header.py; the notebook list through
scripts/notebook_list.py.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import posixpath
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONF_DIR = Path(__file__).resolve().parent
NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"
LINKS_CELL_ID = "site-links"


DOCS_DIR = ROOT / "docs"
# The documentation pages' order in the site's navigation; a page of docs/ not named here comes after these.
DOCS_ORDER = ("datasets", "grading", "performance", "layout", "authoring")


def _load_script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


header = _load_script("notebook_header")
notebook_list = _load_script("notebook_list")
slides = _load_script("slides")
# Where the decks are on the site, beside the pages (a notebook's page is notebooks/NN_name.html).
SLIDES_DIR = "slides"


def readme_section(readme: str, title: str) -> str:
    """The body of the README section whose heading is ``title`` (any level), up to the next heading of its
    level or higher.

    Raises:
        ValueError: no such heading.
    """
    match = re.search(rf"^(#+) {re.escape(title)}\s*$", readme, re.M)
    if not match:
        raise ValueError(f"README has no heading {title!r}")
    level = len(match.group(1))
    rest = readme[match.end():]
    end = re.search(rf"^#{{1,{level}}} ", rest, re.M)
    return rest[: end.start() if end else len(rest)].strip("\n")


def course_notebooks(folder: Path = ROOT / "notebooks") -> list:
    """The notebooks of ``notebooks/notebooks.toml``, in its order, once checked against ``folder``.

    Raises:
        ValueError: the list and the folder's ``NN_*.ipynb`` files do not name the same notebooks.
    """
    listed = notebook_list.load()
    in_folder = {p.stem for p in folder.glob(NOTEBOOK_GLOB)}
    unlisted, missing = in_folder - {n.stem for n in listed}, {n.stem for n in listed} - in_folder
    if unlisted or missing:
        raise ValueError(f"notebooks/notebooks.toml must list exactly the notebooks in {folder}: not listed "
                         f"{sorted(unlisted)}, listed but missing {sorted(missing)}")
    return listed


def course_map(notebooks: list) -> str:
    """The course map: one table per part of the course, each notebook's title a link to its page."""
    return notebook_list.table(notebooks, {"notebook": lambda n: f"{{doc}}`notebooks/{n.stem}`",
                                           "what it teaches": lambda n: n.teaches})


def docs_pages(docs: Path = DOCS_DIR) -> list[str]:
    """The pages in ``docs`` (``*.md``, by name) in the site's order: :data:`DOCS_ORDER`, then the rest."""
    names = {p.stem for p in docs.glob("*.md")}
    return [n for n in DOCS_ORDER if n in names] + sorted(names - set(DOCS_ORDER))


def _on_site(path: str) -> bool:
    """Whether the repository file ``path`` (relative, posix) is staged at the same place on the site."""
    return path.startswith("docs/") or re.fullmatch(r"notebooks/\d\d_\w+\.ipynb", path) is not None


_LINK = re.compile(r"(\[[^\]]*\]\()([^)\s]+)(\))")


def rewrite_links(text: str, page: str, url: str, root: Path = ROOT) -> str:
    """The markdown ``text`` of the repository file ``page`` with its relative links made to work on the site.

    A link to a file that the site holds at the same place (a docs page or file, a course notebook) is kept;
    one to the README (or a heading in it) becomes one to the home page (``index.md``); one to any other file
    or folder of the repository becomes its address on GitHub (``<url>/blob/main/...``, or ``tree`` for a
    folder). Links with a scheme, anchors within the page, and anything inside fenced code blocks are left
    alone.

    Raises:
        ValueError: a relative link leads to nothing in the repository, or outside it.
    """
    base = posixpath.dirname(page)

    def fix(match):
        target = match.group(2)
        if re.match(r"^[a-z][a-z0-9+.-]*:|^#|^/", target, re.I):
            return match.group(0)
        path, hash_, anchor = target.partition("#")
        resolved = posixpath.normpath(posixpath.join(base, path))
        if resolved.startswith("../") or not (root / resolved).exists():
            raise ValueError(f"{page}: the link {target!r} leads to nothing in the repository")
        if resolved == "README.md":  # the home page shows only part of the README: no anchor to keep
            new = posixpath.relpath("index.md", base or ".")
        elif _on_site(resolved):
            new = target
        else:
            kind = "tree" if (root / resolved).is_dir() else "blob"
            new = f"{url}/{kind}/{header.BRANCH}/{resolved}" + hash_ + anchor
        return match.group(1) + new + match.group(3)

    out, fenced = [], False
    for line in text.splitlines(keepends=True):
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        out.append(line if fenced or line.lstrip().startswith(("```", "~~~")) else _LINK.sub(fix, line))
    return "".join(out)


def links_cell(name: str, url: str) -> dict:
    """A markdown cell: download this notebook, show its lecture slides, or open it in Colab, Binder or Kaggle
    (text links only). The slides link is raw HTML: the deck is not a page Sphinx knows."""
    services = " · ".join(f"[{service}]({link})" for service, link, _ in
                          header.launch_links(f"notebooks/{name}.ipynb", url))
    deck = f"../{SLIDES_DIR}/{name}{slides.DECK_SUFFIX}"
    text = (f"{{download}}`Download this notebook ({name}.ipynb) <../downloads/{name}.ipynb>` · "
            f'<a class="slides-link" href="{deck}">lecture slides</a> · open it in {services}')
    return {"cell_type": "markdown", "id": LINKS_CELL_ID, "metadata": {}, "source": text}


def stage_notebook(source: Path, dest: Path, url: str) -> None:
    """Copy a stored notebook for the site: its badge cell (remote images) replaced by :func:`links_cell`."""
    nb = json.loads(source.read_text(encoding="utf-8"))
    cells = [c for c in nb["cells"] if c.get("id") != header.BADGE_CELL_ID]
    first = cells[0] if cells else {"cell_type": "none", "source": ""}
    title = first["cell_type"] == "markdown" and "".join(first["source"]).startswith("# ")
    cells.insert(1 if title else 0, links_cell(source.stem, url))
    nb["cells"] = cells
    dest.write_text(json.dumps(nb, indent=1, ensure_ascii=False), encoding="utf-8")


def stage(src: Path) -> None:
    """Write the site's sources into ``src`` (emptied first)."""
    url = header.repository_url()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    if src.exists():
        shutil.rmtree(src)
    (src / "notebooks").mkdir(parents=True)
    (src / "downloads").mkdir()
    notebooks = course_notebooks()
    for notebook in notebooks:
        path = ROOT / "notebooks" / f"{notebook.stem}.ipynb"
        shutil.copy(path, src / "downloads" / path.name)
        stage_notebook(path, src / "notebooks" / path.name, url)

    # docs/ as it is (a page may show a figure kept beside it), each page's links made to work on the site
    shutil.copytree(DOCS_DIR, src / "docs")
    pages = docs_pages()
    for name in pages:
        text = rewrite_links((DOCS_DIR / f"{name}.md").read_text(encoding="utf-8"), f"docs/{name}.md", url)
        (src / "docs" / f"{name}.md").write_text(text, encoding="utf-8")

    title = re.search(r"^# (.+)$", readme, re.M).group(1)
    intro = readme.split("\n## ", 1)[0].split("\n", 1)[1]
    # the README's badge line links images on other sites: the website has its own links, and works offline
    intro = "\n".join(line for line in intro.splitlines() if not line.startswith("[![")).strip()
    documentation = readme_section(readme, "Documentation")
    toctrees = [(notebook_list.PARTS[part], [f"notebooks/{n.stem}" for n in members])
                for part, members in notebook_list.by_part(notebooks)]
    toctrees.append(("Documentation", [f"docs/{name}" for name in pages]))
    toc = "\n".join(f"""
```{{toctree}}
:hidden:
:caption: {caption}
:maxdepth: 1

{chr(10).join(entries)}
```
""" for caption, entries in toctrees)
    index = f"""# {title}

{intro}

Run the notebooks in order. Each page below is the notebook as stored in the repository, executed in quick
mode (offline data, small subsets, a few epochs on a CPU); download it, or open it in Colab, Binder or Kaggle,
from the links at its top. The source is at <{url}>.

## Course map

{course_map(notebooks)}

## Documentation

{documentation}
{toc}"""
    (src / "index.md").write_text(rewrite_links(index, "README.md", url), encoding="utf-8")


def build(out: Path, *, quiet: bool = True, warnings: Path | None = None) -> int:
    """Stage the sources next to ``out`` (``<out>-src``) and build the HTML site into ``out``, the lecture
    slides into ``out/slides``.

    Args:
        out: the site's folder, rebuilt from scratch (so is ``<out>-src``, where Sphinx keeps its cache).
        quiet: only warnings and errors on the terminal.
        warnings: also write Sphinx's warnings to this file.

    Returns:
        Sphinx's exit status (0 on success).
    """
    from sphinx.cmd.build import build_main

    src = out.with_name(out.name + "-src")
    stage(src)
    if out.exists():
        shutil.rmtree(out)  # no page of a removed notebook lingers
    os.environ["COURSE_SITE_REPOSITORY"] = header.repository_url()
    args = ["-b", "html", "-c", str(CONF_DIR), "-d", str(src / "_doctrees"), str(src), str(out)]
    status = build_main((["-q"] if quiet else []) + (["-w", str(warnings)] if warnings else []) + args)
    if status == 0:
        notebooks = [ROOT / "notebooks" / f"{n.stem}.ipynb" for n in course_notebooks()]
        slides.build(out / SLIDES_DIR, notebooks)
    return status


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(ROOT))  # the checkout's course_lib, for its build folder
    from course_lib import config

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=config.course_dir("build") / "site")
    args = parser.parse_args(argv)
    status = build(args.out.absolute())
    if status == 0:
        print(f"Website: {args.out / 'index.html'}")
    return status


if __name__ == "__main__":
    sys.exit(main())
