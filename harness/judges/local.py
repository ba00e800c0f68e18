"""Local judges: `judge: {serve: {model: PATH}}` starts vLLM's OpenAI-compatible server for the
judge model on 127.0.0.1 (harness.judges.serve_vllm), waits for `GET /models`, judges, and stops it. The model
path takes what `model.path` takes (HF folder, GGUF file, pkg:...); a GGUF file is converted by the
same cached `source` stage as a run's own model, so a run judged by its own base model converts once.
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from harness.judges.config import JudgeConfig


def served_model_dir(jcfg: JudgeConfig, cache_dir: Path) -> Path:
    from harness.job_inputs import SourceInputs, library_versions
    from harness.jobs import Job, JobContext
    from harness.models.source import check_source, is_gguf, source_digest
    from harness.stage_jobs import source_job

    assert jcfg.serve is not None
    path = check_source(jcfg.serve.model, field="judge.serve.model")
    if not is_gguf(path):
        return path
    # the job a run plans for the same model.path (harness.plan), so the two share one conversion
    job = Job("source", "source", source_job, SourceInputs(path=str(path), digest=source_digest(path),
                                                           chat_template=None),
              {}, library_versions()["source"], cache_dir)
    job.run(JobContext())
    return job.stage.dir / "model"


@contextmanager
def live_judge(jcfg: JudgeConfig, cache_dir: Path) -> Iterator[JudgeConfig]:
    """The judge as an endpoint for the block: itself, or its own local server while the block runs."""
    if jcfg.serve is None:
        yield jcfg
        return
    from harness.judges.serve_vllm import serve_vllm
    with serve_vllm(served_model_dir(jcfg, cache_dir), extra_args=jcfg.serve.extra_args,
                    max_model_len=jcfg.serve.max_model_len, served_model_name=jcfg.model,
                    timeout_s=jcfg.serve.timeout_s) as url:
        yield jcfg.model_copy(update={"base_url": str(url), "serve": None})
