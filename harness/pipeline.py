"""config -> data -> base checkpoint -> shared reference log-probs -> train (per method, seed,
grid point; training probes inside) -> analyses and generation (per checkpoint, per checkpoint x
task) -> score -> judge -> leaderboard.

Every arrow up to generation is a job (harness.jobs) planned by harness.plan from the config:
its key is the digest of exactly the inputs it receives, so a rerun recomputes nothing, and
changing a setting recomputes just the jobs that receive it. The executor decides where jobs run
(this process, or Ray); scoring, judging and the report run here. This module knows no concrete
method, task, metric or backend: it goes through the registries.
"""
from __future__ import annotations

import dataclasses
import logging
import time
from contextlib import contextmanager
from pathlib import Path

from harness.analyses import analysis
from harness.config import RunConfig
from harness.console import console
from harness.data.prepare import PreparedData, prepare_data
from harness.errors import HarnessError
from harness.executors.progress import stage_title
from harness.job_inputs import library_versions
from harness.jobs import Job, in_order
from harness.manifest import (CheckpointRow, Invocation, RunManifest, Seeds, hardware, package_versions,
                              read_manifest, write_manifest)
from harness.metrics import is_judged, judge_groups
from harness.plan import Checkpoint, ModelSource, Plan, PlanEnv, plan_run, plan_tuning, tuning_runs
from harness.run_tables import analysis_tables, table
from harness.scoring import score_answers
from harness.store import CODE_VERSION, default_cache_dir, relative_path, write_csv, write_rows
from harness.tasks import build_task
from harness.tuning import choose, points_tried
from harness.types import Sample, Task

