"""MT-Bench matches as FastChat builds them (gen_judgment.py ``make_match_single`` /
``make_match``): per model (or model pair) x question x turn, with the judge prompt of the
category and turn, the reference answer where the category needs one, and the exact messages
sent to the judge (their sha256 with the judge model is the cache key)."""
from __future__ import annotations

import dataclasses
from typing import Any, Iterable, Mapping, Sequence

from harness.errors import HarnessError
from harness.judges.client import Messages
from harness.judges.config import JudgeConfig
from harness.mt_bench.fastchat_files import as_question_id, load_reference_answers
from harness.mt_bench.prompts import fill_pair, fill_single, needs_reference, prompt_name, to_messages
from harness.store import digest_json
from harness.types import Sample


@dataclasses.dataclass
class Game:
    messages: Messages
    user_prompt: str
    key: str


@dataclasses.dataclass
class Match:
    qid: Any
    category: str
    turn: int
    prompt: dict
    models: tuple[str, ...]  # (model,) single; (model_1, model_2) pairwise
    games: list[Game]
    judge_model: str
    error: str = ""  # set when the match cannot be played (missing answer)

    @property
    def judge(self) -> list[str]:
        return [self.judge_model, self.prompt["name"]]

    def record_key(self) -> tuple:
        return (str(self.qid), *self.models, self.turn, self.judge_model, self.prompt["name"])


def cache_key(judge_model: str, messages: Messages) -> str:
    return digest_json({"model": judge_model, "messages": messages}, length=None)


def normalize_questions(questions: Iterable[dict | Sample]) -> list[dict]:
    out = []
    for q in questions:
        if isinstance(q, Sample):
            out.append({"question_id": as_question_id(q.meta.get("question_id", q.id)),
                        "category": q.category, "turns": list(q.turns),
                        "_references": list(q.references)})
        else:
            out.append({"question_id": as_question_id(q["question_id"]), "category": q.get("category", ""),
                        "turns": list(q["turns"])})
    return out


def references_for(questions: list[dict], references: Mapping[Any, Sequence[str]] | None
                    ) -> dict[Any, list[str]]:
    refs: dict[Any, list[str]] = {}
    default: dict[Any, list[str]] | None = None
    given = {as_question_id(k): v for k, v in references.items()} if references is not None else None
    missing = []
    for q in questions:
        if not needs_reference(q["category"]):
            continue
        qid = q["question_id"]
        if given is not None:
            r = given.get(qid)
        elif q.get("_references"):
            r = q["_references"]
        else:
            if default is None:
                default = load_reference_answers()
            r = default.get(qid)
        need = min(len(q["turns"]), 2)
        if r is None or len(r) < need:
            missing.append(str(qid))
        else:
            refs[qid] = list(r)
    if missing:
        raise HarnessError(f"no reference answer for {len(missing)} question(s) of categories "
                           f"graded against a reference: {', '.join(missing[:10])}",
                           field="references")
    return refs


def build_matches(cfg: JudgeConfig, questions: list[dict], answers: dict[str, dict[Any, list[str]]],
                   refs: dict[Any, list[str]], prompts: dict[str, dict]) -> list[Match]:
    matches: list[Match] = []
    if cfg.mode == "single":
        pairings = [(m,) for m in answers]
    else:
        pairings = [(m, cfg.baseline_model) for m in answers if m != cfg.baseline_model]
    for models in pairings:
        for q in questions:
            qid, cat, qturns = q["question_id"], q["category"], q["turns"]
            for turn in (1, 2):
                multi = turn == 2
                if multi and len(qturns) != 2:
                    continue  # FastChat: multi-turn matches only for two-turn questions
                prompt = prompts[prompt_name(cat, cfg.mode, multi)]
                ref = refs.get(qid) if needs_reference(cat) else None
                m = Match(qid=qid, category=cat, turn=turn, prompt=prompt, models=models,
                           games=[], judge_model=cfg.model)
                ans = []
                for model in models:
                    a = answers[model].get(qid)
                    if a is None or len(a) < turn:
                        m.error = (f"model {model!r} has no answer to question {qid}"
                                   + (f" turn {turn}" if a is not None else ""))
                        break
                    ans.append(list(a))
                if not m.error:
                    if cfg.mode == "single":
                        up = fill_single(prompt, qturns, ans[0], ref, multi)
                        m.games.append(make_game(cfg, prompt, up))
                    else:
                        for a_, b_ in ((ans[0], ans[1]), (ans[1], ans[0])):
                            up = fill_pair(prompt, qturns, a_, b_, ref, multi)
                            m.games.append(make_game(cfg, prompt, up))
                matches.append(m)
    return matches


def make_game(cfg: JudgeConfig, prompt: dict, user_prompt: str) -> Game:
    messages = to_messages(prompt, user_prompt)
    return Game(messages=messages, user_prompt=user_prompt, key=cache_key(cfg.model, messages))
