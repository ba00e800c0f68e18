"""Compare the harness's IFEval scorer with the reference scorer on many responses.

The reference is google-research's `instruction_following_eval/` folder (Apache-2.0), which the
project does not ship: pass the folder that *contains* it with --reference. Both scorers run in
this process on the same responses, with the same offline NLTK Punkt data
(harness.ifeval.punkt) and the same `langdetect` seed (0), and every instruction verdict of the
strict and of the loose evaluation is compared.

    python scripts/ifeval_agreement.py --reference DIR --responses NAME=FILE.jsonl [...] \
        [--adversarial NAME] [--out results/ifeval] [--golden tests/data/ifeval_golden.jsonl.gz]

Each FILE is JSONL with `prompt` and `response` (the reference's input format; a prompt may
appear in several rows). `--adversarial NAME` adds edited versions of the responses of set NAME
(empty, whitespace, very long, all capitals, all lowercase, JSON in code fences, non-English,
trailing whitespace, ...). Writes `agreement.json` and `agreement.md` to --out and, with
--golden, the reference's verdicts on a sample of the responses for tests/ifeval/test_scorer.py.
"""
from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path

NON_ENGLISH = {
    "fr": "Il est important de bien manger pour rester en bonne santé. Les légumes sont bons.",
    "hi": "स्वस्थ रहने के लिए अच्छा खाना खाना बहुत ज़रूरी है। सब्ज़ियाँ अच्छी होती हैं।",
    "kn": "ಆರೋಗ್ಯವಾಗಿರಲು ಚೆನ್ನಾಗಿ ತಿನ್ನುವುದು ಮುಖ್ಯ. ತರಕಾರಿಗಳು ಒಳ್ಳೆಯದು.",
    "pa": "ਸਿਹਤਮੰਦ ਰਹਿਣ ਲਈ ਚੰਗਾ ਖਾਣਾ ਜ਼ਰੂਰੀ ਹੈ। ਸਬਜ਼ੀਆਂ ਚੰਗੀਆਂ ਹਨ।",
    "ja": "健康でいるためには、よく食べることが大切です。野菜は体に良いです。",
    "ru": "Важно хорошо питаться, чтобы оставаться здоровым. Овощи полезны.",
    "de": "Es ist wichtig, gut zu essen, um gesund zu bleiben. Gemüse ist gut.",
}


def adversarial(prompt: str, response: str, rng: random.Random) -> dict[str, str]:
    """Edited responses that stress the checkers' edge cases."""
    lang = rng.choice(sorted(NON_ENGLISH))
    return {
        "empty": "",
        "whitespace": " \n\t\n ",
        "very_long": "\n\n".join([response] * 12),
        "all_capitals": response.upper(),
        "all_lowercase": response.lower(),
        "json_code_fence": "```json\n" + json.dumps({"answer": response}, ensure_ascii=False) + "\n```",
        "json_bare": json.dumps({"answer": response, "n": 3}),
        "non_english": NON_ENGLISH[lang],
        "non_english_mixed": NON_ENGLISH[lang] + "\n" + response[:200],
        "trailing_whitespace": response + "   \n\n\t",
        "leading_line": "Sure! Here is my answer:\n" + response + "\nI hope this helps.",
        "quoted": '"' + response + '"',
        "no_commas": response.replace(",", ""),
        "stars_removed": response.replace("*", ""),
        "repeat_prompt": prompt + "\n" + response,
        "two_responses": response + "\n******\n" + response[::-1],
        "postscript": response + "\n\nP.S. See you soon.\nP.P.S this too.",
        "sentences_only": "One. Two! Three? Dr. Smith arrived at 3 p.m. on Monday. Mr. Jones left.",
        "title_bullets": "<<A Title>>\n* first point\n* second point\n- third point\n***\nSECTION 1\nSection 2",
    }


