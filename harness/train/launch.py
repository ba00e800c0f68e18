"""One method's training as several processes: `train.launcher: torchrun` or `accelerate`.

The training job writes what a rank needs into <stage>/launch/ (the dataset saved to disk, so
every rank maps the same files instead of each building its own temporary cache, which failed
here with two gloo ranks) and starts `torchrun` or `accelerate launch` on this module; every
rank runs the same `train_method`, accelerate shards the batches (per-device batch x processes x
accumulation = the global batch), rank 0 writes the model, the training probes' tables
(harness.analyses) and result.json. The reference log-probs are the shared cache's dataset
columns, computed before in one process: nothing is precomputed under ZeRO-3 or FSDP, where
TRL's own precompute breaks.

Accelerate configs: TRL's shipped ones by name (`multi_gpu`, `zero1`, `zero2`, `zero3`, `fsdp1`,
`fsdp2`, see trl/accelerate_configs/) or a path; `train.processes` overrides their
`num_processes`. `accelerate launch` needs CUDA devices (on CPU it starts one process, or needs
mpirun); torchrun works anywhere, over gloo without CUDA. A run that did not start the
processes asked for is an error (its global batch says so), never a silent one-process run.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from harness.errors import HarnessError
from harness.store import atomic_write_json


def accelerate_config_path(name: str) -> Path:
    """TRL's shipped accelerate config of that name, or the file `name` names."""
    from importlib.util import find_spec
    # where trl lies, without importing it (seconds): every config load checks this field
    shipped = Path(find_spec("trl").origin).parent / "accelerate_configs" / f"{name}.yaml"
    if shipped.is_file():
        return shipped
    if Path(name).is_file():
        return Path(name)
    names = sorted(p.stem for p in shipped.parent.glob("*.yaml"))
    raise HarnessError(f"accelerate config {name!r} is neither one of TRL's ({', '.join(names)}) nor a file",
                       field="train.accelerate_config")


def check_devices(processes: int, launcher: str = "torchrun") -> None:
    """One process per device: CUDA devices where there are any, else CPU cores. `accelerate
    launch` starts several CPU processes only through mpirun, so on CPU it is torchrun's job."""
    import torch
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    have, what = (gpus, "CUDA devices") if gpus else (os.cpu_count() or 1, "CPU cores and no CUDA device")
    if processes > have:
        raise HarnessError(f"{processes} training processes, but this machine has {have} {what}",
                           field="train.processes")
    if launcher == "accelerate" and processes > 1 and not gpus:
        raise HarnessError("launcher accelerate starts one process per CUDA device and this machine has none "
                           "(on CPU it would start one process): use launcher: torchrun", field="train.launcher")


def launch_command(spec, job_dir: Path) -> list[str]:
    entry = ["-m", "harness.train.launch", str(job_dir)]
    if spec.launcher == "torchrun":
        return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={spec.processes}",
                *entry]
    return [sys.executable, "-m", "accelerate.commands.launch", "--config_file",
            str(accelerate_config_path(spec.accelerate_config)), "--num_processes", str(spec.processes), *entry]


def launch_train_method(method, start_dir: str, dataset, spec, stage_dir: Path, seed: int,
                        probes: dict, *, peft, dtype: str) -> tuple[dict, dict[str, list[dict]]]:
    """harness.train.runner.train_method under the configured launcher; same return value."""
    check_devices(spec.processes, spec.launcher)
    job_dir = stage_dir / "launch"
    job_dir.mkdir(parents=True, exist_ok=True)
    (job_dir / "result.json").unlink(missing_ok=True)
    dataset.save_to_disk(str(job_dir / "dataset"))
    atomic_write_json(job_dir / "job.json", {
        "method": method.name, "params": method.params.__dict__, "start_dir": start_dir,
        "spec": spec.model_dump() | {"report_to": spec.report_to},  # report_to is left out of dumps
        "stage_dir": str(stage_dir), "seed": seed, "probes": probes, "peft": peft and peft.model_dump(),
        "dtype": dtype})
    import torch
    env = {**os.environ, **({} if torch.cuda.is_available() else {"ACCELERATE_USE_CPU": "1"})}
    log = job_dir / "launch.log"
    with open(log, "a", encoding="utf-8") as out:
        proc = subprocess.run(launch_command(spec, job_dir), stdout=out, stderr=subprocess.STDOUT, env=env)
    if proc.returncode != 0 or not (job_dir / "result.json").is_file():
        tail = " | ".join(log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-3:])
        raise HarnessError(f"training under {spec.launcher} ({spec.processes} processes) failed with exit code "
                           f"{proc.returncode}: {tail[-400:]}", file=log)
    result = json.loads((job_dir / "result.json").read_text())
    expected = spec.batch_size * spec.processes * spec.gradient_accumulation_steps
    if result["info"]["global_batch"] != expected:  # never a silent single-process run
        raise HarnessError(f"{spec.launcher} trained with a global batch of {result['info']['global_batch']}, "
                           f"not {expected}: it did not start {spec.processes} processes", file=log)
    return result["info"], result["tables"]


def main(job_dir: str) -> None:
    """One rank: rebuild the job from job.json, train, and (rank 0) write result.json."""
    from datasets import load_from_disk

    from harness.config import PeftSpec, TrainSpec
    from harness.methods import build_method
    from harness.train.runner import train_method
    job_dir = Path(job_dir)
    job = json.loads((job_dir / "job.json").read_text())
    spec = TrainSpec.model_validate(job["spec"])
    info, tables = train_method(build_method(job["method"], job["params"]), job["start_dir"],
                                load_from_disk(str(job_dir / "dataset")), spec, Path(job["stage_dir"]), job["seed"],
                                job["probes"], peft=job["peft"] and PeftSpec.model_validate(job["peft"]),
                                dtype=job["dtype"])
    if int(os.environ.get("RANK", "0")) == 0:
        atomic_write_json(job_dir / "result.json", {"info": info, "tables": tables})
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        # every rank leaves together and closes the process group itself: a rank that exits with
        # gloo's threads still running aborts ("terminate called without an active exception")
        dist.barrier()
        dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1])
