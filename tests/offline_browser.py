"""A headless Chromium that sees only a folder served from localhost: what the website and slide tests share.

Chromium comes from the system's packages (``apt-get install chromium``; :func:`chromium_or_skip` installs it
when it runs as root and finds none). Playwright drives it (``executable_path``: Playwright's own browser
download is not used). :class:`PageVisit` refuses and records every request that is not for the served
folder, and records console errors, page errors and failed requests.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    return next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)


def chromium_or_skip() -> str:
    """The path of a Chromium, installed with apt-get where it is missing and this runs as root; else skip."""
    found = find_chromium()
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        for cmd in (["apt-get", "install", "-y", "-qq", "chromium"], ["apt-get", "update", "-qq"],
                    ["apt-get", "install", "-y", "-qq", "chromium"]):
            subprocess.run(cmd, env=env, capture_output=True, timeout=600)
            found = find_chromium()
            if found:
                break
    if found is None:
        reason = "no Chromium here, and it could not be installed (apt-get install chromium, as root)"
        print(reason)
        pytest.skip(reason)
    return found


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve(folder: Path):
    """Serve ``folder`` on a free port of 127.0.0.1; yields its base URL (ending in ``/``)."""
    handler = functools.partial(QuietHandler, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


@contextlib.contextmanager
def launch(chromium: str):
    """A Playwright Browser on the Chromium at ``chromium``."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        # Playwright starts Chromium with --no-sandbox unless asked (chromium_sandbox), which root needs
        launched = pw.chromium.launch(executable_path=chromium)
        try:
            yield launched
        finally:
            launched.close()


class PageVisit:
    """Open pages with every non-local request refused and every console error recorded."""

    def __init__(self, browser, base, *, viewport=None):
        self.base = base
        self.context = browser.new_context(viewport=viewport or {"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.errors, self.external = [], []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(f"console: {m.text}"))
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        self.page.on("requestfailed", lambda r: self.errors.append(f"failed: {r.url} {r.failure}"))
        self.page.route("**/*", self._route)

    def _route(self, route):
        if route.request.url.startswith(self.base):
            route.continue_()
        else:
            self.external.append(route.request.url)
            route.abort()

    def open(self, url, *, typeset=True):
        response = self.page.goto(url, wait_until="load")
        assert response is not None and response.ok, url
        if typeset:  # MathJax typesets after load: wait for it, where the page loads it
            self.page.evaluate("() => window.MathJax && MathJax.startup ? MathJax.startup.promise : null")
        return self.page

    def close(self):
        self.context.close()
