"""What the notebooks' set-up cell changed when it installed the kit on a hosted kernel, in one message.

The set-up block that starts every notebook (written by ``scripts/notebook_header.py``) installs the kit
with pip on Colab, Kaggle or a bare JupyterHub. The kit's requirements are ranges (``pyproject.toml``), so
pip keeps the kernel's own TensorFlow, Keras, NumPy and Jupyter and adds only what is missing. The block
snapshots the installed distributions before pip runs and hands the snapshot to :func:`report`, which tells
the student what pip added and whether it replaced anything; a kernel restart is asked for only when a
replaced package was already imported (the running kernel still holds the old code).

Standard library only: it runs right after pip, before anything heavy is imported.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

__all__ = ["KIT_SPEC_VARIABLE", "InstallReport", "installed_versions", "compare", "report"]

# The variable that points the set-up cell at another kit spec (a local wheel, a branch); the compatibility
# tests use it to install the freshly built wheel exactly as a student's kernel would install the release.
KIT_SPEC_VARIABLE = "COURSE_KIT_SPEC"


def _canonical(name: str) -> str:
    """PEP 503 normalised distribution name (``Scikit_Learn`` -> ``scikit-learn``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_versions() -> dict[str, str]:
    """Every installed distribution's canonical name -> its version (the snapshot the set-up cell takes)."""
    found = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            found[_canonical(name)] = dist.version
    return found


@dataclass
class InstallReport:
    """What pip changed: ``added`` and ``replaced`` (name -> (old, new)), the replaced distributions whose
    modules the running kernel had already imported, and whether the kernel must therefore restart."""

    added: dict[str, str] = field(default_factory=dict)
    replaced: dict[str, tuple[str, str]] = field(default_factory=dict)
    removed: dict[str, str] = field(default_factory=dict)
    imported: list[str] = field(default_factory=list)

    @property
    def restart_needed(self) -> bool:
        return bool(self.imported)

    def message(self) -> str:
        """The text the set-up cell prints."""
        added = ", ".join(f"{name} {version}" for name, version in sorted(self.added.items())) or "nothing"
        lines = [f"Installed the course kit with pip: added {added}."]
        if not self.replaced and not self.removed:
            lines.append("Every package this kernel already had was kept; no restart is needed.")
        for name, (old, new) in sorted(self.replaced.items()):
            lines.append(f"pip replaced {name} {old} with {new}.")
        for name, old in sorted(self.removed.items()):
            lines.append(f"pip removed {name} {old}.")
        if self.restart_needed:
            lines.append(f"Already imported before the change: {', '.join(self.imported)}. Restart the "
                         "kernel (Colab: Runtime > Restart session), then run this cell again.")
        elif self.replaced or self.removed:
            lines.append("None of them had been imported yet, so no restart is needed.")
        return "\n".join(lines)


def _modules_of(names: Iterable[str]) -> dict[str, list[str]]:
    """Distribution name -> the top-level modules it installed, read from its file list (RECORD): Python
    3.10's ``packages_distributions`` reads only ``top_level.txt``, which meson-built wheels (NumPy) lack."""
    found: dict[str, list[str]] = {}
    for name in {_canonical(n) for n in names}:
        try:
            files = metadata.distribution(name).files or []
        except metadata.PackageNotFoundError:  # removed by pip: nothing left to read
            found[name] = []
            continue
        tops = {Path(str(f)).parts[0] for f in files if Path(str(f)).parts}
        skip = (".dist-info", ".data", ".pth")
        found[name] = sorted(t.removesuffix(".py") for t in tops
                             if not t.endswith(skip) and t not in ("..", "__pycache__"))
    return found


def compare(before: Mapping[str, str], after: Mapping[str, str], *,
            imported_modules: Iterable[str] = (), modules_of: Mapping[str, Iterable[str]] | None = None
            ) -> InstallReport:
    """What changed between two snapshots of :func:`installed_versions`.

    Args:
        before, after: distribution name -> version, taken before and after pip ran.
        imported_modules: the names in the kernel's ``sys.modules`` (top-level names are what count).
        modules_of: distribution -> its top-level modules; default: read from the installed metadata.

    Returns:
        The :class:`InstallReport`.

    Raises:
        TypeError: ``before`` or ``after`` is not a mapping.
    """
    for name, value in (("before", before), ("after", after)):
        if not isinstance(value, Mapping):
            raise TypeError(f"{name} must be a mapping of distribution name to version, got "
                            f"{type(value).__name__}")
    before = {_canonical(k): v for k, v in before.items()}
    after = {_canonical(k): v for k, v in after.items()}
    result = InstallReport(
        added={n: v for n, v in after.items() if n not in before},
        replaced={n: (before[n], v) for n, v in after.items() if n in before and before[n] != v},
        removed={n: v for n, v in before.items() if n not in after},
    )
    changed = sorted({*result.replaced, *result.removed})
    if changed:
        owners = _modules_of(changed) if modules_of is None else {_canonical(k): list(v)
                                                                    for k, v in modules_of.items()}
        top = {m.split(".")[0] for m in imported_modules}
        result.imported = [n for n in changed if top & set(owners.get(n, ()))]
    return result


def report(before: Mapping[str, str]) -> InstallReport:
    """Compare ``before`` with what is installed now, print the message and return the report (the set-up
    cell calls it right after pip)."""
    result = compare(before, installed_versions(), imported_modules=list(sys.modules))
    print(result.message())
    return result
