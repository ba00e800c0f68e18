"""Committed files name no folder of the machine that produced them: users clone this repository
onto other machines, where such paths mean nothing (or something else)."""
import subprocess
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: folders of the machine running the tests that a run or a tool writes into files: the home
#: folder, the temp folder and the folder holding this checkout
MACHINE_ROOTS = tuple(f"{folder.resolve()}/" for folder in (Path.home(), Path(tempfile.gettempdir()), REPO.parent)
                      if folder.resolve() != Path("/"))


def _committed(*patterns: str) -> list[Path]:
    out = subprocess.run(["git", "ls-files", "-z", "--", *patterns], cwd=REPO, capture_output=True, text=True)
    if out.returncode != 0:  # not a git checkout (an unpacked source archive): the files on disk
        return [p for pattern in patterns for p in REPO.glob(pattern)]
    return [REPO / p for p in out.stdout.split("\0") if p]


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def test_run_manifests_load_and_name_checkpoints_relative_to_the_cache():
    from harness.manifest import read_manifest
    manifests = _committed("results/*/manifest.json")
    assert manifests
    for path in manifests:
        manifest = read_manifest(path.parent)  # the one reader loads every committed run, old ones too
        assert manifest.run_name and manifest.config, path
        for name, folder in manifest.checkpoints.items():
            assert not Path(folder).is_absolute(), (path, name, folder)


def test_no_committed_text_file_names_a_machine_folder():
    suffixes = {".py", ".md", ".yaml", ".yml", ".json", ".csv", ".toml", ".txt", ".tex", ".html", ".jinja", ".sh"}
    found = []
    for path in _committed("*"):
        if path.suffix not in suffixes or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        found += [f"{path.relative_to(REPO)}: {root}" for root in MACHINE_ROOTS if root in text]
    assert not found, found
