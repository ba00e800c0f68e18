"""Content-addressed stage cache, atomic writes, and append-only JSONL for resume.

A stage's key is a sha256 of its inputs (for a run's jobs: the job's inputs object, its upstream
jobs' keys and the versions of the libraries it depends on; harness.jobs). A stage directory is complete when its ``DONE`` marker exists;
a half-written directory from a killed run is simply redone (or, for JSONL stages, continued
from the records already written).
"""
from __future__ import annotations

import hashlib
import json
import re
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable, Iterator

from harness.errors import HarnessError

CODE_VERSION = "0.1.0"


def default_cache_dir() -> Path:
    return Path(os.environ.get("HARNESS_CACHE", ".harness_cache")).resolve()


def digest_json(obj: Any, length: int | None = 16) -> str:
    """sha256 of an object's canonical JSON (sorted keys, UTF-8): stage keys, data hashes, the
    judge cache's prompt keys. `length` hex digits (None: all 64)."""
    blob = json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str)
    digest = hashlib.sha256(blob.encode("utf-8")).hexdigest()
    return digest[:length] if length else digest


def digest_path(path: Path, *, content: bool = True, length: int | None = None) -> str:
    """sha256 of a file's bytes, or of a folder's relative file names with their bytes (`content`)
    or with their sizes and modification times (not `content`: a model folder of gigabytes in
    milliseconds, and a checkpoint rewritten in place with the same shapes still changes it)."""
    path = Path(path)
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for p in files:
        if path.is_dir():
            digest.update(p.relative_to(path).as_posix().encode() + b"\0")
            if not content:
                stat = p.stat()
                digest.update(f"{stat.st_size}:{stat.st_mtime_ns}\n".encode())
                continue
        with open(p, "rb") as f:
            for block in iter(lambda: f.read(1 << 22), b""):
                digest.update(block)
    return digest.hexdigest()[:length] if length else digest.hexdigest()


def stage_key(stage: str, payload: Any) -> str:
    return digest_json({"stage": stage, "code": CODE_VERSION, "inputs": payload})


def atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; results are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def write_csv(path: Path, columns: list[str], rows: list[dict]) -> None:
    """Atomically write rows as CSV; None becomes an empty cell."""
    import csv
    import io
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in columns})
    atomic_write_text(path, buf.getvalue())


def safe_filename(name: str, default: str = "_") -> str:
    """A name usable as one path component on any file system (run, model, judge names)."""
    return re.sub(r"[^A-Za-z0-9._=+-]+", "_", name).strip("_") or default


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise HarnessError("file not found", file=path) from None
    except json.JSONDecodeError as exc:
        raise HarnessError(f"malformed JSON ({exc.msg})", file=path, row=exc.lineno) from None


def read_jsonl(path: Path, *, tolerate_partial_tail: bool = True) -> list[dict]:
    """Read JSONL records. A last line cut short by a killed writer is dropped, not an error."""
    if not path.exists():
        return []
    if path.suffix == ".gz":
        import gzip
        try:
            with gzip.open(path, "rt", encoding="utf-8") as f:
                lines = f.read().splitlines()
        except (OSError, EOFError) as exc:
            raise HarnessError(f"cannot read gzip file ({exc})", file=path) from None
    else:
        lines = path.read_text(encoding="utf-8").splitlines()
    out = []
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError as exc:
            if tolerate_partial_tail and i == len(lines):
                break
            raise HarnessError(f"malformed JSON ({exc.msg})", file=path, row=i) from None
    return out


class JsonlAppender:
    """Append records one by one, flushed and fsynced, so a killed run loses at most one line."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._repair_tail()
        self._f = open(path, "a", encoding="utf-8")

    def _repair_tail(self) -> None:
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            cut = data.rfind(b"\n") + 1
            with open(self.path, "r+b") as f:
                f.truncate(cut)

    def write(self, record: dict) -> None:
        self._f.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        self._f.flush()
        os.fsync(self._f.fileno())

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> "JsonlAppender":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Stage:
    """A cached stage directory ``<cache>/<stage>/<key>/``; complete once ``DONE`` exists.

    Made from a payload (its key is the payload's digest; a payload's ``label``, the row name a
    person reads in logs, is not part of it) or, for a run's jobs, from the key the job computed
    (harness.jobs.Job.stage) with the `record` of its inputs written beside its output.
    """

    def __init__(self, cache_dir: Path, stage: str, payload: Any) -> None:
        content = {k: v for k, v in payload.items() if k != "label"} if isinstance(payload, dict) else payload
        self._set(cache_dir, stage, stage_key(stage, content), payload)

    @classmethod
    def at(cls, cache_dir: Path, stage: str, key: str, record: Any) -> "Stage":
        self = cls.__new__(cls)
        self._set(cache_dir, stage, key, record)
        return self

    def _set(self, cache_dir: Path, stage: str, key: str, payload: Any) -> None:
        self.name = stage
        self.key = key
        self.cache = cache_dir
        self.dir = cache_dir / stage / key
        self.payload = payload

    @property
    def done(self) -> bool:
        return (self.dir / "DONE").exists()

    def mark_done(self, info: dict | None = None) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        atomic_write_json(self.dir / "inputs.json", self.payload)
        atomic_write_json(self.dir / "DONE", info or {})

    def info(self) -> dict:
        return read_json(self.dir / "DONE")


def write_rows(cache_dir: Path, rows: list) -> str:
    """Rows (training data, a task's prompts) stored once under their digest, ``<cache>/rows/<digest>.json``;
    jobs name them by that digest in their inputs and read them with `read_rows`."""
    digest = digest_json(rows)
    path = cache_dir / "rows" / f"{digest}.json"
    if not path.exists():
        atomic_write_text(path, json.dumps(rows, ensure_ascii=False, sort_keys=True, default=str))
    return digest


def read_rows(cache_dir: Path, digest: str) -> list:
    return read_json(cache_dir / "rows" / f"{digest}.json")


def iter_done_ids(records: Iterable[dict], key: str = "id") -> Iterator[str]:
    for r in records:
        if r.get("status", "ok") == "ok" and key in r:
            yield str(r[key])


def relative_path(path: Path, root: Path) -> str:
    """`path` relative to `root` (a cache folder) when it lies inside it, so results never name a
    folder of the machine that produced them; as given otherwise."""
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)
