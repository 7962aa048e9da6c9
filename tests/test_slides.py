"""Lecture slides (make slides): the slide types in the notebooks, and the reveal.js decks in a real browser.

The rules (``scripts/slides.py --write``) are checked on copies of the notebooks: they change the slide types
and nothing else, twice the same. The stored notebooks must hold the types the rules give, so an edit that
forgets ``--write`` fails here. The decks are built from the stored notebooks into a temporary folder and
served from localhost, every other request refused and recorded (tests/offline_browser.py), and each one is
walked slide by slide at 1280x720 in one page: it loads without console errors, every figure is displayed and
lies inside the window, no text is smaller than the course's floor. One screenshot per deck is kept under
``build/slides-test/``.
"""

import importlib.util
import inspect
import json
import re
import time
from pathlib import Path

import pytest
from offline_browser import PageVisit, chromium_or_skip, launch, serve

from course_lib import config
from course_lib.plotting import set_min_fontsize

pytestmark = [pytest.mark.slow, pytest.mark.site]

ROOT = Path(__file__).resolve().parent.parent


def _slides_module():
    spec = importlib.util.spec_from_file_location("slides", ROOT / "scripts" / "slides.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SLIDES = _slides_module()
NOTEBOOKS = [n.stem for n in SLIDES.notebook_list.load()]
STORED = sorted((ROOT / "notebooks").glob(SLIDES.NOTEBOOK_GLOB))
SCREENSHOTS = config.course_dir("build") / "slides-test"
# The course's floor for text, 10 pt (the default of set_min_fontsize, which figures are held to at their
# stored size), in CSS px (96 to the inch, 72 pt to the inch): no text on a slide may be smaller on screen.
MIN_POINTS = inspect.signature(set_min_fontsize).parameters["minimum"].default
MIN_CSS_PX = MIN_POINTS * 96 / 72
VIEWPORT = {"width": 1280, "height": 720}
# Below this share of its stored size a figure is reported (not failed): its text is smaller than the floor.
REPORT_FIGURE_SCALE = 0.75


def _without_slide_types(nb):
    for cell in nb["cells"]:
        cell.get("metadata", {}).pop("slideshow", None)
    return nb


# ---- the slide types ---------------------------------------------------------------------------------------

def _dump(nb, sort_keys):
    return json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=sort_keys) + "\n"


def test_write_changes_only_the_slide_types_and_twice_changes_nothing(tmp_path):
    copies, originals = [], {}
    for path in STORED:  # read once: others may store a notebook while this runs
        originals[path.name] = path.read_text(encoding="utf-8")
        (tmp_path / path.name).write_text(originals[path.name], encoding="utf-8")
        copies.append(tmp_path / path.name)
    assert SLIDES.main(["--write", *map(str, copies)]) == 0
    written = {p.name: p.read_text(encoding="utf-8") for p in copies}
    types = set(SLIDES.RULES.values())
    for name, text in written.items():
        nb, original = json.loads(text), json.loads(originals[name])
        assert all(c["metadata"]["slideshow"]["slide_type"] in types for c in nb["cells"]), name
        # written as the file was (nbformat's sorted keys where it had them), so a diff shows the types only
        assert text == _dump(nb, originals[name] == _dump(original, True)), f"{name}: layout changed"
        assert _without_slide_types(nb) == _without_slide_types(original), f"{name}: more than slide types"
    assert SLIDES.main(["--write", *map(str, copies)]) == 0
    again = {p.name: p.read_text(encoding="utf-8") for p in copies}
    assert again == written, "a second --write changed something"
    assert SLIDES.main(["--check", *map(str, copies)]) == 0


@pytest.mark.parametrize("path", STORED, ids=[p.stem for p in STORED])
def test_stored_notebooks_hold_the_slide_types_the_rules_give(path):
    assert not SLIDES.process(path, check=True), (
        f"{path.name}: its slide types are not the rules' (run: .venv/bin/python scripts/slides.py --write)")


def _md(text, **extra):
    return {"cell_type": "markdown", "id": extra.pop("id", f"m{abs(hash(text)) % 10**8}"), "metadata": {},
            "source": text}


def _code(*outputs, source="x = 1"):
    return {"cell_type": "code", "execution_count": 1, "id": f"c{abs(hash((source, len(outputs)))) % 10**8}",
            "metadata": {}, "outputs": list(outputs), "source": source}


