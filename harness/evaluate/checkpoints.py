"""A finished run's checkpoints, from its manifest.json: its ``checkpoints`` field ({row: model
folder relative to the cache}); for older manifests without it, its ``stage_keys``
(``base:base`` -> ``<cache>/base/<key>/model``, ``train:<row>`` -> ``<cache>/train/<key>/model``)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.store import default_cache_dir, read_json


def read_manifest(run_dir: Path) -> dict:
    path = Path(run_dir) / "manifest.json"
    if not path.exists():
        raise HarnessError("no manifest.json: not a finished run directory", file=path)
    try:
        return read_json(path)
    except (ValueError, OSError) as exc:
        raise HarnessError(f"cannot read manifest ({exc})", file=path) from None


def run_cache_dir(manifest: dict, cache_dir: Path | None = None) -> Path:
    """The cache a run used: `cache_dir` when given, else its config's, else the default."""
    return Path(cache_dir or (manifest.get("config") or {}).get("cache_dir") or default_cache_dir()).resolve()


def find_checkpoints(run_dir: Path, cache_dir: Path | None = None) -> dict[str, str]:
    """{row: model dir} of a run, base first, then the methods in config order."""
    run_dir = Path(run_dir)
    manifest = read_manifest(run_dir)
    config = manifest.get("config") or {}
    found: dict[str, str] = {}
    cache = run_cache_dir(manifest, cache_dir)
    if isinstance(manifest.get("checkpoints"), dict) and manifest["checkpoints"]:
        # relative paths are relative to the cache folder (harness.pipeline writes them so)
        found = {str(k): str(cache / v) for k, v in manifest["checkpoints"].items()}
    else:
        keys = manifest.get("stage_keys") or {}
        if "base:base" in keys and config.get("include_base", True):
            found["base"] = str(cache / "base" / keys["base:base"] / "model")
        elif config.get("include_base", True) and (config.get("model") or {}).get("path"):
            found["base"] = str(config["model"]["path"])
        for k, v in keys.items():
            if k.startswith("train:"):
                found[k[len("train:"):]] = str(cache / "train" / v / "model")
    if not found:
        raise HarnessError("the manifest names no checkpoints (no 'checkpoints' field, no "
                           "'train:'/'base:' stage keys)", file=run_dir / "manifest.json")
    order = ["base"] + [_row(m) for m in config.get("methods") or []]
    ranked = sorted(found, key=lambda r: (order.index(r) if r in order else len(order), r))
    out = {}
    for row in ranked:
        path = Path(found[row])
        if not (path / "config.json").exists():
            raise HarnessError(f"checkpoint of row {row!r} not found (cache cleared or moved? "
                               "pass --cache-dir)", file=path)
        out[row] = str(path)
    return out


def _row(method: Any) -> str:
    if isinstance(method, str):
        return method
    return str(method.get("label") or method.get("name"))


def checkpoint_identity(manifest: dict) -> dict[str, tuple[str, int]]:
    """Checkpoint name -> (leaderboard row, training seed), where the run had several seeds
    ("dpo-seed1" -> ("dpo", 1)); names not listed are their own row at the run's seed."""
    return {name: (v["model"], int(v["seed"])) for name, v in (manifest.get("checkpoint_rows") or {}).items()}
