from __future__ import annotations

import pytest

from mathscale.errors import DataError
from mathscale.records import BenchmarkItem, Composition, Concepts, Prediction, QAPair, Seed


def test_round_trip_with_schema():
    c = Concepts(id="q1", question="2+2?", topics=["Arithmetic"], knowledge_points=["Addition"], model="m", prompt="p/1")
    data = c.to_json()
    assert data["schema"] == "concepts/1"
    assert Concepts.from_json(data) == c


@pytest.mark.parametrize(
    "record",
    [
        Composition(index=3, topics=["A"], knowledge_points=["b", "c"], seed=7),
        QAPair(id="x", index=1, topics=["A"], knowledge_points=["b"], question="q", solution="s", answer="1",
               model="m", prompt="gen/1", meta={"agreement": 1.0}),  # fmt: skip
        Prediction(id="1", data_topic="gsm8k", question="q", reference="3", completion="3", extracted="3", correct=True),
    ],
)
def test_every_schema_round_trips(record):
    assert type(record).from_json(record.to_json()) == record


def test_wrong_field_type_names_field_and_place():
    with pytest.raises(DataError, match=r"f\.jsonl:4: field 'topics\[1\]': expected str, got int 3"):
        Concepts.from_json(
            {"id": "q", "question": "?", "topics": ["a", 3], "knowledge_points": [], "model": "m", "prompt": "p"},
            "f.jsonl:4",
        )


def test_missing_and_unknown_fields():
    with pytest.raises(DataError, match="field 'question': required field is missing"):
        Concepts.from_json({"id": "q", "topics": [], "knowledge_points": [], "model": "m", "prompt": "p"})
    with pytest.raises(DataError, match="field 'colour': unknown key"):
        Composition.from_json({"index": 1, "topics": [], "knowledge_points": [], "colour": "red"})


def test_wrong_schema_is_named():
    with pytest.raises(DataError, match="this is a 'qa/1' record, expected 'concepts/1'"):
        Concepts.from_json({"schema": "qa/1", "id": "x"})


def test_seed_reads_mwpbench_records():
    seed = Seed.from_json(
        {"data_source": "gsm8k", "data_topic": "gsm8k", "question_number": 12, "question": "How many?",
         "answer": 42, "license": "MIT"}  # fmt: skip
    )
    assert seed == Seed(id="gsm8k:12", question="How many?", answer="42", source="gsm8k")


def test_seed_rejects_blank_question():
    with pytest.raises(DataError, match="field 'question': is empty"):
        Seed.from_json({"id": "1", "question": "   "}, "s.jsonl:1")


def test_benchmark_item_numeric_answer():
    item = BenchmarkItem.from_json({"data_topic": "gsm8k", "question": "q", "answer": 18, "question_number": 0,
                                    "data_source": "gsm8k"})  # fmt: skip
    assert item.answer == "18" and item.id == "gsm8k:0"
