"""Lecture slides: each notebook's slide types, set from its structure, and a reveal.js deck per notebook.

Usage:
    python scripts/slides.py --write [NOTEBOOK ...]   # set every cell's slide type (default: every notebook)
    python scripts/slides.py --check [NOTEBOOK ...]   # change nothing; exit 1 where a slide type is stale
    python scripts/slides.py build [--out DIR] [NOTEBOOK ...]   # the decks into build/slides/ (make slides)

**Slide types** (``--write``) come from the notebook's structure, never from hand edits: :func:`cell_kinds`
reads the cells in order and gives each one a kind, and :data:`RULES` says what each kind becomes. The title
cell is the title slide; a ``##`` or ``###`` heading opens a slide; prose and printed numbers continue the
current slide while it has room (estimated in px: :data:`SLIDE_HEIGHT`), else open a new one; a code cell
that shows a figure gets a slide of its own, which a few lines of prose just before it (or a short heading
cell) may open and a few lines after it may close; the launch badges, the set-up cell and code that shows
nothing (definitions, asserts) are skipped; the exercises section is one closing slide without its
answer-check cell.
``--write`` sets ``metadata.slideshow.slide_type`` and nothing else (the file keeps its layout), and a second
run changes nothing. JupyterLab's slide show (the ``jupyterlab-rise`` extension) reads these types, so a
lecturer can present a notebook live, widgets included.

**Decks** (``build``) are made from the stored notebooks, nothing re-run, by nbconvert's SlidesExporter with
the course's template (``scripts/slides_template/``). The same rules apply to the notebook cut at every
heading (a heading often sits in the middle of a markdown cell) and between figures too tall to share a slide
(:func:`deck_notebook`). Code never shows on a slide: it goes to the speaker notes (key ``S``); outputs show,
stderr does not. In the browser ``course-slides.js`` fits each slide into 1280x720 (figures first, then the
type, never below a floor; see there). Everything a deck loads is copied beside it (:func:`copy_assets`):
reveal.js from ``vendor/reveal.js/``, MathJax from the ``django-static-mathjax`` package (as the website
serves it), Jupyter's notebook styles from nbconvert; the build fails when anything it wrote would load from
another site (:func:`remote_references`).
"""

from __future__ import annotations

import argparse
import base64
import copy
import html
import importlib.util
import json
import logging
import math
import re
import shutil
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"
TEMPLATE_DIR = Path(__file__).resolve().parent / "slides_template"
REVEAL_DIR = ROOT / "vendor" / "reveal.js"
DECK_SUFFIX = ".slides.html"

# What each kind of cell becomes (cell_kinds gives the kinds, reading the cells in order).
RULES = {
    "title": "slide",           # the first cell, "# NN · Title": the title slide
    "badges": "skip",           # the launch badges: images from other sites, of no use in a lecture
    "setup": "skip",            # the first code cell: the set-up block and the imports
    "heading": "slide",         # a cell with a "## " or "### " heading: a section opens a slide
    "text": "-",                # prose or printed numbers (a generated Markdown result too) on the current
                                # slide, while it has room; a few lines also fit under a figure
    "text-new-slide": "slide",  # ... else they open a slide
    "caption": "slide",         # a few lines of prose just before a figure open the figure's slide ...
    "figure-captioned": "-",    # ... and the figure joins them (or a short heading cell)
    "figure": "slide",          # else code whose outputs hold an image is a slide of its own
    "silent": "skip",           # code that shows nothing (no output, or stderr only): definitions, asserts
    "exercises": "-",           # the markdown of the exercises section: one closing slide
    "exercises-code": "skip",   # the exercises section's answer-check cell
    "raw": "skip",              # raw cells (none in the course)
}
# The sizes the rules estimate a cell's height with, in px of the deck's 1280x720 (figures at their stored
# size): a slide has SLIDE_HEIGHT under the section's name and SLIDE_WIDTH across; a line of prose takes
# LINE_PX and holds about PROSE_CHARS characters; printed output, in a smaller monospace type, takes
# OUTPUT_LINE of a line for OUTPUT_CHARS characters.
SLIDE_HEIGHT = 620
SLIDE_WIDTH = 1192
LINE_PX = 33
PROSE_CHARS = 115
OUTPUT_CHARS = 100
OUTPUT_LINE = 0.75
# Prose this short (four lines) next to a figure shares its slide, where the figure leaves the room: above it
# (the cell before, or a short heading cell) or under it (the cell after).
CAPTION_HEIGHT = 4 * LINE_PX
# Outputs that make a code cell a figure.
FIGURE_MIMES = ("image/png", "image/jpeg", "image/svg+xml")
# TeX for MathJax in markdown: $...$, $$, \(, \[, \begin{
MATH = re.compile(r"\$[^$\n]+\$|\$\$|\\\(|\\\[|\\begin\{")
HEADING = re.compile(r"^(#{2,3}) +(\S.*)$")
EXERCISES = re.compile(r"^exercises\b", re.I)

