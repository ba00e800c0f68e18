"""MT-Bench (Zheng et al. 2023): 80 two-turn questions in 8 categories, judged 1-10 by an LLM
with FastChat's prompts (reference-guided for math, reasoning and coding).

Answers use FastChat's per-category temperatures; turn 2 sees the model's own turn-1 answer.
Without a `judge:` section in the run config, the scores are "not judged" (never a number).
"""
from harness import GenerateParams, Sample, Task, task
from harness.mt_bench.fastchat_files import load_samples


@task
def mt_bench(max_new_tokens: int = 1024, n_questions: int | None = None) -> Task:
    """`max_new_tokens` is FastChat's 1024 by default; small models with a short context
    need less. `n_questions` takes the first N questions (for quick checks only)."""

    def load() -> list[Sample]:
        samples = load_samples()
        return samples[:n_questions] if n_questions else samples

    def params(sample: Sample) -> GenerateParams:
        return GenerateParams(max_new_tokens=max_new_tokens, temperature=sample.meta["temperature"])

    return Task(name="mt_bench", load=load, metrics=("mt_bench_turn1", "mt_bench_turn2"),
                generate_params=params, description="MT-Bench, single-answer grading")
