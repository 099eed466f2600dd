"""``webqa ask``: argument checks, the plain and ``--json`` outputs (fakes), and one real end-to-end run."""

import json
import time

import pytest

from agent import ask_cmd
from tests.helpers.agents import FakeRuntime, ScriptedPolicy
from tests.helpers.agents import parse_ask as parse


@pytest.fixture
def fakes(monkeypatch):
    import browser_env.runtime
    import omni_model

    monkeypatch.setattr(omni_model, "load_policy", lambda spec: ScriptedPolicy(6))
    monkeypatch.setattr(omni_model, "load_reward_model", lambda spec: pytest.fail("no RM is needed with --n 1"))
    monkeypatch.setattr(browser_env.runtime, "WebRuntime", FakeRuntime)


def check_json_shape(out: dict):
    assert set(out) >= {"question", "answer", "references", "candidates", "trajectory", "timings", "status",
                        "reason", "stats"}
    assert out["status"] in {"answered", "no_sources", "nonsense", "controversial", "failed"}
    assert isinstance(out["answer"], str) and out["answer"]
    for r in out["references"]:
        assert set(r) == {"n", "title", "url", "extract"}
    for c in out["candidates"]:
        assert set(c) == {"answer", "reward", "references"}
    assert set(out["timings"]) == {"browse_s", "answer_s", "score_s", "total_s"}
    for ep in out["trajectory"]:
        assert {"episode", "steps", "end"} <= set(ep)
        for st in ep["steps"]:
            assert {"command", "valid", "error", "observation", "url", "actions_left"} <= set(st)


def test_json_output(fakes, capsys):
    assert ask_cmd.main(parse(["Why is the sky blue?", "--json", "--max-actions", "6"])) == 0
    out = json.loads(capsys.readouterr().out)
    check_json_shape(out)
    assert out["status"] == "answered" and out["question"] == "Why is the sky blue?"
    assert [r["n"] for r in out["references"]] == [1] and "[7]" not in out["answer"]


def test_plain_output_and_verbose(fakes, capsys):
    assert ask_cmd.main(parse(["Why is the sky blue?", "--max-actions", "6", "--verbose"])) == 0
    captured = capsys.readouterr()
    assert "[1]" in captured.out and "References:" in captured.out and "http://sky.example/why-blue" in captured.out
    assert "Browsing: 1 episode(s), 4 actions (0 invalid), 1 quotes" in captured.out
    assert "'Search why sky blue'" in captured.err  # commands streamed as they happen


@pytest.mark.parametrize("argv, message", [
    (["   "], "empty"),
    (["Q?", "--n", "3", "--answers-per-browse", "2"], "multiple"),
    (["Q?", "--max-actions", "0"], ">= 1"),
    (["Q?", "--quote-span", "0"], "--quote-span must be >= 1"),
    (["Q?", "--min-quotes", "-1"], "--min-quotes and --quote-options must be >= 0"),
    (["Q?", "--quote-options", "-1"], "--min-quotes and --quote-options must be >= 0"),
    (["Q?", "--min-answer-sentences", "0"], "--min-answer-sentences and --min-query-words >= 1"),
    (["Q?", "--min-query-words", "0"], "--min-query-words >= 1"),
    (["--audio", "missing.wav"], "no such file"),
    (["Q?", "--image", "missing.png"], "no such file"),
    (["Q?", "--audio", __file__], "not both"),
    ([], "give --audio"),
])
def test_bad_input_exits_2(argv, message, capsys):
    assert ask_cmd.main(parse(argv)) == 2
    assert message in capsys.readouterr().err


def test_floors_reach_the_agent_config():
    from agent.cli_common import agent_config

    config = agent_config(parse(["Q?", "--min-quotes", "3", "--min-answer-sentences", "4", "--min-query-words", "5"]), 1)
    assert (config.min_quotes, config.min_answer_sentences, config.min_query_words) == (3, 4, 5)
    default = agent_config(parse(["Q?"]), 1)
    assert (default.min_quotes, default.min_answer_sentences, default.min_query_words) == (2, 3, 6)


