"""Exactness against TRL 1.16, on the same inputs, to 1e-6.

TRL 1.16 computes the DPO-family losses inline in ``DPOTrainer._compute_loss`` (and KTO inline in
``KTOTrainer._compute_loss``). We call those real methods, unbound, with a stub ``self`` carrying the
trainer attributes they read and a stub model whose fused LM head returns chosen per-token
log-probs: everything from per-token log-probs to the loss is TRL's own code. Reference log-probs go
in through TRL's ``precompute_ref_log_probs`` path (``inputs["ref_chosen_logps"]``). What is not
exercised is TRL's tokenisation and its model forward, which are not part of a loss.

CPO, SimPO, cDPO's label smoothing and ORPO's odds-ratio term are separate methods of TRL's
experimental ``CPOTrainer`` / ``ORPOTrainer`` and are called directly with a stub ``self``.

Where TRL's and our losses differ by design the test says so and pins the difference:
- TRL's SFT term (RPO = ["sigmoid", "sft"]; CPO's ``nll_loss``) is a token mean over the batch, ours
  a per-example mean: identical for a batch of one or for equal chosen lengths;
- KTO: TRL 1.16 has only the unpaired trainer (one reference point from mismatched pairs); our paired
  form is reproduced half by half, feeding TRL the other half's log-probs as its "KL" completions.
"""
from __future__ import annotations

import warnings
from collections import defaultdict
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from harness.methods import build_method
from methods_testlib import run_method, to_torch

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from trl.experimental.cpo.cpo_trainer import CPOTrainer
    from trl.experimental.orpo.orpo_trainer import ORPOTrainer
    from trl.trainer.dpo_trainer import DPOTrainer
    from trl.trainer.kto_trainer import KTOTrainer

ATOL = 1e-6


def test_trl_version_is_pinned():
    import trl
    assert trl.__version__ == "1.16.0"


# ---------------------------------------------------------------- inputs

def _pairs(lengths_c=(3, 5, 2, 4), lengths_r=(4, 2, 6, 3), seed=0):
    """Per-token policy log-probs for each completion, summed reference log-probs, lengths."""
    rng = np.random.default_rng(seed)
    chosen_tok = [-rng.gamma(1.5, 0.6, n) for n in lengths_c]
    rejected_tok = [-rng.gamma(1.5, 0.8, n) for n in lengths_r]
    pc = np.array([t.sum() for t in chosen_tok])
    pr = np.array([t.sum() for t in rejected_tok])
    rc = pc + rng.normal(0.0, 1.5, len(pc))
    rr = pr + rng.normal(0.0, 1.5, len(pr))
    return chosen_tok, rejected_tok, pc, pr, rc, rr


def _extras(chosen_tok, rejected_tok):
    return {"chosen_len": np.array([len(t) for t in chosen_tok], dtype=np.float64),
            "rejected_len": np.array([len(t) for t in rejected_tok], dtype=np.float64),
            "chosen_nll": np.array([-t.mean() for t in chosen_tok])}


def _ours(name, params, pc, pr, rc, rr, extras):
    d = {"pc": pc, "pr": pr, "rc": rc, "rr": rr, **extras}
    losses, _ = run_method(build_method(name, params), to_torch(d))
    return losses.detach().numpy()


# ---------------------------------------------------------------- stubs for TRL's trainers

class _Accelerator:
    device = torch.device("cpu")

    @staticmethod
    def gather_for_metrics(x):
        return x

    @staticmethod
    def gather(x):
        return x

    @staticmethod
    def unwrap_model(m):
        return m


