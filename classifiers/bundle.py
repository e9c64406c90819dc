"""The on-disk model bundle: a directory holding manifest.json, ONNX graphs, tokenizer.json,
thresholds.json, a model card and golden examples. Loading verifies the schema version and every
file's sha256 before anything is executed."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import BundleError

SCHEMA_VERSION = 1
MANIFEST = "manifest.json"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class EncoderSpec:
    """How texts become embeddings; everything the runtime needs to reproduce training's inputs."""

    file: str
    tokenizer: str
    dim: int
    max_length: int
    head_tokens: int  # tokens kept from the start of a long text; the rest come from its end
    opening_chars: int  # a reply's opening, embedded on its own: refusals live there
    pooling: str = "mean"


@dataclass(frozen=True)
class HeadSpec:
    file: str
    input: str
    output: str
    labels: tuple[str, ...]
    features: str  # name of the feature recipe in classifiers.features
    views: str = "none"  # extra views of a request the head also judges (classifiers.features.VIEWS)


@dataclass(frozen=True)
class Manifest:
    schema_version: int
    name: str
    version: str
    encoder: EncoderSpec
    heads: dict[str, HeadSpec]
    thresholds: str
    files: dict[str, str]
    raw: dict[str, Any]

    @property
    def model_id(self) -> str:
        return f"{self.name}@{self.version}"


def manifest_kind(bundle_dir: Path) -> str | None:
    """The "kind" a folder's manifest declares (cascade, policy; None for a model bundle or an
    unreadable manifest, whose problems the ordinary bundle reader reports)."""
    try:
        raw = json.loads((bundle_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return raw.get("kind") if isinstance(raw, dict) else None


@dataclass(frozen=True)
class KindManifest:
    """The manifest of a bundle that wraps others (a cascade, a policy): its id and raw JSON."""

    name: str
    version: str
    raw: dict[str, Any] = field(repr=False)

    @property
    def model_id(self) -> str:
        return f"{self.name}@{self.version}"


def _require(mapping: dict[str, Any], key: str, where: str) -> Any:
    if key not in mapping:
        raise BundleError(f"manifest.json: missing '{where}{key}'")
    return mapping[key]


def read_manifest(bundle_dir: Path) -> Manifest:
    path = bundle_dir / MANIFEST
    if not path.is_file():
        raise BundleError(f"{bundle_dir} is not a model bundle: no {MANIFEST} in it")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise BundleError(f"{path} is not valid JSON: {exc}") from exc
    version = _require(raw, "schema_version", "")
    if version != SCHEMA_VERSION:
        raise BundleError(
            f"{path}: schema_version {version!r} is not supported by this runtime "
            f"(it reads schema_version {SCHEMA_VERSION}); install a matching brightline version"
        )
    enc = _require(raw, "encoder", "")
    try:
        encoder = EncoderSpec(
            file=enc["file"], tokenizer=enc["tokenizer"], dim=int(enc["dim"]),
            max_length=int(enc["max_length"]), head_tokens=int(enc["head_tokens"]),
            opening_chars=int(enc["opening_chars"]), pooling=enc.get("pooling", "mean"),
        )
        heads = {
            side: HeadSpec(file=h["file"], input=h["input"], output=h["output"],
                           labels=tuple(h["labels"]), features=h["features"], views=h.get("views", "none"))
            for side, h in _require(raw, "heads", "").items()
        }
    except (KeyError, TypeError, ValueError) as exc:
        raise BundleError(f"{path}: malformed encoder/heads section ({exc!r})") from exc
    return Manifest(
        schema_version=version, name=_require(raw, "name", ""), version=_require(raw, "version", ""),
        encoder=encoder, heads=heads, thresholds=_require(raw, "thresholds", ""),
        files=dict(_require(raw, "files", "")), raw=raw,
    )


def verify_checksums(bundle_dir: Path, manifest: Manifest) -> None:
    """Every file the manifest lists must exist with the recorded sha256, and every file the
    runtime will open must be listed."""
    needed = {manifest.encoder.file, manifest.encoder.tokenizer, manifest.thresholds}
    needed |= {head.file for head in manifest.heads.values()}
    if manifest.raw.get("operating_points"):
        needed.add(manifest.raw["operating_points"])
    unlisted = sorted(needed - set(manifest.files))
    if unlisted:
        raise BundleError(f"{bundle_dir}: manifest.json lists no checksum for {', '.join(unlisted)}")
    verify_listed_files(bundle_dir, manifest.files)


def verify_listed_files(bundle_dir: Path, files: dict[str, str]) -> None:
    """Each listed file exists with its recorded sha256 (BundleError naming the first that does not)."""
    for name, expected in sorted(files.items()):
        path = bundle_dir / name
        if not path.is_file():
            raise BundleError(f"{bundle_dir}: {name} is listed in manifest.json but missing")
        actual = sha256_file(path)
        if actual != expected:
            raise BundleError(
                f"{bundle_dir}: checksum mismatch for {name} (manifest {expected[:12]}…, file "
                f"{actual[:12]}…): the bundle was modified or is incomplete; rebuild or re-download it"
            )


def read_thresholds(bundle_dir: Path, manifest: Manifest) -> dict[str, float]:
    raw = json.loads((bundle_dir / manifest.thresholds).read_text(encoding="utf-8"))
    labels = [label for head in manifest.heads.values() for label in head.labels]
    missing = [label for label in labels if label not in raw]
    if missing:
        raise BundleError(f"{bundle_dir}: thresholds.json has no threshold for {', '.join(missing)}")
    return {label: float(raw[label]["threshold"]) for label in labels}