# Hosts of the content-delivery networks that notebook exports load scripts, styles and fonts from: named
# anywhere in a deck or an asset, the build fails.
CDN_HOSTS = ("unpkg.com", "cdn.jsdelivr.net", "cdnjs.cloudflare.com", "fonts.googleapis.com",
             "fonts.gstatic.com", "cdn.mathjax.org", "code.jquery.com", "ajax.googleapis.com")
_REMOTE = r"""\s*=\s*["']?\s*(?:https?:)?//"""
# What would load from another site: a src attribute, a stylesheet link, a CSS url() or @import, or an ES
# module import with an address (a link, <a href>, to a paper is fine: nothing is loaded until it is clicked).
REMOTE_PATTERNS = (
    re.compile(rf"\ssrc{_REMOTE}", re.I),
    re.compile(rf"<link\b[^>]{{0,300}}?\shref{_REMOTE}", re.I),
    re.compile(r"""url\(\s*["']?\s*(?:https?:)?//""", re.I),
    re.compile(r"""@import\s+(?:url\()?\s*["']?\s*(?:https?:)?//""", re.I),
    re.compile(r"""from\s*["'](?:https?:)?//"""),
)


def _load_script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


header = _load_script("notebook_header")
notebook_list = _load_script("notebook_list")


# ---- the rules ---------------------------------------------------------------------------------------------

def _source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _headings(text: str) -> list[tuple[int, int, str]]:
    """(line number, level, title) of each ``##``/``###`` heading of a markdown text, outside fenced code."""
    found, fenced = [], False
    for number, line in enumerate(text.split("\n")):
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        elif not fenced and (match := HEADING.match(line)):
            found.append((number, len(match.group(1)), match.group(2).strip()))
    return found


def _visible_outputs(cell: dict) -> list[dict]:
    """The outputs a slide shows: all but stderr and empty ones."""
    shown = []
    for output in cell.get("outputs", []):
        if output["output_type"] == "stream":
            if output.get("name") != "stderr" and _source({"source": output.get("text", "")}).strip():
                shown.append(output)
        elif output["output_type"] == "error" or output.get("data"):
            shown.append(output)
    return shown


def _wrapped_lines(text: str, width: int) -> float:
    lines = text.rstrip("\n").split("\n")
    return sum(math.ceil(len(line) / width) if line.strip() else 0.5 for line in lines)


def _image_height(output: dict) -> float:
    """The height of an output's image on a slide at its stored size (narrowed to the slide's width), or 0."""
    data = output.get("data", {})
    if "image/png" not in data:
        return SLIDE_HEIGHT / 2 if any(m in data for m in FIGURE_MIMES) else 0.0
    head = base64.b64decode(_source({"source": data["image/png"]}).replace("\n", "")[:32])
    width, height = struct.unpack(">II", head[16:24])
    return height * min(1.0, SLIDE_WIDTH / max(width, 1))


def _height(cell: dict) -> float:
    """About how tall ``cell`` is on a slide, in px (figures at their stored size)."""
    if cell["cell_type"] == "markdown":
        text = _source(cell)
        return LINE_PX * (_wrapped_lines(text, PROSE_CHARS) + len(_headings(text)))
    total = 0.0
    for output in _visible_outputs(cell):
        data = output.get("data", {})
        if output["output_type"] == "stream":
            text = _source({"source": output["text"]})
            total += OUTPUT_LINE * LINE_PX * (_wrapped_lines(text, OUTPUT_CHARS) + 1)
        elif output["output_type"] == "error":
            total += OUTPUT_LINE * LINE_PX * (len(output.get("traceback", [])) + 1)
        elif _image_height(output):
            total += _image_height(output)
        elif "text/markdown" in data:
            total += LINE_PX * _wrapped_lines(_source({"source": data["text/markdown"]}), PROSE_CHARS)
        else:
            text = _source({"source": data.get("text/plain", "")})
            total += OUTPUT_LINE * LINE_PX * (_wrapped_lines(text, OUTPUT_CHARS) + 1)
    return total


