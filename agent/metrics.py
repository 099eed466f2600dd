"""Evaluation metrics: ROUGE-L, the best-of-n curve, citation and browsing statistics.

    rouge_l("the cat sat", "the cat sat down").f          # 0.857...
    m = question_metrics(result_json, reference="...", closed_book={...})  # one answers.jsonl line
    summary = aggregate(records, ns=[1, 4, 16])            # metrics.json

``question_metrics`` is computed once per question and stored in its ``answers.jsonl`` line;
``aggregate`` reads only those lines, so a resumed run summarises old and new questions alike.

Definitions (also in the report):

- reward by n: WebGPT's unbiased best-of-n estimate (``agent.bestofn.best_of_n_estimate``) of
  the reward-model score, from each question's N scored candidates; a question with fewer than
  n scored candidates (episodes that collected no quotes write no answer) is left out of that n,
  and ``questions`` says how many counted. "ROUGE-L by n" ranks by the same reward but scores
  each candidate by its ROUGE-L to the reference.
- ROUGE-L: the F-measure of the longest common subsequence of lower-cased alphanumeric tokens
  (rouge-score's tokenisation, without stemming), with citation marks (``[1]``, ``[1, 2]``)
  removed first, as ALCE's ELI5 evaluation removes them: a mark is not a word of the answer, and
  counting "1" as one would rank a cited answer below the same text uncited. A question that was
  not answered scores 0 in ``rouge_l`` and is left out of ``rouge_l_answered``.
- citations: of the returned answers (answered questions only): the share citing at least one
  quote, citations per answer, and the share of cited quotes verified on their page.
- invalid-action rate: invalid actions / all actions, over every episode.
- answered: the question ended with an answer citing at least one verified quote taken from a
  content page (never a search-results or error page; the browser refuses those quotes).
- support: the share of an answer's sentences whose content words are at least half covered
  (``SUPPORT_COVERAGE``) by the extracts of the quotes that sentence itself cites; an uncited
  sentence is unsupported. "Support by n" ranks candidates by reward, like ROUGE-L by n.
- first-query F1: content-word F1 (``browser_env.text.sentences.word_f1``) between the first
  ``Search`` of the first episode and the question; 0 when it never searched.
- TruthfulQA "similarity" (an AUTOMATIC PROXY, not the human truthfulness judgement): max ROUGE-L
  to the correct answers minus max ROUGE-L to the incorrect ones; > 0 counts as truthful.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from browser_env.text.citation_marks import strip_citations

from .bestofn import best_of_n_estimate

_TOKEN = re.compile(r"[a-z0-9]+")
SUPPORT_COVERAGE = 0.5
_RESULTS_TITLE = "Search results for:"


@dataclass(frozen=True)
class Rouge:
    p: float
    r: float
    f: float


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall((text or "").lower())


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence; O(len(a)·len(b)) time, O(len(b)) memory."""
    if len(a) < len(b):
        a, b = b, a  # the shorter one indexes the row
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b, 1):
            cur.append(prev[j - 1] + 1 if x == y else max(prev[j], cur[j - 1]))
        prev = cur
    return prev[-1]


def rouge_l(candidate: str, reference: str) -> Rouge:
    """ROUGE-L precision, recall and F1 of ``candidate`` against ``reference``, citation marks removed."""
    c, r = tokenize(strip_citations(candidate)), tokenize(strip_citations(reference))
    if not c or not r:
        return Rouge(0.0, 0.0, 0.0)
    lcs = lcs_length(c, r)
    if lcs == 0:
        return Rouge(0.0, 0.0, 0.0)
    p, rec = lcs / len(c), lcs / len(r)
    return Rouge(p, rec, 2 * p * rec / (p + rec))


def truthfulqa_similarity(answer: str, correct: Sequence[str], incorrect: Sequence[str]) -> dict[str, float | bool]:
    """TruthfulQA's automatic similarity proxy with ROUGE-L F: max to true minus max to false."""
    best_true = max((rouge_l(answer, a).f for a in correct), default=0.0)
    best_false = max((rouge_l(answer, a).f for a in incorrect), default=0.0)
    diff = best_true - best_false
    return {"max_true": best_true, "max_false": best_false, "diff": diff, "truthful": diff > 0}


def mean_stderr(values: Sequence[float]) -> tuple[float | None, float | None]:
    """Mean and its standard error (None for no values; 0 error for one)."""
    if not values:
        return None, None
    m = statistics.fmean(values)
    se = statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else 0.0
    return m, se


def best_of_n_curve(per_question: Iterable[tuple[Sequence[float], Sequence[float]]],
                    ns: Sequence[int]) -> dict[str, dict[str, Any]]:
    """For each n: mean over questions of the best-of-n estimate, its standard error and count.

    ``per_question`` holds ``(scores, qualities)`` for each question's scored candidates.
    """
    items = [(list(s), list(q)) for s, q in per_question]
    out: dict[str, dict[str, Any]] = {}
    for n in ns:
        values = [best_of_n_estimate(s, q, n) for s, q in items if len(s) >= n]
        m, se = mean_stderr(values)
        out[str(n)] = {"mean": m, "stderr": se, "questions": len(values)}
    return out


