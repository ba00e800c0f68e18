"""Benchmark: how long `import harness`, `harness --help`, `harness list-methods` and
`harness list-tasks` take, for this checkout and for an earlier commit (default: 342fb24, the last
one whose CLI imported torch, TRL's stack and rouge-score up front), in the same run.

Each command runs in a fresh interpreter (what a user waits for), `--repeats` times in turn; the
median wall time is kept, with the heavy libraries each one left in `sys.modules`. The earlier
commit is exported with `git archive` into a temporary folder and put first on PYTHONPATH.

    python scripts/bench_import.py [--before 342fb24] [--repeats 5] [--out results/bench/import.json]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from _bench import ROOT, machine_info, ratio, write_result

HEAVY = ("torch", "transformers", "trl", "vllm", "rouge_score", "nltk", "scipy", "sklearn", "datasets",
         "sacrebleu", "pandas")
COMMANDS = {"import harness": None, "harness --help": ["--help"], "harness list-methods": ["list-methods"],
            "harness list-tasks": ["list-tasks"]}
# Runs one command, then reports (on stderr, at exit) which heavy libraries it imported.
DRIVER = """
import atexit, json, sys
heavy = {heavy!r}
atexit.register(lambda: sys.stderr.write("HEAVY " + json.dumps([m for m in heavy if m in sys.modules]) + "\\n"))
args = json.loads(sys.argv[1])
if args is None:
    import harness
else:
    sys.argv = ["harness", *args]
    from harness.cli import main
    main()
"""


def run_once(tree: Path, args: list[str] | None) -> tuple[float, list[str]]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", DRIVER.format(heavy=HEAVY), json.dumps(args)], env=env,
                          capture_output=True, text=True, cwd=tree, timeout=300)
    seconds = time.perf_counter() - t0
    marker = [line for line in proc.stderr.splitlines() if line.startswith("HEAVY ")]
    if proc.returncode != 0 or not marker:
        raise SystemExit(f"{args} failed in {tree} ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return seconds, json.loads(marker[-1][len("HEAVY "):])


def export(rev: str, dest: Path) -> Path:
    archive = dest / "tree.tar"
    subprocess.run(["git", "archive", "--format=tar", "-o", str(archive), rev], cwd=ROOT, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(dest / "tree", filter="data")
    return dest / "tree"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--before", default="342fb24", help="the commit to compare with")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", type=Path, default=ROOT / "results/bench/import.json")
    a = ap.parse_args()
    machine = machine_info()
    rev = subprocess.run(["git", "rev-parse", "--short", a.before], cwd=ROOT, check=True, capture_output=True,
                         text=True).stdout.strip()
    with tempfile.TemporaryDirectory() as tmp:
        trees = {f"before ({rev})": export(rev, Path(tmp)), "after (this checkout)": ROOT}
        times: dict[str, dict[str, list[float]]] = {t: {c: [] for c in COMMANDS} for t in trees}
        heavy: dict[str, dict[str, list[str]]] = {t: {} for t in trees}
        run_once(ROOT, None)  # warm the file cache once for both
        for _ in range(a.repeats):  # interleaved, so machine load falls on both alike
            for label, tree in trees.items():
                for name, args in COMMANDS.items():
                    seconds, mods = run_once(tree, args)
                    times[label][name].append(round(seconds, 3))
                    heavy[label][name] = mods
    result = {"benchmark": "wall time of a fresh interpreter running each command (median of repeats)",
              "command": "python scripts/bench_import.py " + " ".join(sys.argv[1:]),
              "repeats": a.repeats, "heavy_modules_checked": list(HEAVY), "median_s": {}, "runs_s": times,
              "heavy_modules_imported": heavy}
    before, after = trees
    for name in COMMANDS:
        b, f = (statistics.median(times[t][name]) for t in (before, after))
        result["median_s"][name] = {before: round(b, 3), after: round(f, 3), "ratio_before_over_after": ratio(b, f)}
        print(f"{name:22s} {b:6.2f} s -> {f:5.2f} s  (x{ratio(b, f)})  heavy after: {heavy[after][name] or '-'}")
    write_result(a.out, result, machine)


if __name__ == "__main__":
    main()