def test_help_names_the_defaults(capsys):
    with pytest.raises(SystemExit):
        parse(["--help"])
    text = capsys.readouterr().out
    assert "omni_model/adapters/policy" in text and "omni_model/adapters/reward" in text
    assert "webqa train defaults" in text


@pytest.mark.slow
@pytest.mark.browser
def test_end_to_end_real_model_and_index(capsys):
    from browser_env.miniweb.index import default_index_dir

    if not (default_index_dir() / "meta.json").exists():
        pytest.skip("the default wiki-vital index is not built")
    t0 = time.perf_counter()
    code = ask_cmd.main(parse(["Why is the sky blue?", "--json", "--max-actions", "4", "--max-answer-tokens", "48"]))
    out = json.loads(capsys.readouterr().out)
    check_json_shape(out)
    assert code == (1 if out["status"] == "failed" else 0)
    assert out["status"] != "failed", out["reason"]  # the world and the model both worked
    steps = out["trajectory"][0]["steps"]
    assert 1 <= len(steps) <= 4 and out["stats"]["actions"] == len(steps)
    assert out["stats"]["constrained"] is True
    # Constrained decoding: every command the model wrote is well-formed (a bad link id or a
    # quote not on the page can still be refused by the browser).
    assert all(st["valid"] or st["error"] for st in steps)
    if out["status"] == "answered":
        assert out["candidates"] and all(r["url"] for r in out["references"])
    assert time.perf_counter() - t0 < 300


def test_hearing_by_the_lm_needs_an_omni_checkpoint(fakes, tmp_path, capsys):
    wav = tmp_path / "q.wav"
    from tests.helpers.models import write_wav

    write_wav(wav)
    assert ask_cmd.main(parse(["--audio", str(wav), "--hearing", "lm"])) == 2
    assert "--hearing lm needs an omni checkpoint" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["q", "--search", "nosuchbackend"], ["q", "--search", "searxng"],
                                  ["q", "--index", "/nonexistent/index"]])
def test_bad_web_arguments_exit_2_before_any_model_loads(argv, capsys, monkeypatch):
    import omni_model

    def no_loading(*a, **k):
        raise AssertionError("a model was loaded before the arguments were checked")

    monkeypatch.setattr(omni_model, "load_policy", no_loading)
    assert ask_cmd.main(parse(argv)) == 2
    err = capsys.readouterr().err
    assert err.startswith("webqa ask: ") and len(err.strip().splitlines()) == 1


def test_progress_is_shown_on_a_terminal_but_never_with_json():
    import io

    class Tty(io.StringIO):
        def isatty(self):
            return True

    assert ask_cmd.shows_progress(parse(["q"]), Tty())
    assert not ask_cmd.shows_progress(parse(["q", "--json"]), Tty())
    assert not ask_cmd.shows_progress(parse(["q"]), io.StringIO())
    assert ask_cmd.shows_progress(parse(["q", "-v"]), io.StringIO())


def test_the_first_answer_streams_on_one_line_as_it_is_written():
    import io

    from agent.types import Event

    out = io.StringIO()
    on_event = ask_cmd.verbose_printer(out)
    for text in ("Blue", "Blue light [1].", "Blue light [1]. It scatters [2].\n♦End of answer"):
        on_event(Event("answer_text", 0, {"question": 0, "candidate": 0, "text": text}))
    on_event(Event("answer_text", 0, {"question": 0, "candidate": 1, "text": "Another candidate"}))
    on_event(Event("candidate_scored", 0, {"question": 0, "candidate": 0, "reward": 1.5}))
    lines = out.getvalue().splitlines()
    # Before: nothing was shown while the answer was written.
    assert lines[0] == "[q0 ep0] writing: Blue light [1]. It scatters [2]."
    assert "Another" not in out.getvalue() and "End of answer" not in out.getvalue()
    assert lines[1] == "[q0 ep0] candidate 0: reward 1.5"
