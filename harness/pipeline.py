"""config -> data -> base checkpoint -> shared reference log-probs -> train (per method, seed,
grid point; training probes inside) -> analyses and generation (per checkpoint, per checkpoint x
task) -> score -> judge -> leaderboard.

Every arrow up to generation is a job of a DAG (harness.jobs), keyed as a cached stage
(harness.store.Stage): its key hashes the inputs it depends on, so a rerun recomputes nothing,
and changing one method's hyper-parameter retrains only that method. The executor decides where
jobs run (this process, or Ray); scoring, judging and the report run here. This module knows no
concrete method, task, metric or backend: it goes through the registries.
"""
from __future__ import annotations

import dataclasses
import functools
import logging
import time
from contextlib import contextmanager
from pathlib import Path

from harness.config import RunConfig
from harness.console import console
from harness.analyses import ANALYSES, analysis
from harness.analyses.base import CheckpointAnalysis, TrainingProbe
from harness.data.prepare import PreparedData, prepare_data
from harness.errors import HarnessError
from harness.executors.progress import stage_title
from harness.manifest import hardware, package_versions
from harness.metrics import is_judged, judge_groups
from harness.methods import build_method
from harness.scoring import SCORE_COLUMNS, score_answers
from harness.jobs import Job, Resources, in_order
from harness.stage_jobs import analysis_job, answers_job, base_job, reference_job, source_job, train_job
from harness.store import (CODE_VERSION, Stage, atomic_write_json, default_cache_dir, digest_json, read_json,
                           relative_path, write_csv)
from harness.tasks import build_task
from harness.tuning import choose, point_label, points_tried
from harness.types import Task

log = logging.getLogger("harness")


@dataclasses.dataclass
class StartJobs:
    """The jobs up to the starting checkpoint and its reference log-probs, and what later jobs read."""

    jobs: list[Job]
    base_key: str
    base_dir: str
    base_after: tuple[str, ...]               # job keys a reader of the base checkpoint waits for
    references: dict[int, tuple[str, Path]]   # max_length -> (job key, ref_logps.json)


def _checkpoint(train: Job) -> tuple[str, str, tuple[str, ...]]:
    """(stage key, model folder, job keys to wait for) of the checkpoint a training job writes;
    its Stage is the job's last argument, as for every job of harness.stage_jobs."""
    stage = train.args[-1]
    return stage.key, str(stage.dir / "model"), (train.key,)


def _has_cuda() -> bool:
    import torch
    return torch.cuda.is_available()