def _stdout(text):
    return {"output_type": "stream", "name": "stdout", "text": text}


def _png(width, height):
    import base64
    import struct

    head = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + struct.pack(">II", width, height)
    png = base64.b64encode(head + b"\x08\x06\x00\x00\x00").decode()
    return {"output_type": "display_data", "metadata": {},
            "data": {"image/png": png, "text/plain": "<Figure>"}}


def test_the_rules_on_a_small_notebook():
    cells = [
        _md("# 99 · Title\n\nWhat it is about."),
        _md("[![Open in Colab](https://example.org/b.svg)](https://example.org)", id="launch-badges"),
        _code(_stdout("Mode: quick\n"), source="import course_lib as cl"),
        _md("## 1. A section\n\nA paragraph."),
        _code(_stdout("n=7, k=3: output 5\n"), source="print(...)"),
        _code(source="def helper():\n    return 1\nassert helper() == 1"),
        _code({"output_type": "stream", "name": "stderr", "text": "a warning\n"}),
        _md("The figure below:"),
        _code(_png(800, 400), source="plot()"),
        _md("What it shows."),
        _md("Another paragraph, long.\n\n" + "word " * 400),
        _code(_png(900, 1100), source="tall()"),
        _md("Text, then a section inside the same cell.\n\n## 2. Next\n\nMore."),
        _md("## Exercises\n\n1. Do this."),
        _md("### Check your answers\n\nWith the cell below."),
        _code(_stdout("01.1: expects a number\n"), source="answers = {}"),
    ]
    nb = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    assert SLIDES.cell_kinds(nb) == [
        "title", "badges", "setup", "heading", "text", "silent", "silent", "caption", "figure-captioned",
        "text", "text-new-slide", "figure", "heading", "heading", "exercises", "exercises-code"]
    assert SLIDES.slide_types(nb) == [
        "slide", "skip", "skip", "slide", "-", "skip", "skip", "slide", "-", "-", "slide", "slide", "slide",
        "slide", "-", "skip"]
    # the deck cuts the cell at its heading: the first part ends the slide before, the heading opens one
    deck = SLIDES.deck_notebook(nb)
    parts = [c for c in deck["cells"] if c["id"].startswith(cells[12]["id"])]
    assert [c["metadata"]["slideshow"]["slide_type"] for c in parts] == ["slide", "slide"]
    assert parts[1]["source"].startswith("## 2. Next")
    # a slide that does not open with a heading names its section
    tall = next(c for c in deck["cells"] if c["source"] == "tall()")
    assert tall["metadata"]["slideshow"]["data"] == {"section": "1. A section"}


def test_a_cell_of_tall_figures_is_cut_into_slides_in_the_deck():
    cell = _code(_png(800, 400), _stdout("first\n"), _png(800, 400), _png(800, 150), source="draw()")
    nb = {"cells": [_md("# 99 · T"), _code(source="import x"), cell], "metadata": {}, "nbformat": 4,
          "nbformat_minor": 5}
    deck = SLIDES.split_figures(nb)["cells"][2:]
    assert [[o["output_type"] for o in c["outputs"]] for c in deck] == [
        ["display_data", "stream"], ["display_data", "display_data"]]
    assert [c["source"] for c in deck] == ["draw()", ""]  # the code (speaker notes) once


def test_remote_references_are_found():
    found = SLIDES.remote_references
    assert found('<script src="https://unpkg.com/reveal.js@4.0.2/dist/reveal.js"></script>')
    assert found("<link rel='stylesheet' href='//cdn.example.org/x.css'>")
    assert found("@import url(https://fonts.googleapis.com/css?family=Lato);")
    assert found('import mermaid from "https://cdn.example.org/mermaid.mjs";')
    assert found("paths: {sre: 'https://cdn.jsdelivr.net/npm/speech-rule-engine'}")
    assert not found('<script src="reveal.js/dist/reveal.js"></script> <a href="https://arxiv.org/abs/1">x</a>')


# ---- the decks ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def decks(tmp_path_factory):
    """The decks' folder, and the notebooks they were built from."""
    out = tmp_path_factory.mktemp("slides")
    # the notebooks as they are when the decks are built (an author may store one while the test runs)
    stored = {name: json.loads((ROOT / "notebooks" / f"{name}.ipynb").read_text(encoding="utf-8"))
              for name in NOTEBOOKS}
    start = time.perf_counter()
    written = SLIDES.build(out)
    print(f"{len(written)} decks built in {time.perf_counter() - start:.1f} s")
    return out, stored


