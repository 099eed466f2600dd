"""The evaluation loop with a fake agent, policy and reward model: no model, no browser.

Covers the three output files, resume after a crash (truncated last line, no duplicates, no
redone work), a failing question recorded while the rest go on, and the command's bad input.
"""

import argparse
import asyncio
import json
from dataclasses import dataclass

import pytest

from agent.eval_cmd import add_parser, main
from agent.evaluation import ANSWERS, ClosedBook, evaluate, read_answers
from agent.types import AgentConfig, Candidate, Reference, Result
from browser_env.types import BackendError
from data.eli5.loaders import QuestionRow, question_id
from tests.helpers.agents import FakeTextPolicy


class FakeAgent:
    """Canned results: "DOWN" in a question raises a world error, "EMPTY" is a model that wrote nothing."""

    def __init__(self, n: int = 4):
        self.n = n
        self.calls: list[list[str]] = []

    async def ask_many(self, items, *, on_event=None, env_config=None):
        self.calls.append([q for q, _ in items])
        if any("DOWN" in q for q, _ in items):
            raise BackendError("search backend 'local' is down")
        return [self._result(q) for q, _ in items]

    def _result(self, q: str) -> Result:
        if "EMPTY" in q:
            return Result(q, "I could not answer.", [], [], [{"episode": 0, "steps": [{}], "end": None}], {},
                          status="failed", reason="the model returned nothing",
                          stats={"actions": 1, "invalid_actions": 1})
        ref = Reference(1, "Sky - Wiki", "http://wiki/sky", "Rayleigh scattering makes the sky blue.")
        cands = [Candidate(f"answer {i} about {q} [1]", [ref], reward=float(i), episode=i) for i in range(self.n)]
        traj = [{"episode": i, "steps": [{"command": "Search x", "valid": i % 2 == 0}] * (i + 2), "end": "Answer"}
                for i in range(self.n)]
        return Result(q, cands[-1].answer, [ref], cands, traj, {"total_s": 0.1},
                      stats={"actions": sum(i + 2 for i in range(self.n)), "invalid_actions": 1, "citations": 1,
                             "removed_citations": 0, "cited_quotes_verified": 1.0, "world_errors": 0})


@dataclass
class _Completion:
    text: str


class FakePolicy(FakeTextPolicy):
    """Answers from memory (closed-book); a text policy without a tokenizer."""

    spec = "fake-closed-book"

    def generate(self, prompts, *, n=1, temperature=0.8, max_new_tokens=128, stop=None, seed=None, **_):
        return [[_Completion("" if "EMPTY" in p else "From memory: the sky is blue.")] for p in prompts]


class FakeRM:
    def score_batch(self, items, batch_size=8):
        return [len(answer) / 100 for _, _, answer in items]


def _rows(*questions: str) -> list[QuestionRow]:
    return [QuestionRow(question_id(q), q, f"reference for {q}", "test", line=i + 1) for i, q in enumerate(questions)]


QUESTIONS = ["Why is the sky blue?", "What is DNA?", "How do bees fly?", "Why do cats purr?", "What is rain?"]


def _run(rows, agent, out, **kw):
    kw.setdefault("closed_book", ClosedBook(FakePolicy(), FakeRM(), AgentConfig()))
    return asyncio.run(evaluate(rows, agent, out, ns=[1, 2, 4], progress=False, **kw))


