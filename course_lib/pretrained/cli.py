"""``make weights``: ``python -m course_lib.pretrained fetch [names] [--all]`` downloads ImageNet weight files
into data/keras/models/ and checks their hashes; ``... status`` says where each file is."""

from __future__ import annotations

import sys

from . import lookup
from .lookup import (
    IMAGENET_MODELS,
    WeightFile,
    WeightsCorrupt,
    WeightsUnavailable,
    check_network_name,
    find_weights,
    obtain,
    weight_file,
    weights_dirs,
)

# What `make weights` fetches: the files notebook 15 uses in full mode (MobileNetV2 with its classifier for
# the top-5 demo, without it at 160x160 for transfer) and the ImageNet class names.
NOTEBOOK_WEIGHTS = (("mobilenet_v2", True, 224), ("mobilenet_v2", False, 160))


def _wanted(names, everything: bool) -> list[tuple[str, WeightFile]]:
    if everything or names:
        chosen = names or list(IMAGENET_MODELS)
        files = [(n, weight_file(n, include_top=top)) for n in chosen for top in (True, False)]
    else:
        files = [(n, weight_file(n, include_top=top, rows=rows)) for n, top, rows in NOTEBOOK_WEIGHTS]
    return files + [("imagenet classes", lookup.CLASS_INDEX)]


def status(names=(), *, everything: bool = False, data_dir=None, out=None) -> dict[str, str]:
    """Say where each weight file is: "data/keras/models", "Keras's cache" or "missing" (no hashing)."""
    out = out or sys.stdout
    result = {}
    for name, wf in _wanted(list(names), everything):
        path = find_weights(wf, data_dir)
        where = ("missing" if path is None else "data" if path.parent == weights_dirs(data_dir)[0]
                 else "Keras's cache")
        result[wf.fname] = where
        print(f"{name:<17} {wf.fname:<66} {where}" + (f" ({path})" if path is not None else ""), file=out)
    return result


def fetch(names=(), *, everything: bool = False, data_dir=None, out=None) -> bool:
    """Download the missing weight files into ``<data_dir>/keras/models/`` and check every file's hash.

    Args:
        names: networks to fetch (both with and without the classifier); empty with ``everything=False``:
            what notebook 15 uses in full mode (``NOTEBOOK_WEIGHTS``).
        everything: all six networks, with and without the classifier (about 1.3 GB).
        data_dir: the course's data folder (default ``config.DATA_DIR``).
        out: where the lines go (default ``sys.stdout``).

    Returns:
        True when every file is on disk with the right hash afterwards.
    """
    out = out or sys.stdout
    for n in names:
        check_network_name(n)
    ok = True
    for name, wf in _wanted(list(names), everything):
        try:
            path = obtain(wf, what=name, data_dir=data_dir)
        except (WeightsUnavailable, WeightsCorrupt) as err:
            print(f"{name}: FAILED: {err}", file=out)
            ok = False
            continue
        check = "hash verified" if wf.file_hash else "no published hash"
        print(f"{name}: {path} ({path.stat().st_size / 1e6:.1f} MB, {check})", file=out)
    return ok


def main(argv=None) -> int:
    """``python -m course_lib.pretrained fetch|status [names] [--all]``."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m course_lib.pretrained",
                                     description="Download ImageNet weight files, or say where they are.")
    sub = parser.add_subparsers(dest="command", required=True)
    for command, text in (("fetch", "download ImageNet weights into data/keras/models/ (make weights)"),
                          ("status", "say which weight files are on disk")):
        p = sub.add_parser(command, help=text)
        p.add_argument("names", nargs="*", help=", ".join(IMAGENET_MODELS) + " (default: notebook 15's)")
        p.add_argument("--all", action="store_true", help="all six networks, with and without the top")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in IMAGENET_MODELS]
    if unknown:
        parser.error(f"unknown network(s) {', '.join(unknown)}; choose from {', '.join(IMAGENET_MODELS)}")
    if args.command == "status":
        status(args.names, everything=args.all)
        return 0
    return 0 if fetch(args.names, everything=args.all) else 1