def _layout(token_lists):
    """One prompt token then the completion, right-padded; log_probs aligned with TRL's shift."""
    n, width = len(token_lists), 1 + max(len(t) for t in token_lists)
    completion_mask = torch.zeros(n, width, dtype=torch.long)
    attention_mask = torch.zeros(n, width, dtype=torch.long)
    log_probs = torch.zeros(n, width - 1, dtype=torch.float64)
    for i, toks in enumerate(token_lists):
        completion_mask[i, 1:1 + len(toks)] = 1
        attention_mask[i, :1 + len(toks)] = 1
        log_probs[i, :len(toks)] = torch.tensor(toks, dtype=torch.float64)  # masked positions stay 0
    input_ids = torch.ones(n, width, dtype=torch.long)
    return input_ids, attention_mask, completion_mask, log_probs


class _FusedHeadModel:
    """Stands in for a model called with ``fused_lm_head=True``: returns the given per-token
    log-probs (0 where labels are -100, as the fused head does) and zero logging tensors."""

    def __init__(self, log_probs, completion_mask):
        self.log_probs = log_probs
        self.completion_mask = completion_mask

    def __call__(self, *, input_ids, labels, fused_lm_head, **_):
        assert fused_lm_head is True
        assert torch.equal(labels[:, 1:] != -100, self.completion_mask[:, 1:].bool())
        zeros = torch.zeros_like(self.log_probs)
        return SimpleNamespace(log_probs=self.log_probs, entropy=zeros, mean_logits=zeros,
                               is_top1=torch.zeros_like(self.log_probs, dtype=torch.bool))


def _trainer_self(**attrs):
    base = dict(model=SimpleNamespace(training=True), accelerator=_Accelerator(), aux_loss_enabled=False,
                _metrics={"train": defaultdict(list), "eval": defaultdict(list)}, _total_train_tokens=0,
                _tp_size=1)
    base.update(attrs)
    return SimpleNamespace(**base)


def trl_dpo_loss(loss_types, beta, chosen_tok, rejected_tok, rc, rr, *, loss_weights=None, label_smoothing=0.0):
    """TRL 1.16 DPOTrainer._compute_loss on a batch [chosen..., rejected...]."""
    input_ids, attention_mask, completion_mask, log_probs = _layout(list(chosen_tok) + list(rejected_tok))
    stub = _trainer_self(ld_alpha=None, precompute_ref_logps=True, f_divergence_type="reverse_kl",
                         loss_types=list(loss_types), loss_weights=loss_weights or [1.0] * len(loss_types),
                         beta=beta, label_smoothing=label_smoothing, use_weighting=False,
                         args=SimpleNamespace(discopop_tau=0.05))
    inputs = {"input_ids": input_ids, "attention_mask": attention_mask, "completion_mask": completion_mask,
              "ref_chosen_logps": torch.tensor(rc, dtype=torch.float64),
              "ref_rejected_logps": torch.tensor(rr, dtype=torch.float64)}
    loss = DPOTrainer._compute_loss(stub, _FusedHeadModel(log_probs, completion_mask), inputs, False)
    return float(loss), stub._metrics["train"]


def _per_pair_and_batch(name, params, trl_kwargs, lengths_c=(3, 5, 2, 4), lengths_r=(4, 2, 6, 3)):
    chosen_tok, rejected_tok, pc, pr, rc, rr = _pairs(lengths_c, lengths_r)
    ours = _ours(name, params, pc, pr, rc, rr, _extras(chosen_tok, rejected_tok))
    for i in range(len(pc)):  # each pair alone: TRL's batch mean is that pair's loss
        trl_i, _ = trl_dpo_loss(chosen_tok=chosen_tok[i:i + 1], rejected_tok=rejected_tok[i:i + 1],
                                rc=rc[i:i + 1], rr=rr[i:i + 1], **trl_kwargs)
        assert ours[i] == pytest.approx(trl_i, abs=ATOL), f"pair {i}"
    trl_all, metrics = trl_dpo_loss(chosen_tok=chosen_tok, rejected_tok=rejected_tok, rc=rc, rr=rr, **trl_kwargs)
    return ours, trl_all, metrics, (pc, pr, rc, rr)


# ---------------------------------------------------------------- DPOTrainer loss types

