"""Bad input to ``webqa`` commands ends in one clear line on stderr and exit code 2, never a
traceback (issue #14, item 4; ``webqa browse``'s own cases are in tests/browser_env/test_browse_cmd.py)."""

import pytest

from webqa.cli import main as webqa


@pytest.mark.parametrize("db, expect", [
    ("nosuch://x", "Can't load plugin"),  # an unknown SQLAlchemy dialect
    ("garbage", "Could not parse"),  # not a URL at all
])
def test_demos_export_with_a_bad_database_url(capsys, tmp_path, db, expect):
    assert webqa(["demos", "export", "--db", db, "--out", str(tmp_path / "d.jsonl")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and db in err and expect in err, err
    assert not (tmp_path / "d.jsonl").exists()


# --- bad input is InputError, caught by name; any other ValueError is a bug and raises -----------

@pytest.fixture
def fake_world(monkeypatch):
    """`webqa ask` and `webqa eval` without models or Chromium: the scripted policy, memory pages."""
    import browser_env.runtime
    import omni_model
    from tests.helpers.agents import FakeRuntime, ScriptedPolicy

    monkeypatch.setattr(omni_model, "load_policy", lambda spec: ScriptedPolicy(6))
    monkeypatch.setattr(omni_model, "load_reward_model", lambda spec: None)
    monkeypatch.setattr(browser_env.runtime, "WebRuntime", FakeRuntime)


def _agent_raises(monkeypatch, error):
    from agent.agent import Agent

    async def ask(self, *a, **k):
        raise error

    async def ask_many(self, *a, **k):
        raise error

    monkeypatch.setattr(Agent, "ask", ask)
    monkeypatch.setattr(Agent, "ask_many", ask_many)


def _eval_argv(tmp_path):
    questions = tmp_path / "qs.jsonl"
    questions.write_text('{"question": "Why is the sky blue?"}\n')
    return ["eval", "eli5", "--questions", str(questions), "--out", str(tmp_path / "out"), "--n", "1",
            "--no-closed-book", "--baseline-policy", "none", "--no-progress"]


@pytest.mark.parametrize("command", ["ask", "eval"])
def test_input_errors_from_the_agent_are_one_line_and_exit_2(command, fake_world, monkeypatch, capsys, tmp_path):
    from browser_env.types import InputError

    _agent_raises(monkeypatch, InputError("nothing was heard in the audio"))
    argv = ["ask", "Why is the sky blue?", "--json"] if command == "ask" else _eval_argv(tmp_path)
    assert webqa(argv) == 2
    err = capsys.readouterr().err
    assert err == f"webqa {command}: nothing was heard in the audio\n", err


@pytest.mark.parametrize("command", ["ask", "eval"])
def test_a_plain_value_error_is_a_bug_and_raises(command, fake_world, monkeypatch, tmp_path):
    _agent_raises(monkeypatch, ValueError("policy returned 2 rows for 3 prompts"))
    argv = ["ask", "Why is the sky blue?", "--json"] if command == "ask" else _eval_argv(tmp_path)
    with pytest.raises(ValueError, match="rows for 3 prompts"):
        webqa(argv)


def test_a_text_policy_given_a_picture_is_bad_input(fake_world, capsys, tmp_path):
    picture = tmp_path / "p.png"
    picture.write_bytes(b"not really a png")
    assert webqa(["ask", "What is this?", "--image", str(picture), "--policy", "scripted"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("webqa ask: the policy") and "reads text only" in err and err.count("\n") == 1, err


def test_search_specs_are_input_errors():
    from browser_env.backends.specs import check_spec
    from browser_env.types import InputError

    for spec in ("nosuch", "searxng:ftp://x", "direct:arg"):
        with pytest.raises(InputError):
            check_spec(spec)