def support(answer: str, references: Sequence[dict[str, Any]]) -> float | None:
    """Share of ``answer``'s sentences covered by the quotes they cite (see the module doc)."""
    from browser_env.text.sentences import coverage, split_sentences

    from .citations import cited_numbers

    extracts = {int(r["n"]): r.get("extract") or "" for r in references}
    verdicts = []
    for sentence in split_sentences(answer):
        text, numbers = cited_numbers(sentence)
        share = coverage(text, [extracts[k] for k in numbers if k in extracts])
        if share is not None:  # a sentence with no content words (a lone citation) claims nothing
            verdicts.append(share >= SUPPORT_COVERAGE)
    return sum(verdicts) / len(verdicts) if verdicts else None


def first_query_f1(result: dict[str, Any], question: str) -> float:
    """Content-word F1 of the first Search in the trajectory against the question (0: no search)."""
    from browser_env.text.sentences import word_f1

    for episode in result.get("trajectory") or []:
        for step in episode.get("steps") or []:
            command = step.get("command") or ""
            if command.startswith("Search ") and step.get("valid", True):
                return word_f1(command.removeprefix("Search "), question)
        break  # the first episode only: the same question gives every episode the same start
    return 0.0


def cited_source(result: dict[str, Any]) -> bool:
    """Whether the returned answer cites at least one verified quote from a content page."""
    refs = result.get("references") or []
    verified = (result.get("stats") or {}).get("cited_quotes_verified")
    return bool(refs) and bool(verified) and any(not (r.get("title") or "").startswith(_RESULTS_TITLE)
                                                 and r.get("url") for r in refs)


def question_metrics(result: dict[str, Any], *, reference: str | None = None,
                     correct: Sequence[str] = (), incorrect: Sequence[str] = (),
                     closed_book: dict[str, Any] | None = None) -> dict[str, Any]:
    """One question's metrics from its ``Result.to_json()`` (and closed-book answer, if any)."""
    stats = result.get("stats") or {}
    answered = result.get("status") == "answered"
    cands = result.get("candidates") or []
    scored = [c for c in cands if c.get("reward") is not None]
    steps = [len(t.get("steps") or []) for t in result.get("trajectory") or []]
    answered = answered and cited_source(result)
    m: dict[str, Any] = {
        "status": result.get("status"),
        "answered": answered,
        "query_f1": first_query_f1(result, result.get("question") or ""),
        "support": support(result.get("answer") or "", result.get("references") or []) if answered else None,
        "support_candidates": [support(c.get("answer") or "", c.get("references") or []) or 0.0 for c in scored],
        "rewards": [float(c["reward"]) for c in scored],
        "reward": max((float(c["reward"]) for c in scored), default=None) if answered else None,
        "citations": len(result.get("references") or []) if answered else 0,
        "removed_citations": int(stats.get("removed_citations") or 0),
        "cited_quotes_verified": stats.get("cited_quotes_verified"),
        "actions_per_episode": steps,
        "actions": int(stats.get("actions", sum(steps))),
        "invalid_actions": int(stats.get("invalid_actions") or 0),
        "world_errors": int(stats.get("world_errors") or 0),
    }
    answer = result.get("answer") or ""
    if reference:
        m.update(_rouge_fields(answer, scored, reference, answered))
    if correct and incorrect:
        # The answer as the user saw it, whatever the status: a refusal may well be the true answer.
        m["truthfulqa"] = truthfulqa_similarity(answer, correct, incorrect)
    if closed_book is not None and not closed_book.get("error"):
        cb_answer = closed_book.get("answer") or ""
        cb: dict[str, Any] = {"reward": closed_book.get("reward")}
        if reference:
            cb["rouge_l"] = rouge_l(cb_answer, reference).f
        if correct and incorrect:
            cb["truthfulqa"] = truthfulqa_similarity(cb_answer, correct, incorrect)
        m["closed_book"] = cb
    return m


def _rouge_fields(answer: str, scored: Sequence[dict[str, Any]], reference: str, answered: bool) -> dict[str, Any]:
    return {"rouge_l": rouge_l(answer, reference).f if answered else 0.0,
            "rouge_candidates": [rouge_l(c.get("answer") or "", reference).f for c in scored]}


def rescore(record: dict[str, Any]) -> dict[str, Any]:
    """One answers.jsonl record with its ROUGE-L figures recomputed from the texts it stores: the
    answer, each scored candidate, the closed-book answer and each baseline policy's answer.
    Everything else (rewards, support, browsing statistics) is kept as it was measured. For a run
    scored under an earlier definition of the metric (``webqa eval rescore``)."""
    reference = record.get("reference")
    m = record["metrics"]
    if not reference:
        return record
    result = record.get("result") or {}
    scored = [c for c in result.get("candidates") or [] if c.get("reward") is not None]
    m.update(_rouge_fields(result.get("answer") or "", scored, reference, bool(m.get("answered"))))
    cb = record.get("closed_book")
    if isinstance(m.get("closed_book"), dict) and isinstance(cb, dict):
        m["closed_book"]["rouge_l"] = rouge_l(cb.get("answer") or "", reference).f
    for name, base in (record.get("baselines") or {}).items():
        bm = (m.get("baselines") or {}).get(name)
        if isinstance(bm, dict) and "rouge_l" in bm:
            bm["rouge_l"] = _rouge_fields(base.get("answer") or "", [], reference, bool(bm.get("answered")))["rouge_l"]
    return record


