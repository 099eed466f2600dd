"""Invalid-action rate of the default policy, zero-shot, with and without constrained decoding.

Takes the first ``--questions`` ELI5 questions from ``eli5.json`` (the eli5_alce folder) and
runs the first ``--steps`` browsing steps over the local mini-web, once decoding freely (the
named baseline) and once through ``omni_model.constrained``. An action is invalid when the
grammar refuses it (parse) or the browser does (a link not on the page, a quote not on it).
With ``--offline-observations`` no browser starts: every question gets its first-step
observation (no page yet) and only step 1 is measured.

    python bench/invalid_action_rate.py /work/shared/data/eli5_alce [--offline-observations]

The last line holds the figures as key=value pairs (rates, ratio, processor ms/step, peak RSS).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAX_NEW_TOKENS = 48
MAX_ARG_CHARS = 120
# Before any page is open the browser refuses everything that acts on a page.
NO_PAGE_COMMANDS = frozenset({"search", "end_answer", "end_nonsense", "end_controversial"})
Page = tuple[list[int], str, bool]  # link ids, page text, whether a page is open


@dataclass
class Tally:
    steps: int = 0
    parse_invalid: int = 0
    env_invalid: int = 0  # refused by the grammar or the browser
    actions: dict[str, int] = field(default_factory=dict)
    processor_ms: list[float] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)
    generate_s: float = 0.0

    def rate(self) -> float:
        return self.env_invalid / max(1, self.steps)


class _Timed:
    """Times a logits processor's calls (the constraint's own cost per decoding step)."""

    def __init__(self, inner: Any, tally: Tally) -> None:
        self.inner, self.tally = inner, tally

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        t = time.perf_counter()
        out = self.inner(input_ids, scores)
        self.tally.processor_ms.append(1000 * (time.perf_counter() - t))
        return out


def decide(policy: Any, observations: list[Any], pages: list[Page], *, constrained: bool,
           tally: Tally, temperature: float, seed: int, max_prompt_tokens: int) -> list[str]:
    """One command per observation, in one batched generate call."""
    from omni_model.constrained import RowConstraint, make_command_processor
    from omni_model.prompts import BROWSING_STOP, build_browsing_prompt

    prompts = [build_browsing_prompt(o, tokenizer=policy.tokenizer, max_tokens=max_prompt_tokens).text
               for o in observations]
    processor = None
    if constrained:
        rows = [RowConstraint(frozenset(links), text, constrain_quote=True, constrain_find=True,
                              commands=None if open_ else NO_PAGE_COMMANDS) for links, text, open_ in pages]
        processor = _Timed(make_command_processor(policy.tokenizer, rows, max_arg_chars=MAX_ARG_CHARS,
                                                  max_new_tokens=MAX_NEW_TOKENS), tally)
    t = time.perf_counter()
    outs = policy.generate(prompts, n=1, temperature=temperature, max_new_tokens=MAX_NEW_TOKENS,
                           stop=BROWSING_STOP, seed=seed, logits_processor=processor)
    tally.generate_s += time.perf_counter() - t
    commands = [group[0].text for group in outs]
    tally.examples.extend(commands[:max(0, 4 - len(tally.examples))])
    return commands


def _parse_ok(command: str) -> tuple[bool, str]:
    from browser_env.text.grammar import ParseError, parse

    try:
        return True, parse(command).name
    except ParseError:
        return False, "invalid"


def run_offline(policy: Any, questions: list[str], *, constrained: bool, batch: int, **kw: Any) -> Tally:
    """Step 1 only, without a browser: the observation before any page is open."""
    from browser_env.text.observation import Observation

    tally = Tally()
    for start in range(0, len(questions), batch):
        obs = [Observation(q, actions_left=100) for q in questions[start:start + batch]]
        commands = decide(policy, obs, [([], "", False)] * len(obs), constrained=constrained, tally=tally, **kw)
        for cmd in commands:
            ok, name = _parse_ok(cmd)
            # No page yet: a click or quote cannot succeed whatever it says.
            refused = not ok or name in {"click", "quote"}
            tally.steps += 1
            tally.parse_invalid += not ok
            tally.env_invalid += refused
            tally.actions[name] = tally.actions.get(name, 0) + 1
    return tally


def run_browser(policy: Any, questions: list[str], *, constrained: bool, batch: int, steps: int,
                index: Path | None, **kw: Any) -> Tally:
    """The first ``steps`` steps of each question over the mini-web (all browser I/O is here)."""
    from browser_env.text.env import EnvConfig
    from browser_env.runtime import SyncWebRuntime

    tally = Tally()
    with SyncWebRuntime(index, config=EnvConfig.eli5()) as runtime:
        for start in range(0, len(questions), batch):
            envs = [runtime.make_env() for _ in questions[start:start + batch]]
            for env, q in zip(envs, questions[start:start + batch], strict=True):
                env.reset(q)
            obs = [env.observation for env in envs]
            pages: list[Page] = [([], "", False) for _ in envs]
            live = list(range(len(envs)))
            for _ in range(steps):
                commands = decide(policy, [obs[i] for i in live], [pages[i] for i in live],
                                  constrained=constrained, tally=tally, **kw)
                still = []
                for i, cmd in zip(live, commands, strict=True):
                    ok, name = _parse_ok(cmd)
                    result = envs[i].step(cmd)
                    tally.steps += 1
                    tally.parse_invalid += not ok
                    tally.env_invalid += not result.valid
                    tally.actions[name] = tally.actions.get(name, 0) + 1
                    obs[i] = result.observation
                    pages[i] = (list(result.links), result.page_text, result.page_kind is not None)
                    if not result.done:
                        still.append(i)
                live = still
                if not live:
                    break
            for env in envs:
                env.close()
    return tally


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path, help="the eli5_alce folder (eli5.json)")
    parser.add_argument("--questions", type=int, default=50)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--offline-observations", action="store_true",
                        help="no browser: measure step 1 from built observations")
    parser.add_argument("--index", type=Path, default=None, help="mini-web index folder (default: webqa's)")
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--batch", type=int, default=5, help="questions decoded together")
    parser.add_argument("--temperature", type=float, default=0.8)  # WebGPT's sampling temperature
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-prompt-tokens", type=int, default=2048)
    args = parser.parse_args(argv)

    from omni_model import load_policy

    questions = [r["question"] for r in json.loads((args.data_dir / "eli5.json").read_text())][:args.questions]
    policy = load_policy(args.model)
    common = {"batch": args.batch, "temperature": args.temperature, "seed": args.seed,
              "max_prompt_tokens": args.max_prompt_tokens}
    run: Callable[..., Tally]
    if args.offline_observations:
        run, mode, steps = run_offline, "offline_step1", 1
    else:
        run, mode, steps = run_browser, "miniweb", args.steps
        common.update(steps=args.steps, index=args.index)
    results = {}
    for constrained in (False, True):
        t = time.perf_counter()
        tally = run(policy, questions, constrained=constrained, **common)
        results[constrained] = tally
        label = "constrained" if constrained else "free"
        print(f"{label}: steps={tally.steps} invalid={tally.env_invalid} parse_invalid={tally.parse_invalid} "
              f"rate={tally.rate():.3f} seconds={time.perf_counter() - t:.0f} actions={tally.actions}")
        print(f"  e.g. {tally.examples!r}")
    free, cons = results[False], results[True]
    # The median leaves out the one-off first call (per-tokenizer masks, page tries).
    ms = sorted(cons.processor_ms) or [float("nan")]
    ms_step, ms_first = ms[len(ms) // 2], cons.processor_ms[0] if cons.processor_ms else float("nan")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    ratio = cons.rate() / free.rate() if free.rate() else float("nan")
    print(f"mode={mode} baseline=free_decoding questions={len(questions)} steps={steps} "
          f"free_invalid_rate={free.rate():.3f} constrained_invalid_rate={cons.rate():.3f} "
          f"free_parse_invalid_rate={free.parse_invalid / max(1, free.steps):.3f} "
          f"constrained_parse_invalid_rate={cons.parse_invalid / max(1, cons.steps):.3f} "
          f"constrained_vs_free={ratio:.3f} processor_ms_per_step_median={ms_step:.1f} processor_ms_first_call={ms_first:.0f} batch={args.batch} "
          f"free_generate_s={free.generate_s:.0f} constrained_generate_s={cons.generate_s:.0f} "
          f"peak_rss_mb={peak_mb:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
