"""DPOP Fig. 4 for one checkpoint: per kind of held-out pair, the mean log-prob of the chosen
tokens after the first token where chosen and rejected differ, and of whole completions; and
the same per pair (what the findings' paired comparisons resample)."""
from __future__ import annotations

from harness.analyses.base import CheckpointAnalysis


class TokenLogps(CheckpointAnalysis):
    tables = {"token_logps": ["kind", "n", "logp_after_first_diff", "logp_chosen", "logp_rejected"],
              "pair_logps": ["kind", "pair_id", "logp_chosen", "logp_rejected", "logp_after_first_diff"]}

    def inputs(self, cfg, data) -> dict | None:
        from harness.data.prepare import pair_kinds
        kinds = pair_kinds(data.test_pairs)
        if not kinds:
            return None
        return {"pairs": data.test_pairs, "kinds": kinds, "dtype": cfg.model.dtype,
                "max_length": cfg.train.max_length}

    def run(self, inputs: dict, model_dir: str) -> dict[str, list[dict]]:
        from harness.models.load import load_model, load_tokenizer
        from harness.train.logps import logp_after_first_diff, mean_logp_after_first_diff, pair_logps
        tok = load_tokenizer(model_dir)
        model = load_model(model_dir, inputs["dtype"])
        means, per_pair = [], []
        for kind in inputs["kinds"]:
            scored = pair_logps(model, tok, [r for r in inputs["pairs"] if r["kind"] == kind],
                                max_length=inputs["max_length"])
            if not scored:
                continue
            means.append({"kind": kind, "n": len(scored),
                          "logp_after_first_diff": round(mean_logp_after_first_diff(scored), 5),
                          "logp_chosen": round(sum(s["chosen_sum"] for s in scored) / len(scored), 5),
                          "logp_rejected": round(sum(s["rejected_sum"] for s in scored) / len(scored), 5)})
            per_pair += [{"kind": kind, "pair_id": s["id"], "logp_chosen": round(s["chosen_sum"], 5),
                          "logp_rejected": round(s["rejected_sum"], 5),
                          "logp_after_first_diff": round(logp_after_first_diff(s), 5)} for s in scored]
        return {"token_logps": means, "pair_logps": per_pair}
