"""config -> data -> base checkpoint -> shared reference log-probs -> train (per method)
-> generate (per checkpoint x task) -> score -> judge -> leaderboard.

Every arrow is a cached stage (harness.store.Stage): its key hashes the inputs it depends on,
so a rerun recomputes nothing, and changing one method's hyper-parameter retrains only that
method. This module knows no concrete method, task, metric or backend: it goes through the
registries.
"""
from __future__ import annotations

import dataclasses
import inspect
import logging
import time
from contextlib import contextmanager
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from harness.config import RunConfig
from harness.console import console
from harness.data.prepare import PreparedData, pair_kinds, prepare_data
from harness.errors import HarnessError
from harness.manifest import hardware, package_versions
from harness.metrics import METRICS, is_judged, judge_groups
from harness.methods import build_method
from harness.scoring import SCORE_COLUMNS, score_answers
from harness.store import CODE_VERSION, Stage, atomic_write_json, default_cache_dir, read_json, write_csv
from harness.tasks import discover
from harness.tuning import choose, point_label, points_tried
from harness.types import Task

log = logging.getLogger("harness")


class Pipeline:
    def __init__(self, cfg: RunConfig, config_path: Path | None = None) -> None:
        self.cfg = cfg
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

    @contextmanager
    def _timed(self, name: str):
        t0 = time.time()
        console.rule(f"[bold]{name}")
        yield
        self.timings[name] = round(time.time() - t0, 2)

    # ---------------------------------------------------------------- stages
    def run(self) -> Path:
        t0 = time.time()
        tasks, dev = self._resolve_tasks()  # fail fast on bad task names/options, before any work
        if self.cfg.judge is not None and any(is_judged(m) for t, _ in tasks for m in t.metrics):
            self.cfg.judge.check_reachable()  # a judge that cannot judge stops the run before training
        with self._timed("data"):
            data = prepare_data(self.cfg)
        source_key = source_dir = None
        if self.cfg.model.path is not None:
            with self._timed("source"):
                source_key, source_dir = self._source()
        with self._timed("base"):
            base_key, base_dir = self._base(data, source_key, source_dir)
        checkpoints: dict[str, tuple[str, str]] = {}
        if self.cfg.include_base:
            checkpoints["base"] = (base_key, base_dir)
            self.ids["base"] = ("base", self.cfg.seed)
        with self._timed("reference"):
            ref_values = self._reference(base_key, base_dir, data)
        costs, dynamics = [], []
        specs, choices, tuning_rows = list(self.cfg.methods), {}, []
        if dev is not None:
            with self._timed("tuning"):
                specs, choices, tuning_rows = self._tune(dev, base_key, base_dir, data, ref_values)
        seeds = self.cfg.training_seeds
        with self._timed("train"):
            for seed in seeds:
                for spec in specs:
                    name = spec.row if len(seeds) == 1 else f"{spec.row}-seed{seed}"
                    key, model_dir, info, rows = self._train(spec, seed, name, base_key, base_dir, data,
                                                             ref_values)
                    checkpoints[name] = (key, model_dir)
                    self.ids[name] = (spec.row, seed)
                    costs.append({"model": spec.row, "seed": seed, "wall_s": info["wall_s"],
                                  "tokens": info["tokens"], "steps": info["steps"],
                                  "global_batch": info.get("global_batch"),
                                  "learning_rate": self.cfg.train_for(spec).learning_rate,
                                  "peft": self.cfg.peft.method if self.cfg.peft else "full",
                                  "budget": choices[spec.row].tried if spec.row in choices else None,
                                  "chosen": choices[spec.row].chosen if spec.row in choices else None})
                    dynamics += [{"model": spec.row, "seed": seed, **r} for r in rows]
        with self._timed("token_logps"):
            token_rows, pair_rows = self._token_logps(checkpoints, data)
        with self._timed("generate"):
            answers = self._generate(checkpoints, tasks)
        with self._timed("score"):
            scores = self._score(answers, tasks)
        self._write_results(answers, scores, costs, dynamics, token_rows, pair_rows, tuning_rows)
        self.tuning = {row: dataclasses.asdict(c) for row, c in choices.items()}
        self._write_manifest(data, t0, checkpoints, costs)  # the report reads the run's config from it
        with self._timed("report"):
            from harness.report.tables import write_reports
            write_reports([self.out], self.out, baseline=self.cfg.baseline)
        self._write_manifest(data, t0, checkpoints, costs, final=True)
        console.print(f"[green]done[/green] in {time.time() - t0:.1f} s: {self.out}/leaderboard.md")
        return self.out

    def _resolve_tasks(self) -> tuple[list[tuple[Task, list]], tuple[Task, list] | None]:
        """The run's tasks with their samples, and the tuning section's dev task (or None)."""
        registry = discover([Path(d) for d in self.cfg.tasks_dirs])
        tasks = [self._task(registry, spec, f"tasks[{i}]") for i, spec in enumerate(self.cfg.tasks)]
        tuning = self.cfg.tuning
        if tuning is None:
            return tasks, None
        dev = self._task(registry, tuning.task, "tuning.task")
        if tuning.metric not in dev[0].metrics or is_judged(tuning.metric):
            valid = ", ".join(m for m in dev[0].metrics if not is_judged(m))
            raise HarnessError(f"{tuning.metric!r} is not a metric of {tuning.task.name} computed without a judge "
                               f"(valid: {valid})", file=self.config_path, field="tuning.metric")
        return tasks, dev

    def _task(self, registry, spec, field: str) -> tuple[Task, list]:
        factory = registry.get(spec.name, file=str(self.config_path or ""), field=f"{field}.name")
        kwargs = dict(spec.options)
        if "run_config" in inspect.signature(factory).parameters:
            kwargs["run_config"] = self.cfg
        try:
            task = factory(**kwargs)
        except TypeError as exc:
            raise HarnessError(f"bad option for task {spec.name!r}: {exc}", file=self.config_path,
                               field=f"{field}.options") from None
        for name in task.metrics:
            METRICS.get(name, file=str(self.config_path or ""), field=f"{field} ({spec.name}) metrics")
        return task, task.load()

    def _stage(self, name: str, payload) -> Stage:
        stage = Stage(self.cache, name, payload)
        self.stage_keys[f"{name}:{payload.get('label', '')}" if isinstance(payload, dict) else name] = stage.key
        return stage

    def _source(self) -> tuple[str, str]:
        """model.path as a plain HF checkpoint: a GGUF file de-quantized, a chat-template override
        written into the tokenizer; a folder without override is used in place."""
        from harness.models.source import (check_source, is_gguf, prepare_source, read_chat_template, source_digest,
                                           source_payload)
        cfg = self.cfg
        path = check_source(cfg.model.path, self.config_path)
        template = read_chat_template(cfg.model.chat_template, self.config_path)
        if not is_gguf(path) and template is None:
            return f"folder:{source_digest(path)}", str(path)
        stage = self._stage("source", source_payload(path, template))
        if stage.done:
            console.print(f"model source: cached ({stage.key})")
        else:
            self.computed.append("source")
            console.print(f"model source: converting {path.name} to a Hugging Face checkpoint")
            stage.mark_done(prepare_source(path, stage.dir / "model", template))
        return stage.key, str(stage.dir / "model")

    def _base(self, data: PreparedData, source_key: str | None, source_dir: str | None) -> tuple[str, str]:
        cfg = self.cfg
        if cfg.model.embedded is None and cfg.sft is None:
            return source_key, source_dir
        model = cfg.model.model_dump() if cfg.model.embedded is not None else {"source": source_key,
                                                                               "dtype": cfg.model.dtype}
        stage = self._stage("base", {"model": model, "sft": cfg.sft and cfg.sft.model_dump(),
                                     "peft": cfg.peft and cfg.peft.model_dump(),
                                     "sft_data": data.sft_hash(), "seed": cfg.seed, "label": "base"})
        if stage.done:
            console.print(f"base checkpoint: cached ({stage.key})")
            return stage.key, str(stage.dir / "model")
        self.computed.append("base")
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
                tok.chat_template = read_chat_template(cfg.model.chat_template, self.config_path)
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
        return stage.key, str(stage.dir / "model")

    def _reference(self, base_key: str, base_dir: str, data: PreparedData) -> dict[int, dict]:
        """Reference log-probs of the starting checkpoint, once per tokenisation length used by a
        reference-based method (methods may override train.max_length): {max_length: values}."""
        lengths = sorted({self.cfg.train_for(p).max_length for m in self.cfg.methods
                          for p in points_tried(self.cfg, m) if build_method(p.name, p.params).needs_reference})
        out = {}
        for max_length in lengths:
            stage = self._stage("reference", {"reference": base_key, "data": data.preference_hash(),
                                              "max_length": max_length, "dtype": self.cfg.model.dtype,
                                              "label": f"reference@{max_length}"})
            path = stage.dir / "ref_logps.json"
            if stage.done:
                console.print(f"reference log-probs (max_length {max_length}): cached ({stage.key})")
                out[max_length] = read_json(path)
                continue
            self.computed.append("reference")
            from datasets import Dataset

            from harness.train.reference import compute_reference_logps
            from harness.train.runner import dpo_args
            spec = self.cfg.train.model_copy(update={"max_length": max_length})
            args = dpo_args(stage.dir / "trainer", spec, self.cfg.seed, precompute=True, dtype=self.cfg.model.dtype)
            values, batches = compute_reference_logps(base_dir, Dataset.from_list(data.preference), args,
                                                      self.cfg.model.dtype)
            atomic_write_json(path, values)
            stage.mark_done({"rows": len(values), "ref_forward_batches": batches})
            out[max_length] = values
        return out

    def _train(self, spec, seed: int, name: str, base_key, base_dir, data: PreparedData, ref_values):
        method = build_method(spec.name, spec.params)
        train = self.cfg.train_for(spec)
        stage = self._stage("train", {"base": base_key, "data": data.preference_hash(), "method": spec.name,
                                      "params": method.params.__dict__, "train": train.model_dump(),
                                      "peft": self.cfg.peft and self.cfg.peft.model_dump(),
                                      "dtype": self.cfg.model.dtype, "probes": data.test_pairs_hash(),
                                      "seed": seed, "label": name})
        if stage.done:
            console.print(f"{name}: cached ({stage.key})")
            return stage.key, str(stage.dir / "model"), stage.info(), read_json(stage.dir / "dynamics.json")
        self.computed.append(f"train:{name}")
        from datasets import Dataset

        from harness.train.reference import attach_reference
        from harness.train.runner import train_method
        dataset = Dataset.from_list(data.preference)
        if method.needs_reference:
            dataset = attach_reference(dataset, ref_values[train.max_length])
        probes = {k: [r for r in data.test_pairs if r["kind"] == k][:train.probe_pairs]
                  for k in pair_kinds(data.test_pairs)}
        length = f"{train.max_steps} steps" if train.max_steps else f"{train.num_epochs} epochs"
        console.print(f"{name}: training {length} ({method.paper})")
        info, rows = train_method(method, base_dir, dataset, train, stage.dir, seed, probes,
                                  peft=self.cfg.peft, dtype=self.cfg.model.dtype)
        atomic_write_json(stage.dir / "dynamics.json", rows)
        atomic_write_json(stage.dir / "log_history.json", info.pop("log_history"))
        stage.mark_done(info)
        return stage.key, str(stage.dir / "model"), info, rows

    def _tune(self, dev, base_key, base_dir, data: PreparedData, ref_values):
        """Train each method's grid points on the tuning seeds, answer the dev task, and choose
        per method the point with the best mean dev metric (harness.tuning). Returns the chosen
        method specs, the choices and one row per (method, point, seed) for tuning.csv."""
        cfg, (dev_task, dev_samples) = self.cfg, dev
        checkpoints, where = {}, {}
        for spec in cfg.methods:
            for point in points_tried(cfg, spec):
                label = point_label(spec, point)
                for seed in cfg.tuning_seeds:
                    name = f"{spec.row}[{label}]-seed{seed}"
                    key, model_dir, _, _ = self._train(point, seed, name, base_key, base_dir, data, ref_values)
                    checkpoints[name] = (key, model_dir)
                    where[name] = (spec.row, label, seed)
        answers = self._generate(checkpoints, [dev], "dev answers")
        rows, dev_means = [], {}
        for (name, _), records in answers.items():
            row, label, seed = where[name]
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
        specs = [next(p for p in points_tried(cfg, s) if point_label(s, p) == choices[s.row].chosen)
                 for s in cfg.methods]
        return specs, choices, rows

    def _token_logps(self, checkpoints, data: PreparedData) -> tuple[list[dict], list[dict]]:
        """DPOP Fig. 4 per checkpoint: per kind of test pair, the mean log-prob of chosen tokens
        after the first differing token and of whole completions; and the same per pair (the
        unit the findings resample)."""
        from harness.train.logps import logp_after_first_diff, mean_logp_after_first_diff, pair_logps
        rows, pair_rows = [], []
        kinds = pair_kinds(data.test_pairs)
        if not kinds:
            return rows, pair_rows
        for name, (key, model_dir) in checkpoints.items():
            stage = self._stage("token_logps", {"checkpoint": key, "pairs": data.test_pairs_hash(),
                                                "kinds": kinds, "dtype": self.cfg.model.dtype,
                                                "max_length": self.cfg.train.max_length, "per_pair": True,
                                                "label": name})
            if not stage.done:
                self.computed.append(f"token_logps:{name}")
                from harness.models.load import load_model, load_tokenizer
                tok = load_tokenizer(model_dir)
                model = load_model(model_dir, self.cfg.model.dtype)
                result, per_pair = [], []
                for kind in kinds:
                    pairs = [r for r in data.test_pairs if r["kind"] == kind]
                    scored = pair_logps(model, tok, pairs, max_length=self.cfg.train.max_length)
                    if not scored:
                        continue
                    result.append({"kind": kind, "n": len(scored),
                                   "logp_after_first_diff": round(mean_logp_after_first_diff(scored), 5),
                                   "logp_chosen": round(sum(s["chosen_sum"] for s in scored) / len(scored), 5),
                                   "logp_rejected": round(sum(s["rejected_sum"] for s in scored) / len(scored), 5)})
                    per_pair += [{"kind": kind, "pair_id": s["id"], "logp_chosen": round(s["chosen_sum"], 5),
                                  "logp_rejected": round(s["rejected_sum"], 5),
                                  "logp_after_first_diff": round(logp_after_first_diff(s), 5)} for s in scored]
                atomic_write_json(stage.dir / "pairs.json", per_pair)
                stage.mark_done({"rows": result})
            model, seed = self.ids[name]
            rows += [{"model": model, "seed": seed, **r} for r in stage.info()["rows"]]
            pair_rows += [{"model": model, "seed": seed, **r} for r in read_json(stage.dir / "pairs.json")]
        return rows, pair_rows

    def _generate(self, checkpoints, tasks, what: str = "generating") -> dict[tuple[str, str], list[dict]]:
        from harness.generate.stage import GeneratorPool, generate_task_answers
        pool = GeneratorPool(self.cfg.generation, self.cfg.model.dtype, self.cfg.seed)
        out = {}
        total = sum(len(samples) for _, samples in tasks) * len(checkpoints)
        columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
        try:
            with Progress(*columns, console=console) as progress:
                bar = progress.add_task(what, total=total)
                for row, (key, model_dir) in checkpoints.items():
                    for task, samples in tasks:
                        stage = self._stage("answers", {"checkpoint": key, "task": task.name, "version": task.version,
                                                        "samples": [s.id for s in samples],
                                                        "params": [dataclasses.asdict(task.params_for(s))
                                                                   for s in samples],
                                                        "backend": self.cfg.generation.backend,
                                                        "label": f"{row}/{task.name}"})
                        progress.update(bar, description=f"{what} {row} / {task.name}")
                        if not stage.done:
                            self.computed.append(f"answers:{row}/{task.name}")
                        records = generate_task_answers(pool, model_dir, task, samples, stage.dir / "answers.jsonl",
                                                        advance=lambda n: progress.advance(bar, n))
                        stage.mark_done({"n": len(records)})
                        out[(row, task.name)] = records
        finally:
            pool.close()
        return out

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
    def _write_results(self, answers, scores, costs, dynamics, token_rows, pair_rows, tuning_rows) -> None:
        from harness.judge.mt_bench import write_model_answers
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
        write_csv(self.out / "dynamics.csv", ["model", "seed", "step", "kind", "logp_chosen", "logp_rejected",
                                               "margin"], dynamics)
        write_csv(self.out / "token_logps.csv", ["model", "seed", "kind", "n", "logp_after_first_diff",
                                                  "logp_chosen", "logp_rejected"], token_rows)
        write_csv(self.out / "pair_logps.csv", ["model", "seed", "kind", "pair_id", "logp_chosen", "logp_rejected",
                                                 "logp_after_first_diff"], pair_rows)

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
            "checkpoints": {row: _relative(Path(d), self.cache) for row, (_, d) in checkpoints.items()},
            "checkpoint_rows": {name: {"model": row, "seed": seed} for name, (row, seed) in self.ids.items()},
            "tuning": self.tuning})


def _relative(path: Path, root: Path) -> str:
    """A checkpoint path relative to the cache folder when it lies inside it (results never name
    a folder of the machine that produced them); as given otherwise."""
    try:
        return str(path.resolve().relative_to(root))
    except ValueError:
        return str(path)

