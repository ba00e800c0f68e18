"""MT-Bench tables from a judgment file, computed as FastChat's show_result.py does.

single (``display_result_single``): drop rows with score == -1; turn 1 and turn 2 are the mean
score per model of that turn's rows; "average" is the mean of *all* the model's remaining rows
(not the mean of the two turn means).

pairwise (``display_result_pairwise``): drop rows where either game is "error"; keep rows with
the baseline; a row is a tie when game 1 says tie or the two games disagree, otherwise a win for
the winner and a loss for the other; the baseline's own row is removed; win_rate, loss_rate and
win_rate_adjusted = (win + 0.5 tie) / n.

Like FastChat, every row counts: a file holding two judging passes under one model name is
averaged over both. `keep_last=True` keeps only the last record per judgment (question, model(s),
turn, judge) instead; the run pipeline uses that for its own files, where a retried judgment
follows its failed record. `count_duplicates` tells a caller that the choice matters.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

import pandas as pd

from harness.errors import HarnessError
from harness.mt_bench.fastchat_files import dedupe, record_key
from harness.store import read_jsonl


def count_duplicates(records: list[dict]) -> int:
    """Records that repeat an earlier record's judgment (question, model(s), turn, judge)."""
    return len(records) - len({record_key(r) for r in records})


def single_results(records: Iterable[dict], model_list: list[str] | None = None, keep_last: bool = False
                   ) -> dict[str, dict[str, float | None]]:
    """{model: {"turn_1", "turn_2", "average"}} (None where a model has no scored row)."""
    records = list(records)
    recs = [r for r in (dedupe(records) if keep_last else records) if "model" in r]
    if not recs:
        return {}
    df_all = pd.DataFrame(recs)
    df = df_all[["model", "score", "turn"]]
    df = df[df["score"] != -1]
    if model_list is not None:
        df = df[df["model"].isin(model_list)]
    df = df.astype({"score": float})
    t1 = df[df["turn"] == 1].groupby(["model"])["score"].mean()
    t2 = df[df["turn"] == 2].groupby(["model"])["score"].mean()
    avg = df[["model", "score"]].groupby(["model"])["score"].mean()
    models = sorted(set(df_all["model"]) if model_list is None else
                    set(df_all["model"]) & set(model_list))
    out = {m: {"turn_1": _get(t1, m), "turn_2": _get(t2, m), "average": _get(avg, m)}
           for m in models}
    return dict(sorted(out.items(), key=lambda kv: -(kv[1]["average"] or float("-inf"))))


def _get(series: pd.Series, key: str) -> float | None:
    return float(series[key]) if key in series.index else None


def pairwise_results(records: Iterable[dict], baseline_model: str | None = None,
                     model_list: list[str] | None = None, keep_last: bool = False) -> dict[str, dict[str, float]]:
    """{model: {"win", "loss", "tie", "win_rate", "loss_rate", "win_rate_adjusted"}}.

    baseline_model None: the common model_2 of all rows when there is one (our files), else
    all pairs count (FastChat's pairwise-all)."""
    records = list(records)
    recs = [r for r in (dedupe(records) if keep_last else records) if "model_1" in r]
    if not recs:
        return {}
    df_all = pd.DataFrame(recs)
    if baseline_model is None:
        m2 = df_all["model_2"].unique().tolist()
        baseline_model = m2[0] if len(m2) == 1 else None
    df_all = df_all[(df_all["g1_winner"] != "error") & (df_all["g2_winner"] != "error")]
    list_res = []
    for _, row in df_all.iterrows():
        if model_list is not None and row["model_1"] not in model_list:
            continue
        if baseline_model is not None and baseline_model not in [row["model_1"], row["model_2"]]:
            continue
        if row["g1_winner"] == "tie" or row["g1_winner"] != row["g2_winner"]:
            list_res.append({"model": row["model_1"], "win": 0, "loss": 0, "tie": 1})
            list_res.append({"model": row["model_2"], "win": 0, "loss": 0, "tie": 1})
        else:
            if row["g1_winner"] == "model_1":
                winner, loser = row["model_1"], row["model_2"]
            else:
                winner, loser = row["model_2"], row["model_1"]
            list_res.append({"model": winner, "win": 1, "loss": 0, "tie": 0})
            list_res.append({"model": loser, "win": 0, "loss": 1, "tie": 0})
    if not list_res:
        return {}
    df = pd.DataFrame(list_res).groupby(["model"]).sum()
    if baseline_model is not None:
        df = df[df.index != baseline_model]
    n = df["win"] + df["loss"] + df["tie"]
    df["win_rate"] = df["win"] / n
    df["loss_rate"] = df["loss"] / n
    df["win_rate_adjusted"] = (df["win"] + 0.5 * df["tie"]) / n
    df = df.sort_values(by="win_rate_adjusted", ascending=False)
    return {str(m): {"win": int(r["win"]), "loss": int(r["loss"]), "tie": int(r["tie"]),
                     "win_rate": float(r["win_rate"]), "loss_rate": float(r["loss_rate"]),
                     "win_rate_adjusted": float(r["win_rate_adjusted"])}
            for m, r in df.iterrows()}


