"""Agreement between two MT-Bench judgment files (FastChat `model_judgment` format): is a cheap or
local judge close enough to the published GPT-4 judgments to be trusted?

Pairwise files, as FastChat's compute_agreement.py counts them: each (question, model pair, turn)
gets one verdict per file (model_a / model_b / tie, the pair ordered by name; a pair whose two
games disagree is a tie, as show_result counts it); agreement "with ties" counts every shared
verdict, "without ties" drops those where either judge said tie.

Single-grading files: scores are matched per (question, model, turn) (several rows of one
key -- two judging passes under one name -- are averaged); reported: exact agreement, agreement
within one point, Pearson and Spearman correlation of the matched scores, and the Spearman
correlation of the models' average scores (does the judge rank the models the same way?).
Rows with score -1 or status "error" are left out, as show_result leaves them out.
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pandas as pd

from harness.errors import HarnessError
from harness.mt_bench.show_result import check_judgments, read_judgment_records


def _records(path: Path) -> list[dict]:
    recs = read_judgment_records(Path(path))
    check_judgments(recs, _mode(recs), path)
    return recs


def _mode(recs: list[dict]) -> str:
    return "pairwise" if isinstance(recs[0], dict) and "model_1" in recs[0] else "single"


def _single_scores(recs: list[dict]) -> dict[tuple, float]:
    by_key: dict[tuple, list[float]] = defaultdict(list)
    for r in recs:
        if "model" not in r or r.get("score", -1) == -1 or r.get("status", "ok") != "ok":
            continue
        by_key[(str(r["question_id"]), r["model"], int(r.get("turn", 1)))].append(float(r["score"]))
    return {k: sum(v) / len(v) for k, v in by_key.items()}


def _pair_verdicts(recs: list[dict]) -> dict[tuple, str]:
    out = {}
    for r in recs:
        if "model_1" not in r or "error" in (r.get("g1_winner"), r.get("g2_winner")):
            continue
        g1, g2 = r["g1_winner"], r["g2_winner"]
        verdict = "tie" if g1 == "tie" or g1 != g2 else ("model_a" if g1 == "model_1" else "model_b")
        a, b = r["model_1"], r["model_2"]
        if b < a:  # order the pair by name, as compute_agreement.py does
            a, b = b, a
            verdict = {"model_a": "model_b", "model_b": "model_a"}.get(verdict, verdict)
        out[(str(r["question_id"]), a, b, int(r.get("turn", 1)))] = verdict
    return out


def pairwise_agreement(a: list[dict], b: list[dict]) -> dict:
    va, vb = _pair_verdicts(a), _pair_verdicts(b)
    out = {}
    for turn in (1, 2):
        keys = [k for k in va if k in vb and k[3] == turn]
        agree = sum(va[k] == vb[k] for k in keys)
        no_tie = [k for k in keys if "tie" not in (va[k], vb[k])]
        agree_nt = sum(va[k] == vb[k] for k in no_tie)
        out[f"turn_{turn}"] = {"with_ties": {"total": len(keys), "agree": agree,
                                             "ratio": agree / len(keys) if keys else None},
                               "without_ties": {"total": len(no_tie), "agree": agree_nt,
                                                "ratio": agree_nt / len(no_tie) if no_tie else None}}
    return out


def single_agreement(a: list[dict], b: list[dict]) -> dict:
    sa, sb = _single_scores(a), _single_scores(b)
    keys = sorted(k for k in sa if k in sb)
    if not keys:
        return {"matched": 0}
    df = pd.DataFrame({"a": [sa[k] for k in keys], "b": [sb[k] for k in keys],
                       "model": [k[1] for k in keys], "turn": [k[2] for k in keys]})
    by_model = df.groupby("model")[["a", "b"]].mean()
    return {"matched": len(keys), "only_in_a": len(set(sa) - set(sb)), "only_in_b": len(set(sb) - set(sa)),
            "exact": float((df["a"] == df["b"]).mean()),
            "within_1": float(((df["a"] - df["b"]).abs() <= 1).mean()),
            "pearson": _corr(df["a"], df["b"], "pearson"), "spearman": _corr(df["a"], df["b"], "spearman"),
            "per_turn_exact": {f"turn_{t}": float((g["a"] == g["b"]).mean()) for t, g in df.groupby("turn")},
            "models": {m: {"a": float(r["a"]), "b": float(r["b"])} for m, r in by_model.iterrows()},
            "model_rank_spearman": _corr(by_model["a"], by_model["b"], "spearman") if len(by_model) > 1 else None}


def _corr(x: pd.Series, y: pd.Series, method: str) -> float | None:
    if x.nunique() < 2 or y.nunique() < 2:
        return None
    return float(x.corr(y, method=method))


def agreement(file_a: str | Path, file_b: str | Path) -> tuple[str, dict]:
    """(mode, figures) for two judgment files of the same mode."""
    a, b = _records(Path(file_a)), _records(Path(file_b))
    mode_a, mode_b = _mode(a), _mode(b)
    if mode_a != mode_b:
        raise HarnessError(f"{file_a} holds {mode_a} judgments, {file_b} {mode_b}: compare like with like")
    return mode_a, (pairwise_agreement(a, b) if mode_a == "pairwise" else single_agreement(a, b))
