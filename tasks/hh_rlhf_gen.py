"""Generation on real Anthropic HH-RLHF test dialogues (helpful-base and harmless-base), scored
BLEU-4 and ROUGE-L against the human-preferred (chosen) final answer.

The first `n_samples` usable rows are taken, half from each split; runs that train on HH-RLHF
rows must use an `offset` past them (the quickstart does).
"""
from harness import GenerateParams, Sample, Task, task
from harness.data.hh_rlhf import load_hh_rlhf
from harness.tasks import data_dir


@task
def hh_rlhf_gen(n_samples: int = 40, max_new_tokens: int = 64) -> Task:
    def load() -> list[Sample]:
        samples = []
        for split, n in (("helpful-base", (n_samples + 1) // 2), ("harmless-base", n_samples // 2)):
            rows, _ = load_hh_rlhf(data_dir() / "hh_rlhf" / f"{split}-test.jsonl.gz", skip_bad_rows=True, limit=n)
            for r in rows:
                *history, last = r["prompt"]
                samples.append(Sample(id=r["id"], turns=[last["content"]], history=history,
                                      references=[r["chosen"][0]["content"]], category=split))
        return samples

    return Task(name="hh_rlhf_gen", load=load, metrics=("bleu4", "rougeL"),
                generate_params=GenerateParams(max_new_tokens=max_new_tokens, temperature=0.0),
                description="HH-RLHF test dialogues; BLEU-4/ROUGE-L vs the chosen answer")
