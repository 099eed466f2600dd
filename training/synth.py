"""The scripted demonstrator: browsing demonstrations where no person has recorded any.

It drives the real environment (``browser_env.text.env.BrowserEnv``), so every step it records is a
command the browser accepted and every quote was found on its page: the demonstrations are
valid by construction. For each question it

1. searches for the question's content words;
2. opens the most promising results (title overlap with the question), one after another;
3. on each page finds the sentences that share the most content words with the question,
   scrolls to them with ``Find in page`` when they are off screen, and quotes each with the
   sentence after it (``quote_span``);
4. goes ``Back`` to the results for the next page, then ``End: Answer``;
5. writes an extractive answer: the quoted sentences, each cited ``[n]``.

    demos, stats = await synth_demos(runtime.make_env, questions, SynthConfig(), progress=bar)

A question the demonstrator cannot quote anything for gives no demo (counted in ``stats``):
a demonstration with nothing to learn from would only teach giving up.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from browser_env.text.quote_match import loose_pattern
from browser_env.text.env import BrowserEnv, StepResult
from browser_env.text.grammar import format_action
from browser_env.text.observation import Quote
from browser_env.text.sentences import (  # noqa: F401 - re-exported
    STOPWORDS, cited_sentence, content_words, make_query, overlap, passage_starts, sentences, split_sentences, stems)
from browser_env.types import WorldError

from .demos import Demo, Metadata, Step


def rank_links(link_texts: dict[int, str], question: str) -> list[int]:
    """Link ids by how many of the question's content words their text shares (ties: page order)."""
    q = stems(question)
    scored = [(overlap(t, q), i) for i, t in link_texts.items()]
    return [i for s, i in sorted(scored, key=lambda x: (-x[0], x[1])) if s > 0]


def best_sentences(plain: str, question: str, k: int, *, min_overlap: int = 1,
                   max_chars: int = 400, span: int = 1) -> list[str]:
    """The ``k`` sentences sharing most content words with the question, in page order; each run
    on into a passage of up to ``span`` sentences (``browser_env.text.sentences.passages``)."""
    q = stems(question)
    runs = passage_starts(plain, span, max_chars=max_chars)
    ranked = sorted(enumerate(runs), key=lambda x: (-overlap(x[1][0], q), x[0]))
    picked = [i for i, (s, _) in ranked[:k] if overlap(s, q) >= min_overlap]
    return [runs[i][1] for i in sorted(picked)]


def extractive_answer(quotes: Sequence[Quote]) -> str:
    """Every sentence the agent's extractive writer may use (``omni_model.extractive.answer_segments``:
    each quote's sentences of claim length, cited ``[n]`` before the full stop), in order: so a
    synthesised answer demo never holds a sentence the writer could not produce."""
    from omni_model.extractive import answer_segments

    return " ".join(answer_segments([q.extract for q in quotes]))


@dataclass
class SynthConfig:
    pages: int = 2  # results opened per question
    quotes_per_page: int = 1
    min_overlap: int = 1  # a quoted sentence shares at least this many content words with the question
    max_quote_chars: int = 400
    quote_span: int = 2  # sentences per quote at most, as the agent offers its policy (AgentConfig.quote_span)
    query_words: int = 8
    concurrency: int = 4  # episodes at once, each in its own browser context
    corpus: str | None = None  # recorded in each demo's metadata
    backend: str | None = "local"
    screenshots_dir: Path | None = None  # save each step's viewport JPEG here (the env must take them)
    # Each episode's action budget is drawn from this range (by its id, so reruns agree): the
    # observation shows "Actions left", and a policy cloned only from 90-100 is lost at the
    # 12-20 the agent runs with (WebGPT drew its RL budgets from 20-100 for the same reason).
    # None keeps the environment's own budget.
    max_actions: tuple[int, int] | None = (8, 30)


@dataclass
class SynthStats:
    questions: int = 0
    demos: int = 0
    no_quotes: int = 0  # nothing quotable was found: no demo
    failed: list[str] = field(default_factory=list)  # "question: reason" for world errors
    steps: int = 0
    quotes: int = 0


def screenshots_dir_for(demos_file: str | Path) -> Path:
    """Where a demonstration file's screenshots go: ``<file>.screens/`` beside it."""
    demos_file = Path(demos_file)
    return demos_file.with_name(demos_file.name + ".screens")


def save_screenshot(jpeg: bytes, folder: Path) -> str:
    """Store a screenshot once by content (scrolling a page repeats it) and return its file's path
    relative to the folder's parent, where the demonstration file lives."""
    name = hashlib.sha1(jpeg).hexdigest()[:16] + ".jpg"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if not path.exists():
        tmp = path.with_suffix(".part")
        tmp.write_bytes(jpeg)
        os.replace(tmp, path)
    return f"{folder.name}/{name}"


