"""`harness mt-bench ...`: MT-Bench commands (mounted by the main CLI as a typer sub-app)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from harness.errors import HarnessError

mt_bench_app = typer.Typer(help="MT-Bench: FastChat-compatible judgments and result tables.",
                           no_args_is_help=True, add_completion=False)


@mt_bench_app.callback()
def _group() -> None:
    """MT-Bench: FastChat-compatible judgments and result tables."""


def _fmt(x: float | None, pct: bool = False) -> str:
    if x is None:
        return "-"
    return f"{100 * x:.1f}%" if pct else f"{x:.4f}"


@mt_bench_app.command("show-result")
def show_result_cmd(
    judgment_file: Path = typer.Option(..., "--judgment-file", help="model_judgment JSONL"),
    mode: Optional[str] = typer.Option(None, "--mode", help="single | pairwise (default: guessed)"),
    baseline_model: Optional[str] = typer.Option(None, "--baseline-model",
                                                 help="pairwise: baseline (default: inferred)"),
    as_json: bool = typer.Option(False, "--json", help="print JSON instead of a table"),
    keep_last: bool = typer.Option(False, "--keep-last",
                                   help="keep the last judgment per question, model and turn (FastChat "
                                        "averages every row, duplicates included)"),
) -> None:
    """Per-model MT-Bench results, computed as FastChat's show_result.py."""
    from harness.mt_bench.show_result import show_result

    try:
        mode_used, table, duplicates = show_result(judgment_file, mode, baseline_model, keep_last)
    except HarnessError as exc:
        typer.echo(f"error: {exc.one_line()}", err=True)
        raise typer.Exit(2) from None
    if duplicates:
        what = "only the last of each kept (--keep-last)" if keep_last else \
            "all averaged, as FastChat does; --keep-last keeps the last of each"
        typer.echo(f"note: {judgment_file} holds {duplicates} duplicate judgments of the same question, "
                   f"model and turn: {what}", err=True)
    if as_json:
        typer.echo(json.dumps(table, indent=2))
        return
    console = Console()
    if mode_used == "single":
        t = Table(title=f"MT-Bench (single-answer grading): {judgment_file}")
        for col in ("model", "turn 1", "turn 2", "average"):
            t.add_column(col, justify="left" if col == "model" else "right")
        for model, row in table.items():
            t.add_row(model, _fmt(row["turn_1"]), _fmt(row["turn_2"]), _fmt(row["average"]))
    else:
        from harness.mt_bench.show_result import position_flips
        from harness.store import read_jsonl
        bias = position_flips(read_jsonl(Path(judgment_file)))
        typer.echo(f"position bias: the verdict changed with the answers' order in {bias['flips']} of "
                   f"{bias['comparisons']} comparisons ({100 * bias['flip_rate']:.1f}%)", err=True)
        t = Table(title=f"MT-Bench (pairwise vs baseline): {judgment_file}")
        for col in ("model", "win", "loss", "tie", "win rate", "loss rate", "adjusted win rate"):
            t.add_column(col, justify="left" if col == "model" else "right")
        for model, row in table.items():
            t.add_row(model, str(row["win"]), str(row["loss"]), str(row["tie"]),
                      _fmt(row["win_rate"], True), _fmt(row["loss_rate"], True),
                      _fmt(row["win_rate_adjusted"], True))
    console.print(t)


