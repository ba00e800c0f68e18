"""Leaderboard building: merged runs, partial / not-judged data, comparisons, bad input."""
from __future__ import annotations

import math
from pathlib import Path

import pytest

from conftest import SCORE_HEADER, score_rows, write_csv  # type: ignore[import-not-found]
from harness.errors import HarnessError
from harness.report import build_leaderboard
from harness.report.render import to_markdown

KEYS = ["hh_rlhf_gen/bleu4", "hh_rlhf_gen/rougeL", "mt_bench/mt_bench_turn1",
        "mt_bench/mt_bench_turn2", "mt_bench/mt_bench_avg"]


def test_leaderboard_shape_two_runs_three_models_two_tasks(make_run) -> None:
    a = make_run("runA", ["sft", "dpo"])
    b = make_run("runB", ["orpo"], rng_seed=1)
    lb = build_leaderboard([a, b], baseline="sft")
    assert list(lb.table["label"]) == ["sft", "dpo", "orpo"]
    assert list(lb.table["run"]) == ["runA", "runA", "runB"]
    assert [c.key for c in lb.value_columns] == KEYS
    stats = [f"{k}:{s}" for k in KEYS for s in ("mean", "lo", "hi", "n", "seed_sd", "status", "reason")]
    assert list(lb.table.columns) == ["run", "model", "seeds", "label"] + stats + \
        ["train:wall_s", "train:tokens", "train:global_batch"]
    assert lb.table.shape == (3, 4 + 7 * len(KEYS) + 3)
    assert list(lb.table["hh_rlhf_gen/bleu4:n"]) == [40, 40, 40]
    assert list(lb.table["mt_bench/mt_bench_avg:n"]) == [16, 16, 16]
    assert (lb.table["hh_rlhf_gen/bleu4:lo"] <= lb.table["hh_rlhf_gen/bleu4:mean"]).all()
    assert (lb.table[[f"{k}:status" for k in KEYS]] == "ok").all().all()
    # sft has no training cost (a base model) -> NaN and a note, never 0
    assert lb.table["train:wall_s"].isna().tolist() == [True, False, False]
    assert any("train cost for sft" in n for n in lb.notes)


def test_average_column_is_mean_of_turns(make_run) -> None:
    lb = build_leaderboard([make_run("r", ["dpo"])])
    t1, t2 = lb.cells[(0, "mt_bench/mt_bench_turn1")].values, \
        lb.cells[(0, "mt_bench/mt_bench_turn2")].values
    assert lb.table["mt_bench/mt_bench_avg:mean"].iloc[0] == pytest.approx(((t1 + t2) / 2).mean())


def test_clashing_model_names_are_prefixed_and_seeds_merged(make_run) -> None:
    a = make_run("runA", ["sft", "dpo"])
    b = make_run("runB", ["dpo"], seeds=(0, 1))
    lb = build_leaderboard([a, b])
    assert list(lb.table["label"]) == ["sft", "runA/dpo", "runB/dpo"]
    assert list(lb.table["seeds"]) == ["0", "0", "0,1"]
    assert list(lb.seeds_table["label"]) == ["sft", "runA/dpo", "runB/dpo", "runB/dpo"]
    assert list(lb.seeds_table["seed"]) == [0, 0, 0, 1]


def test_several_seeds_one_row_mean_spread_and_crossed_ci(make_run) -> None:
    """Three seeds of one model: the row's mean is the mean over seeds, sd is the spread of the
    per-seed means, and the CI (resampling seeds and samples) is wider than any one seed's."""
    rows = score_rows(["dpo"], seeds=(0, 1, 2), rng_seed=3)
    rows = [r[:5] + [f"{float(r[5]) + 8 * r[1]:.3f}"] + r[6:] for r in rows]  # a strong seed effect
    lb = build_leaderboard([make_run("r", rows=rows, costs=False, dynamics=False)])
    key = "hh_rlhf_gen/bleu4"
    per_seed = lb.seeds_table.set_index("seed")[f"{key}:mean"]
    assert len(lb.table) == 1 and list(per_seed.index) == [0, 1, 2]
    assert lb.table[f"{key}:mean"].iloc[0] == pytest.approx(per_seed.mean())
    assert lb.table[f"{key}:seed_sd"].iloc[0] == pytest.approx(per_seed.std(ddof=1))
    assert lb.table[f"{key}:seed_sd"].iloc[0] > 5
    assert lb.table[f"{key}:n"].iloc[0] == 40  # samples, not samples x seeds
    one = build_leaderboard([make_run("one", rows=[r for r in rows if r[1] == 0], costs=False,
                                      dynamics=False)])
    assert math.isnan(one.table[f"{key}:seed_sd"].iloc[0])
    width3 = lb.table[f"{key}:hi"].iloc[0] - lb.table[f"{key}:lo"].iloc[0]
    width1 = one.table[f"{key}:hi"].iloc[0] - one.table[f"{key}:lo"].iloc[0]
    assert width3 > 2 * width1 > 0  # the seeds' spread is in the interval
    md = to_markdown(lb, lb.notes)
    assert "| seeds |" in md and " sd " in md and "resamples seeds and samples" in md


