"""Operator thresholds: a named operating point chosen on dev at build time (`strict`, `balanced`,
`permissive`, stored in the bundle's operating_points.json), and per-label overrides on top.

Editing a bundle's thresholds.json is refused by the checksum check, on purpose: this is the way to
move a threshold. Whatever is chosen is recorded in the model id every record carries
(``brightline-minilm@0.1.0+op=strict+t=1a2b3c4d``), so a scored file says which thresholds made
its flags; the id is unchanged when the bundle's own thresholds are used."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import BrightlineError

DEFAULT_POINT = "default"  # the bundle's thresholds.json


class ThresholdError(BrightlineError, ValueError):
    """An unknown operating point or label, or a threshold outside [0, 1]."""


@dataclass(frozen=True)
class ThresholdChoice:
    thresholds: dict[str, float]
    operating_point: str = DEFAULT_POINT
    overrides: tuple[tuple[str, float], ...] = ()

    @property
    def tag(self) -> str:
        """What the model id gains: nothing for the bundle's own thresholds."""
        tag = f"+op={self.operating_point}" if self.operating_point != DEFAULT_POINT else ""
        if self.overrides:
            digest = hashlib.sha256(json.dumps(self.overrides).encode()).hexdigest()[:8]
            tag += f"+t={digest}"
        return tag


def read_operating_points(bundle_dir: Path, raw_manifest: Mapping[str, Any],
                          default: Mapping[str, float]) -> dict[str, dict[str, float]]:
    """`default` plus the bundle's named points (bundles built before they existed have none)."""
    points = {DEFAULT_POINT: dict(default)}
    name = raw_manifest.get("operating_points")
    if name:
        stored = json.loads((bundle_dir / name).read_text(encoding="utf-8"))
        for point, per_label in stored.get("points", {}).items():
            points[point] = {label: float(entry["threshold"]) for label, entry in per_label.items()}
    return points


def parse_overrides(specs: Iterable[str], source: str = "--threshold") -> dict[str, float]:
    """`LABEL=VALUE` strings (a comma-separated list counts as several) into a mapping."""
    out: dict[str, float] = {}
    for spec in specs:
        for part in (p.strip() for p in spec.split(",")):
            if not part:
                continue
            label, sep, value = part.partition("=")
            try:
                number = float(value)
            except ValueError:
                number = None
            if not sep or not label.strip() or number is None:
                raise ThresholdError(f"{source}: expected LABEL=VALUE (e.g. request.harmful=0.7), got '{part}'")
            out[label.strip()] = number
    return out


def choose(points: Mapping[str, Mapping[str, float]], model_id: str, operating_point: str | None = None,
           overrides: Mapping[str, float] | None = None) -> ThresholdChoice:
    """The thresholds to flag with; a ThresholdError names what is wrong and what is available."""
    point = operating_point or DEFAULT_POINT
    if point not in points:
        note = "" if len(points) > 1 else " (this bundle was built before operating points; rebuild it with `brightline train` to get strict/balanced/permissive)"
        raise ThresholdError(f"unknown operating point '{point}' for {model_id}; available: "
                             f"{', '.join(sorted(points))}{note}")
    thresholds = dict(points[DEFAULT_POINT])
    thresholds.update(points[point])
    for label, value in (overrides or {}).items():
        if label not in thresholds:
            raise ThresholdError(f"unknown label '{label}' in a threshold override; {model_id} has: "
                                 f"{', '.join(thresholds)}")
        if not 0.0 <= value <= 1.0:  # also refuses NaN
            raise ThresholdError(f"threshold for {label} must be between 0 and 1, got {value}")
        thresholds[label] = float(value)
    return ThresholdChoice(thresholds, point, tuple(sorted((overrides or {}).items())))
