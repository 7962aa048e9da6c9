"""Write the set-up lines and the launch badges atop each course notebook, from the one repository URL.

Usage:
    python scripts/notebook_header.py             # (re)write the header of every notebooks/NN_*.ipynb
    python scripts/notebook_header.py --check     # change nothing; exit 1 when a notebook's header is stale
    python scripts/notebook_header.py --readme    # print the README's badge line
    python scripts/notebook_header.py notebooks/07_lenet.ipynb ...   # only these

The repository URL is read from ``[project.urls] Repository`` in ``pyproject.toml`` (the only place it is
written). Each notebook gets:

* a markdown cell (id ``launch-badges``) right after its title cell: Colab, Binder and Kaggle badges that open
  this notebook from the repository's ``main`` branch, and the Keras backends it is tested on (from
  ``notebooks/notebooks.toml``);
* the set-up block at the start of its first code cell: it imports ``course_lib`` from the environment, else
  from the checkout the notebook sits in, else (Colab, Kaggle, a bare JupyterHub) installs it with pip from
  the repository and says so. The block uses only the standard library.

Running it twice changes nothing the second time (the old block and badge cell are replaced, cell ids kept).
The website (``website/build.py``) uses :func:`launch_links` for its own text links.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import sys
import tomllib
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"
BRANCH = "main"
BADGE_CELL_ID = "launch-badges"
# The set-up block's first line; the script finds an earlier block by it.
BLOCK_START = "try:  # the course kit: installed, or this checkout's, or installed below"


def _notebook_list():
    """scripts/notebook_list.py, the module that reads notebooks/notebooks.toml (loaded by path: scripts/ is
    not a package, and the tests load this file by path too)."""
    path = Path(__file__).with_name("notebook_list.py")
    spec = importlib.util.spec_from_file_location("notebook_list", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def backends_line(backends: tuple[str, ...]) -> str:
    """The sentence under the badges that says which Keras backends the notebook is tested on."""
    names = [_notebook_list().BACKENDS[b] for b in backends]
    if len(names) == 1:
        return f"Tested on Keras's {names[0]} backend."
    listed = ", ".join(names[:-1]) + " and " + names[-1]
    return (f"Tested on Keras's {listed} backends: set `KERAS_BACKEND` before the first import "
            "(make test-compat runs it on each).")


def notebook_backends(stem: str) -> tuple[str, ...]:
    """The backends notebooks/notebooks.toml lists for ``stem`` (TensorFlow alone where none are listed)."""
    module = _notebook_list()
    found = {n.stem: n.backends for n in module.load()}
    return found.get(stem, module.DEFAULT_BACKENDS)


def repository_url(pyproject: Path = ROOT / "pyproject.toml") -> str:
    """The repository URL from ``[project.urls] Repository`` (no trailing slash, no ``.git``)."""
    url = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["urls"]["Repository"]
    return re.sub(r"(\.git)?/*$", "", url.strip())


def github_slug(url: str) -> str:
    """``owner/name`` of a GitHub URL.

    Raises:
        ValueError: the URL is not ``https://github.com/<owner>/<name>``.
    """
    match = re.fullmatch(r"https://github\.com/([\w.-]+)/([\w.-]+)", url)
    if not match:
        raise ValueError(f"url must be https://github.com/<owner>/<name>, got {url!r}")
    return f"{match.group(1)}/{match.group(2)}"


def pages_url(url: str) -> str:
    """Where GitHub Pages publishes the course website (.github/workflows/site.yml)."""
    owner, name = github_slug(url).split("/")
    return f"https://{owner.lower()}.github.io/{name}/"


def launch_links(notebook: str, url: str) -> list[tuple[str, str, str]]:
    """(service, link that opens the notebook there, badge image) for Colab, Binder and Kaggle.

    Args:
        notebook: the notebook's path in the repository, e.g. ``"notebooks/07_lenet.ipynb"``.
        url: the repository URL (:func:`repository_url`).
    """
    slug = github_slug(url)
    blob = f"{url}/blob/{BRANCH}/{notebook}"
    return [
        ("Colab", f"https://colab.research.google.com/github/{slug}/blob/{BRANCH}/{notebook}",
         "https://colab.research.google.com/assets/colab-badge.svg"),
        ("Binder", f"https://mybinder.org/v2/gh/{slug}/{BRANCH}?labpath={quote(notebook, safe='')}",
         "https://mybinder.org/badge_logo.svg"),
        ("Kaggle", f"https://kaggle.com/kernels/welcome?src={blob}",
         "https://kaggle.com/static/images/open-in-kaggle.svg"),
    ]


def badges_markdown(notebook: str, url: str) -> str:
    """One line of launch badges for ``notebook`` (markdown)."""
    links = launch_links(notebook, url)
    return " ".join(f"[![Open in {name}]({badge})]({link})" for name, link, badge in links)


def readme_badges(url: str) -> str:
    """The README's badge line: the course's first notebook in Colab, Binder and Kaggle, and the website."""
    first = sorted((ROOT / "notebooks").glob(NOTEBOOK_GLOB))[0].relative_to(ROOT).as_posix()
    return (badges_markdown(first, url)
            + f" [![Course website](https://img.shields.io/badge/course-website-blue)]({pages_url(url)})")


def kit_spec(url: str) -> str:
    """What the set-up cell asks pip for: the kit from the repository (``$COURSE_KIT_SPEC`` overrides it)."""
    return f"course_lib @ git+{url}"


def setup_block(url: str) -> str:
    """The lines that start every notebook's first code cell (standard library only until the kit is in).

    Where the kit is missing, pip installs it with its dependency ranges, so a hosted kernel keeps its own
    TensorFlow, Keras and Jupyter; ``course_lib.install.report`` then says what pip added or replaced and
    whether the kernel must restart. ``$COURSE_KIT_SPEC`` (a wheel's path, a branch) replaces the spec: the
    compatibility tests point it at the freshly built wheel.
    """
    return f'''{BLOCK_START}
    import course_lib
except ImportError:
    import importlib
    import os
    import subprocess
    import sys
    if os.path.isfile("../course_lib/__init__.py"):  # a checkout, without its .venv
        sys.path.insert(0, os.path.abspath(".."))
    else:  # Colab, Kaggle, a bare JupyterHub: pip adds what the kernel lacks and keeps what it has
        from importlib import metadata
        before = {{d.metadata["Name"]: d.version for d in metadata.distributions()}}
        kit = os.environ.get("COURSE_KIT_SPEC", "{kit_spec(url)}")
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", kit], check=True)
        importlib.invalidate_caches()
        from course_lib.install import report
        report(before)
'''


def _source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _lines(text: str) -> list[str]:
    # nbformat's on-disk form: a list of lines, each but the last ending in a newline
    return text.splitlines(keepends=True)


def strip_setup_block(code: str) -> str:
    """``code`` without a set-up block at its start (and the blank lines after it)."""
    lines = code.split("\n")
    if not lines or lines[0] != BLOCK_START:
        return code
    end = 1
    while end < len(lines) and (lines[end][:1] in ("", " ", "\t") or lines[end].startswith("except")):
        end += 1
    return "\n".join(lines[end:])


def apply_header(nb: dict, notebook: str, url: str, backends: tuple[str, ...] = ("tensorflow",)) -> dict:
    """Put the badge cell and the set-up block into ``nb`` (in place, idempotent) and return it.

    Args:
        nb: the notebook as loaded from JSON (nbformat 4.5: cells have ids).
        notebook: its path in the repository, for the badge links (``notebooks/NN_name.ipynb``).
        url: the repository URL.
        backends: the Keras backends it is tested on (the badge cell says so).

    Raises:
        ValueError: the notebook has no code cell.
    """
    old_badge = next((c for c in nb["cells"] if c.get("id") == BADGE_CELL_ID), {})
    cells = [c for c in nb["cells"] if c.get("id") != BADGE_CELL_ID]
    first_code = next((c for c in cells if c["cell_type"] == "code"), None)
    if first_code is None:
        raise ValueError(f"{notebook} has no code cell")
    body = strip_setup_block(_source(first_code)).lstrip("\n")
    first_code["source"] = _lines(setup_block(url) + "\n" + body)
    # the badge cell's metadata is kept (scripts/slides.py writes its slide type there)
    badge = {"cell_type": "markdown", "id": BADGE_CELL_ID, "metadata": old_badge.get("metadata", {}),
             "source": _lines(badges_markdown(notebook, url) + "\n\n" + backends_line(backends))}
    title = 1 if cells and cells[0]["cell_type"] == "markdown" and _source(cells[0]).startswith("# ") else 0
    cells.insert(title, badge)
    nb["cells"] = cells
    return nb


def _dump(nb: dict) -> str:
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def process(path: Path, url: str, *, root: Path = ROOT, check: bool = False) -> bool:
    """Rewrite one notebook's header; with ``check``, only report. Returns True when it was (or is) stale."""
    text = path.read_text(encoding="utf-8")
    rel = path.resolve().relative_to(root.resolve()).as_posix()
    new = _dump(apply_header(json.loads(text), rel, url, notebook_backends(path.stem)))
    stale = new != text
    if stale and not check:
        path.write_text(new, encoding="utf-8")
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every notebooks/NN_*.ipynb")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a header is stale")
    parser.add_argument("--readme", action="store_true", help="print the README's badge line and stop")
    args = parser.parse_args(argv)
    url = repository_url()
    if args.readme:
        print(readme_badges(url))
        return 0
    paths = args.notebooks or sorted((ROOT / "notebooks").glob(NOTEBOOK_GLOB))
    stale = [p for p in paths if process(p, url, check=args.check)]
    verb = "stale" if args.check else "updated"
    print(f"{len(stale)} of {len(paths)} notebook headers {verb}" + "".join(f"\n  {p}" for p in stale))
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