def test_paired_comparison_pairs_by_seed(make_run) -> None:
    """A model equal to the baseline seed by seed is 'no difference' (p = 1), even though its
    seeds differ among themselves; pairing seed 0 with seed 1 would see differences."""
    rows = score_rows(["sft"], seeds=(0, 1, 2), rng_seed=5)
    rows += [["twin"] + r[1:] for r in rows]
    lb = build_leaderboard([make_run("r", rows=rows, costs=False, dynamics=False)], baseline="sft")
    cmp = lb.comparisons.set_index(["metric", "model"])
    twin = cmp.loc[("hh_rlhf_gen/bleu4", "twin")]
    assert twin["diff"] == 0 and twin["lo"] == twin["hi"] == 0 and twin["p_value"] == 1.0
    assert twin["seeds"] == 3
    shifted = [["twin"] + [(r[1] + 1) % 3] + r[2:] for r in rows if r[0] == "sft"]
    lb2 = build_leaderboard([make_run("r2", rows=[r for r in rows if r[0] == "sft"] + shifted,
                                      costs=False, dynamics=False)], baseline="sft")
    mispaired = lb2.comparisons.set_index(["metric", "model"]).loc[("hh_rlhf_gen/bleu4", "twin")]
    assert mispaired["hi"] - mispaired["lo"] > 1  # the same scores under other seeds: not paired


def test_paired_comparisons_against_baseline(make_run) -> None:
    rows = score_rows(["sft", "dpo"])
    rows += [["twin"] + r[1:] for r in rows if r[0] == "sft"]  # identical to the baseline
    lb = build_leaderboard([make_run("r", rows=rows, costs=False, dynamics=False)],
                           baseline="sft")
    cmp = lb.comparisons.set_index(["metric", "model"])
    assert cmp.loc[("hh_rlhf_gen/bleu4", "dpo"), "verdict"] == "supported"
    assert cmp.loc[("hh_rlhf_gen/bleu4", "dpo"), "diff"] > 5
    assert cmp.loc[("hh_rlhf_gen/bleu4", "twin"), "verdict"] == "not supported"
    assert cmp.loc[("hh_rlhf_gen/bleu4", "twin"), "p_value"] == 1.0
    assert set(cmp.index.get_level_values(0)) == set(KEYS)
    md = to_markdown(lb, lb.notes)
    assert "## Paired comparisons vs sft" in md and "not supported" in md


def test_unknown_baseline_is_a_note_not_a_crash(make_run) -> None:
    lb = build_leaderboard([make_run("r", ["dpo"])], baseline="nope")
    assert lb.comparisons.empty
    assert any("baseline 'nope' not found" in n for n in lb.notes)


def test_partial_and_missing_cells_are_flagged(make_run) -> None:
    rows = score_rows(["sft", "dpo"])
    out, dropped = [], 0
    for r in rows:
        if r[0] == "dpo" and r[3] == "bleu4" and int(r[4].split("-")[1]) < 12:
            if dropped < 10:
                r = r[:5] + ["", "error", "generation timed out", ""]
            dropped += 1
            if dropped > 10:
                continue  # two rows absent altogether
        if r[0] == "dpo" and r[3] == "rougeL":
            r = r[:5] + ["", "error", "CUDA OOM", ""]
        out.append(r)
    lb = build_leaderboard([make_run("r", rows=out, costs=False, dynamics=False)])
    dpo = lb.table[lb.table["label"] == "dpo"].iloc[0]
    assert dpo["hh_rlhf_gen/bleu4:status"] == "partial" and dpo["hh_rlhf_gen/bleu4:n"] == 28
    assert dpo["hh_rlhf_gen/rougeL:status"] == "missing" and dpo["hh_rlhf_gen/rougeL:n"] == 0
    assert str(dpo["hh_rlhf_gen/rougeL:mean"]) == "nan"  # never a silent zero
    notes = "\n".join(lb.notes)
    assert ("hh_rlhf_gen/bleu4 for dpo: 12 of 40 samples missing "
            "(error: generation timed out x10; no score row x2)") in notes
    assert "hh_rlhf_gen/rougeL for dpo: 40 of 40 samples missing (error: CUDA OOM x40)" in notes
    md = to_markdown(lb, lb.notes)
    dpo_line = next(line for line in md.splitlines() if line.startswith("| dpo "))
    assert "| missing |" in dpo_line and "]\\* |" in dpo_line


def test_not_judged_cells_show_reason_once(make_run) -> None:
    rows = [r if r[2] != "mt_bench" else r[:5] + ["", "not_judged", "no judge configured", r[8]]
            for r in score_rows(["sft", "dpo"])]
    lb = build_leaderboard([make_run("r", rows=rows, costs=False, dynamics=False)])
    assert set(lb.table["mt_bench/mt_bench_avg:status"]) == {"not_judged"}
    md = to_markdown(lb, lb.notes)
    assert md.count("| not judged |") + md.count("| not judged\n") >= 2
    assert md.count("not judged |") == 6  # 2 models x (2 turns + avg), the reason not repeated
    reason_notes = [n for n in lb.notes if "no judge configured" in n]
    assert len(reason_notes) == 1 and "mt_bench/mt_bench_turn1 (all models)" in reason_notes[0]


