"""The planner: a run config (with its data and tasks, already loaded) -> the jobs of the run.

A pure function: no files are read or written and nothing is trained, so it is unit-tested in
milliseconds. It is the one place that turns the config into the inputs objects of jobs
(harness.job_inputs); the jobs never see the config. Rows a job reads (training pairs, SFT
chats, a task's prompts) are collected in `Plan.rows` under their digests; the pipeline writes
them to the cache before any job runs.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from harness.analyses import analysis
from harness.analyses.base import CheckpointAnalysis, TrainingProbe
from harness.config import MethodSpec, RunConfig
from harness.data.prepare import PreparedData
from harness.generate.stage import prompt_rows
from harness.job_inputs import (AnalysisInputs, AnswersInputs, BaseInputs, JobInputs, ReferenceInputs,
                                SourceInputs, TrainInputs)
from harness.jobs import Job, Resources, Upstream
from harness.methods import build_method
from harness.stage_jobs import analysis_job, answers_job, base_job, reference_job, source_job, train_job
from harness.store import digest_json
from harness.tuning import point_label, points_tried
from harness.types import Sample, Task


@dataclasses.dataclass(frozen=True)
class ModelSource:
    """model.path as found on disk (harness.models.source): where, its digest, and the chat
    template override's text."""

    path: str
    digest: str
    gguf: bool
    chat_template: str | None


@dataclasses.dataclass(frozen=True)
class PlanEnv:
    """What the planner needs besides the config: read from the machine and the disk beforehand."""

    cache: Path
    versions: dict[str, dict[str, str]]          # job kind -> library versions (job_inputs.library_versions)
    has_cuda: bool = False
    source: ModelSource | None = None            # model.path, when the config names one
    chat_template: str | None = None             # model.chat_template's text
    auto_precision: str = "fp32"                 # what `precision: auto` trains in here (harness.train.precision)


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    """A checkpoint the run evaluates: `name` is its model id in answer and judgment files, `row`
    and `seed` its leaderboard row and training seed, `at` the folder holding it."""

    name: str
    row: str
    seed: int
    at: Upstream


@dataclasses.dataclass
class Plan:
    jobs: list[Job] = dataclasses.field(default_factory=list)
    checkpoints: dict[str, Checkpoint] = dataclasses.field(default_factory=dict)
    trainings: dict[str, Job] = dataclasses.field(default_factory=dict)         # checkpoint name -> job
    analyses: list[tuple[Job, str]] = dataclasses.field(default_factory=list)   # (job, checkpoint name)
    answers: dict[tuple[str, str], Job] = dataclasses.field(default_factory=dict)  # (checkpoint, task) -> job
    rows: dict[str, list] = dataclasses.field(default_factory=dict)             # digest -> rows

    def add(self, job: Job) -> Job:
        self.jobs.append(job)
        return job

    def rows_ref(self, rows: list) -> str:
        digest = digest_json(rows)
        self.rows.setdefault(digest, rows)
        return digest


@dataclasses.dataclass(frozen=True)
class Run:
    """One training of the run: a method spec (one grid point), a seed, its checkpoint name, its
    leaderboard row and, while tuning, its grid point's label."""

    spec: MethodSpec
    seed: int
    name: str
    row: str
    point: str | None = None


def training_runs(cfg: RunConfig, specs: list[MethodSpec]) -> list[Run]:
    """Every method spec once per training seed; checkpoint names carry the seed when there are several."""
    seeds = cfg.training_seeds
    return [Run(spec, seed, spec.row if len(seeds) == 1 else f"{spec.row}-seed{seed}", spec.row)
            for seed in seeds for spec in specs]


def tuning_runs(cfg: RunConfig) -> list[Run]:
    """Every grid point tried (harness.tuning) once per tuning seed."""
    return [Run(point, seed, f"{spec.row}[{label}]-seed{seed}", spec.row, label)
            for spec in cfg.methods for point in points_tried(cfg, spec) for seed in cfg.tuning_seeds
            for label in [point_label(spec, point)]]