@pytest.mark.parametrize("beta", [0.1, 0.5])
def test_dpo_equals_trl_sigmoid(beta):
    ours, trl_all, metrics, (pc, pr, rc, rr) = _per_pair_and_batch(
        "dpo", {"beta": beta}, {"loss_types": ["sigmoid"], "beta": beta})
    assert ours.mean() == pytest.approx(trl_all, abs=ATOL)
    # the reward metrics agree too
    _, our_metrics = run_method(build_method("dpo", {"beta": beta}),
                                to_torch({"pc": pc, "pr": pr, "rc": rc, "rr": rr, "chosen_len": pc * 0,
                                          "rejected_len": pc * 0, "chosen_nll": pc * 0}))
    assert our_metrics["rewards/chosen"].item() == pytest.approx(metrics["rewards/chosen"][-1], abs=ATOL)
    assert our_metrics["rewards/margin"].item() == pytest.approx(metrics["rewards/margins"][-1], abs=ATOL)
    assert our_metrics["rewards/accuracy"].item() == pytest.approx(metrics["rewards/accuracies"][-1], abs=ATOL)


@pytest.mark.parametrize("name,params", [("dpop", {"beta": 0.1, "lambda_": 0.0}),
                                         ("rdpo", {"beta": 0.1, "alpha": 0.0}),
                                         ("cdpo", {"beta": 0.1, "label_smoothing": 0.0}),
                                         ("rpo", {"beta": 0.1, "alpha": 0.0})])
def test_dpo_relatives_reduce_to_trl_sigmoid(name, params):
    ours, trl_all, _, _ = _per_pair_and_batch(name, params, {"loss_types": ["sigmoid"], "beta": 0.1})
    assert ours.mean() == pytest.approx(trl_all, abs=ATOL)


@pytest.mark.parametrize("beta", [0.1, 0.5, 1.0])
def test_ipo_equals_trl_ipo(beta):
    ours, trl_all, _, _ = _per_pair_and_batch("ipo", {"beta": beta}, {"loss_types": ["ipo"], "beta": beta})
    assert ours.mean() == pytest.approx(trl_all, abs=ATOL)


@pytest.mark.parametrize("beta", [0.1, 1.0])
def test_slic_equals_trl_hinge(beta):
    ours, trl_all, _, _ = _per_pair_and_batch("slic", {"beta": beta}, {"loss_types": ["hinge"], "beta": beta})
    assert ours.mean() == pytest.approx(trl_all, abs=ATOL)
    assert (ours == 0).any() or beta == 0.1  # with beta = 1 some pairs are past the margin


@pytest.mark.parametrize("alpha", [1.0, 0.5])
def test_rpo_equals_trl_sigmoid_plus_sft(alpha):
    trl_kwargs = {"loss_types": ["sigmoid", "sft"], "loss_weights": [1.0, alpha], "beta": 0.1}
    # per pair: exact; batch with equal chosen lengths: exact
    ours, trl_all, _, _ = _per_pair_and_batch("rpo", {"alpha": alpha}, trl_kwargs, lengths_c=(4, 4, 4, 4))
    assert ours.mean() == pytest.approx(trl_all, abs=ATOL)
    # unequal chosen lengths: TRL's SFT term is the batch token mean, ours the mean of per-pair means
    chosen_tok, rejected_tok, pc, pr, rc, rr = _pairs()
    extras = _extras(chosen_tok, rejected_tok)
    ours = _ours("rpo", {"alpha": alpha}, pc, pr, rc, rr, extras)
    trl_all, _ = trl_dpo_loss(chosen_tok=chosen_tok, rejected_tok=rejected_tok, rc=rc, rr=rr, **trl_kwargs)
    token_mean_nll = -np.concatenate(chosen_tok).mean()
    assert ours.mean() - alpha * extras["chosen_nll"].mean() == pytest.approx(
        trl_all - alpha * token_mean_nll, abs=ATOL)


