"""``Agent``: one question (or many) in, a cited answer out — WebGPT's browse, answer, best-of-n.

    async with WebRuntime() as rt:
        agent = Agent(load_policy(), load_reward_model(DEFAULT_POLICY), rt, AgentConfig(n=4))
        result = await agent.ask("Why is the sky blue?", on_event=print)
        results = await agent.ask_many([("Why is the sky blue?", None), ("What is DNA?", None)])

For each question ``config.n // config.answers_per_browse`` browsing episodes run; every
question's episodes browse together (``agent.episodes``: one ``generate`` call per round for
all live episodes), answer together (``agent.answering``: one call), and are scored together
(``agent.bestofn``: one ``score_batch``). Phase timings in ``Result.timings`` are wall-clock
times of those shared phases, so in ``ask_many`` every result reports the whole batch's time.

``env_factory`` is anything with ``make_env(config)`` (a ``WebRuntime``) or a callable taking
an ``EnvConfig`` (or ``None``) and returning a fresh ``BrowserEnv`` — tests pass memory-backed
environments this way. A question whose episodes all fail is answered with status ``failed``
and its reason; the other questions go on.

Pictures need a policy that sees (``accepts_media``: an omni checkpoint). ``ask(image=...)``
shows the asker's picture in every browsing and answer prompt. ``ask(audio=...)`` first writes
down the spoken question, with the policy's own ``transcribe`` when it hears (``hearings``: an omni
checkpoint; ``AgentConfig.hearing`` picks the way) and otherwise with the embedded Whisper tiny.en,
so any policy takes spoken questions; that text
then drives the pages, the answer and the reward model, which read text.
``Result.stats["heard"]`` keeps what it heard.

What a caller can get wrong (an empty question, a picture for a text-only policy, audio with no
speech, an unreadable file) raises ``browser_env.types.InputError``; any other ``ValueError`` is
a bug.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable
from typing import Any

from browser_env.text.env import BrowserEnv, EnvConfig
from browser_env.types import InputError
from omni_model.types import Policy, RewardModel

from .answering import question_outcome, write_answers
from .bestofn import pick_best, score_candidates
from .episodes import Episode, EventSink, emit, run_browsing
from .types import AgentConfig, Candidate, Event, Result

EnvFactory = Callable[[EnvConfig | None], BrowserEnv]


def episodes_per_question(config: AgentConfig) -> int:
    """Browsing episodes per question: n candidates = episodes x answers_per_browse (checked)."""
    k = config.answers_per_browse
    if config.n < 1 or k < 1:
        raise ValueError(f"n and answers_per_browse must be >= 1 (got n={config.n}, answers_per_browse={k})")
    if config.n % k:
        raise ValueError(f"n={config.n} is not a multiple of answers_per_browse={k}")
    return config.n // k


class Agent:
    def __init__(self, policy: Policy, reward_model: RewardModel | None, env_factory: Any,
                 config: AgentConfig | None = None):
        self.policy = policy
        self.reward_model = reward_model  # None: candidates are not scored and the first is returned
        self.config = config or AgentConfig()
        episodes_per_question(self.config)  # fail at construction, not mid-question
        self._make_env: EnvFactory = getattr(env_factory, "make_env", env_factory)
        self._base_env_config: EnvConfig | None = getattr(env_factory, "config", None)
        if not callable(self._make_env):
            raise TypeError("env_factory must be a WebRuntime or a callable returning a BrowserEnv")

    def _env_config(self, env_config: EnvConfig | None) -> EnvConfig:
        base = env_config or self._base_env_config or EnvConfig()
        # The agent's action budget wins: it is what AgentConfig (and `--max-actions`) promise.
        return dataclasses.replace(base, max_actions=self.config.max_actions)

    async def ask(self, question: str | None = None, *, reference: str | None = None, on_event: EventSink = None,
                  env_config: EnvConfig | None = None, image: Any = None, audio: Any = None) -> Result:
        """Answer ``question``, or the question spoken in ``audio`` (a WAV path or ``(rate, samples)``);
        ``image`` (a path, bytes or PIL image) is the asker's picture."""
        heard = None
        if audio is not None:
            heard = await asyncio.to_thread(self.hear, audio)
            question = heard
            if on_event is not None:
                on_event(Event("heard", 0, {"question": 0, "text": heard}))
        result = (await self.ask_many([(question or "", reference)], on_event=on_event, env_config=env_config,
                                      images=[image]))[0]
        if heard is not None:
            result.stats["heard"] = heard
        return result

    def _need_media(self, what: str) -> None:
        if not self.policy.accepts_media:
            raise InputError(f"the policy {self.policy.spec} reads text only and cannot take {what}; "
                             "use an omni checkpoint (leave out --policy for the shipped one) or an "
                             "image-text-to-text checkpoint folder")

    def hear(self, audio: Any) -> str:
        """The question spoken in ``audio``, written down as ``config.hearing`` asks: by the policy when it
        hears that way (None: its own default way), otherwise by the embedded Whisper."""
        hearing = self.config.hearing
        if self.policy.hearings and (hearing is None or hearing in self.policy.hearings):
            heard = self.policy.transcribe(audio, hearing=hearing)
        elif hearing == "lm":
            raise InputError(f"the policy {self.policy.spec} cannot write speech down itself (hearing 'lm'); "
                             "use an omni checkpoint")
        else:
            from omni_model.whisper import default_transcriber

            heard = default_transcriber().transcribe(audio)
        heard = heard.strip()
        if not heard:
            raise InputError("nothing was heard in the audio: it is silent, or holds no speech that could be made out")
        return heard

    async def ask_many(self, items: list[tuple[str, str | None]], *, on_event: EventSink = None,
                       env_config: EnvConfig | None = None, images: list[Any] | None = None) -> list[Result]:
        """Answer every question; all their episodes share each generate / score call.
        ``images[i]``, if given, is question i's picture (``None`` for none)."""
        questions = [(q or "").strip() for q, _ in items]
        for i, q in enumerate(questions):
            if not q:
                raise InputError(f"question {i} is empty")  # the caller's input, checked before any work
        pictures = list(images or [None] * len(items))
        if len(pictures) != len(items):
            raise ValueError(f"{len(pictures)} images for {len(items)} questions")
        if any(p is not None for p in pictures):
            self._need_media("pictures")
            pictures = [None if p is None else self.policy.prepare_image(p) for p in pictures]
        t0 = time.perf_counter()
        cfg = self._env_config(env_config)
        per_q = episodes_per_question(self.config)
        episodes = [Episode(question=q, env=self._make_env(cfg), qid=qi, index=e, reference=ref, image=pictures[qi])
                    for qi, (q, (_, ref)) in enumerate(zip(questions, items, strict=True)) for e in range(per_q)]

        browse = await run_browsing(self.policy, episodes, self.config, on_event=on_event)
        t1 = time.perf_counter()
        by_episode, failures = await write_answers(self.policy, episodes, self.config, on_event)
        t2 = time.perf_counter()
        per_question: list[list[Candidate]] = [[] for _ in questions]
        for ep in episodes:
            per_question[ep.qid].extend(by_episode.get(id(ep), []))
        scored = [(questions[qi], c) for qi, cands in enumerate(per_question) for c in cands]
        if self.reward_model is not None and scored:
            score_candidates(self.reward_model, scored, batch_size=self.config.rm_batch_size)
        t3 = time.perf_counter()
        timings = {"browse_s": t1 - t0, "answer_s": t2 - t1, "score_s": t3 - t2, "total_s": t3 - t0}

        results = []
        for qi, question in enumerate(questions):
            eps = [ep for ep in episodes if ep.qid == qi]
            cands = per_question[qi]
            for i, c in enumerate(cands):
                emit(on_event, "candidate_scored", eps[c.episode],
                     candidate=i, reward=c.reward, answer=c.answer, removed_citations=c.removed_citations)
            result = self._result(question, eps, cands, failures, dict(timings))
            result.stats["generate_calls"] = browse.generate_calls
            result.stats["batch_sizes"] = list(browse.batch_sizes)
            result.stats["constrained"] = browse.constrained
            if on_event is not None:
                on_event(Event("final_answer", 0, {"question": qi, "answer": result.answer, "status": result.status,
                                                   "reason": result.reason,
                                                   "references": [dataclasses.asdict(r) for r in result.references]}))
            results.append(result)
        return results

    def _result(self, question: str, eps: list[Episode], cands: list[Candidate], failures: dict[int, str],
                timings: dict[str, float]) -> Result:
        status, reason, message = question_outcome(eps, cands, failures)
        best = pick_best(cands) if cands else None
        trajectory = [ep.to_json() for ep in eps]
        for t, ep in zip(trajectory, eps, strict=True):
            if id(ep) in failures:
                t["answer_failed"] = failures[id(ep)]
        return Result(
            question=question,
            answer=best.answer if best else message,
            references=list(best.references) if best else [],
            candidates=cands,
            trajectory=trajectory,
            timings=timings,
            status=status,
            reason=reason,
            stats=_stats(eps, cands, best),
        )


def _stats(eps: list[Episode], cands: list[Candidate], best: Candidate | None) -> dict[str, Any]:
    cited = best.references if best else []
    verified = [q for q in (best.quotes if best else []) if q.get("verified")]
    verified_urls = {(q["url"], q["extract"]) for q in verified}
    return {
        "episodes": len(eps),
        "actions": sum(ep.actions for ep in eps),
        "invalid_actions": sum(ep.invalid_actions for ep in eps),
        "quotes": sum(len(ep.quotes) for ep in eps),
        "world_errors": sum(ep.world_errors for ep in eps),
        "failed_episodes": sum(1 for ep in eps if ep.failed),
        "ends": [ep.end for ep in eps],
        "candidates": len(cands),
        "citations": len(cited),
        "removed_citations": best.removed_citations if best else 0,
        "removed_citations_all": sum(c.removed_citations for c in cands),
        # Every quote was matched against its page by the browser when it was taken.
        "cited_quotes_verified": (sum(1 for r in cited if (r.url, r.extract) in verified_urls) / len(cited))
        if cited else None,
    }