class Planner:
    def __init__(self, cfg: RunConfig, env: PlanEnv, data: PreparedData) -> None:
        self.cfg, self.env, self.data = cfg, env, data
        self.plan = Plan()
        self.base, self.references = self._start()

    def _precise(self, spec):
        """A train or SFT section with `precision: auto` resolved for this machine: what a job trains
        in is in its key and its record, and `auto` may resolve otherwise on another machine."""
        if spec is None or spec.precision != "auto":
            return spec
        return spec.model_copy(update={"precision": self.env.auto_precision})

    def _job(self, kind: str, name: str, fn, inputs: JobInputs, upstream: dict[str, Upstream], *,
             resources: str, versions: str | None = None, units: int = 1) -> Job:
        spec = getattr(self.cfg.resources, resources)
        gpus = spec.gpus if spec.gpus is not None else (1.0 if self.env.has_cuda else 0.0)
        return self.plan.add(Job(kind, name, fn, inputs, upstream, self.env.versions[versions or kind], self.env.cache,
                                 Resources(cpus=spec.cpus, gpus=gpus, memory_gib=spec.memory_gib), units))

    @staticmethod
    def _output(job: Job, folder: str = "model") -> Upstream:
        return Upstream(job.key, str(job.stage.dir / folder))

    def _start(self) -> tuple[Upstream, dict[int, Upstream]]:
        """Jobs up to the starting checkpoint and its reference log-probs. model.path as a plain HF
        folder without a chat-template override is used in place (no source job); without an
        embedded model and without SFT the source is the starting checkpoint (no base job)."""
        cfg, src = self.cfg, self.env.source
        source = None
        if cfg.model.path is not None:
            assert src is not None, "model.path is resolved before planning"
            if not src.gguf and src.chat_template is None:
                source = Upstream(f"folder:{src.digest}", src.path, job=False)
            else:
                job = self._job("source", "source", source_job,
                                SourceInputs(path=src.path, digest=src.digest, chat_template=src.chat_template),
                                {}, resources="analysis")
                source = self._output(job)
        if cfg.model.embedded is None and cfg.sft is None:
            base = source
        else:
            job = self._job("base", "base", base_job, BaseInputs(
                embedded=cfg.model.embedded, chat_template=self.env.chat_template if cfg.model.embedded else None,
                sft=self._precise(cfg.sft), sft_chats=self.plan.rows_ref(self.data.sft_chats), peft=cfg.peft,
                dtype=cfg.model.dtype, seed=cfg.seed), {"source": source} if source else {}, resources="train")
            base = self._output(job)
        references = {}
        tokenisations = sorted({(train.max_length, train.precision) for m in cfg.methods for p in points_tried(cfg, m)
                                if build_method(p.name, p.params).needs_reference
                                for train in [self._precise(cfg.train_for(p))]})
        for max_length, precision in tokenisations:
            name = "reference" if len(tokenisations) == 1 else f"reference@{max_length}/{precision}"
            job = self._job("reference", name, reference_job,
                            ReferenceInputs(preference=self.plan.rows_ref(self.data.preference),
                                            max_length=max_length, precision=precision, dtype=cfg.model.dtype),
                            {"base": base}, resources="analysis")
            references[(max_length, precision)] = self._output(job, "")
        return base, references

    def trainings(self, runs: list[Run]) -> dict[str, Checkpoint]:
        """One training job per run, from the starting checkpoint."""
        probes = {n: a for n in self.cfg.analyses if isinstance(a := analysis(n), TrainingProbe)}
        out = {}
        for run in runs:
            method = build_method(run.spec.name, run.spec.params)
            train = self._precise(self.cfg.train_for(run.spec))
            measured = {n: probe.inputs(self.data, train) for n, probe in probes.items()}
            upstream = {"base": self.base}
            if method.needs_reference:
                upstream["reference"] = self.references[(train.max_length, train.precision)]
            job = self._job("train", f"train:{run.name}", train_job, TrainInputs(
                method=run.spec.name, params=dataclasses.asdict(method.params), train=train, peft=self.cfg.peft,
                dtype=self.cfg.model.dtype, seed=run.seed, preference=self.plan.rows_ref(self.data.preference),
                probes={p: v for p, v in measured.items() if v is not None}), upstream, resources="train")
            self.plan.trainings[run.name] = job
            out[run.name] = Checkpoint(run.name, run.row, run.seed, self._output(job))
        self.plan.checkpoints.update(out)
        return out

    def base_checkpoint(self) -> dict[str, Checkpoint]:
        ckpt = {"base": Checkpoint("base", "base", self.cfg.seed, self.base)}
        self.plan.checkpoints.update(ckpt)
        return ckpt

    def analyses(self, checkpoints: dict[str, Checkpoint]) -> None:
        """A job per checkpoint analysis of the run and checkpoint, where it has something to analyse."""
        for kind in self.cfg.analyses:
            check = analysis(kind)
            options = check.inputs(self.cfg, self.data) if isinstance(check, CheckpointAnalysis) else None
            if options is None:
                continue
            for ckpt in checkpoints.values():
                job = self._job(kind, f"{kind}:{ckpt.name}", analysis_job,
                                AnalysisInputs(analysis=kind, options=options), {"checkpoint": ckpt.at},
                                resources="analysis", versions="analysis")
                self.plan.analyses.append((job, ckpt.name))

    def answers(self, checkpoints: dict[str, Checkpoint], tasks: list[tuple[Task, list[Sample]]]) -> None:
        """A job per checkpoint x task (checkpoint-major order)."""
        for ckpt in checkpoints.values():
            for task, samples in tasks:
                rows = prompt_rows(task, samples)
                job = self._job("answers", f"answers:{ckpt.name}/{task.name}", answers_job, AnswersInputs(
                    task=task.name, version=task.version, samples=self.plan.rows_ref(rows), n_samples=len(rows),
                    generation=self.cfg.generation, dtype=self.cfg.model.dtype, seed=self.cfg.seed),
                    {"checkpoint": ckpt.at}, resources="generate", units=len(samples))
                self.plan.answers[(ckpt.name, task.name)] = job


def plan_tuning(cfg: RunConfig, env: PlanEnv, data: PreparedData, dev: tuple[Task, list[Sample]]) -> Plan:
    """Every grid point trained on the tuning seeds and answering the dev task."""
    planner = Planner(cfg, env, data)
    planner.answers(planner.trainings(tuning_runs(cfg)), [dev])
    return planner.plan


def plan_run(cfg: RunConfig, env: PlanEnv, data: PreparedData, tasks: list[tuple[Task, list[Sample]]],
             specs: list[MethodSpec] | None = None) -> Plan:
    """The run's jobs: starting checkpoint, reference, one training per method spec (the chosen
    grid points, default: the config's methods) and seed, then analyses and answers per checkpoint."""
    planner = Planner(cfg, env, data)
    checkpoints = planner.base_checkpoint() if cfg.include_base else {}
    checkpoints.update(planner.trainings(training_runs(cfg, list(specs or cfg.methods))))
    planner.analyses(checkpoints)
    planner.answers(checkpoints, tasks)
    return planner.plan
