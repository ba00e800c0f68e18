"""The `harness` command line (typer)."""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import sys
from pathlib import Path
from typing import Optional

import typer

from harness.errors import HarnessError, redact

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Train, generate, judge and rank preference-alignment methods from one config.")


def _fail(exc: HarnessError) -> None:
    typer.echo(f"error: {redact(exc.one_line())}", err=True)
    raise typer.Exit(2)


def _quiet_libraries() -> None:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for name in ("transformers", "datasets", "vllm", "httpx"):
        logging.getLogger(name).setLevel(logging.ERROR)


@app.command()
def run(config: Path = typer.Argument(..., help="run config YAML, e.g. tasks/runs/quickstart.yaml"),
        set_: list[str] = typer.Option([], "--set", help="override a config field: --set train.max_steps=20, "
                                                          "--set methods[1].params.beta=0.2"),
        tasks_dir: list[Path] = typer.Option([], "--tasks-dir", help="extra folder of task files"),
        skip_bad_rows: bool = typer.Option(False, "--skip-bad-rows",
                                           help="skip malformed data rows (recorded in the manifest)"),
        verbose: bool = typer.Option(False, "--verbose",
                                     help="print library output too (otherwise in results/<run>/logs/run.log)"),
        executor: str = typer.Option("local", "--executor", help="where jobs run: local (this process) or ray"),
        ray_address: Optional[str] = typer.Option(None, "--ray-address",
                                                  help="host:port of a Ray head node (default: a local instance "
                                                       "on 127.0.0.1)"),
        isolate_jobs: Optional[bool] = typer.Option(None, "--isolate-jobs/--no-isolate-jobs",
                                                    help="local executor: each job in a fresh child process "
                                                         "(default: where CUDA is present)")) -> None:
    """Run every stage of a config; cached stages are skipped."""
    _quiet_libraries()
    from harness.config import load_config, skip_bad_rows_everywhere
    from harness.console import console, quiet_terminal
    from harness.pipeline import Pipeline
    from harness.store import default_cache_dir
    try:
        overrides = list(set_)
        cfg = load_config(config, overrides)
        if skip_bad_rows:
            cfg = skip_bad_rows_everywhere(cfg)
        if tasks_dir:
            cfg = cfg.model_copy(update={"tasks_dirs": [*cfg.tasks_dirs, *map(str, tasks_dir)]})
        log = Path(cfg.results_dir) / cfg.run_name / "logs" / "run.log"
        from harness.executors import EXECUTORS
        from harness.registry import load_object
        if ray_address and executor != "ray":
            raise HarnessError("--ray-address needs --executor ray")
        runner = load_object(EXECUTORS.get(executor, field="--executor"))(address=ray_address, log_dir=log.parent,
                                                                          isolate=isolate_jobs)
        runner.check()  # Ray missing or an address that does not answer: before any work
        unfinished = log.parent / "unfinished"  # there while a run of this config has not finished
        cache = Path(cfg.cache_dir) if cfg.cache_dir else default_cache_dir()
        if unfinished.exists():
            console.print(f"resuming {cfg.run_name}: its last run did not finish; finished stages come from the "
                          f"cache ({cache}) and an interrupted training continues from its last checkpoint",
                          soft_wrap=True, highlight=False)
        unfinished.parent.mkdir(parents=True, exist_ok=True)
        unfinished.touch()
        try:
            with quiet_terminal(log, verbose):
                out = Pipeline(cfg, config, runner).run()
        except KeyboardInterrupt:
            console.print(f"interrupted: finished stages and training checkpoints are kept in {cache}; "
                          "run the same command again to resume", soft_wrap=True, highlight=False)
            raise typer.Exit(130) from None
        finally:
            runner.close()
        unfinished.unlink(missing_ok=True)
        if not verbose:
            console.print(f"library output: {log}")
        # the leaderboard is the result: stdout (`harness run cfg.yaml > out.txt`); progress is on stderr
        typer.echo(_table_only((out / "leaderboard.md").read_text()))
    except HarnessError as exc:
        _fail(exc)