def test_empty_scores_csv_gives_empty_table_and_note(make_run) -> None:
    lb = build_leaderboard([make_run("r", rows=[], costs=False, dynamics=False)], baseline="sft")
    assert len(lb.table) == 0 and lb.value_columns == []
    assert "r: scores.csv has no rows" in lb.notes
    assert "| model |" in to_markdown(lb, lb.notes)


def test_task_absent_from_one_run(make_run) -> None:
    a = make_run("a", ["sft"])
    b = make_run("b", rows=[r for r in score_rows(["ipo"]) if r[2] == "hh_rlhf_gen"],
                 costs=False, dynamics=False)
    lb = build_leaderboard([a, b])
    assert lb.table.set_index("label").loc["ipo", "mt_bench/mt_bench_turn1:status"] == "missing"
    assert any("for ipo: no scores (task mt_bench not in run b)" in n for n in lb.notes)


def test_missing_scores_csv_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    with pytest.raises(HarnessError, match="scores.csv: file not found") as exc:
        build_leaderboard([tmp_path / "run"])
    assert exc.value.file == str(tmp_path / "run" / "scores.csv")
    with pytest.raises(HarnessError, match="run directory not found"):
        build_leaderboard([tmp_path / "nope"])


@pytest.mark.parametrize("mutate, row, field, words", [
    (lambda rows: [r[:5] + r[6:] for r in rows], 1, "score", "missing column"),
    (lambda rows: rows[:3] + [rows[3][:5] + ["abc"] + rows[3][6:]] + rows[4:], 4, "score",
     "'abc'"),
    (lambda rows: rows[:1] + [rows[1][:1] + ["x"] + rows[1][2:]] + rows[2:], 2, "seed", "integer"),
    (lambda rows: rows[:2] + [rows[2][:6] + ["done"] + rows[2][7:]] + rows[3:], 3, "status",
     "'done'"),
    (lambda rows: rows[:2] + [rows[2][:5] + ["", "ok"] + rows[2][7:]] + rows[3:], 3, "score",
     "finite number"),
])
def test_bad_scores_csv_is_one_line_error(tmp_path: Path, mutate, row, field, words) -> None:
    data = mutate([SCORE_HEADER] + [[str(x) for x in r] for r in score_rows(["sft"])[:6]])
    path = write_csv(tmp_path / "run" / "scores.csv", data[0], data[1:])
    with pytest.raises(HarnessError) as exc:
        build_leaderboard([path.parent])
    err = exc.value
    assert (err.file, err.row, err.field) == (str(path), row, field)
    assert str(err).startswith(f"{path}:{row}: {field}: ") and words in str(err)
    assert "\n" not in str(err)


def test_bad_optional_file_is_noted_not_fatal(make_run) -> None:
    run = make_run("r", ["dpo"])
    (run / "train_costs.csv").write_text("model,seed,wall_s,tokens\ndpo,0,fast,10\n")
    lb = build_leaderboard([run])
    assert "train:wall_s" not in lb.table.columns
    assert any("train_costs.csv:2: wall_s" in n and "ignored" in n for n in lb.notes)


def test_runs_that_differ_only_in_seed_merge(make_run) -> None:
    """`harness table` over q-s0 and q-s1 (same config, seed 0 and seed 1): one row per model over
    both seeds. A run whose config differs in anything else stays apart."""
    import json
    dirs = []
    for name, seed, lr in (("q-s0", 0, 1e-5), ("q-s1", 1, 1e-5), ("q-lr", 2, 3e-5)):
        run = make_run(name, ["dpo"], seeds=(seed,), rng_seed=seed)
        config = {"run_name": name, "seeds": [seed], "train": {"learning_rate": lr}}
        (run / "manifest.json").write_text(json.dumps({"run_name": name, "config": config}))
        dirs.append(run)
    lb = build_leaderboard(dirs)
    assert list(lb.table["label"]) == ["q-s0/dpo", "q-lr/dpo"]
    assert list(lb.table["seeds"]) == ["0,1", "2"]
    assert any("runs q-s0, q-s1 differ only in seed: merged as q-s0" in n for n in lb.notes)


def test_plots_when_the_interval_misses_the_mean(make_run, tmp_path) -> None:
    """Constant scores under several seeds: the crossed bootstrap's bounds and the mean differ in
    the last bit (7.7 x 3 seeds: mean - lo = -1.8e-15); the score plot must still be drawn (it
    once raised on negative error bars)."""
    from harness.report.tables import write_reports
    rows = [["dpo", seed, "t", "m", f"s{k}", "7.7", "ok", "", ""] for seed in (0, 1, 2) for k in range(7)]
    run = make_run("r", rows=rows, costs=False, dynamics=False)
    lb_dir = tmp_path / "out"
    files = write_reports([run], lb_dir)
    assert "plot:scores_t_m" in files and files["plot:scores_t_m"].stat().st_size > 0
