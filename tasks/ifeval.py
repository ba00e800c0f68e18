"""IFEval (Zhou et al. 2023): 541 prompts with 25 kinds of verifiable instructions, scored by rule.

Each prompt is answered single-turn through the model's chat template, greedily. The four
accuracies are the reference's (harness.ifeval.scorer); the run folder also gets
`ifeval_by_instruction.md/.csv`, the accuracy per instruction kind for every model.
"""
from harness import GenerateParams, Sample, Task, task


@task
def ifeval(max_new_tokens: int = 1280, n_prompts: int | None = None) -> Task:
    """`max_new_tokens` is lm-eval's 1280 by default (answers of 300+ words need several hundred
    tokens); `n_prompts` takes the first N prompts of the file (a fixed subset: cheaper, wider CIs,
    and not comparable with figures over all 541)."""
    from harness.ifeval.data import load_prompts
    from harness.metrics.ifeval import IFEVAL_METRICS

    def load() -> list[Sample]:
        prompts = load_prompts()
        prompts = prompts[:n_prompts] if n_prompts else prompts
        return [Sample(id=f"ifeval-{p.key}", turns=[p.prompt],
                       meta={"key": p.key, "instruction_id_list": list(p.instruction_id_list),
                             "kwargs": [dict(k) for k in p.kwargs]}) for p in prompts]

    def outputs(samples: list[Sample], answers: dict[str, list[list[str]]], out_dir, baseline) -> None:
        from harness.ifeval.table import write_instruction_table
        from harness.metrics.ifeval import prompt_of
        write_instruction_table([prompt_of(s) for s in samples],
                                {model: [a[-1] if a else "" for a in rows] for model, rows in answers.items()},
                                out_dir, baseline)

    return Task(name="ifeval", load=load, metrics=IFEVAL_METRICS,
                generate_params=GenerateParams(max_new_tokens=max_new_tokens), outputs=outputs,
                description="IFEval, prompt- and instruction-level accuracy, strict and loose")
