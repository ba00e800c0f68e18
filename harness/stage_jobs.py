"""What each job of a run computes: one function per kind of job (harness.jobs).

Each takes the executor's JobContext, its inputs object (harness.job_inputs), the folders of the
jobs it reads (by role: "source", "base", "reference", "checkpoint") and its `Stage`; it returns
at once when the stage is done, else computes into the stage folder and marks it done. It reads
nothing but those: not the run config, not another job's memory, so it runs the same in this
process or on a Ray worker of another machine sharing the cache.
"""
from __future__ import annotations

from pathlib import Path

from harness.console import console
from harness.job_inputs import (AnalysisInputs, AnswersInputs, BaseInputs, ReferenceInputs, SourceInputs,
                                TrainInputs)
from harness.jobs import JobContext
from harness.store import Stage, atomic_write_json, read_json, read_rows


def source_job(ctx: JobContext, inputs: SourceInputs, up: dict[str, Path], stage: Stage) -> dict:
    """model.path as a plain HF checkpoint (a GGUF file de-quantized, a chat template written)."""
    if stage.done:
        console.print(f"model source: cached ({stage.key})")
        return {"computed": False}
    from harness.models.source import prepare_source
    path = Path(inputs.path)
    console.print(f"model source: converting {path.name} to a Hugging Face checkpoint")
    stage.mark_done(prepare_source(path, stage.dir / "model", inputs.chat_template))
    return {"computed": True}


def base_job(ctx: JobContext, inputs: BaseInputs, up: dict[str, Path], stage: Stage) -> dict:
    """The common starting checkpoint: the embedded model built (and SFT-ed), or the source SFT-ed."""
    if stage.done:
        console.print(f"base checkpoint: cached ({stage.key})")
        return {"computed": False}
    chats = read_rows(stage.cache, inputs.sft_chats)
    if inputs.embedded is not None:
        from harness.models.tiny import build_model, train_tokenizer
        # SFT data only: runs that differ in their preference data (near-miss vs far-miss) share
        # one starting checkpoint.
        texts = [m["content"] for c in chats for m in c["messages"]]
        console.print(f"training tokenizer on {len(texts)} texts; building the embedded Llama")
        tok = train_tokenizer(texts, inputs.embedded.vocab_size, stage.dir / "tokenizer")
        if inputs.chat_template is not None:
            tok.chat_template = inputs.chat_template
        model = build_model(inputs.embedded, tok, stage.dir / "init")
        info = {"n_params": sum(p.numel() for p in model.parameters())}
        start = str(stage.dir / "init")
    else:
        info, start = {"n_params": None}, str(up["source"])
    if inputs.sft is not None:
        from harness.train.runner import train_sft
        console.print(f"SFT of the starting checkpoint: {inputs.sft.max_steps} steps on {len(chats)} chats")
        info.update(train_sft(start, chats, inputs.sft, stage.dir, inputs.seed, peft=inputs.peft,
                              dtype=inputs.dtype))
    else:
        import shutil
        shutil.copytree(start, stage.dir / "model", dirs_exist_ok=True)
    stage.mark_done(info)
    return {"computed": True}


def reference_job(ctx: JobContext, inputs: ReferenceInputs, up: dict[str, Path], stage: Stage) -> dict:
    """Reference log-probs of the starting checkpoint at one tokenisation length."""
    if stage.done:
        console.print(f"reference log-probs (max_length {inputs.max_length}): cached ({stage.key})")
        return {"computed": False}
    from datasets import Dataset

    from harness.config import TrainSpec
    from harness.train.reference import compute_reference_logps
    from harness.train.runner import dpo_args
    # The precompute pass reads the length, the dtype and its own batch size, nothing else of a
    # training: one set of reference log-probs serves every method and optimiser setting.
    args = dpo_args(stage.dir / "trainer", TrainSpec(max_length=inputs.max_length, precision=inputs.precision), 0,
                    precompute=True, dtype=inputs.dtype)
    values, batches = compute_reference_logps(str(up["base"]), Dataset.from_list(read_rows(stage.cache, inputs.preference)),
                                              args, inputs.dtype)
    atomic_write_json(stage.dir / "ref_logps.json", values)
    stage.mark_done({"rows": len(values), "ref_forward_batches": batches})
    return {"computed": True}


def train_job(ctx: JobContext, inputs: TrainInputs, up: dict[str, Path], stage: Stage) -> dict:
    """One method at one grid point and seed, from the starting checkpoint. Returns the cost info
    and the training probes' tables."""
    from harness.analyses import analysis
    tables = [t for p in inputs.probes for t in analysis(p).tables]
    if stage.done:
        console.print(f"{stage.payload['name']}: cached ({stage.key})")
        return {"computed": False, "info": stage.info(),
                "tables": {t: read_json(stage.dir / f"{t}.json") for t in tables}}
    from datasets import Dataset

    from harness.methods import build_method
    from harness.train.reference import attach_reference
    from harness.train.runner import train_method
    method = build_method(inputs.method, inputs.params)
    train = inputs.train
    dataset = Dataset.from_list(read_rows(stage.cache, inputs.preference))
    if method.needs_reference:
        dataset = attach_reference(dataset, read_json(up["reference"] / "ref_logps.json"))
    length = f"{train.max_steps} steps" if train.max_steps else f"{train.num_epochs} epochs"
    console.print(f"{stage.payload['name'].removeprefix('train:')}: training {length} ({method.paper})",
                  soft_wrap=True)  # one line, however narrow
    if train.launcher == "inprocess":
        info, measured = train_method(method, str(up["base"]), dataset, train, stage.dir, inputs.seed,
                                      inputs.probes, peft=inputs.peft, dtype=inputs.dtype)
    else:
        from harness.train.launch import launch_train_method
        info, measured = launch_train_method(method, str(up["base"]), dataset, train, stage.dir, inputs.seed,
                                             inputs.probes, peft=inputs.peft, dtype=inputs.dtype)
    for table, rows in measured.items():
        atomic_write_json(stage.dir / f"{table}.json", rows)
    atomic_write_json(stage.dir / "log_history.json", info.pop("log_history"))
    stage.mark_done(info)
    return {"computed": True, "info": info, "tables": measured}


def analysis_job(ctx: JobContext, inputs: AnalysisInputs, up: dict[str, Path], stage: Stage) -> dict:
    """One checkpoint analysis (harness.analyses) of one checkpoint; returns {"tables": {table: rows}}."""
    from harness.analyses import analysis
    check = analysis(inputs.analysis)
    if stage.done:
        return {"computed": False, "tables": {t: read_json(stage.dir / f"{t}.json") for t in check.tables}}
    tables = check.run(inputs.options, str(up["checkpoint"]))
    for table, rows in tables.items():
        atomic_write_json(stage.dir / f"{table}.json", rows)
    stage.mark_done({table: len(rows) for table, rows in tables.items()})
    return {"computed": True, "tables": tables}


def answers_job(ctx: JobContext, inputs: AnswersInputs, up: dict[str, Path], stage: Stage) -> dict:
    """One checkpoint's answers to one task, appended record by record (a killed job resumes at
    the next sample)."""
    from harness.generate.stage import generate_answers
    computed = not stage.done
    records = generate_answers(ctx.pool(inputs.generation, inputs.dtype, inputs.seed), str(up["checkpoint"]),
                               read_rows(stage.cache, inputs.samples), stage.dir / "answers.jsonl",
                               advance=ctx.advance)
    stage.mark_done({"n": len(records)})
    return {"computed": computed, "records": records}