def test_cdpo_is_not_trl_robust():
    """TRL 1.16's "robust" (rDPO) is a different loss from cDPO at the same eps > 0 (at eps = 0 both
    are DPO, checked first)."""
    ours, trl_all, _, _ = _per_pair_and_batch("cdpo", {"label_smoothing": 0.0},
                                              {"loss_types": ["robust"], "beta": 0.1, "label_smoothing": 0.0})
    chosen_tok, rejected_tok, pc, pr, rc, rr = _pairs()
    cdpo = _ours("cdpo", {"label_smoothing": 0.2}, pc, pr, rc, rr, _extras(chosen_tok, rejected_tok)).mean()
    robust, _ = trl_dpo_loss(["robust"], 0.1, chosen_tok, rejected_tok, rc, rr, label_smoothing=0.2)
    assert abs(cdpo - robust) > 1e-3


# ---------------------------------------------------------------- CPOTrainer / ORPOTrainer methods

def _cpo_self(loss_type, beta, label_smoothing=0.0, simpo_gamma=None):
    return SimpleNamespace(alpha=0.0, loss_type=loss_type, beta=beta, label_smoothing=label_smoothing,
                           simpo_gamma=simpo_gamma, accelerator=_Accelerator())


@pytest.mark.parametrize("beta,eps", [(0.1, 0.1), (0.5, 0.25), (0.1, 0.0)])
def test_cdpo_equals_trl_label_smoothed_sigmoid(beta, eps):
    # CPOTrainer.cpo_loss keeps TRL's conservative (label-smoothed) sigmoid; its "logits" are
    # pc - pr, so feeding it the log-ratios pc - rc and pr - rr gives cDPO's beta * h
    chosen_tok, rejected_tok, pc, pr, rc, rr = _pairs()
    ours = _ours("cdpo", {"beta": beta, "label_smoothing": eps}, pc, pr, rc, rr, _extras(chosen_tok, rejected_tok))
    t = lambda x: torch.tensor(x, dtype=torch.float64)  # noqa: E731
    trl_losses, _, _ = CPOTrainer.cpo_loss(_cpo_self("sigmoid", beta, eps), t(pc - rc), t(pr - rr))
    np.testing.assert_allclose(ours, trl_losses.numpy(), atol=ATOL)


@pytest.mark.parametrize("beta,ratio", [(2.0, 0.5), (2.5, 0.3), (10.0, 0.3)])
def test_simpo_equals_trl_cpo_simpo(beta, ratio):
    chosen_tok, rejected_tok, *_ = _pairs()
    mc = np.array([t.mean() for t in chosen_tok])  # length-normalised, as TRL's average_log_prob=True
    mr = np.array([t.mean() for t in rejected_tok])
    ours = _ours("simpo", {"beta": beta, "gamma_beta_ratio": ratio}, mc, mr, mc * np.nan, mr * np.nan,
                 _extras(chosen_tok, rejected_tok))
    t = lambda x: torch.tensor(x, dtype=torch.float64)  # noqa: E731
    trl_losses, _, _ = CPOTrainer.cpo_loss(_cpo_self("simpo", beta, simpo_gamma=beta * ratio), t(mc), t(mr))
    np.testing.assert_allclose(ours, trl_losses.numpy(), atol=ATOL)


@pytest.mark.parametrize("beta,alpha", [(0.1, 1.0), (0.5, 0.5)])
def test_cpo_equals_trl_cpo_sigmoid_plus_nll(beta, alpha):
    chosen_tok, rejected_tok, pc, pr, _, _ = _pairs()
    extras = _extras(chosen_tok, rejected_tok)
    ours = _ours("cpo", {"beta": beta, "alpha": alpha}, pc, pr, pc * np.nan, pr * np.nan, extras)
    t = lambda x: torch.tensor(x, dtype=torch.float64)  # noqa: E731
    trl_losses, _, _ = CPOTrainer.cpo_loss(_cpo_self("sigmoid", beta), t(pc), t(pr))
    # TRL: loss = losses.mean() + cpo_alpha * nll_loss, nll_loss a token-mean cross-entropy; per pair
    # (batch of one) that is the pair's mean-token NLL, i.e. extras["chosen_nll"]
    np.testing.assert_allclose(ours, trl_losses.numpy() + alpha * extras["chosen_nll"], atol=ATOL)


