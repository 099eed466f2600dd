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
    "browser_env.index_cmd",
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
    return parser


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
