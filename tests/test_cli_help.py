"""Every ``webqa`` help text reads as terminal text: no reST literal marks, a description for each
command, and examples for ``browse`` and ``index`` (issue #14, item 12)."""

import argparse

import pytest

from webqa.cli import build_parser


def _parsers(parser: argparse.ArgumentParser, path: tuple[str, ...] = ("webqa",)):
    yield " ".join(path), parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _parsers(child, (*path, name))


PARSERS = dict(_parsers(build_parser()))


@pytest.mark.parametrize("command", sorted(PARSERS))
def test_help_has_no_rest_literal_marks_and_a_description(command):
    parser = PARSERS[command]
    text = parser.format_help()
    assert "``" not in text, f"`{command} --help` shows reST double backticks"
    assert parser.description, f"`{command} --help` has no description"


@pytest.mark.parametrize("command", ["webqa browse", "webqa index", "webqa index build"])
def test_browse_and_index_show_examples(command):
    text = PARSERS[command].format_help()
    assert "examples:" in text and f"\n  {command} " in text, text


def test_help_lists_the_typed_browsing_conveniences():
    text = PARSERS["webqa browse"].format_help()
    assert "`help`" in text and "any case" in text and "Exit codes" in text
