"""`webqa ui`: loopback by default; exposing an app needs a password."""

import pytest

from ui.ui_cmd import check_exposure
from webqa.cli import build_parser, main


@pytest.mark.parametrize("host,password,ok", [
    ("127.0.0.1", None, True), ("localhost", None, True), ("::1", None, True),
    ("0.0.0.0", None, False), ("192.168.1.5", None, False), ("0.0.0.0", "s3cret", True)])
def test_exposure_needs_a_password(host, password, ok):
    assert (check_exposure(host, password) is None) == ok


def test_exposed_app_without_password_exits_2_before_starting(capsys, monkeypatch):
    monkeypatch.delenv("WEBQA_UI_PASSWORD", raising=False)
    for app in ("ask", "record", "compare"):
        assert main(["ui", app, "--host", "0.0.0.0"]) == 2
        assert "--password" in capsys.readouterr().err


def test_defaults_bind_loopback():
    args = build_parser().parse_args(["ui", "record"])
    assert (args.host, args.db) == ("127.0.0.1", None)


# --- pairs files (issue 14, item 8) ----------------------------------------------------------------

def _ask_json(question: str, answers: list[str]) -> str:
    """What `webqa ask --n 4 --json` prints: one Result, pretty-printed over many lines."""
    import json

    from agent.types import Candidate, Reference, Result

    refs = [Reference(1, "Rayleigh scattering", "http://wiki.miniweb/r", "Short waves scatter more.")]
    cands = [Candidate(a, refs, reward=-i / 10, episode=0) for i, a in enumerate(answers)]
    result = Result(question, answers[0], refs, cands, trajectory=[{"episode": 0, "steps": [], "end": "answer"}],
                    timings={"total_s": 1.0}, stats={"actions": 3})
    return json.dumps(result.to_json(), ensure_ascii=False, indent=2) + "\n"


def test_comparisons_load_and_ui_compare_read_ask_json(tmp_path, capsys, monkeypatch):
    import json

    import ui.ui_cmd

    one = tmp_path / "ask.json"
    one.write_text(_ask_json("Why is the sky blue?", ["Rayleigh [1].", "Mie [1].", "Dust.", "Sea [1]."]))
    two = tmp_path / "asks.json"  # `webqa ask ... --json >> asks.json`, twice
    two.write_text(one.read_text() + _ask_json("Why is grass green?", ["Chlorophyll [1].", "Paint."]))
    db = f"sqlite:///{tmp_path / 'labels.db'}"
    assert main(["comparisons", "load", "--db", db, str(one)]) == 0
    assert json.loads(capsys.readouterr().out)["pairs"] == 2
    assert main(["comparisons", "load", "--db", db, str(two)]) == 0
    assert json.loads(capsys.readouterr().out)["pairs"] == 3
    launched = []
    monkeypatch.setattr(ui.ui_cmd, "launch", lambda app, args: launched.append(app))
    assert main(["ui", "compare", "--db", db, "--pairs", str(one)]) == 0
    assert "loaded 2 pairs" in capsys.readouterr().out and launched


@pytest.mark.parametrize("command", [["comparisons", "load", "--db", "{db}", "{file}"],
                                     ["ui", "compare", "--db", "{db}", "--pairs", "{file}"]])
def test_a_bad_pairs_file_names_file_and_line_and_loads_nothing(tmp_path, capsys, command):
    from training.store import Store

    good = _ask_json("Why is the sky blue?", ["Rayleigh [1].", "Mie [1]."])
    bad = good.replace('"question": "Why is the sky blue?"', '"question": ""')
    broken = good[:good.index('"candidates"')] + "oops" + good[good.index('"candidates"'):]
    db = f"sqlite:///{tmp_path / 'labels.db'}"
    for body, line in ((good + bad, good.count("\n") + 1), (broken, broken[:broken.index("oops")].count("\n") + 1),
                       ('{"question": "q", "answer_0": "a", "score_0": 1, "score_1": -1}\n', 1)):
        f = tmp_path / "pairs.json"
        f.write_text(body)
        assert main([a.format(db=db, file=f) for a in command]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"{f}:{line}: " in err and "Traceback" not in err, err
    assert Store(db).counts()["pairs"] == 0
