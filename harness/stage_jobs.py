"""What each job of a run computes (harness.jobs): one function per kind of stage.

Each takes the executor's JobContext, plain arguments and its `Stage`; it returns at once when
the stage is done, else computes into the stage folder and marks it done. Inputs produced by
other jobs are read from their stage folders (the cache), never passed in memory, so a job runs
the same in this process or on a Ray worker of another machine sharing the cache.
"""
from __future__ import annotations

from pathlib import Path

from harness.console import console
from harness.jobs import JobContext
from harness.store import Stage, atomic_write_json, read_json


def source_job(ctx: JobContext, path: Path, template: str | None, stage: Stage) -> dict:
    """model.path as a plain HF checkpoint (a GGUF file de-quantized, a chat template written)."""
    if stage.done:
        console.print(f"model source: cached ({stage.key})")
        return {"computed": False}
    from harness.models.source import prepare_source
    console.print(f"model source: converting {path.name} to a Hugging Face checkpoint")
    stage.mark_done(prepare_source(path, stage.dir / "model", template))
    return {"computed": True}


def base_job(ctx: JobContext, cfg, config_path: Path | None, data, source_dir: str | None, stage: Stage) -> dict:
    """The common starting checkpoint: the embedded model built (and SFT-ed), or model.path SFT-ed."""
    if stage.done:
        console.print(f"base checkpoint: cached ({stage.key})")
        return {"computed": False}
    start = source_dir
    if cfg.model.embedded is not None:
        from harness.models.tiny import build_model, train_tokenizer
        # SFT data only: the stage key covers it, and runs that differ in their preference
        # data (near-miss vs far-miss) share one starting checkpoint.
        texts = [m["content"] for c in data.sft_chats for m in c["messages"]]
        console.print(f"training tokenizer on {len(texts)} texts; building the embedded Llama")
        tok = train_tokenizer(texts, cfg.model.embedded.vocab_size, stage.dir / "tokenizer")
        if cfg.model.chat_template is not None:
            from harness.models.source import read_chat_template
            tok.chat_template = read_chat_template(cfg.model.chat_template, config_path)
        model = build_model(cfg.model.embedded, tok, stage.dir / "init")
        n_params = sum(p.numel() for p in model.parameters())
        start = str(stage.dir / "init")
    else:
        n_params = None
    info = {"n_params": n_params}
    if cfg.sft is not None:
        from harness.train.runner import train_sft
        console.print(f"SFT of the starting checkpoint: {cfg.sft.max_steps} steps on {len(data.sft_chats)} chats")
        info.update(train_sft(start, data.sft_chats, cfg.sft, stage.dir, cfg.seed, peft=cfg.peft,
                              dtype=cfg.model.dtype))
    else:
        import shutil
        shutil.copytree(start, stage.dir / "model", dirs_exist_ok=True)
    stage.mark_done(info)
    return {"computed": True}


def reference_job(ctx: JobContext, cfg, base_dir: str, data, max_length: int, stage: Stage) -> dict:
    """Reference log-probs of the starting checkpoint at one tokenisation length."""
    if stage.done:
        console.print(f"reference log-probs (max_length {max_length}): cached ({stage.key})")
        return {"computed": False}
    from datasets import Dataset

    from harness.train.reference import compute_reference_logps
    from harness.train.runner import dpo_args
    spec = cfg.train.model_copy(update={"max_length": max_length})
    args = dpo_args(stage.dir / "trainer", spec, cfg.seed, precompute=True, dtype=cfg.model.dtype)
    values, batches = compute_reference_logps(base_dir, Dataset.from_list(data.preference), args, cfg.model.dtype)
    atomic_write_json(stage.dir / "ref_logps.json", values)
    stage.mark_done({"rows": len(values), "ref_forward_batches": batches})
    return {"computed": True}


def train_job(ctx: JobContext, cfg, spec, seed: int, name: str, base_dir: str, data, ref_path: Path | None,
              probes: dict, stage: Stage) -> dict:
    """One method at one grid point and seed, from the starting checkpoint; `probes` maps each
    training probe of the run (harness.analyses) to its inputs. Returns the cost info and the
    probes' tables."""
    if stage.done:
        from harness.analyses import analysis
        console.print(f"{name}: cached ({stage.key})")
        return {"computed": False, "info": stage.info(),
                "tables": {t: read_json(stage.dir / f"{t}.json") for p in probes for t in analysis(p).tables}}
    from datasets import Dataset

    from harness.methods import build_method
    from harness.train.reference import attach_reference
    from harness.train.runner import train_method
    method = build_method(spec.name, spec.params)
    train = cfg.train_for(spec)
    dataset = Dataset.from_list(data.preference)
    if method.needs_reference:
        dataset = attach_reference(dataset, read_json(ref_path))
    length = f"{train.max_steps} steps" if train.max_steps else f"{train.num_epochs} epochs"
    console.print(f"{name}: training {length} ({method.paper})", soft_wrap=True)  # one line, however narrow
    if train.launcher == "inprocess":
        info, measured = train_method(method, base_dir, dataset, train, stage.dir, seed, probes,
                                      peft=cfg.peft, dtype=cfg.model.dtype)
    else:
        from harness.train.launch import launch_train_method
        info, measured = launch_train_method(method, base_dir, dataset, train, stage.dir, seed, probes,
                                             peft=cfg.peft, dtype=cfg.model.dtype)
    for table, rows in measured.items():
        atomic_write_json(stage.dir / f"{table}.json", rows)
    atomic_write_json(stage.dir / "log_history.json", info.pop("log_history"))
    stage.mark_done(info)
    return {"computed": True, "info": info, "tables": measured}


def analysis_job(ctx: JobContext, cfg, name: str, model_dir: str, data, stage: Stage) -> dict:
    """One checkpoint analysis (harness.analyses) of one checkpoint; returns {"tables": {table: rows}}."""
    from harness.analyses import analysis
    check = analysis(name)
    if stage.done:
        return {"computed": False, "tables": {t: read_json(stage.dir / f"{t}.json") for t in check.tables}}
    tables = check.run(cfg, model_dir, data)
    for table, rows in tables.items():
        atomic_write_json(stage.dir / f"{table}.json", rows)
    stage.mark_done({table: len(rows) for table, rows in tables.items()})
    return {"computed": True, "tables": tables}


def answers_job(ctx: JobContext, cfg, config_path: Path | None, model_dir: str, task_spec, field: str,
                stage: Stage) -> dict:
    """One checkpoint's answers to one task, appended record by record (a killed job resumes at
    the next sample). The task is rebuilt here from its spec: task files are imported by path,
    so a task object does not travel to another process."""
    from harness.generate.stage import generate_task_answers
    from harness.tasks import build_task
    task, samples = build_task(cfg, task_spec, field, config_path)
    computed = not stage.done
    records = generate_task_answers(ctx.pool(cfg.generation, cfg.model.dtype, cfg.seed), model_dir, task, samples,
                                    stage.dir / "answers.jsonl", advance=ctx.advance)
    stage.mark_done({"n": len(records)})
    return {"computed": computed, "records": records}
