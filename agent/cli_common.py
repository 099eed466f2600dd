"""The half of ``webqa ask`` and ``webqa eval`` that they share: the agent's flags and the session.

- ``add_agent_args`` adds the web, model and agent flags to a parser once, their defaults read
  from ``AgentConfig``'s fields; ``agent_config`` turns the parsed flags back into an ``AgentConfig``.
- ``check_agent_args`` checks them before any model loads, ``--search`` and ``--index`` last
  (``check_web_args``).
- ``load_models`` loads the policy and the reward model, the defaults resolved here
  (``default_policy_spec``, ``default_reward_model_spec``), so a retrained adapter is swapped in once.
- ``open_runtime`` starts the browser runtime and closes it; ``run_session`` runs a command's
  coroutine and turns the input's and the world's errors into exit codes.

A command that must stop raises ``CommandExit(message, code)``; its ``main``, decorated with
``reports_exits``, prints the message and returns the code.
Nothing heavy is imported at the top, so ``--help`` stays instant.

    config = agent_config(args, n=args.n)
    policy, reward_model = load_models(args, reward_model=args.n > 1)
    result = run_session(answer(args, policy, reward_model, config))

    async def answer(args, policy, reward_model, config):
        async with open_runtime(args, EnvConfig(max_actions=args.max_actions), prewarm=1) as rt:
            return await Agent(policy, reward_model, rt, config).ask(args.question)
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, get_args, get_type_hints

from browser_env.backends.specs import BACKEND_SPECS_HELP

from .types import AgentConfig

if TYPE_CHECKING:
    from omni_model.types import Policy, RewardModel

T = TypeVar("T")

# webqa's shipped adapters (omni_model/adapters, written by `webqa train defaults`); without
# them, the embedded base model (and, for the RM, an untrained head).
DEFAULT_POLICY_SPEC = "the shipped BC adapter (omni_model/adapters/policy)"
DEFAULT_REWARD_MODEL = "the shipped reward-model adapter (omni_model/adapters/reward)"


def default_policy_spec(media: bool = False) -> str:
    """The policy `webqa ask` uses when --policy is not given (with ``media``: one that hears and sees)."""
    from omni_model.shipped import default_omni_spec, default_policy_spec as shipped

    return default_omni_spec() if media else shipped()


def default_reward_model_spec() -> str:
    """The reward model `webqa ask` uses when --reward-model is not given."""
    from omni_model.shipped import default_reward_model_spec as shipped

    return shipped()


class CommandExit(Exception):
    """The command stops here: ``message`` goes to stderr, ``code`` is its exit status (1 failed, 2 bad input)."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code



