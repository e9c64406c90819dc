"""Where Brightline writes: caches and outputs go to the source checkout when it runs from one
(a clone or an editable install), else to the working directory (outputs) and the user's cache
directory (caches). Never inside an installed package: site-packages may be read-only or shared,
and files written there vanish on upgrade."""

from __future__ import annotations

import os
from pathlib import Path

# The folder holding the `classifiers` package: a checkout's root, or site-packages.
PACKAGE_ROOT = Path(__file__).resolve().parents[1]


def source_checkout() -> Path | None:
    """The repository root when the code runs from a checkout; None for a wheel install (which
    never puts pyproject.toml into site-packages)."""
    return PACKAGE_ROOT if (PACKAGE_ROOT / "pyproject.toml").is_file() else None


def output_root() -> Path:
    """Where outputs (data card, bundles, benchmark results) go: the checkout, else the working directory."""
    return source_checkout() or Path.cwd()


def cache_root() -> Path:
    """$BRIGHTLINE_CACHE, else the checkout's .cache/, else the user cache dir ($XDG_CACHE_HOME or
    ~/.cache, then brightline/)."""
    if os.environ.get("BRIGHTLINE_CACHE"):
        return Path(os.environ["BRIGHTLINE_CACHE"])
    checkout = source_checkout()
    if checkout is not None:
        return checkout / ".cache"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "brightline"
