"""The answering phase: answers written from the quotes each browsing episode collected.

    out = await write_answers(policy, episodes, config)   # {id(episode): [Candidate, ...]}

Every episode that ended with quotes (``End: Answer``, or its action or quote budget spent, as
in WebGPT) gets ``config.answers_per_browse`` answers; all episodes' answer prompts
(``omni_model.prompts.answer_prompt``: the question and the numbered quotes) go through ONE
``generate`` call. Citations are checked at once (``agent.citations``). What is not answered:

- no quotes: the agent says it found no sources and writes nothing (status ``no_sources``);
- ``End: Nonsense`` / ``End: Controversial``: the agent says so, with the reason;
- a failed episode keeps its failure reason.

``question_outcome`` turns a question's episodes and candidates into one status and message.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from browser_env.text.observation import Quote
from omni_model.errors import OmniModelError
from omni_model.types import Policy

from .citations import verify_citations
from .episodes import Episode
from .types import AgentConfig, Candidate, Status

ANSWERING_ENDS = frozenset({"Answer", "quotes_full", "actions_exhausted"})

MESSAGES: dict[str, str] = {
    "no_sources": "I could not find any sources for this question, so I am not answering it rather than "
                  "guessing.",
    "nonsense": "I did not answer: while browsing I judged the question to be nonsensical (End: Nonsense), "
                "for example based on a false premise or not a real question.",
    "controversial": "I did not answer: while browsing I judged the question to be too controversial to answer "
                     "from sources (End: Controversial).",
    "failed": "I could not answer this question because something went wrong.",
}


def _quotes(ep: Episode) -> list[Quote]:
    return [Quote(q["title"], q.get("domain", ""), q["url"], q["extract"]) for q in ep.quotes]


def wants_answer(ep: Episode) -> bool:
    return ep.failed is None and ep.end in ANSWERING_ENDS and bool(ep.quotes)


class AnswerFailures(dict[int, str]):
    """``id(episode) -> reason`` for episodes whose answers could not be generated or were empty."""


def _extractive(policy: Policy, config: AgentConfig) -> bool:
    return config.answer_mode == "extractive" and policy.tokenizer is not None


def _generate_sync(policy: Policy, prompts: list[str], config: AgentConfig, on_text: Any = None,
                   media: list[list[Any]] | None = None, segments: list[list[str]] | None = None) -> list[list[str]]:
    from omni_model.errors import UnsupportedError
    from omni_model.prompts import ANSWER_STOP

    extra: dict[str, Any] = {"on_text": on_text} if on_text is not None and policy.streams else {}
    if media is not None and any(media):
        extra["media"] = media
    kwargs: dict[str, Any] = dict(n=config.answers_per_browse, temperature=config.answer_temperature,
                                  top_p=config.top_p, max_new_tokens=config.max_answer_tokens, stop=ANSWER_STOP,
                                  seed=None if config.seed is None else config.seed + 10_000, **extra)
    processor = None
    if segments is not None and _extractive(policy, config):
        from omni_model.extractive import AnswerConstraint

        processor = AnswerConstraint(policy.tokenizer, segments, n=config.answers_per_browse,
                                     max_new_tokens=config.max_answer_tokens, min_sentences=config.min_answer_sentences)
    try:
        out = policy.generate(prompts, logits_processor=processor, **kwargs) if processor is not None \
            else policy.generate(prompts, **kwargs)
    except UnsupportedError:  # a remote server takes no logits processor: write freely, check citations after
        processor = None
        out = policy.generate(prompts, **kwargs)
    if len(out) != len(prompts):
        raise ValueError(f"policy returned {len(out)} rows for {len(prompts)} prompts")  # a bug there
    if processor is not None:
        from omni_model.extractive import complete_part

        assert segments is not None
        return [[complete_part(c.text.strip(), segs) for c in row] for row, segs in zip(out, segments, strict=True)]
    return [[c.text.strip() for c in row] for row in out]


async def _generate(policy: Policy, prompts: list[str], config: AgentConfig,
                    failures: AnswerFailures, keys: list[int], on_text: Any = None,
                    media: list[list[Any]] | None = None, segments: list[list[str]] | None = None) -> list[list[str]]:
    media = media or [[] for _ in prompts]
    try:
        return await asyncio.to_thread(_generate_sync, policy, prompts, config, on_text, media, segments)
    except OmniModelError as e:
        if len(prompts) == 1:
            failures[keys[0]] = f"the policy failed while answering: {type(e).__name__}: {e}"
            return [[]]
    out: list[list[str]] = []  # isolate the failing prompt instead of losing the whole batch
    for i, (prompt, key, items) in enumerate(zip(prompts, keys, media, strict=True)):
        out.extend(await _generate(policy, [prompt], config, failures, [key], media=[items],
                                   segments=None if segments is None else [segments[i]]))
    return out


def segments_of(ep: Episode) -> list[str]:
    """The cited quote sentences an extractive answer for ``ep`` may use."""
    from omni_model.extractive import answer_segments

    return answer_segments([q["extract"] for q in ep.quotes])


def answer_prompt_for(policy: Policy, ep: Episode, config: AgentConfig) -> tuple[str, list[Any]]:
    """The answer prompt of ``ep`` and its media (the asker's picture, for a policy that sees)."""
    from omni_model.prompts import answer_prompt, media_header

    tokenizer = policy.tokenizer
    max_tokens = policy.context_length - config.max_answer_tokens if tokenizer is not None else None
    media = [ep.image] if ep.image is not None and policy.accepts_media else []
    if media and max_tokens is not None:
        max_tokens -= policy.image_tokens
    prompt = answer_prompt(ep.question, _quotes(ep), tokenizer=tokenizer, max_tokens=max_tokens,
                           header=media_header(picture=bool(media)))
    return prompt, media


async def write_answers(policy: Policy, episodes: list[Episode], config: AgentConfig, on_event: Any = None
                        ) -> tuple[dict[int, list[Candidate]], AnswerFailures]:
    """Candidates per episode (keyed by ``id(episode)``) and the reasons episodes got none.

    With ``on_event``, a policy that can stream reports each candidate's text as it is written
    (``answer_text`` events, from the generating thread; the text still holds the end marker
    once it is reached, and its citations are not yet checked)."""
    failures = AnswerFailures()
    todo: list[tuple[Episode, str, list[Any]]] = []
    for ep in episodes:
        if not wants_answer(ep):
            continue
        try:
            todo.append((ep, *answer_prompt_for(policy, ep, config)))
        except OmniModelError as e:
            failures[id(ep)] = f"the answer prompt does not fit the model: {e}"
    result: dict[int, list[Candidate]] = {}
    if not todo:
        return result, failures
    on_text = None
    from .episodes import length_groups

    if on_event is not None:
        from .episodes import emit

        def on_text(prompt: int, sample: int, text: str) -> None:
            emit(on_event, "answer_text", todo[prompt][0], candidate=sample, text=text)

    texts: list[list[str]] = [[] for _ in todo]
    for idx in length_groups(policy, [p for _, p, _ in todo], [m for _, _, m in todo]):
        todo_on_text = None
        if on_text is not None:
            def todo_on_text(prompt: int, sample: int, text: str, idx: list[int] = idx) -> None:
                on_text(idx[prompt], sample, text)
        part = await _generate(policy, [todo[i][1] for i in idx], config, failures, [id(todo[i][0]) for i in idx],
                               todo_on_text, [todo[i][2] for i in idx],
                               [segments_of(todo[i][0]) for i in idx] if _extractive(policy, config) else None)
        for i, answers in zip(idx, part, strict=True):
            texts[i] = answers
    for (ep, _, _), answers in zip(todo, texts, strict=True):
        cands = []
        for text in answers:
            if not text:
                continue  # an empty answer is no answer; counted below if none is left
            checked = verify_citations(text, ep.quotes)
            cands.append(Candidate(answer=checked.text, references=checked.references, episode=ep.index,
                                   removed_citations=checked.removed, quotes=list(ep.quotes)))
        if cands:
            result[id(ep)] = cands
        elif id(ep) not in failures:
            failures[id(ep)] = "the model returned only empty answers"
    return result, failures


def question_outcome(episodes: list[Episode], candidates: list[Candidate],
                     failures: AnswerFailures) -> tuple[Status, str | None, str]:
    """``(status, reason, message)`` for one question from its episodes and candidates."""
    if candidates:
        return "answered", None, ""
    ends = Counter(ep.end for ep in episodes if ep.failed is None and id(ep) not in failures)
    judged = [(k, ends[k]) for k in ("Nonsense", "Controversial") if ends[k]]
    if judged:
        end, count = max(judged, key=lambda kv: kv[1])
        status: Status = "nonsense" if end == "Nonsense" else "controversial"
        reason = f"{count} of {len(episodes)} browsing episode(s) ended with End: {end}"
        return status, reason, MESSAGES[status]
    unquoted = [ep for ep in episodes if ep.failed is None and id(ep) not in failures and not ep.quotes]
    if unquoted:
        reason = _no_sources_reason(unquoted)
        return "no_sources", reason, f"{MESSAGES['no_sources']} ({reason})"
    reasons = [ep.failed for ep in episodes if ep.failed] + list(failures.values())
    reason = "; ".join(dict.fromkeys(reasons)) or "no episode produced an answer"
    return "failed", reason, f"{MESSAGES['failed']} ({reason})"


def _no_sources_reason(episodes: list[Episode]) -> str:
    errors = [m for ep in episodes for m in ep.world_error_messages]
    ends = Counter(ep.end for ep in episodes)
    how = ", ".join(f"{k} x{v}" for k, v in ends.items())
    if errors:
        return f"no quotes were collected; the web failed {len(errors)} time(s), last: {errors[-1]}"
    return f"no quotes were collected; episode ends: {how}"
