"""Fidelity against published GPT-4 judgments: a replay judge on 127.0.0.1 answers each prompt with
the judgment GPT-4 gave to that exact prompt (FastChat recorded the prompt it sent). Judging the
published answers of two models through the harness must send prompts byte-identical to FastChat's
and turn the recorded judgments into the published scores."""
import gzip
import json
from pathlib import Path

from loopback_judge import LoopbackJudge

from harness.judges.config import JudgeConfig
from harness.mt_bench.fastchat_files import load_model_answers, load_questions
from harness.mt_bench.runner import judge_mt_bench

DATA = Path(__file__).resolve().parents[2] / "tasks/data/mt_bench_published"
MODELS = ("mistral-orpo-capybara", "mistral-orpo-mix")  # answers shipped; one judging pass each


def test_replayed_gpt4_judgments_reproduce_prompts_and_scores(tmp_path):
    with gzip.open(DATA / "model_judgment/gpt-4_single.jsonl.gz", "rt") as f:
        published = [json.loads(line) for line in f]
    published = [r for r in published if r["model"] in MODELS]
    by_prompt = {r["user_prompt"]: r["judgment"] for r in published}
    unmatched: list[str] = []

    def replay(messages: list[dict]) -> str:
        user = messages[-1]["content"]
        if user not in by_prompt:
            unmatched.append(user)
            return "no recorded judgment for this prompt"
        return by_prompt[user]

    answers = {m: a for m, a in load_model_answers(DATA / "model_answer").items() if m in MODELS}
    with LoopbackJudge(reply=replay) as judge:
        cfg = JudgeConfig(base_url=judge.base_url, model="gpt-4", api_key_env=None, concurrency=8,
                          max_retries=0)
        recs = judge_mt_bench(cfg, load_questions(), answers, None, tmp_path / "j.jsonl", progress=False)

    assert len(recs) == len(MODELS) * 160 and not unmatched  # every prompt byte-identical to FastChat's
    ours = {(r["model"], r["question_id"], r["turn"]): r["score"] for r in recs}
    theirs = {(r["model"], r["question_id"], r["turn"]): r["score"] for r in published}
    assert ours == theirs  # the recorded judgments parse to the published scores, -1 included
