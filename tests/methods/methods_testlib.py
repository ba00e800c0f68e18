"""Shared helpers for tests/methods: NumPy reference losses written from the papers' formulas
(independently of the torch code under test), hand-picked inputs, and a call helper.

Imported by the test modules of this folder as ``methods_testlib`` (pytest's default "prepend"
import mode puts this folder on sys.path; the name is unique to avoid clashes with other folders).
"""
from __future__ import annotations

import math

import numpy as np
import torch

from harness.methods import build_method

LN2 = math.log(2.0)


# ---------------------------------------------------------------- NumPy primitives (float64)

def np_logsigmoid(x):
    return -np.logaddexp(0.0, -np.asarray(x, dtype=np.float64))


def np_sigmoid(x):
    return np.exp(np_logsigmoid(x))


def np_log1mexp(x):
    """log(1 - exp(x)) for x < 0."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x > -LN2, np.log(-np.expm1(x)), np.log1p(-np.exp(x)))


# ---------------------------------------------------------------- NumPy reference losses
# Each takes a dict of float64 arrays (pc, pr, rc, rr, chosen_len, rejected_len, chosen_nll) and the
# method's hyper-parameters, and returns the per-example losses.

def ref_sft(d):
    return d["chosen_nll"]


def ref_dpo(d, beta=0.1):
    h = (d["pc"] - d["rc"]) - (d["pr"] - d["rr"])
    return -np_logsigmoid(beta * h)


def ref_cdpo(d, beta=0.1, label_smoothing=0.1):
    h = (d["pc"] - d["rc"]) - (d["pr"] - d["rr"])
    eps = label_smoothing
    return -(1 - eps) * np_logsigmoid(beta * h) - eps * np_logsigmoid(-beta * h)


def ref_dpop(d, beta=0.3, lambda_=50.0):
    h = (d["pc"] - d["rc"]) - (d["pr"] - d["rr"])
    penalty = np.maximum(0.0, d["rc"] - d["pc"])
    return -np_logsigmoid(beta * (h - lambda_ * penalty))


def ref_ipo(d, beta=0.1):
    lc = np.maximum(d["chosen_len"], 1.0)
    lr = np.maximum(d["rejected_len"], 1.0)
    h_avg = (d["pc"] - d["rc"]) / lc - (d["pr"] - d["rr"]) / lr
    return (h_avg - 1.0 / (2.0 * beta)) ** 2


def ref_rdpo(d, beta=0.1, alpha=0.05):
    h = (d["pc"] - d["rc"]) - (d["pr"] - d["rr"])
    return -np_logsigmoid(beta * h + alpha * (d["chosen_len"] - d["rejected_len"]))


def ref_rpo(d, beta=0.1, alpha=1.0):
    return ref_dpo(d, beta) + alpha * d["chosen_nll"]


def ref_kto(d, beta=0.1, desirable_weight=1.0, undesirable_weight=1.0):
    rw = d["pc"] - d["rc"]
    rl = d["pr"] - d["rr"]
    z_w = max(0.0, float(np.mean(rw)))
    z_l = max(0.0, float(np.mean(rl)))
    loss_w = desirable_weight * (1.0 - np_sigmoid(beta * (rw - z_l)))
    loss_l = undesirable_weight * (1.0 - np_sigmoid(beta * (z_w - rl)))
    return (loss_w + loss_l) / 2.0


def ref_slic(d, beta=0.1):
    h = (d["pc"] - d["rc"]) - (d["pr"] - d["rr"])
    return np.maximum(0.0, 1.0 - beta * h)


def ref_orpo(d, lambda_=0.1):
    odds_w = d["pc"] - np_log1mexp(d["pc"])
    odds_l = d["pr"] - np_log1mexp(d["pr"])
    return d["chosen_nll"] - lambda_ * np_logsigmoid(odds_w - odds_l)


def ref_asft(d, lambda_=1.0):
    # -log pi(yw) - lambda * [log sigma(r_odds(yw)) + log sigma(-r_odds(yl))], written via odds
    odds_w = d["pc"] - np_log1mexp(d["pc"])
    odds_l = d["pr"] - np_log1mexp(d["pr"])
    return d["chosen_nll"] - lambda_ * (np_logsigmoid(odds_w) + np_logsigmoid(-odds_l))


def ref_simpo(d, beta=2.0, gamma_beta_ratio=0.5):
    gamma = beta * gamma_beta_ratio
    return -np_logsigmoid(beta * d["pc"] - beta * d["pr"] - gamma)


def ref_cpo(d, beta=0.1, alpha=1.0):
    return -np_logsigmoid(beta * (d["pc"] - d["pr"])) + alpha * d["chosen_nll"]


REFERENCES = {"sft": ref_sft, "dpo": ref_dpo, "cdpo": ref_cdpo, "dpop": ref_dpop, "ipo": ref_ipo,
              "rdpo": ref_rdpo, "rpo": ref_rpo, "kto": ref_kto, "slic": ref_slic, "orpo": ref_orpo,
              "asft": ref_asft, "simpo": ref_simpo, "cpo": ref_cpo}

ALL_METHODS = sorted(REFERENCES)
REFERENCE_FREE = {"sft", "orpo", "asft", "simpo", "cpo"}
LENGTH_NORMALIZED = {"sft", "orpo", "asft", "simpo"}


# ---------------------------------------------------------------- hand-picked inputs

def summed_batch() -> dict[str, np.ndarray]:
    """Summed-log-prob inputs (DPO family): a mix of won / lost / tied margins, chosen above and
    below the reference, unequal lengths. chosen_nll is consistent: -pc / chosen_len."""
    d = {
        "pc": np.array([-10.0, -5.0, -20.0, -3.0, -7.5]),
        "pr": np.array([-12.0, -4.0, -25.0, -3.0, -9.0]),
        "rc": np.array([-11.0, -5.5, -18.0, -3.0, -7.0]),
        "rr": np.array([-11.5, -4.5, -24.0, -3.5, -8.0]),
        "chosen_len": np.array([5.0, 3.0, 10.0, 2.0, 4.0]),
        "rejected_len": np.array([6.0, 2.0, 12.0, 2.0, 7.0]),
    }
    d["chosen_nll"] = -d["pc"] / d["chosen_len"]
    return d


def mean_batch() -> dict[str, np.ndarray]:
    """Length-normalised (mean token log-prob) inputs for ORPO / ASFT / SimPO / SFT: every value
    < 0, some near 0 (probability near 1) to exercise log1mexp's two branches."""
    d = {
        "pc": np.array([-1.2, -0.3, -2.5, -0.05, -0.7]),
        "pr": np.array([-1.5, -0.2, -3.0, -0.05, -0.01]),
        "chosen_len": np.array([5.0, 3.0, 10.0, 2.0, 4.0]),
        "rejected_len": np.array([6.0, 2.0, 12.0, 2.0, 7.0]),
    }
    d["rc"] = np.full_like(d["pc"], np.nan)  # never read by reference-free methods
    d["rr"] = np.full_like(d["pc"], np.nan)
    d["chosen_nll"] = -d["pc"]
    return d


