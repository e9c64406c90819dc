"""The generated model card (the bundle's README.md). Every figure in it comes from the build
(dev split) or, when present, from a benchmark run's results.json: nothing is typed by hand."""

from __future__ import annotations

from typing import Any

from .derive import RULES


def _fmt(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


# Filled in from a benchmark run by `brightline bench table RESULTS --write <bundle>/README.md`.
BENCH_PLACEHOLDER = ("<!-- bench:start -->\nNot measured yet: run `brightline bench quality --model <this bundle>` "
                     "(and `bench speed`), then `brightline bench table <results.json> --write <this bundle>/README.md`."
                     "\n<!-- bench:end -->")


def _operating_points(ops: dict[str, Any] | None) -> list[str]:
    """The named operating points (`--operating-point NAME`), each label's threshold and dev P / R."""
    if not ops:
        return []
    names = list(ops["rules"])
    lines = ["", "## Operating points", "",
             "Choose one with `--operating-point NAME` (CLI, service) or `Brightline.load(operating_point=NAME)`; "
             "`default` is the thresholds above. Each was chosen per label on the dev split:", ""]
    lines += [f"- `{name}`: {rule}" for name, rule in ops["rules"].items()]
    lines += ["", "`strict` flags at least what `balanced` does and `permissive` at most: a rule that would cross "
              "balanced's threshold takes it instead (noted per label in `operating_points.json`)."]
    lines += ["", "| label | " + " | ".join(f"{n} threshold (dev P / R)" for n in names) + " |",
              "|---|" + "---|" * len(names)]
    for label in ops["points"][names[0]]:
        cells = []
        for name in names:
            e = ops["points"][name][label]
            pr = f" ({e['precision']:.3f} / {e['recall']:.3f})" if "precision" in e else ""
            cells.append(f"{e['threshold']:.4f}{pr}")
        lines.append(f"| `{label}` | " + " | ".join(cells) + " |")
    return lines


def render_card(info: dict[str, Any]) -> str:
    m = info["manifest"]
    enc = m["encoder"]
    lines = [
        f"# {m['name']} {m['version']}",
        "",
        m.get("description") or ("Brightline model bundle: a sentence encoder (ONNX) shared by light heads "
              "that score requests and replies against the constitution's rules. Label definitions: "
              "docs/policy.md in the Brightline repository."),
        "",
        "## Encoder",
        f"- `{enc.get('id', '?')}` ({enc.get('revision', '?')}), {enc['precision']}, mean pooling, L2-normalised, "
        f"{enc['dim']} dims.",
        f"- At most {enc['max_length']} tokens per text: the first {enc['head_tokens']} and the last "
        f"{enc['max_length'] - 2 - enc['head_tokens']} of a longer one. A reply's first {enc['opening_chars']} "
        "characters are embedded on their own as well.",
        *([f"- Fine-tuned on CPU before export ({enc['fine_tuned'].get('steps')} steps, "
           f"{enc['fine_tuned'].get('rows_seen')} train rows seen, {enc['fine_tuned'].get('wall_seconds', 0) / 60:.0f} min): "
           f"{enc['fine_tuned'].get('recipe')}; see docs/training.md."] if enc.get("fine_tuned") else []),
        "- Heads: calibrated logistic regression per binary label (Platt scaling folded into the weights), "
        "multinomial logistic regression for the 3-way refusal class; request heads see [request; system]"
        + ("; the request's last 200 characters (its closing)"
           if m.get("heads", {}).get("request", {}).get("features") == "request_v3" else "")
        + ", pair heads see [request; response; reply opening; request*response; system]; hashed word "
        "uni- and bigrams beside the embeddings (feature recipes in classifiers/features.py).",
        "",
        "## Data",
    ]
    data = info.get("data") or {}
    for key, value in data.items():
        lines.append(f"- {key}: {value}")
    lines += ["", "Labels implied by others were filled in before training:", ""]
    lines += [f"- {rule}" for rule in RULES]
    lines += [
        "",
        "## Thresholds and dev-split metrics",
        "",
        "Thresholds were chosen on the dev split (never on a test-only benchmark). Metrics below are on "
        "that same dev split, so they are optimistic for the threshold-dependent columns; benchmark "
        "figures on held-out test sets are in the benchmark report.",
        "",
        "| label | threshold | chosen by | dev n | dev positives | precision | recall | F1 | AUROC |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for label, t in info["thresholds"].items():
        d = info["dev_metrics"].get(label, {})
        lines.append(
            f"| `{label}` | {t['threshold']:.4f} | {t['chosen_by']} | {d.get('n', 0)} | {d.get('positives', '-')} | "
            f"{_fmt(d.get('precision', '-'))} | {_fmt(d.get('recall', '-'))} | {_fmt(d.get('f1', '-'))} | "
            f"{_fmt(d.get('auroc', '-'))} |"
        )
    lines += _operating_points(info.get("operating_points"))
    lines += ["", "## Test-only benchmarks and targets", "", BENCH_PLACEHOLDER]
    lines += ["", "## Provenance", "", f"- git commit: `{m['provenance']['git_commit']}`",
              f"- libraries: {', '.join(f'{k} {v}' for k, v in m['provenance']['libraries'].items())}",
              "- file checksums: `manifest.json`; check them and the golden outputs with `brightline verify`.", ""]
    return "\n".join(lines)