@mt_bench_app.command("agreement")
def agreement_cmd(
    file_a: Path = typer.Argument(..., help="judgment file, e.g. the published GPT-4 judgments"),
    file_b: Path = typer.Argument(..., help="judgment file of the judge to check, same answers"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Agreement of two judges on the same answers (FastChat's compute_agreement for pairwise;
    score and model-rank agreement for single grading)."""
    from harness.mt_bench.agreement import agreement

    try:
        mode, figures = agreement(file_a, file_b)
    except HarnessError as exc:
        typer.echo(f"error: {exc.one_line()}", err=True)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps({"mode": mode, **figures}, indent=2))
        return
    if mode == "pairwise":
        for turn, res in figures.items():
            for ties, r in res.items():
                ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}"
                typer.echo(f"{turn.replace('_', ' ')} {ties.replace('_', ' ')}: #total {r['total']}, "
                           f"#agree {r['agree']}, ratio {ratio}")
        return
    if not figures["matched"]:
        typer.echo("no (question, model, turn) judged in both files")
        return
    typer.echo(f"matched judgments: {figures['matched']} (only in A: {figures['only_in_a']}, "
               f"only in B: {figures['only_in_b']})")
    typer.echo(f"exact score agreement: {figures['exact']:.3f}; within 1 point: {figures['within_1']:.3f}")
    typer.echo(f"score correlation: Pearson {_fmt(figures['pearson'])}, Spearman {_fmt(figures['spearman'])}")
    typer.echo(f"model ranking (Spearman over {len(figures['models'])} models): "
               f"{_fmt(figures['model_rank_spearman'])}")
    for model, r in figures["models"].items():
        typer.echo(f"  {model}: A {r['a']:.2f}, B {r['b']:.2f}")


_OPTIONS = {"base_url": "--base-url", "serve": "--serve", "model": "--model", "api_key_env": "--api-key-env",
            "concurrency": "--concurrency", "max_tokens": "--max-tokens", "cost_per_1k_input": "--cost-per-1k-input",
            "cost_per_1k_output": "--cost-per-1k-output"}


def _judge_config(fields: dict, dry_run: bool):
    """A JudgeConfig from the command's options; a dry run needs no endpoint. A bad option is one
    line naming it (pydantic's own message ends in a link)."""
    from pydantic import ValidationError

    from harness.judges.config import JudgeConfig
    try:
        return JudgeConfig.model_validate(fields, context={"no_endpoint": dry_run})
    except ValidationError as exc:
        err = exc.errors()[0]
        msg = err["msg"].removeprefix("Value error, ")
        msg = msg[:1].lower() + msg[1:]
        if not err["loc"]:  # the model's own check: neither or both endpoints
            raise HarnessError("give --base-url (an endpoint) or --serve (a local judge model), one of them",
                               field="--base-url/--serve") from None
        raise HarnessError(msg, field=_OPTIONS.get(str(err["loc"][0]), str(err["loc"][0]))) from None


@mt_bench_app.command("judge")
def judge_cmd(
    answers: list[Path] = typer.Argument(..., help="FastChat model_answer files or folders (.jsonl, .jsonl.gz)"),
    base_url: Optional[str] = typer.Option(None, "--base-url",
                                           help="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1"),
    serve: Optional[str] = typer.Option(None, "--serve", help="instead: a local judge model (HF folder, GGUF, "
                                                              "pkg:...) served with vLLM while judging"),
    model: str = typer.Option("gpt-4", "--model", help="judge model name sent to the endpoint"),
    api_key_env: Optional[str] = typer.Option("OPENAI_API_KEY", "--api-key-env",
                                              help="NAME of the variable holding the key ('' for none)"),
    mode: str = typer.Option("single", "--mode", help="single | pairwise-baseline | pairwise-all"),
    baseline_model: Optional[str] = typer.Option(None, "--baseline-model", help="pairwise-baseline: the baseline"),
    out: Optional[Path] = typer.Option(None, "--out", help="judgment file (default model_judgment/<model>_<mode>.jsonl)"),
    questions_file: Optional[Path] = typer.Option(None, "--questions", help="question.jsonl (default MT-Bench's)"),
    cost_in: float = typer.Option(0.0, "--cost-per-1k-input", help="USD per 1k prompt tokens"),
    cost_out: float = typer.Option(0.0, "--cost-per-1k-output", help="USD per 1k completion tokens"),
    concurrency: int = typer.Option(8, "--concurrency"),
    max_tokens: int = typer.Option(2048, "--max-tokens", help="judge reply length cap (FastChat: 2048)"),
    dry_run: bool = typer.Option(False, "--dry-run", help="count requests and estimate cost; send nothing"),
    max_cost: Optional[float] = typer.Option(None, "--max-cost", help="stop cleanly once this many USD are spent"),
) -> None:
    """Judge answer files with the harness's judge (FastChat's gen_judgment.py), FastChat formats out."""
    from harness.mt_bench.judge_answer_files import MODES, estimate, judge_files
    from harness.mt_bench.fastchat_files import load_model_answers, load_questions

    try:
        if mode not in MODES:
            raise HarnessError(f"unknown mode {mode!r}; valid: {', '.join(MODES)}", field="--mode")
        if (mode == "pairwise-baseline") != (baseline_model is not None):
            raise HarnessError("--mode pairwise-baseline needs --baseline-model, and only it takes one",
                               field="--baseline-model")
        if max_cost is not None and max_cost <= 0:
            raise HarnessError(f"must be > 0, got {max_cost}", field="--max-cost")
        loaded: dict = {}
        for path in answers:
            for name, ans in load_model_answers(path).items():
                if name in loaded:
                    raise HarnessError(f"answers of model {name!r} given twice", file=path)
                loaded[name] = ans
        if baseline_model is not None and baseline_model not in loaded:
            raise HarnessError(f"no answers for baseline {baseline_model!r}; models: {', '.join(loaded)}",
                               field="--baseline-model")
        cfg = _judge_config(dict(base_url=base_url, serve={"model": serve} if serve else None, model=model,
                                 api_key_env=api_key_env or None, concurrency=concurrency, max_tokens=max_tokens,
                                 cost_per_1k_input=cost_in, cost_per_1k_output=cost_out), dry_run)
        if max_cost is not None and not (cost_in or cost_out):
            raise HarnessError("a budget needs prices: give --cost-per-1k-input and/or --cost-per-1k-output",
                               field="--max-cost")
        path = out or Path("model_judgment") / f"{model}_{'single' if mode == 'single' else 'pair'}.jsonl"
        answered = set.intersection(*(set(a) for a in loaded.values()))
        questions = [q for q in load_questions(questions_file) if q["question_id"] in answered]
        if not questions:
            raise HarnessError("no question is answered by every model given", field="answers")
        est = estimate(cfg, questions, loaded, mode, baseline_model, path)
        typer.echo(f"{'dry run: ' if dry_run else ''}{est.line()}")
        if dry_run:
            return
        cfg.check_reachable()
        from harness.judges.local import live_judge
        from harness.store import default_cache_dir
        with live_judge(cfg, default_cache_dir()) as endpoint:
            result = judge_files(endpoint, questions, loaded, mode, baseline_model, path, max_cost)
    except HarnessError as exc:
        typer.echo(f"error: {exc.one_line()}", err=True)
        raise typer.Exit(2) from None
    spent = ("nothing spent (no request sent)" if result["cached"] == result["judgments"]
             else f"${result['cost_usd']:.4f} spent" if result["priced"] else "cost unknown (no prices given)")
    typer.echo(f"{result['ok']} judged ({result['cached']} without a new request), {result['failed']} failed "
               f"(asked again on the next call), {spent}: {path}")
    if result["stopped_by_budget"]:
        typer.echo(f"stopped: the budget of ${max_cost} is spent; run again with a larger --max-cost to continue")