def _is_figure(cell: dict) -> bool:
    return any(mime in output.get("data", {}) for output in _visible_outputs(cell) for mime in FIGURE_MIMES)


def cell_kinds(nb: dict) -> list[str]:
    """The kind of each cell of ``nb`` (a key of :data:`RULES`), read in order: see the module's docstring."""
    cells = nb["cells"]
    heights = [_height(c) for c in cells]
    figure = [c["cell_type"] == "code" and _is_figure(c) for c in cells]
    silent = [c["cell_type"] == "code" and not _visible_outputs(c) for c in cells]

    def captions(index):  # short enough to share a slide with the figure, the next cell that shows something
        following = next((k for k in range(index + 1, len(cells)) if not silent[k]), None)
        return (following is not None and figure[following] and heights[index] <= CAPTION_HEIGHT
                and heights[index] + heights[following] <= SLIDE_HEIGHT)

    kinds = []
    slide, used = None, 0.0  # the current slide: "text", "caption" (a figure may join), "figure", "full"
    exercises, seen_code = False, False
    for index, cell in enumerate(cells):
        cell_type, text, height = cell["cell_type"], _source(cell), heights[index]
        headings = _headings(text) if cell_type == "markdown" else []
        sections = [title for _, level, title in headings if level == 2]
        if cell_type == "raw":
            kind = "raw"
        elif cell_type == "markdown" and cell.get("id") == header.BADGE_CELL_ID:
            kind = "badges"
        elif index == 0 and cell_type == "markdown" and text.startswith("# "):
            kind, slide, used = "title", "text", height
        elif cell_type == "code" and not seen_code:
            kind = "setup"
        elif exercises and not sections:  # its "###" headings stay on the closing slide
            kind = "exercises" if cell_type == "markdown" else "exercises-code"
        elif headings:
            kind, slide, used = "heading", "caption" if captions(index) else "text", height
            exercises = bool(sections) and EXERCISES.match(sections[-1]) is not None
        elif silent[index]:
            kind = "silent"
        elif figure[index]:
            kind = "figure-captioned" if slide == "caption" else "figure"
            slide, used = "figure", (used if slide == "caption" else 0.0) + height
        elif cell_type == "markdown" and captions(index):
            kind, slide, used = "caption", "caption", height
        elif slide == "text" and used + height <= SLIDE_HEIGHT:
            kind, used = "text", used + height
        elif slide == "figure" and height <= CAPTION_HEIGHT and used + height <= SLIDE_HEIGHT:
            kind, slide = "text", "full"
        else:
            kind, slide, used = "text-new-slide", "text", height
        seen_code = seen_code or cell_type == "code"
        kinds.append(kind)
    return kinds


def slide_types(nb: dict) -> list[str]:
    """The ``slideshow.slide_type`` of each cell of ``nb`` by :data:`RULES`."""
    return [RULES[kind] for kind in cell_kinds(nb)]


def apply_slide_types(nb: dict) -> dict:
    """Set each cell's ``metadata.slideshow.slide_type`` (in place, nothing else changed); return ``nb``."""
    for cell, slide_type in zip(nb["cells"], slide_types(nb), strict=True):
        cell.setdefault("metadata", {}).setdefault("slideshow", {})["slide_type"] = slide_type
    return nb


def _dump(nb: dict, sort_keys: bool) -> str:
    return json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=sort_keys) + "\n"


def process(path: Path, *, check: bool = False) -> bool:
    """Set one notebook's slide types; with ``check``, only report. Returns True when they were (are) stale.

    The file is written as it was (nbformat's sorted keys where it had them), so only the slide types differ.
    """
    text = path.read_text(encoding="utf-8")
    nb = json.loads(text)
    sort_keys = _dump(nb, True) == text
    new = _dump(apply_slide_types(nb), sort_keys)
    stale = new != text
    if stale and not check:
        path.write_text(new, encoding="utf-8")
    return stale


