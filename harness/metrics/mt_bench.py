"""MT-Bench's judged metrics (FastChat's protocol, harness.mt_bench): a 1-10 grade per turn
(single mode) or a win rate against the baseline per turn (pairwise mode). Which of the two a
run gets is the `judge.mode` of its config; a task lists the single names."""
from __future__ import annotations

from harness.metrics.base import JudgedMetric, metric


def judge_mt_bench_metrics(cfg, task, samples, answers, metrics, out_dir, cache_dir) -> list[dict]:
    from harness.mt_bench.stage import judge_task  # the judge client loads only when a task is judged
    return judge_task(cfg, task, samples, answers, out_dir, cache_dir, metrics=metrics)


@metric
class MTBenchTurn1(JudgedMetric):
    name = "mt_bench_turn1"
    judge = judge_mt_bench_metrics


@metric
class MTBenchTurn2(JudgedMetric):
    name = "mt_bench_turn2"
    judge = judge_mt_bench_metrics


@metric
class MTBenchPairwiseTurn1(JudgedMetric):
    name = "mt_bench_pairwise_turn1"
    scale = (0.0, 1.0)
    judge = judge_mt_bench_metrics


@metric
class MTBenchPairwiseTurn2(JudgedMetric):
    name = "mt_bench_pairwise_turn2"
    scale = (0.0, 1.0)
    judge = judge_mt_bench_metrics
