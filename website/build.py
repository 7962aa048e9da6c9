"""Build the course website from the stored notebooks and the README, without running any notebook.

Usage:
    python website/build.py [--out DIR]       # default: <build>/site (make site)

Stages the sources under ``<out>-src/`` and runs Sphinx (settings in ``website/conf.py``) into ``<out>``:

* ``index``: the course map (the README's notebook table, each name a link), then the pages in order;
* ``notebooks/NN_name``: each stored notebook as it is, its badge cell replaced by plain links (a download
  link for the notebook file, and Colab, Binder and Kaggle), so that no page loads an image from the network;
* ``assignments`` and ``instructors``: the README's section on graded assignments, split at its
  "Instructor workflow" heading.

The repository URL comes from pyproject.toml through scripts/notebook_header.py.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONF_DIR = Path(__file__).resolve().parent
NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"
LINKS_CELL_ID = "site-links"


def _load_header():
    spec = importlib.util.spec_from_file_location("notebook_header", ROOT / "scripts" / "notebook_header.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


header = _load_header()


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


def _promote(text: str, levels: int) -> str:
    return re.sub(r"^(#+) ", lambda m: "#" * max(1, len(m.group(1)) - levels) + " ", text, flags=re.M)


def course_map(readme: str, notebooks: list[str]) -> str:
    """The README's notebook table with each notebook name turned into a link to its page."""
    rows = []
    for line in readme_section(readme, "The notebooks").splitlines():
        match = re.match(r"^\| `(\d\d_\w+)` \|(.*)\|\s*$", line)
        if match and match.group(1) in notebooks:
            rows.append(f"| {{doc}}`notebooks/{match.group(1)}` |{match.group(2)}|")
    missing = sorted(set(notebooks) - {re.search(r"notebooks/(\w+)", r).group(1) for r in rows})
    rows += [f"| {{doc}}`notebooks/{name}` | |" for name in missing]
    return "| notebook | what it teaches |\n| --- | --- |\n" + "\n".join(rows)


def links_cell(name: str, url: str) -> dict:
    """A markdown cell: download this notebook, or open it in Colab, Binder or Kaggle (text links only)."""
    services = " · ".join(f"[{service}]({link})" for service, link, _ in
                          header.launch_links(f"notebooks/{name}.ipynb", url))
    text = (f"{{download}}`Download this notebook ({name}.ipynb) <../downloads/{name}.ipynb>` · "
            f"open it in {services}")
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
    paths = sorted((ROOT / "notebooks").glob(NOTEBOOK_GLOB))
    names = [p.stem for p in paths]
    for path in paths:
        shutil.copy(path, src / "downloads" / path.name)
        stage_notebook(path, src / "notebooks" / path.name, url)

    title = re.search(r"^# (.+)$", readme, re.M).group(1)
    intro = readme.split("\n## ", 1)[0].split("\n", 1)[1]
    # the README's badge line links images on other sites: the website has its own links, and works offline
    intro = "\n".join(line for line in intro.splitlines() if not line.startswith("[![")).strip()
    toc = "\n".join(f"notebooks/{n}" for n in names)
    (src / "index.md").write_text(f"""# {title}

{intro}

Run the notebooks in order. Each page below is the notebook as stored in the repository, executed in quick
mode (offline data, small subsets, a few epochs on a CPU); download it, or open it in Colab, Binder or Kaggle,
from the links at its top. The source is at <{url}>.

## Course map

{course_map(readme, names)}

The graded problem sets are described in {{doc}}`assignments`; grading them is explained in
{{doc}}`instructors`.

```{{toctree}}
:hidden:
:caption: Notebooks
:maxdepth: 1

{toc}
```

```{{toctree}}
:hidden:
:caption: Assignments
:maxdepth: 1

assignments
instructors
```
""", encoding="utf-8")

    graded = readme_section(readme, "Graded assignments (nbgrader)")
    overview, _, workflow = graded.partition("\n### Instructor workflow\n")
    (src / "assignments.md").write_text(f"# Graded assignments\n\n{overview.strip()}\n", encoding="utf-8")
    (src / "instructors.md").write_text(
        f"# For instructors: releasing and grading\n\n{_promote(workflow.strip(), 1)}\n", encoding="utf-8")


def build(out: Path, *, quiet: bool = True, warnings: Path | None = None) -> int:
    """Stage the sources next to ``out`` (``<out>-src``) and build the HTML site into ``out``.

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
    return build_main((["-q"] if quiet else []) + (["-w", str(warnings)] if warnings else []) + args)


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