def _table_only(markdown: str) -> str:
    """The leaderboard's first table (notes and comparisons stay in the file)."""
    lines = markdown.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("|")), len(lines))
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    return "\n".join(lines[start:end])


@app.command("list-methods")
def list_methods() -> None:
    """Registered methods with their hyper-parameters and defaults."""
    from harness.methods import METHODS
    for name in METHODS.names():
        cls = METHODS.get(name)
        params = ", ".join(f"{f.name}={f.default}" for f in dataclasses.fields(cls.Params)) or "-"
        ref = "reference" if cls.needs_reference else "no reference"
        typer.echo(f"{name:8s} {ref:13s} {params:32s} {cls.paper}")


@app.command("check-method")
def check_method(names: Optional[list[str]] = typer.Argument(None, help="registered method names (default: all)")) -> None:
    """Run the shared property checks on methods, a plug-in's too (harness.methods.checks)."""
    from harness.methods import METHODS
    from harness.methods.checks import run_checks
    failed = 0
    try:
        for name in names or METHODS.names():
            for check, reason in run_checks(name).items():
                typer.echo(f"{name:10s} {check:26s} {'ok' if reason is None else 'FAIL ' + reason}")
                failed += reason is not None
    except HarnessError as exc:
        _fail(exc)
    if failed:
        raise typer.Exit(1)


@app.command("list-tasks")
def list_tasks(tasks_dir: list[Path] = typer.Option([], "--tasks-dir")) -> None:
    """Tasks found in tasks/ (and --tasks-dir folders)."""
    import inspect

    from harness.tasks import discover
    try:
        registry = discover(list(tasks_dir))
    except HarnessError as exc:
        _fail(exc)
    for name in registry.names():
        factory = registry.get(name)
        doc = (inspect.getdoc(sys.modules[factory.__module__]) or "").split("\n\n", 1)[0]
        options = ", ".join(f"{p.name}={p.default!r}" for p in inspect.signature(factory).parameters.values()
                            if p.default is not inspect.Parameter.empty and p.name != "run_config")
        typer.echo(f"{name:20s} {' '.join(doc.split())}")
        if options:
            typer.echo(f"{'':20s} options: {options}")


@app.command()
def table(runs: list[Path] = typer.Argument(..., help="run directories under results/"),
          out: Optional[Path] = typer.Option(None, help="output folder (default: the first run)"),
          baseline: Optional[str] = typer.Option(None, help="method row for paired comparisons")) -> None:
    """Rebuild leaderboards from stored scores (no recomputation); several runs are merged."""
    from harness.report.tables import write_reports
    try:
        files = write_reports(list(runs), out or runs[0], baseline=baseline)
    except HarnessError as exc:
        _fail(exc)
    for kind, path in files.items():
        if not kind.startswith("plot:"):
            typer.echo(f"{kind}: {path}")


