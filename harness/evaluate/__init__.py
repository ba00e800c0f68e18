"""Evaluation of checkpoints beyond a run's own tasks: lm-eval on vLLM.

- lm_eval.py: lm-evaluation-harness tasks on every checkpoint of a finished run
  (`harness lm-eval RUN --tasks a,b`), cached per checkpoint and request as a `Stage`;
  lm_eval_rows.py turns lm-eval's results into rows of scores.csv; checkpoints.py finds a
  finished run's checkpoints from its manifest.
(vLLM's OpenAI-compatible server for a local judge is harness.judges.serve_vllm.)

Every vLLM engine, in this process (generation, lm-eval) or served, takes its arguments from
one builder (harness.generate.vllm.engine_args) and its environment from harness.vllm_env,
applied when an engine starts, never on import.
"""
