"""The demonstration JSONL schema: round trip, and bad rows named by file and line."""

import json

import pytest

from browser_env.text.observation import Observation, Quote, render_observation
from training.demos import (Demo, DemoFormatError, Metadata, Step, iter_demos, read_demos,
                            write_demos)


def make_demo(demo_id: str = "d1") -> Demo:
    quote = Quote("Why the sky is blue", "example.org", "https://example.org/sky", "Rayleigh scattering.")
    obs0 = Observation(question="Why is the sky blue?", actions_left=10)
    obs1 = Observation(question="Why is the sky blue?", quotes=[quote], past_actions=["Search sky blue"],
                       title="Why the sky is blue (example.org)", scrollbar=(0, 3),
                       text="Rayleigh scattering.\n【0†More†other.org】", actions_left=9, error="bad link")
    return Demo(
        id=demo_id,
        question="Why is the sky blue?",
        quotes=[quote],
        answer="Because of Rayleigh scattering [1].",
        steps=[Step(render_observation(obs0), "Search sky blue", obs0),
               Step(render_observation(obs1), "End: Answer", obs1, screenshot="shots/1.png"),
               Step("♦Question\nWhy is the sky blue?\n", "Back")],
        metadata=Metadata(who="alice", when="2025-01-01T00:00:00+00:00", source="ui", backend="fake",
                          extra={"note": "kept"}),
    )


def test_round_trip_through_json_and_file(tmp_path):
    demo = make_demo()
    assert Demo.from_json(json.loads(json.dumps(demo.to_json()))) == demo
    path = tmp_path / "demos.jsonl"
    assert write_demos(path, [demo, make_demo("d2")]) == 2
    assert write_demos(path, [make_demo("d3")], append=True) == 1
    loaded = read_demos(path, strict=True)
    assert [d.id for d in loaded] == ["d1", "d2", "d3"]
    assert loaded[0] == demo
    assert loaded[0].steps[1].observation_parts.scrollbar == (0, 3)
    assert loaded[0].metadata.extra == {"note": "kept"}
    line = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    assert line["schema_version"] == 1 and "corpus" not in line["metadata"]
    assert "observation_parts" not in line["steps"][2]


def test_append_after_a_torn_line_keeps_the_new_row(tmp_path):
    path = tmp_path / "demos.jsonl"
    path.write_text('{"id": "torn', encoding="utf-8")
    write_demos(path, [make_demo()], append=True)
    errors = []
    assert [d.id for d in read_demos(path, errors=errors)] == ["d1"]
    assert len(errors) == 1 and errors[0].line == 1


def test_writing_a_bad_demo_raises_and_writes_nothing(tmp_path):
    demo = make_demo()
    demo.steps[0].command = "Jump around"
    path = tmp_path / "demos.jsonl"
    with pytest.raises(DemoFormatError, match="does not parse"):
        write_demos(path, [make_demo("ok"), demo])
    assert not path.exists()


def _bad_file(tmp_path):
    good = json.dumps(make_demo("good1").to_json())
    no_question = make_demo("nq").to_json()
    del no_question["question"]
    bad_command = make_demo("bc").to_json()
    bad_command["steps"][1]["command"] = "Clicked on link seven"
    wrong_type = make_demo("wt").to_json()
    wrong_type["quotes"] = "not a list"
    lines = [good, "{not json", json.dumps(no_question), "", json.dumps(bad_command),
             json.dumps(wrong_type), json.dumps(make_demo("good2").to_json())]
    path = tmp_path / "hand.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_bad_rows_are_named_by_file_and_line_and_skipped(tmp_path):
    path = _bad_file(tmp_path)
    errors: list[DemoFormatError] = []
    demos = read_demos(path, errors=errors)
    assert [d.id for d in demos] == ["good1", "good2"]
    assert [e.line for e in errors] == [2, 3, 5, 6]
    assert all(str(e).startswith(f"{path}:{e.line}: ") for e in errors)
    assert "not valid JSON" in errors[0].message
    assert "'question'" in errors[1].message
    assert "Clicked on link seven" in errors[2].message and "does not parse" in errors[2].message
    assert "quotes must be list" in errors[3].message


def test_strict_raises_at_the_first_bad_row(tmp_path):
    path = _bad_file(tmp_path)
    it = iter_demos(path, strict=True)
    assert next(it).id == "good1"
    with pytest.raises(DemoFormatError) as exc:
        next(it)
    assert exc.value.line == 2 and str(exc.value).startswith(f"{path}:2:")


def test_unknown_schema_version_is_a_bad_row(tmp_path):
    row = make_demo().to_json()
    row["schema_version"] = 99
    path = tmp_path / "v.jsonl"
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    errors = []
    assert read_demos(path, errors=errors) == []
    assert "schema_version 99" in str(errors[0])
