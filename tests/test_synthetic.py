import re

from harness.data import synthetic


def _numbers(text):
    return re.findall(r"-?\d+", text)


def test_deterministic_and_disjoint():
    a = synthetic.build(seed=3, n_sft=50, n_preference=30, n_test=20)
    b = synthetic.build(seed=3, n_sft=50, n_preference=30, n_test=20)
    assert a.preference == b.preference and a.sft == b.sft
    test_q = {p.question for p in a.test}
    train_q = {r["prompt"][0]["content"] for r in a.preference} | {r["messages"][0]["content"] for r in a.sft}
    assert not test_q & train_q


def test_test_split_independent_of_train_sizes():
    """The synthetic task rebuilds the test split with n_sft=0: it must be the same problems."""
    full = synthetic.build(seed=1, n_sft=100, n_preference=40, n_test=25, n_ops=3)
    alone = synthetic.build(seed=1, n_sft=0, n_preference=0, n_test=25, n_ops=3)
    assert [p.numbers for p in full.test] == [p.numbers for p in alone.test]


def test_near_miss_corrupts_one_intermediate_only():
    s = synthetic.build(seed=0, n_sft=0, n_preference=200, n_test=1)
    for r in (r for r in s.preference if r["kind"] == "near_miss"):
        c, rej = r["chosen"][0]["content"], r["rejected"][0]["content"]
        nc, nr = _numbers(c), _numbers(rej)
        assert len(nc) == len(nr)
        diffs = [i for i, (x, y) in enumerate(zip(nc, nr)) if x != y]
        assert len(diffs) == 1
        assert c.endswith(f"ans {r['answer']}") and rej.endswith(f"ans {r['answer']}")


def test_far_miss_has_wrong_answer_and_larger_edit_distance():
    s = synthetic.build(seed=0, n_sft=0, n_preference=200, n_test=1)
    near = [r["edit_distance"] for r in s.preference if r["kind"] == "near_miss"]
    far = [r for r in s.preference if r["kind"] == "far_miss"]
    assert all(not r["rejected"][0]["content"].endswith(f"ans {r['answer']}") for r in far)
    assert max(near) < min(r["edit_distance"] for r in far)


def test_solution_is_correct():
    p = synthetic.Problem((12, 45, 7, 30))
    assert synthetic.solution(p) == "12+45=57; 57-7=50; 50+30=80; ans 80"


def test_exhausted_problem_space_is_a_clear_error():
    import pytest

    from harness.errors import HarnessError
    with pytest.raises(HarnessError, match="cannot draw .* distinct problems"):
        synthetic.build(seed=0, n_sft=500, n_preference=10, n_test=10, max_value=5, n_ops=2)
