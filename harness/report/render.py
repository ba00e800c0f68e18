"""Render a Leaderboard as Markdown, booktabs LaTeX and one self-contained HTML page.

Rendering is done by hand rather than with DataFrame.to_markdown/to_latex: those need optional
packages (tabulate, jinja2) and cannot express what a cell must say here ("missing",
"not judged: <reason>", a bold best value). Every renderer shares `table_cells`, so the three
formats always agree on values, rounding and which cell is best.

The table renderers themselves (`markdown_table`, `latex_tabular`, `tex_escape`) take a header
and rows of cells and know nothing of leaderboards: the paper-comparison tables
(harness.report.papers) are written with them too, so both escape and align the same way.
"""
from __future__ import annotations

import base64
import html
import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from harness.report.tables import Leaderboard

COST_HEADERS = {"train:wall_s": "train wall (s)", "train:tokens": "train tokens",
                "train:global_batch": "global batch", "train:budget": "grid points"}
LEGEND = ("Cells: mean [95% percentile-bootstrap CI] over scored samples; bold = best complete "
          "cell in its column (lowest for training cost); * = some samples missing, see notes.")
SEEDS_LEGEND = ("Rows with several seeds: the mean over seeds, a CI that resamples seeds and samples, "
                "and sd = the standard deviation of the per-seed means (each seed's value: "
                "leaderboard_seeds.csv).")
SUPPORT_NOTE = ("'supported' = the paired bootstrap rejects 'no difference' at p < 0.05 "
                "(two-sided); the sign of the difference says which way.")

Cell = tuple[str, bool, str]  # (text, is_best, status)


def plain(rows: list[list[str]]) -> list[list[Cell]]:
    """Cells of ready-made text: none is best, all are "ok"."""
    return [[(text, False, "ok") for text in row] for row in rows]


def _cell(cell: Cell, escape: Callable[[str], str], bold: Callable[[str], str]) -> str:
    """Bold only a best cell's value (its first word), not the CI after it."""
    text, best, _ = cell
    if not best:
        return escape(text)
    value, sep, rest = text.partition(" ")
    return bold(escape(value)) + sep + escape(rest)


def digits(lb: "Leaderboard", key: str) -> int:
    """Two decimals for small-scale columns (MT-Bench 1-10), one for 0-100 scales."""
    means = [m for m in lb.table[f"{key}:mean"] if math.isfinite(m)]
    return 2 if means and max(abs(m) for m in means) < 10 else 1


def _best(values: list[float], lower: bool) -> set[int]:
    finite = [(i, v) for i, v in enumerate(values) if math.isfinite(v)]
    if len(finite) < 2:
        return set()
    target = (min if lower else max)(v for _, v in finite)
    return {i for i, v in finite if v == target}


def table_cells(lb: "Leaderboard", *, with_reason: bool = False) -> tuple[list[str],
                                                                         list[list[Cell]]]:
    """Header and rows of display cells shared by all renderers (values already rounded)."""
    several = multi_seed(lb)
    header = ["model"] + (["seeds"] if several else []) + [c.key for c in lb.value_columns] + \
        [COST_HEADERS[c] for c in lb.cost_columns]
    rows: list[list[Cell]] = [[(label, False, "ok")] + ([(seeds, False, "ok")] if several else [])
                              for label, seeds in zip(lb.table["label"], lb.table["seeds"])]
    for col in lb.value_columns:
        d = digits(lb, col.key)
        status = list(lb.table[f"{col.key}:status"])
        shown = [round(m, d) for m in lb.table[f"{col.key}:mean"]]
        # a partial mean skips some samples, so it competes for "best" only with itself
        best = _best([v if s == "ok" else math.nan for v, s in zip(shown, status)], lower=False)
        for i, row in enumerate(rows):
            if status[i] in ("ok", "partial"):
                lo, hi = lb.table[f"{col.key}:lo"].iloc[i], lb.table[f"{col.key}:hi"].iloc[i]
                text = f"{shown[i]:.{d}f} [{lo:.{d}f}, {hi:.{d}f}]"
                sd = lb.table[f"{col.key}:seed_sd"].iloc[i]
                text += f" sd {sd:.{d}f}" if math.isfinite(sd) else ""
                text += "*" if status[i] == "partial" else ""
            elif status[i] == "not_judged":
                reason = lb.table[f"{col.key}:reason"].iloc[i]
                text = f"not judged: {reason}" if with_reason else "not judged"
            else:
                text = "missing"
            row.append((text, i in best, status[i]))
    for key in lb.cost_columns:
        values = [float(v) for v in lb.table[key]]
        best = _best(values, lower=True) if key not in ("train:global_batch", "train:budget") else set()
        fmt = "{:,.1f}" if key == "train:wall_s" else "{:,.0f}"
        for i, row in enumerate(rows):
            text = fmt.format(values[i]) if math.isfinite(values[i]) else "-"
            row.append((text, i in best, "ok"))
    return header, rows


def multi_seed(lb: "Leaderboard") -> bool:
    return any("," in str(seeds) for seeds in lb.table["seeds"])


def legend(lb: "Leaderboard") -> str:
    return LEGEND + (" " + SEEDS_LEGEND if multi_seed(lb) else "")


def _p(p: float) -> str:
    return "-" if not math.isfinite(p) else ("<0.001" if p < 0.001 else f"{p:.3f}")


def comparison_rows(lb: "Leaderboard") -> list[list[str]]:
    """metric, model, baseline, difference [CI], p-value, verdict, n samples, seeds paired."""
    out = []
    for r in lb.comparisons.itertuples(index=False):
        d = digits(lb, r.metric)
        diff = "-" if r.n == 0 else f"{r.diff:+.{d}f} [{r.lo:+.{d}f}, {r.hi:+.{d}f}]"
        out.append([r.metric, r.model, r.baseline, diff, _p(r.p_value), r.verdict, str(r.n), str(r.seeds)])
    return out


