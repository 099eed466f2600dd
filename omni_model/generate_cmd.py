"""`webqa generate`: sample completions from any policy spec, for people and for scripts.

    webqa generate --prompt "The capital of France is" --temperature 0 --max-new-tokens 8
    webqa generate --chat --prompt "Name three fruits." --n 4 --json

`--json` prints exactly one JSON object (a stable interface other tools parse):
{"policy", "prompt", "completions": [{"text", "finish_reason", "tokens", "logprob"}],
 "seconds", "tokens_per_s"}. `prompt` is the text actually sent (after --chat templating).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time

from omni_model.spec import DEFAULT_POLICY


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("generate", help="sample completions from a policy",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    configure_parser(parser)
    parser.set_defaults(func=main)
    return parser


def configure_parser(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--policy", default=DEFAULT_POLICY, help=f"model spec (default: {DEFAULT_POLICY})")
    parser.add_argument("--prompt", required=True, help="prompt text; '-' reads it from stdin")
    parser.add_argument("--n", type=int, default=1, help="completions to sample (default 1)")
    parser.add_argument("--temperature", type=float, default=0.8, help="0 means greedy (default 0.8)")
    parser.add_argument("--top-p", type=float, default=1.0)
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--stop", nargs="+", default=None, metavar="S",
                        help="stop strings; backslash escapes such as \\n are understood")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--chat", action="store_true", help="wrap the prompt in the model's chat template")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: auto)")
    parser.add_argument("--dtype", default=None, help="fp32, bf16, fp16 (default: bf16 on CUDA, fp32 on CPU)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    return parser


def _unescape(s: str) -> str:
    # Shells make a literal newline awkward to type; "\n" is what people write.
    return s.encode("utf-8").decode("unicode_escape") if "\\" in s else s


def _logprob(c: object) -> float | None:
    # JSON has no NaN; servers that omit log-probs give null rather than a fake 0.
    lps = getattr(c, "token_logprobs")
    total = float(sum(lps))
    return total if lps and math.isfinite(total) else None


def main(args: argparse.Namespace) -> int:
    from omni_model import load_policy
    from omni_model.errors import OmniModelError

    prompt = sys.stdin.read() if args.prompt == "-" else args.prompt
    stop = [_unescape(s) for s in args.stop] if args.stop else None
    try:
        policy = load_policy(args.policy, device=args.device, dtype=args.dtype)
        if args.chat:
            prompt = policy.apply_chat_template([{"role": "user", "content": prompt}])
        start = time.perf_counter()
        [completions] = policy.generate([prompt], n=args.n, temperature=args.temperature, top_p=args.top_p,
                                        max_new_tokens=args.max_new_tokens, stop=stop, seed=args.seed)
        seconds = time.perf_counter() - start
    except (OmniModelError, ValueError) as e:
        print(f"webqa generate: error: {e}", file=sys.stderr)
        return 2
    total = sum(c.tokens for c in completions)
    if args.json:
        print(json.dumps({
            "policy": args.policy,
            "prompt": prompt,
            "completions": [{"text": c.text, "finish_reason": c.finish_reason, "tokens": c.tokens,
                             "logprob": _logprob(c)} for c in completions],
            "seconds": round(seconds, 4),
            "tokens_per_s": round(total / seconds, 3) if seconds > 0 else None,
        }, ensure_ascii=False))
        return 0
    for i, c in enumerate(completions):
        if len(completions) > 1:
            print(f"--- completion {i + 1}/{len(completions)} ({c.finish_reason}, {c.tokens} tokens)")
        print(c.text)
    print(f"[{total} tokens in {seconds:.2f}s, {total / max(seconds, 1e-9):.1f} tok/s]", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(configure_parser(argparse.ArgumentParser(prog="webqa generate")).parse_args()))
