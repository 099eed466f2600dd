"""DAgger: the student's own states, labelled by the scripted demonstrator, as ordinary demos."""

import asyncio

from agent.types import AgentConfig
from omni_model.scripted import ScriptedPolicy as Expert
from tests.helpers.agents import ScriptedPolicy, env_factory
from training.dagger import DAGGER_SOURCE, DaggerConfig, dagger_demos
from training.demos import Demo
from training.rows import demo_to_rows

CONFIG = DaggerConfig(max_actions=(10, 10), batch=2)


def _run(student, questions):
    return asyncio.run(dagger_demos(student, questions, env_factory(), CONFIG,
                                    agent_config=AgentConfig(max_actions=10, max_command_tokens=64)))


def test_the_student_browses_and_the_expert_labels_every_state_it_reached():
    demos, stats = _run(ScriptedPolicy(max_actions=10), ["Sky colour again?", "Why is the sky blue?"])
    assert [d.question for d in demos] == ["Sky colour again?", "Why is the sky blue?"]
    again = demos[0]
    # The student's first command was not a command; the expert says what it should have done there.
    assert again.steps[0].command.startswith("Search ") and "sky" in again.steps[0].command.lower()
    assert len(again.steps) == 5  # one label per state the student reached, its invalid step included
    assert all(s.observation_parts is not None and s.observation.startswith("♦Question") for s in again.steps)
    assert again.answer == "" and again.metadata.source == DAGGER_SOURCE
    assert stats.states == sum(len(d.steps) for d in demos) and stats.disagreements >= 1
    assert 0 < stats.agreement < 1
    for demo in demos:  # the ordinary format: it round-trips and becomes prompt/completion rows
        assert Demo.from_json(demo.to_json()) == demo
        rows = demo_to_rows(demo)
        assert len(rows) == len(demo.steps) and rows[0]["completion"].startswith("Search ")


def test_a_student_that_is_the_expert_agrees_everywhere():
    demos, stats = _run(Expert(), ["Why is the sky blue?"])
    assert stats.states > 0 and stats.disagreements == 0 and stats.agreement == 1.0
    assert [s.command.split()[0] for s in demos[0].steps][:2] == ["Search", "Clicked"]


def test_relabel_asks_the_expert_again_without_browsing():
    demos, _ = _run(ScriptedPolicy(max_actions=10), ["Sky colour again?"])

    class Always:
        def generate(self, prompts, **kw):
            from omni_model.policy import Completion
            return [[Completion("Back", [], "stop", 1)] for _ in prompts]

    from training.dagger import relabel

    again, changed = relabel(demos, Always())
    assert [s.command for s in again[0].steps] == ["Back"] * len(demos[0].steps)
    assert changed == sum(s.command != "Back" for s in demos[0].steps)
    assert [s.observation for s in again[0].steps] == [s.observation for s in demos[0].steps]
    same, unchanged = relabel(demos)
    assert unchanged == 0 and same == demos  # the same expert gives the same labels


def test_rounds_aggregate_and_earlier_ones_are_relabelled_by_todays_expert(tmp_path):
    from tests.training.test_demos import make_demo
    from training.defaults import dagger_files, keep_earlier_rounds, relabel_files
    from training.demos import read_demos, write_demos

    def state_demo(demo_id: str, command: str):
        d = make_demo(demo_id)
        d.steps, d.answer, d.metadata.source = d.steps[:2], "", DAGGER_SOURCE
        d.steps[1].command = command  # a stale label: the expert quotes or ends here, not "Back"
        return d

    assert keep_earlier_rounds(tmp_path) == [] and dagger_files(tmp_path) == []
    write_demos(tmp_path / "dagger_demos.jsonl", [state_demo("r1", "Back")])
    first = keep_earlier_rounds(tmp_path)  # before round 2: round 1 is kept under its number
    assert [p.name for p in first] == ["dagger_demos.round1.jsonl"]
    write_demos(tmp_path / "dagger_demos.jsonl", [state_demo("r2", "Back")])
    assert [p.name for p in keep_earlier_rounds(tmp_path)] == ["dagger_demos.round1.jsonl", "dagger_demos.round2.jsonl"]
    write_demos(tmp_path / "dagger_demos.jsonl", [state_demo("r3", "Back")])
    files = dagger_files(tmp_path)
    assert [p.name for p in files] == ["dagger_demos.round1.jsonl", "dagger_demos.round2.jsonl", "dagger_demos.jsonl"]
    # The stale labels are replaced by what the scripted expert says for those very prompts.
    assert relabel_files(files[:2]) == 2
    again = [d for f in files[:2] for d in read_demos(f)]
    assert [d.id for d in again] == ["r1", "r2"] and all(d.steps[1].command != "Back" for d in again)
    assert all(d.steps[0].command == "Search sky blue" for d in again)
