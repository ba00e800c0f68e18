"""The real-model path end to end, small: `harness run` through the CLI on SmolLM2-135M-Instruct as
its GGUF file, exactly as tasks/runs/smollm2.yaml runs it, at a few steps and a few questions:
GGUF conversion (a cached stage), an SFT of the starting checkpoint with LoRA (a template without
generation markers), reference log-probs and a LoRA training of DPO with its own learning rate and
gradient accumulation, vLLM generation from the merged checkpoints (transformers where vLLM is
absent), scores and the leaderboard. One method: each more costs a training and a vLLM engine,
and every method's loss is tested on its own (tests/methods)."""
import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "tasks" / "runs" / "smollm2.yaml"
SMALL = [
    "run_name=smollm2_ci",
    "sft={max_steps: 2, batch_size: 2, learning_rate: 1.0e-4, warmup_steps: 0, max_length: 128}",
    "data.sft_extra=[{loader: hh_rlhf, path: tasks/data/hh_rlhf/helpful-base-test.jsonl.gz, offset: 900, "
    "limit: 8, skip_bad_rows: true}]",
    "data.preference_extra=[{loader: hh_rlhf, path: tasks/data/hh_rlhf/helpful-base-test.jsonl.gz, offset: 500, "
    "limit: 12, heldout: 4, skip_bad_rows: true}]",
    "train={max_steps: 2, batch_size: 2, learning_rate: 1.0e-3, max_length: 128, logps_every: 1, probe_pairs: 4}",
    "methods=[{name: dpo, train: {learning_rate: 2.0e-3, gradient_accumulation_steps: 2}}]",
    "tasks=[{name: mt_bench, options: {n_questions: 2, max_new_tokens: 24}}, "
    "{name: hh_rlhf_gen, options: {n_samples: 4, max_new_tokens: 16}}, "
    "{name: ultrafeedback_gen, options: {n_samples: 2, max_new_tokens: 16}}]",
    "baseline=null",
]


def _run(tmp: Path, *extra: str) -> dict:
    args = [a for s in SMALL + list(extra) for a in ("--set", s)]
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "run", str(CONFIG), *args, "--set",
                           f"cache_dir={tmp}/cache", "--set", f"results_dir={tmp}/results"],
                          capture_output=True, text=True, cwd=REPO, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads((tmp / "results" / "smollm2_ci" / "manifest.json").read_text())


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("real")
    return tmp, _run(tmp)


def test_real_model_run_end_to_end(run):
    tmp, manifest = run
    out = tmp / "results" / "smollm2_ci"
    assert {"source", "base", "reference", "train:dpo"} <= set(manifest["computed_this_run"])
    dpo = manifest["training"]["dpo"]  # the method's own train: section over the run's (batch 2, lr 1e-3)
    assert dpo["global_batch"] == 4 and dpo["learning_rate"] == 2e-3 and dpo["peft"] == "lora"
    assert not any(Path(p).is_absolute() for p in manifest["checkpoints"].values())

    lb = pd.read_csv(out / "leaderboard.csv")
    assert list(lb["model"]) == ["base", "dpo"]
    assert list(lb["train:global_batch"].iloc[1:]) == [4]
    scores = pd.read_csv(out / "scores.csv")
    ok = scores[scores["status"] == "ok"]
    assert len(ok) == 2 * (4 + 2) * 2  # 2 models x (hh + uf samples) x (bleu4, rougeL)
    assert all(math.isfinite(v) and 0 <= v <= 100 for v in ok["score"])

    # real English from the real model, both MT-Bench turns, from every checkpoint
    for row in ("base", "dpo"):
        answers = [json.loads(line) for line in (out / "answers" / "mt_bench" / f"{row}.jsonl").read_text().splitlines()]
        assert len(answers) == 2
        for a in answers:
            turns = a["choices"][0]["turns"]
            assert len(turns) == 2 and all(len(t.split()) >= 3 for t in turns), turns
    text = " ".join(json.loads(line)["choices"][0]["turns"][0]
                    for line in (out / "answers" / "mt_bench" / "base.jsonl").read_text().splitlines())
    assert sum(w.lower() in {"the", "a", "and", "to", "of", "i", "in", "is", "you"} for w in text.split()) >= 3

    # the trained checkpoints are plain merged weights and differ from the base
    from safetensors.torch import load_file
    cache = tmp / "cache"
    base = load_file(cache / manifest["checkpoints"]["base"] / "model.safetensors")
    dpo = load_file(cache / manifest["checkpoints"]["dpo"] / "model.safetensors")
    assert set(base) == set(dpo) and any((base[k] - dpo[k]).abs().max() > 0 for k in base)
    assert (cache / manifest["checkpoints"]["dpo"]).parent.joinpath("adapter", "adapter_config.json").exists()
    dynamics = pd.read_csv(out / "dynamics.csv")
    assert set(dynamics["kind"]) == {"hh_rlhf"} and set(dynamics["step"]) == {0, 1, 2}


def test_real_model_rerun_converts_nothing(run):
    tmp, _ = run
    again = _run(tmp)
    assert again["computed_this_run"] == []