def reports_exits(command: str) -> Callable[[Callable[[argparse.Namespace], int]], Callable[[argparse.Namespace], int]]:
    """Decorates ``webqa <command>``'s ``main``: a ``CommandExit`` is one line on stderr and the exit code."""

    def decorate(main: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
        @functools.wraps(main)
        def wrapper(args: argparse.Namespace) -> int:
            try:
                return main(args)
            except CommandExit as e:
                print(f"webqa {command}: {e}", file=sys.stderr)
                return e.code

        return wrapper

    return decorate


def add_agent_args(p: argparse.ArgumentParser) -> None:
    """The flags ask and eval share: where to browse, which models, and the ``AgentConfig`` fields.
    Each command adds its own --n (one number for ask, a list for eval)."""
    defaults = {f.name: f.default for f in dataclasses.fields(AgentConfig)}
    p.add_argument("--index", metavar="DIR", help="index folder from `webqa index build` (default: the "
                                                      "wiki-vital mini-web built by the set-up)")
    p.add_argument("--search", nargs="+", metavar="BACKEND", help=BACKEND_SPECS_HELP)
    p.add_argument("--policy", metavar="SPEC", help=f"policy model spec (default: {DEFAULT_POLICY_SPEC}); "
                                                    "'scripted' is the rule-based demonstrator, a baseline")
    p.add_argument("--reward-model", metavar="SPEC",
                   help=f"reward model spec (default: {DEFAULT_REWARD_MODEL}, else an untrained head)")
    p.add_argument("--answers-per-browse", type=int, default=None, metavar="K",
                   help="answers per browsing episode; --n (its largest value, for eval) must be a multiple "
                        "(default: all n from one episode when browsing is greedy, else 1)")
    p.add_argument("--max-actions", type=int, default=defaults["max_actions"], metavar="K",
                   help=f"actions per episode (default: {defaults['max_actions']}; WebGPT evaluated with 100)")
    p.add_argument("--max-answer-tokens", type=int, default=defaults["max_answer_tokens"], metavar="T",
                   help=f"answer length cap (default: {defaults['max_answer_tokens']})")
    p.add_argument("--no-constrain", action="store_true", help="decode commands freely (no grammar constraint)")
    # How much of a command or an answer the policy chooses rather than writes.
    p.add_argument("--answer-mode", choices=get_args(get_type_hints(AgentConfig)["answer_mode"]),
                   default=defaults["answer_mode"],
                   help="extractive (default): the answer is made of the quotes' sentences, each cited, the policy "
                        "choosing which and how many; free: the policy writes the answer itself and its "
                        "citations are checked afterwards")
    p.add_argument("--temperature", type=float, default=defaults["temperature"], metavar="T",
                   help=f"browsing sampling temperature (default: {defaults['temperature']:g}, greedy: the small "
                        "default policy errs less; WebGPT sampled at 0.8); answers are always sampled, so "
                        "best-of-n still has candidates")
    p.add_argument("--free-arguments", action="store_true",
                   help="let the policy spell Search queries and quotes itself (default: a query is made of the "
                        "question's content words and a quote is a passage of the page in view, the "
                        "policy choosing among them)")
    p.add_argument("--quote-span", type=int, default=defaults["quote_span"], metavar="K",
                   help=f"sentences a chosen quote holds at most: one in view and the ones after it in its paragraph, "
                        f"within 400 characters (default: {defaults['quote_span']}; 1: single sentences)")
    p.add_argument("--quote-options", type=int, default=defaults["quote_options"], metavar="K",
                   help=f"passages in view the policy chooses a quote among: the K holding most of the question's "
                        f"words (default: {defaults['quote_options']}; 0: every passage in view)")
    p.add_argument("--min-quotes", type=int, default=defaults["min_quotes"], metavar="K",
                   help=f"quotes an episode takes before `End: Answer` is offered, or as many as its budget "
                        f"allows (default: {defaults['min_quotes']}; 0: no floor)")
    p.add_argument("--min-query-words", type=int, default=defaults["min_query_words"], metavar="K",
                   help=f"question words a chosen Search query holds at least, or all the question has "
                        f"(default: {defaults['min_query_words']})")
    p.add_argument("--min-answer-sentences", type=int, default=defaults["min_answer_sentences"], metavar="K",
                   help=f"sentences an extractive answer holds at least, or all its quotes have "
                        f"(default: {defaults['min_answer_sentences']})")
    p.add_argument("--seed", type=int, default=defaults["seed"], help=f"sampling seed (default: {defaults['seed']})")


def settle_answers_per_browse(args: argparse.Namespace, n: int) -> None:
    """--answers-per-browse left out: greedy browsing gives every episode the same path, so one
    episode writes all n answers; sampled browsing browses once per answer."""
    if args.answers_per_browse is None:
        args.answers_per_browse = n if args.temperature == 0 else 1


def check_agent_args(args: argparse.Namespace, n: int, n_name: str = "--n") -> str | None:
    """What is wrong with the shared flags for ``n`` answers a question (``n_name`` in messages), if
    anything, after settling --answers-per-browse; --search and --index last (``check_web_args``)."""
    settle_answers_per_browse(args, n)
    if args.temperature < 0:
        return "--temperature must be >= 0"
    if args.answers_per_browse < 1 or args.max_actions < 1 or args.max_answer_tokens < 1 or args.quote_span < 1:
        return "--answers-per-browse, --max-actions, --max-answer-tokens and --quote-span must be >= 1"
    if args.min_quotes < 0 or args.quote_options < 0 or args.min_answer_sentences < 1 or args.min_query_words < 1:
        return "--min-quotes and --quote-options must be >= 0, --min-answer-sentences and --min-query-words >= 1"
    if n % args.answers_per_browse:
        return f"{n_name} {n} is not a multiple of --answers-per-browse {args.answers_per_browse}"
    return check_web_args(args)


def check_web_args(args: argparse.Namespace) -> str | None:
    """A bad --search or --index, found before any model loads."""
    from browser_env.backends.specs import check_spec
    from browser_env.types import InputError

    for spec in args.search or []:
        try:
            check_spec(spec)
        except InputError as e:
            return str(e)
    if args.index and not (Path(args.index) / "meta.json").is_file():
        return f"--index {args.index}: no index there (build one with `webqa index build`)"
    return None


def agent_config(args: argparse.Namespace, n: int) -> AgentConfig:
    """The ``AgentConfig`` the flags of ``add_agent_args`` describe, returning ``n`` candidates."""
    return AgentConfig(n=n, answers_per_browse=args.answers_per_browse, max_actions=args.max_actions,
                       max_answer_tokens=args.max_answer_tokens, constrained=not args.no_constrain, seed=args.seed,
                       answer_mode=args.answer_mode, temperature=args.temperature,
                       choose_quotes=not args.free_arguments, query_from_question=not args.free_arguments,
                       quote_span=args.quote_span, quote_options=args.quote_options, min_quotes=args.min_quotes, min_query_words=args.min_query_words,
                       min_answer_sentences=args.min_answer_sentences)


@contextmanager
def loading_models() -> Any:
    """A model that cannot be loaded ends the command with exit code 1."""
    from omni_model.errors import OmniModelError

    try:
        yield
    except OmniModelError as e:
        raise CommandExit(f"could not load a model: {e}", 1) from e


def load_models(args: argparse.Namespace, *, media: bool = False, reward_model: bool = True
                ) -> tuple[Policy, RewardModel | None]:
    """``(policy, reward_model)`` from --policy and --reward-model or the defaults; ``media``: the default
    policy hears and sees; without ``reward_model`` none is loaded (``None``)."""
    from omni_model import load_policy, load_reward_model

    with loading_models():
        policy = load_policy(args.policy or default_policy_spec(media=media))
        rm = load_reward_model(args.reward_model or default_reward_model_spec()) if reward_model else None
    return policy, rm


@asynccontextmanager
async def open_runtime(args: argparse.Namespace, env_config: Any, prewarm: int) -> AsyncIterator[Any]:
    """The started ``WebRuntime`` for --index and --search (default: the local mini-web), closed after."""
    from browser_env.runtime import WebRuntime

    rt = WebRuntime(args.index, search=args.search or ["local"], config=env_config, prewarm=prewarm)
    try:
        # InputError (a backend spec the registry refuses; a policy that cannot hear or see, an
        # unreadable file, nothing heard) goes up to run_session; other errors are bugs.
        await rt.start()
        yield rt
    finally:
        await rt.close()


def run_session(work: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine: bad input (``InputError``) is exit code 2, the world failing (the
    index missing, Chromium not starting, a backend down) exit code 1; any other error is a bug."""
    import asyncio

    from browser_env.types import InputError, WorldError

    try:
        return asyncio.run(work)
    except InputError as e:
        raise CommandExit(str(e), 2) from e
    except (WorldError, OSError) as e:
        raise CommandExit(f"{type(e).__name__}: {e}", 1) from e