log = logging.getLogger("harness")


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
        self.jobs: dict[str, str] = {}       # job name -> key, of every job this invocation planned
        self.computed: list[str] = []
        #: leaderboard row -> its tuning outcome (harness.tuning.Choice as a dict); empty without a grid
        self.tuning: dict[str, dict] = {}

    @contextmanager
    def _timed(self, name: str, rule: bool = True):
        t0 = time.time()
        if rule:  # the executor heads its own stages
            console.rule(f"[bold]{name}")
        yield
        self.timings[name] = round(time.time() - t0, 2)

    def env(self) -> PlanEnv:
        """What planning reads from this machine and disk: the model source, the chat template,
        library versions, whether CUDA is here."""
        from harness.models.source import check_source, is_gguf, read_chat_template, source_digest
        cfg, source = self.cfg, None
        template = read_chat_template(cfg.model.chat_template, self.config_path)
        if cfg.model.path is not None:
            path = check_source(cfg.model.path, self.config_path)
            source = ModelSource(str(path), source_digest(path), is_gguf(path), template)
        from harness.train.precision import resolve_precision
        return PlanEnv(self.cache, library_versions(), _has_cuda(), source, template,
                       resolve_precision("auto", weights=cfg.model.dtype))

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
        env = self.env()
        specs, choices, tuning_rows = list(self.cfg.methods), {}, []
        if dev is not None:
            with self._timed("tuning", rule=False):
                specs, choices, tuning_rows = self._tune(env, data, dev)
        plan = plan_run(self.cfg, env, data, tasks, specs)
        with self._timed("jobs", rule=False):
            results = self._execute(plan)
        costs = [self._cost(plan.checkpoints[name], job, results[job.key]["info"], choices)
                 for name, job in plan.trainings.items()]
        from harness.train.pairs import pairs_lines
        for line in pairs_lines(costs):
            console.print(line, soft_wrap=True)
        tables: dict[str, list[dict]] = {t: [] for a in self.cfg.analyses for t in analysis(a).tables}
        # the probes' tables of each training, then each checkpoint analysis's
        for job, name in [(job, name) for name, job in plan.trainings.items()] + plan.analyses:
            ckpt = plan.checkpoints[name]
            for produced, rows in results[job.key]["tables"].items():
                tables[produced] += [{"model": ckpt.row, "seed": ckpt.seed, **r} for r in rows]
        answers = {key: results[job.key]["records"] for key, job in plan.answers.items()}
        with self._timed("score"):
            scores = self._score(plan.checkpoints, answers, tasks)
        self._write_results(plan.checkpoints, answers, scores, costs, tables, tuning_rows)
        for task, samples in tasks:  # a task's own tables (IFEval: accuracy per instruction kind)
            if task.outputs is not None:
                task.outputs(samples, {name: [r["turns"] for r in answers[(name, task.name)]] for name in plan.checkpoints},
                             self.out, self.cfg.baseline)
        self.tuning = {row: dataclasses.asdict(c) for row, c in choices.items()}
        self._write_manifest(data, t0, plan, costs)  # the report reads the run's config from it
        with self._timed("report"):
            from harness.report.tables import write_reports
            write_reports([self.out], self.out, baseline=self.cfg.baseline)
        self._write_manifest(data, t0, plan, costs, final=True)
        console.print(f"[green]done[/green] in {time.time() - t0:.1f} s: {self.out}/leaderboard.md")
        return self.out

    def _cost(self, ckpt: Checkpoint, job: Job, info: dict, choices: dict) -> dict:
        """A training's row of train_costs.csv, from its job's inputs and result."""
        choice = choices.get(ckpt.row)
        return {"model": ckpt.row, "seed": ckpt.seed, "wall_s": info["wall_s"], "tokens": info["tokens"],
                "steps": info["steps"], "global_batch": info.get("global_batch"),
                "learning_rate": job.inputs.train.learning_rate, "max_length": job.inputs.train.max_length,
                "precision": job.inputs.train.precision,
                "pairs": info.get("pairs"),
                "peft": job.inputs.peft.method if job.inputs.peft else "full",
                "budget": choice.tried if choice else None, "chosen": choice.chosen if choice else None}

    def _execute(self, plan: Plan) -> dict:
        """Write the rows the jobs read, run the jobs on the executor; record which computed and
        each stage's summed job time."""
        for rows in plan.rows.values():
            write_rows(self.cache, rows)
        self.jobs.update({job.name: job.key for job in plan.jobs})
        results = self.executor.run(plan.jobs)
        for job in in_order(plan.jobs):
            if results[job.key].get("computed"):
                self.computed.append(job.name)
            stage = stage_title(job)
            self.timings[stage] = round(self.timings.get(stage, 0.0) + self.executor.wall_s.get(job.key, 0.0), 2)
        return results

    def _resolve_tasks(self) -> tuple[list[tuple[Task, list[Sample]]], tuple[Task, list[Sample]] | None]:
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

    def _tune(self, env: PlanEnv, data: PreparedData, dev: tuple[Task, list[Sample]]):
        """Train each method's grid points on the tuning seeds, answer the dev task, and choose
        per method the point with the best mean dev metric (harness.tuning). Returns the chosen
        method specs, the choices and one row per (method, point, seed) for tuning.csv."""
        cfg, (dev_task, dev_samples) = self.cfg, dev
        plan = plan_tuning(cfg, env, data, dev)
        results = self._execute(plan)
        runs = {run.name: run for run in tuning_runs(cfg)}
        points = {(run.row, run.point): run.spec for run in runs.values()}
        rows, dev_means = [], {}
        for (name, _), job in plan.answers.items():
            ckpt, label = plan.checkpoints[name], runs[name].point
            records = results[job.key]["records"]
            scored = [r["score"] for r in score_answers(dev_task, dev_samples, [r["turns"] for r in records], name,
                                                        ckpt.seed)
                      if r["metric"] == cfg.tuning.metric and r["status"] == "ok"]
            mean = sum(scored) / len(scored) if scored else None
            rows.append({"model": ckpt.row, "point": label, "seed": ckpt.seed, "task": dev_task.name,
                         "metric": cfg.tuning.metric, "dev_mean": mean, "n": len(scored)})
            if mean is not None:
                dev_means.setdefault(ckpt.row, {}).setdefault(label, []).append(mean)
        choices = {spec.row: choose(spec.row, {label: sum(v) / len(v) for label, v in dev_means.get(spec.row, {}).items()},
                                    cfg.tuning.mode) for spec in cfg.methods}
        for r in rows:
            r["chosen"] = r["point"] == choices[r["model"]].chosen
        for spec in cfg.methods:
            c = choices[spec.row]
            console.print(f"{spec.row}: chose {c.chosen} ({cfg.tuning.metric} on dev {c.dev[c.chosen]:.4g}; "
                          f"{c.tried} point(s) tried)")
        return [points[(s.row, choices[s.row].chosen)] for s in cfg.methods], choices, rows

    def _score(self, checkpoints: dict[str, Checkpoint], answers: dict[tuple[str, str], list[dict]],
               tasks: list[tuple[Task, list[Sample]]]) -> list[dict]:
        rows = []
        for task, samples in tasks:
            task_answers = {key: records for key, records in answers.items() if key[1] == task.name}
            for (name, _), records in task_answers.items():
                rows += score_answers(task, samples, [r["turns"] for r in records], name, 0)
            for judge, names in judge_groups(task.metrics).items():
                rows += judge(self.cfg, task, samples, task_answers, names, self.out, self.cache)
        for r in rows:  # checkpoint names -> leaderboard row and training seed
            ckpt = checkpoints[r["model"]]
            r["model"], r["seed"] = ckpt.row, ckpt.seed
        return rows

    # ---------------------------------------------------------------- outputs
    def _write_results(self, checkpoints, answers, scores, costs, tables: dict[str, list[dict]], tuning_rows) -> None:
        from harness.mt_bench.fastchat_files import write_model_answers
        self.out.mkdir(parents=True, exist_ok=True)
        for (name, task_name), records in answers.items():
            write_model_answers(self.out / "answers" / task_name / f"{name}.jsonl", name,
                                {r["id"]: r["turns"] for r in records})
        for name, rows in (("scores", scores), ("train_costs", costs), ("tuning", tuning_rows)):
            if rows or name != "tuning":
                out = table(name)
                write_csv(out.path(self.out), list(out.columns), rows)
        for name, (_, out) in analysis_tables().items():
            if name in tables:
                write_csv(out.path(self.out), list(out.columns), tables[name])
            else:  # an analysis left out of this run leaves no table of an earlier one
                out.path(self.out).unlink(missing_ok=True)

    def _write_manifest(self, data: PreparedData, t0: float, plan: Plan, costs: list[dict], final: bool = False) -> None:
        """The run's manifest. `history` keeps every invocation's wall times, so a warm rerun does
        not erase what the cold run cost; only the `final` write of an invocation adds to it."""
        history = []
        if (self.out / "manifest.json").exists():
            try:
                history = read_manifest(self.out).history
            except HarnessError:
                history = []
        total = round(time.time() - t0, 2)
        if final:
            history = (history + [Invocation(started=time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(t0)),
                                             total_wall_s=total, stage_wall_s=self.timings,
                                             computed=self.computed)])[-20:]
        costs_by = {(c["model"], c["seed"]): c for c in costs}
        write_manifest(self.out, RunManifest(
            run_name=self.cfg.run_name, config=self.cfg.model_dump(mode="json"),
            config_file=str(self.config_path) if self.config_path else None,
            harness_code_version=CODE_VERSION, packages=package_versions(), hardware=hardware(),
            seeds=Seeds(run=self.cfg.seed, training=self.cfg.training_seeds), stage_wall_s=self.timings,
            total_wall_s=total, computed_this_run=self.computed, history=history, jobs=self.jobs,
            data=data.summary,
            training={name: {k: costs_by[(c.row, c.seed)][k] for k in ("global_batch", "learning_rate", "peft", "steps",
                                                                       "max_length", "precision", "pairs")}
                      for name, c in plan.checkpoints.items() if (c.row, c.seed) in costs_by},
            checkpoints={name: relative_path(Path(c.at.dir), self.cache) for name, c in plan.checkpoints.items()},
            checkpoint_rows={name: CheckpointRow(model=c.row, seed=c.seed) for name, c in plan.checkpoints.items()},
            tuning=self.tuning))