class _Recorder:
    """Issues commands on the env and records (observation shown, command) for each."""

    def __init__(self, env: BrowserEnv, observation: str, shots: Path | None = None):
        self.env, self.observation, self.steps, self.shots = env, observation, [], shots

    async def do(self, command: str) -> StepResult:
        parts = self.env.observation
        result = await self.env.step(command)
        if not result.valid:  # the demonstrator's own bug: it only issues commands it checked
            raise AssertionError(f"scripted command {command!r} was refused: {result.error}")
        shot = save_screenshot(parts.screenshot, self.shots) if self.shots is not None and parts.screenshot else None
        self.steps.append(Step(observation=self.observation, command=command, observation_parts=parts,
                               screenshot=shot))
        self.observation = result.text
        return result


async def _quote_page(rec: _Recorder, question: str, config: SynthConfig) -> int:
    browser = rec.env.browser
    view = browser.view
    taken = 0
    for sentence in best_sentences(view.plain, question, config.quotes_per_page,
                                   min_overlap=config.min_overlap, max_chars=config.max_quote_chars,
                                   span=config.quote_span):
        if len(sentence) > browser.quote_budget_left:
            break
        hit = loose_pattern(sentence).search(view.plain)
        if hit is None:  # sentences() only normalises whitespace, which the pattern ignores
            continue
        line = view.line_of(hit.start())
        if not view.top <= line < view.top + browser.config.window_lines:
            probe = " ".join(sentence.split()[:6])
            await rec.do(format_action("find", probe))
        await rec.do(format_action("quote", sentence))
        taken += 1
    return taken


def action_budget(key: str, lo: int, hi: int) -> int:
    """An episode's action budget in [lo, hi], fixed by ``key`` (a demo id), so reruns draw the same."""
    digest = int(hashlib.sha1(key.encode()).hexdigest(), 16)
    return lo + digest % (hi - lo + 1)


async def demonstrate(env: BrowserEnv, question: str, config: SynthConfig, *, demo_id: str) -> Demo | None:
    """One scripted episode on ``env``; ``None`` when nothing relevant could be quoted."""
    if config.max_actions is not None:
        lo, hi = config.max_actions
        env.config = dataclasses.replace(env.config, max_actions=action_budget(demo_id, lo, hi))
    rec = _Recorder(env, await env.reset(question), config.screenshots_dir)
    await rec.do(format_action("search", make_query(question, config.query_words)))
    candidates = rank_links(dict(env.browser.view.page.link_texts), question)
    opened, on_results = 0, True
    for link_id in candidates:
        if opened >= config.pages or env.done or env.actions_left < 4:
            break
        if not on_results:
            await rec.do(format_action("back"))
        clicked = await rec.do(format_action("click", link_id))
        on_results = False
        if clicked.page_kind != "page":
            continue
        opened += 1
        await _quote_page(rec, question, config)
        if env.done:
            break
    quotes = list(env.browser.quotes)
    if not quotes:
        return None
    if not env.done:
        await rec.do(format_action("end_answer"))
    return Demo(id=demo_id, question=question, quotes=quotes, answer=extractive_answer(quotes), steps=rec.steps,
                metadata=Metadata(who="scripted", source="scripted", corpus=config.corpus, backend=config.backend))


async def synth_demos(make_env: Callable[[], BrowserEnv], questions: Sequence[str], config: SynthConfig,
                      *, id_prefix: str = "scripted", progress: Callable[[Demo | None], None] | None = None
                      ) -> tuple[list[Demo], SynthStats]:
    """Demonstrate every question, ``config.concurrency`` episodes at a time; demos in question order."""
    stats = SynthStats(questions=len(questions))
    results: list[Demo | None] = [None] * len(questions)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(len(questions)):
        queue.put_nowait(i)

    async def worker() -> None:
        env = make_env()
        try:
            while not queue.empty():
                i = queue.get_nowait()
                try:
                    demo = await demonstrate(env, questions[i], config, demo_id=f"{id_prefix}:{i}")
                except WorldError as e:  # Chromium or the index failed: record it, keep going
                    stats.failed.append(f"{questions[i][:80]}: {type(e).__name__}: {e}")
                    demo = None
                results[i] = demo
                if progress is not None:
                    progress(demo)
        finally:
            await env.close()

    await asyncio.gather(*(worker() for _ in range(max(1, min(config.concurrency, len(questions))))))
    demos = [d for d in results if d is not None]
    stats.demos = len(demos)
    stats.no_quotes = stats.questions - stats.demos - len(stats.failed)
    stats.steps = sum(len(d.steps) for d in demos)
    stats.quotes = sum(len(d.quotes) for d in demos)
    return demos, stats