@app.command("lm-eval")
def lm_eval(run: Path = typer.Argument(..., help="a finished run directory (results/<run_name>)"),
            tasks: str = typer.Option(..., "--tasks", help="comma-separated lm-eval task names, e.g. "
                                      "harness_synthetic_arith,harness_hh_rlhf_gen"),
            backend: str = typer.Option("auto", "--backend", help="auto (vLLM, else hf), vllm or hf"),
            limit: Optional[float] = typer.Option(None, "--limit", help="documents per task (testing)"),
            include_path: Optional[Path] = typer.Option(None, "--include-path",
                                                        help="folder of extra lm-eval task YAML "
                                                             "(default: the harness's tasks/lm_eval)"),
            models: Optional[str] = typer.Option(None, "--models", help="only these rows (comma-separated)"),
            cache_dir: Optional[Path] = typer.Option(None, "--cache-dir", help="the run's cache (default: its config's)"),
            force: bool = typer.Option(False, "--force", help="evaluate again even when cached"),
            verbose: bool = typer.Option(False, "--verbose",
                                         help="print library output too (otherwise in <run>/logs/lm_eval.log)")) -> None:
    """Run lm-eval tasks on every checkpoint of a run; writes <run>/lm_eval/ and <run>/lm_eval_scores.csv."""
    _quiet_libraries()
    from harness.console import quiet_terminal
    from harness.evaluate.lm_eval import DEFAULT_INCLUDE_PATH, run_lm_eval
    whole = limit is not None and float(limit).is_integer() and limit >= 1
    log = run / "logs" / "lm_eval.log"
    try:
        if not run.is_dir():
            raise HarnessError("run directory not found", file=run)
        with quiet_terminal(log, verbose):  # vLLM's and lm-eval's output (and git's) go to the log
            summary = run_lm_eval(run, tasks.split(","), backend=backend, limit=int(limit) if whole else limit,
                                  include_path=include_path or DEFAULT_INCLUDE_PATH, cache_dir=cache_dir,
                                  models=models.split(",") if models else None, force=force)
    except HarnessError as exc:
        _fail(exc)
    if not verbose:
        typer.echo(f"library output: {log}", err=True)
    for row, info in summary["models"].items():
        for task, metrics in info["results"].items():
            shown = ", ".join(f"{name.replace(',none', '').replace(',', '@')}={value:.4g}"
                              for name, value in metrics.items()
                              if "_stderr" not in name and isinstance(value, (int, float)))
            typer.echo(f"{row:12s} {task:28s} {shown}" + ("  (cached)" if info["cached"] else ""))
    for row, reason in summary["errors"].items():
        typer.echo(f"{row:12s} error: {reason}", err=True)
    typer.echo(f"backend: {summary['backend']}; {summary['rows']} rows from this call, {summary['rows_in_file']} "
               f"in all: {summary['scores_csv']}", err=True)
    if summary["errors"]:
        raise typer.Exit(1)


ifeval_app = typer.Typer(add_completion=False, no_args_is_help=True,
                         help="IFEval (Zhou et al. 2023): score responses made anywhere.")
app.add_typer(ifeval_app, name="ifeval")


@ifeval_app.command("score")
def ifeval_score(file: Path = typer.Argument(..., help='JSONL of {"prompt": ..., "response": ...} rows'),
                 as_json: bool = typer.Option(False, "--json", help="print the four accuracies as one JSON object"),
                 out: Optional[Path] = typer.Option(None, "--out", help="write eval_results_strict.jsonl and "
                                                    "eval_results_loose.jsonl (the reference's format) here")) -> None:
    """Prompt- and instruction-level accuracy, strict and loose, by the reference's rules."""
    _quiet_libraries()
    # "unable to detect language" is logged per odd response; the verdict is "followed", as in the reference
    logging.getLogger("lm_eval").setLevel(logging.CRITICAL)
    from harness.ifeval.score_file import score_file, write_results
    try:
        scored = score_file(file)
        for line in scored.left_out:
            typer.echo(line, err=True)
        acc = scored.accuracies()
        if out is not None:
            write_results(scored, out, file.stem)
        if as_json:
            typer.echo(json.dumps(acc))
        else:
            typer.echo(f"IFEval, {len(scored.prompts)} of 541 prompts scored ({file})")
            for key, value in acc.items():
                typer.echo(f"{key:<20} {100 * value:6.2f}%")
            if out is not None:
                typer.echo(f"per-prompt results: {out}/eval_results_strict.jsonl, {out}/eval_results_loose.jsonl")
    except HarnessError as exc:
        _fail(exc)


def _mount_optional() -> None:
    try:
        from harness.mt_bench.cli import mt_bench_app
    except ImportError:
        return
    app.add_typer(mt_bench_app, name="mt-bench", help="MT-Bench utilities (FastChat-compatible).")


_mount_optional()


def main() -> None:
    try:
        app()
    except HarnessError as exc:  # pragma: no cover - commands catch their own
        print(f"error: {redact(exc.one_line())}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
