"""findings.md: the papers' claims that a run can test, each with its verdict, test and numbers.

Verdicts come from intervals, never from prose. For a claim "the effect is below 0" (or above):
*supported* when the 95% CI lies entirely on the claimed side, *contradicted* when it lies
entirely on the other side, *not supported* when it straddles 0 (the run cannot tell).

The likelihood claims (DPOP arXiv 2402.13228 §3-5 and ASFT arXiv 2409.10571) are tested on the
run's held-out preference pairs (pair_logps.csv): the change from the starting checkpoint ("base")
of log pi(chosen), per pair and per training seed, resampled over seeds and pairs together
(bootstrap.crossed_bootstrap_means). Metric claims come from the leaderboard's paired comparisons.
"""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pandas as pd

from harness.manifest import RunManifest
from harness.run_tables import table
from harness.report.bootstrap import (DEFAULT_RESAMPLES, crossed_bootstrap_means, paired_differences,
                                      percentile_interval)

NEAR, FAR = "near_miss", "far_miss"


@dataclasses.dataclass(frozen=True)
class Finding:
    claim: str
    source: str
    test: str
    estimate: float
    lo: float
    hi: float
    n: str
    verdict: str


def verdict(lo: float, hi: float, direction: int) -> str:
    """direction -1: the claim is "below 0"; +1: "above 0"."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return "not testable"
    if direction * lo > 0 and direction * hi > 0:
        return "supported"
    if direction * lo < 0 and direction * hi < 0:
        return "contradicted"
    return "not supported"


def method_rows(manifest: RunManifest) -> dict[str, list[str]]:
    """Method name -> its leaderboard rows (a method may be listed twice with other settings)."""
    out: dict[str, list[str]] = {}
    for m in manifest.config.get("methods", []):
        out.setdefault(m["name"], []).append(m.get("label") or m["name"])
    return out


def change_matrix(pairs: pd.DataFrame, model: str, kind: str, column: str) -> np.ndarray:
    """(seeds x pairs): the model's value minus the base checkpoint's, per held-out pair."""
    base = pairs[(pairs["model"] == "base") & (pairs["kind"] == kind)].set_index("pair_id")[column]
    mine = pairs[(pairs["model"] == model) & (pairs["kind"] == kind)]
    rows = []
    for _, g in mine.groupby("seed"):
        values = g.set_index("pair_id")[column]
        rows.append(values)
    if not rows or base.empty:
        return np.empty((0, 0))
    ids = sorted(set(base.dropna().index).intersection(*(set(r.dropna().index) for r in rows)))
    return np.array([r.loc[ids].to_numpy() - base.loc[ids].to_numpy() for r in rows])


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _shape(m: np.ndarray) -> str:
    return f"{_count(m.shape[0], 'seed')} x {_count(m.shape[1], 'pair')}" if m.size else "no pairs"


def _likelihood_findings(pairs: pd.DataFrame, rows: dict[str, list[str]], n_resamples: int,
                         seed: int) -> list[Finding]:
    out = []
    dpo_rows = rows.get("dpo", [])
    for dpo in dpo_rows:
        who = "DPO" if dpo == "dpo" else f"DPO ({dpo})"
        d = change_matrix(pairs, dpo, NEAR, "logp_chosen")
        r = paired_differences(d, n_resamples, seed)
        out.append(Finding(f"{who} lowers log pi(chosen) on near-miss pairs", "DPOP §3, §5",
                           "change of log pi(chosen) from the starting checkpoint, near-miss pairs",
                           r.diff, r.lo, r.hi, _shape(d), verdict(r.lo, r.hi, -1)))
        near = change_matrix(pairs, dpo, NEAR, "logp_after_first_diff")
        far = change_matrix(pairs, dpo, FAR, "logp_after_first_diff")
        if near.size and far.size:
            diffs = (crossed_bootstrap_means(near, n_resamples, seed)
                     - crossed_bootstrap_means(far, n_resamples, seed + 1))
            lo, hi = percentile_interval(diffs)
            est = float(near.mean() - far.mean())
            out.append(Finding(f"{who} lowers the chosen tokens after the first difference more on near-miss "
                               "than on far-miss pairs", "DPOP §3, Fig. 4",
                               "change of mean log-prob of chosen tokens after the first differing token: "
                               "near-miss minus far-miss", est, lo, hi,
                               f"near {_shape(near)}; far {_shape(far)}", verdict(lo, hi, -1)))
    reference_dpo = "dpo" if "dpo" in dpo_rows else (dpo_rows[0] if dpo_rows else None)
    theirs = change_matrix(pairs, reference_dpo, NEAR, "logp_chosen") if reference_dpo else None
    for name, paper in (("dpop", "DPOP §4-5"), ("asft", "ASFT abstract")):
        for row in rows.get(name, []):
            who = name.upper() if row == name else f"{name.upper()} ({row})"
            mine = change_matrix(pairs, row, NEAR, "logp_chosen")
            r = paired_differences(mine, n_resamples, seed)
            out.append(Finding(f"{who} does not lower log pi(chosen) on near-miss pairs", paper,
                               "change of log pi(chosen) from the starting checkpoint, near-miss pairs "
                               "(supported only when it rises)", r.diff, r.lo, r.hi, _shape(mine),
                               verdict(r.lo, r.hi, +1)))
            if theirs is None:
                continue
            k = min(len(mine), len(theirs))
            if k and mine.shape[1] == theirs.shape[1]:
                diff = paired_differences(mine[:k] - theirs[:k], n_resamples, seed)
                out.append(Finding(f"{who} keeps log pi(chosen) on near-miss pairs higher than DPO", paper,
                                   f"{row} minus {reference_dpo}, change of log pi(chosen), paired by seed "
                                   "and pair", diff.diff, diff.lo, diff.hi, _shape(mine[:k]),
                                   verdict(diff.lo, diff.hi, +1)))
    return out


def _metric_findings(comparisons: pd.DataFrame) -> list[Finding]:
    out = []
    for r in comparisons.itertuples(index=False):
        if r.n == 0:
            continue
        out.append(Finding(f"{r.model} beats {r.baseline} on {r.metric}", "leaderboard",
                           "paired bootstrap by seed and sample", r.diff, r.lo, r.hi,
                           f"{_count(r.seeds, 'seed')} x {_count(r.n, 'sample')}", verdict(r.lo, r.hi, +1)))
    return out


def read_pairs(run_dirs: list[Path]) -> pd.DataFrame:
    """pair_logps.csv of the given runs (runs merged because they differ only in seed)."""
    frames = [pd.read_csv(p) for d in run_dirs if (p := table("pair_logps").path(d)).exists() and p.stat().st_size]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def findings(manifest: RunManifest, pairs: pd.DataFrame, comparisons: pd.DataFrame,
             n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> list[Finding]:
    out = _likelihood_findings(pairs, method_rows(manifest), n_resamples, seed) if not pairs.empty else []
    return out + _metric_findings(comparisons)


def _num(x: float) -> str:
    return f"{x:+.3f}" if math.isfinite(x) else "-"


def to_markdown(items: list[Finding], title: str) -> str:
    lines = [f"# Findings: {title}", "",
             "Each claim is tested on this run; the verdict follows from the 95% CI (bootstrap over "
             "training seeds and samples): supported = entirely on the claimed side of 0, contradicted = "
             "entirely on the other side, not supported = straddles 0. Written by harness.report.findings.",
             "", "| claim | source | verdict | estimate [95% CI] | test | n |", "|---|---|---|---:|---|---|"]
    for f in items:
        lines.append(f"| {f.claim} | {f.source} | **{f.verdict}** | {_num(f.estimate)} [{_num(f.lo)}, "
                     f"{_num(f.hi)}] | {f.test} | {f.n} |")
    if not items:
        lines.append("| (nothing this run can test) | | | | | |")
    if not any(f.source != "leaderboard" for f in items):
        lines += ["", "The DPOP and ASFT papers' likelihood claims are not tested on this run: they need a DPO, DPOP "
                  "or ASFT row and held-out near-miss pairs (`data.synthetic`, or the `gsm8k` loader) with the "
                  "`token_logps` analysis."]
    return "\n".join(lines) + "\n"
