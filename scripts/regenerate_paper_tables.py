#!/usr/bin/env python
"""Lay a run's results out like the ASFT and DPOP papers' comparisons, beside the published figures.

    python scripts/regenerate_paper_tables.py results/quickstart
    python scripts/regenerate_paper_tables.py results/dpop_paper \
        --near results/dpop_paper_near --far results/dpop_paper_far
    python scripts/regenerate_paper_tables.py results/asft_paper_uf --hh results/asft_paper_hh

Writes asft_comparison.{md,tex}, dpop_contrast.{md,tex} and published.{md,tex} (booktabs) to
--out (default results/paper_tables). Published figures come from harness/report/published/.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.errors import HarnessError
from harness.report.papers import write_paper_tables


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run_dir", type=Path, help="a results/<run> directory")
    p.add_argument("--out", type=Path, default=Path("results/paper_tables"))
    p.add_argument("--near", type=Path, help="run trained on near-miss pairs only "
                   "(--set data.synthetic.kinds=[near_miss])")
    p.add_argument("--far", type=Path, help="run trained on far-miss pairs only")
    p.add_argument("--uf", type=Path, help="run trained on UltraFeedback (ASFT layout, UF group)")
    p.add_argument("--hh", type=Path, help="run trained on HH-RLHF (ASFT layout, HH-RLHF group)")
    args = p.parse_args(argv)
    try:
        files = write_paper_tables(args.run_dir, args.out, near=args.near, far=args.far,
                                   uf=args.uf, hh=args.hh)
    except HarnessError as exc:
        print(f"error: {exc.one_line()}", file=sys.stderr)
        return 2
    for path in files.values():
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