class Pipeline:
    def __init__(self, cfg: RunConfig, config_path: Path | None = None, executor=None) -> None:
        from harness.executors.local import LocalExecutor
        self.cfg = cfg
        self.executor = executor or LocalExecutor()
        self.config_path = config_path
        self.cache = Path(cfg.cache_dir).resolve() if cfg.cache_dir else default_cache_dir()
        self.out = Path(cfg.results_dir) / cfg.run_name
        self.timings: dict[str, float] = {}
        self.stage_keys: dict[str, str] = {}
        self.computed: list[str] = []
        #: checkpoint name (the model id in answer and judgment files) -> (leaderboard row, seed)
        self.ids: dict[str, tuple[str, int]] = {}
        #: leaderboard row -> its tuning outcome (harness.tuning.Choice as a dict); empty without a grid
        self.tuning: dict[str, dict] = {}

    @functools.cached_property
    def analyses(self) -> dict:
        """The run's analyses (config `analyses`), by name, in config order."""
        return {name: analysis(name) for name in self.cfg.analyses}

    @functools.cached_property
    def analysis_columns(self) -> dict[str, list[str]]:
        """Every table the run's analyses write -> its columns after model and seed."""
        return {t: c for a in self.analyses.values() for t, c in a.tables.items()}

    @contextmanager
    def _timed(self, name: str, rule: bool = True):
        t0 = time.time()
        if rule:  # the executor heads its own stages
            console.rule(f"[bold]{name}")
        yield
        self.timings[name] = round(time.time() - t0, 2)

    # ---------------------------------------------------------------- stages
    def run(self) -> Path:
        t0 = time.time()
        tasks, dev = self._resolve_tasks()  # fail fast on bad task names/options, before any work
        if self.cfg.judge is not None and any(is_judged(m) for t, _ in tasks for m in t.metrics):
            self.cfg.judge.check_reachable()  # a judge that cannot judge stops the run before training
        self.executor.check()
        if self.executor.name == "local":  # on Ray the job checks the devices of the node it lands on
            from harness.train.launch import check_devices
            for train in (self.cfg.train_for(p) for m in self.cfg.methods for p in points_tried(self.cfg, m)):
                try:
                    check_devices(train.processes, train.launcher)
                except HarnessError as exc:
                    raise HarnessError(exc.message, file=self.config_path, field=exc.field) from None
        with self._timed("data"):
            data = prepare_data(self.cfg)
        start = self._start_jobs(data)
        specs, choices, tuning_rows = list(self.cfg.methods), {}, []
        if dev is not None:
            with self._timed("tuning", rule=False):
                specs, choices, tuning_rows = self._tune(start, dev, data)
        checkpoints: dict[str, tuple[str, str, tuple[str, ...]]] = {}
        if self.cfg.include_base:
            checkpoints["base"] = (start.base_key, start.base_dir, start.base_after)
            self.ids["base"] = ("base", self.cfg.seed)
        runs = [(spec, seed, spec.row if len(self.cfg.training_seeds) == 1 else f"{spec.row}-seed{seed}")
                for seed in self.cfg.training_seeds for spec in specs]
        train_jobs = self._train_jobs(start, runs, data)
        for (spec, seed, name), job in zip(runs, train_jobs):
            checkpoints[name] = _checkpoint(job)
            self.ids[name] = (spec.row, seed)
        analysis_jobs = self._analysis_jobs(checkpoints, data)
        answer_jobs = self._answer_jobs(checkpoints, [(f"tasks[{i}]", spec, task, samples) for i, (spec, (task, samples))
                                                      in enumerate(zip(self.cfg.tasks, tasks))])
        with self._timed("jobs", rule=False):
            results = self._execute(start.jobs + train_jobs + [j for j, _ in analysis_jobs] + answer_jobs)
        costs = []
        tables: dict[str, list[dict]] = {t: [] for t in self.analysis_columns}
        for (spec, seed, name), job in zip(runs, train_jobs):
            info = results[job.key]["info"]
            costs.append({"model": spec.row, "seed": seed, "wall_s": info["wall_s"], "tokens": info["tokens"],
                          "steps": info["steps"], "global_batch": info.get("global_batch"),
                          "learning_rate": self.cfg.train_for(spec).learning_rate,
                          "peft": self.cfg.peft.method if self.cfg.peft else "full",
                          "budget": choices[spec.row].tried if spec.row in choices else None,
                          "chosen": choices[spec.row].chosen if spec.row in choices else None})
        # the probes' tables of each training, then each checkpoint analysis's
        for job, name in [(job, name) for (_, _, name), job in zip(runs, train_jobs)] + analysis_jobs:
            model, seed = self.ids[name]
            for table, rows in results[job.key]["tables"].items():
                tables[table] += [{"model": model, "seed": seed, **r} for r in rows]
        answer_keys = [(row, task.name) for row in checkpoints for task, _ in tasks]  # _answer_jobs' order
        answers = {k: results[job.key]["records"] for k, job in zip(answer_keys, answer_jobs)}
        with self._timed("score"):
            scores = self._score(answers, tasks)
        self._write_results(answers, scores, costs, tables, tuning_rows)
        for task, samples in tasks:  # a task's own tables (IFEval: accuracy per instruction kind)
            if task.outputs is not None:
                task.outputs(samples, {row: [r["turns"] for r in answers[(row, task.name)]] for row in checkpoints},
                             self.out, self.cfg.baseline)
        self.tuning = {row: dataclasses.asdict(c) for row, c in choices.items()}
        self._write_manifest(data, t0, checkpoints, costs)  # the report reads the run's config from it
        with self._timed("report"):
            from harness.report.tables import write_reports
            write_reports([self.out], self.out, baseline=self.cfg.baseline)
        self._write_manifest(data, t0, checkpoints, costs, final=True)
        console.print(f"[green]done[/green] in {time.time() - t0:.1f} s: {self.out}/leaderboard.md")
        return self.out

    def _execute(self, jobs: list[Job]) -> dict:
        """Run jobs on the executor; record which computed and each stage's summed job time."""
        results = self.executor.run(jobs)
        for job in in_order(jobs):
            if results[job.key].get("computed"):
                self.computed.append(job.name)
            stage = stage_title(job)
            self.timings[stage] = round(self.timings.get(stage, 0.0) + self.executor.wall_s.get(job.key, 0.0), 2)
        return results

    def _resolve_tasks(self) -> tuple[list[tuple[Task, list]], tuple[Task, list] | None]:
        """The run's tasks with their samples, and the tuning section's dev task (or None)."""
        tasks = [build_task(self.cfg, spec, f"tasks[{i}]", self.config_path) for i, spec in enumerate(self.cfg.tasks)]
        tuning = self.cfg.tuning
        if tuning is None:
            return tasks, None
        dev = build_task(self.cfg, tuning.task, "tuning.task", self.config_path)
        if tuning.metric not in dev[0].metrics or is_judged(tuning.metric):
            valid = ", ".join(m for m in dev[0].metrics if not is_judged(m))
            raise HarnessError(f"{tuning.metric!r} is not a metric of {tuning.task.name} computed without a judge "
                               f"(valid: {valid})", file=self.config_path, field="tuning.metric")
        return tasks, dev

    def _stage(self, name: str, payload) -> Stage:
        stage = Stage(self.cache, name, payload)
        self.stage_keys[f"{name}:{payload.get('label', '')}" if isinstance(payload, dict) else name] = stage.key
        return stage

    def _resources(self, kind: str) -> Resources:
        spec = getattr(self.cfg.resources, kind)
        gpus = spec.gpus if spec.gpus is not None else (1.0 if _has_cuda() else 0.0)
        return Resources(cpus=spec.cpus, gpus=gpus, memory_gib=spec.memory_gib)

    def _start_jobs(self, data: PreparedData) -> "StartJobs":
        """Jobs up to the starting checkpoint and its reference log-probs. model.path as a plain HF
        folder without a chat-template override is used in place (no source job); without an
        embedded model and without SFT the source is the starting checkpoint (no base job)."""
        from harness.models.source import (check_source, is_gguf, read_chat_template, source_digest,
                                           source_payload)
        cfg, jobs, after = self.cfg, [], ()
        source_key = source_dir = None
        if cfg.model.path is not None:
            path = check_source(cfg.model.path, self.config_path)
            template = read_chat_template(cfg.model.chat_template, self.config_path)
            if not is_gguf(path) and template is None:
                source_key, source_dir = f"folder:{source_digest(path)}", str(path)
            else:
                stage = self._stage("source", source_payload(path, template))
                jobs.append(Job(f"source/{stage.key}", "source", source_job, (path, template, stage),
                                resources=self._resources("analysis")))
                source_key, source_dir, after = stage.key, str(stage.dir / "model"), (jobs[-1].key,)
        if cfg.model.embedded is None and cfg.sft is None:
            base_key, base_dir = source_key, source_dir
        else:
            model = cfg.model.model_dump() if cfg.model.embedded is not None else {"source": source_key,
                                                                                   "dtype": cfg.model.dtype}
            stage = self._stage("base", {"model": model, "sft": cfg.sft and cfg.sft.model_dump(),
                                         "peft": cfg.peft and cfg.peft.model_dump(),
                                         "sft_data": data.sft_hash(), "seed": cfg.seed, "label": "base"})
            jobs.append(Job(f"base/{stage.key}", "base", base_job,
                            (cfg, self.config_path, data, source_dir, stage), after=after,
                            resources=self._resources("train")))
            base_key, base_dir, after = stage.key, str(stage.dir / "model"), (jobs[-1].key,)
        references = {}
        lengths = sorted({cfg.train_for(p).max_length for m in cfg.methods
                          for p in points_tried(cfg, m) if build_method(p.name, p.params).needs_reference})
        for max_length in lengths:
            stage = self._stage("reference", {"reference": base_key, "data": data.preference_hash(),
                                              "max_length": max_length, "dtype": cfg.model.dtype,
                                              "label": f"reference@{max_length}"})
            jobs.append(Job(f"reference/{stage.key}", "reference" if len(lengths) == 1 else f"reference@{max_length}", reference_job,
                            (cfg, base_dir, data, max_length, stage), after=after,
                            resources=self._resources("analysis")))
            references[max_length] = (jobs[-1].key, stage.dir / "ref_logps.json")
        return StartJobs(jobs, base_key, base_dir, after, references)

    def _train_jobs(self, start: "StartJobs", runs: list[tuple], data: PreparedData) -> list[Job]:
        """One job per (method spec, seed, checkpoint name), from the starting checkpoint."""
        jobs = []
        probes = {n: a for n, a in self.analyses.items() if isinstance(a, TrainingProbe)}
        for spec, seed, name in runs:
            method = build_method(spec.name, spec.params)
            train = self.cfg.train_for(spec)
            inputs = {n: probe.inputs(data, train) for n, probe in probes.items()}
            inputs = {p: v for p, v in inputs.items() if v is not None}
            stage = self._stage("train", {"base": start.base_key, "data": data.preference_hash(),
                                          "method": spec.name, "params": method.params.__dict__,
                                          "train": train.model_dump(),
                                          "peft": self.cfg.peft and self.cfg.peft.model_dump(),
                                          "dtype": self.cfg.model.dtype,
                                          "probes": {p: digest_json(v) for p, v in inputs.items()},
                                          "seed": seed, "label": name})
            ref_key, ref_path = start.references[train.max_length] if method.needs_reference else (None, None)
            jobs.append(Job(f"train/{stage.key}", f"train:{name}", train_job,
                            (self.cfg, spec, seed, name, start.base_dir, data, ref_path, inputs, stage),
                            after=start.base_after + ((ref_key,) if ref_key else ()),
                            resources=self._resources("train")))
        return jobs

    def _tune(self, start: "StartJobs", dev, data: PreparedData):
        """Train each method's grid points on the tuning seeds, answer the dev task, and choose
        per method the point with the best mean dev metric (harness.tuning). Returns the chosen
        method specs, the choices and one row per (method, point, seed) for tuning.csv."""
        cfg, (dev_task, dev_samples) = self.cfg, dev
        runs, where, points = [], {}, {}
        for spec in cfg.methods:
            for point in points_tried(cfg, spec):
                label = point_label(spec, point)
                points[(spec.row, label)] = point
                for seed in cfg.tuning_seeds:
                    name = f"{spec.row}[{label}]-seed{seed}"
                    runs.append((point, seed, name))
                    where[name] = (spec.row, label, seed)
        train_jobs = self._train_jobs(start, runs, data)
        checkpoints = {name: _checkpoint(job) for (_, _, name), job in zip(runs, train_jobs)}
        answer_jobs = self._answer_jobs(checkpoints, [("tuning.task", cfg.tuning.task, dev_task, dev_samples)])
        results = self._execute(start.jobs + train_jobs + answer_jobs)
        rows, dev_means = [], {}
        for name, job in zip(checkpoints, answer_jobs):
            row, label, seed = where[name]
            records = results[job.key]["records"]
            scored = [r["score"] for r in score_answers(dev_task, dev_samples, [r["turns"] for r in records], name, seed)
                      if r["metric"] == cfg.tuning.metric and r["status"] == "ok"]
            mean = sum(scored) / len(scored) if scored else None
            rows.append({"model": row, "point": label, "seed": seed, "task": dev_task.name,
                         "metric": cfg.tuning.metric, "dev_mean": mean, "n": len(scored)})
            if mean is not None:
                dev_means.setdefault(row, {}).setdefault(label, []).append(mean)
        choices = {spec.row: choose(spec.row, {label: sum(v) / len(v) for label, v in dev_means.get(spec.row, {}).items()},
                                    cfg.tuning.mode) for spec in cfg.methods}
        for r in rows:
            r["chosen"] = r["point"] == choices[r["model"]].chosen
        for spec in cfg.methods:
            c = choices[spec.row]
            console.print(f"{spec.row}: chose {c.chosen} ({cfg.tuning.metric} on dev {c.dev[c.chosen]:.4g}; "
                          f"{c.tried} point(s) tried)")
        return [points[(s.row, choices[s.row].chosen)] for s in cfg.methods], choices, rows

    def _analysis_jobs(self, checkpoints, data: PreparedData) -> list[tuple[Job, str]]:
        """(job, checkpoint name) per checkpoint analysis of the run and checkpoint that has
        something to analyse."""
        jobs = []
        for kind, check in self.analyses.items():
            inputs = check.inputs(self.cfg, data) if isinstance(check, CheckpointAnalysis) else None
            if inputs is None:
                continue
            for name, (key, model_dir, after) in checkpoints.items():
                stage = self._stage(kind, {"checkpoint": key, **inputs, "label": name})
                jobs.append((Job(f"{kind}/{stage.key}", f"{kind}:{name}", analysis_job,
                                 (self.cfg, kind, model_dir, data, stage), after=after,
                                 resources=self._resources("analysis")), name))
        return jobs

    def _answer_jobs(self, checkpoints, tasks: list[tuple]) -> list[Job]:
        """One job per checkpoint x task (checkpoint-major order); `tasks` holds (config field,
        task spec, task, samples)."""
        jobs = []
        for row, (key, model_dir, after) in checkpoints.items():
            for field, spec, task, samples in tasks:
                stage = self._stage("answers", {"checkpoint": key, "task": task.name, "version": task.version,
                                                "samples": [s.id for s in samples],
                                                "params": [dataclasses.asdict(task.params_for(s)) for s in samples],
                                                "backend": self.cfg.generation.backend,
                                                "engine": _engine_key(self.cfg.generation),
                                                "label": f"{row}/{task.name}"})
                jobs.append(Job(f"answers/{stage.key}", f"answers:{row}/{task.name}", answers_job,
                                (self.cfg, self.config_path, model_dir, spec, field, stage), after=after,
                                resources=self._resources("generate"), units=len(samples)))
        return jobs

    def _score(self, answers, tasks) -> list[dict]:
        rows = []
        for task, samples in tasks:
            task_answers = {key: records for key, records in answers.items() if key[1] == task.name}
            for (name, _), records in task_answers.items():
                rows += score_answers(task, samples, [r["turns"] for r in records], name, 0)
            for judge, names in judge_groups(task.metrics).items():
                rows += judge(self.cfg, task, samples, task_answers, names, self.out, self.cache)
        for r in rows:  # checkpoint names -> leaderboard row and training seed
            r["model"], r["seed"] = self.ids[r["model"]]
        return rows

    # ---------------------------------------------------------------- outputs
    def _write_results(self, answers, scores, costs, tables: dict[str, list[dict]], tuning_rows) -> None:
        from harness.judge.files import write_model_answers
        self.out.mkdir(parents=True, exist_ok=True)
        for (row, task_name), records in answers.items():
            write_model_answers(self.out / "answers" / task_name / f"{row}.jsonl", row,
                                {r["id"]: r["turns"] for r in records})
        write_csv(self.out / "scores.csv", SCORE_COLUMNS, scores)
        write_csv(self.out / "train_costs.csv", ["model", "seed", "wall_s", "tokens", "steps", "global_batch",
                                                  "learning_rate", "peft", "budget", "chosen"], costs)
        if tuning_rows:
            write_csv(self.out / "tuning.csv", ["model", "point", "seed", "task", "metric", "dev_mean", "n", "chosen"],
                      tuning_rows)
        for table, rows in tables.items():
            write_csv(self.out / f"{table}.csv", ["model", "seed", *self.analysis_columns[table]], rows)
        for name in ANALYSES:  # an analysis left out of this run leaves no table of an earlier one
            for table in analysis(name).tables:
                if table not in tables:
                    (self.out / f"{table}.csv").unlink(missing_ok=True)

    def _write_manifest(self, data, t0, checkpoints, costs, final: bool = False) -> None:
        """The run's manifest. `history` keeps every invocation's wall times, so a warm rerun does
        not erase what the cold run cost; only the `final` write of an invocation adds to it."""
        path = self.out / "manifest.json"
        history = []
        if path.exists():
            try:
                history = read_json(path).get("history", [])
            except HarnessError:
                history = []
        total = round(time.time() - t0, 2)
        costs_by = {(c["model"], c["seed"]): c for c in costs}
        if final:
            history = (history + [{"started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(t0)),
                                   "total_wall_s": total, "stage_wall_s": self.timings,
                                   "computed": self.computed}])[-20:]
        atomic_write_json(path, {
            "run_name": self.cfg.run_name, "config": self.cfg.model_dump(mode="json"),
            "config_file": str(self.config_path) if self.config_path else None,
            "harness_code_version": CODE_VERSION, "packages": package_versions(), "hardware": hardware(),
            "seeds": {"run": self.cfg.seed, "training": self.cfg.training_seeds}, "stage_wall_s": self.timings,
            "total_wall_s": total, "computed_this_run": self.computed, "history": history,
            "stage_keys": self.stage_keys, "data": data.summary,
            "training": {name: {k: costs_by[ident][k] for k in ("global_batch", "learning_rate", "peft", "steps")}
                         for name, ident in self.ids.items() if ident in costs_by},
            "checkpoints": {row: relative_path(Path(d), self.cache) for row, (_, d, _) in checkpoints.items()},
            "checkpoint_rows": {name: {"model": row, "seed": seed} for name, (row, seed) in self.ids.items()},
            "tuning": self.tuning})


def _engine_key(spec) -> dict:
    """The vLLM settings that can change an answer (not the share of device memory it may take)."""
    return spec.vllm.model_dump(exclude={"gpu_memory_utilization"})

