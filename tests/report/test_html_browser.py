"""leaderboard.html in a real browser: headless Chromium loads it, the table is there and every
plot decodes (non-zero natural size) and fits the page; a screenshot is not blank.

A small probe script is appended to a copy of the page; on `load` it writes what it measured
(base64 JSON) into document.title, which `--dump-dom` prints. Skipped when Chromium is missing
(Debian: `apt-get install -y chromium`).
"""
from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))
                 if p), None)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium not installed (apt-get install -y chromium); "
    "the browser rendering checks need a real headless browser")
WIDTH = 1400

PROBE = """<script>
window.addEventListener('load', () => {
  const box = e => e.getBoundingClientRect();
  const imgs = [...document.images].map(i => ({alt: i.alt, w: i.naturalWidth, h: i.naturalHeight,
    complete: i.complete, shown: box(i).width, right: box(i).right}));
  const tables = [...document.querySelectorAll('table')].map(t => ({
    head: [...t.querySelectorAll('thead th')].map(th => th.textContent),
    rows: [...t.querySelectorAll('tbody tr')].map(r => [...r.cells].map(c => c.textContent)),
    width: box(t).width}));
  const out = {imgs, tables, title: document.querySelector('h1').textContent,
    height: document.documentElement.scrollHeight, view: window.innerWidth};
  document.title = 'PROBE:' + btoa(unescape(encodeURIComponent(JSON.stringify(out))));
});
</script>"""


def chromium(*args: str, profile: Path, timeout: int = 90) -> subprocess.CompletedProcess:
    cmd = [CHROMIUM, "--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars",
           f"--user-data-dir={profile}", "--no-first-run", "--disable-extensions", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def probe(html: Path, tmp: Path) -> dict:
    """Load a copy of `html` with the probe appended; return what the page measured."""
    page = tmp / f"probe_{html.parent.name}.html"
    page.write_text(html.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"),
                    encoding="utf-8")
    proc = chromium(f"--window-size={WIDTH},1000", "--virtual-time-budget=10000", "--dump-dom",
                    page.as_uri(), profile=tmp / "profile")
    match = re.search(r"PROBE:([A-Za-z0-9+/=]+)", proc.stdout)
    assert match, f"probe did not run (rc {proc.returncode}): {proc.stderr[-2000:]}"
    return json.loads(base64.b64decode(match.group(1)).decode("utf-8"))


def screenshot(html: Path, out: Path, tmp: Path, height: int) -> Path:
    proc = chromium(f"--window-size={WIDTH},{height}", f"--screenshot={out}", html.as_uri(),
                    profile=tmp / "profile")
    assert out.is_file() and out.stat().st_size > 0, proc.stderr[-2000:]
    return out


@pytest.fixture
def report(make_run, tmp_path):
    """A synthetic run (hh_rlhf_gen + MT-Bench with categories, dynamics, costs) and its report."""
    from harness.report.tables import write_reports

    run = make_run("browser", ["sft", "dpo", "orpo"])
    files = write_reports([run], tmp_path / "report", baseline="sft")
    return files


def _check_page(info: dict, n_rows: int | None, n_plots: int | None) -> None:
    board = info["tables"][0]
    assert board["head"][0] == "model" and len(board["head"]) > 1
    assert all(len(row) == len(board["head"]) for row in board["rows"])
    if n_rows is not None:
        assert len(board["rows"]) == n_rows
    assert info["imgs"], "no <img> in the page"
    if n_plots is not None:
        assert len(info["imgs"]) == n_plots
    for img in info["imgs"]:
        assert img["complete"] and img["w"] > 0 and img["h"] > 0, f"plot did not decode: {img}"
        assert 0 < img["shown"] and img["right"] <= info["view"] + 1, f"plot off the page: {img}"


def test_leaderboard_html_renders_table_and_plots(report, tmp_path):
    info = probe(report["html"], tmp_path)
    plots = [k for k in report if k.startswith("plot:")]
    assert {"plot:logp_dynamics", "plot:radar_mt_bench_mt_bench_avg"} <= set(plots)
    _check_page(info, n_rows=3, n_plots=len(plots))
    assert info["title"] == "Leaderboard: browser"
    board = info["tables"][0]
    assert "hh_rlhf_gen/bleu4" in board["head"] and "mt_bench/mt_bench_avg" in board["head"]
    assert [row[0] for row in board["rows"]] == ["sft", "dpo", "orpo"]
    assert re.fullmatch(r"\d+\.\d+ \[\d+\.\d+, \d+\.\d+\]", board["rows"][1][1])
    assert len(info["tables"]) == 2  # the paired comparisons vs the baseline


def test_screenshot_is_not_blank(report, tmp_path):
    from PIL import Image

    info = probe(report["html"], tmp_path)
    png = screenshot(report["html"], tmp_path / "shot.png", tmp_path, min(info["height"], 6000))
    with Image.open(png) as im:
        assert im.size[0] == WIDTH
        colours = im.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is None or len(colours) > 50, "screenshot is (nearly) one colour"


def test_committed_quickstart_report_renders(tmp_path):
    html = REPO / "results" / "quickstart" / "leaderboard.html"
    if not html.is_file():
        pytest.skip("results/quickstart/leaderboard.html not generated yet")
    info = probe(html, tmp_path)
    _check_page(info, n_rows=None, n_plots=len(list((html.parent / "plots").glob("*.png"))))
