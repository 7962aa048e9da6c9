"""Hiding the libraries an assignment forbids, by import and by path, and the Python a sandbox needs to see.

``hide_argv`` covers, in every site-packages and dist-packages folder visible inside the sandbox, each hidden
library's package folder, single-file module, extension module and ``.dist-info`` (a stub whose import raises
``ModuleNotFoundError`` stands for the package), and covers the base interpreter's site-packages when the
environment does not use it.
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

# ---------------------------------------------------------------------------------------------------------
# the command line


def python_roots() -> list[Path]:
    """The folders this environment's Python needs: the venv (``sys.prefix``) and its base installation."""
    roots = []
    for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix):
        path = Path(p).resolve()
        if path not in roots:
            roots.append(path)
    exe = Path(sys.executable).resolve().parent.parent
    if exe not in roots:
        roots.append(exe)
    return roots


def site_packages() -> list[Path]:
    """The site-packages folders the sandbox's Python imports from (this Python's)."""
    import site

    return [Path(p).resolve() for p in site.getsitepackages() if Path(p).is_dir()]


def package_folders(roots: list[Path]) -> list[Path]:
    """Every site-packages and dist-packages folder under ``roots`` (as the sandbox sees them), resolved.

    Found by walking the roots (not their package folders' contents): about 0.3 s for ``/usr``, a venv and
    its Python; cached for the process.
    """
    return list(_package_folders(tuple(Path(r) for r in roots)))


@functools.cache
def _package_folders(roots: tuple[Path, ...]) -> tuple[Path, ...]:
    found: list[Path] = []
    for root in roots:
        for top, dirs, _files in os.walk(root):
            keep = []
            for name in dirs:
                if name in ("site-packages", "dist-packages"):
                    folder = Path(top, name).resolve()
                    if folder not in found:
                        found.append(folder)
                else:
                    keep.append(name)
            dirs[:] = keep
    return tuple(found)


_STUB = (
    "raise ModuleNotFoundError(f'No module named {__name__!r} (this assignment does not allow it)', "
    "name=__name__)\n"
)


STUB_NAME = "hidden_module.py"  # written into the job folder: it stands for each hidden module


def _stub_module(job: Path) -> Path:
    """A file whose import raises ModuleNotFoundError, in the submission's job folder (so it goes with it)."""
    stub = Path(job) / STUB_NAME
    if not stub.is_file() or stub.is_symlink() or stub.read_text() != _STUB:
        stub.unlink(missing_ok=True)
        stub.write_text(_STUB)
    stub.chmod(0o644)
    return stub


def hide_argv(hide: tuple[str, ...], visible_roots: list[Path], job: Path) -> list[str]:
    """bwrap arguments that hide the base Python's unused site-packages and the modules ``hide`` names in
    every package folder under ``visible_roots`` (a stub module is written into ``job`` for them)."""
    argv: list[str] = []
    used = set(site_packages())
    base = [Path(p).resolve() for p in {sys.base_prefix, sys.base_exec_prefix}]
    names = {n.lower() for n in hide}
    for folder in package_folders(visible_roots):
        in_base = any(folder.is_relative_to(b) for b in base)
        if folder not in used and in_base and sys.prefix != sys.base_prefix:
            argv += ["--tmpfs", str(folder), "--remount-ro", str(folder)]  # the venv does not use it
            continue
        if not names:
            continue
        try:
            entries = sorted(folder.iterdir())
        except OSError:
            continue
        for entry in entries:
            low = entry.name.lower()
            if not any(low == n or low.startswith((n + ".", n + "-")) for n in names):
                continue
            if entry.is_dir():
                argv += ["--tmpfs", str(entry)]
                if low in names:  # the package itself: a stub whose import raises
                    argv += ["--ro-bind", str(_stub_module(job)), str(entry / "__init__.py")]
                argv += ["--remount-ro", str(entry)]
            elif entry.is_file():  # a single-file module, an extension module, a .pth file
                argv += ["--ro-bind", str(_stub_module(job)), str(entry)]
    return argv
