"""Sphinx settings of the course website (``make site``; the sources are staged by ``website/build.py``).

The notebooks are shown as stored (executed in quick mode), never re-run: ``nb_execution_mode = "off"``.
Equations are rendered by MathJax 3 served from the site itself (the ``django-static-mathjax`` package ships
its files), so pages need no network; the SVG output needs no web fonts.
"""

import os
import shutil
from pathlib import Path

import mathjax

project = "Convolutional networks, by hand and in Keras"
author = "the course authors"
copyright = "the course authors, MIT licence"  # noqa: A001 - Sphinx's name
html_title = project

extensions = ["myst_nb"]
nb_execution_mode = "off"  # the stored outputs are the ones shown
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
exclude_patterns = ["_build", "downloads", "**.ipynb_checkpoints"]
suppress_warnings = ["myst.header"]  # notebooks' own headings start at level 1 and may skip levels

html_theme = "sphinx_book_theme"
html_theme_options = {
    "repository_url": os.environ.get("COURSE_SITE_REPOSITORY", ""),
    "use_repository_button": bool(os.environ.get("COURSE_SITE_REPOSITORY")),
    "use_download_button": True,
    "home_page_in_toc": True,
    "show_navbar_depth": 1,
    "show_toc_level": 2,
}
# the theme's colour mode; left unset, pydata-sphinx-theme logs a console error on a first visit
html_context = {"default_mode": "light"}
html_last_updated_fmt = None
html_copy_source = True

# MathJax 3 from the site's own _static folder (copied at the end of the build, below).
MATHJAX_FILE = "tex-svg-full.js"  # every TeX extension built in: nothing is fetched on demand
MATHJAX_SOURCE = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5" / MATHJAX_FILE
mathjax_path = f"mathjax/{MATHJAX_FILE}"


def _copy_mathjax(app, exception):
    if exception is None and app.builder.format == "html":
        dest = Path(app.outdir) / "_static" / "mathjax"
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy2(MATHJAX_SOURCE, dest / MATHJAX_FILE)


def setup(app):
    app.connect("build-finished", _copy_mathjax)
