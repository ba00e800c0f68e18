"""MT-Bench as FastChat's llm_judge defines it: its file formats (fastchat_files), judge prompts
(prompts), matches (matches), verdict parsing (parse), judging (runner), per-sample scores (scores),
FastChat's tables (show_result), judge agreement (agreement), the run's judge stage (stage) and
the `harness mt-bench` commands (cli). Reaching a judge model (an OpenAI-compatible endpoint or a
locally served one) is harness.judges."""