COMPARISON_HEADER = ["metric", "model", "baseline", "difference [95% CI]", "p", "verdict", "n", "seeds"]


def _md_escape(text: str) -> str:
    """| would end the cell and a newline the row; * (the partial marker) would start emphasis."""
    return text.replace("|", "\\|").replace("\n", " ").replace("*", "\\*")


def markdown_table(header: list[str], rows: list[list[Cell]],
                   right_aligned: Callable[[int], bool]) -> str:
    """A pipe table; columns j with right_aligned(j) are right-aligned, best values in bold."""
    rule = ["---:" if right_aligned(j) else "---" for j in range(len(header))]
    lines = ["| " + " | ".join(_md_escape(h) for h in header) + " |", "|" + "|".join(rule) + "|"]
    lines += ["| " + " | ".join(_cell(c, _md_escape, "**{}**".format) for c in row) + " |"
              for row in rows]
    return "\n".join(lines)


def to_markdown(lb: "Leaderboard", notes: list[str], title: str = "Leaderboard") -> str:
    header, rows = table_cells(lb)
    parts = [f"# {title}", "", markdown_table(header, rows, lambda j: j > 0), "", legend(lb)]
    if notes:  # right under the table: which cells are incomplete and why
        parts += ["", "## Notes", ""] + [f"- {n}" for n in notes]
    if lb.baseline and not lb.comparisons.empty:
        parts += ["", f"## Paired comparisons vs {lb.baseline}", "",
                  markdown_table(COMPARISON_HEADER, plain(comparison_rows(lb)),
                                 lambda j: j in (3, 4, 6, 7)),
                  "", SUPPORT_NOTE]
    return "\n".join(parts) + "\n"


_TEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
        "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
        "Δ": r"$\Delta$", "†": r"$^\dagger$", "−": "-", "×": r"$\times$", "…": r"\ldots{}"}


def tex_escape(text: str) -> str:
    """TeX's special characters escaped, the few symbols the tables use spelled in TeX (pdflatex
    has no glyphs for them), and "quoted" text in TeX quotes ``quoted''."""
    return re.sub(r'"([^"]*)"', r"``\1''", "".join(_TEX.get(ch, ch) for ch in text))


def latex_tabular(header: list[str], rows: list[list[Cell]], *, left: int = 1) -> str:
    """A booktabs tabular: `left` left-aligned text columns, the rest right-aligned; best values
    in bold."""
    lines = ["\\begin{tabular}{" + "l" * left + "r" * (len(header) - left) + "}", "\\toprule",
             " & ".join(tex_escape(h) for h in header) + " \\\\", "\\midrule"]
    lines += [" & ".join(_cell(c, tex_escape, "\\textbf{{{}}}".format) for c in row) + " \\\\"
              for row in rows]
    return "\n".join(lines + ["\\bottomrule", "\\end{tabular}"])


def to_latex(lb: "Leaderboard", notes: list[str]) -> str:
    """A booktabs tabular for \\input; best value per column in bold, notes as comments."""
    header, rows = table_cells(lb, with_reason=False)
    lines = ["% Generated by harness.report; needs \\usepackage{booktabs}.",
             latex_tabular(header, rows), "% " + legend(lb)]
    lines += ["% " + n.replace("\n", " ") for n in notes]
    return "\n".join(lines) + "\n"


_CSS = """body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem;color:#222}
table{border-collapse:collapse;margin:1rem 0;font-size:.9rem}
th,td{border-bottom:1px solid #ddd;padding:.3rem .6rem;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}
thead th{border-bottom:2px solid #444}
td.missing,td.not_judged{color:#a33;font-style:italic}
td.partial{background:#fff6e0}
.legend{color:#555;font-size:.85rem}
figure{display:inline-block;margin:.5rem}
img{max-width:100%;border:1px solid #eee}"""


def _td(cell: Cell) -> str:
    """The status is the cell's class, so the CSS marks missing, unjudged and partial cells."""
    return f'<td class="{cell[2]}">{_cell(cell, html.escape, "<b>{}</b>".format)}</td>'


def _html_table(header: list[str], rows: list[list[Cell]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = ["<tr>" + "".join(_td(cell) for cell in row) + "</tr>" for row in rows]
    return (f"<table><thead><tr>{head}</tr></thead><tbody>\n" + "\n".join(body)
            + "\n</tbody></table>")


def to_html(lb: "Leaderboard", notes: list[str], title: str = "Leaderboard",
            images: dict[str, Path] | None = None) -> str:
    """One file to mail around: inline CSS, plots inlined as base64 PNG, notes under the table."""
    header, rows = table_cells(lb)
    items = "".join(f"<li>{html.escape(n)}</li>" for n in notes) or "<li>none</li>"
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>", _html_table(header, rows),
             f'<p class="legend">{html.escape(legend(lb))}</p>',
             f'<h2 id="notes">Notes</h2>\n<ul>{items}</ul>']
    if lb.baseline and not lb.comparisons.empty:
        parts += [f"<h2>Paired comparisons vs {html.escape(lb.baseline)}</h2>",
                  _html_table(COMPARISON_HEADER, plain(comparison_rows(lb))),
                  f'<p class="legend">{html.escape(SUPPORT_NOTE)}</p>']
    if images:
        parts.append("<h2>Plots</h2>")
        for name, path in images.items():
            data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
            parts.append(f'<figure><img src="data:image/png;base64,{data}" '
                         f'alt="{html.escape(name)}"><figcaption>{html.escape(name)}'
                         "</figcaption></figure>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
