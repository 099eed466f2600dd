"""The one command grammar: every command parses, round-trips, and garbage is an invalid action."""

import pytest

from browser_env.text import grammar
from browser_env.text.grammar import COMMANDS, ParseError, format_action, help_text, parse


@pytest.mark.parametrize(
    "text,name,arg",
    [
        ("Search why is the sky blue", "search", "why is the sky blue"),
        ("Clicked on link 12", "click", 12),
        ("Find in page: Rayleigh", "find", "Rayleigh"),
        ("Quote: light is scattered", "quote", "light is scattered"),
        ("Quote: light is━by molecules", "quote", "light is━by molecules"),
        ("Scrolled down 3", "scroll_down", 3),
        ("Scrolled up 1", "scroll_up", 1),
        ("Top", "top", None),
        ("Back", "back", None),
        ("End: Answer", "end_answer", None),
        ("End: Nonsense", "end_nonsense", None),
        ("End: Controversial", "end_controversial", None),
        ("  Search  padded  ", "search", "padded"),
        ("Search 日本の首都", "search", "日本の首都"),
    ],
)
def test_every_command_parses(text, name, arg):
    action = parse(text)
    assert (action.name, action.arg) == (name, arg)


def test_format_is_the_inverse_of_parse():
    samples = {"text": "hello world", "link_id": 7, "scroll": 2, "none": None}
    for spec in COMMANDS:
        text = format_action(spec.name, samples[spec.arg])
        assert parse(text).name == spec.name
        assert parse(text).arg == samples[spec.arg]


@pytest.mark.parametrize(
    "garbage",
    [
        "", "   ", "\n", "search lowercase", "Clicked on link", "Clicked on link abc", "Clicked on link -1",
        "Scrolled down 4", "Scrolled down", "Scrolled up 0", "Top of page", "End: Maybe", "Quote:",
        "Search ", "Search two\nlines", "Search zero\u200bwidth", "Quote: a━", "Quote: ━b",
        "Search " + "x" * (grammar.MAX_ARG_CHARS + 1), "\x00\x01\x02", "💥💥💥", "Clicked on link 9999999",
    ],
)
def test_garbage_is_an_invalid_action_with_a_helpful_message(garbage):
    with pytest.raises(ParseError) as err:
        parse(garbage)
    message = str(err.value)
    assert message.startswith("Invalid action")
    assert "Valid commands:" in message and "Search <query>" in message
    assert len(message) < 1000


def test_non_string_is_a_bug_not_an_invalid_action():
    with pytest.raises(TypeError):
        parse(None)  # type: ignore[arg-type]


def test_help_text_lists_every_command_once():
    text = help_text()
    for spec in COMMANDS:
        assert text.count(spec.template) >= 1
    assert len(text.splitlines()) == len(COMMANDS)
