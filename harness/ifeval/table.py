"""Accuracy per instruction kind (the reference's per-instruction report), for every model of a
run side by side, so one sees which kinds of instruction a method gained or lost.

`ifeval_by_instruction.csv`: model, instruction (an id such as `punctuation:no_comma`, or its
group `punctuation`, or `all`), level (`kind`, `group`, `all`), n, strict and loose accuracy (%).
`ifeval_by_instruction.md`: strict and loose tables, one column per model, each model's change
against the baseline (the run's `baseline`, else `base`) in brackets.
"""
from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

from harness.ifeval.data import Prompt
from harness.ifeval.scorer import judge_cached

COLUMNS = ["model", "instruction", "level", "n", "strict", "loose"]


def accuracy_rows(prompts: list[Prompt], answers: dict[str, list[str]]) -> list[dict]:
    """Per model: accuracy per instruction kind, per group (the id before ':') and over all."""
    rows = []
    for model, responses in answers.items():
        followed: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])  # n, strict, loose
        for prompt, response in zip(prompts, responses):
            strict = judge_cached(prompt, response, False).follow_instruction_list
            loose = judge_cached(prompt, response, True).follow_instruction_list
            for instruction, s, lo in zip(prompt.instruction_id_list, strict, loose):
                for key in (("kind", instruction), ("group", instruction.split(":")[0]), ("all", "all")):
                    cell = followed[key]
                    cell[0], cell[1], cell[2] = cell[0] + 1, cell[1] + s, cell[2] + lo
        order = {"all": 0, "group": 1, "kind": 2}
        for (level, name), (n, s, lo) in sorted(followed.items(), key=lambda kv: (order[kv[0][0]], kv[0][1])):
            rows.append({"model": model, "instruction": name, "level": level, "n": n,
                         "strict": round(100.0 * s / n, 2), "loose": round(100.0 * lo / n, 2)})
    return rows


def _markdown(rows: list[dict], models: list[str], baseline: str | None) -> str:
    by = {(r["model"], r["instruction"]): r for r in rows}
    names = list(dict.fromkeys(r["instruction"] for r in rows if r["model"] == models[0]))
    out = ["# IFEval accuracy per instruction kind", "",
           "Instruction-level accuracy (%) of each model on the instructions of each kind (`n` of them), "
           "over all prompts, per group and per kind" +
           (f"; in brackets, the change against `{baseline}`." if baseline else "."), ""]
    for mode in ("strict", "loose"):
        out += [f"## {mode}", "", "| instruction | n | " + " | ".join(models) + " |",
                "|---|---:|" + "---:|" * len(models)]
        for name in names:
            cells = []
            for model in models:
                value = by[(model, name)][mode]
                delta = value - by[(baseline, name)][mode] if baseline and model != baseline else None
                cells.append(f"{value:.1f}" + (f" ({delta:+.1f})" if delta is not None else ""))
            label = f"**{name}**" if by[(models[0], name)]["level"] != "kind" else name
            out.append(f"| {label} | {by[(models[0], name)]['n']} | " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)


def write_instruction_table(prompts: list[Prompt], answers: dict[str, list[str]], out_dir: Path,
                            baseline: str | None = None) -> list[Path]:
    """Write ifeval_by_instruction.csv and .md into out_dir; the baseline is `baseline` when it is
    one of the models, else `base` when present, else none."""
    rows = accuracy_rows(prompts, answers)
    models = list(answers)
    base = baseline if baseline in answers else ("base" if "base" in answers else None)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path, md_path = out_dir / "ifeval_by_instruction.csv", out_dir / "ifeval_by_instruction.md"
    with open(csv_path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    md_path.write_text(_markdown(rows, models, base) + "\n", encoding="utf-8")
    return [csv_path, md_path]
