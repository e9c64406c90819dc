"""Every failure a new user hit is one line naming the cause and the fix; nothing is written inside
an installed package."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from classifiers import cli, locations
from classifiers.cli import main

REPO = Path(__file__).resolve().parents[1]


def one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and "None" not in err, err
    return err


def test_data_build_without_the_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("BRIGHTLINE_DATA", str(tmp_path / "nowhere"))
    monkeypatch.setenv("BRIGHTLINE_CACHE", str(tmp_path / "cache"))
    assert main(["data", "build", "--no-near-dup"]) == 2
    err = capsys.readouterr().err.splitlines()[-1]  # the corpus loader may report progress first
    assert err.startswith("error: public data folder") and "set BRIGHTLINE_DATA" in err and "None" not in err


@pytest.mark.parametrize(("argv", "extra", "module"), [
    (["bench", "quality"], "bench", "torch"),
    (["bench", "speed"], "bench", "httpx"),
    (["train"], "train", "sklearn"),
    (["data", "build"], "train", "torch"),
    (["serve"], "serve", "fastapi"),
])
def test_a_missing_extra_is_named(argv: list[str], extra: str, module: str, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # as if not installed: find_spec and import both fail
    assert main(argv) == 2
    err = one_line(capsys)
    assert f"needs the '{extra}' extra" in err and module in err and f"pip install 'brightline[{extra}]'" in err


def test_a_module_missing_mid_run_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    # A lazy import the table does not list still ends in the sentence, not a traceback.
    (tmp_path / "late_import.py").write_text("def main(argv):\n    import no_such_module_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    run = cli._delegate("late_import", "bench")
    monkeypatch.setitem(cli.EXTRA_MODULES, "bench", ())
    assert run(cli.argparse.Namespace(command="bench", rest=[])) == 2
    assert "no_such_module_xyz" in one_line(capsys)


def test_output_format_error_names_the_output_flag(tiny_bundle: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "in.jsonl").write_text('{"request": "hi"}\n')
    assert main(["score", str(tmp_path / "in.jsonl"), "-o", str(tmp_path / "out.tsv"), "--model", str(tiny_bundle)]) == 2
    err = one_line(capsys)
    assert err.startswith("error: output: cannot tell the format of") and "pass --output-format" in err
    assert main(["score", str(tmp_path / "in.jsonl"), "--output-format", "tsv", "--model", str(tiny_bundle)]) == 2
    assert "--output-format: unknown format 'tsv'" in one_line(capsys)


def test_a_request_path_that_is_not_there_is_named(tiny_bundle: Path, tmp_path: Path) -> None:
    (tmp_path / "in.jsonl").write_text('{"turn": {"text": "hi"}}\n')
    errors = tmp_path / "errors.jsonl"
    assert main(["score", str(tmp_path / "in.jsonl"), "-o", str(tmp_path / "o.jsonl"), "--model", str(tiny_bundle),
                 "--request-field", "turn.nope", "--errors", str(errors)]) == 1
    (error,) = [json.loads(line) for line in errors.read_text().splitlines()]
    assert error["error"].startswith("path turn.nope not found in record 1")


def test_json_errors_say_at_once(tiny_bundle: Path, tmp_path: Path) -> None:
    (tmp_path / "in.jsonl").write_text('{"request": "an open string\n{"request": "hi"} x\n')
    errors = tmp_path / "errors.jsonl"
    main(["score", str(tmp_path / "in.jsonl"), "-o", str(tmp_path / "o.jsonl"), "--model", str(tiny_bundle),
          "--errors", str(errors)])
    messages = [json.loads(line)["error"] for line in errors.read_text().splitlines()]
    assert messages == ["invalid JSON: Unterminated string starting at column 13",
                        "invalid JSON: Extra data at column 19"]


def test_a_finished_run_leaves_no_checkpoint_or_empty_errors_file(tiny_bundle: Path, tmp_path: Path) -> None:
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text('{"request": "hi"}\n')
    assert main(["score", str(src), "-o", str(out), "--model", str(tiny_bundle)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out.jsonl"]
    src.write_text('{"request": "hi"}\nnot json\n')
    assert main(["score", str(src), "-o", str(out), "--model", str(tiny_bundle)]) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out.jsonl", "out.jsonl.errors.jsonl"]


def test_summary_table_columns_line_up(tiny_bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"request": f"text {i}", "response": "ok"}) + "\n" for i in range(10)))
    assert main(["score", str(src), "-o", str(tmp_path / "o.jsonl"), "--model", str(tiny_bundle),
                 "--threshold", "request.hard_constraint.child_sexual_exploitation=0", "--threshold",
                 "response.refusal=0", "--summary", str(tmp_path / "s.json")]) == 0
    rows = [line for line in capsys.readouterr().err.splitlines() if line.startswith("  ")]
    assert len(rows) >= 2 and len({line.index("%") for line in rows}) == 1, rows
    assert len({len(line) - len(line.lstrip()) for line in rows}) == 1


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0 and capsys.readouterr().out.strip() == "brightline 0.1.0"


def test_outside_a_checkout_caches_and_outputs_go_to_user_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from training.data import paths

    site = tmp_path / "site-packages"
    site.mkdir()
    monkeypatch.setattr(locations, "PACKAGE_ROOT", site)  # as installed from a wheel: no pyproject.toml
    monkeypatch.delenv("BRIGHTLINE_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)
    assert locations.cache_root() == tmp_path / "xdg" / "brightline"
    assert locations.output_root() == tmp_path
    assert paths.card_path() == tmp_path / "data_card.md"
    assert paths.manifest_path() == tmp_path / "xdg" / "brightline" / "data" / "split_manifest.json"
    assert paths.current_manifest() == paths.SHIPPED_MANIFEST  # until a rebuild writes its own
    assert paths.splits_dir().is_relative_to(tmp_path / "xdg")


def _files(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_size for p in root.rglob("*") if p.is_file()
            and "__pycache__" not in p.parts}


@pytest.mark.slow
def test_a_non_editable_install_writes_nothing_inside_itself(tmp_path: Path) -> None:
    src, site, work = tmp_path / "src", tmp_path / "site", tmp_path / "work"
    for name in ("classifiers", "serve", "training", "benchmarks", "models"):
        shutil.copytree(REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.partial"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index",
                    "--target", str(site), str(src)], check=True, capture_output=True, timeout=300)
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site), "HOME": str(tmp_path / "home"), "BRIGHTLINE_DATA": str(tmp_path / "none")}
    env.pop("BRIGHTLINE_CACHE", None)
    env.pop("XDG_CACHE_HOME", None)
    before = _files(site)
    probe = ("import classifiers, json; from classifiers.locations import cache_root, output_root; "
             "from training.data.paths import card_path, manifest_path, splits_dir; "
             "print(json.dumps([classifiers.__file__, *map(str, (cache_root(), output_root(), card_path(), "
             "manifest_path(), splits_dir()))]))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=work, env=env, capture_output=True, text=True, timeout=120)
    package, *written = json.loads(out.stdout)
    assert Path(package).is_relative_to(site)
    assert not any(Path(p).is_relative_to(site) for p in written), written
    run = subprocess.run([sys.executable, "-m", "classifiers.cli", "data", "build", "--no-near-dup"], cwd=work, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 2 and run.stderr.splitlines()[-1].startswith("error: public data folder"), run.stderr
    assert _files(site) == before  # nothing written, and nothing changed, inside the install


def test_service_json_errors_say_at_once() -> None:
    from classifiers.errors import json_error_text

    try:
        json.loads('{"request": "open')
    except json.JSONDecodeError as exc:
        assert json_error_text(exc, with_line=True) == "Unterminated string starting at line 1 column 13"