# ---- the decks ---------------------------------------------------------------------------------------------

def split_at_headings(nb: dict) -> dict:
    """A copy of ``nb`` (as loaded from JSON) with each markdown cell cut before every heading inside it."""
    cells = []
    for cell in nb["cells"]:
        text = _source(cell)
        starts = [line for line, _, _ in _headings(text)] if cell["cell_type"] == "markdown" else []
        cuts = [0] + [s for s in starts if s > 0] + [None]
        if len(cuts) == 2:
            cells.append(copy.deepcopy(cell))
            continue
        lines = text.split("\n")
        for part, (start, end) in enumerate(zip(cuts[:-1], cuts[1:])):
            piece = "\n".join(lines[start:end]).strip("\n")
            if piece:
                cells.append(dict(copy.deepcopy(cell), id=f"{cell.get('id', 'cell')}-{part}", source=piece))
    return dict(nb, cells=cells)


def split_figures(nb: dict) -> dict:
    """A copy of ``nb`` with each code cell whose images are together taller than :data:`SLIDE_HEIGHT` cut
    into cells of a few outputs each (the code stays with the first), so that every group gets a slide."""
    cells = []
    for cell in nb["cells"]:
        if cell["cell_type"] != "code" or sum(_image_height(o) > 0 for o in cell.get("outputs", [])) < 2:
            cells.append(cell)
            continue
        groups, height = [[]], 0.0
        for output in cell["outputs"]:
            tall = _image_height(output)
            if tall and height and height + tall > SLIDE_HEIGHT:
                groups.append([])
                height = 0.0
            groups[-1].append(output)
            height += tall
        for part, outputs in enumerate(groups):
            cells.append(dict(cell, id=f"{cell.get('id', 'cell')}-out{part}", outputs=outputs,
                              source=cell["source"] if part == 0 else ""))
    return dict(nb, cells=cells)


def merge_streams(nb: dict) -> dict:
    """A copy of ``nb`` with the consecutive stdout (or stderr) pieces of each code cell joined into one
    output, as Jupyter shows them (a slide draws one block per output)."""
    cells = []
    for cell in nb["cells"]:
        outputs = []
        for output in cell.get("outputs", []):
            last = outputs[-1] if outputs else None
            if (output["output_type"] == "stream" and last is not None and last["output_type"] == "stream"
                    and last.get("name") == output.get("name")):
                text = _source({"source": last["text"]}) + _source({"source": output["text"]})
                outputs[-1] = dict(last, text=text)
            else:
                outputs.append(output)
        cells.append(dict(cell, outputs=outputs) if cell["cell_type"] == "code" else cell)
    return dict(nb, cells=cells)


def has_math(nb: dict) -> bool:
    """Whether any markdown of ``nb`` (a cell or a generated result) holds TeX for MathJax."""
    texts = [_source(c) for c in nb["cells"] if c["cell_type"] == "markdown"]
    texts += [_source({"source": o["data"][m]}) for c in nb["cells"] for o in c.get("outputs", [])
              for m in ("text/markdown", "text/latex") if m in o.get("data", {})]
    return any(MATH.search(text) for text in texts)


def deck_notebook(nb: dict) -> dict:
    """The notebook a deck is made from (``nb`` as loaded from JSON, left as it is): cut at its headings and
    between tall figures, printed pieces joined, every cell's slide type set by the rules, and each slide that
    does not open with a heading labelled with its section (``data-section``)."""
    deck = split_figures(merge_streams(split_at_headings(nb)))
    section = ""
    for cell, kind in zip(deck["cells"], cell_kinds(deck), strict=True):
        slideshow = {"slide_type": RULES[kind]}
        headings = _headings(_source(cell)) if cell["cell_type"] == "markdown" else []
        if headings:
            section = re.sub(r"[`*_]", "", headings[-1][2])
        elif RULES[kind] == "slide" and kind != "title" and section:
            slideshow["data"] = {"section": section}
        cell["metadata"] = dict(cell.get("metadata", {}), slideshow=slideshow)
    return deck


def _mathjax_dir() -> Path:
    """The MathJax 3 components in the ``django-static-mathjax`` package (the website serves the same)."""
    import mathjax

    return Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"


