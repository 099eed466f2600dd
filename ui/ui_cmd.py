"""``webqa ui ask | record | compare``: the Gradio apps.

    webqa ui ask                         # the demo, on the embedded defaults
    webqa ui record --db sqlite:///labels.db
    webqa ui compare --db postgresql+psycopg://team@dbhost/labels --pairs candidates.json

Every app binds to 127.0.0.1. Serving beyond this machine takes ``--host 0.0.0.0`` and a
``--password`` (Gradio's login); ``--user`` names the login (default ``webqa``).
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
from typing import Any

from browser_env.backends.specs import BACKEND_SPECS_HELP


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    ui = subparsers.add_parser("ui", help="the Gradio apps: the demo, the recorder, the labeller",
                               description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ui.add_subparsers(dest="ui_command", metavar="<app>", required=True)
    apps = {
        "ask": "the demo: ask a question, watch the agent browse, read the cited answer",
        "record": "record human demonstrations in the text browser (saved step by step)",
        "compare": "rate pairs of answers with WebGPT's five-point scale",
    }
    for name, help_text in apps.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
        p.add_argument("--port", type=int, default=None, help="port (default: Gradio's, 7860 or the next free)")
        p.add_argument("--user", default="webqa", help="login name when --password is given")
        p.add_argument("--password", default=os.environ.get("WEBQA_UI_PASSWORD"),
                       help="require this password (needed with a --host other than loopback; "
                            "or set WEBQA_UI_PASSWORD)")
        if name in ("ask", "record"):
            p.add_argument("--index", metavar="DIR", help="mini-web index (default: the wiki-vital index)")
        if name == "ask":
            p.add_argument("--search", nargs="+", default=["local"], metavar="BACKEND", help=BACKEND_SPECS_HELP)
            p.add_argument("--policy", metavar="SPEC", help="policy spec (default: the shipped omni checkpoint, "
                           "which also hears spoken questions and sees pictures; else the shipped BC adapter)")
            p.add_argument("--reward-model", metavar="SPEC", help="reward model (default: the shipped RM adapter)")
        else:
            p.add_argument("--db", metavar="URL", help="database URL (default: sqlite:///~/.cache/webqa/labels.db)")
        if name == "compare":
            p.add_argument("--pairs", metavar="FILE", help="load pairs first: WebGPT comparisons / trl rows, or "
                                                          "`webqa ask --json` outputs (their candidates are paired); "
                                                          "JSON Lines or JSON documents")
    return ui


def check_exposure(host: str, password: str | None) -> str | None:
    """An error message when the app would be reachable from other machines without a password."""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback and not password:
        return f"--host {host} exposes the app beyond this machine: give --password (or WEBQA_UI_PASSWORD) too"
    return None


def launch(app: Any, args: argparse.Namespace, *, block: bool = True) -> Any:
    auth = (args.user, args.password) if args.password else None
    return app.launch(server_name=args.host, server_port=args.port, auth=auth, prevent_thread_lock=not block,
                      quiet=not block)


def main(args: argparse.Namespace) -> int:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    problem = check_exposure(args.host, args.password)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    if args.ui_command == "compare":
        from .compare_app import build_compare_app
        from training.store import Store, load_pairs_file

        try:
            store = Store(args.db)
            if args.pairs:
                print(f"loaded {load_pairs_file(store, args.pairs)} pairs from {args.pairs}")
        except (OSError, ValueError) as e:  # a missing or malformed file: the message names file and line
            print(f"webqa ui compare: {e}", file=sys.stderr)
            return 2
        launch(build_compare_app(store), args)
        return 0
    from browser_env.runtime import SyncWebRuntime

    with SyncWebRuntime(args.index, search=getattr(args, "search", None) or ["local"]) as rt:
        if args.ui_command == "record":
            from .record_app import build_record_app
            from training.store import Store

            launch(build_record_app(Store(args.db), rt, corpus=rt.runtime.index.name), args)
            return 0
        from agent.cli_common import default_policy_spec, default_reward_model_spec
        from omni_model import load_policy, load_reward_model

        from .ask_app import AskBackend, build_ask_app

        policy = load_policy(args.policy or default_policy_spec(media=True))
        reward_model = load_reward_model(args.reward_model or default_reward_model_spec())
        names = " → ".join("local mini-web" if b == "local" else b for b in args.search)
        launch(build_ask_app(AskBackend(policy, reward_model, rt), backend_name=names), args)
    return 0
