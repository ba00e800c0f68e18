"""`harness ifeval score FILE`: score responses made anywhere, as the reference's
evaluation_main.py does (its input format; its eval_results_strict/loose.jsonl with --out)."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from harness.errors import HarnessError
from harness.ifeval.data import Prompt, load_prompts
from harness.ifeval.scorer import Verdict, judge_cached

KEYS = ("prompt_level_strict", "prompt_level_loose", "inst_level_strict", "inst_level_loose")


@dataclasses.dataclass
class Scored:
    """The verdicts on a response file's rows whose prompt is one of IFEval's, in the prompts' order."""

    prompts: list[Prompt]
    responses: list[str]
    strict: list[Verdict]
    loose: list[Verdict]
    left_out: list[str]  # one line per row whose prompt is not one of IFEval's

    def accuracies(self) -> dict[str, float]:
        """The reference's four figures, as fractions."""
        out = {}
        for mode, verdicts in (("strict", self.strict), ("loose", self.loose)):
            out[f"prompt_level_{mode}"] = sum(v.follow_all_instructions for v in verdicts) / len(verdicts)
            out[f"inst_level_{mode}"] = (sum(sum(v.follow_instruction_list) for v in verdicts)
                                         / sum(len(v.follow_instruction_list) for v in verdicts))
        return {k: out[k] for k in KEYS}


def read_responses(path: Path) -> list[tuple[int, str, str]]:
    """(line, prompt, response) of each row; a malformed row is an error naming line and field."""
    if not path.is_file():
        raise HarnessError("file not found", file=path)
    rows = []
    with open(path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise HarnessError(f"not JSON ({exc.msg})", file=path, row=line_no) from None
            if not isinstance(rec, dict):
                raise HarnessError("expected a JSON object with prompt and response", file=path, row=line_no)
            for field in ("prompt", "response"):
                if not isinstance(rec.get(field), str):
                    raise HarnessError("expected a string", file=path, row=line_no, field=field)
            rows.append((line_no, rec["prompt"], rec["response"]))
    return rows


def score_file(path: Path) -> Scored:
    prompts = load_prompts()
    known = {p.prompt: p for p in prompts}
    responses: dict[str, tuple[int, str]] = {}
    left_out = []
    for line_no, prompt, response in read_responses(path):
        if prompt not in known:
            left_out.append(f"{path}:{line_no}: prompt is not one of IFEval's 541, left out: {prompt[:60]!r}")
        elif prompt in responses:
            raise HarnessError(f"the same prompt as row {responses[prompt][0]}", file=path, row=line_no,
                               field="prompt")
        else:
            responses[prompt] = (line_no, response)
    if not responses:
        raise HarnessError("no row's prompt is one of IFEval's 541 prompts", file=path)
    matched = [p for p in prompts if p.prompt in responses]
    texts = [responses[p.prompt][1] for p in matched]
    return Scored(matched, texts, [judge_cached(p, r, False) for p, r in zip(matched, texts)],
                  [judge_cached(p, r, True) for p, r in zip(matched, texts)], left_out)


def write_results(scored: Scored, out_dir: Path, model: str) -> list[Path]:
    """eval_results_strict.jsonl and eval_results_loose.jsonl (the reference's per-prompt rows,
    `json.dumps` as it writes them) and the per-instruction table."""
    from harness.ifeval.table import write_instruction_table
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for mode, verdicts in (("strict", scored.strict), ("loose", scored.loose)):
        path = out_dir / f"eval_results_{mode}.jsonl"
        path.write_text("".join(json.dumps(v.record()) + "\n" for v in verdicts), encoding="utf-8")
        paths.append(path)
    return paths + write_instruction_table(scored.prompts, {model: scored.responses}, out_dir)