def load_rows(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, required=True,
                        help="folder containing instruction_following_eval/")
    parser.add_argument("--responses", action="append", default=[], help="NAME=FILE.jsonl")
    parser.add_argument("--adversarial", action="append", default=[], help="a response set to edit")
    parser.add_argument("--out", type=Path, default=Path("results/ifeval"))
    parser.add_argument("--golden", type=Path, default=None)
    parser.add_argument("--golden-per-set", type=int, default=20)
    args = parser.parse_args()

    from harness.ifeval import punkt
    from harness.ifeval.data import load_prompts
    from harness.ifeval.scorer import judge
    punkt.install()
    import langdetect
    langdetect.DetectorFactory.seed = 0
    sys.path.insert(0, str(args.reference.resolve()))
    from instruction_following_eval import evaluation_lib  # the reference, from --reference

    prompts = {p.prompt: p for p in load_prompts()}
    sets: dict[str, list[tuple[str, str]]] = {}
    for spec in args.responses:
        name, _, file = spec.partition("=")
        rows = load_rows(Path(file))
        sets[name] = [(r["prompt"], r["response"]) for r in rows if r["prompt"] in prompts]
    rng = random.Random(0)
    for name in args.adversarial:
        edited: dict[str, list[tuple[str, str]]] = {}
        for prompt, response in sets[name]:
            for kind, text in adversarial(prompt, response, rng).items():
                edited.setdefault(f"{name}+{kind}", []).append((prompt, text))
        sets.update(edited)

    t0 = time.time()
    summary, golden, mismatches = {}, [], []
    for name, pairs in sets.items():
        counts = Counter()
        for prompt, response in pairs:
            inp = evaluation_lib.InputExample(key=prompts[prompt].key,
                                              instruction_id_list=list(prompts[prompt].instruction_id_list),
                                              prompt=prompt, kwargs=[dict(k) for k in prompts[prompt].kwargs])
            row = {"key": prompts[prompt].key, "response": response}
            for mode, ref_fn in (("strict", evaluation_lib.test_instruction_following_strict),
                                 ("loose", evaluation_lib.test_instruction_following_loose)):
                ref = ref_fn(inp, {prompt: response})
                ours = judge(prompts[prompt], response, loose=mode == "loose")
                same = list(ours.follow_instruction_list) == list(ref.follow_instruction_list) and \
                    ours.follow_all_instructions == ref.follow_all_instructions
                counts["responses_x_modes"] += 1
                counts["instruction_verdicts"] += len(ref.follow_instruction_list)
                counts["followed_reference"] += sum(ref.follow_instruction_list)
                if not same:
                    counts["differing"] += 1
                    mismatches.append({"set": name, "mode": mode, "key": prompts[prompt].key,
                                       "reference": ref.follow_instruction_list,
                                       "harness": list(ours.follow_instruction_list)})
                row[mode] = list(ref.follow_instruction_list)
            golden.append((name, row))
        summary[name] = {"responses": len(pairs), **counts, "differing": counts["differing"]}
        print(f"{name}: {len(pairs)} responses, {counts['differing']} differing", flush=True)

    total = {"responses": sum(s["responses"] for s in summary.values()),
             "responses_x_modes": sum(s["responses_x_modes"] for s in summary.values()),
             "instruction_verdicts": sum(s["instruction_verdicts"] for s in summary.values()),
             "differing": sum(s["differing"] for s in summary.values())}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "agreement.json").write_text(json.dumps(
        {"total": total, "sets": summary, "mismatches": mismatches[:50], "seconds": round(time.time() - t0, 1)},
        indent=1) + "\n")
    lines = ["# IFEval scorer agreement: harness vs the reference", "",
             "Made by `scripts/ifeval_agreement.py` (see its docstring); strict and loose verdicts of every "
             "instruction compared.", "",
             "| response set | responses | verdicts (strict+loose) | responses differing (strict+loose) |",
             "|---|---:|---:|---:|"]
    lines += [f"| {n} | {s['responses']} | {s['instruction_verdicts']} | {s['differing']} |" for n, s in summary.items()]
    lines += [f"| **all** | **{total['responses']}** | **{total['instruction_verdicts']}** | **{total['differing']}** |"]
    (args.out / "agreement.md").write_text("\n".join(lines) + "\n")
    print(json.dumps(total))
    if args.golden:
        by_set: dict[str, list[dict]] = {}
        for name, row in golden:
            by_set.setdefault(name, []).append(row)
        sample = []
        for name, rows in by_set.items():
            sample += random.Random(name).sample(rows, min(args.golden_per_set, len(rows)))
        text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in sample)
        with gzip.GzipFile(args.golden, "wb", mtime=0) as f:  # mtime 0: the same bytes on every run
            f.write(text.encode("utf-8"))
        print(f"golden: {len(sample)} rows -> {args.golden}")


if __name__ == "__main__":
    main()
