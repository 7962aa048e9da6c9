"""``make data``: ``python -m course_lib.data fetch [names]`` downloads the real datasets into data/keras/,
``... status`` says which datasets are on disk."""

from __future__ import annotations

import sys

from .. import config
from .files import (
    DOWNLOADED,
    KERAS_FILES,
    ChecksumMismatch,
    DownloadFailed,
    available_datasets,
    cache_paths,
    data_folder,
    download_dataset,
    locate,
)


def fetch(names=None, *, data_dir=None, out=None) -> bool:
    """Make the real datasets available, downloading what is missing into data/keras/ (``make data``).

    A set already in data/keras (checksum verified) or in Keras's cache is not downloaded again. One line per
    set says what was done.

    Args:
        names: dataset names (default: mnist, fashion_mnist, cifar10).
        data_dir: the data folder (default ``config.DATA_DIR``).
        out: where the lines go (default ``sys.stdout``).

    Returns:
        True when every set is available afterwards.

    Raises:
        ValueError: a name is not a downloadable dataset.
    """
    out = out or sys.stdout
    names = list(names or DOWNLOADED)
    for name in names:
        if name not in DOWNLOADED:
            raise ValueError(f"name must be one of {', '.join(DOWNLOADED)}, got {name!r}")
    ok = True
    for name in names:
        title = config.DATASET_TITLES[name]
        found = locate(name, data_dir)
        if found is not None and found.place == "keras cache":
            print(f"{title}: found in Keras's cache ({found.paths[0].parent}); used from there, nothing "
                  "downloaded", file=out)
            continue
        try:
            fetched = download_dataset(name, data_dir)
        except ChecksumMismatch as err:  # the server sent something else
            print(f"{title}: FAILED: {err}", file=out)
            ok = False
            continue
        except DownloadFailed as err:  # no network, DNS or HTTP error, timeout
            print(f"{title}: FAILED: could not download ({err}). Is there a network connection? Without one, "
                  "copy the files by hand:", file=out)
            for (_fname, origin, _), path in zip(KERAS_FILES[name], cache_paths(name, data_dir)):
                print(f"    {origin}  ->  {path}", file=out)
            ok = False
            continue
        folder = data_folder(data_dir) / "keras"
        if fetched:
            size = sum(n for _, n in fetched) / 1e6
            print(f"{title}: downloaded {len(fetched)} file(s), {size:.1f} MB, checksums verified, into "
                  f"{folder}", file=out)
        else:
            print(f"{title}: already in {folder} (checksums verified)", file=out)
    return ok


def main(argv=None) -> int:
    """``python -m course_lib.data fetch [names]`` downloads; ``... status`` lists what is on disk."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m course_lib.data",
                                     description="Download the course's datasets, or say which are on disk.")
    sub = parser.add_subparsers(dest="command", required=True)
    fetch_parser = sub.add_parser("fetch", help="download the real datasets into data/keras/ (make data)")
    fetch_parser.add_argument("names", nargs="*", help="mnist, fashion_mnist, cifar10 (default: all three)")
    sub.add_parser("status", help="say which datasets are on disk")
    args = parser.parse_args(argv)
    if args.command == "fetch":
        unknown = [n for n in args.names if n not in DOWNLOADED]
        if unknown:
            parser.error(f"unknown dataset(s) {', '.join(unknown)}; choose from {', '.join(DOWNLOADED)}")
    if args.command == "status":
        for name, status in available_datasets().items():
            print(f"{name:<14} {status}")
        return 0
    return 0 if fetch(args.names) else 1
