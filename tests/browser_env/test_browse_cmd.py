"""``webqa browse``'s own input handling, driven through in-memory backends (no Chromium): typed
commands in any case, ``help`` and ``quit`` that cost no action, the quotes printed at the end,
and bad arguments refused in one line with exit code 2 (issue #14, items 4, 5 and 10)."""

import io

import pytest

from browser_env.backends.memory import MemoryFetcher, MemorySearch
from browser_env.browse_cmd import quotes_summary, run_session, typed_command
from browser_env.text.env import BrowserEnv, EnvConfig, LoopThread, StaticFetcherProvider, SyncBrowserEnv
from browser_env.text.grammar import ParseError, parse
from browser_env.types import SearchResult
from webqa.cli import main as webqa

CATS = "http://cats.example/cats"
CATS_HTML = ("<html><head><title>Cats</title></head><body><article><p>Cats are small carnivorous mammals "
             "that people keep as pets. They sleep for most of the day.</p></article></body></html>")


@pytest.mark.parametrize("typed, canonical", [
    ("search cats", "Search cats"),
    ("SEARCH Cats And Dogs", "Search Cats And Dogs"),  # the query keeps its own case
    ("  clicked ON link 3 ", "Clicked on link 3"),
    ("find in page:sleep", "Find in page: sleep"),
    ("quote: Cats are small", "Quote: Cats are small"),
    ("scrolled  down 2", "Scrolled down 2"),
    ("back", "Back"), ("TOP", "Top"),
    ("end: answer", "End: Answer"), ("End:  nonsense", "End: Nonsense"), ("end: controversial", "End: Controversial"),
])
def test_typed_commands_are_matched_whatever_their_case(typed, canonical):
    assert typed_command(typed) == canonical
    parse(canonical)  # and the model's exact grammar accepts what they become


@pytest.mark.parametrize("typed", ["searchlight", "topology", "backwards", "click 3", "end answer"])
def test_lines_that_are_no_command_are_left_for_the_browser_to_refuse(typed):
    assert typed_command(typed) == typed


@pytest.mark.parametrize("typed", ["search cats", "back", "end: answer", "clicked on link 0"])
def test_the_grammar_itself_stays_exact(typed):
    with pytest.raises(ParseError):  # the case-blind matching lives in the browse command, not the parser
        parse(typed)


@pytest.fixture
def env():
    loop = LoopThread()
    search = MemorySearch([SearchResult("Cats", CATS, "Cats are small carnivorous mammals")])
    inner = BrowserEnv(search, StaticFetcherProvider(MemoryFetcher({CATS: CATS_HTML})), EnvConfig(max_actions=10))
    yield SyncBrowserEnv(inner, loop)
    loop.stop()


def test_a_typed_session_help_costs_nothing_and_the_quotes_are_printed_at_the_end(env):
    out = io.StringIO()
    lines = ["help", "search cats", "?", "clicked on link 0", "quote: They sleep for most of the day.", "end: answer",
             "never read"]
    run_session(env, "What are cats?", None, lines, as_json=False, typed=True, out=out, max_actions=10)
    text = out.getvalue()
    assert text.count("Search <query>") == 2  # the command list, once per `help`
    assert env.past_actions == ["Search cats", "Click Cats cats.example", "Quote", "End: Answer"]
    assert env.actions_left == 6 and env.invalid_actions == 0  # help cost no action
    assert "[episode over: Answer]" in text
    summary = text.split("[episode over: Answer]", 1)[1]
    assert "Quotes collected (1):" in summary and "[1] Cats (cats.example)" in summary
    assert "> They sleep for most of the day." in summary and CATS in summary


def test_quit_leaves_without_an_action_and_scripts_stay_exact(env):
    out = io.StringIO()
    run_session(env, "q", None, ["search cats", "quit", "back"], as_json=False, typed=True, out=out, max_actions=10)
    assert env.past_actions == ["Search cats"] and env.actions_left == 9
    out = io.StringIO()
    run_session(env, "q", None, ["search cats", "help"], as_json=True, typed=False, out=out, max_actions=10)
    assert env.past_actions == ["Invalid action: search cats", "Invalid action: help"]  # a script is the model's input


def test_quotes_summary_without_quotes():
    assert quotes_summary([]) == "No quotes were collected."


def _one_line_exit_2(capsys, argv: list[str], expect: str) -> None:
    assert webqa(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and expect in err, err


def test_bad_search_backends_are_one_line_and_exit_2(capsys, monkeypatch):
    monkeypatch.delenv("SEARXNG_URL", raising=False)
    _one_line_exit_2(capsys, ["browse", "--search", "nosuchbackend", "--commands", "-"], "unknown search backend")
    _one_line_exit_2(capsys, ["browse", "--search", "searxng", "--commands", "-"], "needs a base URL")
    _one_line_exit_2(capsys, ["browse", "--search", "local", "searxng:ftp://x", "--commands", "-"], "http://")


def test_a_script_that_is_not_utf8_is_one_line_and_exit_2(capsys, tmp_path):
    script = tmp_path / "cmds.txt"
    script.write_bytes(b"Search cats\n\xff\xfeBack\n")
    _one_line_exit_2(capsys, ["browse", "--commands", str(script)], f"{script}:2: not UTF-8")
    _one_line_exit_2(capsys, ["browse", "--commands", str(tmp_path / "missing.txt")], "cannot read")


@pytest.mark.parametrize("budget", ["0", "-1"])
def test_an_action_budget_below_one_is_refused(capsys, budget):
    _one_line_exit_2(capsys, ["browse", "--max-actions", budget, "--commands", "-"], "--max-actions must be at least 1")
