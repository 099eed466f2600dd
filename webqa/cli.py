"""The one console script, ``webqa``, and its subcommands.

Each subcommand lives beside the code it drives, in a module with ``add_parser(subparsers)``
and ``main(args) -> int``; this file only lists them. Those modules import nothing heavy at
the top, so ``webqa --help`` and ``webqa <command> --help`` answer at once.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from . import __version__

# Modules with add_parser(subparsers) and main(args), in the order --help lists them.
COMMANDS: list[str] = [
    "webqa.setup_cmd",
    "browser_env.miniweb.index_cmd",
    "browser_env.browse_cmd",
    "omni_model.generate_cmd",
    "agent.ask_cmd",
    "agent.eval_cmd",
    "training.demos_cmd",
    "training.train_cmd",
    "training.rm_eval_cmd",
    "ui.ui_cmd",
    "ui.labels_cmd",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="webqa",
        description="webqa: a WebGPT-style agent that browses a text web, quotes its sources and answers "
        "with citations. Run `webqa <command> --help` for each command.",
    )
    parser.add_argument("--version", action="version", version=f"webqa {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="<command>", required=True)
    for module_name in COMMANDS:
        module = importlib.import_module(module_name)
        p = module.add_parser(sub)
        p.set_defaults(_main=module.main)
    _terminal_help(parser)
    return parser


def _terminal_help(parser: argparse.ArgumentParser) -> None:
    """Make every help text read well in a terminal, for this parser and all below it.

    Commands reuse their module docstrings, written for Sphinx-style readers, as descriptions: the
    reST literal marks (two backticks) become one, as the rest of the help writes code. A
    subcommand without a description gets its one-line help as one.
    """
    parser.description = _plain(parser.description)
    parser.epilog = _plain(parser.epilog)
    for action in parser._actions:
        action.help = _plain(action.help)
        if isinstance(action, argparse._SubParsersAction):
            summaries = {a.dest: a for a in action._choices_actions}
            for name, child in action.choices.items():
                summary = summaries.get(name)
                if summary is not None:
                    summary.help = _plain(summary.help)
                    if not child.description and summary.help:
                        child.description = summary.help[:1].upper() + summary.help[1:] + "."
                _terminal_help(child)


def _plain(text: str | None) -> str | None:
    return text.replace("``", "`") if isinstance(text, str) else text


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args._main(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
