"""The course website (make site), built from the stored notebooks and checked in a real headless Chromium.

The site is built into a temporary folder and served from localhost; every request for anything else is
refused and recorded, so the pages must work offline (MathJax included). The browser, the server and the
recording of refused requests are tests/offline_browser.py's (tests/test_slides.py uses them too). One
screenshot per kind of page is kept under ``build/site-test/``.
"""

import importlib.util
import json
import re
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest
from offline_browser import PageVisit, chromium_or_skip, launch, serve

from course_lib import config

pytestmark = [pytest.mark.slow, pytest.mark.site]

ROOT = Path(__file__).resolve().parent.parent


def _build_module():
    spec = importlib.util.spec_from_file_location("website_build", ROOT / "website" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BUILD = _build_module()
# the notebooks in the order of notebooks/notebooks.toml, then the pages of docs/
NOTEBOOKS = [n.stem for n in BUILD.notebook_list.load()]
DOCS = BUILD.docs_pages()
ORDER = ["index"] + [f"notebooks/{n}" for n in NOTEBOOKS] + [f"docs/{d}" for d in DOCS]
URL = BUILD.header.repository_url()
SCREENSHOTS = config.course_dir("build") / "site-test"
# a notebook page with equations and figures, for the math and screenshot checks
MATH_PAGE = "notebooks/05_backprop_by_hand"


@pytest.fixture(scope="module")
def chromium():
    return chromium_or_skip()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    module = BUILD
    out = tmp_path_factory.mktemp("website") / "site"
    warnings = out.with_name("warnings.txt")
    # the notebooks as they are when the site is built (an author may store one while the test runs)
    stored = {name: json.loads((ROOT / "notebooks" / f"{name}.ipynb").read_text()) for name in NOTEBOOKS}
    start = time.perf_counter()
    assert module.build(out, warnings=warnings) == 0
    print(f"site built in {time.perf_counter() - start:.1f} s")
    return out, warnings, stored


@pytest.fixture(scope="module")
def server(site):
    with serve(site[0]) as base:
        yield base


@pytest.fixture(scope="module")
def browser(chromium):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with launch(chromium) as launched:
        yield launched


def _page_name(url, base):
    path = urlparse(url).path.removeprefix(urlparse(base).path)
    return re.sub(r"\.html$", "", path) or "index"


def test_sphinx_builds_without_warnings(site):
    warnings = site[1]
    assert warnings.read_text().strip() == ""


@pytest.fixture(scope="module")
def tour(browser, server):
    """Walk the site from the home page along its "next" links, recording what each page shows."""
    visit = PageVisit(browser, server)
    seen, url, pages = [], server + "index.html", {}
    try:
        while url and len(seen) <= len(ORDER):
            page = visit.open(url)
            name = _page_name(page.url, server)
            seen.append(name)
            pages[name] = page.evaluate("""() => ({
                search_boxes: document.querySelectorAll("input[name='q']").length,
                images: document.images.length,
                broken: Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0))
                    .map(i => i.src),
                equations: document.querySelectorAll('mjx-container svg').length,
                math_errors: document.querySelectorAll('mjx-merror, [data-mjx-error]').length,
                map: Array.from(document.querySelectorAll('article table a.reference'))
                    .map(a => a.getAttribute('href')),
                downloads: Array.from(document.querySelectorAll('a.download'))
                    .map(a => [a.textContent, new URL(a.getAttribute('href'), location.href).href]),
                heading: (document.querySelector('article h1')?.firstChild?.textContent || '').trim(),
                links: Array.from(document.querySelectorAll('article a[href]'))
                    .map(a => new URL(a.getAttribute('href'), location.href).href),
            })""")
            if name == "index":
                page.screenshot(path=str(SCREENSHOTS / "course-map.png"))
            elif name == MATH_PAGE:
                page.locator("mjx-container").first.scroll_into_view_if_needed()
                page.screenshot(path=str(SCREENSHOTS / "notebook.png"))
            elif name == "docs/grading":
                page.screenshot(path=str(SCREENSHOTS / "grading.png"))
            following = page.locator("a.right-next")
            href = following.first.get_attribute("href") if following.count() else None
            url = page.evaluate("h => new URL(h, location.href).href", href) if href else None
    finally:
        visit.close()
    return {"seen": seen, "pages": pages, "errors": visit.errors, "external": visit.external}


def test_the_next_links_walk_the_course_in_order(tour):
    assert tour["seen"] == ORDER
    assert tour["pages"]["index"]["map"] == [f"notebooks/{n}.html" for n in NOTEBOOKS], "the course map"


def test_every_page_loads_offline_without_console_errors_and_has_a_search_box(tour):
    assert tour["errors"] == []
    assert tour["external"] == [], "pages asked the network for these"
    assert [n for n, p in tour["pages"].items() if p["search_boxes"] == 0] == []


def test_every_image_is_displayed_and_every_equation_typeset(tour):
    pages = tour["pages"]
    assert {n: p["broken"] for n, p in pages.items() if p["broken"]} == {}
    assert sum(p["images"] for p in pages.values()) >= len(NOTEBOOKS), "the notebooks' figures are there"
    assert [n for n, p in pages.items() if p["math_errors"]] == [], "MathJax could not typeset these"
    assert pages[MATH_PAGE]["equations"] > 0, "no equation rendered on the backprop notebook"


def test_each_notebook_page_offers_its_notebook_for_download(tour, site):
    for name in NOTEBOOKS:
        page = tour["pages"].get(f"notebooks/{name}", {"downloads": []})
        links = [href for text, href in page["downloads"] if f"{name}.ipynb" in text]
        assert len(links) == 1, f"{name}: no download link"
        with urllib.request.urlopen(links[0]) as response:
            assert json.loads(response.read()) == site[2][name], f"{name}: not the stored notebook"


def test_each_notebook_page_links_its_lecture_slides(tour, server):
    # the decks themselves are walked slide by slide in tests/test_slides.py
    for name in NOTEBOOKS:
        deck = f"{server}slides/{name}.slides.html"
        assert deck in tour["pages"][f"notebooks/{name}"]["links"], f"{name}: no link to its slides"
        assert "CourseSlides.start(" in _fetch(deck), f"{name}: the deck is not on the site"


def test_every_docs_page_is_on_the_site_under_its_own_title(tour):
    assert sorted(DOCS) == sorted(p.stem for p in (ROOT / "docs").glob("*.md"))
    for name in DOCS:
        title = (ROOT / "docs" / f"{name}.md").read_text(encoding="utf-8").split("\n", 1)[0]
        assert title.startswith("# "), f"docs/{name}.md does not start with its title"
        assert tour["pages"][f"docs/{name}"]["heading"] == title[2:], name


def _fetch(url, cache={}):  # noqa: B006 - one page is fetched once per test run
    if url not in cache:
        with urllib.request.urlopen(url) as response:
            cache[url] = response.read().decode("utf-8")
    return cache[url]


def test_links_between_pages_resolve(tour, server):
    pages = {name: tour["pages"][name] for name in ["index"] + [f"docs/{d}" for d in DOCS]}
    # the README's list of pages, on the home page, and the pages' links to each other
    assert {f"{server}docs/{d}.html" for d in DOCS} <= set(pages["index"]["links"])
    site_pages = {f"{server}{name}.html" for name in ORDER}
    for name in DOCS:
        targets = {link.split("#")[0] for link in pages[f"docs/{name}"]["links"]}
        assert targets & site_pages - {f"{server}docs/{name}.html"}, f"docs/{name} links no other page"
    checked = 0
    for name, page in pages.items():
        for link in page["links"]:
            target, _, anchor = link.partition("#")
            if not target.startswith(server) or "/_sources/" in target:
                continue
            assert not target.endswith(".md"), f"{name}: a link to markdown the site did not resolve: {link}"
            html = _fetch(target)
            assert not anchor or f'id="{anchor}"' in html, f"{name}: no #{anchor} in {target}"
            checked += 1
    assert checked > len(pages)
    # a cross-page link to a heading (Performance -> the grading manual's timings) lands on that heading
    assert f"{server}docs/grading.html#how-long-grading-takes" in pages["docs/performance"]["links"]


def test_links_to_other_files_of_the_repository_point_to_github(tour):
    blob = f"{URL}/blob/{BUILD.header.BRANCH}/"
    to_files = {link for p in tour["pages"].values() for link in p["links"] if link.startswith(blob)}
    assert f"{blob}data/README.md" in to_files, "docs/datasets.md links data/README.md"
    for link in to_files:
        assert (ROOT / link.removeprefix(blob).split("#")[0]).exists(), link


def test_staged_pages_link_as_on_github_and_resolve_on_the_site():
    text = """[a](grading.md#how-long-grading-takes) [b](../README.md#quickstart) \
[c](../Makefile)
[d](../course_lib) [e](https://example.org/x.md) [f](#here) [g](../notebooks/07_lenet.ipynb)
```
[h](../Makefile)
```
"""
    staged = BUILD.rewrite_links(text, "docs/x.md", URL)
    assert staged == f"""[a](grading.md#how-long-grading-takes) [b](../index.md) \
[c]({URL}/blob/main/Makefile)
[d]({URL}/tree/main/course_lib) [e](https://example.org/x.md) [f](#here) [g](../notebooks/07_lenet.ipynb)
```
[h](../Makefile)
```
"""
    assert BUILD.rewrite_links("[a](docs/grading.md)", "README.md", URL) == "[a](docs/grading.md)"
    with pytest.raises(ValueError, match="leads to nothing"):
        BUILD.rewrite_links("[a](missing.md)", "docs/x.md", URL)
    with pytest.raises(ValueError, match="leads to nothing"):
        BUILD.rewrite_links("[a](../../outside.md)", "docs/x.md", URL)


def test_search_finds_the_notebooks(browser, server):
    visit = PageVisit(browser, server)
    try:
        page = visit.open(server + "search.html?q=LeNet")
        page.wait_for_selector("#search-results li", timeout=20_000)
        hits = page.eval_on_selector_all("#search-results li a", "e => e.map(a => a.getAttribute('href'))")
        assert any("07_lenet" in h for h in hits), hits
        page.screenshot(path=str(SCREENSHOTS / "search.png"))
        assert visit.errors == [] and visit.external == []
    finally:
        visit.close()


def test_the_pages_workflow_publishes_what_make_site_builds():
    import yaml

    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "site.yml").read_text())
    steps = workflow["jobs"]["build"]["steps"]
    assert {"run": "make site"} in steps
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-pages-artifact"))
    assert upload["with"]["path"] == "build/site"
    deploy = workflow["jobs"]["deploy"]["steps"]
    assert any(s.get("uses", "").startswith("actions/deploy-pages") for s in deploy)
    makefile = (ROOT / "Makefile").read_text()
    target = r"^site: setup\n\t\$\(BIN\)/python website/build.py --out \$\(BUILD\)/site$"
    assert re.search(target, makefile, re.M), "make site builds into build/site"


def test_staged_notebooks_trade_the_badge_images_for_text_links(tmp_path):
    module = BUILD
    header, url = module.header, module.header.repository_url()
    source = tmp_path / "07_lenet.ipynb"
    nb = header.apply_header(json.loads((ROOT / "notebooks" / "07_lenet.ipynb").read_text()),
                             "notebooks/07_lenet.ipynb", url)
    source.write_text(json.dumps(nb))
    module.stage_notebook(source, tmp_path / "staged.ipynb", url)
    staged = json.loads((tmp_path / "staged.ipynb").read_text())
    assert [c.get("id") for c in staged["cells"]].count(header.BADGE_CELL_ID) == 0
    assert staged["cells"][1]["id"] == "site-links"  # right under the title
    links = "".join(staged["cells"][1]["source"])
    assert "<../downloads/07_lenet.ipynb>" in links and "![" not in links
    for _, link, _ in header.launch_links("notebooks/07_lenet.ipynb", url):
        assert f"({link})" in links
    assert staged["cells"][2:] == [c for c in nb["cells"][1:] if c.get("id") != header.BADGE_CELL_ID]
