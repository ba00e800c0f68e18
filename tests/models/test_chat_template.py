"""Training and generation render the same prompt tokens for the same conversation: the tokens TRL's
DPOTrainer trains on end exactly where generation starts, with no doubled BOS and the same system
prompt. Checked on the real model (SmolLM2's ChatML template, with its default system prompt) and
on the embedded model (whose template starts with a BOS token)."""
import pytest
from datasets import Dataset

from harness.config import TrainSpec
from harness.generate.base import encode_prompts
from harness.methods import build_method
from harness.models.load import load_model, load_tokenizer
from harness.train.adapter import MethodTrainer
from harness.train.logps import tokenize_pair
from harness.train.runner import dpo_args
from harness.types import GenerateParams

CONV = [{"role": "user", "content": "Name a prime number."}, {"role": "assistant", "content": "7."},
        {"role": "user", "content": "And another one?"}]
ROW = {"id": "x", "prompt": CONV, "chosen": [{"role": "assistant", "content": "11."}],
       "rejected": [{"role": "assistant", "content": "12."}]}


@pytest.mark.slow
@pytest.mark.parametrize("model", ["smollm2_dir", "tiny_model_dir"])
def test_train_and_generate_render_the_same_prompt(model, request, tmp_path):
    model_dir = request.getfixturevalue(model)
    tok = load_tokenizer(model_dir)
    trainer = MethodTrainer(model=load_model(model_dir), args=dpo_args(tmp_path, TrainSpec(max_steps=1, max_length=512),
                                                                      0, precompute=True),
                            train_dataset=Dataset.from_list([ROW]), processing_class=tok, method=build_method("sft"))
    trained = trainer.train_dataset[0]["prompt_ids"]
    generated = encode_prompts(tok, [CONV], [GenerateParams(max_new_tokens=16)], 4096)[0]
    assert trained == generated
    assert tokenize_pair(tok, ROW)[0] == trained  # the log-prob probes see the same prompt
    text = tok.decode(generated)
    if tok.bos_token_id is not None:
        assert generated[:2].count(tok.bos_token_id) <= 1, text
    if model == "smollm2_dir":
        assert text.count("You are a helpful AI assistant named SmolLM") == 1
        assert text.endswith("<|im_start|>assistant\n")
