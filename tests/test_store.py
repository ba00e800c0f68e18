import json
import os

from harness.store import JsonlAppender, Stage, atomic_write_json, read_jsonl, stage_key


def test_stage_key_depends_on_inputs():
    assert stage_key("train", {"a": 1}) == stage_key("train", {"a": 1})
    assert stage_key("train", {"a": 1}) != stage_key("train", {"a": 2})
    assert stage_key("train", {"a": 1}) != stage_key("answers", {"a": 1})


def test_atomic_write_leaves_no_temp_files(tmp_path):
    atomic_write_json(tmp_path / "x.json", {"k": [1, 2]})
    assert json.loads((tmp_path / "x.json").read_text()) == {"k": [1, 2]}
    assert os.listdir(tmp_path) == ["x.json"]
    assert (tmp_path / "x.json").stat().st_mode & 0o777 == 0o644


def test_jsonl_resume_after_partial_line(tmp_path):
    path = tmp_path / "a.jsonl"
    with JsonlAppender(path) as out:
        out.write({"id": "1"})
        out.write({"id": "2"})
    with open(path, "a") as f:
        f.write('{"id": "3", "tur')  # a writer killed mid-record
    assert [r["id"] for r in read_jsonl(path)] == ["1", "2"]
    with JsonlAppender(path) as out:  # reopening repairs the tail
        out.write({"id": "3"})
    assert [r["id"] for r in read_jsonl(path)] == ["1", "2", "3"]


def test_stage_done_marker(tmp_path):
    st = Stage(tmp_path, "x", {"p": 1})
    assert not st.done
    st.mark_done({"n": 3})
    assert Stage(tmp_path, "x", {"p": 1}).done and st.info() == {"n": 3}
    assert not Stage(tmp_path, "x", {"p": 2}).done


def test_one_digest_for_json_and_for_files(tmp_path):
    import os

    from harness.store import digest_json, digest_path
    assert digest_json({"b": 1, "a": "é"}) == digest_json({"a": "é", "b": 1}) and len(digest_json([1])) == 16
    assert len(digest_json([1], length=None)) == 64
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "w.bin").write_bytes(b"abcd")
    by_content, by_stat = digest_path(folder), digest_path(folder, content=False)
    (folder / "w.bin").write_bytes(b"abce")  # same size, new bytes
    os.utime(folder / "w.bin", ns=(1, 1))  # and a new modification time
    assert digest_path(folder) != by_content and digest_path(folder, content=False) != by_stat
    assert digest_path(folder / "w.bin") == digest_path(folder / "w.bin", content=False)  # a file: its bytes
