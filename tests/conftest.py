from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def pytest_report_header(config: pytest.Config) -> str:
    """Say up front whether the public data is there: without it the data, loader and benchmark
    tests skip (each skip prints its reason in the summary, `-rs` in pyproject.toml)."""
    import os

    root = Path(os.environ.get("BRIGHTLINE_DATA", REPO.parent / "shared" / "data"))
    if root.is_dir():
        return f"public data: {root}"
    return (f"public data: NOT FOUND at {root}; the tests that read it will skip. Set BRIGHTLINE_DATA to the "
            "folder holding xstest/, harmbench/, ... (README, 'Public data')")


@pytest.fixture(scope="session")
def tiny_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.tiny import build_tiny_bundle

    root = tmp_path_factory.mktemp("tiny")
    return build_tiny_bundle(root / "tiny-test", root / "cache")


@pytest.fixture(scope="session")
def tiny_model(tiny_bundle: Path):  # type: ignore[no-untyped-def]
    from classifiers import Brightline

    return Brightline.load(tiny_bundle)


@pytest.fixture(scope="session")
def built_splits() -> Path:
    """The real train/dev/test splits, built first when missing (as `brightline data build` does,
    ~5 minutes on 2 cores), so tests on them never silently skip on a clean checkout. Skips only
    when the public data folder is absent."""
    from training.data.paths import DataMissingError, data_root, splits_dir

    try:
        data_root()
    except DataMissingError as exc:
        pytest.skip(str(exc))
    if not (splits_dir() / "train.jsonl").exists():
        from training.data.cli import main as data_main

        assert data_main(["build"]) == 0
    return splits_dir()