def test_there_is_a_deck_per_notebook_and_an_index(decks):
    out = decks[0]
    assert sorted(p.name for p in out.glob(f"*{SLIDES.DECK_SUFFIX}")) == sorted(
        f"{n}{SLIDES.DECK_SUFFIX}" for n in NOTEBOOKS)
    index = (out / "index.html").read_text(encoding="utf-8")
    assert re.findall(r'href="([^"]+)"', index) == [f"{n}{SLIDES.DECK_SUFFIX}" for n in NOTEBOOKS]


def test_nothing_in_the_decks_is_fetched_from_elsewhere(decks):
    out = decks[0]
    files = [p for p in out.rglob("*") if p.is_file() and p.suffix in (".html", ".css", ".js")]
    assert len(files) > len(NOTEBOOKS)
    texts = {str(p.relative_to(out)): p.read_text(encoding="utf-8", errors="replace") for p in files}
    found = {name: SLIDES.remote_references(text) for name, text in texts.items()}
    assert {k: v for k, v in found.items() if v} == {}
    deck = (out / f"{NOTEBOOKS[0]}{SLIDES.DECK_SUFFIX}").read_text(encoding="utf-8")
    for gone in ("require.js", "jquery", "mermaid", "MathJax.Hub"):
        assert gone not in deck, gone


# Walk every slide of the deck open in the page, in one call: for each slide, its images (loaded, visible,
# inside the window, the share of their stored size they are shown at) and the smallest text on it, in CSS px
# on the screen (the font size times the deck's scale).
WALK = """() => {
  Reveal.configure({transition: "none"});
  const scale = Reveal.getScale();
  const height = Reveal.getConfig().height;
  const count = Reveal.getHorizontalSlides().length;
  const slides = [];
  for (let h = 0; h < count; h++) {
    Reveal.slide(h, 0);
    const slide = Reveal.getCurrentSlide();
    const images = Array.from(slide.querySelectorAll("img")).map(img => {
      const box = img.getBoundingClientRect();
      const style = getComputedStyle(img);
      return {
        loaded: img.complete && img.naturalWidth > 0,
        visible: box.width > 0 && box.height > 0 && style.visibility !== "hidden" && style.display !== "none"
          && style.opacity !== "0",
        inside: box.left >= -0.5 && box.top >= -0.5 && box.right <= innerWidth + 0.5
          && box.bottom <= innerHeight + 0.5,
        scale: box.width / scale / img.naturalWidth,
        spans: img.offsetWidth >= img.parentElement.clientWidth - 2,
      };
    });
    let smallest = Infinity, small = "";
    const walker = document.createTreeWalker(slide, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      const el = walker.currentNode.parentElement;
      const text = walker.currentNode.textContent.trim();
      if (!text || el.closest("aside.notes, mjx-container") || el.getClientRects().length === 0) continue;
      const size = parseFloat(getComputedStyle(el).fontSize) * scale;
      if (size < smallest) { smallest = size; small = text.slice(0, 60); }
    }
    const label = getComputedStyle(slide, "::before");
    if (label.content && label.content !== "none") {
      const size = parseFloat(label.fontSize) * scale;
      if (size < smallest) { smallest = size; small = label.content; }
    }
    slides.push({
      images, smallest, small,
      full: slide.scrollHeight >= height - 8,
      scrolls: slide.classList.contains("course-scroll"),
      page_scrolls: document.scrollingElement.scrollHeight > innerHeight
        || document.scrollingElement.scrollWidth > innerWidth,
      code: slide.querySelectorAll(".jp-CodeMirrorEditor, .jp-InputArea-editor").length,
      math_errors: slide.querySelectorAll("mjx-merror, [data-mjx-error]").length,
    });
  }
  return {total: Reveal.getTotalSlides(), count, slides,
          equations: document.querySelectorAll("mjx-container").length,
          notes: document.querySelectorAll(".slides aside.notes").length,
          notes_plugin: Reveal.hasPlugin("notes")};
}"""


