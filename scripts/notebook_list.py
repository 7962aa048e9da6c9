"""The course's notebook list (``notebooks/notebooks.toml``) and the README's notebook table made from it.

Usage:
    python scripts/notebook_list.py            # print the table the README should hold
    python scripts/notebook_list.py --write    # rewrite the README's table (make headers)
    python scripts/notebook_list.py --check    # change nothing; exit 1 when the README's table is stale

``notebooks/notebooks.toml`` is the one list of the notebooks, in course order: the file stem, the title, what
the notebook teaches in one line, its part (``core`` or ``later``) and the Keras backends it is tested on.
The README's table sits between two marker comments and is generated from it; the website
(``website/build.py``) takes its order and course map from it; ``tests/test_notebook_store.py`` checks it
against the notebooks folder and the README.
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
LIST = ROOT / "notebooks" / "notebooks.toml"
README = ROOT / "README.md"
# The parts of the course, in order, and the heading each gets in the README's table and on the website.
PARTS = {
    "core": "The core course",
    "later": "After the core course",
}
FIELDS = ("stem", "title", "teaches", "part")
# Keras backends a notebook is tested on (make test-compat runs it on each); optional, TensorFlow if absent.
BACKENDS = {"tensorflow": "TensorFlow", "jax": "JAX", "torch": "PyTorch"}
DEFAULT_BACKENDS = ("tensorflow",)
BEGIN = ("<!-- notebook table: generated from notebooks/notebooks.toml by scripts/notebook_list.py "
         "(make headers); edit that file, not this table -->")
END = "<!-- end of the generated notebook table -->"


class Notebook(NamedTuple):
    stem: str
    title: str
    teaches: str
    part: str
    backends: tuple[str, ...] = DEFAULT_BACKENDS


def load(path: Path = LIST) -> list[Notebook]:
    """The notebooks listed in ``path``, in course order.

    Raises:
        ValueError: an entry lacks a field, has an unknown one, an empty value, a stem that is not
            ``NN_name``, or an unknown part; stems repeat or are out of order; the parts are out of order.
    """
    entries = tomllib.loads(path.read_text(encoding="utf-8")).get("notebook", [])
    notebooks = []
    for i, entry in enumerate(entries):
        where = f"{path.name}, notebook {i + 1} ({entry.get('stem', '?')})"
        missing, unknown = set(FIELDS) - set(entry), set(entry) - set(FIELDS) - {"backends"}
        if missing or unknown:
            raise ValueError(f"{where}: fields must be {', '.join(FIELDS)}; missing {sorted(missing)}, "
                             f"unknown {sorted(unknown)}")
        empty = [k for k in FIELDS if not isinstance(entry[k], str) or not entry[k].strip()]
        if empty:
            raise ValueError(f"{where}: {', '.join(empty)} must be non-empty strings")
        if not re.fullmatch(r"\d\d_\w+", entry["stem"]):
            raise ValueError(f"{where}: stem must be NN_name, got {entry['stem']!r}")
        if entry["part"] not in PARTS:
            raise ValueError(f"{where}: part must be one of {', '.join(PARTS)}, got {entry['part']!r}")
        backends = tuple(entry.get("backends", DEFAULT_BACKENDS))
        if not backends or "tensorflow" not in backends or set(backends) - set(BACKENDS):
            raise ValueError(f"{where}: backends must list tensorflow and others of {', '.join(BACKENDS)}, "
                             f"got {list(backends)}")
        notebooks.append(Notebook(**{k: entry[k] for k in FIELDS}, backends=backends))
    stems = [n.stem for n in notebooks]
    if stems != sorted(set(stems)):
        raise ValueError(f"{path.name}: stems must be unique and in course order, got {stems}")
    parts = [list(PARTS).index(n.part) for n in notebooks]
    if parts != sorted(parts):
        raise ValueError(f"{path.name}: the parts must follow each other in the order {', '.join(PARTS)}")
    return notebooks


def by_part(notebooks: list[Notebook]) -> list[tuple[str, list[Notebook]]]:
    """``(part, its notebooks)`` for each part that has notebooks, in course order."""
    return [(part, [n for n in notebooks if n.part == part]) for part in PARTS
            if any(n.part == part for n in notebooks)]


def table(notebooks: list[Notebook], columns: dict) -> str:
    """The notebook tables, one per part under a bold line naming it (markdown).

    Args:
        columns: heading -> ``cell(notebook)``, the text of that column's cell.
    """
    blocks = []
    head = "| " + " | ".join(columns) + " |\n|" + " --- |" * len(columns)
    for part, members in by_part(notebooks):
        span = f"{members[0].stem[:2]}-{members[-1].stem[:2]}" if len(members) > 1 else members[0].stem[:2]
        rows = "\n".join("| " + " | ".join(cell(n) for cell in columns.values()) + " |" for n in members)
        blocks.append(f"**{PARTS[part]}** ({span}):\n\n{head}\n{rows}")
    return "\n\n".join(blocks)


def readme_table(notebooks: list[Notebook]) -> str:
    """The README's generated block: the markers and the tables, each notebook linked to its file."""
    body = table(notebooks, {"notebook": lambda n: f"[`{n.stem}`](notebooks/{n.stem}.ipynb)",
                             "title": lambda n: n.title, "what it teaches": lambda n: n.teaches})
    return f"{BEGIN}\n\n{body}\n\n{END}"


def render_readme(readme: str, notebooks: list[Notebook]) -> str:
    """``readme`` with its generated block replaced by :func:`readme_table`.

    Raises:
        ValueError: the README lacks the markers, or has them more than once or out of order.
    """
    if readme.count(BEGIN) != 1 or readme.count(END) != 1 or readme.index(BEGIN) > readme.index(END):
        raise ValueError(f"README.md must hold the notebook table between the lines\n{BEGIN}\n...\n{END}")
    start, stop = readme.index(BEGIN), readme.index(END) + len(END)
    return readme[:start] + readme_table(notebooks) + readme[stop:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="rewrite the README's table")
    mode.add_argument("--check", action="store_true",
                      help="change nothing; exit 1 if the README's table is stale")
    args = parser.parse_args(argv)
    notebooks = load()
    if not (args.write or args.check):
        print(readme_table(notebooks))
        return 0
    text = README.read_text(encoding="utf-8")
    new = render_readme(text, notebooks)
    if args.check:
        stale = new != text
        print("README.md's notebook table is " + ("stale: run make headers" if stale else "up to date"))
        return 1 if stale else 0
    if new != text:
        README.write_text(new, encoding="utf-8")
    print(f"README.md's notebook table: {len(notebooks)} notebooks" + ("" if new != text else ", unchanged"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
