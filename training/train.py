"""`brightline train [--config training/configs/default.toml]`: build a bundle from the cached
splits (`brightline data build` makes them). Same config + same data = same bundle."""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

from classifiers.locations import cache_root, output_root
from training.data.paths import current_manifest

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = REPO / "training" / "configs" / "default.toml"
EXAMPLES = REPO / "examples" / "conversations.jsonl"


def cap_per_source(rows: list[Any], cap: int) -> list[Any]:
    """Keep at most `cap` rows per source, chosen by a hash of the row id (deterministic, and
    independent of the order the loaders yield rows in)."""
    if cap <= 0:
        return rows
    by_source: dict[str, list[Any]] = {}
    for row in rows:
        by_source.setdefault(row.source, []).append(row)
    kept = []
    for source_rows in by_source.values():
        ranked = sorted(source_rows, key=lambda r: hashlib.sha1(r.id.encode()).hexdigest())
        kept_ids = {r.id for r in ranked[:cap]}
        kept += [r for r in source_rows if r.id in kept_ids]
    return kept


def select(rows: list[Any], data: dict[str, Any], cap: bool) -> list[Any]:
    if data.get("commercial_only", True):
        rows = [r for r in rows if r.commercial_ok]
    return cap_per_source(rows, int(data.get("max_per_source", 0))) if cap else rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="brightline train", description=__doc__)
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--output", type=Path, help="bundle folder (default: the config's `output`)")
    args = parser.parse_args(argv)
    try:
        config_raw = tomllib.loads(args.config.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        print(f"error: cannot read config {args.config}: {exc}", file=sys.stderr)
        return 2

    if config_raw.get("kind") == "cascade":
        return train_cascade(config_raw, args.output)
    from training.build import BuildConfig, build_bundle
    from training.data import SplitsMissingError, load_split
    from training.encoder_export import EncoderSource, default_encoder_source, load_transformer

    enc, heads, data = config_raw.get("encoder", {}), config_raw.get("heads", {}), config_raw.get("data", {})
    config = BuildConfig(name=config_raw["name"], version=config_raw["version"],
                         description=config_raw.get("description", ""), quantize=enc.get("quantize", True),
                         max_length=enc.get("max_length", 256), head_tokens=enc.get("head_tokens", 192),
                         opening_chars=enc.get("opening_chars", 200), C=heads.get("C", 1.0), seed=heads.get("seed", 0),
                         request_recipe=heads.get("request_recipe", "request_v2"),
                         request_views=heads.get("request_views", "none"),
                         label_policy=heads.get("label_policy", "none"))
    try:
        train, dev = select(load_split("train"), data, cap=True), select(load_split("dev"), data, cap=False)
    except SplitsMissingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if int(data.get("long_input_rows", 0)):  # padded/chat copies of short requests and their windows
        from training.augment import long_input_rows

        train = train + long_input_rows(train, n_per_label=int(data["long_input_rows"]))
    source = enc.get("source", "default")
    src = default_encoder_source() if source == "default" else EncoderSource(ref=source, id=source, revision="local")
    print(f"encoder: {src.id} from {src.ref}", file=sys.stderr)
    model = load_transformer(src.ref)
    tokenizer = Path(src.ref) / "tokenizer.json"
    if not tokenizer.is_file():
        from huggingface_hub import hf_hub_download

        tokenizer = Path(hf_hub_download(src.ref, "tokenizer.json"))
    encoder_info: dict[str, Any] = {"id": src.id, "revision": src.revision}
    if config_raw.get("finetune") and enc.get("kind", "transformer") == "transformer":
        model, info = finetuned_encoder(config_raw, src, train)
        encoder_info["fine_tuned"] = info
    if enc.get("kind", "transformer") == "static":
        from training.static_encoder import StaticEncoder

        model = StaticEncoder(model, tokenizer, dim=int(enc.get("static_dim", 256)))
        encoder_info["distilled"] = f"static token embeddings, PCA {enc.get('static_dim', 256)}, Zipf-weighted"
    manifest_path = current_manifest()
    split_manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    data_info = {
        "splits": "built by `brightline data build` (into .cache/data/splits under the repo, or $BRIGHTLINE_CACHE); "
                  "per-split sha256 in training/data/split_manifest.json",
        "split_hashes": {k: v.get("sha256") for k, v in split_manifest.get("splits", {}).items()},
        "selection": f"commercial_only={data.get('commercial_only', True)}, max_per_source={data.get('max_per_source', 0)} (train only)",
        "long_input_rows": f"{int(data.get('long_input_rows', 0))} short train requests per label padded into long "
                           "documents or chat transcripts, plus their windows (training/augment.py)",
        "train_rows_by_source": dict(sorted(Counter(r.source for r in train).items())),
        "dev_rows": len(dev),
    }
    golden = [json.loads(line) for line in EXAMPLES.read_text().splitlines() if line.strip()]
    out = args.output or output_root() / config_raw.get("output", f"models/{config.name}")
    start = time.monotonic()
    build_bundle(config, train, dev, out, encoder_model=model, tokenizer_json=tokenizer,
                 encoder_info=encoder_info, cache_dir=cache_root() / "embeddings",
                 golden_items=golden, data_info=data_info)
    print(f"trained in {time.monotonic() - start:.0f} s", file=sys.stderr)
    return 0


def finetuned_encoder(config_raw: dict[str, Any], src: Any, train: list[Any]) -> tuple[Any, dict[str, Any]]:
    """Fine-tune the encoder on the train split (training/finetune.py) before it is exported, or
    reuse an earlier run with the same base, settings and data from .cache/finetuned/."""
    from training.encoder_export import load_transformer
    from training.finetune import finetune

    ft = dict(config_raw["finetune"])
    manifest = current_manifest()
    key_src = {"base": [src.id, src.revision], "finetune": ft, "data": config_raw.get("data", {}),
               "splits": hashlib.sha256(manifest.read_bytes()).hexdigest() if manifest.is_file() else None}
    key = hashlib.sha256(json.dumps(key_src, sort_keys=True).encode()).hexdigest()[:12]
    out = cache_root() / "finetuned" / f"{config_raw['name']}-{key}"
    if (out / "finetune.json").is_file():
        print(f"fine-tuned encoder: reusing {out}", file=sys.stderr)
    else:
        print(f"fine-tuning the encoder ({ft.get('max_steps')} steps) into {out} …", file=sys.stderr)
        finetune(src.ref, out, train, max_steps=int(ft["max_steps"]), seed=int(ft.get("seed", 0)),
                 threads=int(ft.get("threads", 2)), max_length=int(ft.get("max_length", 128)),
                 batch_size=int(ft.get("batch_size", 32)), lr=float(ft.get("lr", 5e-5)), base_id=src.id,
                 hand_written_share=float(ft["hand_written_share"]) if "hand_written_share" in ft else None)
    record = json.loads((out / "finetune.json").read_text())
    info = {"recipe": "training/finetune.py: multi-task classification heads (request labels, reply labels, "
                      "3-way refusal on reply, opening and pair), AdamW, word embeddings frozen",
            "settings": ft, "cache_key": key,
            **{k: record[k] for k in ("steps", "wall_seconds", "rows_seen", "texts_seen", "final_loss_ema") if k in record}}
    return load_transformer(str(out)), info


def train_cascade(config_raw: dict[str, Any], output: Path | None) -> int:
    """A cascade has no weights of its own: its escalation thresholds are chosen on dev from the
    two tiers' scores, so both tier bundles must be built first."""
    from classifiers.errors import BundleError
    from training.cascade import build_cascade
    from training.data import SplitsMissingError, load_split

    try:
        dev = select(load_split("dev"), config_raw.get("data", {}), cap=False)
    except SplitsMissingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = output or output_root() / config_raw.get("output", f"models/{config_raw['name']}")
    golden = [json.loads(line) for line in EXAMPLES.read_text().splitlines() if line.strip()]
    try:
        build_cascade(config_raw, dev, out, out.parent, golden)
    except BundleError as exc:
        print(f"error: {exc} (build both tiers first: `brightline train` and "
              "`brightline train --config training/configs/fast.toml`)", file=sys.stderr)
        return 2
    except (KeyError, ValueError) as exc:
        print(f"error: bad [cascade] section in the config: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