def test_outputs(tmp_path):
    agent = FakeAgent()
    metrics = _run(_rows(*QUESTIONS), agent, tmp_path, workers=2)
    assert [len(c) for c in agent.calls] == [2, 2, 1]  # batches of --workers questions
    recs = [json.loads(line) for line in (tmp_path / ANSWERS).read_text().splitlines()]
    assert [r["question"] for r in recs] == QUESTIONS
    first = recs[0]
    assert first["result"]["status"] == "answered" and first["result"]["candidates"][3]["reward"] == 3.0
    assert first["closed_book"]["answer"] == "From memory: the sky is blue." and first["closed_book"]["reward"] > 0
    assert first["metrics"]["citations"] == 1 and first["reference"] == "reference for Why is the sky blue?"
    on_disk = json.loads((tmp_path / "metrics.json").read_text())
    assert on_disk["questions"] == 5 and on_disk["status_counts"] == {"answered": 5}
    assert on_disk["reward_by_n"]["4"]["mean"] == pytest.approx(3.0)
    assert on_disk["reward_by_n"]["1"]["mean"] == pytest.approx(1.5)  # the mean of 0..3
    assert on_disk["actions"]["per_episode_mean"] == pytest.approx(3.5)
    assert on_disk["closed_book"]["questions"] == 5 and "rouge_l" in on_disk
    assert metrics == on_disk
    page = (tmp_path / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 3 and "<table>" in page
    assert "citation marks such as [1] removed" in page
    assert "closed-book" in page and "Sky - Wiki" in page and "http" not in page.split("<body>")[0]


def test_failures_are_recorded_and_the_rest_go_on(tmp_path):
    agent = FakeAgent()
    rows = _rows("Why is the sky blue?", "DOWN: what is DNA?", "EMPTY: why?", "How do bees fly?")
    metrics = _run(rows, agent, tmp_path, workers=4)
    recs = read_answers(tmp_path / ANSWERS)
    status = {r["question"]: r["result"]["status"] for r in recs}
    assert status == {"Why is the sky blue?": "answered", "DOWN: what is DNA?": "failed",
                      "EMPTY: why?": "failed", "How do bees fly?": "answered"}
    down = next(r for r in recs if r["question"].startswith("DOWN"))
    assert "BackendError" in down["result"]["reason"] and "down" in down["result"]["reason"]
    empty = next(r for r in recs if r["question"].startswith("EMPTY"))
    assert empty["result"]["reason"] == "the model returned nothing"
    assert empty["closed_book"]["error"] == "the model returned nothing"
    assert len(agent.calls) == 1 + 4  # the batch, then each question alone
    assert metrics["status_counts"] == {"answered": 2, "failed": 2}


def test_resume_after_a_crash(tmp_path):
    rows = _rows(*QUESTIONS)
    _run(rows[:2], FakeAgent(), tmp_path)
    path = tmp_path / ANSWERS
    # A crash while writing the third question's line leaves half a line behind.
    full = path.read_text()
    path.write_text(full + full.splitlines()[0][:57])
    with pytest.raises(FileExistsError):
        _run(rows, FakeAgent(), tmp_path)  # never append to a run by accident
    agent = FakeAgent()
    metrics = _run(rows, agent, tmp_path, resume=True, workers=2)
    assert [q for call in agent.calls for q in call] == QUESTIONS[2:]  # finished ids are not redone
    lines = path.read_text().splitlines()
    assert len(lines) == 5 and all(json.loads(line) for line in lines)  # the fragment was cut off
    assert sorted(json.loads(line)["id"] for line in lines) == sorted(r.id for r in rows)
    assert metrics["questions"] == 5
    again = FakeAgent()
    _run(rows, again, tmp_path, resume=True)
    assert again.calls == [] and len(path.read_text().splitlines()) == 5


def test_read_answers_tolerates_a_bad_middle_line(tmp_path, capsys):
    path = tmp_path / ANSWERS
    path.write_text('{"id": "a", "metrics": {}}\nnot json\n{"id": "b"}\n{"id": "a"}\n{"id": "c"}')
    assert [r["id"] for r in read_answers(path, repair=True)] == ["a", "b", "c"]
    assert f"{path}:2: skipping" in capsys.readouterr().err
    assert path.read_text().endswith('{"id": "c"}\n')  # a whole last record gets its newline back


def _args(tmp_path, *extra):
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["eval", *extra])


def test_cli_parser_and_epilog(tmp_path, capsys):
    args = _args(tmp_path, "eli5", "--questions", "q.json", "--out", "o", "--n", "16,1,4", "--workers", "3")
    assert args.n == [1, 4, 16] and args.workers == 3 and args.eval_task == "eli5" and not args.resume
    with pytest.raises(SystemExit):
        _args(tmp_path, "eli5", "--help")
    helptext = capsys.readouterr().out
    assert "openai:http://host:8000/v1#" in helptext and "--resume" in helptext
    with pytest.raises(SystemExit):
        _args(tmp_path, "eli5", "--questions", "q", "--out", "o", "--n", "0,2")


