"""The evaluation loop behind ``webqa eval``: questions in, answers.jsonl / metrics.json / report.html out.

    records = await evaluate(rows, agent, out_dir, ns=[1, 4, 16], workers=4,
                             closed_book=ClosedBook(policy, reward_model, config))

Questions go to ``agent.ask_many`` in batches of ``workers`` (their episodes share every
``generate`` call). Each finished question becomes one line of ``answers.jsonl`` — id, question,
reference, ``Result.to_json()``, the closed-book answer and the question's metrics — written,
flushed and fsynced at once, so a crash loses nothing that was done. With ``resume=True`` the
ids already in the file are skipped; a truncated last line (a crash mid-write) is cut off and
that question is redone. ``metrics.json`` and ``report.html`` are rebuilt from the whole file.

Whose fault: a batch that raises a world or model error (search down, a model server failing)
is retried one question at a time, and a question that still raises is recorded as ``failed``
with its reason; the evaluation goes on. Anything else is a bug and raises.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from browser_env.types import WorldError
from data.eli5.loaders import QuestionRow
from omni_model.errors import OmniModelError
from omni_model.types import Policy, RewardModel

from .metrics import aggregate, question_metrics, rescore
from .types import AgentConfig, Result

ANSWERS = "answers.jsonl"
METRICS = "metrics.json"
REPORT = "report.html"

# Errors of the world or of a model backend: the question fails, the evaluation goes on.
RECOVERABLE: tuple[type[BaseException], ...] = (WorldError, OmniModelError, OSError, TimeoutError)


class AsksMany(Protocol):
    async def ask_many(self, items: list[tuple[str, str | None]], *, on_event: Any = None,
                       env_config: Any = None) -> list[Result]: ...


class ClosedBook:
    """The same policy answering from memory (``closed_book_prompt``), scored by the reward model."""

    def __init__(self, policy: Policy, reward_model: RewardModel | None, config: AgentConfig):
        self.policy, self.reward_model, self.config = policy, reward_model, config

    def answer(self, questions: Sequence[str]) -> list[dict[str, Any]]:
        from omni_model.prompts import ANSWER_STOP, closed_book_prompt

        prompts = [closed_book_prompt(q, tokenizer=self.policy.tokenizer) for q in questions]
        try:
            out = self.policy.generate(prompts, n=1, temperature=self.config.answer_temperature,
                                       max_new_tokens=self.config.max_answer_tokens, stop=ANSWER_STOP,
                                       seed=self.config.seed)
        except OmniModelError as e:
            return [{"answer": "", "reward": None, "error": f"{type(e).__name__}: {e}"} for _ in questions]
        rows = []
        for row in out:
            text = row[0].text.strip() if row else ""
            rows.append({"answer": text, "reward": None, "error": None if text else "the model returned nothing"})
        todo = [(i, q) for i, (q, r) in enumerate(zip(questions, rows, strict=True)) if not r["error"]]
        if self.reward_model is not None and todo:
            try:
                scores = self.reward_model.score_batch([(q, [], rows[i]["answer"]) for i, q in todo],
                                                       batch_size=self.config.rm_batch_size)
                for (i, _), s in zip(todo, scores, strict=True):
                    rows[i]["reward"] = float(s)
            except OmniModelError as e:
                for i, _ in todo:
                    rows[i]["error"] = f"reward model: {type(e).__name__}: {e}"
        return rows


def failed_result(question: str, reason: str) -> Result:
    """What a question that raised is recorded as."""
    return Result(question=question, answer="", references=[], candidates=[], trajectory=[], timings={},
                  status="failed", reason=reason, stats={"actions": 0, "invalid_actions": 0})


# --- answers.jsonl ------------------------------------------------------------------------------

def read_answers(path: Path, *, repair: bool = False, trajectories: bool = True) -> list[dict[str, Any]]:
    """The records in answers.jsonl, first of each id kept.

    ``trajectories=False`` drops each result's trajectory (every step's observation, by far the
    bulk of a line) as it reads, so summarising a long run stays within memory.

    A last line without its newline that does not parse is what a crash mid-write leaves: it is
    ignored (and cut off the file when ``repair``, so the next append starts on a clean line).
    A bad line elsewhere is reported with its line number and skipped (its question is redone).
    """
    if not path.exists():
        return []
    data = path.read_bytes()
    records: list[dict[str, Any]] = []
    seen: set[str] = set()
    pos = 0
    number = 0
    while pos < len(data):
        end = data.find(b"\n", pos)
        last = end == -1
        raw = data[pos:] if last else data[pos:end]
        number += 1
        try:
            rec = json.loads(raw) if raw.strip() else None
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            if last:
                print(f"{path}:{number}: ignoring a truncated last line ({len(raw)} bytes; its question "
                      "will be redone)", file=sys.stderr)
                if repair:
                    with path.open("r+b") as f:
                        f.truncate(pos)
                        os.fsync(f.fileno())
                break
            print(f"{path}:{number}: skipping an unreadable line ({e})", file=sys.stderr)
            rec = None
        if isinstance(rec, dict) and isinstance(rec.get("id"), str) and rec["id"] not in seen:
            seen.add(rec["id"])
            if not trajectories and isinstance(rec.get("result"), dict):
                rec["result"]["trajectory"] = []
            records.append(rec)
        if last:
            if repair and rec is not None:  # a whole record without its newline: add it
                with path.open("ab") as f:
                    f.write(b"\n")
                    os.fsync(f.fileno())
            break
        pos = end + 1
    return records


class AnswersLog:
    """Appends one JSON line per question, flushed and fsynced, so a crash loses no finished work."""

    def __init__(self, path: Path):
        self.path = path
        self._f = path.open("a", encoding="utf-8")

    def append(self, record: dict[str, Any]) -> None:
        self._f.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._f.flush()
        os.fsync(self._f.fileno())

    def close(self) -> None:
        self._f.close()


# --- the loop -----------------------------------------------------------------------------------

def _record(row: QuestionRow, result: Result, closed_book: dict | None, seconds: float, task: str,
            baselines: dict[str, Result] | None = None) -> dict:
    res = result.to_json()
    metrics = question_metrics(res, reference=row.reference, correct=row.correct, incorrect=row.incorrect,
                               closed_book=closed_book)
    record = {"id": row.id, "question": row.question, "reference": row.reference, "source": row.source,
              "task": task, "seconds": seconds, "result": res, "closed_book": closed_book, "metrics": metrics}
    for name, baseline in (baselines or {}).items():
        base = baseline.to_json()
        base_metrics = question_metrics(base, reference=row.reference, correct=row.correct, incorrect=row.incorrect)
        metrics.setdefault("baselines", {})[name] = {k: base_metrics[k] for k in BASELINE_METRICS if k in base_metrics}
        record.setdefault("baselines", {})[name] = {k: base[k] for k in ("answer", "references", "status", "reason")}
    return record


# What the baseline policy's row keeps of its per-question metrics (its trajectory is not stored).
BASELINE_METRICS = ("status", "answered", "reward", "rouge_l", "support", "query_f1", "citations", "truthfulqa")


async def _ask_batch(agent: AsksMany, batch: list[QuestionRow], env_config: Any) -> list[Result]:
    items = [(r.question, r.reference) for r in batch]
    try:
        return await agent.ask_many(items, env_config=env_config)
    except RECOVERABLE as e:
        if len(batch) == 1:
            return [failed_result(batch[0].question, f"{type(e).__name__}: {e}")]
    # One question's failure must not fail its batch-mates: retry them one by one.
    out = []
    for r in batch:
        out.extend(await _ask_batch(agent, [r], env_config))
    return out


def _progress(total: int, initial: int, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, unit="q", disable=not enabled, dynamic_ncols=True,
                bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}{postfix}]")


async def evaluate(rows: Sequence[QuestionRow], agent: AsksMany, out_dir: str | Path, *, ns: Sequence[int],
                   workers: int = 1, resume: bool = False, closed_book: ClosedBook | None = None,
                   env_config: Any = None, task: str = "eli5", progress: bool = True,
                   report: bool = True, settings: dict[str, Any] | None = None,
                   baselines: dict[str, AsksMany] | None = None) -> dict[str, Any]:
    """Run every question not yet done, then write metrics.json and report.html; returns the metrics.

    ``baselines`` (name -> an agent with another policy: the scripted demonstrator, the base
    model) answer the same questions in the same run; their rows sit beside the closed-book one."""
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / ANSWERS
    if path.exists() and not resume and path.stat().st_size:
        raise FileExistsError(f"{path} already has answers: pass --resume to continue it, or choose another --out")
    done = {r["id"] for r in read_answers(path, repair=True, trajectories=False)} if resume else set()
    todo = [r for r in rows if r.id not in done]
    bar = _progress(len(rows), len(rows) - len(todo), progress)
    log = AnswersLog(path)
    t0 = time.perf_counter()
    try:
        for start in range(0, len(todo), workers):
            batch = list(todo[start:start + workers])
            tb = time.perf_counter()
            results = await _ask_batch(agent, batch, env_config)
            bases: list[dict[str, Result]] = [{} for _ in batch]
            for name, other in (baselines or {}).items():
                for got, res in zip(bases, await _ask_batch(other, batch, env_config), strict=True):
                    got[name] = res
            cbs: list[dict | None] = [None] * len(batch)
            if closed_book is not None:
                cbs = list(await asyncio.to_thread(closed_book.answer, [r.question for r in batch]))
            per_q = (time.perf_counter() - tb) / len(batch)  # the batch ran together: share its time
            for row, result, cb, base in zip(batch, results, cbs, bases, strict=True):
                log.append(_record(row, result, cb, per_q, task, base))
            bar.update(len(batch))
            done_now = start + len(batch)
            bar.set_postfix_str(f"{60 * done_now / (time.perf_counter() - t0):.1f} q/min")
    finally:
        log.close()
        bar.close()
    return summarise(out, ns, task=task, report=report, settings=settings,
                     ids={r.id for r in rows})


def summarise(out_dir: str | Path, ns: Sequence[int], *, task: str = "eli5", report: bool = True,
              settings: dict[str, Any] | None = None, ids: set[str] | None = None) -> dict[str, Any]:
    """metrics.json (and report.html) from answers.jsonl; ``ids`` limits it to this run's questions."""
    out = Path(out_dir)
    records = read_answers(out / ANSWERS, trajectories=False)  # the metrics already hold what they need
    if ids is not None:
        records = [r for r in records if r["id"] in ids]
    metrics = {"task": task, "ns": list(ns), **aggregate(records, ns), "settings": settings or {}}
    tmp = out / (METRICS + ".tmp")
    tmp.write_text(json.dumps(metrics, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(out / METRICS)  # never a half-written metrics.json
    if report:
        from .report import write_report

        write_report(out / REPORT, metrics, records)
    return metrics


def rescore_run(out_dir: str | Path, *, report: bool = True) -> dict[str, Any]:
    """Recompute a finished run's ROUGE-L figures (``metrics.rescore``) in answers.jsonl, then
    metrics.json and report.html, with the run's own ``ns``, task and settings. The file is
    replaced whole, atomically: an interrupted rescore leaves the old one."""
    out = Path(out_dir)
    path = out / ANSWERS
    if not path.is_file():
        raise FileNotFoundError(f"no {ANSWERS} in {out}")
    old = json.loads((out / METRICS).read_text(encoding="utf-8")) if (out / METRICS).is_file() else {}
    tmp = path.with_name(ANSWERS + ".tmp")
    tmp.unlink(missing_ok=True)  # a rescore interrupted earlier: start its copy afresh
    log = AnswersLog(tmp)
    try:
        for r in read_answers(path):
            log.append(rescore(r))
    finally:
        log.close()
    tmp.replace(path)
    settings = dict(old.get("settings") or {})
    settings["rescored"] = True
    return summarise(out, old.get("ns") or [1], task=old.get("task") or "eli5", report=report, settings=settings)