def batch_for(name: str) -> dict[str, np.ndarray]:
    if name in LENGTH_NORMALIZED:
        return mean_batch()
    if name == "cpo":  # reference-free but on summed log-probs
        d = summed_batch()
        d["rc"] = np.full_like(d["pc"], np.nan)
        d["rr"] = np.full_like(d["pc"], np.nan)
        return d
    return summed_batch()


def take(d: dict[str, np.ndarray], idx) -> dict[str, np.ndarray]:
    return {k: np.asarray(v)[idx] for k, v in d.items()}


# ---------------------------------------------------------------- calling the torch code

def to_torch(d: dict[str, np.ndarray], requires_grad: bool = False) -> dict[str, torch.Tensor]:
    out = {}
    for k, v in d.items():
        t = torch.tensor(np.atleast_1d(v), dtype=torch.float64)
        if requires_grad and k in ("pc", "pr", "chosen_nll"):
            t.requires_grad_(True)
        out[k] = t
    return out


def run_method(m, t: dict[str, torch.Tensor]):
    """Call m.loss the way the trainer adapter does; the reference is None for reference-free
    methods (so a method that wrongly reads it fails loudly)."""
    rc = t["rc"] if m.needs_reference else None
    rr = t["rr"] if m.needs_reference else None
    return m.loss(t["pc"], t["pr"], rc, rr, chosen_nll=t["chosen_nll"],
                  chosen_len=t["chosen_len"], rejected_len=t["rejected_len"])


def losses_of(name: str, d: dict[str, np.ndarray], **params) -> np.ndarray:
    m = build_method(name, params)
    losses, _ = run_method(m, to_torch(d))
    return losses.detach().numpy()