def test_cli_bad_input_exits_2(tmp_path, capsys):
    assert main(_args(tmp_path, "eli5", "--questions", str(tmp_path / "missing.json"), "--out", str(tmp_path))) == 2
    assert "no such question file" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": ""}\n{"nope": 1}\n')
    assert main(_args(tmp_path, "eli5", "--questions", str(bad), "--out", str(tmp_path / "o"))) == 2
    err = capsys.readouterr().err
    assert f"{bad}:1: empty question" in err and f"{bad}:2:" in err and "no usable questions" in err
    (tmp_path / "o2").mkdir()
    (tmp_path / "o2" / ANSWERS).write_text('{"id": "x"}\n')
    good = tmp_path / "good.jsonl"
    good.write_text('{"question": "Why?"}\n')
    assert main(_args(tmp_path, "eli5", "--questions", str(good), "--out", str(tmp_path / "o2"))) == 2
    assert "--resume" in capsys.readouterr().err


def test_rescore_recomputes_rouge_from_the_stored_texts_and_keeps_the_rest(tmp_path, capsys):
    _run(_rows(*QUESTIONS[:2]), FakeAgent(), tmp_path)
    before = json.loads((tmp_path / "metrics.json").read_text())
    recs = read_answers(tmp_path / ANSWERS)
    for r in recs:  # as a run scored under an older definition would have stored them
        r["metrics"]["rouge_l"] = r["metrics"]["closed_book"]["rouge_l"] = 0.0
        r["metrics"]["rouge_candidates"] = [0.0] * len(r["metrics"]["rouge_candidates"])
    (tmp_path / ANSWERS).write_text("".join(json.dumps(r) + "\n" for r in recs))
    assert main(_args(tmp_path, "rescore", str(tmp_path))) == 0
    assert "2 questions" in capsys.readouterr().out
    after = json.loads((tmp_path / "metrics.json").read_text())
    for key in ("rouge_l", "rouge_l_by_n", "reward_by_n", "support", "actions", "closed_book"):
        assert after[key] == before[key], key
    assert after["settings"]["rescored"] and after["ns"] == before["ns"]
    assert main(_args(tmp_path, "rescore", str(tmp_path / "nowhere"))) == 2
    assert "no answers.jsonl" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.browser
def test_cli_end_to_end_with_real_models(tmp_path, shared_data):
    """One ELI5 question through Chromium, the default mini-web and the embedded models."""
    out = tmp_path / "run"
    args = _args(tmp_path, "eli5", "--questions", str(shared_data / "eli5_alce" / "eli5.json"), "--out", str(out),
                 "--limit", "1", "--n", "1,2", "--max-actions", "2", "--max-answer-tokens", "24", "--no-progress")
    assert main(args) == 0
    recs = read_answers(out / ANSWERS)
    assert len(recs) == 1 and recs[0]["result"]["status"] in {"answered", "no_sources", "nonsense",
                                                                "controversial", "failed"}
    assert recs[0]["closed_book"]["answer"] or recs[0]["closed_book"]["error"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["settings"]["blocked"] == ["reddit.com", "quora.com"] and metrics["settings"]["censor_leaks"]
    assert (out / "report.html").read_text().startswith("<!doctype html>")


def test_baseline_policies_answer_the_same_questions_in_the_same_run(tmp_path):
    """`--baseline-policy scripted`: the demonstrator's row beside the agent's, in metrics and report."""
    from agent.agent import Agent
    from omni_model.scripted import ScriptedPolicy
    from tests.agent.test_agent import env_factory

    rows = [QuestionRow(question_id("Why is the sky blue?"), "Why is the sky blue?",
                        "Blue light scatters more in the air.", "test")]
    scripted = Agent(ScriptedPolicy(), FakeRM(), env_factory(), AgentConfig(n=1, max_actions=10))
    metrics = asyncio.run(evaluate(rows, FakeAgent(), tmp_path, ns=[1, 4], progress=False,
                                   baselines={"scripted": scripted}))
    base = metrics["baselines"]["scripted"]
    assert base["questions"] == 1 and base["answered_share"] == 1.0 and base["support"] == 1.0
    assert base["query_f1"] == 1.0 and base["rouge_l"] > 0 and base["reward"] is not None
    record = read_answers(tmp_path / ANSWERS)[0]
    assert record["baselines"]["scripted"]["answer"].endswith("[1].")
    report = (tmp_path / "report.html").read_text()
    assert "<th>scripted</th>" in report and "support" in report
