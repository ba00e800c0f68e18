"""A finished run's checkpoints, from its manifest (harness.manifest): its ``checkpoints`` field
({name: model folder relative to the cache}); for older manifests without it, its ``stage_keys``
(``base:base`` -> ``<cache>/base/<key>/model``, ``train:<row>`` -> ``<cache>/train/<key>/model``)."""
from __future__ import annotations

from pathlib import Path

from harness.errors import HarnessError
from harness.manifest import RunManifest, read_manifest


def find_checkpoints(run_dir: Path, cache_dir: Path | None = None) -> dict[str, str]:
    """{name: model dir} of a run, base first, then the methods in config order."""
    run_dir = Path(run_dir)
    manifest = read_manifest(run_dir)
    cache = manifest.cache_dir(cache_dir)
    found: dict[str, str] = {}
    if manifest.checkpoints:
        # relative paths are relative to the cache folder (harness.pipeline writes them so)
        found = {name: str(cache / folder) for name, folder in manifest.checkpoints.items()}
    else:
        keys = manifest.stage_keys
        if "base:base" in keys and manifest.include_base:
            found["base"] = str(cache / "base" / keys["base:base"] / "model")
        elif manifest.include_base and manifest.model.get("path"):
            found["base"] = str(manifest.model["path"])
        for k, v in keys.items():
            if k.startswith("train:"):
                found[k[len("train:"):]] = str(cache / "train" / v / "model")
    if not found:
        raise HarnessError("the manifest names no checkpoints (no 'checkpoints' field, no "
                           "'train:'/'base:' stage keys)", file=run_dir / "manifest.json")
    order = ["base"] + manifest.method_rows
    ranked = sorted(found, key=lambda r: (order.index(r) if r in order else len(order), r))
    out = {}
    for row in ranked:
        path = Path(found[row])
        if not (path / "config.json").exists():
            raise HarnessError(f"checkpoint of row {row!r} not found (cache cleared or moved? "
                               "pass --cache-dir)", file=path)
        out[row] = str(path)
    return out


def checkpoint_identity(manifest: RunManifest) -> dict[str, tuple[str, int]]:
    """Checkpoint name -> (leaderboard row, training seed), where the run had several seeds
    ("dpo-seed1" -> ("dpo", 1)); names not listed are their own row at the run's seed."""
    return {name: (v.model, v.seed) for name, v in manifest.checkpoint_rows.items()}
