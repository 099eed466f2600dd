"""How high can an extractive answer from the default mini-web score on ROUGE-L? Selection rules
against the closed-book answer, on the same questions.

    python bench/extractive_ceiling.py --run runs/eval_final [--pages 5] [--words 50,70,90,110]

The agent's answers are sentences of its quotes, so their ROUGE-L is bounded by what the wiki-vital
summaries hold and by how the sentences are chosen. For each question of an evaluation run (its
``answers.jsonl``: question, reference, the agent's answer, the closed-book answer) this searches
the default index with the question, splits the top ``--pages`` pages into sentences, and scores
answers made by rules that need no model, cut at each word budget:

- ``lead``: the first page's sentences in order (what quoting a page's opening gives);
- ``overlap``: all the pages' sentences ranked by the question's content words they hold;
- ``oracle``: up to five sentences chosen greedily by ROUGE-L against the reference itself; no
  system can do this, it is the ceiling of choosing sentences from these pages.

Beside them, from the run: the agent's best-of-n answer and the closed-book answer (the named
baseline; every ratio is against it). ROUGE-L is scored as ``webqa eval`` scores it (citation marks
removed). The last line holds the figures as key=value pairs, with the peak RSS.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

from _memory import PeakRSS
from _report import last_line  # bench/ is on sys.path when a script runs


def cut(sentences: list[str], words: int) -> str:
    """The leading sentences until ``words`` words are reached (the last one whole)."""
    from agent.metrics import tokenize

    out, n = [], 0
    for s in sentences:
        if n >= words:
            break
        out.append(s)
        n += len(tokenize(s))
    return " ".join(out)


def page_sentences(index, question: str, pages: int) -> list[tuple[int, str]]:
    """(page rank, sentence) for the top pages of a search with the question, in page order."""
    from browser_env.text.sentences import split_sentences
    from omni_model.extractive import MIN_SEGMENT_CHARS

    out = []
    for rank, hit in enumerate(index.search(question, pages)):
        doc = index.get(hit.id)
        for para in (doc.text if doc else "").split("\n\n"):
            out += [(rank, s) for s in split_sentences(para) if len(s) >= MIN_SEGMENT_CHARS]
    return out


def oracle(sentences: list[str], reference: str, most: int = 5) -> float:
    from agent.metrics import rouge_l

    chosen: list[str] = []
    best = 0.0
    for _ in range(most):
        score, pick = max(((rouge_l(" ".join(chosen + [s]), reference).f, s) for s in sentences if s not in chosen),
                          default=(0.0, None))  # fmt: skip
        if pick is None or score <= best:
            break
        best, chosen = score, chosen + [pick]
    return best


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", type=Path, required=True, help="a `webqa eval eli5` output folder (its answers.jsonl)")
    p.add_argument("--pages", type=int, default=5, help="search results whose pages supply sentences (default 5)")
    p.add_argument("--words", default="50,70,90,110", help="word budgets for the rule-made answers")
    args = p.parse_args()
    try:
        budgets = [int(w) for w in args.words.split(",")]
        rows = [json.loads(line) for line in (args.run / "answers.jsonl").read_text(encoding="utf-8").splitlines()
                if line.strip()]  # fmt: skip
    except (OSError, ValueError) as e:
        print(f"extractive_ceiling: error: {e}", file=sys.stderr)
        return 2
    from agent.metrics import rouge_l, tokenize
    from browser_env.miniweb.index import open_index
    from browser_env.text.sentences import overlap, stems

    index = open_index()
    scores: dict[str, list[float]] = {}
    lengths: dict[str, list[int]] = {}

    def add(name: str, answer: str, reference: str) -> None:
        scores.setdefault(name, []).append(rouge_l(answer, reference).f)
        lengths.setdefault(name, []).append(len(tokenize(answer)))

    with PeakRSS() as mem:
        for row in rows:
            question, reference = row["question"], row["reference"]
            add("closed-book", row["closed_book"]["answer"], reference)
            add("agent (the run's answer)", row["result"]["answer"], reference)
            found = page_sentences(index, question, args.pages)
            q = stems(question)
            ranked = [s for _, s in sorted(found, key=lambda t: (-overlap(t[1], q) / (len(t[1].split()) ** 0.5), t[0]))]
            for w in budgets:
                add(f"lead {w} words", cut([s for rank, s in found if rank == 0], w), reference)
                add(f"overlap {w} words", cut(ranked, w), reference)
            scores.setdefault("oracle (reads the reference)", []).append(oracle([s for _, s in found], reference))
    base = statistics.fmean(scores["closed-book"])
    print(f"{len(rows)} questions from {args.run}; ROUGE-L F against the reference (citation marks removed)")
    print(f"{'answer':32s} {'ROUGE-L':>8s} {'± SE':>7s} {'words':>6s} {'vs closed-book':>15s}")
    for name, values in scores.items():
        m = statistics.fmean(values)
        se = statistics.stdev(values) / len(values) ** 0.5 if len(values) > 1 else 0.0
        words = f"{statistics.fmean(lengths[name]):.0f}" if name in lengths else "-"
        print(f"{name:32s} {m:8.4f} {se:7.4f} {words:>6s} {m / base:15.3f}")
    best_rule = max((statistics.fmean(v), k) for k, v in scores.items() if k.startswith(("lead", "overlap")))
    print(last_line({"questions": len(rows), "closed_book": base, "agent": statistics.fmean(scores["agent (the run's answer)"]),
                     "best_rule": best_rule[0], "best_rule_name": best_rule[1].replace(" ", "_"),
                     "oracle": statistics.fmean(scores["oracle (reads the reference)"]),
                     "best_rule_vs_closed_book": best_rule[0] / base, "peak_rss_mb": mem.peak_bytes / 2**20},
                    digits=4))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
