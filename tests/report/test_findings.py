"""findings.md verdicts from intervals: planted effects give the verdict they must, a null effect
gives "not supported", and a configured method without rows is "not testable"."""
from __future__ import annotations

import numpy as np
import pandas as pd

from harness.manifest import RunManifest
import pytest

from harness.report.findings import findings, to_markdown, verdict

MANIFEST = {"config": {"methods": [{"name": "dpo"}, {"name": "dpop", "label": "dpop_l50"}, {"name": "asft"}]}}


def _pairs(effects: dict[str, dict[str, float]], seeds=(0, 1, 2), n=40, noise=0.3) -> pd.DataFrame:
    """Base log-probs per pair, then each model = base + effect[kind] + noise, per seed.
    `effects[model]` may give "near_miss", "far_miss" (whole chosen) and "after_near", "after_far"."""
    rng = np.random.default_rng(0)
    rows = []
    base = {(k, i): (rng.normal(-12, 2), rng.normal(-0.8, 0.1)) for k in ("near_miss", "far_miss") for i in range(n)}
    for (kind, i), (lc, la) in base.items():
        rows.append({"model": "base", "seed": 0, "kind": kind, "pair_id": f"p{i}-{kind}",
                     "logp_chosen": lc, "logp_after_first_diff": la})
    for model, eff in effects.items():
        for seed in seeds:
            for (kind, i), (lc, la) in base.items():
                after = eff.get("after_near" if kind == "near_miss" else "after_far", 0.0)
                rows.append({"model": model, "seed": seed, "kind": kind, "pair_id": f"p{i}-{kind}",
                             "logp_chosen": lc + eff.get(kind, 0.0) + rng.normal(0, noise),
                             "logp_after_first_diff": la + after + rng.normal(0, noise / 10)})
    return pd.DataFrame(rows)


def _by_claim(items):
    return {f.claim: f for f in items}


def test_planted_effects_give_their_verdicts():
    pairs = _pairs({"dpo": {"near_miss": -2.0, "after_near": -0.5, "after_far": -0.1},
                    "dpop_l50": {"near_miss": +1.0}, "asft": {"near_miss": 0.0}})
    got = _by_claim(findings(RunManifest.model_validate(MANIFEST), pairs, pd.DataFrame()))
    assert got["DPO lowers log pi(chosen) on near-miss pairs"].verdict == "supported"
    assert got["DPO lowers log pi(chosen) on near-miss pairs"].estimate == pytest.approx(-2.0, abs=0.1)
    assert got["DPO lowers log pi(chosen) on near-miss pairs"].n == "3 seeds x 40 pairs"
    assert got["DPO lowers the chosen tokens after the first difference more on near-miss than on "
               "far-miss pairs"].verdict == "supported"
    assert got["DPOP (dpop_l50) does not lower log pi(chosen) on near-miss pairs"].verdict == "supported"
    assert got["DPOP (dpop_l50) keeps log pi(chosen) on near-miss pairs higher than DPO"].verdict == "supported"
    assert got["ASFT does not lower log pi(chosen) on near-miss pairs"].verdict == "not supported"
    assert "not tested on this run" not in to_markdown(list(got.values()), "run")


def test_reversed_effects_contradict():
    pairs = _pairs({"dpo": {"near_miss": +1.5, "after_near": +0.2, "after_far": -0.2},
                    "dpop_l50": {"near_miss": -3.0}})
    got = _by_claim(findings(RunManifest.model_validate(MANIFEST), pairs, pd.DataFrame()))
    assert got["DPO lowers log pi(chosen) on near-miss pairs"].verdict == "contradicted"
    assert got["DPOP (dpop_l50) does not lower log pi(chosen) on near-miss pairs"].verdict == "contradicted"
    assert got["DPOP (dpop_l50) keeps log pi(chosen) on near-miss pairs higher than DPO"].verdict == "contradicted"
    # asft is configured but has no rows (its training failed, say): listed, not testable
    assert got["ASFT does not lower log pi(chosen) on near-miss pairs"].verdict == "not testable"
    assert got["ASFT does not lower log pi(chosen) on near-miss pairs"].n == "no pairs"


def test_metric_claims_from_comparisons_and_markdown():
    cmp = pd.DataFrame([{"metric": "t/em", "model": "asft", "baseline": "dpo", "seeds": 3, "n": 60,
                         "diff": 5.0, "lo": 1.0, "hi": 9.0, "p_value": 0.01, "verdict": "supported"},
                        {"metric": "t/em", "model": "orpo", "baseline": "dpo", "seeds": 3, "n": 60,
                         "diff": -1.0, "lo": -4.0, "hi": 2.0, "p_value": 0.5, "verdict": "not supported"}])
    items = findings(RunManifest(), pd.DataFrame(), cmp)
    assert [(f.claim, f.verdict) for f in items] == [("asft beats dpo on t/em", "supported"),
                                                      ("orpo beats dpo on t/em", "not supported")]
    md = to_markdown(items, "run")
    assert "| asft beats dpo on t/em | leaderboard | **supported** | +5.000 [+1.000, +9.000] |" in md
    assert "likelihood claims are not tested on this run: they need" in md  # no held-out pairs: said, not silent


@pytest.mark.parametrize("lo,hi,direction,want", [(-2, -1, -1, "supported"), (1, 2, -1, "contradicted"),
                                                  (-1, 1, -1, "not supported"), (1, 2, 1, "supported"),
                                                  (float("nan"), 1, 1, "not testable")])
def test_verdict_rule(lo, hi, direction, want):
    assert verdict(lo, hi, direction) == want
