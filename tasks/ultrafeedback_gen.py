"""Generation on real UltraFeedback (binarized, test_prefs) prompts, scored BLEU-4 and ROUGE-L
against the chosen (highest-rated) answer.

The first `n_samples` usable rows of tasks/data/ultrafeedback/uf_binarized_test_prefs_first500.jsonl.gz
are taken (rows with an empty chosen answer are skipped); runs that train on these rows must use
an `offset` past them.
"""
from harness import GenerateParams, Sample, Task, task
from harness.data.ultrafeedback import load_ultrafeedback
from harness.errors import HarnessError
from harness.tasks import data_dir

FILE = "uf_binarized_test_prefs_first500.jsonl.gz"


@task
def ultrafeedback_gen(n_samples: int = 40, max_new_tokens: int = 128) -> Task:
    if n_samples < 1:
        raise HarnessError("n_samples must be >= 1", field="tasks.ultrafeedback_gen.options.n_samples")

    def load() -> list[Sample]:
        rows, _ = load_ultrafeedback(data_dir() / "ultrafeedback" / FILE, skip_bad_rows=True)
        samples = []
        for r in rows[:n_samples]:
            *history, last = r["prompt"]  # the user turn(s); earlier turns, if any, are context
            samples.append(Sample(id=r["id"], turns=[last["content"]], history=history,
                                  references=[r["chosen"][0]["content"]], category="ultrafeedback"))
        return samples

    return Task(name="ultrafeedback_gen", load=load, metrics=("bleu4", "rougeL"),
                generate_params=GenerateParams(max_new_tokens=max_new_tokens, temperature=0.0),
                description="UltraFeedback test_prefs prompts; BLEU-4/ROUGE-L vs the chosen answer")
