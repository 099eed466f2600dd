"""What the omni checkpoint hears and sees, against its text-only baselines, plus its CPU throughput.

    python bench/omni_eval.py --omni ~/.cache/webqa/omni --speech runs/speech_eval \\
        --heldout runs/omni/ckpt/heldout_demos.jsonl [--control runs/omni/text_only] [--limit 50]

- Speech: each spoken question (``webqa demos speech``) is written down twice: by Whisper's own
  decoder (``hearing="whisper"``, the default) and by the language model from the projected
  features (``hearing="lm"``); the first browsing command is then decoded (greedy, under the agent's command
  grammar) from the heard text and from the typed text. Reports the share of questions whose
  first command is the same (the baseline is the typed question itself) and the word error rate.
- Screenshots: greedy next-command accuracy (free decoding, as ``training.bc.next_command_accuracy``)
  on the held-out demonstrations' steps, shown their screenshots and not shown them; with
  ``--control`` (the same training without screenshots) also that model on the text alone.
- Throughput: training tokens/s (forward and backward of the omni model on text, screenshot and
  speech rows, with gradients where the shipped training has them: encoders, projectors and the
  LM's top 8 layers) and generation tokens/s for text, text + image and text + audio prompts.
The last line holds the figures as key=value pairs; peak RSS is this process's.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from _memory import PeakRSS
from _report import last_line  # bench/ is on sys.path when a script runs


def word_errors(ref: str, hyp: str) -> tuple[int, int]:
    """Word-level edit distance and reference length (case and punctuation ignored)."""
    import re

    r, h = re.findall(r"[a-z0-9']+", ref.lower()), re.findall(r"[a-z0-9']+", hyp.lower())
    prev = list(range(len(h) + 1))
    for i, rw in enumerate(r, 1):
        cur = [i]
        for j, hw in enumerate(h, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (rw != hw)))
        prev = cur
    return prev[-1], len(r)


def restyle(question: str) -> str:
    """A question as a transcriber writes it: a capital first letter and a final question mark."""
    q = question.strip()
    q = q[:1].upper() + q[1:]
    return q if q.endswith(("?", ".", "!")) else q + "?"


def word_f1(a: str, b: str) -> float:
    """Word-overlap F1 of two commands (1.0 when both are empty): how close, not only whether equal."""
    import re
    from collections import Counter

    x, y = Counter(re.findall(r"[a-z0-9']+", a.lower())), Counter(re.findall(r"[a-z0-9']+", b.lower()))
    common = sum((x & y).values())
    if not x and not y:
        return 1.0
    return 0.0 if not common else 2 * common / (sum(x.values()) + sum(y.values()))


def first_commands(policy, questions: list[str]) -> list[str]:
    from browser_env.text.grammar import END_COMMANDS
    from browser_env.text.observation import Observation
    from omni_model.constrained import RowConstraint, command_token_budget, make_command_processor
    from omni_model.prompts import BROWSING_STOP, build_browsing_prompt

    budget = command_token_budget()
    out = []
    for i in range(0, len(questions), 8):
        chunk = questions[i:i + 8]
        prompts = [build_browsing_prompt(Observation(question=q, actions_left=20), tokenizer=policy.tokenizer).text
                   for q in chunk]
        rows = [RowConstraint(commands=frozenset({"search", *END_COMMANDS})) for _ in chunk]
        proc = make_command_processor(policy.tokenizer, rows, n=1, max_new_tokens=budget)
        gen = policy.generate(prompts, temperature=0, max_new_tokens=budget, stop=BROWSING_STOP, logits_processor=proc)
        out += [g[0].text.strip() for g in gen]
    return out


def speech(policy, manifest: str, limit: int, hearing: str) -> dict:
    from training.speech import read_manifest

    rows = read_manifest(manifest, errors=[])[:limit]
    write_down = policy.transcribe_with_lm if hearing == "lm" else policy.whisper.transcribe
    t = time.perf_counter()
    heard = [write_down(r["audio"]) for r in rows]
    secs = time.perf_counter() - t
    typed = [r["question"] for r in rows]
    a, b = first_commands(policy, typed), first_commands(policy, [h or "?" for h in heard])
    errs = [word_errors(q, h) for q, h in zip(typed, heard)]
    # A control for the policy's own brittleness: the typed question with only its capital and
    # final mark changed, as Whisper writes them, is what a perfect transcript would look like.
    restyled = first_commands(policy, [restyle(q) for q in typed])
    for q, h, x, y in list(zip(typed, heard, a, b))[:5]:
        print(f"  typed: {q[:70]!r}\n  heard: {h[:70]!r}\n    {x!r} | {y!r}", flush=True)
    return {"spoken": len(rows), "same_first_command": sum(x == y for x, y in zip(a, b)) / len(rows),
            "first_command_f1": statistics.mean(word_f1(x, y) for x, y in zip(a, b)),
            "restyled_same_first_command": sum(x == y for x, y in zip(a, restyled)) / len(rows),
            "wer": sum(e for e, _ in errs) / max(1, sum(n for _, n in errs)),
            "transcribe_s": secs / len(rows)}


def screenshot_rows(heldout: str, tokenizer, image_tokens: int, shots: bool, max_length: int) -> list[dict]:
    from training.demos import read_demos
    from training.omni_train import demo_rows

    demos = read_demos(heldout)
    rows = demo_rows([(d, Path(heldout)) for d in demos], tokenizer, max_length - 96, image_tokens, shots)
    return [r for r in rows if r["completion"].strip() and not r["completion"].startswith(("End: Answer\n♦",))]


def command_accuracy(policy, rows: list[dict], keep: list[int]) -> dict:
    from browser_env.text.grammar import ParseError, parse
    from omni_model.prompts import BROWSING_STOP

    exact = kind = valid = 0
    hits: list[bool] = []  # per step, exact or not: for the paired comparison
    rows = [rows[i] for i in keep]
    for i in range(0, len(rows), 4):
        chunk = rows[i:i + 4]
        media = [r.get("images") or [] for r in chunk]
        kwargs = {"media": media} if any(media) else {}
        outs = policy.generate([r["prompt"] for r in chunk], temperature=0, max_new_tokens=48, stop=BROWSING_STOP,
                               **kwargs)
        for r, o in zip(chunk, outs):
            want = parse(r["completion"].strip())
            try:
                got = parse(o[0].text.strip())
            except ParseError:
                hits.append(False)
                continue
            valid += 1
            kind += got.name == want.name
            exact += got.text == want.text
            hits.append(got.text == want.text)
    n = max(1, len(rows))
    return {"steps": len(rows), "valid": valid / n, "kind": kind / n, "exact": exact / n, "hits": hits}


def sign_test(a: list[bool], b: list[bool]) -> dict:
    """Paired steps where only one of two models is exact, and the two-sided exact sign-test p-value."""
    from math import comb

    only_a = sum(x and not y for x, y in zip(a, b))
    only_b = sum(y and not x for x, y in zip(a, b))
    n, k = only_a + only_b, min(only_a, only_b)
    p = min(1.0, 2 * sum(comb(n, i) for i in range(k + 1)) / 2 ** n) if n else 1.0
    return {"only_first_exact": only_a, "only_second_exact": only_b, "sign_test_p": p}


def throughput(policy, rows: list[dict], spoken: list[dict]) -> dict:
    import torch

    from omni_model.omni import OmniCollator

    collate = OmniCollator(policy.tokenizer, policy.config, max_length=1024)
    out = {}
    shot = next(r for r in rows if r.get("images"))
    text = next(r for r in rows if not r.get("images"))
    from training.omni_train import speech_rows

    heard = speech_rows(spoken[:1], policy.tokenizer)[0]
    model = policy.omni.train()
    # Gradients as in the shipped training: the encoders and projectors (Whisper's encoder only if it
    # trains), and the LM's top 8 layers (its LoRA's), so backward stops where it would.
    model.requires_grad_(False)
    for name, module in model.encoders.items():
        module.requires_grad_(name != "audio" or policy.config.train_audio_encoder)
    for layer in model.lm.model.layers[-8:]:
        layer.requires_grad_(True)
    for name, row in (("text", text), ("image", shot), ("audio", heard)):
        batch = collate([row] * 2)
        tokens = int(batch["attention_mask"].sum())
        times = []
        for _ in range(3):
            t = time.perf_counter()
            model(**batch).loss.backward()
            times.append(time.perf_counter() - t)
        model.zero_grad(set_to_none=True)
        out[f"train_tok_s_{name}"] = tokens / statistics.median(times)
    model.eval()
    with torch.no_grad():
        for name, prompt, media in (("text", text["prompt"], None), ("image", shot["prompt"], [shot["images"]]),
                                    ("audio", heard["prompt"], [heard["audios"]])):
            t = time.perf_counter()
            policy.generate([prompt], temperature=0, max_new_tokens=1, media=media)
            prefill = time.perf_counter() - t  # the prompt (and its media) plus one token
            t = time.perf_counter()
            got = policy.generate([prompt], temperature=0, max_new_tokens=32, media=media)[0][0]
            secs = time.perf_counter() - t
            positions = int(collate([{"prompt": prompt, "completion": "", "images": media[0] if media and name == "image"
                                      else None, "audios": media[0] if media and name == "audio" else None}])
                            ["attention_mask"].sum())
            out[f"gen_tok_s_{name}"] = got.tokens / secs  # new tokens per second, prefill included
            out[f"new_tokens_{name}"] = got.tokens
            out[f"prefill_s_{name}"] = prefill
            if got.tokens > 1:  # the tokens after the first, each one forward step with the KV cache
                out[f"decode_tok_s_{name}"] = (got.tokens - 1) / max(1e-9, secs - prefill)
            out[f"prompt_positions_{name}"] = positions
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--omni", required=True, help="omni checkpoint folder")
    ap.add_argument("--speech", required=True, help="speech folder of held-out spoken questions")
    ap.add_argument("--heldout", required=True, help="held-out demonstrations with screenshots")
    ap.add_argument("--control", default=None, help="a policy to score on the same steps without screenshots "
                    "(the text BC adapter it started from, or the same training run with --no-screenshots)")
    ap.add_argument("--limit", type=int, default=50)
    ap.add_argument("--max-length", type=int, default=1024)
    ap.add_argument("--shot-limit", type=int, default=50, help="held-out steps with a screenshot to score")
    ap.add_argument("--parts", default="speech,speech-lm,shots,throughput",
                    help="comma-separated: speech (heard by Whisper's decoder), speech-lm (heard by the LM), "
                         "shots, throughput")
    args = ap.parse_args()
    parts = set(args.parts.split(","))

    from omni_model import load_policy
    from training.speech import read_manifest

    keys: dict[str, object] = {}
    with PeakRSS() as mem:
        policy = load_policy(args.omni)
        for hearing in [h for h, part in (("whisper", "speech"), ("lm", "speech-lm")) if part in parts]:
            s = speech(policy, args.speech, args.limit, hearing)
            print(f"speech, heard by {hearing}: {s}", flush=True)
            keys.update({f"speech_{hearing}_{k}": v for k, v in s.items()})
        if "shots" not in parts:
            args.control = None
        with_shots = screenshot_rows(args.heldout, policy.tokenizer, policy.config.image_tokens, True, args.max_length)
        without = screenshot_rows(args.heldout, policy.tokenizer, policy.config.image_tokens, False, args.max_length)
        keep = [i for i, r in enumerate(with_shots) if r.get("images")][: args.shot_limit]
        hits = {}
        for label, rows in (("shots", with_shots), ("noshots", without)) if "shots" in parts else ():
            acc = command_accuracy(policy, rows, keep)
            hits[label] = acc.pop("hits")
            print(f"next command on {acc['steps']} held-out steps that have a screenshot, {label}: {acc}", flush=True)
            keys.update({f"{label}_{k}": v for k, v in acc.items() if k != "steps"})
        if hits:
            paired = sign_test(hits["shots"], hits["noshots"])
            print(f"paired, shots vs noshots: {paired}", flush=True)
            keys.update({f"paired_{k}": v for k, v in paired.items()})
        keys["steps_with_screenshot"] = len(keep)
        if args.control:
            control = load_policy(args.control)
            acc = command_accuracy(control, without, keep)
            acc.pop("hits")
            print(f"control ({args.control}), text only: {acc}", flush=True)
            keys.update({f"control_{k}": v for k, v in acc.items() if k != "steps"})
            del control
        if "throughput" in parts:
            t = throughput(policy, with_shots, read_manifest(args.speech, errors=[]))
            print(f"throughput: {t}", flush=True)
            keys.update(t)
    keys["baseline"] = "typed_question+text_only"
    keys["peak_rss_mb"] = mem.peak_bytes / 2**20
    print(last_line(keys, digits=3))
    return 0


if __name__ == "__main__":
    sys.exit(main())
