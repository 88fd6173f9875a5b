from __future__ import annotations

import json
import os

import pytest

from mathscale.errors import DataError, MathscaleError
from mathscale.io import (
    JsonlWriter,
    atomic_open,
    atomic_write,
    check_output_path,
    done_ids,
    read_jsonl,
    read_records,
)
from mathscale.records import Composition


def test_read_reports_file_and_line(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text('{"index": 1, "topics": [], "knowledge_points": []}\n\n{"index": "two"}\n')
    with pytest.raises(DataError, match=r"c\.jsonl:3: field 'index': expected int"):
        list(read_records(path, Composition))


def test_bad_json_names_line_and_column(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text('{"a": 1}\n{"a": \n')
    with pytest.raises(DataError, match=r"c\.jsonl:2: not valid JSON"):
        list(read_jsonl(path))


def test_empty_and_missing_files(tmp_path):
    empty = tmp_path / "e.jsonl"
    empty.write_text("\n")
    with pytest.raises(DataError, match="holds no records"):
        list(read_records(empty, Composition))
    assert list(read_records(empty, Composition, allow_empty=True)) == []
    with pytest.raises(MathscaleError, match="no such file"):
        list(read_jsonl(tmp_path / "missing.jsonl"))


def test_writer_appends_and_resume_sees_ids(tmp_path):
    path = tmp_path / "out.jsonl"
    with JsonlWriter(path) as out:
        out.write({"id": "a"})
        out.write(Composition(index=1, topics=["t"], knowledge_points=[]))
    with JsonlWriter(path) as out:
        out.write({"id": "b"})
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert [x.get("id") for x in lines] == ["a", None, "b"]
    assert lines[1]["schema"] == "composition/1"


def test_writer_cuts_a_torn_last_line(tmp_path):
    path = tmp_path / "out.jsonl"
    path.write_text('{"id": "a"}\n{"id": "b"}\n{"id": "c", "que')  # killed mid-write
    assert done_ids(path) == {"a", "b"}
    with JsonlWriter(path) as out:
        assert out.repaired_bytes == len('{"id": "c", "que')
        out.write({"id": "c"})
    assert done_ids(path) == {"a", "b", "c"}
    assert path.read_text().count("\n") == 3


def test_done_ids_rejects_foreign_file(tmp_path):
    path = tmp_path / "out.jsonl"
    path.write_text('{"id": "a"}\n{"name": "b"}\n')
    with pytest.raises(DataError, match=r"out\.jsonl:2: no 'id' field"):
        done_ids(path)


def test_atomic_write_leaves_old_file_on_error(tmp_path):
    path = tmp_path / "whole.json"
    atomic_write(path, "old")
    with pytest.raises(RuntimeError):
        with atomic_open(path) as handle:
            handle.write("half of the new")
            raise RuntimeError("crash")
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["whole.json"]  # no temporary left behind


def test_check_output_path(tmp_path):
    assert check_output_path(tmp_path / "x.jsonl") == tmp_path / "x.jsonl"
    # a missing folder is fine, and not created yet: the writer makes it when it first writes
    assert check_output_path(tmp_path / "new" / "deeper" / "x.jsonl") == tmp_path / "new" / "deeper" / "x.jsonl"
    assert not (tmp_path / "new").exists()
    (tmp_path / "file").write_text("")
    with pytest.raises(MathscaleError, match="file is a file, so folder .* cannot be created"):
        check_output_path(tmp_path / "file" / "sub" / "x.jsonl")
    with pytest.raises(MathscaleError, match="is a folder"):
        check_output_path(tmp_path)