@pytest.mark.parametrize("lambda_", [0.1, 1.0])
def test_orpo_equals_trl_odds_ratio_loss(lambda_):
    chosen_tok, rejected_tok, *_ = _pairs()
    mc = np.array([t.mean() for t in chosen_tok])
    mr = np.array([t.mean() for t in rejected_tok])
    extras = _extras(chosen_tok, rejected_tok)
    ours = _ours("orpo", {"lambda_": lambda_}, mc, mr, mc * np.nan, mr * np.nan, extras)
    t = lambda x: torch.tensor(x, dtype=torch.float64)  # noqa: E731
    stub = SimpleNamespace(beta=lambda_, accelerator=_Accelerator())
    trl_losses, *_ = ORPOTrainer.odds_ratio_loss(stub, t(mc), t(mr))
    # TRL: loss = policy_nll_loss - losses.mean(); TRL's ORPO NLL also covers prompt tokens (its
    # comment says so), ours only the completion, so the NLL term is compared to chosen_nll here
    np.testing.assert_allclose(ours, extras["chosen_nll"] - trl_losses.numpy(), atol=ATOL)


# ---------------------------------------------------------------- KTOTrainer

def trl_kto_loss(beta, tok, ref, labels, kl_policy, kl_ref, desirable_weight=1.0, undesirable_weight=1.0):
    """TRL 1.16 KTOTrainer._compute_loss; ``kl_policy`` / ``kl_ref`` are the summed log-probs TRL would
    compute on its KL (mismatched) completions."""
    input_ids, attention_mask, completion_mask, log_probs = _layout(tok)
    stub = _trainer_self(precompute_ref_logps=True, calculate_KL=True, loss_type="kto", beta=beta,
                         desirable_weight=desirable_weight, undesirable_weight=undesirable_weight,
                         _compute_kl_logps=lambda model, batch: torch.tensor(kl_policy, dtype=torch.float64))
    batch = {"input_ids": input_ids, "attention_mask": attention_mask, "completion_mask": completion_mask,
             "label": torch.tensor(labels, dtype=torch.bool), "ref_logps": torch.tensor(ref, dtype=torch.float64),
             "ref_KL_logps": torch.tensor(kl_ref, dtype=torch.float64)}
    return float(KTOTrainer._compute_loss(stub, _FusedHeadModel(log_probs, completion_mask), batch, False))


@pytest.mark.parametrize("shift", [0.0, 2.0], ids=["kl_clamped", "kl_positive"])
@pytest.mark.parametrize("beta,wd,wu", [(0.1, 1.0, 1.0), (0.5, 1.2, 0.9)])
def test_kto_pair_equals_trl_kto_half_by_half(beta, wd, wu, shift):
    chosen_tok, rejected_tok, pc, pr, rc, rr = _pairs()
    rc, rr = rc - shift, rr - shift  # shift > 0 makes both batch-mean log-ratios positive
    params = {"beta": beta, "desirable_weight": wd, "undesirable_weight": wu}
    ours = _ours("kto", params, pc, pr, rc, rr, _extras(chosen_tok, rejected_tok)).mean()
    n = len(pc)
    # desirable half: reference point from the rejected completions; undesirable half: from the chosen
    desirable = trl_kto_loss(beta, chosen_tok, rc, [True] * n, pr, rr, wd, wu)
    undesirable = trl_kto_loss(beta, rejected_tok, rr, [False] * n, pc, rc, wd, wu)
    assert ours == pytest.approx((desirable + undesirable) / 2, abs=ATOL)