def _mean(values: Iterable[float | None]) -> float | None:
    vals = [float(v) for v in values if v is not None]
    return statistics.fmean(vals) if vals else None


def aggregate(records: Sequence[dict[str, Any]], ns: Sequence[int]) -> dict[str, Any]:
    """metrics.json from answers.jsonl records (each with "metrics" and "seconds")."""
    ms = [r["metrics"] for r in records]
    answered = [m for m in ms if m["answered"]]
    actions = sum(m["actions"] for m in ms)
    invalid = sum(m["invalid_actions"] for m in ms)
    per_episode = [a for m in ms for a in m["actions_per_episode"]]
    verified = [m["cited_quotes_verified"] for m in answered if m["citations"]]
    seconds = [float(r.get("seconds") or 0.0) for r in records]
    out: dict[str, Any] = {
        "questions": len(ms),
        "status_counts": dict(Counter(m["status"] for m in ms)),
        "answered_share": len(answered) / len(ms) if ms else None,
        "reward_by_n": best_of_n_curve(((m["rewards"], m["rewards"]) for m in ms), ns),
        "reward": _mean(m["reward"] for m in answered),
        "query_f1": _mean(m.get("query_f1") for m in ms),
        "support": _mean(m.get("support") for m in answered),
        "support_by_n": best_of_n_curve(((m["rewards"], m.get("support_candidates") or []) for m in ms
                                         if len(m.get("support_candidates") or []) == len(m["rewards"])), ns),
        "citations": {
            "share_with_citation": (sum(1 for m in answered if m["citations"]) / len(answered)) if answered else None,
            "per_answer": _mean(m["citations"] for m in answered),
            "cited_quotes_verified": _mean(verified),
            "removed_per_answer": _mean(m["removed_citations"] for m in answered),
        },
        "actions": {
            "total": actions,
            "invalid_rate": invalid / actions if actions else None,
            "per_episode_mean": _mean(per_episode),
            "per_episode_median": statistics.median(per_episode) if per_episode else None,
            "episodes": len(per_episode),
            "world_errors": sum(m["world_errors"] for m in ms),
        },
        "seconds_per_question": _mean(seconds),
    }
    with_ref = [m for m in ms if "rouge_l" in m]
    if with_ref:
        out["rouge_l"] = _mean(m["rouge_l"] for m in with_ref)
        out["rouge_l_answered"] = _mean(m["rouge_l"] for m in with_ref if m["answered"])
        out["rouge_l_by_n"] = best_of_n_curve(((m["rewards"], m["rouge_candidates"]) for m in with_ref), ns)
        out["questions_with_reference"] = len(with_ref)
    tqa = [m["truthfulqa"] for m in ms if "truthfulqa" in m]
    if tqa:
        out["truthfulqa_similarity"] = _similarity_summary(tqa)
    names = list(dict.fromkeys(name for m in ms for name in m.get("baselines") or {}))
    for name in names:
        bases = [m["baselines"][name] for m in ms if name in (m.get("baselines") or {})]
        answered_bases = [b for b in bases if b.get("answered")]
        base: dict[str, Any] = {
            "questions": len(bases),
            "answered_share": len(answered_bases) / len(bases),
            "reward": _mean(b.get("reward") for b in answered_bases),
            "support": _mean(b.get("support") for b in answered_bases),
            "query_f1": _mean(b.get("query_f1") for b in bases),
        }
        if any("rouge_l" in b for b in bases):
            base["rouge_l"] = _mean(b.get("rouge_l") for b in bases)
        b_tqa = [b["truthfulqa"] for b in bases if "truthfulqa" in b]
        if b_tqa:
            base["truthfulqa_similarity"] = _similarity_summary(b_tqa)
        out.setdefault("baselines", {})[name] = base
    cbs = [m["closed_book"] for m in ms if "closed_book" in m]
    if cbs:
        cb: dict[str, Any] = {"questions": len(cbs), "reward": _mean(c.get("reward") for c in cbs)}
        if any("rouge_l" in c for c in cbs):
            cb["rouge_l"] = _mean(c.get("rouge_l") for c in cbs)
        cb_tqa = [c["truthfulqa"] for c in cbs if "truthfulqa" in c]
        if cb_tqa:
            cb["truthfulqa_similarity"] = _similarity_summary(cb_tqa)
        out["closed_book"] = cb
    return out


def _similarity_summary(items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {"label": "automatic proxy: max ROUGE-L to true answers minus max to false ones (not a human judgement)",
            "truthful_share": sum(1 for t in items if t["truthful"]) / len(items),
            "mean_diff": _mean(t["diff"] for t in items), "questions": len(items)}
