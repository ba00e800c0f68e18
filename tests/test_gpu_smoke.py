"""scripts/gpu_smoke.py on a CPU: its arguments, the refusal without a CUDA device, and the CPU
fallback of the generate part on the tiny model (the GPU parts themselves need a GPU)."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def smoke():
    spec = importlib.util.spec_from_file_location("gpu_smoke", REPO / "scripts" / "gpu_smoke.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("argv, message", [
    (["--parts", "train,fly"], "--parts: unknown fly; valid: train, generate, bench"),
    (["--parts", ","], "--parts: unknown (none given)"),
    (["--steps", "0"], "--steps must be at least 1"),
    (["--max-new-tokens", "-3"], "--max-new-tokens must be at least 1"),
])
def test_bad_arguments_are_one_line_errors(smoke, capsys, argv, message) -> None:
    with pytest.raises(SystemExit) as info:
        smoke.parse_args(argv)
    assert info.value.code == 2 and message in capsys.readouterr().err


def test_defaults(smoke) -> None:
    a = smoke.parse_args([])
    assert a.parts == ["train", "generate", "bench"] and a.steps == 20 and not a.allow_cpu


def test_without_cuda_it_stops_unless_allowed(smoke, monkeypatch, capsys, tmp_path) -> None:
    import torch
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert smoke.main(["--out", str(tmp_path / "r.json")]) == 2
    assert "no CUDA device" in capsys.readouterr().err and not (tmp_path / "r.json").exists()


def test_cpu_fallback_runs_what_is_installed(smoke, monkeypatch, tmp_path, tiny_model_dir) -> None:
    import torch
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(smoke, "installed", lambda m: m not in ("vllm", "trl"))  # as on a bare GPU image
    out = tmp_path / "r.json"
    code = smoke.main(["--allow-cpu", "--parts", "generate,bench", "--model-path", str(tiny_model_dir),
                       "--questions", "2", "--max-new-tokens", "4", "--out", str(out)])
    report = json.loads(out.read_text())
    assert code == 0 and not report["cuda"]
    gen = report["parts"]["generate"]
    assert gen["status"] == "ran" and gen["hf"]["new_tokens"] > 0 and gen["vllm"].startswith("skipped: vllm")
    assert report["parts"]["bench"]["status"] == "skipped: trl not installed"


def test_generate_without_a_model_folder_fails_as_a_part(smoke, monkeypatch, tmp_path) -> None:
    import torch
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    out = tmp_path / "r.json"
    assert smoke.main(["--allow-cpu", "--parts", "generate", "--out", str(out)]) == 1
    assert "needs an HF folder" in json.loads(out.read_text())["parts"]["generate"]["status"]
