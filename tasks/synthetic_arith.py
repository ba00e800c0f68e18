"""Held-out multi-step arithmetic problems from harness.data.synthetic, scored by exact match of
the final answer and by BLEU-4 / ROUGE-L against the worked solution.

The run's data settings (seed, number range, test size) are passed in, so the test problems are
exactly the ones excluded from SFT and preference training.
"""
from harness import GenerateParams, Sample, Task, task
from harness.data import synthetic


@task
def synthetic_arith(run_config=None, n_samples: int | None = None) -> Task:
    data = run_config.data.synthetic if run_config is not None else None
    seed = run_config.seed if run_config is not None else 0
    n_test = data.n_test if data else 100
    max_value = data.max_value if data else 99
    n_ops = data.n_ops if data else 2
    n = n_test if n_samples is None else min(n_samples, n_test)

    def load() -> list[Sample]:
        problems = synthetic.build(seed=seed, n_sft=0, n_preference=0, n_test=n_test, max_value=max_value,
                                   n_ops=n_ops).test
        return [Sample(id=f"arith-{i}", turns=[p.question], references=[synthetic.solution(p)],
                       category="arithmetic", meta={"answer": p.answer}) for i, p in enumerate(problems[:n])]

    return Task(name="synthetic_arith", load=load, metrics=("exact_match", "bleu4", "rougeL"),
                generate_params=GenerateParams(max_new_tokens=64, temperature=0.0),
                description="a+b-c... with worked steps; exact match of the final answer")