# The MathJax components a deck loads: the loader, the core, TeX with all its extensions, SVG output and its
# font. Not a combined file: those carry the accessibility menu, which names a CDN for its speech engine.
MATHJAX_FILES = ("startup.js", "core.js", "input/tex-full.js", "output/svg.js", "output/svg/fonts/tex.js")
# Jupyter's notebook styles, as nbconvert's lab and reveal templates include them (linked once, not inlined).
JUPYTER_CSS = {"index.css": "lab", "theme-light.css": "lab", "custom_reveal.css": "reveal"}


def _exporter():
    from nbconvert import SlidesExporter
    from traitlets.config import Config

    config = Config()
    config.SlidesExporter.reveal_url_prefix = "reveal.js"
    config.SlidesExporter.reveal_theme = "white"
    config.SlidesExporter.reveal_transition = "slide"
    config.SlidesExporter.reveal_number = "c/t"
    config.SlidesExporter.reveal_width = "1280"
    config.SlidesExporter.reveal_height = "720"
    config.HTMLExporter.mathjax_url = "mathjax/startup.js"
    config.TemplateExporter.exclude_input_prompt = True
    config.TemplateExporter.exclude_output_prompt = True
    exporter = SlidesExporter(config=config, template_name=TEMPLATE_DIR.name,
                              extra_template_basedirs=[str(TEMPLATE_DIR.parent)])
    # nbconvert warns, once per deck, that the figures have no alternative text (it gives them a generic one)
    exporter.log.setLevel(logging.ERROR)
    return exporter


def _template_file(exporter, template: str, name: str) -> Path:
    for base in exporter.template_paths:
        path = Path(base) / name
        if Path(base).name == template and path.is_file():
            return path
    raise FileNotFoundError(f"nbconvert's {template} template has no static/{name}: is nbconvert installed?")