@pytest.fixture(scope="module")
def walked(decks):
    chromium = chromium_or_skip()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    results = {}
    start = time.perf_counter()
    with serve(decks[0]) as base, launch(chromium) as browser:
        visit = PageVisit(browser, base, viewport=VIEWPORT)
        try:
            for name in NOTEBOOKS:
                page = visit.open(f"{base}{name}{SLIDES.DECK_SUFFIX}", typeset=False)
                page.evaluate("() => CourseSlides.ready")
                results[name] = page.evaluate(WALK)
                # the first figure, as the room sees it
                first = next((i for i, s in enumerate(results[name]["slides"]) if s["images"]), 0)
                page.evaluate(f"() => Reveal.slide({first}, 0)")
                page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
        finally:
            visit.close()
    print(f"{sum(r['count'] for r in results.values())} slides walked in {time.perf_counter() - start:.1f} s")
    return {"decks": results, "errors": visit.errors, "external": visit.external, "stored": decks[1]}


def test_every_deck_loads_offline_without_console_errors(walked):
    assert walked["errors"] == []
    assert walked["external"] == [], "decks asked the network for these"
    assert set(walked["decks"]) == set(NOTEBOOKS)


def test_each_deck_is_a_row_of_slides_with_the_code_in_the_notes(walked):
    for name, deck in walked["decks"].items():
        assert deck["total"] == deck["count"] >= 5, name  # horizontal slides only, no vertical stacks
        assert deck["notes_plugin"], f"{name}: no speaker view"
        assert [i for i, s in enumerate(deck["slides"]) if s["code"]] == [], f"{name}: code on a slide"
        shown = [c for c in SLIDES.deck_notebook(walked["stored"][name])["cells"] if c["cell_type"] == "code"
                 and c["metadata"]["slideshow"]["slide_type"] != "skip" and SLIDES._source(c).strip()]
        assert deck["notes"] == len(shown), f"{name}: the code of each slide is in its speaker notes"


def test_every_image_is_displayed_and_fits_the_window(walked):
    bad = {}
    for name, deck in walked["decks"].items():
        for index, slide in enumerate(deck["slides"]):
            wrong = [k for k, image in enumerate(slide["images"])
                     if not (image["loaded"] and image["visible"] and image["inside"])]
            if wrong or (slide["images"] and (slide["scrolls"] or slide["page_scrolls"])):
                bad[f"{name} slide {index + 1}"] = slide["images"]
    assert bad == {}
    assert sum(len(s["images"]) for d in walked["decks"].values() for s in d["slides"]) >= len(NOTEBOOKS)


def test_figures_are_shrunk_only_where_the_slide_is_full(walked):
    # a figure shown smaller than stored must fill the slide's height or width: none is made smaller than it
    # must be; those whose text ends up below the floor are listed for their notebooks' authors
    wasted, small = [], []
    for name, deck in walked["decks"].items():
        for index, slide in enumerate(deck["slides"]):
            for image in slide["images"]:
                if image["scale"] < 0.98 and not (slide["full"] or image["spans"]):
                    wasted.append(f"{name} slide {index + 1}: {image['scale']:.2f}")
                if image["scale"] < REPORT_FIGURE_SCALE:
                    small.append(f"{name} slide {index + 1} ({image['scale']:.2f})")
    if small:
        print(f"figures shown below {REPORT_FIGURE_SCALE:.0%} of their stored size (too tall for 16:9): "
              + ", ".join(small))
    assert wasted == []


def test_no_text_is_smaller_than_the_course_minimum(walked):
    too_small = {f"{name} slide {i + 1}": (round(s["smallest"], 1), s["small"])
                 for name, deck in walked["decks"].items() for i, s in enumerate(deck["slides"])
                 if s["smallest"] < MIN_CSS_PX}
    assert too_small == {}, f"text under {MIN_POINTS} pt ({MIN_CSS_PX:.1f} px) on screen"


def test_equations_are_typeset(walked):
    with_math = [n for n in NOTEBOOKS if SLIDES.has_math(json.loads(
        (ROOT / "notebooks" / f"{n}.ipynb").read_text(encoding="utf-8")))]
    assert with_math, "no notebook has an equation: the MathJax check checks nothing"
    for name in with_math:
        deck = walked["decks"][name]
        assert deck["equations"] > 0, f"{name}: no equation typeset"
        assert [i for i, s in enumerate(deck["slides"]) if s["math_errors"]] == [], name
