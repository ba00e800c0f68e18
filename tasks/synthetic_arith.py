"""Held-out multi-step arithmetic problems from harness.data.synthetic, scored by exact match of
the final answer and by BLEU-4 / ROUGE-L against the worked solution.

The run's data settings (seed, number range, test size) are passed in, so the test problems are
exactly the ones excluded from SFT and preference training. `split: dev` gives the run's
`data.synthetic.n_dev` dev problems instead (disjoint from every other split): the task a grid
is tuned on, so that the test problems stay unseen by the choice.
"""
from harness import GenerateParams, Sample, Task, task
from harness.data import synthetic


@task
def synthetic_arith(run_config=None, n_samples: int | None = None, split: str = "test") -> Task:
    if split not in ("test", "dev"):
        raise TypeError(f"split must be 'test' or 'dev', not {split!r}")
    data = run_config.data.synthetic if run_config is not None else None
    seed = run_config.seed if run_config is not None else 0
    n_test = data.n_test if data else 100
    max_value = data.max_value if data else 99
    n_ops = data.n_ops if data else 2
    available = n_test if split == "test" else (data.n_dev if data else 0)
    if split == "dev" and not available:
        raise TypeError("split 'dev' needs data.synthetic.n_dev > 0 in the run config")
    n = available if n_samples is None else min(n_samples, available)

    def load() -> list[Sample]:
        if split == "test":  # drawn first: no need to draw the training problems
            problems = synthetic.build(seed=seed, n_sft=0, n_preference=0, n_test=n_test, max_value=max_value,
                                       n_ops=n_ops).test
        else:
            problems = synthetic.build(seed=seed, n_sft=data.n_sft, n_preference=data.n_preference, n_test=n_test,
                                       max_value=max_value, n_ops=n_ops, n_dev=data.n_dev).dev
        prefix = "arith" if split == "test" else "arith-dev"
        return [Sample(id=f"{prefix}-{i}", turns=[p.question], references=[synthetic.solution(p)],
                       category="arithmetic", meta={"answer": p.answer}) for i, p in enumerate(problems[:n])]

    return Task(name="synthetic_arith" if split == "test" else "synthetic_arith_dev", load=load,
                metrics=("exact_match", "bleu4", "rougeL"),
                generate_params=GenerateParams(max_new_tokens=64, temperature=0.0),
                description="a+b-c... with worked steps; exact match of the final answer")