def copy_assets(out: Path, exporter=None) -> None:
    """Copy what every deck loads into ``out``: reveal.js, MathJax, Jupyter's styles and the course's own."""
    exporter = exporter or _exporter()
    if (out / "reveal.js").exists():
        shutil.rmtree(out / "reveal.js")
    shutil.copytree(REVEAL_DIR, out / "reveal.js")
    for name in MATHJAX_FILES:
        (out / "mathjax" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(_mathjax_dir() / name, out / "mathjax" / name)
    (out / "jupyter").mkdir(exist_ok=True)
    for name, template in JUPYTER_CSS.items():
        shutil.copy2(_template_file(exporter, template, f"static/{name}"), out / "jupyter" / name)
    for path in (TEMPLATE_DIR / "static").iterdir():
        shutil.copy2(path, out / path.name)


def deck_html(path: Path, title: str, exporter=None) -> str:
    """The reveal.js deck of the stored notebook ``path`` (HTML; its assets are :func:`copy_assets`')."""
    import nbformat
    from nbformat.v4.rwbase import rejoin_lines

    exporter = exporter or _exporter()
    nb = json.loads(path.read_text(encoding="utf-8"))
    deck = rejoin_lines(nbformat.from_dict(deck_notebook(nb)))  # what nbformat.read gives, without validating
    deck.metadata["title"] = title
    resources = {"metadata": {"name": path.stem}, "course_math": has_math(nb)}
    body, _ = exporter.from_notebook_node(deck, resources=resources)
    return body


def remote_references(text: str) -> list[str]:
    """What in ``text`` (HTML, CSS or JavaScript) would load something from another site, or names a CDN."""
    found = [match.group(0) for pattern in REMOTE_PATTERNS for match in pattern.finditer(text)]
    lowered = text.lower()
    return found + [host for host in CDN_HOSTS if host in lowered]


def index_html(decks: list[tuple[str, str]]) -> str:
    """A page listing the decks: (file name, title) pairs, in course order."""
    items = "\n".join(f'<li><a href="{html.escape(name)}">{html.escape(title)}</a></li>'
                      for name, title in decks)
    return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Lecture slides</title>
<style>body {{ font: 20px/1.5 sans-serif; max-width: 52em; margin: 2em auto; padding: 0 1em; }}</style>
</head>
<body>
<h1>Lecture slides</h1>
<p>One deck per notebook, from its stored outputs. Arrow keys or space to move, <kbd>S</kbd> for the
speaker view (the code of each slide is in its notes), <kbd>F</kbd> for full screen, <kbd>Esc</kbd> for an
overview.</p>
<ol>
{items}
</ol>
</body>
</html>
"""


def course_titles() -> dict[str, str]:
    """Each notebook's title as its first cell writes it (``07 · LeNet-5, then and now``), by stem."""
    return {n.stem: f"{n.stem[:2]} · {n.title}" for n in notebook_list.load()}


def build(out: Path, notebooks: list[Path] | None = None) -> list[Path]:
    """Write a deck per notebook into ``out`` (``<stem>.slides.html``), the assets beside them and an index.

    Args:
        out: the folder; decks and assets in it are replaced, and (when ``notebooks`` is None) the decks of
            notebooks no longer in the course removed; nothing else is touched.
        notebooks: the stored notebooks (default: those of ``notebooks/notebooks.toml``, in its order).

    Returns:
        The decks written.

    Raises:
        ValueError: a deck or an asset would load something from another site.
    """
    titles = course_titles()
    if notebooks is None:
        notebooks = [ROOT / "notebooks" / f"{stem}.ipynb" for stem in titles]
        for old in out.glob(f"*{DECK_SUFFIX}"):
            if old.name.removesuffix(DECK_SUFFIX) not in titles:
                old.unlink()
    out.mkdir(parents=True, exist_ok=True)
    exporter = _exporter()
    copy_assets(out, exporter)
    written = []
    for path in notebooks:
        deck = out / f"{path.stem}{DECK_SUFFIX}"
        deck.write_text(deck_html(path, titles.get(path.stem, path.stem), exporter), encoding="utf-8")
        written.append(deck)
    listed = [(d.name, titles.get(d.name.removesuffix(DECK_SUFFIX), d.name)) for d in written]
    (out / "index.html").write_text(index_html(listed), encoding="utf-8")
    files = [p for p in sorted(out.rglob("*")) if p.is_file() and p.suffix in (".html", ".css", ".js")]
    remote = {str(p.relative_to(out)): found for p in files
              if (found := remote_references(p.read_text(encoding="utf-8", errors="replace")))}
    if remote:
        raise ValueError(f"the decks would load from other sites: {remote}")
    return written


def select(names: list[str]) -> list[Path]:
    """The notebooks ``names`` stand for: paths, or fragments of the names in ``notebooks/`` (``07_lenet``,
    ``lenet``), as ``make store NB=...`` takes them; all of ``notebooks/NN_*.ipynb`` when there are none.

    Raises:
        ValueError: a name is neither a file nor a fragment of a notebook's name.
    """
    known = sorted((ROOT / "notebooks").glob(NOTEBOOK_GLOB))
    chosen = []
    for name in names:
        matches = [Path(name)] if Path(name).is_file() else [p for p in known if name in p.name]
        if not matches:
            raise ValueError(f"no notebook matches {name!r}; known: {', '.join(p.stem for p in known)}")
        chosen.extend(m for m in matches if m not in chosen)
    return chosen or known


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["build"]:
        sys.path.insert(0, str(ROOT))  # the checkout's course_lib, for its build folder
        from course_lib import config

        parser = argparse.ArgumentParser(prog="slides.py build", description="Write the reveal.js decks.")
        parser.add_argument("--out", type=Path, default=config.course_dir("build") / "slides")
        parser.add_argument("notebooks", nargs="*", type=Path, help="default: the course's, in its order")
        args = parser.parse_args(argv[1:])
        decks = build(args.out.absolute(), [p.absolute() for p in args.notebooks] or None)
        print(f"{len(decks)} decks: {args.out / 'index.html'}")
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", action="store_true", help="set the slide types of the notebooks")
    action.add_argument("--check", action="store_true", help="change nothing; exit 1 where one is stale")
    parser.add_argument("notebooks", nargs="*", help="paths or name fragments (as make store takes them); "
                        "default: every notebooks/NN_*.ipynb")
    args = parser.parse_args(argv)
    try:
        paths = select(args.notebooks)
    except ValueError as error:
        parser.error(str(error))
    stale = [p for p in paths if process(p, check=args.check)]
    verb = "stale" if args.check else "updated"
    print(f"slide types of {len(stale)} of {len(paths)} notebooks {verb}"
          + "".join(f"\n  {p}" for p in stale))
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