def position_flips(records: Iterable[dict]) -> dict[str, float | int]:
    """Position bias of a pairwise judge: of the comparisons judged in both orders (no error), how
    many changed their verdict when the answers were swapped (g1 and g2 disagree, ties included)."""
    pairs = [r for r in records if "model_1" in r and "error" not in (r.get("g1_winner"), r.get("g2_winner"))]
    flips = sum(r["g1_winner"] != r["g2_winner"] for r in pairs)
    return {"comparisons": len(pairs), "flips": flips, "flip_rate": flips / len(pairs) if pairs else float("nan")}


_FIELDS = {"single": ("question_id", "model", "score", "turn"),
           "pairwise": ("question_id", "model_1", "model_2", "g1_winner", "g2_winner", "turn")}


def check_judgments(records: list, mode: str, path: Path) -> None:
    """Every record is a judgment of `mode` (FastChat's model_judgment fields), else one line
    naming the record and field: a model_answer file or any other JSONL is not read as scores."""
    for row, rec in enumerate(records, 1):
        if not isinstance(rec, dict):
            raise HarnessError(f"expected a JSON object, got {type(rec).__name__}: not a judgment file",
                               file=path, row=row)
        missing = next((f for f in _FIELDS[mode] if f not in rec), None)
        if missing is not None:
            hint = (" (this is a model_answer file: judge it with `harness mt-bench judge`)" if "choices" in rec
                    else f" (not a {mode} judgment file)")
            raise HarnessError("missing field" + hint, file=path, row=row, field=missing)
        if mode == "single" and (isinstance(rec["score"], bool) or not isinstance(rec["score"], (int, float))):
            raise HarnessError(f"expected a number, got {rec['score']!r}", file=path, row=row, field="score")


def read_judgment_records(path: Path) -> list[dict]:
    """The records of a judgment file; a missing, folder, non-text or empty one is a one-line error
    (their fields are checked by `check_judgments`)."""
    path = Path(path)
    if not path.exists():
        raise HarnessError("judgment file not found", file=path)
    if not path.is_file():
        raise HarnessError("is a folder, not a judgment file (model_judgment/*.jsonl)", file=path)
    try:
        recs = read_jsonl(path)
    except UnicodeDecodeError:
        raise HarnessError("not UTF-8 text: not a judgment file", file=path) from None
    if not recs:
        raise HarnessError("no judgment records: the file is empty", file=path)
    return recs


def show_result(judgment_file: str | Path, mode: str | None = None, baseline_model: str | None = None,
                keep_last: bool = False) -> tuple[str, dict, int]:
    """(mode, table, duplicate records) for a judgment file (.jsonl or .jsonl.gz); mode None:
    guessed from the records."""
    path = Path(judgment_file)
    if mode not in (None, "single", "pairwise", "pairwise-baseline", "pairwise-all"):
        raise HarnessError(f"unknown mode {mode!r} (single or pairwise)", field="mode")
    recs = read_judgment_records(path)
    if mode is None:
        mode = "pairwise" if isinstance(recs[0], dict) and "model_1" in recs[0] else "single"
    check_judgments(recs, "single" if mode == "single" else "pairwise", path)
    dups = count_duplicates(recs)
    if mode == "single":
        return mode, single_results(recs, keep_last=keep_last), dups
    return "pairwise", pairwise_results(recs, baseline_model, keep_last=keep_last), dups
