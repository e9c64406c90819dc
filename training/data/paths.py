"""Where the public data, the repo and the build cache live. Files shipped with the package are read
from it (REPO_ROOT); everything written goes where classifiers.locations says, never into an
installed package."""

from __future__ import annotations

import os
from pathlib import Path

from classifiers.locations import cache_root, output_root, source_checkout

REPO_ROOT = Path(__file__).resolve().parents[2]
ENV_VAR = "BRIGHTLINE_DATA"


class DataMissingError(FileNotFoundError):
    """The public data folder (or a file in it) is not where we expect it."""


def data_root() -> Path:
    """The public data root: $BRIGHTLINE_DATA, else ../shared/data next to the repo."""
    raw = os.environ.get(ENV_VAR)
    root = Path(raw) if raw else REPO_ROOT.parent / "shared" / "data"
    if not root.is_dir():
        raise DataMissingError(
            f"public data folder {root} not found; set {ENV_VAR} to the folder that holds harmbench/, "
            "xstest/, ... (default: ../shared/data beside the repo; README 'Public data' says where it comes from)")
    return root


def source_dir(name: str) -> Path:
    d = data_root() / name
    if not d.is_dir():
        raise DataMissingError(f"{d} not found: the public data folder {data_root()} has no {name}/; "
                               f"point {ENV_VAR} at a complete copy (README 'Public data')")
    return d


def cache_dir() -> Path:
    """Git-ignored cache; never commit what is under it (it holds public data)."""
    return cache_root()


def splits_dir() -> Path:
    return cache_dir() / "data" / "splits"


CORPUS_DIR = REPO_ROOT / "training" / "corpus"
# The split manifest ships with the package; a rebuild outside a checkout writes its own to the cache.
SHIPPED_MANIFEST = REPO_ROOT / "training" / "data" / "split_manifest.json"


def manifest_path() -> Path:
    """Where `data build` writes the split manifest (the checkout's committed one, else the cache)."""
    return SHIPPED_MANIFEST if source_checkout() else cache_root() / "data" / "split_manifest.json"


def current_manifest() -> Path:
    """The split manifest of the splits in use: the rebuilt one if there is one, else the shipped one."""
    written = manifest_path()
    return written if written.is_file() else SHIPPED_MANIFEST


def card_path() -> Path:
    """docs/data_card.md in a checkout, else data_card.md in the working directory."""
    root = source_checkout()
    return root / "docs" / "data_card.md" if root else output_root() / "data_card.md"
